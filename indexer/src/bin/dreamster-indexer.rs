//! `dreamster-indexer`: projects a registry's contract events into PostgreSQL.

use std::process::ExitCode;

use clap::Parser;
use dreamster_indexer::store::Store;
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
    // Ctrl-C, or SIGTERM from a service manager or a rolling deploy: stop between batches.
    let stop = async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    };
    follower.run(stop).await?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    dreamster_client::service::main("info", run(args))
}
