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
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    counter!("dreamster_api_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    histogram!("dreamster_api_request_seconds", "route" => route).record(started.elapsed().as_secs_f64());
    resp
}

/// Sets the gauges read from the process and the database.
pub async fn refresh(db: &PgPool) -> Result<(), sqlx::Error> {
    let (open, idle) = (db.size(), db.num_idle());
    gauge!("dreamster_api_db_connections", "state" => "open").set(f64::from(open));
    gauge!("dreamster_api_db_connections", "state" => "idle").set(idle as f64);
    // Deliveries still to be made, and how long the oldest has waited.
    let (depth, oldest): (i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*), extract(epoch FROM now() - min(queued_at))::float8
         FROM webhook_deliveries WHERE delivered_at IS NULL AND attempts < $1",
    )
    .bind(MAX_ATTEMPTS)
    .fetch_one(db)
    .await?;
    gauge!("dreamster_api_webhook_queue_depth").set(depth as f64);
    gauge!("dreamster_api_webhook_queue_oldest_seconds").set(oldest.unwrap_or(0.0));
    Ok(())
}

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
    // A database that does not answer still leaves the request figures readable.
    if let Err(e) = refresh(&s.db).await {
        tracing::warn!(error = %e, "metrics: reading the webhook queue failed");
    }
    (
        [("content-type", "text/plain; version=0.0.4")],
        s.prometheus.render(),
    )
}
