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

/// The longest a request may take before it is answered 503. Transaction routes
/// (`/api/tx/…`) are exempt: they follow a transaction into a block and stream its
/// progress, under deadlines of their own.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest one SQL statement of the API may run (set on each of its connections), so
/// an expensive query gives its connection back instead of holding it.
pub const STATEMENT_TIMEOUT: &str = "5s";

/// `/ready`: 200 once the database answers, 503 (with why) when it does not. `/health`
/// stays a liveness check of the process alone.
pub async fn ready(State(s): State<AppState>) -> Result<&'static str, ApiError> {
    sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&s.db)
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                format!("the database does not answer: {e}"),
            )
        })?;
    Ok("ready")
}

/// Answers 503 for a request (other than a transaction's) that took longer than the
/// state's `request_timeout` (`REQUEST_TIMEOUT` in production); dropping the handler
/// cancels its query.
pub async fn deadline(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/api/tx/") {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {} ms; try again", limit.as_millis()),
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
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ]
    .into_iter()
    .map(|(name, value)| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    })
    .collect()
}
