//! What a release asks of the registry that created it, as an ink! trait so both sides
//! agree on selectors without depending on each other's crates.

use crate::AccountId;

/// One thing that happened to an artist's promise, reported by a release when it is
/// final, and counted against whoever made it happen.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A delivery made by the deadline stood: confirmed by the holder, or by the window
    /// closing. (A delivery an arbiter upheld counts as `DisputeWon`.)
    DeliveredOnTime,
    /// A delivery made after the deadline that the holder accepted.
    DeliveredLate,
    /// The artist's failure: nothing arrived by the deadline (or only a late delivery the
    /// holder refused), and the holder took the refund.
    RefundedOverdue,
    DisputeWon,
    DisputeLost,
    Rated(u8),
    /// The artist cancelled a perk an edition carried; the holder took the refund.
    Cancelled,
    /// The holder never unlocked an automatic perk by its deadline and took the refund: the
    /// content was there, so this is not the artist's failure.
    Unclaimed,
    /// No arbiter ruled on a dispute in time and the holder took the refund: the arbiters'
    /// failure, not the artist's.
    RulingExpired,
}

/// An artist's public track record, kept by the registry.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reputation {
    pub delivered_on_time: u32,
    pub delivered_late: u32,
    pub refunded_overdue: u32,
    pub disputes_won: u32,
    pub disputes_lost: u32,
    pub rating_sum: u64,
    pub rating_count: u32,
    pub cancelled: u32,
    pub unclaimed: u32,
    pub rulings_expired: u32,
    /// Outcomes from editions the artist bought or holds themself: no paying fan stands
    /// behind them, so they are counted here and in none of the counters above.
    pub self_dealt: u32,
    /// The ratings among them.
    pub self_rating_sum: u64,
    pub self_rating_count: u32,
}

impl Reputation {
    /// Adds one outcome. A self-dealt one (from an edition the artist bought or holds)
    /// goes to the self-dealt counters only, so the record is what paying fans stand
    /// behind. Counters saturate rather than wrap (they are statistics, not money).
    pub fn apply(&mut self, outcome: Outcome, self_dealt: bool) {
        if self_dealt {
            self.self_dealt = self.self_dealt.saturating_add(1);
            if let Outcome::Rated(stars) = outcome {
                self.self_rating_sum = self.self_rating_sum.saturating_add(u64::from(stars));
                self.self_rating_count = self.self_rating_count.saturating_add(1);
            }
            return;
        }
        match outcome {
            Outcome::DeliveredOnTime => {
                self.delivered_on_time = self.delivered_on_time.saturating_add(1)
            }
            Outcome::DeliveredLate => self.delivered_late = self.delivered_late.saturating_add(1),
            Outcome::RefundedOverdue => {
                self.refunded_overdue = self.refunded_overdue.saturating_add(1)
            }
            Outcome::DisputeWon => self.disputes_won = self.disputes_won.saturating_add(1),
            Outcome::DisputeLost => self.disputes_lost = self.disputes_lost.saturating_add(1),
            Outcome::Rated(stars) => {
                self.rating_sum = self.rating_sum.saturating_add(u64::from(stars));
                self.rating_count = self.rating_count.saturating_add(1);
            }
            Outcome::Cancelled => self.cancelled = self.cancelled.saturating_add(1),
            Outcome::Unclaimed => self.unclaimed = self.unclaimed.saturating_add(1),
            Outcome::RulingExpired => self.rulings_expired = self.rulings_expired.saturating_add(1),
        }
    }

    /// The names of [`Reputation::counters`], as the read model's columns are called.
    pub const COUNTER_COLUMNS: [&'static str; 13] = [
        "delivered_on_time",
        "delivered_late",
        "refunded_overdue",
        "disputes_won",
        "disputes_lost",
        "rating_sum",
        "rating_count",
        "cancelled",
        "unclaimed",
        "rulings_expired",
        "self_dealt",
        "self_rating_sum",
        "self_rating_count",
    ];

    /// The thirteen counters in declaration order, as the read model stores them.
    pub fn counters(&self) -> [i64; 13] {
        [
            i64::from(self.delivered_on_time),
            i64::from(self.delivered_late),
            i64::from(self.refunded_overdue),
            i64::from(self.disputes_won),
            i64::from(self.disputes_lost),
            i64::try_from(self.rating_sum).unwrap_or(i64::MAX),
            i64::from(self.rating_count),
            i64::from(self.cancelled),
            i64::from(self.unclaimed),
            i64::from(self.rulings_expired),
            i64::from(self.self_dealt),
            i64::try_from(self.self_rating_sum).unwrap_or(i64::MAX),
            i64::from(self.self_rating_count),
        ]
    }

    /// Share of deliveries that were on time, in basis points; `None` before any delivery.
    pub fn on_time_bps(&self) -> Option<u32> {
        let total =
            u64::from(self.delivered_on_time).checked_add(u64::from(self.delivered_late))?;
        let scaled = u64::from(self.delivered_on_time).checked_mul(10_000)?;
        u32::try_from(scaled.checked_div(total)?).ok()
    }
}

#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryError {
    NotOwner,
    NotRegisteredArtist,
    AlreadyRegistered,
    /// The caller is not a release this registry created, or not for that artist.
    UnknownRelease,
    NoReleaseCode,
    InvalidProfile,
    InvalidSaleTerms(crate::release::SaleTermsError),
    AlreadyArbiter,
    NotArbiter,
    InstantiationFailed,
    InvalidRating,
    /// The registry already names [`crate::release::MAX_ARBITERS`] arbiters.
    TooManyArbiters,
    /// The release code in effect is not the one the artist expected.
    CodeHashMismatch {
        current: crate::Hash32,
    },
    /// Only the account the owner offered the registry to may accept it.
    NotOfferedOwner,
}

/// The most computation time (ref_time, picoseconds) a release lets its registry spend on
/// one `record_outcome`: a few times what the real registry needs, a small part of a block.
pub const REPORT_REF_TIME_LIMIT: u64 = 5_000_000_000;
/// The most proof size (bytes) a release lets its registry use on one `record_outcome`.
pub const REPORT_PROOF_SIZE_LIMIT: u64 = 128 * 1024;

/// The one call a release makes into its registry. The release bounds it (gas, proof
/// size, no storage deposit) and ignores its answer, so no registry can make a refund or a
/// delivery fail.
#[ink::trait_definition]
pub trait ArtistRegistry {
    /// Records an outcome against `artist`, `self_dealt` when it comes from an edition the
    /// artist bought; only a release this registry created for that artist may call it.
    #[ink(message)]
    fn record_outcome(
        &mut self,
        artist: AccountId,
        outcome: Outcome,
        self_dealt: bool,
    ) -> Result<(), RegistryError>;
}

pub const MAX_ARTIST_NAME_LEN: usize = 64;

/// What an artist says about themselves when registering.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtistProfile {
    pub name: alloc::string::String,
    pub metadata_uri: alloc::string::String,
    pub registered_at: crate::Timestamp,
}

impl ArtistProfile {
    pub fn is_valid(&self) -> bool {
        !self.name.trim().is_empty()
            && self.name.len() <= MAX_ARTIST_NAME_LEN
            && self.metadata_uri.len() <= crate::perk::MAX_METADATA_URI_LEN
    }
}
