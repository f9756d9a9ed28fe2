//! Reads finalized blocks and their contract events from a node.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use dreamster_client::ContractEvent;
use subxt::backend::legacy::LegacyRpcMethods;
use subxt::backend::rpc::{rpc_params, RpcClient};
use subxt::events::Events;
use subxt::utils::H256;
use subxt::{OnlineClient, PolkadotConfig};

use crate::records::EventPlan;
use crate::IndexerError;

/// One block's contract events.
#[derive(Debug, Clone)]
pub struct BlockEvents {
    pub number: u64,
    pub hash: H256,
    /// The runtime's spec version that produced the block (its events' layout).
    pub spec_version: u32,
    pub events: Vec<ContractEvent>,
    /// Events this indexer could not read with that runtime's metadata (kept with why).
    pub unreadable: Vec<Unreadable>,
}

/// An event of a block that could not be read: a contract event whose layout is not the
/// one the client knows, or any event the runtime's own metadata cannot decode (then the
/// block's later events cannot be told apart either, and are covered by this one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub event_index: u32,
    /// Whether the events after this one were read (false: they could not be).
    pub rest_read: bool,
    pub error: String,
}

/// A client per runtime version, each with that runtime's metadata: a block's events are
/// decoded with the metadata of the runtime that produced it, so a backfill across a
/// runtime upgrade reads each side with its own layout.
#[derive(Clone)]
pub struct ChainSource {
    api: OnlineClient<PolkadotConfig>,
    rpc: LegacyRpcMethods<PolkadotConfig>,
    rpc_client: RpcClient,
    runtimes: Arc<Mutex<HashMap<u32, Runtime>>>,
    /// Held while a new runtime's metadata is fetched.
    fetching: Arc<tokio::sync::Mutex<()>>,
}

/// One runtime version: a client with its metadata, and the plan to read its events fast.
#[derive(Clone)]
struct Runtime {
    client: OnlineClient<PolkadotConfig>,
    plan: Arc<EventPlan>,
}

impl Runtime {
    fn new(client: OnlineClient<PolkadotConfig>) -> Self {
        Runtime {
            plan: Arc::new(EventPlan::new(&client.metadata())),
            client,
        }
    }
}

impl ChainSource {
    pub async fn connect(url: &str) -> Result<Self, IndexerError> {
        let client = RpcClient::from_insecure_url(url)
            .await
            .map_err(|e| IndexerError::NodeUnreachable(url.to_string(), e.to_string()))?;
        let api = OnlineClient::<PolkadotConfig>::from_rpc_client(client.clone()).await?;
        let runtimes = HashMap::from([(
            api.runtime_version().spec_version,
            Runtime::new(api.clone()),
        )]);
        Ok(ChainSource {
            api,
            rpc: LegacyRpcMethods::new(client.clone()),
            rpc_client: client,
            runtimes: Arc::new(Mutex::new(runtimes)),
            fetching: Arc::new(tokio::sync::Mutex::new(())),
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

    /// The hashes of block `number`'s parent (genesis: itself) and of the block, in one
    /// call (`chain_getBlockHash` takes a list).
    async fn parent_and_hash(&self, number: u64) -> Result<(H256, H256), IndexerError> {
        let parent = number.saturating_sub(1);
        let hashes: Vec<Option<H256>> = self
            .rpc_client
            .request("chain_getBlockHash", rpc_params![[parent, number]])
            .await?;
        match hashes.as_slice() {
            [Some(parent), Some(hash)] => Ok((*parent, *hash)),
            [_, None] => Err(IndexerError::MissingBlock(number)),
            _ => Err(IndexerError::MissingBlock(parent)),
        }
    }

    /// The spec versions whose metadata this source has fetched so far.
    pub fn runtime_versions(&self) -> Vec<u32> {
        let mut versions: Vec<u32> = self
            .runtimes
            .lock()
            .map(|r| r.keys().copied().collect())
            .unwrap_or_default();
        versions.sort_unstable();
        versions
    }

    fn cached(&self, spec: u32) -> Option<Runtime> {
        self.runtimes
            .lock()
            .ok()
            .and_then(|r| r.get(&spec).cloned())
    }

    /// The client for the runtime that produced a block: the runtime in the state
    /// its parent left (a block that sets new code is itself still produced by the old
    /// one). That runtime's metadata is fetched the first time its version is seen, by one
    /// fetch while the others wait for it.
    async fn runtime_of(&self, parent: H256) -> Result<(u32, Runtime), IndexerError> {
        let version = self.rpc.state_get_runtime_version(Some(parent)).await?;
        let spec = version.spec_version;
        if let Some(runtime) = self.cached(spec) {
            return Ok((spec, runtime));
        }
        let _one_fetch = self.fetching.lock().await;
        if let Some(runtime) = self.cached(spec) {
            return Ok((spec, runtime));
        }
        let metadata = self.rpc.state_get_metadata(Some(parent)).await?;
        let client = OnlineClient::<PolkadotConfig>::from_rpc_client_with(
            self.api.genesis_hash(),
            subxt::client::RuntimeVersion {
                spec_version: spec,
                transaction_version: version.transaction_version,
            },
            metadata,
            self.rpc_client.clone(),
        )?;
        tracing::info!(
            spec_version = spec,
            parent = ?parent,
            "decoding with a new runtime's metadata"
        );
        let runtime = Runtime::new(client);
        if let Ok(mut runtimes) = self.runtimes.lock() {
            runtimes.insert(spec, runtime.clone());
        }
        Ok((spec, runtime))
    }

    /// The contract events of finalized block `number`, read with its own runtime's
    /// metadata. An event that cannot be read stops nothing: it is reported in
    /// `unreadable`, and so are the block's events after it when the event stream
    /// itself cannot be cut further.
    pub async fn block(&self, number: u64) -> Result<BlockEvents, IndexerError> {
        let (parent, hash) = self.parent_and_hash(number).await?;
        let (spec_version, runtime) = self.runtime_of(parent).await?;
        let events = runtime.client.events().at(hash).await?;
        // The compiled plan when it can cut every record; subxt's reading otherwise,
        // which also says what it cannot read.
        let (contract_events, unreadable) = match runtime.plan.read(events.bytes()) {
            Some(found) => (found, Vec::new()),
            None => read_events(&events, runtime.plan.reads_contract_emitted()),
        };
        for u in &unreadable {
            tracing::warn!(block = number, event = u.event_index, rest_read = u.rest_read, error = %u.error, "an event this indexer cannot read");
        }
        Ok(BlockEvents {
            number,
            hash,
            spec_version,
            events: contract_events,
            unreadable,
        })
    }
}

/// A block's contract events, and the events that could not be read: one the metadata
/// cannot decode ends the reading (the stream cannot be cut after it); a contract event
/// is reported, not read, when its runtime's layout of it is not the one this indexer
/// knows (`emitted_known`, see `records::known_contract_emitted`) or it does not decode.
pub fn read_events(
    events: &Events<PolkadotConfig>,
    emitted_known: bool,
) -> (Vec<ContractEvent>, Vec<Unreadable>) {
    let mut contract_events = Vec::new();
    let mut unreadable = Vec::new();
    let mut next_index = 0u32;
    for details in events.iter() {
        let details = match details {
            Ok(d) => d,
            Err(e) => {
                unreadable.push(Unreadable {
                    event_index: next_index,
                    rest_read: false,
                    error: e.to_string(),
                });
                break;
            }
        };
        next_index = details.index() + 1;
        if !emitted_known && ContractEvent::is_emitted(&details) {
            unreadable.push(Unreadable {
                event_index: details.index(),
                rest_read: true,
                error: "Contracts.ContractEmitted has fields this indexer does not know".into(),
            });
            continue;
        }
        match ContractEvent::from_details(&details) {
            Ok(Some(event)) => contract_events.push(event),
            Ok(None) => {}
            Err(e) => unreadable.push(Unreadable {
                event_index: details.index(),
                rest_read: true,
                error: e.to_string(),
            }),
        }
    }
    (contract_events, unreadable)
}
