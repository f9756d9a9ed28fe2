//! Putting the Dreamster contracts on a chain: their Wasm read from the `.contract`
//! bundles `cargo contract build` writes, uploaded, and the registry instantiated.

use std::path::{Path, PathBuf};

use dreamster_calls::{constructors, registry};
use dreamster_types::registry_api::RegistryError;
use subxt::utils::AccountId32;
use subxt_signer::sr25519::Keypair;

use crate::{ClientError, Node};

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("cannot read the contract bundle {0} (build it with scripts/build-contracts.sh): {1}")]
    Read(String, std::io::Error),
    #[error("{0} is not a contract bundle: {1}")]
    Bundle(String, String),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("the registry refused set_release_code: {0:?}")]
    Refused(RegistryError),
}

/// Where the bundles are: `DREAMSTER_CONTRACTS_DIR`, else `$CARGO_TARGET_DIR/ink`.
pub fn default_contracts_dir() -> PathBuf {
    std::env::var_os("DREAMSTER_CONTRACTS_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(|t| PathBuf::from(t).join("ink")))
        .unwrap_or_else(|| PathBuf::from("target/ink"))
}

/// The Wasm of `dreamster_<contract>` from its bundle in `dir`.
pub fn bundle_wasm(dir: &Path, contract: &str) -> Result<Vec<u8>, DeployError> {
    let path = dir
        .join(format!("dreamster_{contract}"))
        .join(format!("dreamster_{contract}.contract"));
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| DeployError::Read(shown.clone(), e))?;
    let bundle: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| DeployError::Bundle(shown.clone(), e.to_string()))?;
    let hex = bundle["source"]["wasm"]
        .as_str()
        .ok_or_else(|| DeployError::Bundle(shown.clone(), "no source.wasm".into()))?;
    hex::decode(hex.trim_start_matches("0x")).map_err(|e| DeployError::Bundle(shown, e.to_string()))
}

/// A deployed registry and the release code it instantiates.
pub struct Deployment {
    pub registry: AccountId32,
    pub release_code_hash: [u8; 32],
}

/// Uploads both contracts, instantiates the registry (owned by `owner`) and points it at
/// the release code.
pub async fn deploy(
    node: &Node,
    owner: &Keypair,
    contracts_dir: &Path,
) -> Result<Deployment, DeployError> {
    let release_code = node
        .upload_code(owner, bundle_wasm(contracts_dir, "release")?)
        .await?;
    let registry_code = node
        .upload_code(owner, bundle_wasm(contracts_dir, "registry")?)
        .await?;
    // A fresh salt, so deploying again on the same chain makes a new registry.
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        .to_le_bytes()
        .to_vec();
    let registry_addr = node
        .instantiate(owner, registry_code, constructors::registry_new(), salt)
        .await?;
    node.call::<(), RegistryError>(
        owner,
        &registry_addr,
        0,
        registry::set_release_code(release_code),
    )
    .await?
    .map_err(DeployError::Refused)?;
    Ok(Deployment {
        registry: registry_addr,
        release_code_hash: release_code,
    })
}
