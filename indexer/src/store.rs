//! The read model's database: migrations, the cursor, and batches written atomically.

use std::collections::HashSet;

use dreamster_types::events::DreamsterEvent;
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::Connection;

use dreamster_client::ContractEvent;

use crate::changes::{Changes, Origin, RawEventRow, UnreadableRow};
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

/// Every table of the read model, in foreign-key order (all the migrations make but their
/// version, `read_model_version`, a count of writes that two equal read models written in
/// different batches do not share; `writers.rs` checks none is missing).
pub const TABLES: &[&str] = &[
    "indexer_cursor",
    "raw_events",
    "unreadable_events",
    "sanitized_text",
    "artists",
    "arbiters",
    "releases",
    "release_arbiters",
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
#[derive(Debug, Default, Clone)]
pub struct BatchStats {
    pub blocks: u64,
    pub events: u64,
    /// Events projected, by name (`EditionSold`…).
    pub kinds: std::collections::BTreeMap<&'static str, u64>,
    pub undecodable: u64,
    /// Decoded events the read model could not take, kept raw with the reason.
    pub rejected: u64,
    /// Events the runtime's metadata or the client could not read (`unreadable_events`).
    pub unreadable: u64,
    /// The runtime version of the batch's last block.
    pub spec_version: u32,
}

/// How a batch's commit waits for the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// The commit is on disk when it returns: for the batch that reaches the head, which
    /// the API and its webhooks act on.
    Durable,
    /// The commit returns before its WAL is flushed (`synchronous_commit = off`): for
    /// batches of a backfill, followed by more. A database crash may undo the last few,
    /// atomically, cursor included, and the indexer then writes them again from the
    /// chain, identically; no fsync wait per batch.
    Replayable,
}

/// The advisory lock held by the one indexer that writes a database ("dreamstr").
const WRITER_LOCK: i64 = 0x6472_6561_6d73_7472;
/// Taken by each batch's transaction, so batches of two processes never interleave even
/// while the writer lock changes hands.
const BATCH_LOCK: i64 = WRITER_LOCK + 1;

pub struct Store {
    pool: PgPool,
    options: PgConnectOptions,
    registry: Bytes32,
    /// Releases the registry created, as of the last committed batch.
    releases: HashSet<Bytes32>,
    /// The releases must be read again before the next batch: the last one failed, and
    /// a commit whose acknowledgement was lost may have added some.
    releases_stale: bool,
    /// The session holding [`WRITER_LOCK`]; the lock goes with it.
    writer: PgConnection,
    /// That session's backend, to check in each batch that the lock is still ours.
    writer_pid: i32,
}

fn bytes32(v: Vec<u8>) -> Option<Bytes32> {
    v.try_into().ok()
}

/// Whether PostgreSQL refused a value rather than failed: a data exception (class 22: a
/// NUL in text, a number out of range) or an integrity violation (class 23). Such a batch
/// is written again event by event, and only the events it refuses are set aside.
fn refused_value(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        // 22P03 (bad binary format) is this indexer's bug, a row that does not match its
        // table: it fails loudly instead of setting every event aside.
        .is_some_and(|c| (c.starts_with("22") && c != "22P03") || c.starts_with("23"))
}

/// One session holding the writer lock (and its backend pid); a second indexer says so
/// once and waits.
async fn writer_lock(options: &PgConnectOptions) -> Result<(PgConnection, i32), IndexerError> {
    let mut conn = PgConnection::connect_with(options).await?;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut conn)
        .await?;
    let mine: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(WRITER_LOCK)
        .fetch_one(&mut conn)
        .await?;
    if !mine {
        tracing::warn!("another indexer is writing to this database; waiting until it stops");
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(WRITER_LOCK)
            .execute(&mut conn)
            .await?;
        tracing::info!("the other indexer stopped; writing from here on");
    }
    Ok((conn, pid))
}

/// One decoded-or-not contract event in its block.
struct Taken {
    /// A release the registry created with this event.
    new_release: Option<Bytes32>,
    /// The event's name, when it was projected.
    kind: Option<&'static str>,
    undecodable: bool,
}

impl BatchStats {
    fn took(&mut self, taken: &Taken) {
        if taken.undecodable {
            self.undecodable += 1;
        }
        if let Some(kind) = taken.kind {
            *self.kinds.entry(kind).or_default() += 1;
        }
    }
}

impl Store {
    /// Connects, waits for the writer lock, migrates, and checks the database belongs to
    /// this registry.
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
        let (writer, writer_pid) = writer_lock(&options).await?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options.clone())
            .await?;
        migrator().run(&pool).await?;
        if let Some(stored) =
            sqlx::query_scalar::<_, Vec<u8>>("SELECT registry FROM indexer_cursor")
                .fetch_optional(&pool)
                .await?
        {
            if stored != registry {
                return Err(IndexerError::OtherRegistry {
                    stored: hex(&stored),
                    wanted: hex(&registry),
                });
            }
        }
        let mut store = Store {
            pool,
            options,
            registry,
            releases: HashSet::new(),
            releases_stale: true,
            writer,
            writer_pid,
        };
        store.reload_releases().await?;
        Ok(store)
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The releases as the database knows them: the one truth after anything failed.
    async fn reload_releases(&mut self) -> Result<(), IndexerError> {
        let addresses: Vec<Vec<u8>> = sqlx::query_scalar("SELECT address FROM releases")
            .fetch_all(&self.pool)
            .await?;
        self.releases = addresses.into_iter().filter_map(bytes32).collect();
        self.releases_stale = false;
        Ok(())
    }

    /// After a failure: the writer lock still held (taken again, waiting if another
    /// indexer took it meanwhile, when its session was lost) and the releases re-read.
    pub async fn recover(&mut self) -> Result<(), IndexerError> {
        // A half-open connection would hang on TCP's patience: a few seconds decide.
        let alive = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            sqlx::query("SELECT 1").execute(&mut self.writer),
        )
        .await
        .is_ok_and(|r| r.is_ok());
        if !alive {
            (self.writer, self.writer_pid) = writer_lock(&self.options).await?;
        }
        self.reload_releases().await
    }

    /// The last block written, if any.
    pub async fn cursor(&self) -> Result<Option<u64>, IndexerError> {
        Ok(self.cursor_at().await?.map(|(n, _)| n))
    }

    /// The last block written and its hash, if any.
    pub async fn cursor_at(&self) -> Result<Option<(u64, Vec<u8>)>, IndexerError> {
        let row: Option<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT block_number, block_hash FROM indexer_cursor")
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(n, h)| (n as u64, h)))
    }

    /// Writes a batch of consecutive blocks and moves the cursor to the last of them, all
    /// in one transaction: either everything is written or nothing is. An event whose
    /// values the read model refuses does not stop it: the batch is written again event
    /// by event, and that event is kept raw with the reason.
    pub async fn write_batch(
        &mut self,
        blocks: &[BlockEvents],
    ) -> Result<BatchStats, IndexerError> {
        self.write_batch_with(blocks, Commit::Durable).await
    }

    /// [`Store::write_batch`], committed as `commit` says.
    pub async fn write_batch_with(
        &mut self,
        blocks: &[BlockEvents],
        commit: Commit,
    ) -> Result<BatchStats, IndexerError> {
        if self.releases_stale {
            self.reload_releases().await?;
        }
        let written = match self.write(blocks, false, commit).await {
            Err(IndexerError::Database(e)) if refused_value(&e) => {
                tracing::warn!(error = %e, "the read model refused a value of this batch; writing it event by event");
                self.write(blocks, true, commit).await
            }
            other => other,
        };
        if written.is_err() {
            self.releases_stale = true;
        }
        written
    }

    /// One attempt at a batch; `careful`: each event in a savepoint of its own.
    async fn write(
        &mut self,
        blocks: &[BlockEvents],
        careful: bool,
        commit: Commit,
    ) -> Result<BatchStats, IndexerError> {
        let (Some(first), Some(last)) = (blocks.first(), blocks.last()) else {
            return Ok(BatchStats::default());
        };
        let mut releases = self.releases.clone();
        let mut stats = BatchStats {
            blocks: blocks.len() as u64,
            ..BatchStats::default()
        };
        let mut tx = self.pool.begin().await?;
        if commit == Commit::Replayable {
            sqlx::query("SET LOCAL synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(BATCH_LOCK)
            .execute(&mut *tx)
            .await?;
        // Still the writer? A lost session (a database restart) takes the lock with it,
        // and another indexer may hold it now: then this one writes nothing until
        // `recover` has it back.
        let ours: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1)",
        )
        .bind(self.writer_pid)
        .fetch_one(&mut *tx)
        .await?;
        if !ours {
            return Err(IndexerError::LockLost);
        }
        // The batch continues the cursor it read, or nothing: a second writer's batch
        // (a rolling deploy) finds the cursor moved and writes nothing.
        let cursor: Option<i64> = sqlx::query_scalar("SELECT block_number FROM indexer_cursor")
            .fetch_optional(&mut *tx)
            .await?;
        if let Some(at) = cursor {
            if at + 1 != first.number as i64 {
                return Err(IndexerError::CursorMoved {
                    expected: first.number.saturating_sub(1),
                });
            }
        }
        let mut changes = Changes::default();
        for block in blocks {
            stats.spec_version = block.spec_version;
            stats.unreadable += block.unreadable.len() as u64;
            for u in &block.unreadable {
                changes.unreadable.push(UnreadableRow {
                    block_number: block.number as i64,
                    block_hash: block.hash.0.to_vec(),
                    spec_version: i64::from(block.spec_version),
                    event_index: u.event_index as i32,
                    rest_read: u.rest_read,
                    error: dreamster_types::stored::clean(&u.error).0,
                });
            }
            for event in &block.events {
                let contract = event.contract.0;
                let from_registry = contract == self.registry;
                if !from_registry && !releases.contains(&contract) {
                    continue;
                }
                stats.events += 1;
                if !careful {
                    let taken = self
                        .take(&mut tx, &mut changes, block, event, from_registry)
                        .await?;
                    stats.took(&taken);
                    releases.extend(taken.new_release);
                    continue;
                }
                sqlx::query("SAVEPOINT event").execute(&mut *tx).await?;
                let mut own = Changes::default();
                let outcome = match self
                    .take(&mut tx, &mut own, block, event, from_registry)
                    .await
                {
                    Ok(taken) => own.flush(&mut tx).await.map(|()| taken),
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(taken) => {
                        sqlx::query("RELEASE SAVEPOINT event")
                            .execute(&mut *tx)
                            .await?;
                        stats.took(&taken);
                        releases.extend(taken.new_release);
                    }
                    Err(e) if refused_value(&e) => {
                        // Back to before the event, and the savepoint gone: no nesting
                        // of subtransactions across a batch's refused events.
                        sqlx::query("ROLLBACK TO SAVEPOINT event")
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query("RELEASE SAVEPOINT event")
                            .execute(&mut *tx)
                            .await?;
                        tracing::warn!(block = block.number, event = event.event_index, error = %e, "kept a refused event raw");
                        stats.rejected += 1;
                        let mut raw = Changes::default();
                        let (name, decode_error) =
                            match DreamsterEvent::decode(&topics(event), &event.data) {
                                Ok(d) => (Some(d.name()), None),
                                Err(d) => (None, Some(format!("{d:?}"))),
                            };
                        push_raw(
                            &mut raw,
                            block,
                            event,
                            name,
                            decode_error,
                            Some(e.to_string()),
                        );
                        raw.flush(&mut tx).await?;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        changes.flush(&mut tx).await?;
        let moved = match cursor {
            None => sqlx::query(
                "INSERT INTO indexer_cursor (id, registry, block_number, block_hash) VALUES (TRUE, $1, $2, $3)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(self.registry.to_vec())
            .bind(last.number as i64)
            .bind(last.hash.0.to_vec())
            .execute(&mut *tx)
            .await?,
            Some(at) => sqlx::query(
                "UPDATE indexer_cursor SET block_number = $2, block_hash = $3 WHERE block_number = $1",
            )
            .bind(at)
            .bind(last.number as i64)
            .bind(last.hash.0.to_vec())
            .execute(&mut *tx)
            .await?,
        };
        if moved.rows_affected() != 1 {
            return Err(IndexerError::CursorMoved {
                expected: first.number.saturating_sub(1),
            });
        }
        tx.commit().await?;
        self.releases = releases;
        Ok(stats)
    }

    /// Records one event raw and, decoded, in the projection (both in `changes`).
    async fn take(
        &self,
        tx: &mut PgConnection,
        changes: &mut Changes,
        block: &BlockEvents,
        event: &ContractEvent,
        from_registry: bool,
    ) -> Result<Taken, sqlx::Error> {
        let decoded = DreamsterEvent::decode(&topics(event), &event.data);
        let (name, error) = match &decoded {
            Ok(e) => (Some(e.name()), None),
            Err(e) => (None, Some(format!("{e:?}"))),
        };
        push_raw(changes, block, event, name, error, None);
        let origin = origin(block, event);
        let event = match decoded {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(block = block.number, event = event.event_index, error = ?e, "kept undecodable event raw");
                return Ok(Taken {
                    new_release: None,
                    kind: None,
                    undecodable: true,
                });
            }
        };
        // Only the registry vouches for releases; a release cannot create another.
        let new_release = match (from_registry, &event) {
            (true, DreamsterEvent::ReleaseCreated(created)) => Some(
                *<dreamster_types::AccountId as AsRef<[u8; 32]>>::as_ref(&created.release),
            ),
            _ => None,
        };
        // Registry events count only from the registry, release events only from its
        // releases: a contract cannot speak for the other kind.
        let applied = from_registry == is_registry_event(&event);
        if applied {
            projection::apply(tx, changes, &origin, &event).await?;
        }
        Ok(Taken {
            new_release,
            kind: applied.then(|| event.name()),
            undecodable: false,
        })
    }
}

fn topics(event: &ContractEvent) -> Vec<[u8; 32]> {
    event.topics.iter().map(|t| t.0).collect()
}

fn origin(block: &BlockEvents, event: &ContractEvent) -> Origin {
    Origin {
        block: block.number as i64,
        extrinsic: event.extrinsic_index.map(|i| i as i32),
        event_index: event.event_index as i32,
        contract: event.contract.0,
    }
}

fn push_raw(
    changes: &mut Changes,
    block: &BlockEvents,
    event: &ContractEvent,
    name: Option<&str>,
    decode_error: Option<String>,
    rejected: Option<String>,
) {
    changes.raw_events.push(RawEventRow {
        block_number: block.number as i64,
        block_hash: block.hash.0.to_vec(),
        extrinsic_index: event.extrinsic_index.map(|i| i as i32),
        event_index: event.event_index as i32,
        contract: event.contract.0.to_vec(),
        topics: event.topics.iter().map(|t| t.0.to_vec()).collect(),
        data: event.data.clone(),
        name: name.map(str::to_string),
        decode_error,
        rejected,
    });
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
