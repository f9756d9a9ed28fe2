//! What the API tells its operator, in the Prometheus text format on a listener of its
//! own (`--metrics-listen`, like the indexer's): requests by route, method and status, their
//! latency, the database pool's use, and the webhook queue's depth and age. Requests are
//! recorded through the `metrics` facade, which costs nothing where no recorder is
//! installed (the library in tests); the queue and the pool are read at each scrape.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;

use crate::webhooks::MAX_ATTEMPTS;

/// Counts a request and times it, by the route it matched (its template, so the number of
/// series stays that of the routes, whatever the paths asked for).
pub async fn record(req: Request, next: Next) -> Response {
    let route = route_of(&req);
    let method = method_of(req.method());
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    counter!("dreamster_api_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    histogram!("dreamster_api_request_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    resp
}

/// The route's template; static files by their directory; anything else `unmatched`
/// (so a client cannot add series by asking for new paths).
fn route_of(req: &Request) -> String {
    if let Some(p) = req.extensions().get::<MatchedPath>() {
        return p.as_str().to_string();
    }
    let path = req.uri().path();
    // Nested file services carry no MatchedPath.
    for dir in ["/assets/js/", "/docs/assets/"] {
        if path.starts_with(dir) {
            return format!("{dir}*");
        }
    }
    "unmatched".to_string()
}

/// The standard methods by name, any other as `other` (hyper accepts any token).
fn method_of(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Sets the gauges read from the process and the database.
pub async fn refresh(db: &PgPool) -> Result<(), sqlx::Error> {
    let (open, idle) = (db.size(), db.num_idle());
    gauge!("dreamster_api_db_connections", "state" => "open").set(f64::from(open));
    gauge!("dreamster_api_db_connections", "state" => "idle").set(idle as f64);
    // Deliveries the dispatcher will still make, and how long the oldest has waited; those
    // of hooks turned off wait for their artist, and are counted apart. The attempts limit
    // is written in, as the lease does, so the partial index applies.
    let (depth, oldest, held): (i64, Option<f64>, i64) = sqlx::query_as(&format!(
        "SELECT count(*) FILTER (WHERE w.disabled_at IS NULL),
             extract(epoch FROM now() - min(d.queued_at) FILTER (WHERE w.disabled_at IS NULL))::float8,
             count(*) FILTER (WHERE w.disabled_at IS NOT NULL)
         FROM webhook_deliveries d JOIN webhooks w ON w.artist = d.artist
         WHERE d.delivered_at IS NULL AND d.attempts < {MAX_ATTEMPTS}"
    ))
    .fetch_one(db)
    .await?;
    gauge!("dreamster_api_webhook_queue_depth").set(depth as f64);
    gauge!("dreamster_api_webhook_queue_oldest_seconds").set(oldest.unwrap_or(0.0));
    gauge!("dreamster_api_webhook_held_by_disabled_hooks").set(held as f64);
    // Each artist's overdue commitments: a series per artist with any (an artist whose
    // last one is settled goes back to 0), and how many artists are flagged.
    let overdue = crate::audit::overdue_by_artist(db).await?;
    let mut shown = OVERDUE_SHOWN.lock().unwrap_or_else(|e| e.into_inner());
    let now: std::collections::BTreeSet<String> =
        overdue.iter().map(|(a, _)| a.to_string()).collect();
    for gone in shown.difference(&now) {
        gauge!("dreamster_api_artist_overdue_commitments", "artist" => gone.clone()).set(0.0);
    }
    for (artist, n) in &overdue {
        gauge!("dreamster_api_artist_overdue_commitments", "artist" => artist.to_string())
            .set(*n as f64);
    }
    let flagged = overdue
        .iter()
        .filter(|(_, n)| dreamster_types::release::flagged_for_overdue(n.unsigned_abs()))
        .count();
    gauge!("dreamster_api_artists_flagged_for_overdue").set(flagged as f64);
    *shown = now;
    Ok(())
}

/// The artists the overdue gauge was last set for.
static OVERDUE_SHOWN: std::sync::Mutex<std::collections::BTreeSet<String>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

#[derive(Clone)]
struct Scrape {
    prometheus: PrometheusHandle,
    db: PgPool,
}

/// Serves `/metrics` on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    prometheus: PrometheusHandle,
    db: PgPool,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(Scrape { prometheus, db });
    axum::serve(listener, app).await
}

async fn metrics_text(State(s): State<Scrape>) -> impl IntoResponse {
    // A database that does not answer still leaves the request figures readable; the
    // queue's figures are then last scrape's, which `…_scrape_ok 0` says.
    let ok = match refresh(&s.db).await {
        Ok(()) => 1.0,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: reading the webhook queue failed");
            0.0
        }
    };
    gauge!("dreamster_api_metrics_scrape_ok").set(ok);
    (
        [("content-type", "text/plain; version=0.0.4")],
        s.prometheus.render(),
    )
}
