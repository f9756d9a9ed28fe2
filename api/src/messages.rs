//! Private messages between a release's artist and a holder of one of its editions —
//! for shipping addresses, invitations, personal experiences. Only the two may read or
//! write their thread.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::address::Address;
use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};
use crate::read::{Page, Paging};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(threads))
        .routes(routes!(list, post))
}

#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub sender: Address,
    pub body: String,
    pub sent_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewMessage {
    /// 1 to 4000 characters.
    pub body: String,
}

/// The artist of a release the read model knows; 404 otherwise.
async fn artist_of(s: &AppState, release: Address) -> Result<Address, ApiError> {
    let artist: Option<Address> =
        sqlx::query_scalar("SELECT artist FROM releases WHERE address = $1")
            .bind(release)
            .fetch_optional(&s.db)
            .await?;
    artist.ok_or_else(|| ApiError::not_found("no such release"))
}

/// Checks the caller is a party of the thread (release, fan) and that it can exist.
async fn thread_access(
    s: &AppState,
    caller: Address,
    release: Address,
    fan: Address,
) -> Result<(), ApiError> {
    let artist = artist_of(s, release).await?;
    if caller != artist && caller != fan {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the artist and this holder may use this thread",
        ));
    }
    let holds: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM editions WHERE release = $1 AND owner = $2)",
    )
    .bind(release)
    .bind(fan)
    .fetch_one(&s.db)
    .await?;
    if !holds {
        return Err(ApiError::not_found(
            "no such thread: that account holds no edition of this release",
        ));
    }
    Ok(())
}

type ThreadPath = (Address, Address);

/// One holder's thread, as the artist's inbox lists it.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct ThreadSummary {
    pub fan: Address,
    pub messages: i64,
    /// When the last message was sent (UTC), if any.
    pub last_at: Option<String>,
}

/// The artist's inbox for a release: every holder, with their thread's size.
#[utoipa::path(get, path = "/api/releases/{address}/threads",
    params(("address" = String, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Vec<ThreadSummary>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn threads(
    State(s): State<AppState>,
    Caller(caller, _): Caller,
    ApiPath(release): ApiPath<Address>,
) -> Result<Json<Vec<ThreadSummary>>, ApiError> {
    let artist = artist_of(&s, release).await?;
    if caller != artist {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the release's artist has an inbox for it",
        ));
    }
    let rows: Vec<ThreadSummary> = sqlx::query_as(
        "SELECT h.owner AS fan, count(m.id) AS messages,
                to_char(max(m.sent_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS last_at
         FROM (SELECT DISTINCT owner FROM editions WHERE release = $1) h
         LEFT JOIN messages m ON m.release = $1 AND m.fan = h.owner
         GROUP BY h.owner ORDER BY max(m.sent_at) DESC NULLS LAST, h.owner LIMIT 500",
    )
    .bind(release)
    .fetch_all(&s.db)
    .await?;
    Ok(Json(rows))
}

/// A thread's messages, oldest first.
#[utoipa::path(get, path = "/api/releases/{address}/threads/{fan}/messages",
    params(("address" = String, Path), ("fan" = String, Path), Paging),
    security(("bearer" = [])),
    responses((status = 200, body = Page<Message>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list(
    State(s): State<AppState>,
    Caller(caller, _): Caller,
    ApiPath((release, fan)): ApiPath<ThreadPath>,
    ApiQuery(p): ApiQuery<Paging>,
) -> Result<Json<Page<Message>>, ApiError> {
    thread_access(&s, caller, release, fan).await?;
    let (limit, offset) = p.bounds()?;
    let items: Vec<Message> = sqlx::query_as(
        "SELECT id, sender, body, to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS sent_at
         FROM messages WHERE release = $1 AND fan = $2 ORDER BY id LIMIT $3 OFFSET $4",
    )
    .bind(release)
    .bind(fan)
    .bind(limit)
    .bind(offset)
    .fetch_all(&s.db)
    .await?;
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM messages WHERE release = $1 AND fan = $2")
            .bind(release)
            .bind(fan)
            .fetch_one(&s.db)
            .await?;
    Ok(Json(Page {
        items,
        total,
        limit,
        offset,
    }))
}

/// Writes to a thread as its artist or its holder.
#[utoipa::path(post, path = "/api/releases/{address}/threads/{fan}/messages",
    params(("address" = String, Path), ("fan" = String, Path)), request_body = NewMessage,
    security(("bearer" = [])),
    responses((status = 201, body = Message), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn post(
    State(s): State<AppState>,
    Caller(caller, _): Caller,
    ApiPath((release, fan)): ApiPath<ThreadPath>,
    ApiJson(m): ApiJson<NewMessage>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    thread_access(&s, caller, release, fan).await?;
    let body = m.body.trim();
    if body.is_empty() || body.chars().count() > 4000 {
        return Err(ApiError::bad_request(
            "bad_body",
            "a message is 1 to 4000 characters",
        ));
    }
    if body.contains('\0') {
        return Err(ApiError::bad_request(
            "bad_body",
            "a message cannot contain NUL characters",
        ));
    }
    let message: Message = sqlx::query_as(
        "INSERT INTO messages (release, fan, sender, body) VALUES ($1, $2, $3, $4)
         RETURNING id, sender, body, to_char(sent_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS sent_at",
    )
    .bind(release)
    .bind(fan)
    .bind(caller)
    .bind(body)
    .fetch_one(&s.db)
    .await?;
    Ok((StatusCode::CREATED, Json(message)))
}
