//! Shared steps of the end-to-end tests: deploying the built bundles to a real node.

pub mod scenario;

use std::path::PathBuf;

use anyhow::Context;
use dreamster_calls::{constructors, registry};
use dreamster_client::Node;
use dreamster_types::registry_api::RegistryError;
use subxt::utils::AccountId32;
use subxt_signer::sr25519::Keypair;

/// The Wasm of a built contract, read from its `.contract` bundle.
pub fn contract_wasm(contract: &str) -> anyhow::Result<Vec<u8>> {
    let dir = std::env::var_os("DREAMSTER_CONTRACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
                .join("ink")
        });
    let path = dir
        .join(format!("dreamster_{contract}"))
        .join(format!("dreamster_{contract}.contract"));
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (run scripts/build-contracts.sh)",
            path.display()
        )
    })?;
    let bundle: serde_json::Value = serde_json::from_str(&text)?;
    let hex = bundle["source"]["wasm"]
        .as_str()
        .context("bundle has no source.wasm")?;
    let hex = hex.trim_start_matches("0x");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).context("bad hex in bundle"))
        .collect()
}

/// Uploads both contracts, instantiates the registry and points it at the release code.
pub async fn deploy(node: &Node, owner: &Keypair) -> anyhow::Result<AccountId32> {
    let release_code = node.upload_code(owner, contract_wasm("release")?).await?;
    let registry_code = node.upload_code(owner, contract_wasm("registry")?).await?;
    let registry_addr = node
        .instantiate(owner, registry_code, constructors::registry_new(), vec![])
        .await?;
    node.call::<(), RegistryError>(
        owner,
        &registry_addr,
        0,
        registry::set_release_code(release_code),
    )
    .await?
    .map_err(|e| anyhow::anyhow!("set_release_code refused: {e:?}"))?;
    Ok(registry_addr)
}

pub fn ink_id(account: &AccountId32) -> dreamster_types::AccountId {
    dreamster_types::AccountId::from(account.0)
}

pub fn subxt_id(account: &dreamster_types::AccountId) -> AccountId32 {
    AccountId32(*<dreamster_types::AccountId as AsRef<[u8; 32]>>::as_ref(
        account,
    ))
}
