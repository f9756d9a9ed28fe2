//! Which refunds are open to anyone now, from the read model.
//!
//! The SQL narrows the read model down to entitlements whose refund could be open (so a
//! round never scans the million that are not); each row is then judged by the types
//! crate's rule, `Entitlement::refund_open_to_anyone`, the one the contract enforces. The
//! two must select the same rows: `tests/due_agreement.rs` runs both over every state and
//! clock position. The chain has the last word anyway: every refund is dry-run first.

use dreamster_types::entitlement::{Clock, Entitlement, EntitlementState};
use dreamster_types::release::{REFUND_GRACE, RULING_TIMEOUT};
use dreamster_types::{EditionId, PerkId};
use sqlx::PgPool;
use subxt::utils::AccountId32;

/// One entitlement whose refund anyone may trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Due {
    pub release: [u8; 32],
    pub edition: EditionId,
    pub perk: PerkId,
}

impl Due {
    pub fn release_address(&self) -> AccountId32 {
        AccountId32(self.release)
    }
}

/// Entitlements whose refund may be open at `$1` (now, ms): `$2` is `REFUND_GRACE`, `$3`
/// `RULING_TIMEOUT`; at most `$4` rows, the longest-waiting first. Times are compared as
/// differences from `$1`, so no value a hostile contract emitted can overflow them.
pub const DUE_SQL: &str = "
    SELECT e.release, e.edition, e.perk, e.state, e.deadline, e.delivered_at, e.disputed_at,
           p.cancelled_at IS NOT NULL AS cancelled, p.delivery = 'automatic' AS automatic,
           r.dispute_window
      FROM entitlements e
      JOIN perks p ON p.release = e.release AND p.perk = e.perk
      JOIN releases r ON r.address = e.release
     WHERE e.state = 'refund_owed'
        OR (e.state = 'pending' AND (p.cancelled_at IS NOT NULL
                                     OR (p.delivery = 'automatic' AND e.deadline < $1)
                                     OR e.deadline <= $1 - $2))
        OR (e.state = 'delivered' AND e.delivered_at > e.deadline AND e.delivered_at <= $1 - $2)
        OR (e.state = 'disputed' AND e.disputed_at < $1 - $3)
     ORDER BY e.deadline, e.release, e.edition, e.perk
     LIMIT $4";

#[derive(Debug, sqlx::FromRow)]
struct Row {
    release: Vec<u8>,
    edition: i32,
    perk: i32,
    state: String,
    deadline: i64,
    delivered_at: Option<i64>,
    disputed_at: Option<i64>,
    cancelled: bool,
    automatic: bool,
    dispute_window: i64,
}

impl Row {
    /// The row as the chain's entitlement and clock; `None` for a row no contract could
    /// have produced (the read model stores what hostile contracts emit too).
    fn judged(&self, now: u64) -> Option<(Due, bool)> {
        let time = |t: i64| u64::try_from(t).ok();
        let mut e = Entitlement::new(u32::try_from(self.perk).ok()?, 0, time(self.deadline)?);
        e.state = EntitlementState::from_slug(&self.state)?;
        e.delivered_at = self.delivered_at.and_then(time);
        e.disputed_at = self.disputed_at.and_then(time);
        let clock = Clock {
            now,
            dispute_window: time(self.dispute_window)?,
            cancelled: self.cancelled,
            automatic: self.automatic,
        };
        let due = Due {
            release: self.release.as_slice().try_into().ok()?,
            edition: u32::try_from(self.edition).ok()?,
            perk: e.perk,
        };
        Some((due, e.refund_open_to_anyone(clock)))
    }
}

/// The refunds anyone may trigger at `now` (chain time, ms), at most `limit`.
pub async fn due(db: &PgPool, now: u64, limit: u32) -> Result<Vec<Due>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(DUE_SQL)
        .bind(i64::try_from(now).unwrap_or(i64::MAX))
        .bind(i64::try_from(REFUND_GRACE).unwrap_or(i64::MAX))
        .bind(i64::try_from(RULING_TIMEOUT).unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(db)
        .await?;
    let mut due = Vec::with_capacity(rows.len());
    for row in rows {
        match row.judged(now) {
            Some((d, true)) => due.push(d),
            // The narrowing let through a row the rule refuses: harmless (nothing is
            // sent), but the two disagree, which the agreement test exists to catch.
            Some((d, false)) => tracing::warn!(
                release = %d.release_address(), edition = d.edition, perk = d.perk,
                "selected by the keeper's query but not open to anyone"
            ),
            None => tracing::warn!(
                edition = row.edition,
                perk = row.perk,
                "an unreadable entitlement row"
            ),
        }
    }
    Ok(due)
}
