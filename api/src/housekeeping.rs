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

/// Rows one delete takes: a statement stays well inside the API's statement timeout
/// however many rows have expired (a burst of challenges, a first purge of an old table).
const BATCH: i64 = 5_000;

/// Deletes expired sign-in nonces (used or not: past its expiry a nonce is refused
/// anyway) and expired sessions, in batches until none is left.
pub async fn purge(db: &PgPool) -> Result<Purged, sqlx::Error> {
    Ok(Purged {
        nonces: purge_table(db, "auth_nonces").await?,
        sessions: purge_table(db, "sessions").await?,
    })
}

async fn purge_table(db: &PgPool, table: &'static str) -> Result<u64, sqlx::Error> {
    let sql = format!(
        "DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE expires_at < now() LIMIT $1)"
    );
    let mut total = 0;
    loop {
        let n = sqlx::query(&sql)
            .bind(BATCH)
            .execute(db)
            .await?
            .rows_affected();
        total += n;
        if n < u64::try_from(BATCH).unwrap_or(u64::MAX) {
            return Ok(total);
        }
    }
}

/// Purges every `EVERY` until stopped.
pub fn spawn(db: PgPool, limits: Limits) -> Running {
    background::spawn(|mut stopped| async move {
        loop {
            match purge(&db).await {
                Ok(p) if p != Purged::default() => {
                    tracing::info!(
                        nonces = p.nonces,
                        sessions = p.sessions,
                        "purged expired rows"
                    )
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
