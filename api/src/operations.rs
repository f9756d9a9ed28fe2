//! What running the API as a service needs beside its routes: readiness that asks the
//! database, a deadline on every request that answers from the database, and the security
//! headers every response carries.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::error::ApiError;
use crate::AppState;

/// The longest a request may take before it is answered 503. `/api/tx/submit` is exempt:
/// it follows a transaction into a block and streams its progress, and must not be cut
/// off once sent. A secret upload (up to 16 MiB) has `UPLOAD_TIMEOUT`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The deadline of a secret upload (a pool of up to 100 000 codes): time to receive 16 MiB
/// on a slow line and store the pool and its tree.
pub const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);

/// The longest one SQL statement of the API may run (set on each of its connections), so
/// an expensive query gives its connection back instead of holding it.
pub const STATEMENT_TIMEOUT: &str = "5s";

/// The pool the API's requests use: at most 16 connections, 5 s to get one, and on
/// each connection the statement timeout and no JIT. JIT compiles each plan whose
/// estimate passes `jit_above_cost`, at every execution: at 1 000 000 entitlements an
/// artist's analytics took 690 ms with it and 23 ms without (EXPLAIN ANALYZE), all of it
/// compilation. The load bench uses this very pool. (Generic plans stay allowed: planning
/// a fan's dashboard takes 1.1 ms and running it 0.2 ms; the few queries a generic plan
/// ruins are sent unprepared — see `memo`.)
pub async fn request_pool(
    base: sqlx::postgres::PgConnectOptions,
) -> Result<sqlx::PgPool, sqlx::Error> {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(base.options([("statement_timeout", STATEMENT_TIMEOUT), ("jit", "off")]))
        .await
}

/// `/ready`: 200 once the database answers with a read model the API can serve (the
/// indexer's migrations make it; before them, every kept answer would fail), 503 (with
/// why) otherwise. `/health` stays a liveness check of the process alone.
pub async fn ready(State(s): State<AppState>) -> Result<&'static str, ApiError> {
    let not_ready =
        |why: &'static str| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", why);
    match crate::memo::version(&s.db).await {
        Ok(_) => Ok("ready"),
        // 42P01, undefined_table: the indexer has not made the read model yet.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P01") => {
            tracing::warn!(error = %e, "not ready: no read model yet");
            Err(not_ready(
                "the read model is not there yet: the indexer makes it when it starts",
            ))
        }
        // 42501, insufficient_privilege: the database answered, but the API's role was not
        // granted the read model (scripts/db-roles.sql grants it).
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => {
            tracing::warn!(error = %e, "not ready: the API's role may not read the read model");
            Err(not_ready(
                "the API's database role may not read the read model",
            ))
        }
        Err(e) => {
            // The detail (host names, roles) is for our log, not for whoever asks.
            tracing::warn!(error = %e, "not ready: the database does not answer");
            Err(not_ready("the database does not answer"))
        }
    }
}

/// Answers 503 for a request that took longer than the state's `request_timeout`
/// (`REQUEST_TIMEOUT` in production; `UPLOAD_TIMEOUT` for a secret upload; none for
/// `/api/tx/submit`). The handler is dropped; a query it was running ends by the
/// connection's `statement_timeout`.
pub async fn deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/api/tx/submit" {
        return next.run(req).await;
    }
    let limit = if req.method() == axum::http::Method::POST && path.ends_with("/secret") {
        limit.max(UPLOAD_TIMEOUT)
    } else {
        limit
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than {} ms; try again",
                limit.as_millis()
            ),
        )
        .into_response(),
    }
}

/// Scripts only from this origin (no inline script anywhere: the pages load theirs from
/// `/assets/js`), WebAssembly for the dev wallet's crypto, inline styles (the pages' own
/// stylesheet; styles run no code), no framing, no plugins, no foreign form targets.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The headers every response gets (unless a route set its own).
pub fn security_headers() -> Vec<SetResponseHeaderLayer<HeaderValue>> {
    [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ]
    .into_iter()
    .map(|(name, value)| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    })
    .collect()
}
