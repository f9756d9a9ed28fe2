//! The read model's database: migrations, the cursor, and batches written atomically.

use std::collections::HashSet;

use dreamster_types::events::DreamsterEvent;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection;
use sqlx::Row;

use crate::changes::{Changes, Origin};
use crate::projection;
use crate::source::BlockEvents;
use crate::{Bytes32, IndexerError};

/// The read model's migrations. The API keeps its own tables (sign-in, messages) in the
/// same database with its own migrations, so each side ignores the other's.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.set_ignore_missing(true);
    m
}

/// Every table of the read model, in foreign-key order.
pub const TABLES: &[&str] = &[
    "indexer_cursor",
    "raw_events",
    "artists",
    "arbiters",
    "releases",
    "perks",
    "editions",
    "transfers",
    "entitlements",
    "entitlement_changes",
    "ratings",
    "reputation",
    "withdrawals",
];

/// What one batch wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct BatchStats {
    pub blocks: u64,
    pub events: u64,
    pub undecodable: u64,
}

pub struct Store {
    pool: PgPool,
    registry: Bytes32,
    /// Releases the registry created, as of the last committed batch.
    releases: HashSet<Bytes32>,
}

fn bytes32(v: Vec<u8>) -> Option<Bytes32> {
    v.try_into().ok()
}

impl Store {
    /// Connects, migrates, and checks the database belongs to this registry.
    pub async fn open(database_url: &str, registry: Bytes32) -> Result<Self, IndexerError> {
        let options = PgConnectOptions::from_str(database_url)
            .map_err(|e| IndexerError::DatabaseUrl(e.to_string()))?;
        // One plain connection first: the pool retries an unreachable server until its
        // acquire timeout, where a person at a terminal wants the reason at once.
        let where_ = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or("")
        );
        PgConnection::connect_with(&options)
            .await
            .map_err(|e| IndexerError::DatabaseUnreachable(where_, e.to_string()))?
            .close()
            .await?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        migrator().run(&pool).await?;
        if let Some(row) = sqlx::query("SELECT registry FROM indexer_cursor")
            .fetch_optional(&pool)
            .await?
        {
            let stored: Vec<u8> = row.get(0);
            if stored != registry {
                return Err(IndexerError::OtherRegistry {
                    stored: hex(&stored),
                    wanted: hex(&registry),
                });
            }
        }
        let releases = sqlx::query("SELECT address FROM releases")
            .fetch_all(&pool)
            .await?
            .into_iter()
            .filter_map(|row| bytes32(row.get(0)))
            .collect();
        Ok(Store {
            pool,
            registry,
            releases,
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The last block written, if any.
    pub async fn cursor(&self) -> Result<Option<u64>, IndexerError> {
        let row = sqlx::query("SELECT block_number FROM indexer_cursor")
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<i64, _>(0) as u64))
    }

    /// Writes a batch of consecutive blocks and moves the cursor to the last of them, all
    /// in one transaction: either everything is written or nothing is.
    pub async fn write_batch(
        &mut self,
        blocks: &[BlockEvents],
    ) -> Result<BatchStats, IndexerError> {
        let Some(last) = blocks.last() else {
            return Ok(BatchStats::default());
        };
        let mut releases = self.releases.clone();
        let mut stats = BatchStats {
            blocks: blocks.len() as u64,
            ..BatchStats::default()
        };
        let mut tx = self.pool.begin().await?;
        let mut changes = Changes::default();
        for block in blocks {
            for event in &block.events {
                let contract = event.contract.0;
                let from_registry = contract == self.registry;
                if !from_registry && !releases.contains(&contract) {
                    continue;
                }
                let topics: Vec<[u8; 32]> = event.topics.iter().map(|t| t.0).collect();
                let decoded = DreamsterEvent::decode(&topics, &event.data);
                let (name, error) = match &decoded {
                    Ok(e) => (Some(e.name()), None),
                    Err(e) => (None, Some(format!("{e:?}"))),
                };
                let origin = Origin {
                    block: block.number as i64,
                    extrinsic: event.extrinsic_index.map(|i| i as i32),
                    event_index: event.event_index as i32,
                    contract,
                };
                let raw = &mut changes.raw_events;
                raw.block.push(origin.block);
                raw.hash.push(block.hash.0.to_vec());
                raw.extrinsic.push(origin.extrinsic);
                raw.event_index.push(origin.event_index);
                raw.contract.push(contract.to_vec());
                raw.topics.push(topics.concat());
                raw.data.push(event.data.clone());
                raw.name.push(name.map(str::to_string));
                raw.decode_error.push(error);
                stats.events += 1;
                match decoded {
                    Ok(event) => {
                        // Only the registry vouches for releases; a release cannot create another.
                        if let (true, DreamsterEvent::ReleaseCreated(created)) =
                            (from_registry, &event)
                        {
                            releases.insert(
                                *<dreamster_types::AccountId as AsRef<[u8; 32]>>::as_ref(
                                    &created.release,
                                ),
                            );
                        }
                        // Registry events count only from the registry, release events only from
                        // its releases: a contract cannot speak for the other kind.
                        if from_registry == is_registry_event(&event) {
                            projection::apply(&mut tx, &mut changes, &origin, &event).await?;
                        }
                    }
                    Err(e) => {
                        stats.undecodable += 1;
                        tracing::warn!(block = block.number, event = event.event_index, error = ?e, "kept undecodable event raw");
                    }
                }
            }
        }
        changes.flush(&mut tx).await?;
        sqlx::query(
            "INSERT INTO indexer_cursor (id, registry, block_number, block_hash) VALUES (TRUE, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET block_number = EXCLUDED.block_number, block_hash = EXCLUDED.block_hash",
        )
        .bind(self.registry.to_vec())
        .bind(last.number as i64)
        .bind(last.hash.0.to_vec())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.releases = releases;
        Ok(stats)
    }
}

/// Events only the registry may emit; the same shapes from a release are ignored.
fn is_registry_event(event: &DreamsterEvent) -> bool {
    matches!(
        event,
        DreamsterEvent::ArbiterAdded(_)
            | DreamsterEvent::ArbiterRemoved(_)
            | DreamsterEvent::ReleaseCodeSet(_)
            | DreamsterEvent::ArtistRegistered(_)
            | DreamsterEvent::ReleaseCreated(_)
            | DreamsterEvent::ReputationChanged(_)
    )
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
