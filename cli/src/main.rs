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

use clap::{CommandFactory, FromArgMatches};

use args::{Cli, Command};
use chain::Session;
use report::Report;

/// Says on stderr when a secret was typed on the command line, where `ps` and the shell
/// history keep it (a dev chain's well-known account is no secret).
fn warn_about_secrets(cli: &Cli, suri_on_command_line: bool) {
    if suri_on_command_line && !cli.suri.as_deref().is_some_and(account::is_dev_uri) {
        eprintln!("warning: --suri puts your secret in `ps` and your shell history; use --suri-file (chmod 600), DREAMSTER_SURI, or leave it out to be asked");
    }
    if let Command::Perk(args::PerkCommand::Add(p)) = &cli.command {
        if p.secret.is_some() {
            eprintln!("warning: --secret puts the perk's secret in `ps` and your shell history; use --secret-file (chmod 600)");
        }
    }
}

/// Refuses an unencrypted connection to a node on another machine (transactions and the
/// accounts that sign them cross the network in the clear) unless asked for.
fn check_transport(rpc_url: &str, allow_insecure_ws: bool) -> anyhow::Result<()> {
    let url =
        url::Url::parse(rpc_url).map_err(|e| anyhow::anyhow!("--rpc-url {rpc_url:?}: {e}"))?;
    let local = dreamster_client::is_on_this_machine(&url);
    match url.scheme() {
        "wss" => Ok(()),
        "ws" if local || allow_insecure_ws => Ok(()),
        "ws" => anyhow::bail!(
            "--rpc-url {rpc_url} is unencrypted (ws://) to another machine: use wss://, or pass --allow-insecure-ws if the network is yours"
        ),
        other => anyhow::bail!("--rpc-url must be ws:// or wss://, not {other}://"),
    }
}

/// Whether the command signs (reads need no account).
fn signs(command: &Command) -> bool {
    !matches!(
        command,
        Command::Templates
            | Command::Perks(_)
            | Command::Audit(_)
            | Command::Release(args::ReleaseCommand::Show(_))
    )
}

/// Asks for the secret URI without echoing it, when a person is at the terminal.
fn ask_for_secret() -> anyhow::Result<Option<subxt_signer::sr25519::Keypair>> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Ok(None);
    }
    let text = inquire::Password::new("Secret URI of the signing account (not shown):")
        .without_confirmation()
        .prompt()?;
    Ok(Some(account::signer(Some(&text), None)?))
}

async fn run(cli: Cli) -> anyhow::Result<Report> {
    check_transport(&cli.rpc_url, cli.allow_insecure_ws)?;
    let config_path = config::path(cli.config.as_deref());
    let signer = match account::signer(cli.suri.as_deref(), cli.suri_file.as_deref()) {
        Ok(k) => Some(k),
        Err(account::AccountError::Missing) if signs(&cli.command) => ask_for_secret()?,
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
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    warn_about_secrets(
        &cli,
        matches.value_source("suri") == Some(clap::parser::ValueSource::CommandLine),
    );
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
