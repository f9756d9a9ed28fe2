//! Perks: what an artist promises every holder of a release's edition.

use alloc::string::String;

use crate::{Balance, Hash32, Timestamp};

/// The five families of perks fans recognise.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PerkCategory {
    EventAccess,
    ExclusiveContent,
    PhysicalMerchandise,
    CreativeCollaboration,
    Community,
}

impl PerkCategory {
    pub const ALL: [PerkCategory; 5] = [
        PerkCategory::EventAccess,
        PerkCategory::ExclusiveContent,
        PerkCategory::PhysicalMerchandise,
        PerkCategory::CreativeCollaboration,
        PerkCategory::Community,
    ];

    /// A stable machine name, used in URLs, JSON and the database.
    pub fn slug(self) -> &'static str {
        match self {
            PerkCategory::EventAccess => "event_access",
            PerkCategory::ExclusiveContent => "exclusive_content",
            PerkCategory::PhysicalMerchandise => "physical_merchandise",
            PerkCategory::CreativeCollaboration => "creative_collaboration",
            PerkCategory::Community => "community",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.slug() == slug)
    }

    pub fn label(self) -> &'static str {
        match self {
            PerkCategory::EventAccess => "Event access",
            PerkCategory::ExclusiveContent => "Exclusive content",
            PerkCategory::PhysicalMerchandise => "Physical merchandise",
            PerkCategory::CreativeCollaboration => "Creative collaboration",
            PerkCategory::Community => "Community",
        }
    }
}

/// The common kinds of perk (the wizard's templates), plus `Custom` for anything else.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PerkKind {
    PrivateConcert,
    MeetAndGreet,
    StudioVisit,
    VipConcertAccess,
    UnreleasedMusic,
    BehindTheScenes,
    LiveStreamQa,
    PersonalMessage,
    LimitedVinyl,
    SignedMerch,
    CustomApparel,
    ExclusiveArtwork,
    SongStems,
    MusicFeedback,
    MusicVideoCollab,
    CoWritingSession,
    PrivateChat,
    DirectMessages,
    FanEvent,
    ExclusiveSocial,
    Custom,
}

impl PerkKind {
    pub const ALL: [PerkKind; 21] = [
        PerkKind::PrivateConcert,
        PerkKind::MeetAndGreet,
        PerkKind::StudioVisit,
        PerkKind::VipConcertAccess,
        PerkKind::UnreleasedMusic,
        PerkKind::BehindTheScenes,
        PerkKind::LiveStreamQa,
        PerkKind::PersonalMessage,
        PerkKind::LimitedVinyl,
        PerkKind::SignedMerch,
        PerkKind::CustomApparel,
        PerkKind::ExclusiveArtwork,
        PerkKind::SongStems,
        PerkKind::MusicFeedback,
        PerkKind::MusicVideoCollab,
        PerkKind::CoWritingSession,
        PerkKind::PrivateChat,
        PerkKind::DirectMessages,
        PerkKind::FanEvent,
        PerkKind::ExclusiveSocial,
        PerkKind::Custom,
    ];

    /// The category a template kind belongs to; `None` for `Custom`, which fits any.
    pub fn category(self) -> Option<PerkCategory> {
        use PerkCategory::*;
        use PerkKind::*;
        Some(match self {
            PrivateConcert | MeetAndGreet | StudioVisit | VipConcertAccess => EventAccess,
            UnreleasedMusic | BehindTheScenes | LiveStreamQa | PersonalMessage => ExclusiveContent,
            LimitedVinyl | SignedMerch | CustomApparel | ExclusiveArtwork => PhysicalMerchandise,
            SongStems | MusicFeedback | MusicVideoCollab | CoWritingSession => {
                CreativeCollaboration
            }
            PrivateChat | DirectMessages | FanEvent | ExclusiveSocial => Community,
            Custom => return None,
        })
    }

    /// Whether this kind may be filed under `category`.
    pub fn fits(self, category: PerkCategory) -> bool {
        self.category().is_none_or(|c| c == category)
    }

    pub fn slug(self) -> &'static str {
        use PerkKind::*;
        match self {
            PrivateConcert => "private_concert",
            MeetAndGreet => "meet_and_greet",
            StudioVisit => "studio_visit",
            VipConcertAccess => "vip_concert_access",
            UnreleasedMusic => "unreleased_music",
            BehindTheScenes => "behind_the_scenes",
            LiveStreamQa => "live_stream_qa",
            PersonalMessage => "personal_message",
            LimitedVinyl => "limited_vinyl",
            SignedMerch => "signed_merch",
            CustomApparel => "custom_apparel",
            ExclusiveArtwork => "exclusive_artwork",
            SongStems => "song_stems",
            MusicFeedback => "music_feedback",
            MusicVideoCollab => "music_video_collab",
            CoWritingSession => "co_writing_session",
            PrivateChat => "private_chat",
            DirectMessages => "direct_messages",
            FanEvent => "fan_event",
            ExclusiveSocial => "exclusive_social",
            Custom => "custom",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.slug() == slug)
    }
}

/// How a perk reaches the fan.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryMethod {
    /// Digital content whose secret (link, invite, code pool root) the artist committed
    /// to up front; the holder's `unlock` delivers it.
    Automatic { content_hash: Hash32 },
    /// Something shipped by the artist; the artist marks it delivered with a proof hash.
    Physical,
    /// An event or session the artist holds; marked delivered with a proof hash.
    Event,
}

impl DeliveryMethod {
    pub fn slug(&self) -> &'static str {
        match self {
            DeliveryMethod::Automatic { .. } => "automatic",
            DeliveryMethod::Physical => "physical",
            DeliveryMethod::Event => "event",
        }
    }

    pub fn is_automatic(&self) -> bool {
        matches!(self, DeliveryMethod::Automatic { .. })
    }
}

/// Bounds on a perk's text so that storage and events stay small.
pub const MAX_TITLE_LEN: usize = 96;
pub const MAX_DESCRIPTION_LEN: usize = 600;
pub const MAX_METADATA_URI_LEN: usize = 256;

/// Everything an artist states when adding a perk; immutable once added.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerkTerms {
    pub category: PerkCategory,
    pub kind: PerkKind,
    pub title: String,
    pub description: String,
    /// Where richer metadata (images, event details) lives, e.g. `ipfs://…`; may be empty.
    pub metadata_uri: String,
    /// What the artist says the perk is worth, in the chain's currency.
    pub estimated_value: Balance,
    /// The part of each edition's price held in escrow for this perk, in basis points.
    pub escrow_bps: u16,
    pub delivery: DeliveryMethod,
    /// Only the first N editions sold after the perk was added receive it.
    pub quantity_limit: Option<u32>,
    /// When the perk must be delivered by; after it an undelivered perk is refundable.
    pub deadline: Timestamp,
}

/// Why a set of perk terms is refused.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerkTermsError {
    KindNotInCategory,
    EmptyTitle,
    TitleTooLong,
    DescriptionTooLong,
    MetadataUriTooLong,
    EscrowShareTooLarge,
    ZeroQuantityLimit,
}

impl PerkTerms {
    /// Checks the terms on their own; the release checks what depends on its state
    /// (deadline in the future, total escrow share).
    pub fn validate(&self) -> Result<(), PerkTermsError> {
        if !self.kind.fits(self.category) {
            return Err(PerkTermsError::KindNotInCategory);
        }
        if self.title.trim().is_empty() {
            return Err(PerkTermsError::EmptyTitle);
        }
        if self.title.len() > MAX_TITLE_LEN {
            return Err(PerkTermsError::TitleTooLong);
        }
        if self.description.len() > MAX_DESCRIPTION_LEN {
            return Err(PerkTermsError::DescriptionTooLong);
        }
        if self.metadata_uri.len() > MAX_METADATA_URI_LEN {
            return Err(PerkTermsError::MetadataUriTooLong);
        }
        if self.escrow_bps > crate::BPS_DENOMINATOR {
            return Err(PerkTermsError::EscrowShareTooLarge);
        }
        if self.quantity_limit == Some(0) {
            return Err(PerkTermsError::ZeroQuantityLimit);
        }
        Ok(())
    }
}

/// A perk as the release stores it: the terms plus what the release learnt since.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Perk {
    pub terms: PerkTerms,
    /// How many editions had been sold when the perk was added (for before/after sales).
    pub added_at_edition: u32,
    pub added_at: Timestamp,
    /// How many editions carry this perk so far (bounded by `quantity_limit`).
    pub granted: u32,
    /// When the artist cancelled it; its pending entitlements are then refundable.
    pub cancelled_at: Option<Timestamp>,
}

impl Perk {
    pub fn has_room(&self) -> bool {
        self.terms
            .quantity_limit
            .is_none_or(|limit| self.granted < limit)
    }

    /// Whether an edition sold at `now` receives this perk: it has room, is not cancelled,
    /// and its deadline is ahead (a buyer of a perk already due could only refund it).
    pub fn grantable(&self, now: Timestamp) -> bool {
        self.has_room() && self.cancelled_at.is_none() && now < self.terms.deadline
    }
}

/// What a sale needs to know of a perk. A release keeps these for all its perks in one
/// storage slot and stores an edition's entitlement only when it leaves `Pending`: a
/// purchase reads one slot and writes none per perk, so its cost does not grow with the
/// number of perks. Which editions carry the perk follows from it: those sold from
/// `added_at_edition` on, up to its quantity, before it closed (its deadline passed or it
/// was cancelled).
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerkSale {
    pub escrow_bps: u16,
    pub deadline: Timestamp,
    pub delivery: DeliveryMethod,
    pub quantity_limit: Option<u32>,
    pub added_at_edition: u32,
    pub cancelled_at: Option<Timestamp>,
    /// The first edition sold after the perk closed: recorded by its cancellation, or by
    /// the first sale after its deadline.
    pub closed_at_edition: Option<u32>,
}

impl PerkSale {
    pub fn of(terms: &PerkTerms, added_at_edition: u32) -> Self {
        PerkSale {
            escrow_bps: terms.escrow_bps,
            deadline: terms.deadline,
            delivery: terms.delivery,
            quantity_limit: terms.quantity_limit,
            added_at_edition,
            cancelled_at: None,
            closed_at_edition: None,
        }
    }

    /// The first edition that does not carry the perk (`u32::MAX` while it is open).
    pub fn end(&self) -> u32 {
        let by_quantity = self.quantity_limit.map_or(u32::MAX, |limit| {
            self.added_at_edition.saturating_add(limit)
        });
        by_quantity.min(self.closed_at_edition.unwrap_or(u32::MAX))
    }

    /// Whether edition `edition` (one already sold) carries the perk.
    pub fn binds(&self, edition: u32) -> bool {
        self.added_at_edition <= edition && edition < self.end()
    }

    /// How many editions carry it when `sold` editions have been sold.
    pub fn granted(&self, sold: u32) -> u32 {
        sold.min(self.end()).saturating_sub(self.added_at_edition)
    }

    /// Whether edition `edition`, sold at `now`, receives the perk: it has room, is not
    /// cancelled, and its deadline is ahead (a buyer of a perk already due could only
    /// refund it). The same rule as [`Perk::grantable`], on what a sale reads.
    pub fn grantable(&self, edition: u32, now: Timestamp) -> bool {
        edition < self.end() && self.cancelled_at.is_none() && now < self.deadline
    }

    /// The entitlement an edition carrying the perk starts with, for an edition sold at
    /// `price`.
    pub fn entitlement(
        &self,
        perk: crate::PerkId,
        price: Balance,
    ) -> Option<crate::entitlement::Entitlement> {
        let share = crate::share_of(price, self.escrow_bps)?;
        Some(crate::entitlement::Entitlement::new(
            perk,
            share,
            self.deadline,
        ))
    }
}

/// The ids of a release's perks (listed in id order) that an edition sold at `now` would
/// carry: what a buyer is shown, and so what `buy` is told to expect.
pub fn grantable_ids(perks: &[Perk], now: Timestamp) -> alloc::vec::Vec<crate::PerkId> {
    (0..)
        .zip(perks)
        .filter(|(_, p)| p.grantable(now))
        .map(|(id, _)| id)
        .collect()
}
