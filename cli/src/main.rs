//! `dreamster`: deploy the contracts, let artists attach perks to releases (with a
//! wizard), let fans buy, unlock, confirm, dispute and take refunds, and let anyone audit a
//! release or an artist from the chain alone.

mod args;
mod artist;
mod audit;
mod chain;
mod config;
mod demo;
mod deploy;
mod fan;
mod report;
mod units;
mod wizard;

use dreamster_client::account;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use chain::Session;
use report::Report;

async fn run(cli: Cli) -> anyhow::Result<Report> {
    let config_path = config::path(cli.config.as_deref());
    let signer = match account::signer(cli.suri.as_deref(), cli.suri_file.as_deref()) {
        Ok(k) => Some(k),
        Err(account::AccountError::Missing) => None,
        Err(e) => return Err(e.into()),
    };
    // `deploy` writes the config; everything else needs one, except what takes addresses.
    let loaded = match config::load(&config_path) {
        Ok(c) => Some(c),
        Err(config::ConfigError::Missing(_)) => None,
        Err(e) => return Err(e.into()),
    };
    // Flags that only make sense together are checked before any connection.
    if let Command::Perk(args::PerkCommand::Add(p)) = &cli.command {
        artist::check_flags(p)?;
    }
    let session = || async {
        let s = Session::open(&cli.rpc_url, signer.clone(), loaded.clone()).await?;
        anyhow::Ok(s)
    };
    match &cli.command {
        Command::Address => {
            let me = signer
                .as_ref()
                .ok_or(account::AccountError::Missing)?
                .public_key()
                .to_account_id();
            Ok(Report::new(
                me.to_string(),
                serde_json::json!({ "address": me.to_string() }),
            ))
        }
        Command::Templates => Ok(wizard::templates_report()),
        Command::Deploy(a) => deploy::run(&session().await?, &cli.rpc_url, &config_path, a).await,
        Command::Arbiter(a) => artist::arbiter(&session().await?, a).await,
        Command::Artist(a) => artist::artist(&session().await?, a).await,
        Command::Release(a) => artist::release(&session().await?, a).await,
        Command::Perk(a) => artist::perk(&session().await?, a).await,
        Command::Deliver(a) => artist::deliver(&session().await?, a).await,
        Command::Withdraw(a) => artist::withdraw(&session().await?, a).await,
        Command::Buy(a) => fan::buy(&session().await?, a).await,
        Command::Perks(a) => fan::perks(&session().await?, a).await,
        Command::Unlock(a) => fan::unlock(&session().await?, a).await,
        Command::Confirm(a) => fan::confirm(&session().await?, a).await,
        Command::Rate(a) => fan::rate(&session().await?, a).await,
        Command::Dispute(a) => fan::dispute(&session().await?, a).await,
        Command::Refund(a) => fan::refund(&session().await?, a).await,
        Command::Transfer(a) => fan::transfer(&session().await?, a).await,
        Command::Resolve(a) => fan::resolve(&session().await?, a).await,
        Command::Audit(a) => audit::run(&session().await?, a).await,
        Command::Demo(a) => demo::run(&session().await?, a).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(report) => {
            report.print(json);
            if report.failed {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            if json {
                let refused = e.downcast_ref::<chain::Refused>().is_some();
                let body = serde_json::json!({ "error": if refused { "refused" } else { "failed" }, "message": format!("{e:#}") });
                println!("{body}");
            } else {
                // One line: the context chain joined, never a backtrace.
                eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            }
            ExitCode::FAILURE
        }
    }
}
