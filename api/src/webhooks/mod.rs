//! Artists' webhooks: set one, and every unlock of your perks the indexer sees from then
//! on is POSTed to it as JSON, signed with the hook's key together with a timestamp and
//! the delivery's id (`sign`). A failed call is retried with exponential backoff (1 s
//! doubling, at most 5 min apart, 10 attempts); every attempt's outcome is listed for the
//! artist. Calls go to public addresses only (`guard`), concurrently and fairly, each
//! under a lease so replicas never send one twice (`dispatch`).

pub mod dispatch;
pub mod guard;
pub mod sign;

pub use dispatch::{spawn, Running, Settings, MAX_ATTEMPTS};
pub use guard::Reach;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
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
        .routes(routes!(set, status))
        .routes(routes!(deliveries))
}

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

/// The signed-in artist's hook as it stands (its key is shown only when it is set).
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct WebhookStatus {
    pub url: String,
    /// Unlocks after this block are notified.
    pub from_block: i64,
    /// Calls that failed since the last one that was delivered.
    pub failures_in_row: i32,
    /// Why the hook was turned off, if it was: no call is made until it is saved again.
    pub disabled: Option<String>,
    /// Deliveries not delivered yet that will still be tried.
    pub waiting: i64,
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
    // Said now for addresses written out; names are judged again at each call, as they
    // resolve then.
    let named_local = parsed.host_str().is_some_and(|h| {
        let h = h.trim_end_matches('.').to_ascii_lowercase();
        h == "localhost" || h.ends_with(".localhost")
    });
    if let Err(e) = s.webhook_reach.allows_url(&parsed) {
        return Err(ApiError::bad_request(
            "forbidden_address",
            format!("webhooks are called on public addresses only: {e}"),
        ));
    }
    if named_local && s.webhook_reach == Reach::PublicOnly {
        return Err(ApiError::bad_request(
            "forbidden_address",
            "webhooks are called on public addresses only: localhost is this machine",
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
             from_block = EXCLUDED.from_block, queued_through = NULL,
             failures_in_row = 0, disabled_at = NULL, disabled_reason = NULL",
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

/// The signed-in artist's hook: where it points, and whether it is on (and if not, why).
#[utoipa::path(get, path = "/api/me/webhook", security(("bearer" = [])),
    responses((status = 200, body = WebhookStatus), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn status(
    State(s): State<AppState>,
    Caller(caller, _): Caller,
) -> Result<Json<WebhookStatus>, ApiError> {
    let hook: Option<WebhookStatus> = sqlx::query_as(
        "SELECT w.url, w.from_block, w.failures_in_row, w.disabled_reason AS disabled,
             (SELECT count(*) FROM webhook_deliveries d
              WHERE d.artist = w.artist AND d.delivered_at IS NULL AND d.attempts < $2) AS waiting
         FROM webhooks w WHERE w.artist = $1",
    )
    .bind(caller)
    .bind(MAX_ATTEMPTS)
    .fetch_optional(&s.db)
    .await?;
    hook.map(Json)
        .ok_or_else(|| ApiError::not_found("no webhook is set for this account"))
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
