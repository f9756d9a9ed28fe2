//! Every event the contracts emit. Each carries everything the indexer needs, so the
//! read model is built from events alone, without storage reads.
//!
//! On chain the record's first topic is the event's signature topic
//! (`<E as ink::env::Event>::SIGNATURE_TOPIC`), the rest are the `#[ink(topic)]` fields.

use alloc::string::String;
use alloc::vec::Vec;

use crate::entitlement::EntitlementState;
use crate::perk::PerkTerms;
use crate::registry_api::{Outcome, Reputation};
use crate::release::SaleTerms;
use crate::{AccountId, Balance, EditionId, Hash32, PerkId, Timestamp};

// ---- registry ----

#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArbiterAdded {
    #[ink(topic)]
    pub arbiter: AccountId,
}

#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArbiterRemoved {
    #[ink(topic)]
    pub arbiter: AccountId,
}

#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseCodeSet {
    pub code_hash: Hash32,
}

#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtistRegistered {
    #[ink(topic)]
    pub artist: AccountId,
    pub name: String,
    pub metadata_uri: String,
    pub at: Timestamp,
}

#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseCreated {
    #[ink(topic)]
    pub release: AccountId,
    #[ink(topic)]
    pub artist: AccountId,
    pub terms: SaleTerms,
    pub at: Timestamp,
}

#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReputationChanged {
    #[ink(topic)]
    pub artist: AccountId,
    #[ink(topic)]
    pub release: AccountId,
    pub outcome: Outcome,
    pub reputation: Reputation,
}

// ---- release ----

#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerkAdded {
    #[ink(topic)]
    pub perk: PerkId,
    pub terms: PerkTerms,
    pub added_at_edition: u32,
    pub at: Timestamp,
}

#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditionSold {
    #[ink(topic)]
    pub edition: EditionId,
    #[ink(topic)]
    pub buyer: AccountId,
    pub price: Balance,
    /// The perks this edition carries and the escrow held for each.
    pub entitlements: Vec<(PerkId, Balance)>,
    /// What the artist may withdraw at once (the music itself).
    pub artist_share: Balance,
    pub at: Timestamp,
}

/// PSP34-style transfer; `from` is `None` for a mint.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    #[ink(topic)]
    pub from: Option<AccountId>,
    #[ink(topic)]
    pub to: Option<AccountId>,
    #[ink(topic)]
    pub edition: EditionId,
}

#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    #[ink(topic)]
    pub owner: AccountId,
    pub approved: Option<AccountId>,
    #[ink(topic)]
    pub edition: EditionId,
}

/// An entitlement moved from one state to another.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntitlementChanged {
    #[ink(topic)]
    pub edition: EditionId,
    #[ink(topic)]
    pub perk: PerkId,
    #[ink(topic)]
    pub actor: AccountId,
    pub from: EntitlementState,
    pub to: EntitlementState,
    pub action: EntitlementAction,
    pub at: Timestamp,
}

/// What moved an entitlement, with the data that came with it.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntitlementAction {
    /// The holder unlocked an automatic perk; `content_hash` is what the artist committed.
    Unlocked {
        content_hash: Hash32,
    },
    /// The artist delivered, with a proof; `late` when after the deadline.
    MarkedDelivered {
        proof: Hash32,
        late: bool,
    },
    Confirmed,
    /// The dispute window closed without a dispute.
    ConfirmedByTimeout,
    Disputed {
        evidence: Hash32,
    },
    /// An arbiter ruled; `refund` for the fan.
    Resolved {
        refund: bool,
    },
    /// The escrow went back to the holder.
    Refunded {
        amount: Balance,
        overdue: bool,
    },
}

#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerkRated {
    #[ink(topic)]
    pub edition: EditionId,
    #[ink(topic)]
    pub perk: PerkId,
    #[ink(topic)]
    pub holder: AccountId,
    pub rating: u8,
}

/// Escrow released to the artist's withdrawable balance.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscrowReleased {
    #[ink(topic)]
    pub edition: EditionId,
    #[ink(topic)]
    pub perk: PerkId,
    pub amount: Balance,
}

#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtistWithdrew {
    #[ink(topic)]
    pub artist: AccountId,
    pub amount: Balance,
}
