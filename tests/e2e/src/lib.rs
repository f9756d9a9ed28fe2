//! Shared steps of the end-to-end tests: deploying the built bundles to a real node.

pub mod scenario;

use dreamster_client::Node;
use subxt::utils::AccountId32;
use subxt_signer::sr25519::Keypair;

/// The Wasm of a built contract, read from its `.contract` bundle.
pub fn contract_wasm(contract: &str) -> anyhow::Result<Vec<u8>> {
    Ok(dreamster_client::deploy::bundle_wasm(
        &dreamster_client::deploy::default_contracts_dir(),
        contract,
    )?)
}

/// Uploads both contracts, instantiates the registry and points it at the release code.
pub async fn deploy(node: &Node, owner: &Keypair) -> anyhow::Result<AccountId32> {
    let dir = dreamster_client::deploy::default_contracts_dir();
    Ok(dreamster_client::deploy::deploy(node, owner, &dir)
        .await?
        .registry)
}

pub use dreamster_client::{ink_id, subxt_id};
