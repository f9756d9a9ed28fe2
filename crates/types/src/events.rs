//! Every event the contracts emit. Each carries everything the indexer needs, so the
//! read model is built from events alone, without storage reads.
//!
//! On chain the record's first topic is the event's signature topic
//! (`<E as ink::env::Event>::SIGNATURE_TOPIC`), the rest are the `#[ink(topic)]` fields.

use alloc::string::String;
use alloc::vec::Vec;

use crate::entitlement::{EntitlementState, RefundReason};
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

/// A new release code was announced; releases created from `effective_at` on use it.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseCodeAnnounced {
    pub code_hash: Hash32,
    pub effective_at: Timestamp,
}

/// The registry's owner offered ownership to `offered` (`None` withdraws the offer).
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipOffered {
    #[ink(topic)]
    pub owner: AccountId,
    pub offered: Option<AccountId>,
}

/// The offered account accepted: it owns the registry now.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipTransferred {
    #[ink(topic)]
    pub from: AccountId,
    #[ink(topic)]
    pub to: AccountId,
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
    /// The code the release runs (the one the artist asked for).
    pub code_hash: Hash32,
    /// The accounts that may rule on this release's disputes, fixed for its lifetime.
    pub arbiters: Vec<AccountId>,
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
    /// Whether it came from an edition the artist bought themself.
    pub self_dealt: bool,
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

/// The artist cancelled a perk: every edition's pending entitlement to it is refundable.
#[ink::event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerkCancelled {
    #[ink(topic)]
    pub perk: PerkId,
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
        reason: RefundReason,
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

/// Any Dreamster event, as decoded from a `ContractEmitted` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DreamsterEvent {
    ArbiterAdded(ArbiterAdded),
    ArbiterRemoved(ArbiterRemoved),
    ReleaseCodeSet(ReleaseCodeSet),
    ReleaseCodeAnnounced(ReleaseCodeAnnounced),
    OwnershipOffered(OwnershipOffered),
    OwnershipTransferred(OwnershipTransferred),
    ArtistRegistered(ArtistRegistered),
    ReleaseCreated(ReleaseCreated),
    ReputationChanged(ReputationChanged),
    PerkAdded(PerkAdded),
    PerkCancelled(PerkCancelled),
    EditionSold(EditionSold),
    Transfer(Transfer),
    Approval(Approval),
    EntitlementChanged(EntitlementChanged),
    PerkRated(PerkRated),
    EscrowReleased(EscrowReleased),
    ArtistWithdrew(ArtistWithdrew),
}

/// Why a contract event could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventDecodeError {
    /// No topics: not an ink! 5 event with a signature.
    NoSignature,
    /// A signature no Dreamster event has.
    UnknownSignature([u8; 32]),
    /// The signature is known but the data does not decode as that event.
    BadData(&'static str),
}

macro_rules! dispatch_events {
    ($signature:expr, $data:expr, $($name:ident),+ $(,)?) => {{
        $(
            if Some($signature) == <$name as ink::env::Event>::SIGNATURE_TOPIC {
                let mut data: &[u8] = $data;
                return <$name as ink::scale::Decode>::decode(&mut data)
                    .map(DreamsterEvent::$name)
                    .map_err(|_| EventDecodeError::BadData(stringify!($name)));
            }
        )+
        Err(EventDecodeError::UnknownSignature($signature))
    }};
}

impl DreamsterEvent {
    /// Decodes an event from its record's topics (the first is the signature topic) and
    /// data, with the same definitions the contracts emitted it with.
    pub fn decode(topics: &[[u8; 32]], data: &[u8]) -> Result<Self, EventDecodeError> {
        let signature = *topics.first().ok_or(EventDecodeError::NoSignature)?;
        dispatch_events!(
            signature,
            data,
            ArbiterAdded,
            ArbiterRemoved,
            ReleaseCodeSet,
            ReleaseCodeAnnounced,
            OwnershipOffered,
            OwnershipTransferred,
            ArtistRegistered,
            ReleaseCreated,
            ReputationChanged,
            PerkAdded,
            PerkCancelled,
            EditionSold,
            Transfer,
            Approval,
            EntitlementChanged,
            PerkRated,
            EscrowReleased,
            ArtistWithdrew,
        )
    }

    /// The event's name, as the contracts' metadata labels it.
    pub fn name(&self) -> &'static str {
        match self {
            DreamsterEvent::ArbiterAdded(_) => "ArbiterAdded",
            DreamsterEvent::ArbiterRemoved(_) => "ArbiterRemoved",
            DreamsterEvent::ReleaseCodeSet(_) => "ReleaseCodeSet",
            DreamsterEvent::ReleaseCodeAnnounced(_) => "ReleaseCodeAnnounced",
            DreamsterEvent::OwnershipOffered(_) => "OwnershipOffered",
            DreamsterEvent::OwnershipTransferred(_) => "OwnershipTransferred",
            DreamsterEvent::ArtistRegistered(_) => "ArtistRegistered",
            DreamsterEvent::ReleaseCreated(_) => "ReleaseCreated",
            DreamsterEvent::ReputationChanged(_) => "ReputationChanged",
            DreamsterEvent::PerkAdded(_) => "PerkAdded",
            DreamsterEvent::PerkCancelled(_) => "PerkCancelled",
            DreamsterEvent::EditionSold(_) => "EditionSold",
            DreamsterEvent::Transfer(_) => "Transfer",
            DreamsterEvent::Approval(_) => "Approval",
            DreamsterEvent::EntitlementChanged(_) => "EntitlementChanged",
            DreamsterEvent::PerkRated(_) => "PerkRated",
            DreamsterEvent::EscrowReleased(_) => "EscrowReleased",
            DreamsterEvent::ArtistWithdrew(_) => "ArtistWithdrew",
        }
    }
}

/// An event as a contract emits it: its signature topic and its SCALE data (what
/// `DreamsterEvent::decode` reads back). For tests of code that reads events.
pub fn emitted<E: ink::env::Event + ink::scale::Encode>(event: &E) -> ([u8; 32], Vec<u8>) {
    (E::SIGNATURE_TOPIC.unwrap_or([0; 32]), event.encode())
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use ink::scale::Encode;

    fn signature<E: ink::env::Event>() -> [u8; 32] {
        E::SIGNATURE_TOPIC.expect("every Dreamster event has a signature")
    }

    #[test]
    fn decodes_by_signature_topic() {
        let event = PerkRated {
            edition: 3,
            perk: 1,
            holder: AccountId::from([7; 32]),
            rating: 5,
        };
        let decoded = DreamsterEvent::decode(&[signature::<PerkRated>()], &event.encode());
        assert_eq!(decoded, Ok(DreamsterEvent::PerkRated(event)));
    }

    #[test]
    fn unknown_and_garbled_events_are_errors_not_panics() {
        assert_eq!(
            DreamsterEvent::decode(&[], &[]),
            Err(EventDecodeError::NoSignature)
        );
        assert_eq!(
            DreamsterEvent::decode(&[[9; 32]], &[]),
            Err(EventDecodeError::UnknownSignature([9; 32]))
        );
        assert_eq!(
            DreamsterEvent::decode(&[signature::<PerkRated>()], &[1, 2]),
            Err(EventDecodeError::BadData("PerkRated"))
        );
    }

    #[test]
    fn signatures_are_distinct() {
        let all = [
            signature::<ArbiterAdded>(),
            signature::<ArbiterRemoved>(),
            signature::<ReleaseCodeSet>(),
            signature::<ReleaseCodeAnnounced>(),
            signature::<OwnershipOffered>(),
            signature::<OwnershipTransferred>(),
            signature::<ArtistRegistered>(),
            signature::<ReleaseCreated>(),
            signature::<ReputationChanged>(),
            signature::<PerkAdded>(),
            signature::<PerkCancelled>(),
            signature::<EditionSold>(),
            signature::<Transfer>(),
            signature::<Approval>(),
            signature::<EntitlementChanged>(),
            signature::<PerkRated>(),
            signature::<EscrowReleased>(),
            signature::<ArtistWithdrew>(),
        ];
        let unique: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(unique.len(), all.len());
    }
}
