//! Which refunds are open to anyone now, from the read model.
//!
//! The SQL reads only entitlements that may be due — each branch of its `UNION` is an index
//! range (owed refunds and disputes, pending perks past their deadline, pending perks of
//! cancelled perks, late deliveries), never the whole table — and keeps those whose refund
//! is open now; each row is then judged again by the types crate's rule,
//! `Entitlement::refund_open_to_anyone`, the one the contract enforces.
//! `tests/due_agreement.rs` runs both over every state and clock position. The chain has
//! the last word anyway: every refund is dry-run first.
//!
//! Left out on purpose: editions the release's artist holds (the artist claims their own
//! refunds; a keeper that paid their fees could be made to pay for thousands of
//! self-bought editions), refunds smaller than `min_escrow` (dust a fee would outweigh),
//! and refunds the chain refused lately (`resting`), so they never crowd out the others.

use dreamster_types::entitlement::{Clock, Entitlement, EntitlementState};
use dreamster_types::release::{REFUND_GRACE, RULING_TIMEOUT};
use dreamster_types::{Balance, EditionId, PerkId};
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

/// Entitlements whose refund is open to anyone at `$1` (now, ms): `$2` is `REFUND_GRACE`,
/// `$3` `RULING_TIMEOUT`; at most `$4` rows, the longest-waiting first; escrow at least
/// `$5`; none of the keys in (`$6`, `$7`, `$8`). Times are compared as differences from
/// `$1`, so no value a hostile contract emitted can overflow them.
pub const DUE_SQL: &str = "
    WITH maybe AS (
        SELECT release, edition, perk FROM entitlements
         WHERE state IN ('refund_owed', 'disputed')
        UNION
        SELECT release, edition, perk FROM entitlements
         WHERE state = 'pending' AND deadline < $1
        UNION
        SELECT e.release, e.edition, e.perk FROM perks p
          JOIN entitlements e ON e.release = p.release AND e.perk = p.perk AND e.state = 'pending'
         WHERE p.cancelled_at IS NOT NULL
        UNION
        SELECT release, edition, perk FROM entitlements
         WHERE state = 'delivered' AND delivered_at > deadline AND delivered_at <= $1 - $2
    )
    SELECT e.release, e.edition, e.perk, e.state, e.deadline, e.delivered_at, e.disputed_at,
           p.cancelled_at IS NOT NULL AS cancelled, p.delivery = 'automatic' AS automatic,
           r.dispute_window
      FROM maybe m
      JOIN entitlements e ON e.release = m.release AND e.edition = m.edition AND e.perk = m.perk
      JOIN perks p ON p.release = e.release AND p.perk = e.perk
      JOIN releases r ON r.address = e.release
      JOIN editions ed ON ed.release = e.release AND ed.edition = e.edition
     WHERE (e.state = 'refund_owed'
        OR (e.state = 'pending' AND (p.cancelled_at IS NOT NULL
                                     OR (p.delivery = 'automatic' AND e.deadline < $1)
                                     OR e.deadline <= $1 - $2))
        OR (e.state = 'delivered' AND e.delivered_at > e.deadline AND e.delivered_at <= $1 - $2)
        OR (e.state = 'disputed' AND e.disputed_at < $1 - $3))
       AND ed.owner <> r.artist
       AND e.escrow >= $5::numeric
       AND (e.release, e.edition, e.perk) NOT IN
           (SELECT * FROM unnest($6::bytea[], $7::int[], $8::int[]))
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

/// What to look for.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// Chain time, ms.
    pub now: u64,
    pub limit: u32,
    /// The smallest escrow worth a refund's fee.
    pub min_escrow: Balance,
    /// Refunds to leave out this time.
    pub resting: &'a [Due],
}

/// The refunds anyone may trigger at `q.now`, at most `q.limit`.
pub async fn due(db: &PgPool, q: Query<'_>) -> Result<Vec<Due>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(DUE_SQL)
        .bind(i64::try_from(q.now).unwrap_or(i64::MAX))
        .bind(i64::try_from(REFUND_GRACE).unwrap_or(i64::MAX))
        .bind(i64::try_from(RULING_TIMEOUT).unwrap_or(i64::MAX))
        .bind(i64::from(q.limit))
        .bind(q.min_escrow.to_string())
        .bind(
            q.resting
                .iter()
                .map(|d| d.release.to_vec())
                .collect::<Vec<_>>(),
        )
        .bind(
            q.resting
                .iter()
                .map(|d| d.edition as i32)
                .collect::<Vec<_>>(),
        )
        .bind(q.resting.iter().map(|d| d.perk as i32).collect::<Vec<_>>())
        .fetch_all(db)
        .await?;
    let mut due = Vec::with_capacity(rows.len());
    for row in rows {
        match row.judged(q.now) {
            Some((d, true)) => due.push(d),
            // The query let through a row the rule refuses: harmless (nothing is sent),
            // but the two disagree, which the agreement test exists to catch.
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
