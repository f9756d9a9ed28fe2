//! Artists' webhooks: set one, and every unlock of your perks the indexer sees from then
//! on is POSTed to it as JSON with `X-Dreamster-Signature: sha256=<HMAC-SHA256 of the body
//! under your secret>`. A failed call is retried with exponential backoff (1 s doubling,
//! at most 5 min apart, 10 attempts); every attempt's outcome is listed for the artist.

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::address::Address;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::read::{Page, Paging};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set))
        .routes(routes!(deliveries))
}

const MAX_ATTEMPTS: i32 = 10;

#[derive(Debug, Deserialize, ToSchema)]
pub struct WebhookRequest {
    /// An http(s) URL that accepts POSTed JSON.
    pub url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Webhook {
    pub url: String,
    /// The HMAC key: verify `X-Dreamster-Signature` with it. Shown when the hook is set.
    pub secret: String,
    /// Unlocks after this block are notified.
    pub from_block: i64,
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub release: Address,
    pub edition: i32,
    pub perk: i32,
    pub block: i64,
    pub attempts: i32,
    pub delivered: bool,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub next_attempt: Option<String>,
}

/// Sets (or replaces) the signed-in artist's webhook and returns its new secret.
#[utoipa::path(put, path = "/api/me/webhook", request_body = WebhookRequest, security(("bearer" = [])),
    responses((status = 200, body = Webhook), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set(
    State(s): State<AppState>,
    Caller(caller, _): Caller,
    ApiJson(req): ApiJson<WebhookRequest>,
) -> Result<Json<Webhook>, ApiError> {
    let url = req.url.trim();
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ApiError::bad_request("bad_url", format!("not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https")
        || url.len() > 2000
        || parsed.host_str().is_none()
    {
        return Err(ApiError::bad_request(
            "bad_url",
            "the webhook must be an http(s) URL of at most 2000 characters",
        ));
    }
    let secret = crate::auth::random_hex(32);
    let from_block: i64 =
        sqlx::query_scalar("SELECT coalesce(max(block_number), 0) FROM raw_events")
            .fetch_one(&s.db)
            .await?;
    sqlx::query(
        "INSERT INTO webhooks (artist, url, secret, from_block) VALUES ($1, $2, $3, $4)
         ON CONFLICT (artist) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret,
             from_block = EXCLUDED.from_block, queued_through = NULL",
    )
    .bind(caller)
    .bind(url)
    .bind(&secret)
    .bind(from_block)
    .execute(&s.db)
    .await?;
    Ok(Json(Webhook {
        url: url.to_string(),
        secret,
        from_block,
    }))
}

/// The signed-in artist's webhook calls, newest first, with each one's outcome.
#[utoipa::path(get, path = "/api/me/webhook/deliveries", params(Paging), security(("bearer" = [])),
    responses((status = 200, body = Page<Delivery>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn deliveries(
    State(s): State<AppState>,
    Caller(caller, _): Caller,
    ApiQuery(p): ApiQuery<Paging>,
) -> Result<Json<Page<Delivery>>, ApiError> {
    let (limit, offset) = p.bounds()?;
    let items: Vec<Delivery> = sqlx::query_as(
        "SELECT id, release, edition, perk, block_number AS block, attempts,
            delivered_at IS NOT NULL AS delivered, last_status, last_error,
            CASE WHEN delivered_at IS NULL AND attempts < $4
                 THEN to_char(next_attempt AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') END AS next_attempt
         FROM webhook_deliveries WHERE artist = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
    )
    .bind(caller)
    .bind(limit)
    .bind(offset)
    .bind(MAX_ATTEMPTS)
    .fetch_all(&s.db)
    .await?;
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM webhook_deliveries WHERE artist = $1")
            .bind(caller)
            .fetch_one(&s.db)
            .await?;
    Ok(Json(Page {
        items,
        total,
        limit,
        offset,
    }))
}

/// `sha256=<hex>` of the body under the hook's secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
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

/// Makes the calls that are due; records each outcome.
async fn send_due(db: &PgPool, http: &reqwest::Client) -> Result<(), sqlx::Error> {
    let due: Vec<(i64, String, String, String)> = sqlx::query_as(
        "SELECT d.id, w.url, w.secret, d.payload FROM webhook_deliveries d JOIN webhooks w ON w.artist = d.artist
         WHERE d.delivered_at IS NULL AND d.attempts < $1 AND d.next_attempt <= now() ORDER BY d.id LIMIT 50",
    )
    .bind(MAX_ATTEMPTS)
    .fetch_all(db)
    .await?;
    for (id, url, secret, payload) in due {
        let outcome = http
            .post(&url)
            .header("content-type", "application/json")
            .header(
                "x-dreamster-signature",
                signature(&secret, payload.as_bytes()),
            )
            .header("x-dreamster-delivery", id.to_string())
            .body(payload)
            .send()
            .await;
        let (status, error) = match outcome {
            Ok(resp) if resp.status().is_success() => {
                (Some(i32::from(resp.status().as_u16())), None)
            }
            Ok(resp) => (
                Some(i32::from(resp.status().as_u16())),
                Some(format!("answered {}", resp.status())),
            ),
            Err(e) => (None, Some(e.to_string())),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $2, last_error = $3,
                delivered_at = CASE WHEN $3::text IS NULL THEN now() END,
                next_attempt = now() + least(power(2, attempts), 300) * interval '1 second'
             WHERE id = $1",
        )
        .bind(id)
        .bind(status)
        .bind(error)
        .execute(db)
        .await?;
    }
    Ok(())
}

/// Runs the dispatcher until the process ends: queue, send, sleep.
pub fn spawn(db: PgPool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let http = match reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the webhook client; webhooks are off");
                return;
            }
        };
        loop {
            // The read-model tables appear once the indexer has migrated; until then, wait.
            if let Err(e) = enqueue(&db).await {
                tracing::debug!(error = %e, "webhook queue not ready");
            } else if let Err(e) = send_due(&db, &http).await {
                tracing::warn!(error = %e, "webhook dispatch failed");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
}
