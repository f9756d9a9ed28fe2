//! The indexer: follows finalized blocks of a node, takes the `ContractEmitted` events of
//! one registry and of every release it created, and writes them — raw and projected —
//! into PostgreSQL, one transaction per batch of blocks with the cursor inside it, so a
//! crash anywhere loses and duplicates nothing.

pub mod audit;
pub mod changes;
pub mod copy;
pub mod follower;
pub mod projection;
pub mod records;
pub mod source;
pub mod store;
pub mod telemetry;

pub use follower::{Follower, FollowerConfig};

#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error("node: {0}")]
    Node(#[from] dreamster_client::ClientError),
    #[error("cannot reach the node at {0}: {1}")]
    NodeUnreachable(String, String),
    #[error("node: {0}")]
    Subxt(#[from] subxt::Error),
    #[error("node: {0}")]
    SubxtCore(#[from] subxt::ext::subxt_core::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("bad database URL: {0}")]
    DatabaseUrl(String),
    #[error("cannot reach the database at {0}: {1}")]
    DatabaseUnreachable(String, String),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the node has no block {0} (is --from-block beyond the chain?)")]
    MissingBlock(u64),
    #[error("the database was indexed for registry {stored}, not {wanted}: use a fresh database")]
    OtherRegistry { stored: String, wanted: String },
    #[error("another indexer wrote past block {expected} meanwhile; continuing from the database's cursor")]
    CursorMoved { expected: u64 },
    #[error(
        "this indexer lost the database's writer lock (the database restarted?); taking it again"
    )]
    LockLost,
    #[error(
        "the node does not have block {0} yet, where the database's cursor is (still syncing?)"
    )]
    NodeBehind(u64),
    #[error("the database was indexed from another chain: its block {block} is {stored} there and {found} on this node (a reset dev chain, or the wrong --rpc-url?); use a fresh database or the right node")]
    WrongChain {
        block: u64,
        stored: String,
        found: String,
    },
}

impl IndexerError {
    /// An error that retrying cannot cure: the indexer stops and says why.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            IndexerError::OtherRegistry { .. }
                | IndexerError::WrongChain { .. }
                | IndexerError::DatabaseUrl(_)
                | IndexerError::Migrate(_)
        )
    }
}

/// A 32-byte account or hash in the read model.
pub type Bytes32 = [u8; 32];

/// Indexes `registry`'s events into `database_url` up to the node's finalized head as of
/// now, with the default settings (what `dreamster-indexer --once` does); returns that head.
pub async fn index_once(
    rpc_url: &str,
    database_url: &str,
    registry: Bytes32,
) -> Result<u64, IndexerError> {
    let store = store::Store::open(database_url, registry).await?;
    let source = source::ChainSource::connect(rpc_url).await?;
    let config = FollowerConfig {
        rpc_url: rpc_url.into(),
        ..FollowerConfig::default()
    };
    let mut follower = Follower::new(config, store);
    follower.check_chain(&source).await?;
    follower.catch_up(&source).await
}
