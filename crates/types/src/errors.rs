//! Typed errors of the contracts' messages, shared so that every client decodes and
//! explains them with the same definitions.

use crate::entitlement::EntitlementState;

/// Every way a release message can refuse; none of them traps.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseError {
    NotArtist,
    NotHolder,
    NotOwnerOrApproved,
    NoSuchEdition,
    NoSuchPerk,
    /// The edition does not carry that perk (added later, or its quantity ran out).
    NotEntitled,
    InvalidSaleTerms(crate::release::SaleTermsError),
    InvalidPerk(crate::perk::PerkTermsError),
    DeadlineInPast,
    /// The perks' escrow shares would exceed the whole price.
    EscrowSharesExceeded,
    TooManyPerks,
    SaleNotOpen,
    SoldOut,
    WrongPayment {
        expected: crate::Balance,
    },
    NotAutomatic,
    /// Automatic perks are delivered by the holder's unlock, not by the artist.
    DeliveredByUnlock,
    WrongState(EntitlementState),
    DeadlineNotPassed {
        deadline: crate::Timestamp,
    },
    DisputeWindowOpen {
        until: crate::Timestamp,
    },
    DisputeWindowClosed,
    NotArbiter,
    /// An arbiter may not rule on a dispute they are a party to: the artist, the disputed
    /// edition's holder, or an account that bought an edition of the release.
    ArbiterIsParty,
    InvalidRating,
    AlreadyRated,
    NothingToWithdraw,
    TransferFailed,
    Overflow,
    /// The deadline lies further ahead than [`crate::release::MAX_DEADLINE_HORIZON`].
    DeadlineTooFar,
    /// The artist cancelled this perk.
    PerkCancelled,
    /// A perk the buyer expected is no longer granted to a new edition (its quantity ran
    /// out, its deadline passed, or it was cancelled).
    PerkUnavailable {
        perk: crate::PerkId,
    },
    /// More perks expected than a release can have.
    TooManyExpected,
    /// A delivery made after the deadline cannot be disputed: the holder confirms it or
    /// takes the refund.
    DeliveredLate,
    /// The arbiters' time to rule ran out; the escrow is the holder's.
    RulingExpired,
    /// The arbiters still have until `until` to rule on this dispute.
    RulingPending {
        until: crate::Timestamp,
    },
    /// An edition cannot be sent to the release contract itself (its escrow would be stuck).
    TransferToRelease,
    /// More arbiters than [`crate::release::MAX_ARBITERS`].
    TooManyArbiters,
    /// An automatic perk can be unlocked only until its deadline; after it the holder may
    /// take the refund instead.
    UnlockClosed,
    /// A perk past its deadline cannot be cancelled: undelivered, it is overdue.
    CancelAfterDeadline,
    /// Before `from` only the holder may take this refund (they may still accept a late
    /// delivery); from then on anyone may trigger it, and it is paid to the holder.
    RefundReservedForHolder {
        from: crate::Timestamp,
    },
}
