pub mod registry_stub {
    use dreamster_types::registry_api::Outcome;
    use ink::primitives::AccountId;
    use std::cell::RefCell;

    thread_local! {
        static ARBITERS: RefCell<Vec<AccountId>> = const { RefCell::new(Vec::new()) };
        static OUTCOMES: RefCell<Vec<Outcome>> = const { RefCell::new(Vec::new()) };
    }

    pub fn is_arbiter(account: AccountId) -> bool {
        ARBITERS.with(|a| a.borrow().contains(&account))
    }
    pub fn record(outcome: Outcome) {
        OUTCOMES.with(|o| o.borrow_mut().push(outcome))
    }
    pub fn reset(arbiters: Vec<AccountId>) {
        ARBITERS.with(|a| *a.borrow_mut() = arbiters);
        OUTCOMES.with(|o| o.borrow_mut().clear());
    }
    pub fn outcomes() -> Vec<Outcome> {
        OUTCOMES.with(|o| o.borrow().clone())
    }
}

use crate::{Error, Release};
use dreamster_types::entitlement::{EntitlementState, PerkStatus};
use dreamster_types::perk::{DeliveryMethod, PerkCategory, PerkKind, PerkTerms, PerkTermsError};
use dreamster_types::registry_api::Outcome;
use dreamster_types::release::{SaleTerms, SaleTermsError, MAX_PERKS_PER_RELEASE};
use dreamster_types::{Balance, EditionId, Timestamp};
use ink::env::test::{self, DefaultAccounts};
use ink::env::DefaultEnvironment as Env;
use ink::primitives::AccountId;

pub(crate) const PRICE: Balance = 10_000_000;
pub(crate) const WINDOW: Timestamp = 1_000;
pub(crate) const DEADLINE: Timestamp = 50_000;
const CONTENT: [u8; 32] = [0xC0; 32];

pub(crate) fn contract_id() -> AccountId {
    AccountId::from([0xEE; 32])
}

pub(crate) fn accounts() -> DefaultAccounts<Env> {
    test::default_accounts::<Env>()
}

pub(crate) fn as_caller(who: AccountId) {
    test::set_caller::<Env>(who);
}

pub(crate) fn set_now(t: Timestamp) {
    test::set_block_timestamp::<Env>(t);
}

pub(crate) fn balance(who: AccountId) -> Balance {
    test::get_account_balance::<Env>(who).unwrap_or(0)
}

pub(crate) fn sale_terms() -> SaleTerms {
    SaleTerms {
        title: "Night Drive".into(),
        metadata_uri: String::new(),
        price: PRICE,
        max_editions: Some(100),
        sale_start: 0,
        sale_end: None,
        dispute_window: WINDOW,
    }
}

pub(crate) fn perk_terms(kind: PerkKind, escrow_bps: u16, delivery: DeliveryMethod) -> PerkTerms {
    PerkTerms {
        category: kind.category().unwrap_or(PerkCategory::Community),
        kind,
        title: "A perk".into(),
        description: "Something good".into(),
        metadata_uri: String::new(),
        estimated_value: 5_000_000,
        escrow_bps,
        delivery,
        quantity_limit: None,
        deadline: DEADLINE,
    }
}

pub(crate) fn automatic() -> DeliveryMethod {
    DeliveryMethod::Automatic {
        content_hash: CONTENT,
    }
}

/// A fresh off-chain chain with the release deployed by the registry (django) for the
/// artist (alice); eve is the registry's arbiter.
pub(crate) fn deploy_with(terms: SaleTerms) -> Release {
    let a = accounts();
    registry_stub::reset(vec![a.eve]);
    test::set_callee::<Env>(contract_id());
    test::set_account_balance::<Env>(contract_id(), 0);
    for who in [a.alice, a.bob, a.charlie, a.django, a.eve, a.frank] {
        test::set_account_balance::<Env>(who, 1_000_000_000_000);
    }
    set_now(0);
    as_caller(a.django);
    Release::new(a.alice, terms).expect("valid terms")
}

pub(crate) fn deploy() -> Release {
    deploy_with(sale_terms())
}

pub(crate) fn buy_as(r: &mut Release, who: AccountId, value: Balance) -> Result<EditionId, Error> {
    as_caller(who);
    test::transfer_in::<Env>(value);
    r.buy()
}

/// Release with perk 0 automatic (20 %), perk 1 physical (30 %), bob holding edition 0.
fn release_with_sale() -> Release {
    let a = accounts();
    let mut r = deploy();
    as_caller(a.alice);
    r.add_perk(perk_terms(PerkKind::UnreleasedMusic, 2_000, automatic()))
        .expect("perk 0");
    r.add_perk(perk_terms(
        PerkKind::LimitedVinyl,
        3_000,
        DeliveryMethod::Physical,
    ))
    .expect("perk 1");
    assert_eq!(buy_as(&mut r, a.bob, PRICE), Ok(0));
    r
}

fn books_balance(r: &Release) {
    assert_eq!(
        balance(contract_id()),
        r.escrow_held() + r.artist_withdrawable() + r.refunds_owed(),
        "contract balance must equal escrow + withdrawable + refunds owed"
    );
}

#[ink::test]
fn constructor_rejects_bad_terms() {
    let a = accounts();
    as_caller(a.django);
    let mut terms = sale_terms();
    terms.price = 0;
    assert_eq!(
        Release::new(a.alice, terms).err(),
        Some(Error::InvalidSaleTerms(SaleTermsError::ZeroPrice))
    );
    let r = deploy();
    assert_eq!(
        (r.artist(), r.registry(), r.sale_terms()),
        (a.alice, a.django, sale_terms())
    );
}

#[ink::test]
fn add_perk_checks_caller_terms_deadline_and_budget() {
    let a = accounts();
    let mut r = deploy();
    let good = perk_terms(PerkKind::PrivateConcert, 4_000, DeliveryMethod::Event);
    as_caller(a.bob);
    assert_eq!(r.add_perk(good.clone()), Err(Error::NotArtist));
    as_caller(a.alice);
    let mut wrong_category = good.clone();
    wrong_category.category = PerkCategory::Community;
    assert_eq!(
        r.add_perk(wrong_category),
        Err(Error::InvalidPerk(PerkTermsError::KindNotInCategory))
    );
    set_now(DEADLINE);
    assert_eq!(r.add_perk(good.clone()), Err(Error::DeadlineInPast));
    set_now(0);
    assert_eq!(r.add_perk(good.clone()), Ok(0));
    assert_eq!(
        r.add_perk(perk_terms(PerkKind::SongStems, 6_001, automatic())),
        Err(Error::EscrowSharesExceeded)
    );
    assert_eq!(
        r.add_perk(perk_terms(PerkKind::SongStems, 6_000, automatic())),
        Ok(1)
    );
    assert_eq!(r.escrow_bps_total(), 10_000);
    for _ in 2..MAX_PERKS_PER_RELEASE {
        r.add_perk(perk_terms(PerkKind::FanEvent, 0, DeliveryMethod::Event))
            .expect("room left");
    }
    assert_eq!(
        r.add_perk(perk_terms(PerkKind::FanEvent, 0, DeliveryMethod::Event)),
        Err(Error::TooManyPerks)
    );
    assert_eq!(r.perks().len() as u32, MAX_PERKS_PER_RELEASE);
    assert_eq!(r.perk(0).map(|p| p.terms), Some(good));
}

#[ink::test]
fn buy_escrows_each_perk_share_and_credits_the_rest() {
    let a = accounts();
    let r = release_with_sale();
    assert_eq!(r.owner_of(0), Some(a.bob));
    assert_eq!(r.balance_of(a.bob), 1);
    assert_eq!(r.total_supply(), 1);
    assert_eq!(r.escrow_held(), PRICE / 2);
    assert_eq!(r.artist_withdrawable(), PRICE / 2);
    assert_eq!(
        r.entitlement(0, 1).map(|e| (e.escrow, e.state)),
        Some((PRICE * 3 / 10, EntitlementState::Pending))
    );
    assert_eq!(r.entitlements_of(0).len(), 2);
    books_balance(&r);
}

#[ink::test]
fn buy_refuses_wrong_payment_closed_sale_and_sold_out() {
    let a = accounts();
    let mut terms = sale_terms();
    terms.sale_start = 100;
    terms.sale_end = Some(200);
    terms.max_editions = Some(1);
    let mut r = deploy_with(terms);
    assert_eq!(buy_as(&mut r, a.bob, PRICE), Err(Error::SaleNotOpen));
    set_now(150);
    assert_eq!(
        buy_as(&mut r, a.bob, PRICE - 1),
        Err(Error::WrongPayment { expected: PRICE })
    );
    assert_eq!(
        buy_as(&mut r, a.bob, PRICE + 1),
        Err(Error::WrongPayment { expected: PRICE })
    );
    assert_eq!(buy_as(&mut r, a.bob, PRICE), Ok(0));
    assert_eq!(buy_as(&mut r, a.charlie, PRICE), Err(Error::SoldOut));
    set_now(200);
    let mut open = deploy_with(SaleTerms {
        sale_start: 100,
        sale_end: Some(200),
        ..sale_terms()
    });
    set_now(200);
    assert_eq!(buy_as(&mut open, a.bob, PRICE), Err(Error::SaleNotOpen));
}

#[ink::test]
fn later_perks_and_quantity_limits_bind_only_later_editions() {
    let a = accounts();
    let mut r = deploy();
    as_caller(a.alice);
    let mut limited = perk_terms(PerkKind::SignedMerch, 1_000, DeliveryMethod::Physical);
    limited.quantity_limit = Some(1);
    r.add_perk(limited).expect("limited");
    buy_as(&mut r, a.bob, PRICE).expect("edition 0");
    as_caller(a.alice);
    r.add_perk(perk_terms(PerkKind::PrivateChat, 1_000, automatic()))
        .expect("later perk");
    buy_as(&mut r, a.charlie, PRICE).expect("edition 1");
    assert!(r.entitlement(0, 0).is_some());
    assert!(
        r.entitlement(1, 0).is_none(),
        "quantity limit of 1 is used up"
    );
    assert!(
        r.entitlement(0, 1).is_none(),
        "a perk added later never binds an earlier edition"
    );
    assert!(r.entitlement(1, 1).is_some());
    assert_eq!(r.perk(1).map(|p| p.added_at_edition), Some(1));
    as_caller(a.bob);
    assert_eq!(r.unlock(0, 1), Err(Error::NotEntitled));
    books_balance(&r);
}

#[ink::test]
fn transfer_and_approve_move_perks_with_the_token() {
    let a = accounts();
    let mut r = release_with_sale();
    as_caller(a.charlie);
    assert_eq!(r.transfer(a.charlie, 0), Err(Error::NotOwnerOrApproved));
    assert_eq!(r.approve(Some(a.charlie), 0), Err(Error::NotHolder));
    assert_eq!(r.transfer(a.charlie, 7), Err(Error::NoSuchEdition));
    as_caller(a.bob);
    assert_eq!(r.approve(Some(a.charlie), 0), Ok(()));
    assert_eq!(r.get_approved(0), Some(a.charlie));
    as_caller(a.charlie);
    assert_eq!(r.transfer(a.charlie, 0), Ok(()));
    assert_eq!(
        (r.owner_of(0), r.balance_of(a.bob), r.balance_of(a.charlie)),
        (Some(a.charlie), 0, 1)
    );
    assert_eq!(
        r.get_approved(0),
        None,
        "an approval is used up by the transfer"
    );
    as_caller(a.bob);
    assert_eq!(r.unlock(0, 0), Err(Error::NotHolder));
    as_caller(a.charlie);
    assert_eq!(r.unlock(0, 0), Ok(()));
    assert_eq!(r.approve(None, 0), Ok(()));
}

#[ink::test]
fn unlock_delivers_automatic_perks_to_the_holder() {
    let a = accounts();
    let mut r = release_with_sale();
    as_caller(a.charlie);
    assert_eq!(r.unlock(0, 0), Err(Error::NotHolder));
    as_caller(a.bob);
    assert_eq!(r.unlock(0, 1), Err(Error::NotAutomatic));
    assert_eq!(r.unlock(0, 9), Err(Error::NoSuchPerk));
    assert_eq!(r.unlock(3, 0), Err(Error::NoSuchEdition));
    set_now(10);
    assert_eq!(r.unlock(0, 0), Ok(()));
    let e = r.entitlement(0, 0).expect("entitlement");
    assert_eq!(
        (e.state, e.delivered_at, e.proof),
        (EntitlementState::Delivered, Some(10), Some(CONTENT))
    );
    assert_eq!(
        r.unlock(0, 0),
        Err(Error::WrongState(EntitlementState::Delivered))
    );
    assert_eq!(registry_stub::outcomes(), vec![Outcome::DeliveredOnTime]);
}

#[ink::test]
fn mark_delivered_is_the_artists_and_reports_lateness() {
    let a = accounts();
    let mut r = release_with_sale();
    as_caller(a.bob);
    assert_eq!(r.mark_delivered(0, 1, [1; 32]), Err(Error::NotArtist));
    as_caller(a.alice);
    assert_eq!(
        r.mark_delivered(0, 0, [1; 32]),
        Err(Error::DeliveredByUnlock)
    );
    set_now(DEADLINE + 1);
    assert_eq!(r.mark_delivered(0, 1, [1; 32]), Ok(()));
    assert_eq!(r.status(0, 1), Some(PerkStatus::Delivered));
    assert_eq!(registry_stub::outcomes(), vec![Outcome::DeliveredLate]);
}

#[ink::test]
fn confirm_releases_escrow_to_the_artist() {
    let a = accounts();
    let mut r = release_with_sale();
    as_caller(a.bob);
    assert_eq!(
        r.confirm(0, 0),
        Err(Error::WrongState(EntitlementState::Pending))
    );
    r.unlock(0, 0).expect("unlock");
    as_caller(a.charlie);
    assert_eq!(r.confirm(0, 0), Err(Error::NotHolder));
    as_caller(a.bob);
    let before = r.artist_withdrawable();
    assert_eq!(r.confirm(0, 0), Ok(()));
    assert_eq!(r.artist_withdrawable(), before + PRICE / 5);
    assert_eq!(r.status(0, 0), Some(PerkStatus::Confirmed));
    books_balance(&r);
}

#[ink::test]
fn settle_waits_for_the_window_and_is_open_to_anyone() {
    let a = accounts();
    let mut r = release_with_sale();
    as_caller(a.bob);
    set_now(100);
    r.unlock(0, 0).expect("unlock");
    as_caller(a.frank);
    assert_eq!(
        r.settle(0, 0),
        Err(Error::DisputeWindowOpen {
            until: 100 + WINDOW
        })
    );
    set_now(101 + WINDOW);
    assert_eq!(r.status(0, 0), Some(PerkStatus::Confirmed));
    assert_eq!(r.settle(0, 0), Ok(()));
    assert_eq!(
        r.entitlement(0, 0).map(|e| e.state),
        Some(EntitlementState::Confirmed)
    );
    books_balance(&r);
}

#[ink::test]
fn rate_once_after_confirmation() {
    let a = accounts();
    let mut r = release_with_sale();
    as_caller(a.bob);
    assert_eq!(
        r.rate(0, 0, 5),
        Err(Error::WrongState(EntitlementState::Pending))
    );
    r.unlock(0, 0).expect("unlock");
    r.confirm(0, 0).expect("confirm");
    assert_eq!(r.rate(0, 0, 9), Err(Error::InvalidRating));
    as_caller(a.charlie);
    assert_eq!(r.rate(0, 0, 5), Err(Error::NotHolder));
    as_caller(a.bob);
    assert_eq!(r.rate(0, 0, 5), Ok(()));
    assert_eq!(r.rate(0, 0, 4), Err(Error::AlreadyRated));
    // A delivery past its window is settled by the rating itself.
    as_caller(a.alice);
    r.mark_delivered(0, 1, [2; 32]).expect("deliver");
    set_now(WINDOW + 1);
    as_caller(a.bob);
    assert_eq!(r.rate(0, 1, 3), Ok(()));
    assert_eq!(
        r.entitlement(0, 1).map(|e| (e.state, e.rating)),
        Some((EntitlementState::Confirmed, Some(3)))
    );
    assert!(registry_stub::outcomes().contains(&Outcome::Rated(3)));
    books_balance(&r);
}

#[ink::test]
fn dispute_inside_the_window_only_by_the_holder() {
    let a = accounts();
    let mut r = release_with_sale();
    as_caller(a.alice);
    r.mark_delivered(0, 1, [2; 32]).expect("deliver");
    as_caller(a.charlie);
    assert_eq!(r.dispute(0, 1, [3; 32]), Err(Error::NotHolder));
    as_caller(a.bob);
    set_now(WINDOW + 1);
    assert_eq!(r.dispute(0, 1, [3; 32]), Err(Error::DisputeWindowClosed));
    set_now(WINDOW);
    assert_eq!(r.dispute(0, 1, [3; 32]), Ok(()));
    assert_eq!(r.entitlement(0, 1).and_then(|e| e.evidence), Some([3; 32]));
    assert_eq!(r.status(0, 1), Some(PerkStatus::Disputed));
}

fn disputed() -> Release {
    let a = accounts();
    let mut r = release_with_sale();
    as_caller(a.alice);
    r.mark_delivered(0, 1, [2; 32]).expect("deliver");
    as_caller(a.bob);
    r.dispute(0, 1, [3; 32]).expect("dispute");
    r
}

#[ink::test]
fn resolve_needs_an_arbiter_who_is_no_party() {
    let a = accounts();
    let mut r = disputed();
    as_caller(a.frank);
    assert_eq!(r.resolve(0, 1, true), Err(Error::NotArbiter));
    as_caller(a.alice);
    assert_eq!(r.resolve(0, 1, false), Err(Error::ArbiterIsParty));
    as_caller(a.bob);
    assert_eq!(r.resolve(0, 1, true), Err(Error::ArbiterIsParty));
    as_caller(a.eve);
    assert_eq!(
        r.resolve(0, 0, true),
        Err(Error::WrongState(EntitlementState::Pending))
    );
    assert_eq!(r.resolve(0, 1, true), Ok(()));
    assert_eq!(r.refunds_owed(), PRICE * 3 / 10);
    assert_eq!(r.refundable_amount(0, 1), PRICE * 3 / 10);
    assert!(registry_stub::outcomes().contains(&Outcome::DisputeLost));
    books_balance(&r);
}

#[ink::test]
fn resolve_for_the_artist_releases_escrow() {
    let a = accounts();
    let mut r = disputed();
    as_caller(a.eve);
    let before = r.artist_withdrawable();
    assert_eq!(r.resolve(0, 1, false), Ok(()));
    assert_eq!(r.artist_withdrawable(), before + PRICE * 3 / 10);
    assert!(registry_stub::outcomes().contains(&Outcome::DisputeWon));
    as_caller(a.bob);
    assert_eq!(
        r.claim_refund(0, 1),
        Err(Error::WrongState(EntitlementState::Confirmed))
    );
    books_balance(&r);
}

#[ink::test]
fn claim_refund_pays_overdue_and_ruled_refunds_to_the_holder() {
    let a = accounts();
    let mut r = disputed();
    as_caller(a.eve);
    r.resolve(0, 1, true).expect("resolve");
    as_caller(a.bob);
    assert_eq!(
        r.claim_refund(0, 0),
        Err(Error::DeadlineNotPassed { deadline: DEADLINE })
    );
    as_caller(a.charlie);
    assert_eq!(r.claim_refund(0, 1), Err(Error::NotHolder));
    as_caller(a.bob);
    let bob_before = balance(a.bob);
    assert_eq!(r.claim_refund(0, 1), Ok(PRICE * 3 / 10));
    set_now(DEADLINE + 1);
    assert_eq!(r.refundable_amount(0, 0), PRICE / 5);
    assert_eq!(r.claim_refund(0, 0), Ok(PRICE / 5));
    assert_eq!(balance(a.bob), bob_before + PRICE / 2);
    assert_eq!(
        r.claim_refund(0, 0),
        Err(Error::WrongState(EntitlementState::Refunded))
    );
    assert_eq!(r.refundable_amount(0, 0), 0);
    assert_eq!((r.escrow_held(), r.refunds_owed()), (0, 0));
    assert!(registry_stub::outcomes().contains(&Outcome::RefundedOverdue));
    books_balance(&r);
}

#[ink::test]
fn withdraw_pays_the_artist_only() {
    let a = accounts();
    let mut r = release_with_sale();
    as_caller(a.bob);
    assert_eq!(r.withdraw(), Err(Error::NotArtist));
    as_caller(a.alice);
    let before = balance(a.alice);
    assert_eq!(r.withdraw(), Ok(PRICE / 2));
    assert_eq!(balance(a.alice), before + PRICE / 2);
    assert_eq!(r.withdraw(), Err(Error::NothingToWithdraw));
    books_balance(&r);
}

#[ink::test]
fn every_state_change_emits_an_event() {
    let a = accounts();
    let mut r = release_with_sale();
    let before = test::recorded_events().count();
    as_caller(a.bob);
    r.unlock(0, 0).expect("unlock");
    r.confirm(0, 0).expect("confirm");
    // unlock: EntitlementChanged; confirm: EntitlementChanged + EscrowReleased
    assert_eq!(test::recorded_events().count(), before + 3);
}
