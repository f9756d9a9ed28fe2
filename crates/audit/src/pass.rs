//! One audit of the whole read model against the chain, at the block the read model has
//! reached: every release the registry lists, and every artist's reputation.
//!
//! The read model is read in one repeatable-read snapshot, which holds the indexer's cursor
//! and the rows it wrote up to it (the indexer writes both in one transaction); the chain is
//! read at the cursor's block. So a difference is a real one, never the indexer lagging.

use std::collections::BTreeSet;

use dreamster_calls::registry;
use dreamster_client::{ink_id, subxt_id, Node};
use dreamster_types::registry_api::Reputation;
use subxt::utils::{AccountId32, H256};

use crate::{compare_release, compare_reputation, AuditError, Comparison, ReleaseBooks};

/// Releases asked of the registry per call.
const RELEASES_PAGE: u32 = 50;

/// What one audit found.
#[derive(Debug, Default)]
pub struct Pass {
    /// The block both sides were read at; `None` if the read model is still empty.
    pub block: Option<u64>,
    pub releases: usize,
    /// Fields compared, and those that differ.
    pub comparison: Comparison,
    /// Inconsistencies within the chain's own numbers (a release that owes more than it
    /// holds, a getter's total that its entitlements do not add up to).
    pub findings: Vec<String>,
}

/// Every release the registry lists, as of block `at`.
pub async fn registry_releases(
    node: &Node,
    at: H256,
    registry: &AccountId32,
) -> Result<Vec<AccountId32>, AuditError> {
    let count: u32 = node
        .query_at(at, registry, &registry::release_count())
        .await?;
    let mut out = Vec::new();
    let mut from = 0u32;
    while from < count {
        let page: Vec<dreamster_types::AccountId> = node
            .query_at(at, registry, &registry::releases(from, RELEASES_PAGE))
            .await?;
        if page.is_empty() {
            break;
        }
        from = from.saturating_add(u32::try_from(page.len()).unwrap_or(u32::MAX));
        out.extend(page.iter().map(subxt_id));
    }
    Ok(out)
}

/// Audits the read model in `db` against the chain, both at the read model's block.
pub async fn audit_read_model(
    node: &Node,
    db: &sqlx::PgPool,
    registry: &AccountId32,
) -> Result<Pass, AuditError> {
    let mut tx = db.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let cursor: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT block_number, block_hash FROM indexer_cursor")
            .fetch_optional(&mut *tx)
            .await?;
    let Some((number, hash)) = cursor else {
        return Ok(Pass::default());
    };
    let at = <[u8; 32]>::try_from(hash.as_slice())
        .map(H256)
        .map_err(|_| AuditError::Chain("the read model's cursor holds no 32-byte block hash"))?;
    let mut pass = Pass {
        block: u64::try_from(number).ok(),
        ..Pass::default()
    };
    let releases = registry_releases(node, at, registry).await?;
    let in_model: i64 = sqlx::query_scalar("SELECT count(*) FROM releases")
        .fetch_one(&mut *tx)
        .await?;
    pass.comparison.check(
        "the registry",
        "release count",
        releases.len().to_string(),
        in_model.to_string(),
    );
    let mut artists = BTreeSet::new();
    for rel in &releases {
        let books = ReleaseBooks::read(node, at, rel).await?;
        pass.findings.extend(
            books
                .findings
                .iter()
                .map(|f| format!("{}: {f}", books.terms.title)),
        );
        pass.comparison
            .extend(compare_release(&mut tx, &books).await?);
        artists.insert(books.artist.0);
    }
    for artist in artists {
        let artist = AccountId32(artist);
        let reputation: Reputation = node
            .query_at(at, registry, &registry::reputation(ink_id(&artist)))
            .await?;
        pass.comparison
            .extend(compare_reputation(&mut tx, &artist, &reputation).await?);
    }
    pass.releases = releases.len();
    tx.rollback().await?;
    Ok(pass)
}
