//! Rows that expire are deleted, so what a client can add by asking (a sign-in challenge
//! is a row; a session is a row) does not stay forever, and the rate limiter forgets
//! clients it has not seen for a while.

use std::time::Duration;

use sqlx::PgPool;

use crate::background::{self, Running};
use crate::limits::Limits;

/// How often expired rows are deleted.
pub const EVERY: Duration = Duration::from_secs(60);

/// What one purge deleted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub nonces: u64,
    pub sessions: u64,
}

/// Deletes expired sign-in nonces (used or not: past its expiry a nonce is refused
/// anyway) and expired sessions.
pub async fn purge(db: &PgPool) -> Result<Purged, sqlx::Error> {
    let nonces = sqlx::query("DELETE FROM auth_nonces WHERE expires_at < now()")
        .execute(db)
        .await?
        .rows_affected();
    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at < now()")
        .execute(db)
        .await?
        .rows_affected();
    Ok(Purged { nonces, sessions })
}

/// Purges every `EVERY` until stopped.
pub fn spawn(db: PgPool, limits: Limits) -> Running {
    background::spawn(|mut stopped| async move {
        loop {
            match purge(&db).await {
                Ok(p) if p != Purged::default() => {
                    tracing::info!(nonces = p.nonces, sessions = p.sessions, "purged expired rows")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging expired rows failed"),
            }
            limits.forget_idle();
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = stopped.changed() => break,
            }
        }
    })
}
