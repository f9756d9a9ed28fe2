//! `dreamster-api`: serves the JSON API and the pages from the read model.

use std::process::ExitCode;

use clap::Parser;
use sqlx::postgres::PgPoolOptions;

/// Serves Dreamster's JSON API (`/api/…`, documented at `/openapi.json`) and its pages
/// from the PostgreSQL read model the indexer keeps.
#[derive(Parser, Debug)]
#[command(name = "dreamster-api", version)]
struct Args {
    /// Address and port to listen on.
    #[arg(long, env = "DREAMSTER_API_LISTEN", default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    /// The indexer's read model.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The node that wallet-signed transactions go to (and the pages' block links open
    /// in Polkadot.js Apps).
    #[arg(long, env = "DREAMSTER_RPC_URL", default_value = "ws://127.0.0.1:9944")]
    rpc_url: String,
    /// Offer the built-in dev wallet (the well-known dev accounts) in the pages. Honoured
    /// only when the node is the local dev chain (its genesis hash is checked).
    #[arg(long)]
    dev_wallet: bool,
    /// Where users open the pages (scheme, host and port, e.g. https://dreamster.example):
    /// the domain sign-in messages name, so a wallet shows the user who asks. Default:
    /// http:// and the --listen address.
    #[arg(long, env = "DREAMSTER_PUBLIC_URL")]
    public_url: Option<String>,
    /// The pages' browser code (`src/` and the npm bundle in `dist/`).
    #[arg(long, env = "DREAMSTER_WEB_DIR")]
    web_dir: Option<std::path::PathBuf>,
    /// Let webhooks call this machine's loopback addresses too (a receiver on the same
    /// machine, for local experiments). Never in production: artists choose the URLs.
    #[arg(long, hide = true)]
    webhooks_to_loopback: bool,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let db = PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect(&args.database_url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the read model database: {e}"))?;
    dreamster_api::migrator()
        .run(&db)
        .await
        .map_err(|e| anyhow::anyhow!("migrating the API's tables: {e}"))?;
    let reach = if args.webhooks_to_loopback {
        tracing::warn!("webhooks may call loopback addresses (--webhooks-to-loopback): not for production");
        dreamster_api::webhooks::Reach::AlsoLoopback
    } else {
        dreamster_api::webhooks::Reach::PublicOnly
    };
    let dispatcher = dreamster_api::webhooks::spawn(
        db.clone(),
        dreamster_api::webhooks::Settings {
            reach,
            ..Default::default()
        },
    );
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(listen = %args.listen, "serving");
    let mut state = dreamster_api::AppState::for_node(db, &args.rpc_url);
    state.webhook_reach = reach;
    let public_url = args
        .public_url
        .unwrap_or_else(|| format!("http://{}", args.listen));
    dreamster_api::auth::siws_domain(&public_url)
        .map_err(|e| anyhow::anyhow!("--public-url {public_url:?}: {e}"))?;
    state.public_url = Some(public_url.trim_end_matches('/').to_string());
    if let Some(dir) = args.web_dir {
        state.web = dir;
    }
    if args.dev_wallet {
        state.dev_wallet = true;
        if dreamster_api::chain::dev_wallet_allowed(&state).await {
            tracing::info!("offering the dev wallet (local dev chain)");
        } else {
            tracing::warn!("--dev-wallet ignored: the node is not the local dev chain (or cannot be reached yet)");
        }
    }
    // On Ctrl-C or SIGTERM: requests in flight are answered, then the webhook calls in
    // flight finish and are recorded.
    axum::serve(listener, dreamster_api::router(state))
        .with_graceful_shutdown(dreamster_client::service::stopped())
        .await?;
    tracing::info!("stopping: finishing webhook calls in flight");
    dispatcher.stop().await;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    dreamster_client::service::main("info,tower_http=debug", run(args))
}
