//! A signed-in session on a node: calls dry-run first, refusals explained in one line.

use anyhow::{anyhow, Context};
use dreamster_client::{Node, Submitted};
use dreamster_types::errors::ReleaseError;
use dreamster_types::perk::Perk;
use dreamster_types::registry_api::RegistryError;
use parity_scale_codec::Decode;
use subxt::dynamic::Value;
use subxt::utils::AccountId32;
use subxt_signer::sr25519::Keypair;

use crate::config::Config;
use crate::units::now_ms;
use dreamster_client::explain;

/// A call the contract refused: nothing was submitted and no fee was paid.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

pub struct Session {
    pub node: Node,
    signer: Option<Keypair>,
    config: Option<Config>,
}

impl Session {
    pub async fn open(
        rpc_url: &str,
        signer: Option<Keypair>,
        config: Option<Config>,
    ) -> anyhow::Result<Self> {
        let node = Node::connect(rpc_url).await?;
        Ok(Session {
            node,
            signer,
            config,
        })
    }

    /// The same node and deployment, signing as `signer`.
    pub fn as_signer(&self, signer: Keypair) -> Session {
        Session {
            node: self.node.clone(),
            signer: Some(signer),
            config: self.config.clone(),
        }
    }

    pub fn signer(&self) -> anyhow::Result<&Keypair> {
        self.signer
            .as_ref()
            .ok_or_else(|| anyhow!(dreamster_client::account::AccountError::Missing))
    }

    pub fn me(&self) -> anyhow::Result<AccountId32> {
        Ok(self.signer()?.public_key().to_account_id())
    }

    pub fn config(&self) -> anyhow::Result<&Config> {
        self.config
            .as_ref()
            .ok_or_else(|| anyhow!("no deployment configured: run `dreamster deploy` first"))
    }

    /// The release code an artist expects: `flag` if given, else the one `dreamster deploy`
    /// recorded in the config. A registry whose code changed since is refused, not trusted.
    pub fn expected_release_code(&self, flag: Option<[u8; 32]>) -> anyhow::Result<[u8; 32]> {
        if let Some(code) = flag {
            return Ok(code);
        }
        let text = &self.config()?.release_code_hash;
        crate::args::hash32(text).map_err(|e| anyhow!("the config's release code hash: {e}"))
    }

    pub fn registry(&self) -> anyhow::Result<AccountId32> {
        let text = &self.config()?.registry;
        dreamster_client::parse_address(text).map_err(|e| anyhow!("the config's registry: {e}"))
    }

    /// Every perk of a release (read page by page).
    pub async fn perks(&self, release: &AccountId32) -> anyhow::Result<Vec<Perk>> {
        self.node.perks(release).await.with_context(|| {
            format!("reading the perks of {release} (is it deployed on this chain?)")
        })
    }

    pub async fn query<T: Decode>(
        &self,
        contract: &AccountId32,
        input: Vec<u8>,
    ) -> anyhow::Result<T> {
        self.node
            .query(contract, &input)
            .await
            .with_context(|| format!("reading contract {contract} (is it deployed on this chain?)"))
    }

    /// Calls a release message as the signer.
    pub async fn release<T: Decode>(
        &self,
        release: &AccountId32,
        value: u128,
        input: Vec<u8>,
    ) -> anyhow::Result<(T, Submitted)> {
        let signer = self.signer()?;
        let mut ticked = false;
        loop {
            match self
                .node
                .call::<T, ReleaseError>(signer, release, value, input.clone())
                .await?
            {
                Ok(done) => return Ok(done),
                // The contract reads the clock of the last block; on a quiet chain (the dev
                // node seals blocks only for transactions) that can lag the wall clock.
                Err(e) if !ticked && clock_lags(&e) => {
                    self.tick().await?;
                    ticked = true;
                }
                Err(e) => return Err(Refused(explain::release_error(&e)).into()),
            }
        }
    }

    /// Calls a registry message as the signer.
    pub async fn registry_call<T: Decode>(&self, input: Vec<u8>) -> anyhow::Result<(T, Submitted)> {
        let registry = self.registry()?;
        match self
            .node
            .call::<T, RegistryError>(self.signer()?, &registry, 0, input)
            .await?
        {
            Ok(done) => Ok(done),
            Err(e) => Err(Refused(explain::registry_error(&e)).into()),
        }
    }

    /// Seals a block with a remark, so the chain's clock reads the present.
    pub async fn tick(&self) -> anyhow::Result<()> {
        let remark = subxt::dynamic::tx(
            "System",
            "remark",
            vec![Value::from_bytes(b"dreamster: clock")],
        );
        self.node.submit(self.signer()?, &remark).await?;
        Ok(())
    }
}

fn clock_lags(e: &ReleaseError) -> bool {
    match e {
        ReleaseError::DeadlineNotPassed { deadline } => now_ms() > *deadline,
        ReleaseError::DisputeWindowOpen { until } => now_ms() > *until,
        _ => false,
    }
}
