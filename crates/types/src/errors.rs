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
    /// An arbiter may not rule on a dispute they are a party to.
    ArbiterIsParty,
    InvalidRating,
    AlreadyRated,
    NothingToWithdraw,
    TransferFailed,
    Overflow,
}
