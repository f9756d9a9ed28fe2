//! The dispatcher: queues unlocks of hooked artists' perks, then calls the receivers.
//!
//! Fairness: calls run concurrently (at most `Settings::in_flight` at once) and no artist
//! has more than `Settings::per_artist` in flight, so a receiver that never answers plus
//! many cheap unlocks holds back only its own artist. Replicas: a call is made only under
//! a lease on its row (`FOR UPDATE SKIP LOCKED`, then `leased_until`), so two API
//! processes never send one delivery twice, and a lease left by a crashed process lapses.
//! A hook that fails `Settings::disable_after` calls in a row is turned off, and the
//! artist sees why.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Url;
use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use crate::background::Running;

use super::guard::Reach;
use super::sign;
use crate::address::Address;

/// Tries per delivery (1 s doubling, at most 5 min apart).
pub const MAX_ATTEMPTS: i32 = 10;

/// What the artist is told of a call that got no HTTP answer — the same whether the name
/// did not resolve, the address is not public, the connection was refused or timed out,
/// so the statuses cannot be used to map what the API's network can reach.
pub const UNREACHABLE: &str = "the receiver could not be reached";

/// How the dispatcher behaves; `Default` is production's.
#[derive(Clone, Debug)]
pub struct Settings {
    pub reach: Reach,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Calls in flight per artist.
    pub per_artist: i64,
    /// Calls in flight in all.
    pub in_flight: i64,
    /// Failed calls in a row that turn a hook off.
    pub disable_after: i32,
    /// How long a lease lasts: short enough that a crashed replica's deliveries are soon
    /// picked up by another; never less than twice what a call can take plus a margin
    /// for recording it (`lease_length`).
    pub lease: Duration,
    /// Pause between rounds.
    pub tick: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            reach: Reach::PublicOnly,
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            per_artist: 2,
            in_flight: 32,
            disable_after: 20,
            lease: Duration::from_secs(30),
            tick: Duration::from_millis(250),
        }
    }
}

impl Settings {
    /// The lease actually taken: `lease`, but at least twice a call's longest time plus
    /// 10 s, so a call in flight does not outlive its lease.
    pub fn lease_length(&self) -> Duration {
        let call = self.connect_timeout + self.request_timeout;
        self.lease.max(call * 2 + Duration::from_secs(10))
    }
}

/// Starts the dispatcher. `Running::stop` lets its calls in flight finish and be recorded
/// (each is bounded by the request timeout); dropping the handle stops it without waiting.
pub fn spawn(db: PgPool, settings: Settings) -> Running {
    crate::background::spawn(|stopped| run(db, settings, stopped))
}

async fn run(db: PgPool, settings: Settings, mut stopped: watch::Receiver<bool>) {
    let http = match settings
        .reach
        .client(settings.connect_timeout, settings.request_timeout)
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client; webhooks are off");
            return;
        }
    };
    let mut calls = JoinSet::new();
    loop {
        while calls.try_join_next().is_some() {}
        // The read-model tables appear once the indexer has migrated; until then, wait.
        if let Err(e) = enqueue(&db).await {
            tracing::debug!(error = %e, "webhook queue not ready");
        }
        let room = settings.in_flight - i64::try_from(calls.len()).unwrap_or(i64::MAX);
        if room > 0 {
            match lease(&db, &settings, room).await {
                Ok(leased) => {
                    for l in leased {
                        let (db, http, settings) = (db.clone(), http.clone(), settings.clone());
                        calls.spawn(async move {
                            let outcome = call(&http, settings.reach, &l).await;
                            if let Err(e) = record(&db, &settings, &l, &outcome).await {
                                // The lease lapses and the call is made again.
                                tracing::warn!(error = %e, delivery = l.id, "recording a webhook call failed");
                            }
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "leasing webhook deliveries failed"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(settings.tick) => {}
            _ = stopped.changed() => break,
        }
    }
    while calls.join_next().await.is_some() {}
}

/// An unlock of a hooked artist's perk, as `enqueue` reads it.
#[derive(sqlx::FromRow)]
struct Unlock {
    artist: Address,
    release: Address,
    edition: i32,
    perk: i32,
    actor: Address,
    block_number: i64,
    extrinsic_index: Option<i32>,
    event_index: i32,
    at: i64,
}

/// The body of a `perk.unlocked` call.
#[derive(Serialize)]
struct UnlockPayload {
    event: &'static str,
    release: Address,
    edition: i32,
    perk: i32,
    holder: Address,
    block: i64,
    extrinsic: Option<i32>,
    at: i64,
}

/// Queues a delivery for every unlock of a hooked artist's perk not queued yet.
async fn enqueue(db: &PgPool) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
    // The indexer commits each block whole with its cursor, so every block up to the
    // cursor can be queued whole and never looked at again.
    let head: Option<i64> = sqlx::query_scalar("SELECT block_number FROM indexer_cursor")
        .fetch_optional(&mut *tx)
        .await?;
    let Some(head) = head else {
        return Ok(0);
    };
    let rows: Vec<Unlock> = sqlx::query_as(
        "SELECT w.artist, c.release, c.edition, c.perk, c.actor, c.block_number, c.extrinsic_index, c.event_index, c.at
         FROM webhooks w
         JOIN releases r ON r.artist = w.artist
         JOIN entitlement_changes c ON c.release = r.address
         WHERE c.action = 'unlocked' AND c.block_number <= $1
           -- GREATEST skips a NULL: a hook not queued yet starts after the block it was set at.
           AND c.block_number > GREATEST(w.from_block, w.queued_through)
           -- The same bound as a constant, so the scan is a range of the primary key.
           AND c.block_number > (SELECT min(GREATEST(from_block, queued_through)) FROM webhooks)
         ORDER BY c.block_number, c.event_index",
    )
    .bind(head)
    .fetch_all(&mut *tx)
    .await?;
    let mut queued = 0;
    for r in rows {
        let payload = serde_json::to_string(&UnlockPayload {
            event: "perk.unlocked",
            release: r.release,
            edition: r.edition,
            perk: r.perk,
            holder: r.actor,
            block: r.block_number,
            extrinsic: r.extrinsic_index,
            at: r.at,
        })
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        queued += sqlx::query(
            "INSERT INTO webhook_deliveries (artist, release, edition, perk, block_number, event_index, payload)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(r.artist)
        .bind(r.release)
        .bind(r.edition)
        .bind(r.perk)
        .bind(r.block_number)
        .bind(r.event_index)
        .bind(payload)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    sqlx::query(
        "UPDATE webhooks SET queued_through = $1
         WHERE queued_through IS NULL OR queued_through < $1",
    )
    .bind(head)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(queued)
}

/// A delivery this process holds the lease of, with where and how to send it.
#[derive(sqlx::FromRow, Debug)]
struct Leased {
    id: i64,
    artist: Vec<u8>,
    url: String,
    /// The hook's key when leased: it changes whenever the hook is saved, so it also tells
    /// which saving of the hook this call was made for.
    secret: String,
    payload: String,
    /// The lease itself: a record is written only while the row still carries it.
    leased_until: chrono::DateTime<chrono::Utc>,
}

/// Leases up to `room` due deliveries of hooks still on: for each hook, its first due
/// ones up to its room left in flight (an index range per artist, not the whole backlog),
/// every artist's first before anyone's second. Rows another replica is leasing right now
/// are skipped, not waited for; every condition is checked again under the row lock, so a
/// row another replica has just called and recorded is not called again early.
async fn lease(db: &PgPool, s: &Settings, room: i64) -> Result<Vec<Leased>, sqlx::Error> {
    // MAX_ATTEMPTS is written into the statement, not bound: the partial index
    // `webhook_deliveries_due_by_artist` (attempts < 10) applies only to a constant.
    let sql = LEASE_SQL.replace("{MAX_ATTEMPTS}", &MAX_ATTEMPTS.to_string());
    sqlx::query_as(&sql)
        .bind(s.per_artist)
        .bind(room)
        .bind(i64::try_from(s.lease_length().as_millis()).unwrap_or(i64::MAX))
        .fetch_all(db)
        .await
}

/// The lease statement; `{MAX_ATTEMPTS}` is written in by `lease`.
const LEASE_SQL: &str = "WITH picked AS (
             SELECT d.id FROM webhooks w
             CROSS JOIN LATERAL (
                 SELECT greatest($1 - count(*), 0) AS room FROM webhook_deliveries b
                 WHERE b.artist = w.artist AND b.delivered_at IS NULL AND b.leased_until > now()
             ) busy
             CROSS JOIN LATERAL (
                 SELECT x.id, x.next_attempt,
                     row_number() OVER (ORDER BY x.next_attempt, x.id) AS rank
                 FROM webhook_deliveries x
                 WHERE x.artist = w.artist AND x.delivered_at IS NULL AND x.attempts < {MAX_ATTEMPTS}
                   AND x.next_attempt <= now()
                   AND (x.leased_until IS NULL OR x.leased_until <= now())
                 ORDER BY x.next_attempt, x.id
                 LIMIT busy.room
             ) due
             JOIN webhook_deliveries d ON d.id = due.id
             WHERE w.disabled_at IS NULL
             ORDER BY due.rank, due.next_attempt, d.id
             LIMIT $2
             FOR UPDATE OF d SKIP LOCKED
         )
         UPDATE webhook_deliveries d SET leased_until = now() + $3 * interval '1 millisecond'
         FROM picked, webhooks w
         WHERE d.id = picked.id AND w.artist = d.artist AND w.disabled_at IS NULL
           AND d.delivered_at IS NULL AND d.attempts < {MAX_ATTEMPTS} AND d.next_attempt <= now()
           AND (d.leased_until IS NULL OR d.leased_until <= now())
         RETURNING d.id, d.artist, w.url, w.secret, d.payload, d.leased_until";

/// How one call went.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Delivered(u16),
    /// An HTTP answer other than 2xx (redirects included: they are not followed).
    Answered(u16),
    Unreachable,
}

async fn call(http: &reqwest::Client, reach: Reach, l: &Leased) -> Outcome {
    let url = match Url::parse(&l.url) {
        Ok(u) => u,
        Err(_) => return Outcome::Unreachable,
    };
    // Names are judged as they resolve (guard::Resolver); IP literals never resolve.
    if let Err(e) = reach.allows_url(&url) {
        tracing::info!(delivery = l.id, reason = %e, "webhook call refused");
        return Outcome::Unreachable;
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let sent = http
        .post(url)
        .header("content-type", "application/json")
        .header(sign::DELIVERY, l.id.to_string())
        .header(sign::TIMESTAMP, now.to_string())
        .header(
            sign::SIGNATURE,
            sign::signature(&l.secret, now, l.id, l.payload.as_bytes()),
        )
        .body(l.payload.clone())
        .send()
        .await;
    match sent {
        Ok(resp) if resp.status().is_success() => Outcome::Delivered(resp.status().as_u16()),
        Ok(resp) => Outcome::Answered(resp.status().as_u16()),
        Err(e) => {
            // The detail stays in our log; the artist gets UNREACHABLE.
            tracing::info!(delivery = l.id, error = %e, "webhook call failed");
            Outcome::Unreachable
        }
    }
}

/// Records a call's outcome and releases its lease — only while this process still holds
/// it (a record that comes after the lease lapsed changes nothing: the row belongs to
/// whoever leased it since) — and keeps the hook's run of failures, turning it off at
/// `disable_after`. All or nothing; tried three times, as a lost record means a resend.
async fn record(
    db: &PgPool,
    s: &Settings,
    l: &Leased,
    outcome: &Outcome,
) -> Result<(), sqlx::Error> {
    let mut tries = 0;
    loop {
        match record_once(db, s, l, outcome).await {
            Err(e) if tries < 2 => {
                tries += 1;
                tracing::debug!(error = %e, delivery = l.id, "recording a webhook call, again");
                tokio::time::sleep(Duration::from_millis(200 * tries)).await;
            }
            done => return done,
        }
    }
}

async fn record_once(
    db: &PgPool,
    s: &Settings,
    l: &Leased,
    outcome: &Outcome,
) -> Result<(), sqlx::Error> {
    let (status, error) = match outcome {
        Outcome::Delivered(code) => (Some(i32::from(*code)), None),
        Outcome::Answered(code) if (300..400).contains(code) => (
            Some(i32::from(*code)),
            Some(format!("answered {code}; redirects are not followed")),
        ),
        Outcome::Answered(code) => (Some(i32::from(*code)), Some(format!("answered {code}"))),
        Outcome::Unreachable => (None, Some(UNREACHABLE.to_string())),
    };
    let mut tx = db.begin().await?;
    // A delivery out of attempts leaves the due range for good ('infinity').
    let held = sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $3, last_error = $4,
            delivered_at = coalesce(delivered_at, CASE WHEN $4::text IS NULL THEN now() END),
            leased_until = NULL,
            next_attempt = CASE WHEN attempts + 1 >= $5 THEN 'infinity'
                ELSE now() + least(power(2, attempts), 300) * interval '1 second' END
         WHERE id = $1 AND leased_until = $2",
    )
    .bind(l.id)
    .bind(l.leased_until)
    .bind(status)
    .bind(&error)
    .bind(MAX_ATTEMPTS)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if held == 0 {
        tracing::warn!(
            delivery = l.id,
            "a webhook call outlived its lease; its outcome is not recorded"
        );
        return tx.commit().await;
    }
    // Only the saving of the hook the call was made for: saving it again starts a new count.
    sqlx::query(
        "UPDATE webhooks SET
             failures_in_row = CASE WHEN $3::text IS NULL THEN 0 ELSE failures_in_row + 1 END,
             disabled_reason = CASE WHEN $3::text IS NOT NULL AND failures_in_row + 1 >= $4 AND disabled_at IS NULL
                 THEN format('turned off after %s failed calls in a row (the last: %s); save the webhook again to turn it back on', $4, $3)
                 ELSE disabled_reason END,
             disabled_at = CASE WHEN $3::text IS NOT NULL AND failures_in_row + 1 >= $4 AND disabled_at IS NULL
                 THEN now() ELSE disabled_at END
         WHERE artist = $1 AND secret = $2",
    )
    .bind(&l.artist)
    .bind(&l.secret)
    .bind(&error)
    .bind(s.disable_after)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use dreamster_test_support::TestDatabase;

    async fn one_queued() -> TestDatabase {
        let db = TestDatabase::create().await.expect("db");
        crate::migrator().run(db.pool()).await.expect("migrations");
        sqlx::query("INSERT INTO webhooks (artist, url, secret, from_block) VALUES ($1, 'https://hooks.example/x', 'k', 0)")
            .bind(vec![1u8; 32])
            .execute(db.pool())
            .await
            .expect("hook");
        sqlx::query(
            "INSERT INTO webhook_deliveries (artist, release, edition, perk, block_number, event_index, payload)
             VALUES ($1, $1, 1, 0, 1, 0, '{}')",
        )
        .bind(vec![1u8; 32])
        .execute(db.pool())
        .await
        .expect("delivery");
        db
    }

    async fn row(db: &TestDatabase) -> (i32, bool, bool) {
        sqlx::query_as(
            "SELECT attempts, delivered_at IS NOT NULL, leased_until IS NOT NULL FROM webhook_deliveries",
        )
        .fetch_one(db.pool())
        .await
        .expect("row")
    }

    /// A call that outlived its lease (another replica has leased the row since) records
    /// nothing: it neither undoes that replica's delivery nor frees its lease.
    #[tokio::test]
    async fn a_record_after_the_lease_lapsed_changes_nothing() {
        let db = one_queued().await;
        let s = Settings::default();
        let first = lease(db.pool(), &s, 10).await.expect("lease").remove(0);
        assert!(
            lease(db.pool(), &s, 10).await.expect("lease").is_empty(),
            "leased once"
        );
        // The lease lapses; another replica takes the row.
        sqlx::query("UPDATE webhook_deliveries SET leased_until = now() - interval '1 second'")
            .execute(db.pool())
            .await
            .expect("lapse");
        let second = lease(db.pool(), &s, 10).await.expect("lease").remove(0);
        record(db.pool(), &s, &first, &Outcome::Unreachable)
            .await
            .expect("late record");
        assert_eq!(
            row(&db).await,
            (0, false, true),
            "the late record changed the row"
        );
        record(db.pool(), &s, &second, &Outcome::Delivered(200))
            .await
            .expect("record");
        assert_eq!(row(&db).await, (1, true, false));
        record(db.pool(), &s, &first, &Outcome::Unreachable)
            .await
            .expect("late record");
        assert_eq!(
            row(&db).await,
            (1, true, false),
            "a delivery is never undone"
        );
        let failures: i32 = sqlx::query_scalar("SELECT failures_in_row FROM webhooks")
            .fetch_one(db.pool())
            .await
            .expect("hook");
        assert_eq!(failures, 0, "the late failure was not counted");
    }

    /// A failed attempt waits its backoff: it is not leased again at once, and after the
    /// last attempt it is never leased again.
    #[tokio::test]
    async fn a_failed_call_waits_and_the_last_one_ends_it() {
        let db = one_queued().await;
        let s = Settings::default();
        let l = lease(db.pool(), &s, 10).await.expect("lease").remove(0);
        record(db.pool(), &s, &l, &Outcome::Answered(500))
            .await
            .expect("record");
        assert!(
            lease(db.pool(), &s, 10).await.expect("lease").is_empty(),
            "backoff ignored"
        );
        sqlx::query("UPDATE webhook_deliveries SET attempts = $1 - 1, next_attempt = now()")
            .bind(MAX_ATTEMPTS)
            .execute(db.pool())
            .await
            .expect("near the end");
        let last = lease(db.pool(), &s, 10).await.expect("lease").remove(0);
        record(db.pool(), &s, &last, &Outcome::Answered(500))
            .await
            .expect("record");
        let next: String = sqlx::query_scalar("SELECT next_attempt::text FROM webhook_deliveries")
            .fetch_one(db.pool())
            .await
            .expect("row");
        assert_eq!(next, "infinity");
        assert!(lease(db.pool(), &s, 10).await.expect("lease").is_empty());
    }

    /// The due index is partial on the attempts limit: it must be this limit, and the
    /// lease statement must carry it as a constant for the planner to use the index.
    #[test]
    fn the_due_index_is_on_the_attempts_limit() {
        let migration = include_str!("../../migrations/1006_webhook_fairness.sql");
        assert!(migration.contains(&format!("attempts < {MAX_ATTEMPTS};")));
        let sql = LEASE_SQL.replace("{MAX_ATTEMPTS}", &MAX_ATTEMPTS.to_string());
        assert!(sql.contains(&format!("x.attempts < {MAX_ATTEMPTS}")));
    }

    #[test]
    fn a_lease_outlasts_any_call() {
        let s = Settings {
            lease: Duration::from_secs(1),
            request_timeout: Duration::from_secs(20),
            ..Settings::default()
        };
        assert!(s.lease_length() >= (s.connect_timeout + s.request_timeout) * 2);
    }
}
