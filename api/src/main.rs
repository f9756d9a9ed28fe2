//! `dreamster-api`: serves the JSON API and the pages from the read model.

use std::process::ExitCode;

use clap::Parser;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

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
    /// The node that wallet-signed transactions go to. Never shown to users (it may be an
    /// internal address or carry an API key): see --public-rpc-url.
    #[arg(long, env = "DREAMSTER_RPC_URL", default_value = "ws://127.0.0.1:9944")]
    rpc_url: String,
    /// The node URL the pages' block links open in Polkadot.js Apps. Default: the
    /// --rpc-url if it is on this machine (a local setup), else none (Apps' own default).
    #[arg(long, env = "DREAMSTER_PUBLIC_RPC_URL")]
    public_rpc_url: Option<String>,
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
    /// Per-client limit on sign-in requests (`/auth/…`): BURST/SECONDS — BURST at once,
    /// then one every SECONDS — or `off`.
    #[arg(long, env = "DREAMSTER_SIGN_IN_LIMIT", default_value = "20/3")]
    sign_in_limit: dreamster_api::limits::Rate,
    /// Per-client limit on writes (POST, PUT, PATCH, DELETE), as --sign-in-limit.
    #[arg(long, env = "DREAMSTER_WRITE_LIMIT", default_value = "60/1")]
    write_limit: dreamster_api::limits::Rate,
    /// Expensive answers one client may have waiting at once in each of the API's rooms
    /// (`memo::Rooms`); past that it is answered 429. 0: no limit. Behind a reverse proxy,
    /// set --client-ip-header too, or every user shares one client's share.
    #[arg(long, env = "DREAMSTER_COMPUTATIONS_PER_CLIENT", default_value_t = dreamster_api::limits::COMPUTATIONS)]
    computations_per_client: usize,
    /// The header a reverse proxy in front of the API puts the client's address in (e.g.
    /// x-real-ip); without it, the connection's address is the client's.
    #[arg(long, env = "DREAMSTER_CLIENT_IP_HEADER")]
    client_ip_header: Option<axum::http::HeaderName>,
    /// Where to serve `/metrics` (Prometheus text format): host:port, or `off`.
    #[arg(long, env = "DREAMSTER_API_METRICS", default_value = "127.0.0.1:9617")]
    metrics_listen: dreamster_client::service::Listen,
    /// Let webhooks call this machine's loopback addresses too (a receiver on the same
    /// machine, for local experiments). Never in production: artists choose the URLs.
    #[arg(long, hide = true)]
    webhooks_to_loopback: bool,
}

/// How long a stop waits for requests and webhook calls in flight.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

async fn run(args: Args) -> anyhow::Result<()> {
    let base = PgConnectOptions::from_str(&args.database_url)
        .map_err(|e| anyhow::anyhow!("--database-url: {e}"))?;
    // Migrations on a connection of their own, without the requests' statement timeout: a
    // migration may wait for the indexer's migration lock or build an index on a big table.
    {
        let migrating = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone())
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach the read model database: {e}"))?;
        dreamster_api::migrator()
            .run(&migrating)
            .await
            .map_err(|e| anyhow::anyhow!("migrating the API's tables: {e}"))?;
        migrating.close().await;
    }
    // Every statement of the API's requests is bounded, so a slow query frees its
    // connection.
    let db = dreamster_api::operations::request_pool(base)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the read model database: {e}"))?;
    let reach = if args.webhooks_to_loopback {
        tracing::warn!(
            "webhooks may call loopback addresses (--webhooks-to-loopback): not for production"
        );
        dreamster_api::webhooks::Reach::AlsoLoopback
    } else {
        dreamster_api::webhooks::Reach::PublicOnly
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(listen = %args.listen, "serving");
    let mut limits = dreamster_api::limits::Limits::new(args.sign_in_limit, args.write_limit);
    if args.computations_per_client > 0 {
        limits = limits.with_computations(args.computations_per_client);
    }
    if let Some(header) = args.client_ip_header {
        limits = limits.behind_proxy(header);
    }
    let mut state = dreamster_api::AppState::for_node(db.clone(), &args.rpc_url);
    state.webhook_reach = reach;
    state.limits = limits;
    if let Some(public) = &args.public_rpc_url {
        state.explorer = dreamster_api::explorer_for(Some(public));
    }
    let public_url = args
        .public_url
        .unwrap_or_else(|| format!("http://{}", args.listen));
    dreamster_api::auth::siws_domain(&public_url)
        .map_err(|e| anyhow::anyhow!("--public-url {public_url:?}: {e}"))?;
    state.public_url = Some(public_url.trim_end_matches('/').to_string());
    if let Some(dir) = args.web_dir {
        state.swagger_ui = dreamster_api::swagger_ui_in(&dir);
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
    if let dreamster_client::service::Listen::On(address) = args.metrics_listen {
        // Bound before serving, so a taken port is one line at start.
        let metrics = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| anyhow::anyhow!("cannot serve metrics on {address}: {e}"))?;
        let prometheus = dreamster_client::service::install_metrics()?;
        tracing::info!("metrics on http://{}/metrics", metrics.local_addr()?);
        let db = db.clone();
        tokio::spawn(async move {
            if let Err(e) = dreamster_api::telemetry::serve(metrics, prometheus, db).await {
                tracing::error!(error = %e, "the metrics server stopped");
            }
        });
    }
    // Started last, so an error above leaves no call half-made.
    let dispatcher = dreamster_api::webhooks::spawn(
        db.clone(),
        dreamster_api::webhooks::Settings {
            reach,
            ..Default::default()
        },
    );
    let housekeeping = dreamster_api::housekeeping::spawn(db, state.limits.clone());
    // On Ctrl-C or SIGTERM, at once: no new connection is accepted and no new webhook call
    // is started; requests and webhook calls in flight finish (calls are recorded), for at
    // most DRAIN — a transaction's progress stream may be followed for longer.
    let (signal, signalled) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        dreamster_client::service::stopped().await;
        let _ = signal.send(true);
    });
    let on_signal = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let app =
        dreamster_api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(on_signal(signalled.clone()));
    let background_signal = signalled.clone();
    let background = async move {
        on_signal(background_signal).await;
        tracing::info!("stopping: answering requests and finishing webhook calls in flight");
        tokio::join!(dispatcher.stop(), housekeeping.stop());
    };
    let drained = async { tokio::join!(async { server.await }, background).0 };
    tokio::select! {
        served = drained => served?,
        () = async {
            on_signal(signalled).await;
            tokio::time::sleep(DRAIN).await;
        } => tracing::warn!("still busy {} s after the signal: stopping anyway", DRAIN.as_secs()),
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    dreamster_client::service::main("info,tower_http=debug", run(args))
}
