//! `dreamster-keeper`: refunds every entitlement whose refund is open to anyone, paid to
//! its holder.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use sqlx::postgres::PgPoolOptions;

/// Finds in the read model every refund the holder has no choice left about — an
/// arbiter's ruling, a cancelled perk, an expired ruling, an overdue perk or a late
/// delivery past the grace — and triggers it on chain from its own account (which pays
/// the fees); the contract pays the edition's holder.
#[derive(Parser, Debug)]
#[command(name = "dreamster-keeper", version)]
struct Args {
    /// The indexer's read model.
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The node to send refunds to.
    #[arg(long, env = "DREAMSTER_RPC_URL", default_value = "ws://127.0.0.1:9944")]
    rpc_url: String,
    /// A file whose first line is the keeper account's secret URI (it pays the fees).
    #[arg(long, env = "DREAMSTER_KEEPER_SURI_FILE")]
    suri_file: PathBuf,
    /// Seconds between two rounds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    interval: u64,
    /// The most refunds one round looks at (those within its weight budget go in one
    /// transaction).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=256))]
    per_round: u32,
    /// The smallest escrow (planks) worth paying a refund's fee for; smaller ones are
    /// left to their holders.
    #[arg(long, default_value_t = 1_000_000_000)]
    min_escrow: u128,
}

async fn run(args: Args) -> anyhow::Result<()> {
    let account = dreamster_client::account::signer(None, Some(&args.suri_file))?;
    let db = PgPoolOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&args.database_url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach the read model database: {e}"))?;
    // Connecting once here turns a wrong URL into an error at start, not a warning later.
    dreamster_client::Node::connect(&args.rpc_url).await?;
    tracing::info!(keeper = %account.public_key().to_account_id(), "keeping refunds");
    let config = dreamster_keeper::Config {
        interval: Duration::from_secs(args.interval),
        per_round: args.per_round,
        min_escrow: args.min_escrow,
        ..dreamster_keeper::Config::default()
    };
    dreamster_keeper::Keeper::new(db, args.rpc_url, account, config)
        .run(dreamster_client::service::stopped())
        .await;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    dreamster_client::service::main("info", run(args))
}
