//! Every refusal of the contracts as one sentence a person can act on — the one definition
//! the CLI prints and the pages show before a wallet is asked to sign.

use dreamster_types::entitlement::EntitlementState;
use dreamster_types::errors::ReleaseError;
use dreamster_types::perk::PerkTermsError;
use dreamster_types::registry_api::RegistryError;
use dreamster_types::release::{SaleTermsError, MAX_DEADLINE_HORIZON};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

use crate::units::{fmt_amount, fmt_time};

pub fn release_error(e: &ReleaseError) -> String {
    use ReleaseError::*;
    match e {
        NotArtist => "only the release's artist may do this".into(),
        NotHolder => "you do not hold this edition".into(),
        NotOwnerOrApproved => {
            "only the edition's owner (or an account it approved) may transfer it".into()
        }
        NoSuchEdition => "this release has no such edition".into(),
        NoSuchPerk => "this release has no such perk".into(),
        NotEntitled => {
            "this edition does not carry that perk (it was added later, or its quantity ran out)"
                .into()
        }
        InvalidSaleTerms(t) => format!("invalid sale terms: {}", sale_terms_error(t)),
        InvalidPerk(p) => format!("invalid perk: {}", perk_terms_error(p)),
        DeadlineInPast => "the perk's deadline must be in the future".into(),
        EscrowSharesExceeded => "the perks' escrow shares would exceed 100 % of the price".into(),
        TooManyPerks => "this release already has the most perks a release may have (16)".into(),
        SaleNotOpen => "this release is not on sale right now".into(),
        SoldOut => "this release is sold out".into(),
        WrongPayment { expected } => format!("the price is exactly {}", fmt_amount(*expected)),
        NotAutomatic => {
            "this perk is not delivered automatically: the artist marks it delivered".into()
        }
        DeliveredByUnlock => {
            "this perk is delivered by the holder's unlock, not by the artist".into()
        }
        WrongState(state) => format!(
            "this perk is {}, so that is not possible now",
            state_words(*state)
        ),
        DeadlineNotPassed { deadline } => format!(
            "this perk's deadline has not passed yet: refundable from {}",
            fmt_time(deadline.saturating_add(1))
        ),
        DisputeWindowOpen { until } => format!(
            "the dispute window is still open: it can be settled after {}",
            fmt_time(*until)
        ),
        DisputeWindowClosed => "the dispute window for this delivery has closed".into(),
        NotArbiter => {
            "only the arbiters named when this release was created may resolve its disputes".into()
        }
        ArbiterIsParty => "an arbiter may not rule here: they are the artist, hold the disputed \
                           edition, or bought an edition of this release"
            .into(),
        InvalidRating => "a rating is 1 to 5 stars".into(),
        AlreadyRated => "this perk was already rated".into(),
        NothingToWithdraw => "there is nothing to withdraw yet".into(),
        TransferFailed => "the contract could not pay out (the chain refused the transfer)".into(),
        Overflow => "the amounts would overflow".into(),
        DeadlineTooFar => format!(
            "the deadline is too far ahead: at most {} days from now",
            MAX_DEADLINE_HORIZON / DAY_MS
        ),
        PerkCancelled => "the artist cancelled this perk".into(),
        PerkUnavailable { perk } => format!(
            "perk #{perk} no longer comes with a new edition (sold out, past its deadline or \
             cancelled), so nothing was bought"
        ),
        TooManyExpected => "a purchase can expect at most 16 perks".into(),
        DeliveredLate => "this perk was delivered after its deadline: confirm it if you want \
                          it, or take the refund"
            .into(),
        RulingExpired => {
            "the arbiters' time to rule has run out: the escrow is the holder's".into()
        }
        RulingPending { until } => format!(
            "an arbiter may still rule until {}; if none does, the refund is yours after that",
            fmt_time(*until)
        ),
        TransferToRelease => "an edition cannot be sent to the release contract itself".into(),
        TooManyArbiters => "a release can have at most 16 arbiters".into(),
        CancelAfterDeadline => "this perk's deadline has passed: undelivered, it is overdue and \
                                its holders take the refund; it can no longer be cancelled"
            .into(),
        RefundReservedForHolder { from } => format!(
            "before {} only the edition's holder may take this refund (they may still accept \
             a late delivery); from then on anyone may trigger it, and it is paid to the holder",
            fmt_time(*from)
        ),
        UnlockClosed => "this perk's deadline has passed, so it can no longer be unlocked: \
                         take the refund instead"
            .into(),
    }
}

/// A release-code change the registry's owner announced, for whoever creates a release.
pub fn announced_code(code: &[u8; 32], from: u64) -> String {
    format!(
        "the registry's owner announced release code 0x{} for releases created from {}",
        hex::encode(code),
        fmt_time(from)
    )
}

pub fn registry_error(e: &RegistryError) -> String {
    use RegistryError::*;
    match e {
        NotOwner => "only the registry's owner may do this".into(),
        NotRegisteredArtist => {
            "this account is not a registered artist: run `dreamster artist register` first".into()
        }
        AlreadyRegistered => "this account is already a registered artist".into(),
        UnknownRelease => "the registry did not create that release".into(),
        NoReleaseCode => "the registry has no release code yet (deploy did not finish)".into(),
        InvalidProfile => {
            "the artist name must be 1–64 characters and the metadata URI at most 256".into()
        }
        InvalidSaleTerms(t) => format!("invalid sale terms: {}", sale_terms_error(t)),
        AlreadyArbiter => "that account is already an arbiter".into(),
        NotArbiter => "that account is not an arbiter".into(),
        InstantiationFailed => "the release contract could not be created".into(),
        InvalidRating => "a rating is 1 to 5 stars".into(),
        TooManyArbiters => "the registry already has the most arbiters it may name (16)".into(),
        CodeHashMismatch { current } => format!(
            "the registry's release code is now 0x{}, not the one you expected: check what \
             changed before creating a release with it",
            hex::encode(current)
        ),
        NotOfferedOwner => "only the account the registry was offered to may accept it".into(),
    }
}

fn sale_terms_error(e: &SaleTermsError) -> &'static str {
    use SaleTermsError::*;
    match e {
        EmptyTitle => "the title is empty",
        TitleTooLong => "the title is too long",
        MetadataUriTooLong => "the metadata URI is longer than 256 characters",
        ZeroPrice => "the price must be more than zero",
        ZeroEditions => "the edition limit must be at least 1",
        SaleEndsBeforeStart => "the sale ends before it starts",
        DisputeWindowTooLong => "the dispute window is longer than 90 days",
        DisputeWindowTooShort => "the dispute window must be at least 7 days",
    }
}

fn perk_terms_error(e: &PerkTermsError) -> &'static str {
    use PerkTermsError::*;
    match e {
        KindNotInCategory => "the kind does not belong to that category",
        EmptyTitle => "the title is empty",
        TitleTooLong => "the title is longer than 96 characters",
        DescriptionTooLong => "the description is longer than 600 characters",
        MetadataUriTooLong => "the metadata URI is longer than 256 characters",
        EscrowShareTooLarge => "the escrow share is more than 100 %",
        ZeroQuantityLimit => "a quantity limit must be at least 1",
    }
}

pub fn state_words(state: EntitlementState) -> &'static str {
    match state {
        EntitlementState::Pending => "still pending",
        EntitlementState::Delivered => "delivered",
        EntitlementState::Disputed => "under dispute",
        EntitlementState::Confirmed => "confirmed",
        EntitlementState::RefundOwed => "owed back to the holder",
        EntitlementState::Refunded => "already refunded",
    }
}
