//! `dreamster deploy`: the contracts on a chain, and the config file that finds them.

use std::path::Path;

use dreamster_calls::registry;
use dreamster_client::deploy::{default_contracts_dir, deploy};
use serde_json::json;

use crate::args::DeployArgs;
use crate::chain::Session;
use crate::config::{self, Config};
use crate::report::Report;

/// Whether the configured registry answers on this chain.
async fn still_there(session: &Session) -> bool {
    let Ok(registry) = session.registry() else {
        return false;
    };
    session
        .query::<u32>(&registry, registry::release_count())
        .await
        .is_ok()
}

pub async fn run(
    session: &Session,
    rpc_url: &str,
    path: &Path,
    args: &DeployArgs,
) -> anyhow::Result<Report> {
    if args.reuse && still_there(session).await {
        let c = session.config()?;
        return Ok(Report::new(
            format!(
                "registry {} already deployed on this chain (config {})",
                c.registry,
                path.display()
            ),
            json!({ "registry": c.registry, "release_code_hash": c.release_code_hash, "config": path, "reused": true }),
        ));
    }
    let dir = args
        .contracts_dir
        .clone()
        .unwrap_or_else(default_contracts_dir);
    let deployed = deploy(&session.node, session.signer()?, &dir).await?;
    let config = Config {
        rpc_url: rpc_url.to_string(),
        registry: deployed.registry.to_string(),
        release_code_hash: format!("0x{}", hex::encode(deployed.release_code_hash)),
    };
    config::save(path, &config)?;
    Ok(Report::new(
        format!(
            "registry deployed at {}\nrelease code 0x{}\nconfig written to {}",
            config.registry,
            hex::encode(deployed.release_code_hash),
            path.display()
        ),
        json!({ "registry": config.registry, "release_code_hash": config.release_code_hash, "config": path, "reused": false }),
    ))
}
