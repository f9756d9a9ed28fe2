//! The audit on a schedule: every so often the read model is compared with the chain at the
//! block it has reached (`dreamster_audit::audit_read_model`), without anyone typing
//! `dreamster audit`. Its figures are metrics, so an alert can watch them; each difference
//! and finding is logged.

use std::time::{Duration, Instant};

use dreamster_audit::{audit_read_model, AuditError, Pass};
use metrics::{counter, gauge};
use sqlx::PgPool;
use subxt::utils::AccountId32;

/// How often, and for how long at most, the audit runs.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub every: Duration,
    /// A pass that takes longer (a node that stops answering) is given up, and counted failed.
    pub timeout: Duration,
}

/// One pass: audits, records the outcome as metrics and in the log.
pub async fn once(
    rpc_url: &str,
    db: &PgPool,
    registry: &AccountId32,
    timeout: Duration,
) -> Result<Pass, AuditError> {
    let started = Instant::now();
    let outcome = tokio::time::timeout(timeout, async {
        let node = dreamster_client::Node::connect(rpc_url).await?;
        audit_read_model(&node, db, registry).await
    })
    .await
    .unwrap_or(Err(AuditError::Chain(
        "the pass took longer than its timeout",
    )));
    gauge!("dreamster_indexer_audit_seconds").set(started.elapsed().as_secs_f64());
    match &outcome {
        Ok(pass) => record(pass),
        Err(e) => {
            counter!("dreamster_indexer_audit_passes_total", "outcome" => "failed").increment(1);
            tracing::warn!(error = %e, "the audit could not run");
        }
    }
    outcome
}

/// What a finished pass comes to: `empty` (nothing indexed yet), `differs` (a difference or
/// a finding), `incomplete` (some release could not be read), or `agrees`.
pub fn outcome(pass: &Pass) -> &'static str {
    if pass.block.is_none() {
        "empty"
    } else if !pass.comparison.differences.is_empty() || !pass.findings.is_empty() {
        "differs"
    } else if !pass.unaudited.is_empty() {
        "incomplete"
    } else {
        "agrees"
    }
}

/// The figures of a finished pass: the gauges first, then the count of passes, so a scrape
/// that sees a pass counted sees its figures.
fn record(pass: &Pass) {
    let differences = pass.comparison.differences.len();
    gauge!("dreamster_indexer_audit_differences").set(differences as f64);
    gauge!("dreamster_indexer_audit_findings").set(pass.findings.len() as f64);
    gauge!("dreamster_indexer_audit_unaudited").set(pass.unaudited.len() as f64);
    gauge!("dreamster_indexer_audit_fields_compared").set(pass.comparison.compared as f64);
    gauge!("dreamster_indexer_audit_releases").set(pass.releases as f64);
    if let Some(block) = pass.block {
        gauge!("dreamster_indexer_audit_block").set(block as f64);
    }
    counter!("dreamster_indexer_audit_passes_total", "outcome" => outcome(pass)).increment(1);
    for d in &pass.comparison.differences {
        tracing::warn!(difference = %d, "the read model differs from the chain");
    }
    for f in &pass.findings {
        tracing::warn!(finding = %f, "the chain's books do not add up");
    }
    for u in &pass.unaudited {
        tracing::warn!(unaudited = %u, "could not be audited");
    }
    tracing::info!(
        block = pass.block,
        releases = pass.releases,
        compared = pass.comparison.compared,
        differences,
        findings = pass.findings.len(),
        unaudited = pass.unaudited.len(),
        "audit pass"
    );
}

/// Audits every `schedule.every` until `stop` resolves.
pub async fn run(
    rpc_url: String,
    db: PgPool,
    registry: AccountId32,
    schedule: Schedule,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut tick = tokio::time::interval(schedule.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tick.tick() => {
                // The outcome is in the metrics and the log already.
                let _ = once(&rpc_url, &db, &registry, schedule.timeout).await;
            }
        }
    }
}
