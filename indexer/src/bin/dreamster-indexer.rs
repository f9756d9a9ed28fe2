//! `dreamster-indexer`: projects a registry's contract events into PostgreSQL.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use dreamster_client::service::Listen;
use dreamster_indexer::store::Store;
use dreamster_indexer::telemetry;
use dreamster_indexer::{Follower, FollowerConfig};
use subxt::utils::AccountId32;

/// Follows the finalized blocks of a node running the Dreamster contracts and keeps a
/// PostgreSQL read model of the registry's and its releases' events, exactly once.
#[derive(Parser, Debug)]
#[command(name = "dreamster-indexer", version)]
struct Args {
    /// Websocket RPC endpoint of the node.
    #[arg(long, env = "DREAMSTER_RPC_URL", default_value = "ws://127.0.0.1:9944")]
    rpc_url: String,
    /// PostgreSQL database for the read model (migrated on start).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// Address of the registry contract (SS58 or 0x-prefixed hex).
    #[arg(long, env = "DREAMSTER_REGISTRY", value_parser = dreamster_client::parse_address)]
    registry: AccountId32,
    /// First block to read when the database is empty (later runs resume from the cursor).
    #[arg(long, default_value_t = 0)]
    from_block: u64,
    /// Blocks written per database transaction.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch_blocks: u64,
    /// Catch up with the finalized head, then exit instead of following it.
    #[arg(long)]
    once: bool,
    /// Where to serve `/metrics` (Prometheus) and `/health` while following; port 0 picks
    /// a free one (logged), `off` serves neither.
    #[arg(
        long,
        env = "DREAMSTER_INDEXER_METRICS",
        default_value = "127.0.0.1:9616"
    )]
    metrics_listen: Listen,
    /// Seconds between two audits of the read model against the chain (at the block it has
    /// reached; figures in `/metrics`, differences in the log); 0 turns the audit off.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    audit_every: u64,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let store = Store::open(&args.database_url, args.registry.0).await?;
    // Fail fast on a node that is not there at start; once running, outages are retried.
    let source = dreamster_indexer::source::ChainSource::connect(&args.rpc_url).await?;
    let config = FollowerConfig {
        rpc_url: args.rpc_url,
        from_block: args.from_block,
        batch_blocks: args.batch_blocks,
        ..FollowerConfig::default()
    };
    let mut follower = Follower::new(config.clone(), store);
    if args.once {
        // (Following checks it itself on every connection, `run` below.)
        follower.check_chain(&source).await?;
        let head = follower.catch_up(&source).await?;
        tracing::info!(head, events = follower.totals.events, "caught up");
        return Ok(());
    }
    drop(source);
    if let Listen::On(address) = args.metrics_listen {
        // Bound before following, so a taken port is one line at start.
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .with_context(|| format!("cannot serve metrics on {address}"))?;
        let prometheus = telemetry::install()?;
        tracing::info!(
            "metrics on http://{0}/metrics, health on http://{0}/health",
            listener.local_addr()?
        );
        let health = follower.health();
        tokio::spawn(async move {
            if let Err(e) = telemetry::serve(listener, prometheus, health).await {
                tracing::error!(error = %e, "the metrics server stopped");
            }
        });
    }
    if args.audit_every > 0 {
        // Its own connection: a long pass never holds up the follower's writes.
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(&args.database_url)
            .await
            .context("connecting the audit to the read model")?;
        let schedule = dreamster_indexer::audit::Schedule {
            every: std::time::Duration::from_secs(args.audit_every),
            timeout: std::time::Duration::from_secs(600),
        };
        tokio::spawn(dreamster_indexer::audit::run(
            config.rpc_url.clone(),
            db,
            args.registry.clone(),
            schedule,
            dreamster_client::service::stopped(),
        ));
    }
    // Ctrl-C, or SIGTERM from a service manager or a rolling deploy: stop between batches.
    follower.run(dreamster_client::service::stopped()).await?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    dreamster_client::service::main("info", run(args))
}
