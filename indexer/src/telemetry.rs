//! What the indexer tells its operator: Prometheus metrics (`/metrics`) and a health
//! verdict (`/health`) from the same facts.
//!
//! The follower records through the `metrics` facade, which costs nothing when no
//! recorder is installed (the library in tests); the binary installs the Prometheus
//! recorder and serves both routes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::store::BatchStats;

/// When the indexer is unhealthy.
#[derive(Debug, Clone, Copy)]
pub struct HealthRules {
    /// Attempts (connecting, fetching, writing) failed in a row.
    pub max_failures: u64,
    /// Blocks behind the finalized head tolerated without progress…
    pub max_lag: u64,
    /// …for this long.
    pub stall: Duration,
}

impl Default for HealthRules {
    fn default() -> Self {
        HealthRules {
            max_failures: 3,
            max_lag: 10,
            stall: Duration::from_secs(60),
        }
    }
}

/// The facts health is judged on, shared by the follower and the health route.
#[derive(Debug)]
pub struct Health {
    rules: HealthRules,
    cursor: AtomicU64,
    head: AtomicU64,
    failures: AtomicU64,
    /// Since when the indexer is behind by more than the lag allowed without writing
    /// (reset by every batch, and whenever it is within the lag allowed).
    progress: Mutex<Instant>,
    /// When an attempt (a catch-up, a batch, a failure) last finished: a loop stuck on
    /// the node or the database finishes none.
    heartbeat: Mutex<Instant>,
    last_error: Mutex<Option<String>>,
}

/// The health route's answer.
#[derive(Debug, PartialEq, Eq)]
pub struct Verdict {
    pub healthy: bool,
    pub reason: String,
}

impl Health {
    pub fn new(rules: HealthRules) -> Self {
        Health {
            rules,
            cursor: AtomicU64::new(0),
            head: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            progress: Mutex::new(Instant::now()),
            heartbeat: Mutex::new(Instant::now()),
            last_error: Mutex::new(None),
        }
    }

    /// The finalized head as last seen, and the cursor with it.
    pub fn heights(&self, cursor: Option<u64>, head: u64) {
        self.head.store(head, Ordering::Relaxed);
        gauge!("dreamster_indexer_finalized_block").set(head as f64);
        if let Some(cursor) = cursor {
            self.cursor.store(cursor, Ordering::Relaxed);
            gauge!("dreamster_indexer_cursor_block").set(cursor as f64);
        }
        let lag = head.saturating_sub(self.cursor.load(Ordering::Relaxed));
        gauge!("dreamster_indexer_lag_blocks").set(lag as f64);
        if lag <= self.rules.max_lag {
            Self::now(&self.progress);
        }
    }

    fn now(at: &Mutex<Instant>) {
        if let Ok(mut at) = at.lock() {
            *at = Instant::now();
        }
    }

    fn since(at: &Mutex<Instant>) -> Duration {
        at.lock().map(|at| at.elapsed()).unwrap_or_default()
    }

    /// A batch committed, up to block `last`.
    pub fn batch(&self, last: u64, stats: &BatchStats, seconds: f64) {
        counter!("dreamster_indexer_batches_total").increment(1);
        counter!("dreamster_indexer_blocks_total").increment(stats.blocks);
        for (kind, n) in &stats.kinds {
            counter!("dreamster_indexer_events_total", "kind" => *kind).increment(*n);
        }
        counter!("dreamster_indexer_undecodable_events_total").increment(stats.undecodable);
        counter!("dreamster_indexer_rejected_events_total").increment(stats.rejected);
        counter!("dreamster_indexer_unreadable_events_total").increment(stats.unreadable);
        gauge!("dreamster_indexer_spec_version").set(f64::from(stats.spec_version));
        histogram!("dreamster_indexer_batch_write_seconds").record(seconds);
        self.heights(Some(last), self.head.load(Ordering::Relaxed));
        self.succeeded();
        Self::now(&self.progress);
    }

    /// An attempt went through (even one with nothing new): failures in a row end.
    pub fn succeeded(&self) {
        Self::now(&self.heartbeat);
        self.failures.store(0, Ordering::Relaxed);
        gauge!("dreamster_indexer_failures_in_a_row").set(0.0);
    }

    /// An attempt failed (the follower retries it).
    pub fn failed(&self, error: &crate::IndexerError) {
        Self::now(&self.heartbeat);
        let n = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        counter!("dreamster_indexer_attempts_failed_total").increment(1);
        gauge!("dreamster_indexer_failures_in_a_row").set(n as f64);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error.to_string());
        }
    }

    /// Healthy unless attempts keep failing, none finishes, or the indexer is behind and
    /// not moving.
    pub fn verdict(&self) -> Verdict {
        let failures = self.failures.load(Ordering::Relaxed);
        let cursor = self.cursor.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Relaxed);
        let lag = head.saturating_sub(cursor);
        let still = Self::since(&self.progress);
        if failures >= self.rules.max_failures {
            let error = self
                .last_error
                .lock()
                .ok()
                .and_then(|e| e.clone())
                .unwrap_or_default();
            return Verdict {
                healthy: false,
                reason: format!("{failures} attempts failed in a row; the last: {error}"),
            };
        }
        let silent = Self::since(&self.heartbeat);
        if silent > self.rules.stall {
            return Verdict {
                healthy: false,
                reason: format!(
                    "no attempt finished for {} s (waiting on the node or the database?)",
                    silent.as_secs()
                ),
            };
        }
        if lag > self.rules.max_lag && still > self.rules.stall {
            return Verdict {
                healthy: false,
                reason: format!(
                    "{lag} blocks behind the finalized head ({cursor} of {head}) and no block written for {} s",
                    still.as_secs()
                ),
            };
        }
        Verdict {
            healthy: true,
            reason: format!("block {cursor} of {head} ({lag} behind)"),
        }
    }
}

#[derive(Clone)]
struct Served {
    prometheus: PrometheusHandle,
    health: Arc<Health>,
}

/// Installs the Prometheus recorder for this process; call once, before recording.
pub use dreamster_client::service::install_metrics as install;

/// Serves `/metrics` and `/health` on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    prometheus: PrometheusHandle,
    health: Arc<Health>,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/health", get(health_text))
        .with_state(Served { prometheus, health });
    axum::serve(listener, app).await
}

async fn metrics_text(State(s): State<Served>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        s.prometheus.render(),
    )
}

async fn health_text(State(s): State<Served>) -> impl IntoResponse {
    let verdict = s.health.verdict();
    let status = if verdict.healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let word = if verdict.healthy {
        "healthy"
    } else {
        "unhealthy"
    };
    (status, format!("{word}: {}\n", verdict.reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sets `clock` back by `secs`: the tests judge the default rules without sleeping.
    fn ago(clock: &Mutex<Instant>, secs: u64) {
        let mut at = clock.lock().expect("clock");
        *at = Instant::now()
            .checked_sub(Duration::from_secs(secs))
            .expect("an instant that long ago");
    }

    #[test]
    fn behind_and_not_moving_is_unhealthy_until_a_batch_lands() {
        let health = Health::new(HealthRules::default());
        // Caught up but idle for long (nothing to write): being within the lag restarts
        // the timer, so falling behind now is not yet a stall.
        ago(&health.progress, 120);
        health.heights(Some(100), 105);
        health.heights(Some(100), 150);
        assert!(health.verdict().healthy, "just fell behind");
        ago(&health.progress, 61);
        let verdict = health.verdict();
        assert!(!verdict.healthy);
        assert!(
            verdict.reason.starts_with("50 blocks behind"),
            "{}",
            verdict.reason
        );
        // Progress, and caught up: healthy again.
        health.batch(150, &BatchStats::default(), 0.01);
        assert!(health.verdict().healthy);
    }

    #[test]
    fn no_attempt_finishing_is_unhealthy() {
        let health = Health::new(HealthRules::default());
        health.heights(Some(100), 100);
        ago(&health.heartbeat, 59);
        assert!(health.verdict().healthy);
        ago(&health.heartbeat, 61);
        let verdict = health.verdict();
        assert!(!verdict.healthy);
        assert!(
            verdict.reason.starts_with("no attempt finished"),
            "{}",
            verdict.reason
        );
        health.succeeded();
        assert!(health.verdict().healthy);
    }

    #[test]
    fn failures_in_a_row_are_unhealthy_and_one_success_ends_them() {
        let health = Health::new(HealthRules::default());
        for _ in 0..3 {
            health.failed(&crate::IndexerError::LockLost);
        }
        let verdict = health.verdict();
        assert!(!verdict.healthy);
        assert!(verdict.reason.contains("writer lock"), "{}", verdict.reason);
        health.succeeded();
        assert!(health.verdict().healthy);
    }
}
