//! An open-loop load generator: a request is due every `1/rps` seconds whatever earlier
//! ones do, and its latency runs from when it was due, so a slow server cannot slow the
//! generator down and hide its own queueing (no coordinated omission).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// Errors kept verbatim for the report; the rest are only counted.
const KEPT_ERRORS: usize = 5;

#[derive(Debug, Clone)]
pub struct Figures {
    pub requests: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Successful requests per second of wall time.
    pub throughput: f64,
    pub errors: usize,
    pub first_errors: Vec<String>,
}

impl std::fmt::Display for Figures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms  {:>7.1} req/s  errors {}",
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3,
            self.max.as_secs_f64() * 1e3,
            self.throughput,
            self.errors
        )
    }
}

/// What a run measured, before its figures: runs of the same load can be merged.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    /// Latencies of the requests that succeeded.
    latencies: Vec<Duration>,
    requests: usize,
    errors: usize,
    first_errors: Vec<String>,
    elapsed: Duration,
}

impl Samples {
    /// Adds another run's samples, as if one run.
    pub fn merge(&mut self, other: Samples) {
        self.latencies.extend(other.latencies);
        self.requests += other.requests;
        self.errors += other.errors;
        let room = KEPT_ERRORS.saturating_sub(self.first_errors.len());
        self.first_errors
            .extend(other.first_errors.into_iter().take(room));
        self.elapsed += other.elapsed;
    }

    pub fn figures(&self) -> Figures {
        let mut lat = self.latencies.clone();
        lat.sort();
        let pick = |q: f64| {
            lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1)))
                .copied()
                .unwrap_or_default()
        };
        Figures {
            requests: self.requests,
            p50: pick(0.50),
            p99: pick(0.99),
            max: lat.last().copied().unwrap_or_default(),
            throughput: lat.len() as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
            errors: self.errors,
            first_errors: self.first_errors.clone(),
        }
    }
}

/// Fires `job(i)` for i = 0, 1, … at `rps` for `duration`; a job says what went wrong.
pub async fn open_loop<F, Fut>(rps: u64, duration: Duration, job: F) -> Figures
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    open_loop_from(rps, duration, 0, job).await.figures()
}

/// [`open_loop`] from request `first` on (`job(first)`, `job(first + 1)`, …): one slice
/// of a longer run, its samples to merge with the others'.
pub async fn open_loop_from<F, Fut>(rps: u64, duration: Duration, first: u64, job: F) -> Samples
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let job = Arc::new(job);
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicUsize::new(0));
    let first_errors = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let total = (rps as u128 * duration.as_millis() / 1_000) as u64;
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let due = start + Duration::from_nanos(n * 1_000_000_000 / rps);
        tokio::time::sleep_until(due.into()).await;
        let i = first + n;
        let (job, latencies, errors, first_errors) = (
            job.clone(),
            latencies.clone(),
            errors.clone(),
            first_errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            match job(i).await {
                Ok(()) => latencies.lock().await.push(due.elapsed()),
                Err(e) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                    let mut kept = first_errors.lock().await;
                    if kept.len() < KEPT_ERRORS {
                        kept.push(format!("request {i}: {e}"));
                    }
                }
            }
        }));
    }
    for task in tasks {
        if task.await.is_err() {
            errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    let elapsed = start.elapsed();
    let latencies = latencies.lock().await.clone();
    let first_errors = first_errors.lock().await.clone();
    Samples {
        latencies,
        requests: total as usize,
        errors: errors.load(Ordering::Relaxed),
        first_errors,
        elapsed,
    }
}
