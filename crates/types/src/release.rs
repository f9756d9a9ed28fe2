//! A release's sale terms, fixed when the registry creates it.

use alloc::string::String;

use crate::{Balance, Timestamp};

pub const MAX_RELEASE_TITLE_LEN: usize = 128;
/// A release may carry at most this many perks, so a sale's work stays bounded.
pub const MAX_PERKS_PER_RELEASE: u32 = 16;
/// The most perks one `perks` call returns: eight perks with every text at its maximum
/// encode to about 8.4 KiB, inside ink!'s 16 KiB return buffer; sixteen would not fit.
pub const PERKS_PAGE: u32 = 8;
const DAY: Timestamp = 24 * 60 * 60 * 1000;
/// The longest dispute window a release may set: 90 days.
pub const MAX_DISPUTE_WINDOW: Timestamp = 90 * DAY;
/// The shortest dispute window a release may set: 7 days. A holder can always dispute a
/// delivery until at least this long after the later of the delivery and the perk's
/// deadline, so a delivery cannot be made to stand before the fan could have seen it.
pub const MIN_DISPUTE_WINDOW: Timestamp = 7 * DAY;
/// How far ahead a perk's deadline may lie (two years): a perk due "never" would hold a
/// fan's money for good.
pub const MAX_DEADLINE_HORIZON: Timestamp = 730 * DAY;
/// An artist is flagged — on their page, in the league, and in the services' metrics —
/// while this many of their commitments are overdue: an edition's perk past its deadline,
/// neither delivered nor refunded, and not cancelled. A few late perks happen; a pile of
/// them is what a fan deciding whether to buy should see first.
pub const FLAG_OVERDUE_COMMITMENTS: u32 = 3;

/// Whether `overdue` commitments flag an artist (`FLAG_OVERDUE_COMMITMENTS`).
pub fn flagged_for_overdue(overdue: u64) -> bool {
    overdue >= u64::from(FLAG_OVERDUE_COMMITMENTS)
}

/// How long the arbiters have to rule on a dispute; after it the escrow is the holder's.
pub const RULING_TIMEOUT: Timestamp = 30 * DAY;
/// How long after an overdue perk's deadline, or after a late delivery, only the holder
/// may take the refund (14 days): the fan may still accept a late delivery in that time.
/// After it anyone — Dreamster's keeper — may trigger the refund, which is always paid to
/// the edition's holder, so a fan who never opens the page is still refunded.
pub const REFUND_GRACE: Timestamp = 14 * DAY;
/// How long after its announcement a new release code takes effect (7 days): an artist
/// sees the change coming, and `create_release` names the code the artist expects.
pub const CODE_CHANGE_DELAY: Timestamp = 7 * DAY;
/// The most arbiters a registry names, and so a release keeps.
pub const MAX_ARBITERS: u32 = 16;

#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(ink::storage::traits::StorageLayout))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleTerms {
    pub title: String,
    pub metadata_uri: String,
    /// The exact price of one edition.
    pub price: Balance,
    /// How many editions may ever be sold; `None` for an open edition.
    pub max_editions: Option<u32>,
    pub sale_start: Timestamp,
    /// `None` keeps the sale open for good.
    pub sale_end: Option<Timestamp>,
    /// How long after a delivery the holder may dispute it, in milliseconds.
    pub dispute_window: Timestamp,
}

#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaleTermsError {
    EmptyTitle,
    TitleTooLong,
    MetadataUriTooLong,
    ZeroPrice,
    ZeroEditions,
    SaleEndsBeforeStart,
    DisputeWindowTooLong,
    /// Shorter than [`MIN_DISPUTE_WINDOW`].
    DisputeWindowTooShort,
}

impl SaleTerms {
    pub fn validate(&self) -> Result<(), SaleTermsError> {
        if self.title.trim().is_empty() {
            return Err(SaleTermsError::EmptyTitle);
        }
        if self.title.len() > MAX_RELEASE_TITLE_LEN {
            return Err(SaleTermsError::TitleTooLong);
        }
        if self.metadata_uri.len() > crate::perk::MAX_METADATA_URI_LEN {
            return Err(SaleTermsError::MetadataUriTooLong);
        }
        if self.price == 0 {
            return Err(SaleTermsError::ZeroPrice);
        }
        if self.max_editions == Some(0) {
            return Err(SaleTermsError::ZeroEditions);
        }
        if matches!(self.sale_end, Some(end) if end <= self.sale_start) {
            return Err(SaleTermsError::SaleEndsBeforeStart);
        }
        if self.dispute_window < MIN_DISPUTE_WINDOW {
            return Err(SaleTermsError::DisputeWindowTooShort);
        }
        if self.dispute_window > MAX_DISPUTE_WINDOW {
            return Err(SaleTermsError::DisputeWindowTooLong);
        }
        Ok(())
    }

    pub fn is_on_sale(&self, now: Timestamp) -> bool {
        now >= self.sale_start && self.sale_end.is_none_or(|end| now < end)
    }
}
