//! Reads finalized blocks and their contract events from a node.

use dreamster_client::ContractEvent;
use subxt::backend::legacy::LegacyRpcMethods;
use subxt::backend::rpc::RpcClient;
use subxt::utils::H256;
use subxt::{OnlineClient, PolkadotConfig};

use crate::IndexerError;

/// One block's contract events.
#[derive(Debug, Clone)]
pub struct BlockEvents {
    pub number: u64,
    pub hash: H256,
    pub events: Vec<ContractEvent>,
}

#[derive(Clone)]
pub struct ChainSource {
    api: OnlineClient<PolkadotConfig>,
    rpc: LegacyRpcMethods<PolkadotConfig>,
}

impl ChainSource {
    pub async fn connect(url: &str) -> Result<Self, IndexerError> {
        let client = RpcClient::from_insecure_url(url)
            .await
            .map_err(|e| IndexerError::NodeUnreachable(url.to_string(), e.to_string()))?;
        let api = OnlineClient::<PolkadotConfig>::from_rpc_client(client.clone()).await?;
        Ok(ChainSource {
            api,
            rpc: LegacyRpcMethods::new(client),
        })
    }

    /// A notification per newly finalized block, so the follower writes a block as soon as
    /// it is final instead of at its next poll.
    pub async fn finalized_heads(
        &self,
    ) -> Result<
        subxt::backend::rpc::RpcSubscription<<PolkadotConfig as subxt::Config>::Header>,
        IndexerError,
    > {
        Ok(self.rpc.chain_subscribe_finalized_heads().await?)
    }

    /// The number of the newest finalized block.
    pub async fn finalized_head(&self) -> Result<u64, IndexerError> {
        let hash = self.rpc.chain_get_finalized_head().await?;
        let header = self
            .rpc
            .chain_get_header(Some(hash))
            .await?
            .ok_or(IndexerError::MissingBlock(0))?;
        Ok(u64::from(header.number))
    }

    /// The hash of block `number` on this chain, if it has one.
    pub async fn block_hash(&self, number: u64) -> Result<Option<H256>, IndexerError> {
        Ok(self.rpc.chain_get_block_hash(Some(number.into())).await?)
    }

    /// The contract events of finalized block `number`.
    pub async fn block(&self, number: u64) -> Result<BlockEvents, IndexerError> {
        let hash = self
            .rpc
            .chain_get_block_hash(Some(number.into()))
            .await?
            .ok_or(IndexerError::MissingBlock(number))?;
        let events = self.api.events().at(hash).await?;
        let mut contract_events = Vec::new();
        for details in events.iter() {
            if let Some(event) = ContractEvent::from_details(&details?)? {
                contract_events.push(event);
            }
        }
        Ok(BlockEvents {
            number,
            hash,
            events: contract_events,
        })
    }
}
