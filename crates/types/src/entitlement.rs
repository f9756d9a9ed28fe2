//! A holder's claim on one perk through one edition, and where it stands.

use crate::{Balance, Hash32, PerkId, Timestamp};

/// The stored state of an (edition, perk) entitlement.
///
/// `Pending → Delivered → Confirmed`; from `Delivered` the holder may `Disputed` within
/// the dispute window; an arbiter resolves to `Confirmed` or `RefundOwed`; `Pending` past
/// the deadline may be refunded by the holder alone. Escrow leaves the entitlement exactly
/// once: to the artist on `Confirmed`, to the holder on `Refunded`.
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
    Disputed,
    /// Confirmed by the holder, by an arbiter, or by the window closing.
    Confirmed,
    /// An arbiter ruled for the fan; the refund awaits the holder's claim.
    Refundable,
    Refunded,
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
        }
    }

    /// When the holder's chance to dispute a delivery ends.
    pub fn dispute_window_end(&self, dispute_window: Timestamp) -> Option<Timestamp> {
        self.delivered_at
            .map(|at| at.saturating_add(dispute_window))
    }

    /// The state read against the clock: a delivery nobody disputed in time counts as
    /// confirmed, and a pending perk past its deadline is overdue.
    pub fn status(&self, now: Timestamp, dispute_window: Timestamp) -> PerkStatus {
        match self.state {
            EntitlementState::Pending if now > self.deadline => PerkStatus::Overdue,
            EntitlementState::Pending => PerkStatus::Pending,
            EntitlementState::Delivered => match self.dispute_window_end(dispute_window) {
                Some(end) if now > end => PerkStatus::Confirmed,
                _ => PerkStatus::Delivered,
            },
            EntitlementState::Disputed => PerkStatus::Disputed,
            EntitlementState::Confirmed => PerkStatus::Confirmed,
            EntitlementState::RefundOwed => PerkStatus::Refundable,
            EntitlementState::Refunded => PerkStatus::Refunded,
        }
    }
}
