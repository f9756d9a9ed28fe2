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
    /// How long a lease lasts: longer than a call can take, short enough that a crashed
    /// replica's deliveries are soon picked up by another.
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

/// A running dispatcher; `stop` lets its calls in flight finish.
pub struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops taking new deliveries and waits for the calls in flight (each bounded by
    /// the request timeout) to finish and be recorded.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts the dispatcher. Dropping the handle stops it too (without waiting).
pub fn spawn(db: PgPool, settings: Settings) -> Running {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(db, settings, stopped));
    Running { stop, task }
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
    secret: String,
    payload: String,
}

/// Leases up to `room` due deliveries of hooks still on, each artist's first ones first,
/// none beyond an artist's room in flight. Rows another replica is leasing right now are
/// skipped, not waited for; the lease is re-checked under the row lock.
async fn lease(db: &PgPool, s: &Settings, room: i64) -> Result<Vec<Leased>, sqlx::Error> {
    sqlx::query_as(
        "WITH busy AS (
             SELECT artist, count(*) AS n FROM webhook_deliveries
             WHERE delivered_at IS NULL AND leased_until > now() GROUP BY artist
         ), ranked AS (
             SELECT d.id, d.artist,
                 row_number() OVER (PARTITION BY d.artist ORDER BY d.next_attempt, d.id) AS rank
             FROM webhook_deliveries d JOIN webhooks w ON w.artist = d.artist
             WHERE d.delivered_at IS NULL AND d.attempts < $1 AND d.next_attempt <= now()
               AND (d.leased_until IS NULL OR d.leased_until <= now())
               AND w.disabled_at IS NULL
         ), picked AS (
             SELECT d.id FROM webhook_deliveries d
             JOIN ranked r ON r.id = d.id
             LEFT JOIN busy b ON b.artist = r.artist
             WHERE r.rank + coalesce(b.n, 0) <= $2
             ORDER BY r.rank, d.next_attempt, d.id
             LIMIT $3
             FOR UPDATE OF d SKIP LOCKED
         )
         UPDATE webhook_deliveries d SET leased_until = now() + $4 * interval '1 millisecond'
         FROM picked, webhooks w
         WHERE d.id = picked.id AND w.artist = d.artist AND d.delivered_at IS NULL
           AND (d.leased_until IS NULL OR d.leased_until <= now())
         RETURNING d.id, d.artist, w.url, w.secret, d.payload",
    )
    .bind(MAX_ATTEMPTS)
    .bind(s.per_artist)
    .bind(room)
    .bind(i64::try_from(s.lease.as_millis()).unwrap_or(i64::MAX))
    .fetch_all(db)
    .await
}

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

/// Records a call's outcome, releases its lease, and keeps the hook's run of failures
/// (turning it off at `disable_after`) — all or nothing.
async fn record(db: &PgPool, s: &Settings, l: &Leased, outcome: &Outcome) -> Result<(), sqlx::Error> {
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
    sqlx::query(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $2, last_error = $3,
            delivered_at = CASE WHEN $3::text IS NULL THEN now() END, leased_until = NULL,
            next_attempt = now() + least(power(2, attempts), 300) * interval '1 second'
         WHERE id = $1",
    )
    .bind(l.id)
    .bind(status)
    .bind(&error)
    .execute(&mut *tx)
    .await?;
    // Only the hook the call was made for: a URL saved since starts its own count.
    sqlx::query(
        "UPDATE webhooks SET
             failures_in_row = CASE WHEN $3::text IS NULL THEN 0 ELSE failures_in_row + 1 END,
             disabled_reason = CASE WHEN $3::text IS NOT NULL AND failures_in_row + 1 >= $4 AND disabled_at IS NULL
                 THEN format('turned off after %s failed calls in a row (the last: %s); save the webhook again to turn it back on', $4, $3)
                 ELSE disabled_reason END,
             disabled_at = CASE WHEN $3::text IS NOT NULL AND failures_in_row + 1 >= $4 AND disabled_at IS NULL
                 THEN now() ELSE disabled_at END
         WHERE artist = $1 AND url = $2",
    )
    .bind(&l.artist)
    .bind(&l.url)
    .bind(&error)
    .bind(s.disable_after)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
