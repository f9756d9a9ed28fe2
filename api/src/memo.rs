//! The expensive answers (an artist's analytics, the audit lists, the league, the rendered
//! `/audit`, home and artist pages), kept between requests for exactly as long as they hold.
//!
//! An answer holds while the read model is unchanged — every write moves its version (a
//! trigger of the indexer's migration 0006, in the writing transaction) — and until the
//! clock reaches the next moment the answer depends on (a commitment falling overdue, a
//! ruling lapsing), which the answer's own computation finds. So a kept answer is the one
//! a fresh query would give: nothing is served stale, and a test that reads right after a
//! block sees that block. Concurrent requests for one missing answer share one
//! computation (moka's `try_get_with`), so a burst costs the database one query, not one
//! per request: the finding's "50 concurrent `/audit` requests exhaust the pool".
//!
//! The computations' queries are sent unprepared (`.persistent(false)`), so PostgreSQL
//! plans each with its parameters' values: a prepared statement turns generic after five
//! runs, and planned without knowing `now` the overdue count took 560 ms instead of 10
//! (EXPLAIN ANALYZE at 1 000 000 entitlements). A miss is rare; its planning is cheap.
//!
//! A miss is rare for the keys people ask for, but anyone can ask for a key no one else
//! does (the audit list at offset 4 711, the league 3 rows at a time): each such request
//! is a miss, so the misses of every kind share one [`Room`] — at most
//! [`Room::STATEMENTS`] of their statements at once, the rest waiting in line, and beyond
//! [`Room::WAITING`] in line an immediate 503 — so a flood of them holds a quarter of the
//! pool's connections, never all, and every other route keeps its own. A key asked once
//! does not push out a key asked often either: only the keys many share are kept (the first
//! page of a list, unfiltered, at each of the 100 page sizes — fewer than each cache
//! holds), an artist's answers only for a registered artist, and the rest are computed at
//! their turn and not kept ([`Memo::unkept`]).

use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use moka::future::{Cache, CacheBuilder};
use moka::ops::compute::Op;
use moka::Expiry;
use sqlx::PgPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::address::Address;
use crate::artists::Analytics;
use crate::audit::{AuditItem, AuditQuery, LeagueRow};
use crate::error::ApiError;
use crate::read::{now_ms, Page};

/// An answer, and the first time (ms since the epoch) it may no longer hold by the clock
/// alone; `None`: it holds until the read model changes.
pub struct Answer<V> {
    pub value: V,
    pub until: Option<i64>,
}

impl<V> Answer<V> {
    /// An answer that holds until the read model changes.
    pub fn unchanged(value: V) -> Self {
        Answer { value, until: None }
    }
}

/// An answer as kept: with the time it was computed at.
struct Kept<V> {
    at: i64,
    answer: Answer<V>,
}

impl<V> Kept<V> {
    /// Whether a fresh computation at `now` would give the same answer: an answer that
    /// depends on the clock holds from the time it was computed at (a wall clock stepped
    /// back is before it) until its `until`.
    fn holds_at(&self, now: i64) -> bool {
        self.answer
            .until
            .is_none_or(|until| self.at <= now && now < until)
    }
}

/// The read model's version: the count of its writes (migration 0006 of the indexer), in
/// this database (its oid: a database dropped and made again counts from 0 anew) since
/// the server started (a crash loses writes made with `synchronous_commit = off`, which
/// the indexer's replayable batches use, and the count would then reach the same numbers
/// again for other rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::FromRow)]
pub struct Version {
    pub writes: i64,
    pub database: i64,
    pub server_started: i64,
}

/// The cache behind a [`Memo`]: answers by version and key.
type Answers<K, V> = Cache<(Version, K), Arc<Kept<V>>>;
type AnswersBuilder<K, V> = CacheBuilder<(Version, K), Arc<Kept<V>>, Answers<K, V>>;

/// One kind of answer, by its key, at the read model's version.
pub struct Memo<K, V> {
    /// The kind, as the metrics name it.
    kind: &'static str,
    cache: Answers<K, V>,
    /// Where its computations wait their turn, with every other kind's.
    room: Room,
    /// The statements one computation runs at once: the room's places it takes.
    width: u32,
}

impl<K, V> Clone for Memo<K, V> {
    fn clone(&self) -> Self {
        Memo {
            kind: self.kind,
            cache: self.cache.clone(),
            room: self.room.clone(),
            width: self.width,
        }
    }
}

/// The computations of answers not kept, bounded: a few run, some more wait their turn,
/// the rest are refused at once (see the module's comment). Shared by every [`Memo`] of
/// one API (cheap to clone).
#[derive(Clone)]
pub struct Room {
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    /// The places in `running`: the most a computation can take.
    statements: u32,
}

/// A place in the [`Room`]: held while a computation runs.
struct Turn {
    _admitted: OwnedSemaphorePermit,
    _running: OwnedSemaphorePermit,
}

impl Room {
    /// Statements at once: a quarter of the request pool's 16 connections, so the other
    /// routes keep twelve. A computation takes as many places as it runs statements at
    /// once (most one; an artist's page four).
    pub const STATEMENTS: u32 = 4;
    /// Computations waiting their turn, beyond which a miss is refused: enough for the
    /// 200 artists of the load bench's read model, all missed at once after a block.
    pub const WAITING: usize = 1024;

    pub fn new(statements: u32, waiting: usize) -> Self {
        let statements = statements.max(1);
        Room {
            running: Arc::new(Semaphore::new(statements as usize)),
            admitted: Arc::new(Semaphore::new(
                (statements as usize).saturating_add(waiting),
            )),
            statements,
        }
    }

    /// A turn to compute with `width` statements at once: at once if the places are free,
    /// after the computations before it if the line has room, else refused (503) without
    /// waiting.
    async fn turn(&self, width: u32) -> Result<Turn, ApiError> {
        let busy = || {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "too many answers are being computed right now; try again in a moment",
            )
        };
        let admitted = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| busy())?;
        let running = self
            .running
            .clone()
            .acquire_many_owned(width.clamp(1, self.statements))
            .await
            .map_err(|_| busy())?;
        Ok(Turn {
            _admitted: admitted,
            _running: running,
        })
    }
}

impl Default for Room {
    fn default() -> Self {
        Room::new(Room::STATEMENTS, Room::WAITING)
    }
}

/// Drops an answer when its `until` comes (answers of older versions are never asked
/// for again and leave by capacity or idleness).
struct UntilExpiry;

impl<K, V> Expiry<K, Arc<Kept<V>>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &K,
        kept: &Arc<Kept<V>>,
        _created_at: Instant,
    ) -> Option<Duration> {
        kept.answer
            .until
            .map(|until| Duration::from_millis(until.saturating_sub(now_ms()).max(0) as u64))
    }
}

/// The read model's version now.
pub async fn version(db: &PgPool) -> Result<Version, sqlx::Error> {
    sqlx::query_as(
        "SELECT version AS writes,
            (SELECT oid::bigint FROM pg_database WHERE datname = current_database()) AS database,
            (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint AS server_started
         FROM read_model_version",
    )
    .fetch_one(db)
    .await
}

impl<K, V> Memo<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// At most `capacity` answers, each dropped after ten idle minutes; computed in `room`.
    pub fn new(kind: &'static str, capacity: u64, room: &Room) -> Self {
        Self::with(kind, Cache::builder().max_capacity(capacity), room)
    }

    fn with(kind: &'static str, builder: AnswersBuilder<K, V>, room: &Room) -> Self {
        Memo {
            kind,
            room: room.clone(),
            width: 1,
            cache: builder
                .time_to_idle(Duration::from_secs(600))
                .expire_after(UntilExpiry)
                .build(),
        }
    }

    /// The same, its computations running `n` statements at once (see [`Room`]).
    pub fn statements_at_once(mut self, n: u32) -> Self {
        self.width = n.max(1);
        self
    }

    /// An answer not kept, for a key that few ask for (a deep page, a filter): computed at
    /// its turn in the room, like a miss, so a flood of such keys waits in line instead of
    /// taking the pool, and never takes the place of answers many read.
    pub async fn unkept<F, Fut>(&self, compute: F) -> Result<V, ApiError>
    where
        F: FnOnce(i64) -> Fut,
        Fut: std::future::Future<Output = Result<Answer<V>, ApiError>>,
    {
        metrics::counter!("dreamster_api_memo_unkept_total", "kind" => self.kind).increment(1);
        let _turn = self.room.turn(self.width).await?;
        Ok(compute(now_ms()).await?.value)
    }

    /// The answer for `key`: kept, or computed by `compute` (given the time it is to be
    /// true at, in ms) and kept. Every answer returned holds now: kept ones are checked
    /// against the wall clock (the expiry runs on the monotonic one), and one that does
    /// not hold is replaced — twice at most, then computed and answered without keeping.
    pub async fn get<F, Fut>(&self, db: &PgPool, key: K, compute: F) -> Result<V, ApiError>
    where
        F: Fn(i64) -> Fut,
        Fut: std::future::Future<Output = Result<Answer<V>, ApiError>>,
    {
        metrics::counter!("dreamster_api_memo_requests_total", "kind" => self.kind).increment(1);
        let version = version(db).await?;
        let key = (version, key);
        // Kept only if no write came between the version read before and the one after:
        // then every query of the computation saw the read model at exactly `version`.
        let miss = || async {
            metrics::counter!("dreamster_api_memo_computations_total", "kind" => self.kind)
                .increment(1);
            let turn = self.room.turn(self.width).await.map_err(Miss::Failed)?;
            let at = now_ms();
            let answer = compute(at).await.map_err(Miss::Failed)?;
            drop(turn);
            let kept = Kept { at, answer };
            match self::version(db).await {
                Ok(v) if v == version => Ok(Arc::new(kept)),
                Ok(_) => Err(Miss::Moved(kept)),
                Err(e) => Err(Miss::Failed(e.into())),
            }
        };
        for _ in 0..2 {
            let kept = match self.cache.try_get_with(key.clone(), miss()).await {
                Ok(kept) => kept,
                Err(failed) => match failed.as_ref() {
                    Miss::Failed(e) => return Err(e.clone()),
                    Miss::Moved(kept) if kept.holds_at(now_ms()) => {
                        return Ok(kept.answer.value.clone())
                    }
                    Miss::Moved(_) => continue,
                },
            };
            if kept.holds_at(now_ms()) {
                return Ok(kept.answer.value.clone());
            }
            // Drop that very answer, not one another request has put in its place since.
            self.cache
                .entry(key.clone())
                .and_compute_with(|entry| {
                    let same = entry.is_some_and(|e| Arc::ptr_eq(e.value(), &kept));
                    async move {
                        if same {
                            Op::Remove
                        } else {
                            Op::Nop
                        }
                    }
                })
                .await;
        }
        let _turn = self.room.turn(self.width).await?;
        Ok(compute(now_ms()).await?.value)
    }
}

impl<K> Memo<K, axum::body::Bytes>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    /// Rendered pages, at most `bytes` of them in all: a page's size has no fixed bound (an
    /// artist's lists every perk), so a count of pages would bound nothing. Each dropped
    /// after ten idle minutes.
    pub fn pages(kind: &'static str, bytes: u64, room: &Room) -> Self {
        Self::with(
            kind,
            Cache::builder().max_capacity(bytes).weigher(
                |_, kept: &Arc<Kept<axum::body::Bytes>>| {
                    u32::try_from(kept.answer.value.len()).unwrap_or(u32::MAX)
                },
            ),
            room,
        )
    }
}

/// A computation whose answer is not kept (shared with every request that waited for it).
enum Miss<V> {
    Failed(ApiError),
    /// The read model moved during the computation: its queries may have seen different
    /// versions (as any uncached read may), so it is answered but not kept.
    Moved(Kept<V>),
}

/// The kept answers of the API, one cache per kind (cheap to clone: shared).
#[derive(Clone)]
pub struct Memos {
    pub analytics: Memo<Address, Analytics>,
    pub audit: Memo<AuditQuery, Page<AuditItem>>,
    /// By limit and offset (only first pages are kept: `audit::kept_league`).
    pub league: Memo<(i64, i64), Page<LeagueRow>>,
    /// The `/audit` page, rendered.
    pub audit_page: Memo<(), axum::body::Bytes>,
    /// The home page, rendered.
    pub home_page: Memo<(), axum::body::Bytes>,
    /// Each artist's page, rendered.
    pub artist_page: Memo<Address, axum::body::Bytes>,
}

impl Memos {
    /// Every kind's computations in `room`.
    pub fn in_room(room: &Room) -> Self {
        Memos {
            // An answer per artist asked about; beyond that, the least used leave.
            analytics: Memo::new("analytics", 4096, room),
            audit: Memo::new("audit", 1024, room),
            league: Memo::new("league", 256, room),
            audit_page: Memo::new("audit_page", 4, room),
            home_page: Memo::new("home_page", 4, room),
            // An artist's page grows with their perks: the most read, within a bound in bytes.
            // Its computation reads the artist's profile with four statements at once
            // (`artists::artist_at`): it takes four places in the room.
            artist_page: Memo::pages("artist_page", 32 * 1024 * 1024, room).statements_at_once(4),
        }
    }
}

impl Default for Memos {
    fn default() -> Self {
        Memos::in_room(&Room::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The room's three outcomes with one turn and one place in line: a turn at once, a
    /// wait for the turn, a refusal (503 `busy`) without waiting; and the waiting one's
    /// turn comes when the running one ends.
    #[tokio::test]
    async fn a_full_line_is_refused_at_once_and_a_waiting_turn_comes() {
        let room = Room::new(1, 1);
        let running = room.turn(1).await.expect("a free turn");
        let line = room.clone();
        let waiting = tokio::spawn(async move { line.turn(1).await.map(|_| ()) });
        // The waiting one is in line once the room's admissions are all taken.
        let deadline = Instant::now() + Duration::from_secs(10);
        while room.admitted.available_permits() > 0 {
            assert!(
                Instant::now() < deadline,
                "the second turn never got in line"
            );
            tokio::task::yield_now().await;
        }
        let refused = room.turn(1).await.err().expect("a full line refuses");
        assert_eq!(
            (refused.status, refused.code),
            (StatusCode::SERVICE_UNAVAILABLE, "busy")
        );
        assert!(
            !waiting.is_finished(),
            "the second turn waits for the first"
        );
        drop(running);
        tokio::time::timeout(Duration::from_secs(10), waiting)
            .await
            .expect("the waiting turn came within 10 s")
            .expect("joined")
            .expect("its turn");
    }

    /// A computation of several statements at once waits until that many places are free,
    /// and one wider than the room takes the whole room (it does not wait forever).
    #[tokio::test]
    async fn a_wide_computation_takes_as_many_places() {
        let room = Room::new(4, 8);
        let one = room.turn(1).await.expect("a free place");
        let line = room.clone();
        let wide = tokio::spawn(async move { line.turn(4).await.map(|_| ()) });
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(
            !wide.is_finished(),
            "four places are not free while one is taken"
        );
        drop(one);
        tokio::time::timeout(Duration::from_secs(10), wide)
            .await
            .expect("the wide turn came within 10 s")
            .expect("joined")
            .expect("its turn");
        let widest = tokio::time::timeout(Duration::from_secs(10), room.turn(64)).await;
        widest
            .expect("wider than the room: the whole room, within 10 s")
            .expect("its turn");
    }
}
