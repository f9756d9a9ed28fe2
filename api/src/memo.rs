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
//! One exception: one artist's overdue count (`audit::overdue_of`, also on every request
//! for an artist's profile) reads one index range per release of pending commitments by
//! deadline (indexer migration 0008), whatever `now` is, so its generic plan is the right
//! one and it is prepared.
//!
//! A miss is rare for the keys people ask for, but anyone can ask for a key no one else
//! does (the audit list at offset 4 711, the league 3 rows at a time, an address no artist
//! registered), and each such request would be a computation. So:
//! - only keys many share are kept: each audit list's first 100 items, unfiltered, and the
//!   league's first 100 rows, from which every page within them is cut; the pages; a
//!   registered artist's answers. A key asked once never takes their place.
//! - an address no artist registered is a 404 read with the version, in one statement,
//!   before any computation ([`Memo::get_for_artist`]).
//! - every computation waits its turn in a [`Room`]: a few run at once (each one statement
//!   at a time), up to [`Room::LINE`] more wait, none longer than [`Room::LONGEST_WAIT`],
//!   and the rest are refused at once (503 `busy`). One client (its address, as `limits`
//!   tells it) has at most `limits::COMPUTATIONS` of a line's places at once, the next
//!   refused (429 `rate_limited`): no one client fills a line. There are two rooms
//!   ([`Rooms`]): one for the misses of the kept answers, one for the answers few ask for
//!   (a deeper page, a filter), computed at their turn and never kept ([`Memo::unkept`]). A
//!   flood of the second kind waits in its own line, never ahead of the kept answers'
//!   misses (though its statements still share the database's CPU), and the two rooms
//!   together hold at most six of the request pool's 16 connections. Outside the rooms:
//!   each request's version read, and a statement whose request reached its deadline (it
//!   runs on, up to the statement timeout).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use moka::future::{Cache, CacheBuilder};
use moka::ops::compute::Op;
use moka::Expiry;
use sqlx::PgPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::address::Address;
use crate::artists::Analytics;
use crate::audit::{AuditItem, AuditList, LeagueRow};
use crate::error::ApiError;
use crate::limits;
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
    rooms: Rooms,
}

impl<K, V> Clone for Memo<K, V> {
    fn clone(&self) -> Self {
        Memo {
            kind: self.kind,
            cache: self.cache.clone(),
            rooms: self.rooms.clone(),
        }
    }
}

/// Where computations wait their turn (see the module's comment): `places` run at once,
/// each one statement at a time; up to [`Room::LINE`] more wait, each at most
/// [`Room::LONGEST_WAIT`]; the rest are refused without waiting. Cheap to clone: shared.
#[derive(Clone)]
pub struct Room {
    /// The room, as the metrics name it.
    name: &'static str,
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    longest_wait: Duration,
    /// Each client's computations admitted (running or waiting), when the request's client
    /// is known (`limits::current_client`); a client with none is not in the map.
    clients: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// A place in a [`Room`]'s line, then in the room: held while a computation runs.
struct Place {
    _admitted: OwnedSemaphorePermit,
    _running: OwnedSemaphorePermit,
}

/// A client's turn in a [`Room`]: its seat (one of its share) and a place.
pub struct Turn {
    _seat: Option<Seat>,
    _place: Place,
}

/// One of a client's computations counted in a room: uncounted when dropped.
struct Seat {
    clients: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = clients.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                clients.remove(&self.ip);
            }
        }
    }
}

impl Room {
    /// Computations waiting their turn, beyond which one is refused: enough for the 200
    /// artists of the load bench's read model, all missed at once after a block.
    pub const LINE: usize = 1024;
    /// The longest a computation waits for its turn before it is refused: half a
    /// request's 10 s, so one that starts has the other half (a statement may take 5 s),
    /// and one cut off by the deadline mid-statement (the statement runs on, up to the
    /// statement timeout, outside the room's count) is rare. Long enough for the load
    /// bench's 200 artists' pages, all missed at once after a block (about 50 ms each, 4
    /// at a time: 2.5 s).
    pub const LONGEST_WAIT: Duration = Duration::from_secs(5);

    pub fn new(name: &'static str, places: usize, line: usize, longest_wait: Duration) -> Self {
        let places = places.max(1);
        Room {
            name,
            running: Arc::new(Semaphore::new(places)),
            admitted: Arc::new(Semaphore::new(places.saturating_add(line))),
            longest_wait,
            clients: Arc::default(),
        }
    }

    /// Counts a request refused for its client's share: once per 429 answered.
    fn count_refusal(&self) {
        metrics::counter!("dreamster_api_memo_client_refused_total", "room" => self.name)
            .increment(1);
    }

    /// A seat for the running request's client, if its computations are limited and it
    /// has fewer than its limit in this room; else refused (429 `rate_limited`), before it
    /// takes a place in line.
    fn seat(&self) -> Result<Option<Seat>, ApiError> {
        let Some(client) = limits::current_client() else {
            return Ok(None);
        };
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let n = clients.entry(client.ip).or_insert(0);
        if *n >= client.computations {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "{} answers are being computed for your address already; wait for them",
                    client.computations
                ),
            ));
        }
        *n += 1;
        Ok(Some(Seat {
            clients: self.clients.clone(),
            ip: client.ip,
        }))
    }

    /// A turn to compute for the running request's client: its seat ([`Room::seat`]),
    /// then a place ([`Room::place`]).
    pub async fn turn(&self) -> Result<Turn, ApiError> {
        let seat = self.seat().inspect_err(|_| self.count_refusal())?;
        Ok(Turn {
            _seat: seat,
            _place: self.place().await?,
        })
    }

    /// A place to compute: at once if one is free, after the computations before it if
    /// the line has room and the wait is short enough, else refused (503 `busy`).
    async fn place(&self) -> Result<Place, ApiError> {
        let busy = || {
            metrics::counter!("dreamster_api_memo_busy_total", "room" => self.name).increment(1);
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
        let running = tokio::time::timeout(self.longest_wait, self.running.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        Ok(Place {
            _admitted: admitted,
            _running: running,
        })
    }
}

/// The API's two rooms (see the module's comment). Cheap to clone: shared.
#[derive(Clone)]
pub struct Rooms {
    /// Misses of the answers many share.
    pub shared: Room,
    /// Answers few ask for, never kept.
    pub few: Room,
}

impl Rooms {
    /// Places for the answers many share: a quarter of the request pool's 16 connections.
    pub const SHARED: usize = 4;
    /// Places for the answers few ask for: an eighth. The rooms hold at most six of the
    /// pool's connections, whatever is asked.
    pub const FEW: usize = 2;
}

impl Default for Rooms {
    fn default() -> Self {
        Rooms {
            shared: Room::new("shared", Rooms::SHARED, Room::LINE, Room::LONGEST_WAIT),
            few: Room::new("few", Rooms::FEW, Room::LINE, Room::LONGEST_WAIT),
        }
    }
}

/// Drops an answer when its `until` comes (answers of older versions are never asked
/// for again and leave as the least recently used, or by idleness).
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

/// The columns of the read model's version (a row of `read_model_version`).
const VERSION_COLUMNS: &str = "version AS writes,
    (SELECT oid::bigint FROM pg_database WHERE datname = current_database()) AS database,
    (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint AS server_started";

/// The read model's version now.
pub async fn version(db: &PgPool) -> Result<Version, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {VERSION_COLUMNS} FROM read_model_version"))
        .fetch_one(db)
        .await
}

#[derive(sqlx::FromRow)]
struct ArtistAtVersion {
    #[sqlx(flatten)]
    version: Version,
    known: bool,
}

/// The read model's version now, and whether `artist` is registered in it: one statement.
pub async fn version_of_artist(
    db: &PgPool,
    artist: Address,
) -> Result<(Version, bool), sqlx::Error> {
    let row: ArtistAtVersion = sqlx::query_as(&format!(
        "SELECT {VERSION_COLUMNS}, EXISTS (SELECT 1 FROM artists WHERE address = $1) AS known
         FROM read_model_version"
    ))
    .bind(artist)
    .fetch_one(db)
    .await?;
    Ok((row.version, row.known))
}

impl<K, V> Memo<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// At most `capacity` answers, each dropped after ten idle minutes; computed in `rooms`.
    pub fn new(kind: &'static str, capacity: u64, rooms: &Rooms) -> Self {
        Self::with(kind, Cache::builder().max_capacity(capacity), rooms)
    }

    fn with(kind: &'static str, builder: AnswersBuilder<K, V>, rooms: &Rooms) -> Self {
        Memo {
            kind,
            rooms: rooms.clone(),
            cache: builder
                // Least recently used leaves, and every new answer is admitted. Under moka's
                // default (TinyLFU) a new answer enters a full cache only if asked for more
                // often than the one it would replace — and the answers of past versions,
                // read many times before a write, would keep the current ones out (their
                // count saturates at 15 until aging halves it). Only keys many share are
                // kept (see above), so no flood of one-off keys can push these out instead.
                .eviction_policy(moka::policy::EvictionPolicy::lru())
                .time_to_idle(Duration::from_secs(600))
                .expire_after(UntilExpiry)
                .build(),
        }
    }

    /// An answer not kept, for a key that few ask for (a deep page, a filter): computed at
    /// its turn in the room of such answers, so a flood of them waits in its own line
    /// instead of taking the pool or delaying the answers many read.
    pub async fn unkept<F, Fut>(&self, compute: F) -> Result<V, ApiError>
    where
        F: FnOnce(i64) -> Fut,
        Fut: std::future::Future<Output = Result<Answer<V>, ApiError>>,
    {
        let _turn = self.rooms.few.turn().await?;
        metrics::counter!("dreamster_api_memo_unkept_total", "kind" => self.kind).increment(1);
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
        let version = version(db).await?;
        self.get_at(db, version, key, compute).await
    }

    /// [`Memo::get`] with the version already read.
    async fn get_at<F, Fut>(
        &self,
        db: &PgPool,
        version: Version,
        key: K,
        compute: F,
    ) -> Result<V, ApiError>
    where
        F: Fn(i64) -> Fut,
        Fut: std::future::Future<Output = Result<Answer<V>, ApiError>>,
    {
        metrics::counter!("dreamster_api_memo_requests_total", "kind" => self.kind).increment(1);
        let key = (version, key);
        // Kept only if no write came between the version read before and the one after:
        // then every query of the computation saw the read model at exactly `version`.
        // Only the computing request takes a seat of its client's share (the requests
        // waiting on it do not: a burst of one page from one address is one computation).
        let miss = || async {
            let seat = self.rooms.shared.seat().map_err(|_| Miss::Refused)?;
            let place = self.rooms.shared.place().await.map_err(Miss::Failed)?;
            metrics::counter!("dreamster_api_memo_computations_total", "kind" => self.kind)
                .increment(1);
            let at = now_ms();
            let answer = compute(at).await.map_err(Miss::Failed)?;
            drop((place, seat));
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
                    // Moka hands the computing request's error to every request waiting on
                    // it: a refusal of its client is this request's only if this request's
                    // client has its share too. Else it asks again, and computes itself.
                    Miss::Refused => {
                        let shared = &self.rooms.shared;
                        drop(shared.seat().inspect_err(|_| shared.count_refusal())?);
                        continue;
                    }
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
        let _turn = self.rooms.shared.turn().await?;
        Ok(compute(now_ms()).await?.value)
    }
}

impl<V> Memo<Address, V>
where
    V: Clone + Send + Sync + 'static,
{
    /// [`Memo::get`] for a registered artist, and a 404 for an address no artist
    /// registered — read with the version, in the same statement, and answered before any
    /// room: a flood of unknown addresses (free to make) takes no turn and keeps nothing.
    pub async fn get_for_artist<F, Fut>(
        &self,
        db: &PgPool,
        artist: Address,
        compute: F,
    ) -> Result<V, ApiError>
    where
        F: Fn(i64) -> Fut,
        Fut: std::future::Future<Output = Result<Answer<V>, ApiError>>,
    {
        let (version, known) = version_of_artist(db, artist).await?;
        if !known {
            return Err(ApiError::not_found(format!("no artist {artist}")));
        }
        self.get_at(db, version, artist, compute).await
    }
}

/// The items a kept first page holds (the most a page may ask for): every page within
/// them is cut from them, so one answer serves every size at offset 0.
pub const KEPT_PAGE: i64 = 100;

impl<K, T> Memo<K, Page<T>>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    /// The page of `limit` items from `offset`, computed by `compute(limit, offset, now)`.
    /// With a `key` (a page many share) and within the first [`KEPT_PAGE`] items, it is cut
    /// from those, kept under `key`; otherwise it is computed at its turn and not kept
    /// ([`Memo::unkept`]).
    pub async fn page<F, Fut>(
        &self,
        db: &PgPool,
        key: Option<K>,
        limit: i64,
        offset: i64,
        compute: F,
    ) -> Result<Page<T>, ApiError>
    where
        F: Fn(i64, i64, i64) -> Fut,
        Fut: std::future::Future<Output = Result<Answer<Page<T>>, ApiError>>,
    {
        match key {
            Some(key) if offset.saturating_add(limit) <= KEPT_PAGE => {
                let first = self.get(db, key, |now| compute(KEPT_PAGE, 0, now)).await?;
                Ok(first.within(limit, offset))
            }
            _ => self.unkept(|now| compute(limit, offset, now)).await,
        }
    }
}

impl<K> Memo<K, axum::body::Bytes>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    /// Rendered pages, at most `bytes` of them in all: a page's size has no fixed bound (an
    /// artist's lists every perk), so a count of pages would bound nothing. Each dropped
    /// after ten idle minutes.
    pub fn pages(kind: &'static str, bytes: u64, rooms: &Rooms) -> Self {
        Self::with(
            kind,
            Cache::builder().max_capacity(bytes).weigher(
                |_, kept: &Arc<Kept<axum::body::Bytes>>| {
                    u32::try_from(kept.answer.value.len()).unwrap_or(u32::MAX)
                },
            ),
            rooms,
        )
    }
}

/// A computation whose answer is not kept (shared with every request that waited for it).
enum Miss<V> {
    Failed(ApiError),
    /// The computing request's client had its share of the room (`Room::seat`): refused
    /// to that client, not to the others waiting on it (each asks its own client's seat).
    Refused,
    /// The read model moved during the computation: its queries may have seen different
    /// versions (as any uncached read may), so it is answered but not kept.
    Moved(Kept<V>),
}

/// The kept answers of the API, one cache per kind (cheap to clone: shared).
#[derive(Clone)]
pub struct Memos {
    /// Where their computations wait their turn, and every other expensive read's.
    pub rooms: Rooms,
    pub analytics: Memo<Address, Analytics>,
    /// Each list's first [`KEPT_PAGE`] items, unfiltered: every page within them is cut
    /// from them (`audit::kept_items`).
    pub audit: Memo<AuditList, Page<AuditItem>>,
    /// The league's first [`KEPT_PAGE`] rows (`audit::kept_league`).
    pub league: Memo<(), Page<LeagueRow>>,
    /// The `/audit` page, rendered.
    pub audit_page: Memo<(), axum::body::Bytes>,
    /// The home page, rendered.
    pub home_page: Memo<(), axum::body::Bytes>,
    /// Each artist's page, rendered.
    pub artist_page: Memo<Address, axum::body::Bytes>,
}

impl Memos {
    /// Every kind's computations in `rooms`.
    pub fn in_rooms(rooms: &Rooms) -> Self {
        Memos {
            rooms: rooms.clone(),
            // An answer per artist asked about; beyond that, the least used leave.
            analytics: Memo::new("analytics", 4096, rooms),
            audit: Memo::new("audit", 16, rooms),
            league: Memo::new("league", 4, rooms),
            audit_page: Memo::new("audit_page", 4, rooms),
            home_page: Memo::new("home_page", 4, rooms),
            // An artist's page grows with their perks: the most read, within a bound in bytes.
            artist_page: Memo::pages("artist_page", 32 * 1024 * 1024, rooms),
        }
    }
}

impl Default for Memos {
    fn default() -> Self {
        Memos::in_rooms(&Rooms::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A room's outcomes with one place and one in line: a turn at once, a wait for the
    /// turn, a refusal (503 `busy`) without waiting when the line is full; the waiting
    /// one's turn comes when the running one ends; and a wait longer than the room allows
    /// is refused too.
    #[tokio::test]
    async fn a_room_gives_turns_in_line_and_refuses_beyond_it() {
        let room = Room::new("test", 1, 1, Duration::from_secs(10));
        let running = room.turn().await.expect("a free turn");
        let line = room.clone();
        let waiting = tokio::spawn(async move { line.turn().await.map(|_| ()) });
        // The waiting one is in line once the room's admissions are all taken.
        let deadline = Instant::now() + Duration::from_secs(10);
        while room.admitted.available_permits() > 0 {
            assert!(
                Instant::now() < deadline,
                "the second turn never got in line"
            );
            tokio::task::yield_now().await;
        }
        let refused = room.turn().await.err().expect("a full line refuses");
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

        let short = Room::new("test", 1, 8, Duration::from_millis(100));
        let _running = short.turn().await.expect("a free turn");
        let started = Instant::now();
        let late = short
            .turn()
            .await
            .err()
            .expect("a wait past 100 ms is refused");
        assert_eq!(late.code, "busy");
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    /// One client cannot take more than its share of a line: its next computation is
    /// refused while another client's gets in line, and its seat comes back when one ends.
    #[tokio::test]
    async fn a_client_holds_at_most_its_share_of_a_line() {
        let room = Room::new("test", 1, 8, Duration::from_secs(10));
        let client = |last: u8| limits::Client {
            ip: IpAddr::from([10, 0, 0, last]),
            computations: 2,
        };
        let (greedy, other) = (client(1), client(2));
        let first = limits::for_client(greedy, room.turn())
            .await
            .expect("a free turn");
        let (room2, room3) = (room.clone(), room.clone());
        // The second waits in line (the room's one place is taken), still its client's.
        let second = tokio::spawn(limits::for_client(greedy, async move {
            room2.turn().await.map(drop)
        }));
        let deadline = Instant::now() + Duration::from_secs(10);
        while room.admitted.available_permits() > 7 {
            assert!(
                Instant::now() < deadline,
                "the second turn never got in line"
            );
            tokio::task::yield_now().await;
        }
        let third = limits::for_client(greedy, room.turn())
            .await
            .err()
            .expect("a third at once is refused");
        assert_eq!(
            (third.status, third.code),
            (StatusCode::TOO_MANY_REQUESTS, "rate_limited")
        );
        assert_eq!(
            room.admitted.available_permits(),
            7,
            "a refused computation takes no place in line"
        );
        // Another client still gets in line.
        let others = tokio::spawn(limits::for_client(other, async move {
            room3.turn().await.map(drop)
        }));
        drop(first);
        tokio::time::timeout(Duration::from_secs(10), second)
            .await
            .expect("the second turn came within 10 s")
            .expect("joined")
            .expect("its turn");
        tokio::time::timeout(Duration::from_secs(10), others)
            .await
            .expect("the other client's turn came within 10 s")
            .expect("joined")
            .expect("its turn");
        let again = limits::for_client(greedy, room.turn()).await;
        assert!(again.is_ok(), "its seats came back when its turns ended");
        assert!(
            room.clients.lock().expect("unpoisoned").get(&greedy.ip) == Some(&1),
            "only the turn held now is counted"
        );
        drop(again);
        assert!(room.clients.lock().expect("unpoisoned").is_empty());
    }

    /// Each write leaves the answers of the version before it in the cache: the current
    /// version's answers must still be kept once past versions fill it, however often those
    /// were read.
    #[tokio::test]
    async fn answers_of_past_versions_never_keep_the_current_ones_out() {
        let memo: Memo<(), u64> = Memo::new("test", 4, &Rooms::default());
        let at = |writes| Version {
            writes,
            database: 1,
            server_started: 1,
        };
        let kept = |n| {
            Arc::new(Kept {
                at: 0,
                answer: Answer::unchanged(n),
            })
        };
        for writes in 0..40 {
            let key = (at(writes), ());
            memo.cache.insert(key, kept(writes as u64)).await;
            // Read as a kept answer is, between two writes.
            for _ in 0..50 {
                assert!(memo.cache.get(&key).await.is_some());
            }
            memo.cache.run_pending_tasks().await;
            assert!(
                memo.cache.get(&key).await.is_some(),
                "the answer of version {writes} was not kept"
            );
        }
        assert!(memo.cache.entry_count() <= 4);
    }
}
