//! One audit of the whole read model against the chain, at the block the read model has
//! reached: every release the registry lists, and every artist's reputation.
//!
//! The read model is read in repeatable-read snapshots ([`snapshot`]), each holding the
//! indexer's cursor and the rows it wrote up to it (the indexer writes both in one
//! transaction); the chain is read at that cursor's block. So a difference is a real one,
//! never the indexer lagging.

use std::collections::BTreeSet;

use dreamster_calls::registry;
use dreamster_client::{ink_id, subxt_id, Node};
use dreamster_types::registry_api::Reputation;
use sqlx::{Acquire, PgPool, Postgres, Transaction};
use subxt::utils::{AccountId32, H256};

use crate::{compare_release, compare_reputation, AuditError, Comparison, ReleaseBooks};

/// Releases asked of the registry per call.
const RELEASES_PAGE: u32 = 50;

/// What one audit found.
#[derive(Debug, Default)]
pub struct Pass {
    /// The block the pass began at (each release is read at the block the read model was at
    /// when its turn came); `None` if the read model is still empty.
    pub block: Option<u64>,
    /// Releases audited.
    pub releases: usize,
    /// Fields compared, and those that differ.
    pub comparison: Comparison,
    /// Inconsistencies within the chain's own numbers (a release that owes more than it
    /// holds, a getter's total that its entitlements do not add up to).
    pub findings: Vec<String>,
    /// Releases (or artists) that could not be read, and why: one that fails never stops
    /// the others from being audited.
    pub unaudited: Vec<String>,
}

/// A block of the chain, by number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub number: u64,
    pub hash: H256,
}

/// Opens a read-only, repeatable-read snapshot of the read model, and reads the block its
/// cursor is at (`None`: nothing indexed yet). The indexer writes its rows and its cursor in
/// one transaction, so every row the snapshot shows is the chain's as of that block.
pub async fn snapshot<'c, A>(
    db: A,
) -> Result<(Transaction<'c, Postgres>, Option<Block>), AuditError>
where
    A: Acquire<'c, Database = Postgres>,
{
    let mut tx = db.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await?;
    let cursor: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT block_number, block_hash FROM indexer_cursor")
            .fetch_optional(&mut *tx)
            .await?;
    let block = match cursor {
        None => None,
        Some((number, hash)) => Some(Block {
            number: u64::try_from(number)
                .map_err(|_| AuditError::Chain("the read model's cursor is at a negative block"))?,
            hash: <[u8; 32]>::try_from(hash.as_slice())
                .map(H256)
                .map_err(|_| {
                    AuditError::Chain("the read model's cursor holds no 32-byte block hash")
                })?,
        }),
    };
    Ok((tx, block))
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

/// Audits the read model in `db` against the chain. Each release is compared in a snapshot
/// of its own, at the block that snapshot's cursor names: a pass over many releases never
/// holds one snapshot open for long, and the indexer's progress meanwhile is never a
/// difference.
pub async fn audit_read_model(
    node: &Node,
    db: &PgPool,
    registry: &AccountId32,
) -> Result<Pass, AuditError> {
    let (mut tx, block) = snapshot(db).await?;
    let Some(block) = block else {
        return Ok(Pass::default());
    };
    let releases = registry_releases(node, block.hash, registry).await?;
    let in_model: i64 = sqlx::query_scalar("SELECT count(*) FROM releases")
        .fetch_one(&mut *tx)
        .await?;
    tx.rollback().await?;
    let mut pass = Pass {
        block: Some(block.number),
        ..Pass::default()
    };
    pass.comparison.check(
        "the registry",
        "release count",
        releases.len().to_string(),
        in_model.to_string(),
    );
    let mut artists = BTreeSet::new();
    for rel in &releases {
        match audit_release(node, db, rel).await {
            Ok((books, comparison)) => {
                pass.findings.extend(
                    books
                        .findings
                        .iter()
                        .map(|f| format!("{}: {f}", books.terms.title)),
                );
                pass.comparison.extend(comparison);
                artists.insert(books.artist.0);
                pass.releases = pass.releases.saturating_add(1);
            }
            Err(e) => pass.unaudited.push(format!("release {rel}: {e}")),
        }
    }
    for artist in artists {
        let artist = AccountId32(artist);
        match audit_reputation(node, db, registry, &artist).await {
            Ok(comparison) => pass.comparison.extend(comparison),
            Err(e) => pass
                .unaudited
                .push(format!("the reputation of {artist}: {e}")),
        }
    }
    Ok(pass)
}

/// One release, chain and read model at the same block.
async fn audit_release(
    node: &Node,
    db: &PgPool,
    rel: &AccountId32,
) -> Result<(ReleaseBooks, Comparison), AuditError> {
    let (mut tx, block) = snapshot(db).await?;
    let block = block.ok_or(AuditError::Chain(
        "the read model was emptied during the pass",
    ))?;
    let books = ReleaseBooks::read(node, block.hash, rel).await?;
    let comparison = compare_release(&mut tx, &books).await?;
    tx.rollback().await?;
    Ok((books, comparison))
}

/// One artist's reputation, chain and read model at the same block.
async fn audit_reputation(
    node: &Node,
    db: &PgPool,
    registry: &AccountId32,
    artist: &AccountId32,
) -> Result<Comparison, AuditError> {
    let (mut tx, block) = snapshot(db).await?;
    let block = block.ok_or(AuditError::Chain(
        "the read model was emptied during the pass",
    ))?;
    let reputation: Reputation = node
        .query_at(block.hash, registry, &registry::reputation(ink_id(artist)))
        .await?;
    let comparison = compare_reputation(&mut tx, artist, &reputation).await?;
    tx.rollback().await?;
    Ok(comparison)
}
