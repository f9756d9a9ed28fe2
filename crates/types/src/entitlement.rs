//! A holder's claim on one perk through one edition, and where it stands.

use crate::{Balance, Hash32, PerkId, Timestamp};

/// The stored state of an (edition, perk) entitlement.
///
/// `Pending → Delivered → Confirmed`; from an on-time `Delivered` the holder may go to
/// `Disputed` within the dispute window; an arbiter resolves to `Confirmed` or
/// `RefundOwed` before the ruling deadline. The holder alone may take the refund of a
/// `Pending` perk past its deadline or cancelled, of a late delivery, and of a dispute
/// nobody ruled on in time ([`Entitlement::refund_reason`]). Escrow leaves the entitlement
/// exactly once: to the artist on `Confirmed`, to the holder on `Refunded`.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntitlementState {
    Pending,
    Delivered,
    Disputed,
    Confirmed,
    RefundOwed,
    Refunded,
}

impl EntitlementState {
    pub fn slug(self) -> &'static str {
        match self {
            EntitlementState::Pending => "pending",
            EntitlementState::Delivered => "delivered",
            EntitlementState::Disputed => "disputed",
            EntitlementState::Confirmed => "confirmed",
            EntitlementState::RefundOwed => "refund_owed",
            EntitlementState::Refunded => "refunded",
        }
    }

    /// Every state, in order.
    pub const ALL: [EntitlementState; 6] = [
        EntitlementState::Pending,
        EntitlementState::Delivered,
        EntitlementState::Disputed,
        EntitlementState::Confirmed,
        EntitlementState::RefundOwed,
        EntitlementState::Refunded,
    ];

    /// The state a slug names (the read model stores slugs).
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.slug() == slug)
    }

    /// Whether the escrowed amount still sits in escrow (neither released nor refunded).
    pub fn holds_escrow(self) -> bool {
        matches!(
            self,
            EntitlementState::Pending | EntitlementState::Delivered | EntitlementState::Disputed
        )
    }
}

/// What a fan sees: the stored state read against the clock.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PerkStatus {
    /// Not delivered yet, deadline ahead.
    Pending,
    /// Not delivered and the deadline has passed: the holder may claim the refund.
    Overdue,
    /// Delivered; the holder may confirm or dispute until the window closes.
    Delivered,
    /// Disputed; an arbiter rules before the ruling deadline, or the escrow is the holder's.
    Disputed,
    /// Confirmed by the holder, by an arbiter, or by the window closing.
    Confirmed,
    /// The escrow is the holder's to claim: an arbiter ruled for the fan, or none ruled in
    /// time.
    Refundable,
    Refunded,
    /// Marked delivered after the deadline: it stands only if the holder confirms it;
    /// until then the holder may take the refund instead.
    DeliveredLate,
    /// The artist cancelled the perk before delivering it: the holder may claim the refund.
    Cancelled,
}

impl PerkStatus {
    pub fn slug(self) -> &'static str {
        match self {
            PerkStatus::Pending => "pending",
            PerkStatus::Overdue => "overdue",
            PerkStatus::Delivered => "delivered",
            PerkStatus::Disputed => "disputed",
            PerkStatus::Confirmed => "confirmed",
            PerkStatus::Refundable => "refundable",
            PerkStatus::Refunded => "refunded",
            PerkStatus::DeliveredLate => "delivered_late",
            PerkStatus::Cancelled => "cancelled",
        }
    }
}

/// Why an entitlement's escrow may go back to its holder.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefundReason {
    /// An arbiter ruled for the fan.
    Ruled,
    /// Not delivered by the deadline.
    Overdue,
    /// Delivered after the deadline, and the holder preferred the refund.
    DeliveredLate,
    /// The artist cancelled the perk.
    Cancelled,
    /// Disputed, and no arbiter ruled within [`crate::release::RULING_TIMEOUT`].
    RulingExpired,
    /// An automatic perk the holder never unlocked by its deadline (the content was
    /// there: not the artist's failure).
    Unclaimed,
}

impl RefundReason {
    pub fn slug(self) -> &'static str {
        match self {
            RefundReason::Ruled => "ruled",
            RefundReason::Overdue => "overdue",
            RefundReason::DeliveredLate => "delivered_late",
            RefundReason::Cancelled => "cancelled",
            RefundReason::RulingExpired => "ruling_expired",
            RefundReason::Unclaimed => "unclaimed",
        }
    }
}

/// What a release knows about a perk that an entitlement's status depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub now: Timestamp,
    /// The release's dispute window.
    pub dispute_window: Timestamp,
    /// Whether the artist cancelled the perk.
    pub cancelled: bool,
    /// Whether the perk is delivered by the holder's unlock (an overdue one is unclaimed,
    /// not undelivered).
    pub automatic: bool,
}

impl Clock {
    /// The clock an entitlement to `perk` of a release sold on `sale` is read against.
    pub fn of(now: Timestamp, sale: &crate::release::SaleTerms, perk: &crate::perk::Perk) -> Self {
        Clock {
            now,
            dispute_window: sale.dispute_window,
            cancelled: perk.cancelled_at.is_some(),
            automatic: perk.terms.delivery.is_automatic(),
        }
    }

    /// The same, from what the release keeps of the perk for its sales.
    pub fn of_sale(
        now: Timestamp,
        sale: &crate::release::SaleTerms,
        perk: &crate::perk::PerkSale,
    ) -> Self {
        Clock {
            now,
            dispute_window: sale.dispute_window,
            cancelled: perk.cancelled_at.is_some(),
            automatic: perk.delivery.is_automatic(),
        }
    }
}

/// One (edition, perk) entitlement as the release stores it.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entitlement {
    pub perk: PerkId,
    /// The part of the edition's price held for this perk.
    pub escrow: Balance,
    pub state: EntitlementState,
    pub deadline: Timestamp,
    pub delivered_at: Option<Timestamp>,
    /// The artist's delivery proof, or for automatic perks the committed content hash.
    pub proof: Option<Hash32>,
    pub evidence: Option<Hash32>,
    pub rating: Option<u8>,
    /// When the holder disputed the delivery (the arbiters' time runs from here).
    pub disputed_at: Option<Timestamp>,
}

impl Entitlement {
    pub fn new(perk: PerkId, escrow: Balance, deadline: Timestamp) -> Self {
        Entitlement {
            perk,
            escrow,
            state: EntitlementState::Pending,
            deadline,
            delivered_at: None,
            proof: None,
            evidence: None,
            rating: None,
            disputed_at: None,
        }
    }

    /// Whether it was delivered after its deadline (such a delivery needs the holder's yes).
    pub fn delivered_late(&self) -> bool {
        self.delivered_at.is_some_and(|at| at > self.deadline)
    }

    /// When the holder's chance to dispute an on-time delivery ends: the window counted
    /// from the later of the delivery and the deadline, so a perk due on day 60 but
    /// "delivered" on day 1 can still be disputed after day 60. `None` before a delivery,
    /// and for a late one (it never settles by itself).
    pub fn dispute_window_end(&self, dispute_window: Timestamp) -> Option<Timestamp> {
        let at = self.delivered_at?;
        if at > self.deadline {
            return None;
        }
        Some(self.deadline.saturating_add(dispute_window))
    }

    /// When the arbiters' time to rule on a dispute ends.
    pub fn ruling_deadline(&self) -> Option<Timestamp> {
        self.disputed_at
            .map(|at| at.saturating_add(crate::release::RULING_TIMEOUT))
    }

    /// Why the holder may take the escrow back now, if they may.
    pub fn refund_reason(&self, clock: Clock) -> Option<RefundReason> {
        match self.state {
            EntitlementState::Pending if clock.cancelled => Some(RefundReason::Cancelled),
            EntitlementState::Pending if clock.now > self.deadline && clock.automatic => {
                Some(RefundReason::Unclaimed)
            }
            EntitlementState::Pending if clock.now > self.deadline => Some(RefundReason::Overdue),
            EntitlementState::Delivered if self.delivered_late() => {
                Some(RefundReason::DeliveredLate)
            }
            EntitlementState::Disputed
                if self.ruling_deadline().is_some_and(|end| clock.now > end) =>
            {
                Some(RefundReason::RulingExpired)
            }
            EntitlementState::RefundOwed => Some(RefundReason::Ruled),
            _ => None,
        }
    }

    /// From when anyone, not only the holder, may trigger the refund (paid to the holder
    /// all the same); `None` while no refund is due. At once when the holder has no choice
    /// left — an arbiter's ruling, a cancellation, an expired ruling, an automatic perk
    /// that can no longer be unlocked; [`crate::release::REFUND_GRACE`] after the deadline
    /// of an undelivered perk, or after a late delivery, so the fan may still take a late
    /// delivery instead. Open from the returned time on (inclusive).
    pub fn refund_open_to_anyone_from(&self, clock: Clock) -> Option<Timestamp> {
        use crate::release::REFUND_GRACE;
        Some(match self.refund_reason(clock)? {
            RefundReason::Ruled
            | RefundReason::Cancelled
            | RefundReason::RulingExpired
            | RefundReason::Unclaimed => 0,
            RefundReason::Overdue => self.deadline.saturating_add(REFUND_GRACE),
            RefundReason::DeliveredLate => self
                .delivered_at
                .unwrap_or(self.deadline)
                .saturating_add(REFUND_GRACE),
        })
    }

    /// Whether anyone may trigger the refund now ([`Self::refund_open_to_anyone_from`]).
    pub fn refund_open_to_anyone(&self, clock: Clock) -> bool {
        self.refund_open_to_anyone_from(clock)
            .is_some_and(|from| clock.now >= from)
    }

    /// The state read against the clock: a delivery nobody disputed in time counts as
    /// confirmed, a pending perk past its deadline is overdue, a dispute nobody ruled on
    /// in time is refundable.
    pub fn status(&self, clock: Clock) -> PerkStatus {
        match self.state {
            EntitlementState::Pending if clock.cancelled => PerkStatus::Cancelled,
            EntitlementState::Pending if clock.now > self.deadline => PerkStatus::Overdue,
            EntitlementState::Pending => PerkStatus::Pending,
            EntitlementState::Delivered if self.delivered_late() => PerkStatus::DeliveredLate,
            EntitlementState::Delivered => match self.dispute_window_end(clock.dispute_window) {
                Some(end) if clock.now > end => PerkStatus::Confirmed,
                _ => PerkStatus::Delivered,
            },
            EntitlementState::Disputed => match self.ruling_deadline() {
                Some(end) if clock.now > end => PerkStatus::Refundable,
                _ => PerkStatus::Disputed,
            },
            EntitlementState::Confirmed => PerkStatus::Confirmed,
            EntitlementState::RefundOwed => PerkStatus::Refundable,
            EntitlementState::Refunded => PerkStatus::Refunded,
        }
    }
}
