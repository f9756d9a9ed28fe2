//! The audit: a release's books re-derived from the chain alone (the contracts' getters and
//! balances), checked for consistency, and compared field by field with the indexer's read
//! model. `dreamster audit` runs it on demand; the indexer runs [`pass::audit_read_model`]
//! on a schedule and exposes its differences as metrics.

pub mod books;
pub mod compare;
pub mod pass;

pub use books::ReleaseBooks;
pub use compare::{compare_release, compare_reputation, Comparison};
pub use pass::{audit_read_model, registry_releases, snapshot, Block, Pass};

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("reading the chain: {0}")]
    Node(#[from] dreamster_client::ClientError),
    #[error("reading the read model: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the chain's answers do not fit together: {0}")]
    Chain(&'static str),
}
