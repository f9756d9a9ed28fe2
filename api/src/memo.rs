//! The expensive answers (an artist's analytics, the audit lists, the league, the dispute
//! queue), kept between requests for exactly as long as they hold.
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

use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use moka::Expiry;
use sqlx::PgPool;

use crate::address::Address;
use crate::artists::Analytics;
use crate::audit::{AuditItem, AuditQuery, LeagueRow};
use crate::disputes::DisputeCase;
use crate::error::ApiError;
use crate::read::{now_ms, Page};

/// An answer, and the first time (ms since the epoch) it may no longer hold by the clock
/// alone; `None`: it holds until the read model changes.
pub struct Answer<V> {
    pub value: V,
    pub until: Option<i64>,
}

/// One kind of answer, by its key, at the read model's version.
pub struct Memo<K, V> {
    /// The kind, as the metrics name it.
    kind: &'static str,
    cache: Cache<(i64, K), Arc<Answer<V>>>,
}

impl<K, V> Clone for Memo<K, V> {
    fn clone(&self) -> Self {
        Memo {
            kind: self.kind,
            cache: self.cache.clone(),
        }
    }
}

/// Drops an answer when its `until` comes (answers of older versions are never asked
/// for again and leave by capacity or idleness).
struct UntilExpiry;

impl<K, V> Expiry<K, Arc<Answer<V>>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &K,
        answer: &Arc<Answer<V>>,
        _created_at: Instant,
    ) -> Option<Duration> {
        answer
            .until
            .map(|until| Duration::from_millis(until.saturating_sub(now_ms()).max(0) as u64))
    }
}

/// The read model's version now (migration 0006 of the indexer).
pub async fn version(db: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM read_model_version")
        .fetch_one(db)
        .await
}

impl<K, V> Memo<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// At most `capacity` answers, each dropped after ten idle minutes.
    pub fn new(kind: &'static str, capacity: u64) -> Self {
        Memo {
            kind,
            cache: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(Duration::from_secs(600))
                .expire_after(UntilExpiry)
                .build(),
        }
    }

    /// The answer for `key`: kept, or computed by `compute` (given the time it is to be
    /// true at, in ms) and kept. The version is read before the computation: rows
    /// committed in between make the kept answer newer than its version, never older.
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
        let compute = || async {
            metrics::counter!("dreamster_api_memo_computations_total", "kind" => self.kind)
                .increment(1);
            let answer = compute(now_ms()).await.map_err(Miss::Failed)?;
            match self::version(db).await {
                Ok(v) if v == version => Ok(Arc::new(answer)),
                Ok(_) => Err(Miss::Moved(answer.value)),
                Err(e) => Err(Miss::Failed(e.into())),
            }
        };
        let kept = match self.cache.try_get_with(key.clone(), compute()).await {
            Ok(kept) => kept,
            Err(miss) => return miss.answer(),
        };
        // The expiry runs on the monotonic clock, the answers' times on the wall clock:
        // should the two disagree, the wall clock decides.
        if kept.holds_at(now_ms()) {
            return Ok(kept.value.clone());
        }
        self.cache.invalidate(&key).await;
        match self.cache.try_get_with(key, compute()).await {
            Ok(fresh) => Ok(fresh.value.clone()),
            Err(miss) => miss.answer(),
        }
    }
}

/// A computation whose answer is not kept (shared with every request that waited for it).
enum Miss<V> {
    Failed(ApiError),
    /// The read model moved during the computation: its queries may have seen different
    /// versions (as any uncached read may), so it is answered but not kept.
    Moved(V),
}

impl<V: Clone> Miss<V> {
    fn answer(self: Arc<Self>) -> Result<V, ApiError> {
        match self.as_ref() {
            Miss::Failed(e) => Err(e.clone()),
            Miss::Moved(v) => Ok(v.clone()),
        }
    }
}

impl<V> Answer<V> {
    /// An answer that holds until the read model changes.
    pub fn unchanged(value: V) -> Self {
        Answer { value, until: None }
    }

    fn holds_at(&self, now: i64) -> bool {
        self.until.is_none_or(|until| now < until)
    }
}

/// The kept answers of the API, one cache per kind (cheap to clone: shared).
#[derive(Clone)]
pub struct Memos {
    pub analytics: Memo<Address, Analytics>,
    pub audit: Memo<AuditQuery, Page<AuditItem>>,
    /// By limit and offset.
    pub league: Memo<(i64, i64), Page<LeagueRow>>,
    pub dispute_queue: Memo<(), Vec<DisputeCase>>,
}

impl Default for Memos {
    fn default() -> Self {
        Memos {
            // An answer per artist asked about; beyond that, the least used leave.
            analytics: Memo::new("analytics", 4096),
            audit: Memo::new("audit", 1024),
            league: Memo::new("league", 256),
            dispute_queue: Memo::new("dispute_queue", 4),
        }
    }
}
