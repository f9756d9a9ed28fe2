pub mod registry_stub {
    use dreamster_types::registry_api::Outcome;
    use std::cell::RefCell;

    thread_local! {
        static OUTCOMES: RefCell<Vec<(Outcome, bool)>> = const { RefCell::new(Vec::new()) };
    }

    pub fn record(outcome: Outcome, self_dealt: bool) {
        OUTCOMES.with(|o| o.borrow_mut().push((outcome, self_dealt)))
    }
    /// The outcomes reported, with whether each came from an edition the artist bought.
    pub fn reported() -> Vec<(Outcome, bool)> {
        OUTCOMES.with(|o| o.borrow().clone())
    }
    pub fn reset() {
        OUTCOMES.with(|o| o.borrow_mut().clear());
    }
    pub fn outcomes() -> Vec<Outcome> {
        OUTCOMES.with(|o| o.borrow().iter().map(|(o, _)| *o).collect())
    }
}

use crate::{Error, Release};
use dreamster_types::entitlement::{EntitlementState, PerkStatus, RefundReason};
use dreamster_types::events::{Approval, EntitlementAction, EntitlementChanged, PerkCancelled};
use dreamster_types::perk::{DeliveryMethod, PerkCategory, PerkKind, PerkTerms, PerkTermsError};
use dreamster_types::registry_api::Outcome;
use dreamster_types::release::{
    SaleTerms, SaleTermsError, MAX_DEADLINE_HORIZON, MAX_PERKS_PER_RELEASE, MIN_DISPUTE_WINDOW,
    REFUND_GRACE, RULING_TIMEOUT,
};
use dreamster_types::{Balance, EditionId, Timestamp};
use ink::env::test::{self, DefaultAccounts};
use ink::env::DefaultEnvironment as Env;
use ink::primitives::AccountId;

pub(crate) const PRICE: Balance = 10_000_000;
pub(crate) const WINDOW: Timestamp = MIN_DISPUTE_WINDOW;
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
/// artist (alice); eve is its arbiter (the artist, named too, is dropped).
pub(crate) fn deploy_with(terms: SaleTerms) -> Release {
    let a = accounts();
    deploy_with_arbiters(terms, vec![a.eve, a.alice, a.eve])
}

/// [`deploy_with`], naming `arbiters`.
pub(crate) fn deploy_with_arbiters(terms: SaleTerms, arbiters: Vec<AccountId>) -> Release {
    let a = accounts();
    registry_stub::reset();
    test::set_callee::<Env>(contract_id());
    test::set_account_balance::<Env>(contract_id(), 0);
    for who in [a.alice, a.bob, a.charlie, a.django, a.eve, a.frank] {
        test::set_account_balance::<Env>(who, 1_000_000_000_000);
    }
    set_now(0);
    as_caller(a.django);
    Release::new(a.alice, terms, arbiters).expect("valid terms")
}

pub(crate) fn deploy() -> Release {
    deploy_with(sale_terms())
}

pub(crate) fn buy_as(r: &mut Release, who: AccountId, value: Balance) -> Result<EditionId, Error> {
    as_caller(who);
    test::transfer_in::<Env>(value);
    r.buy(Vec::new())
}

/// The last event the contract emitted, decoded as `E` (its signature topic checked first).
fn last_event<E: ink::env::Event + ink::scale::Decode>() -> E {
    event_before_last::<E>(0)
}

/// The event emitted `n` events before the last, decoded as `E`.
fn event_before_last<E: ink::env::Event + ink::scale::Decode>(n: usize) -> E {
    let events: Vec<_> = test::recorded_events().collect();
    let event = events.iter().rev().nth(n).expect("an event");
    assert_eq!(
        event.topics.first().map(|t| t.as_slice()),
        E::SIGNATURE_TOPIC.as_ref().map(|t| t.as_slice()),
        "the last event is not the one expected"
    );
    E::decode(&mut &event.data[..]).expect("event data decodes")
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
        Release::new(a.alice, terms, vec![]).err(),
        Some(Error::InvalidSaleTerms(SaleTermsError::ZeroPrice))
    );
    assert_eq!(
        Release::new(a.alice, sale_terms(), vec![a.eve; 17]).err(),
        Some(Error::TooManyArbiters)
    );
    let r = deploy();
    assert_eq!(
        (r.artist(), r.registry(), r.sale_terms(), r.arbiters()),
        (a.alice, a.django, sale_terms(), vec![a.eve])
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
    let pages = [
        r.perks(0, 100),
        r.perks(8, 8),
        r.perks(16, 8),
        r.perks(u32::MAX, 8),
    ];
    assert_eq!(pages.map(|p| p.len()), [8, 8, 0, 0]);
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
    assert_eq!(
        registry_stub::outcomes(),
        vec![],
        "an unlock counts for the artist only once it stands"
    );
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
    assert_eq!(r.status(0, 1), Some(PerkStatus::DeliveredLate));
    assert_eq!(
        registry_stub::outcomes(),
        vec![],
        "a delivery counts only once it stands"
    );
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
            until: DEADLINE + WINDOW
        })
    );
    set_now(DEADLINE + WINDOW + 1);
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
    set_now(DEADLINE + WINDOW + 1);
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
    set_now(DEADLINE + WINDOW + 1);
    assert_eq!(r.dispute(0, 1, [3; 32]), Err(Error::DisputeWindowClosed));
    set_now(DEADLINE + WINDOW);
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
    // Perk 0 is automatic: never unlocked, its refund is the fan's doing, not the artist's.
    assert!(registry_stub::outcomes().contains(&Outcome::Unclaimed));
    assert!(!registry_stub::outcomes().contains(&Outcome::RefundedOverdue));
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
    set_now(9);
    r.unlock(0, 0).expect("unlock");
    let unlocked: EntitlementChanged = last_event();
    assert_eq!(
        unlocked,
        EntitlementChanged {
            edition: 0,
            perk: 0,
            actor: a.bob,
            from: EntitlementState::Pending,
            to: EntitlementState::Delivered,
            action: EntitlementAction::Unlocked {
                content_hash: CONTENT
            },
            at: 9,
        }
    );
    r.confirm(0, 0).expect("confirm");
    let released: dreamster_types::events::EscrowReleased = last_event();
    assert_eq!(
        (released.edition, released.perk, released.amount),
        (0, 0, PRICE / 5)
    );
    // unlock: EntitlementChanged; confirm: EntitlementChanged + EscrowReleased
    assert_eq!(test::recorded_events().count(), before + 3);
    // The topics indexers filter on: the signature, then edition, perk and actor.
    let events: Vec<_> = test::recorded_events().collect();
    let changed = &events[events.len() - 2];
    assert_eq!(
        changed.topics,
        vec![
            <EntitlementChanged as ink::env::Event>::SIGNATURE_TOPIC
                .expect("signature")
                .to_vec(),
            topic(&0u32),
            topic(&0u32),
            topic(&a.bob),
        ]
    );
}

/// An `#[ink(topic)]` field as ink! 5 publishes it: its encoding, zero-padded to 32 bytes
/// (longer ones are hashed; none of ours is).
fn topic<T: ink::scale::Encode>(value: &T) -> Vec<u8> {
    let mut bytes = value.encode();
    assert!(bytes.len() <= 32);
    bytes.resize(32, 0);
    bytes
}

// ---------------- the attacks of issue 14, each run against the contract ----------------

/// Finding 1: a 1 ms window is refused, and an event perk "delivered" on day 1 but due on
/// day 60 can still be disputed after day 60 (the window runs from the later of the two).
#[ink::test]
fn attack_short_window_and_early_junk_delivery_fail() {
    let a = accounts();
    as_caller(a.django);
    assert_eq!(
        Release::new(
            a.alice,
            SaleTerms {
                dispute_window: 1,
                ..sale_terms()
            },
            vec![a.eve]
        )
        .err(),
        Some(Error::InvalidSaleTerms(
            SaleTermsError::DisputeWindowTooShort
        ))
    );
    let mut r = release_with_sale();
    as_caller(a.alice);
    set_now(1);
    r.mark_delivered(0, 1, [0xBA; 32])
        .expect("junk proof, long before the event");
    // Anyone's settle "a block later", and any time until the deadline plus the window,
    // is refused; the holder can dispute all that time.
    as_caller(a.frank);
    for now in [2, DEADLINE, DEADLINE + WINDOW] {
        set_now(now);
        assert_eq!(
            r.settle(0, 1),
            Err(Error::DisputeWindowOpen {
                until: DEADLINE + WINDOW
            })
        );
    }
    as_caller(a.bob);
    assert_eq!(r.dispute(0, 1, [0xE1; 32]), Ok(()));
    as_caller(a.alice);
    assert_eq!(
        r.withdraw(),
        Ok(PRICE / 2),
        "only the music's share was ever free"
    );
    books_balance(&r);
}

/// Finding 2: a dispute nobody rules on times out and the escrow is the holder's; the
/// arbiters are the ones named at creation; a past holder may not rule.
#[ink::test]
fn attack_absent_or_conflicted_arbiter_cannot_lock_escrow() {
    let a = accounts();
    let mut r = disputed();
    let opened = 0;
    // Eve buys an edition and passes it on: she held one, so she may not rule here.
    buy_as(&mut r, a.eve, PRICE).expect("eve buys");
    as_caller(a.eve);
    r.transfer(a.frank, 1).expect("eve passes it on");
    assert_eq!(r.resolve(0, 1, false), Err(Error::ArbiterIsParty));
    // Nobody else may rule; after the timeout the holder takes the escrow back.
    as_caller(a.bob);
    assert_eq!(
        r.claim_refund(0, 1),
        Err(Error::RulingPending {
            until: opened + RULING_TIMEOUT
        })
    );
    set_now(opened + RULING_TIMEOUT + 1);
    assert_eq!(r.status(0, 1), Some(PerkStatus::Refundable));
    assert_eq!(r.claim_refund(0, 1), Ok(PRICE * 3 / 10));
    let changed: EntitlementChanged = last_event();
    assert_eq!(
        changed.action,
        EntitlementAction::Refunded {
            amount: PRICE * 3 / 10,
            reason: RefundReason::RulingExpired
        }
    );
    assert!(
        !registry_stub::outcomes().contains(&Outcome::RefundedOverdue),
        "an arbiter's silence is not the artist's overdue delivery"
    );
    assert!(registry_stub::outcomes().contains(&Outcome::RulingExpired));
    books_balance(&r);
}

/// An arbiter who comes too late cannot rule any more.
#[ink::test]
fn a_ruling_after_the_timeout_is_refused() {
    let a = accounts();
    let mut r = disputed();
    set_now(RULING_TIMEOUT + 1);
    as_caller(a.eve);
    assert_eq!(r.resolve(0, 1, false), Err(Error::RulingExpired));
}

/// Finding 3: past the deadline the fan asks for the refund; the artist's late junk
/// delivery lands first; the refund still pays, and the delivery never settles by itself.
#[ink::test]
fn attack_late_delivery_front_running_a_refund_fails() {
    let a = accounts();
    let mut r = release_with_sale();
    set_now(DEADLINE + 1);
    as_caller(a.alice);
    r.mark_delivered(0, 1, [0xBA; 32])
        .expect("late junk delivery");
    assert_eq!(r.status(0, 1), Some(PerkStatus::DeliveredLate));
    as_caller(a.frank);
    set_now(u64::MAX);
    assert_eq!(r.settle(0, 1), Err(Error::DeliveredLate));
    as_caller(a.bob);
    assert_eq!(r.dispute(0, 1, [1; 32]), Err(Error::DeliveredLate));
    assert_eq!(r.refundable_amount(0, 1), PRICE * 3 / 10);
    assert_eq!(r.claim_refund(0, 1), Ok(PRICE * 3 / 10));
    books_balance(&r);
}

/// Finding 3, the other side: a fan who wants the late delivery confirms it.
#[ink::test]
fn a_late_delivery_stands_when_the_fan_accepts_it() {
    let a = accounts();
    let mut r = release_with_sale();
    set_now(DEADLINE + 1);
    as_caller(a.alice);
    r.mark_delivered(0, 1, [0x0B; 32]).expect("late delivery");
    as_caller(a.bob);
    let before = r.artist_withdrawable();
    assert_eq!(r.confirm(0, 1), Ok(()));
    assert_eq!(r.artist_withdrawable(), before + PRICE * 3 / 10);
    assert_eq!(
        r.claim_refund(0, 1),
        Err(Error::WrongState(EntitlementState::Confirmed))
    );
}

/// Finding 4: an edition sold after a perk's deadline does not carry it, so it cannot be
/// refunded at once to hurt the artist; a buyer who expected it is refused.
#[ink::test]
fn attack_buying_an_expired_perk_to_refund_it_fails() {
    let a = accounts();
    let mut r = release_with_sale();
    set_now(DEADLINE);
    as_caller(a.charlie);
    test::transfer_in::<Env>(PRICE);
    assert_eq!(r.buy(vec![1]), Err(Error::PerkUnavailable { perk: 1 }));
    assert_eq!(buy_as(&mut r, a.charlie, PRICE), Ok(1));
    assert_eq!(r.entitlements_of(1), vec![]);
    assert_eq!(r.claim_refund(1, 1), Err(Error::NotEntitled));
    // The whole price of such an edition is the music's.
    assert_eq!(r.artist_withdrawable(), PRICE / 2 + PRICE);
}

/// Finding 8: two fans buy the last "first 1" perk; the second is refused, not charged
/// the full price for an edition without it.
#[ink::test]
fn attack_buy_race_on_a_limited_perk_refuses_the_loser() {
    let a = accounts();
    let mut r = deploy();
    as_caller(a.alice);
    let mut first = perk_terms(PerkKind::SignedMerch, 3_000, DeliveryMethod::Physical);
    first.quantity_limit = Some(1);
    r.add_perk(first).expect("limited perk");
    as_caller(a.bob);
    test::transfer_in::<Env>(PRICE);
    assert_eq!(r.buy(vec![0]), Ok(0));
    as_caller(a.charlie);
    test::transfer_in::<Env>(PRICE);
    assert_eq!(r.buy(vec![0]), Err(Error::PerkUnavailable { perk: 0 }));
    assert_eq!(r.buy(vec![7]), Err(Error::PerkUnavailable { perk: 7 }));
    assert_eq!(r.buy(vec![0; 17]), Err(Error::TooManyExpected));
    assert_eq!(r.total_supply(), 1);
}

/// Finding 10: a deadline beyond the horizon is refused.
#[ink::test]
fn attack_never_due_deadline_is_refused() {
    let a = accounts();
    let mut r = deploy();
    as_caller(a.alice);
    set_now(5);
    let mut never = perk_terms(PerkKind::PrivateConcert, 1_000, DeliveryMethod::Event);
    never.deadline = u64::MAX;
    assert_eq!(r.add_perk(never.clone()), Err(Error::DeadlineTooFar));
    never.deadline = 5 + MAX_DEADLINE_HORIZON;
    assert_eq!(r.add_perk(never), Ok(0));
}

/// Finding 10: a cancelled perk refunds every pending entitlement at once, binds no new
/// edition, leaves deliveries already made alone, and is not counted as overdue.
#[ink::test]
fn cancel_perk_makes_pending_entitlements_refundable() {
    let a = accounts();
    let mut r = release_with_sale();
    buy_as(&mut r, a.charlie, PRICE).expect("edition 1");
    as_caller(a.alice);
    r.mark_delivered(1, 1, [0x0D; 32])
        .expect("delivered to charlie");
    as_caller(a.bob);
    assert_eq!(r.cancel_perk(1), Err(Error::NotArtist));
    as_caller(a.alice);
    set_now(77);
    assert_eq!(r.cancel_perk(1), Ok(()));
    let cancelled: PerkCancelled = last_event();
    assert_eq!((cancelled.perk, cancelled.at), (1, 77));
    assert_eq!(r.cancel_perk(1), Err(Error::PerkCancelled));
    assert_eq!(r.cancel_perk(9), Err(Error::NoSuchPerk));
    assert_eq!(r.perk(1).and_then(|p| p.cancelled_at), Some(77));
    assert_eq!(r.mark_delivered(0, 1, [1; 32]), Err(Error::PerkCancelled));
    assert_eq!(r.status(0, 1), Some(PerkStatus::Cancelled));
    assert_eq!(r.status(1, 1), Some(PerkStatus::Delivered));
    as_caller(a.bob);
    assert_eq!(r.claim_refund(0, 1), Ok(PRICE * 3 / 10));
    let changed: EntitlementChanged = last_event();
    assert_eq!(
        changed.action,
        EntitlementAction::Refunded {
            amount: PRICE * 3 / 10,
            reason: RefundReason::Cancelled
        }
    );
    assert!(!registry_stub::outcomes().contains(&Outcome::RefundedOverdue));
    assert!(registry_stub::outcomes().contains(&Outcome::Cancelled));
    as_caller(a.charlie);
    assert_eq!(
        r.claim_refund(1, 1),
        Err(Error::WrongState(EntitlementState::Delivered))
    );
    buy_as(&mut r, a.django, PRICE).expect("edition 2");
    assert_eq!(
        r.entitlement(2, 1),
        None,
        "a cancelled perk binds no new edition"
    );
    books_balance(&r);
}

/// Finding 11: an edition sent to the release itself would strand its escrow; a transfer
/// that ends an approval says so in an event.
#[ink::test]
fn attack_transfer_to_the_release_fails_and_cleared_approvals_are_announced() {
    let a = accounts();
    let mut r = release_with_sale();
    as_caller(a.bob);
    assert_eq!(r.transfer(contract_id(), 0), Err(Error::TransferToRelease));
    r.approve(Some(a.charlie), 0).expect("approve");
    as_caller(a.charlie);
    r.transfer(a.django, 0).expect("approved transfer");
    let moved: dreamster_types::events::Transfer = last_event();
    assert_eq!((moved.from, moved.to), (Some(a.bob), Some(a.django)));
    let cleared: Approval = event_before_last(1);
    assert_eq!(
        (cleared.owner, cleared.approved, cleared.edition),
        (a.bob, None, 0)
    );
    assert_eq!(r.get_approved(0), None);
}

/// Review of finding 2: an edition given to an arbiter does not disqualify them (or one
/// gift per arbiter would strand every dispute until its timeout); holding the disputed
/// edition itself does.
#[ink::test]
fn a_gift_cannot_disqualify_an_arbiter_but_holding_the_disputed_edition_does() {
    let a = accounts();
    let mut r = disputed();
    buy_as(&mut r, a.bob, PRICE).expect("bob buys a second edition");
    as_caller(a.bob);
    r.transfer(a.eve, 1).expect("a gift to the arbiter");
    as_caller(a.eve);
    assert_eq!(r.resolve(0, 1, true), Ok(()));
}

/// A dispute whose edition the arbiter is then handed: she may not rule on it. (A test of
/// its own: the off-chain environment keeps one contract's storage across deployments.)
#[ink::test]
fn holding_the_disputed_edition_disqualifies_an_arbiter() {
    let a = accounts();
    let mut r = disputed();
    as_caller(a.bob);
    r.transfer(a.eve, 0)
        .expect("the disputed edition to the arbiter");
    as_caller(a.eve);
    assert_eq!(r.resolve(0, 1, true), Err(Error::ArbiterIsParty));
}

/// Review of finding 10: past its deadline an undelivered perk is overdue, and cancelling
/// it then would relabel the artist's failure.
#[ink::test]
fn a_perk_cannot_be_cancelled_after_its_deadline() {
    let a = accounts();
    let mut r = release_with_sale();
    set_now(DEADLINE + 1);
    as_caller(a.alice);
    assert_eq!(r.cancel_perk(1), Err(Error::CancelAfterDeadline));
    assert_eq!(r.status(0, 1), Some(PerkStatus::Overdue));
}

// ---------------- finding 5: reputation counts who actually failed ----------------

/// The artist buys their own edition, unlocks, confirms and rates 5: every outcome of it
/// is reported as self-dealt, so the record shows what paying fans stand behind.
#[ink::test]
fn attack_self_dealt_five_stars_are_counted_apart() {
    let a = accounts();
    let mut r = release_with_sale();
    assert_eq!(buy_as(&mut r, a.alice, PRICE), Ok(1));
    as_caller(a.alice);
    r.unlock(1, 0).expect("unlock");
    r.confirm(1, 0).expect("confirm");
    r.rate(1, 0, 5).expect("rate");
    assert_eq!(
        registry_stub::reported(),
        vec![(Outcome::DeliveredOnTime, true), (Outcome::Rated(5), true)]
    );
    // A fan's edition reports as not self-dealt.
    as_caller(a.bob);
    r.unlock(0, 0).expect("unlock");
    r.confirm(0, 0).expect("confirm");
    assert_eq!(
        registry_stub::reported().last(),
        Some(&(Outcome::DeliveredOnTime, false))
    );
}

/// A junk delivery that loses its dispute never counts as delivered on time.
#[ink::test]
fn attack_fake_delivery_keeps_no_on_time_count() {
    let a = accounts();
    let mut r = disputed();
    as_caller(a.eve);
    r.resolve(0, 1, true).expect("ruled for the fan");
    assert_eq!(registry_stub::outcomes(), vec![Outcome::DisputeLost]);
}

/// An automatic perk the fan never unlocked is refunded, counted as unclaimed (the
/// content was there), not as the artist's overdue delivery; an unlock after the deadline
/// is refused, so it cannot count as on time either.
#[ink::test]
fn attack_unclaimed_or_late_unlocks_do_not_move_the_artists_record() {
    let a = accounts();
    let mut r = release_with_sale();
    set_now(DEADLINE + 1);
    as_caller(a.bob);
    assert_eq!(r.unlock(0, 0), Err(Error::UnlockClosed));
    assert_eq!(r.claim_refund(0, 0), Ok(PRICE / 5));
    let changed: EntitlementChanged = last_event();
    assert_eq!(
        changed.action,
        EntitlementAction::Refunded {
            amount: PRICE / 5,
            reason: RefundReason::Unclaimed
        }
    );
    // The physical perk, undelivered, is the artist's failure.
    assert_eq!(r.claim_refund(0, 1), Ok(PRICE * 3 / 10));
    assert_eq!(
        registry_stub::outcomes(),
        vec![Outcome::Unclaimed, Outcome::RefundedOverdue]
    );
}

/// A delivery counts once it stands: confirmed on time, or late and accepted by the fan.
#[ink::test]
fn deliveries_count_when_they_stand() {
    let a = accounts();
    let mut r = release_with_sale();
    buy_as(&mut r, a.charlie, PRICE).expect("edition 1");
    as_caller(a.alice);
    r.mark_delivered(0, 1, [1; 32]).expect("on time");
    set_now(DEADLINE + 1);
    r.mark_delivered(1, 1, [2; 32]).expect("late");
    assert_eq!(registry_stub::outcomes(), vec![]);
    as_caller(a.bob);
    r.confirm(0, 1).expect("confirm on time");
    as_caller(a.charlie);
    r.confirm(1, 1).expect("accept late");
    assert_eq!(
        registry_stub::outcomes(),
        vec![Outcome::DeliveredOnTime, Outcome::DeliveredLate]
    );
}

/// The keeper: once the holder has no choice left, anyone may trigger a refund, and the
/// money goes to the holder, never to whoever sent the call.
#[ink::test]
fn anyone_may_trigger_a_refund_the_holder_has_no_choice_about() {
    let a = accounts();
    let mut r = disputed();
    buy_as(&mut r, a.charlie, PRICE).expect("edition 1");
    // Ruled for the fan: owed to bob, triggered by a stranger (frank).
    as_caller(a.eve);
    r.resolve(0, 1, true).expect("resolve");
    let (bob, frank) = (balance(a.bob), balance(a.frank));
    as_caller(a.frank);
    assert_eq!(r.claim_refund(0, 1), Ok(PRICE * 3 / 10));
    let changed: EntitlementChanged = last_event();
    assert_eq!(
        (changed.edition, changed.perk, changed.actor),
        (0, 1, a.frank)
    );
    assert_eq!(
        changed.action,
        EntitlementAction::Refunded {
            amount: PRICE * 3 / 10,
            reason: RefundReason::Ruled
        }
    );
    assert_eq!(balance(a.bob), bob + PRICE * 3 / 10);
    assert_eq!(balance(a.frank), frank, "the caller gets nothing");
    // Cancelled: charlie's pending perk 1 is refunded at once by anyone, to charlie.
    as_caller(a.alice);
    r.cancel_perk(1).expect("cancel");
    let charlie = balance(a.charlie);
    as_caller(a.frank);
    assert_eq!(r.claim_refund(1, 1), Ok(PRICE * 3 / 10));
    assert_eq!(balance(a.charlie), charlie + PRICE * 3 / 10);
    // An automatic perk never unlocked: past its deadline nobody can unlock it any more.
    set_now(DEADLINE + 1);
    as_caller(a.frank);
    assert_eq!(r.claim_refund(1, 0), Ok(PRICE / 5));
    assert_eq!(balance(a.charlie), charlie + PRICE * 3 / 10 + PRICE / 5);
    assert_eq!(balance(a.frank), frank);
    books_balance(&r);
}

/// Finding 3 meets the keeper: past the deadline, for `REFUND_GRACE`, the refund is the
/// holder's alone to take, so a fan who wants a late delivery can still accept it; after
/// it anyone may trigger the refund — of a late delivery only `REFUND_GRACE` after it was
/// made, so the fan always has that long to say yes.
#[ink::test]
fn a_stranger_cannot_refund_an_overdue_perk_during_the_grace() {
    let a = accounts();
    let mut r = release_with_sale();
    buy_as(&mut r, a.charlie, PRICE).expect("edition 1");
    as_caller(a.frank);
    assert_eq!(
        r.claim_refund(0, 1),
        Err(Error::DeadlineNotPassed { deadline: DEADLINE })
    );
    set_now(DEADLINE + REFUND_GRACE - 1);
    assert_eq!(
        r.claim_refund(0, 1),
        Err(Error::RefundReservedForHolder {
            from: DEADLINE + REFUND_GRACE
        })
    );
    // The artist delivers late on the last moment of the grace; bob may still accept it.
    as_caller(a.alice);
    r.mark_delivered(0, 1, [0x0B; 32]).expect("late delivery");
    set_now(DEADLINE + REFUND_GRACE);
    as_caller(a.frank);
    assert_eq!(
        r.claim_refund(0, 1),
        Err(Error::RefundReservedForHolder {
            from: DEADLINE + 2 * REFUND_GRACE - 1
        })
    );
    as_caller(a.bob);
    assert_eq!(r.confirm(0, 1), Ok(()));
    // Charlie's undelivered perk is open to anyone now, and paid to charlie.
    let (charlie, frank) = (balance(a.charlie), balance(a.frank));
    as_caller(a.frank);
    assert_eq!(r.claim_refund(1, 1), Ok(PRICE * 3 / 10));
    assert_eq!(balance(a.charlie), charlie + PRICE * 3 / 10);
    assert_eq!(balance(a.frank), frank);
    assert!(registry_stub::outcomes().contains(&Outcome::RefundedOverdue));
    books_balance(&r);
}

/// The two remaining paths open to anyone: a late delivery the holder never confirmed, from
/// `REFUND_GRACE` after it was made; a dispute nobody ruled on, once the ruling time is
/// over. Both pay the holder.
#[ink::test]
fn a_stranger_refunds_late_deliveries_and_expired_rulings_to_the_holder() {
    let a = accounts();
    let mut r = disputed();
    buy_as(&mut r, a.charlie, PRICE).expect("edition 1");
    set_now(DEADLINE + 5);
    as_caller(a.alice);
    r.mark_delivered(1, 1, [0x0C; 32]).expect("late delivery");
    let (bob, charlie, frank) = (balance(a.bob), balance(a.charlie), balance(a.frank));
    as_caller(a.frank);
    set_now(DEADLINE + 5 + REFUND_GRACE - 1);
    assert_eq!(
        r.claim_refund(1, 1),
        Err(Error::RefundReservedForHolder {
            from: DEADLINE + 5 + REFUND_GRACE
        })
    );
    set_now(DEADLINE + 5 + REFUND_GRACE);
    assert_eq!(r.claim_refund(1, 1), Ok(PRICE * 3 / 10));
    let changed: EntitlementChanged = last_event();
    assert_eq!(
        changed.action,
        EntitlementAction::Refunded {
            amount: PRICE * 3 / 10,
            reason: RefundReason::DeliveredLate
        }
    );
    assert_eq!(balance(a.charlie), charlie + PRICE * 3 / 10);
    // Bob's dispute (disputed at 0) went unruled for RULING_TIMEOUT.
    set_now(RULING_TIMEOUT);
    assert_eq!(
        r.claim_refund(0, 1),
        Err(Error::RulingPending {
            until: RULING_TIMEOUT
        })
    );
    set_now(RULING_TIMEOUT + 1);
    assert_eq!(r.claim_refund(0, 1), Ok(PRICE * 3 / 10));
    assert_eq!(balance(a.bob), bob + PRICE * 3 / 10);
    assert_eq!(balance(a.frank), frank);
    books_balance(&r);
}

/// PSP34: a fan's editions are listed the way wallets list them, move by the standard's
/// `transfer` (the owner's list stays dense), and carry a name and URI.
#[ink::test]
fn psp34_lists_moves_and_names_a_fans_editions() {
    use dreamster_types::psp34::{Id, PSP34Enumerable, PSP34Error, PSP34Metadata, PSP34};
    let a = accounts();
    let mut r = deploy();
    for _ in 0..3 {
        buy_as(&mut r, a.bob, PRICE).expect("bob's editions");
    }
    buy_as(&mut r, a.charlie, PRICE).expect("charlie's edition");
    let listed = |r: &Release, who| -> Vec<Option<Id>> {
        (0..PSP34::balance_of(r, who) as u128 + 1)
            .map(|i| PSP34Enumerable::owners_token_by_index(r, who, i).ok())
            .collect()
    };
    assert_eq!(
        listed(&r, a.bob),
        vec![Some(Id::U32(0)), Some(Id::U32(1)), Some(Id::U32(2)), None]
    );
    assert_eq!(PSP34::total_supply(&r), 4);
    assert_eq!(PSP34Enumerable::token_by_index(&r, 3), Ok(Id::U32(3)));
    assert_eq!(
        PSP34Enumerable::token_by_index(&r, 4),
        Err(PSP34Error::TokenNotExists)
    );
    assert_eq!(PSP34::owner_of(&r, Id::U32(3)), Some(a.charlie));
    assert_eq!(
        PSP34::owner_of(&r, Id::U64(3)),
        None,
        "editions are U32 ids"
    );

    // Bob's first edition goes to django: his last moves into its place.
    as_caller(a.bob);
    assert_eq!(
        PSP34::transfer(&mut r, a.django, Id::U32(0), vec![]),
        Ok(())
    );
    assert_eq!(
        listed(&r, a.bob),
        vec![Some(Id::U32(2)), Some(Id::U32(1)), None]
    );
    assert_eq!(listed(&r, a.django), vec![Some(Id::U32(0)), None]);
    assert_eq!(r.owner_of(0), Some(a.django));
    let moved: dreamster_types::events::Transfer = last_event();
    assert_eq!(
        (moved.from, moved.to, moved.edition),
        (Some(a.bob), Some(a.django), 0)
    );

    // Approvals, per edition only.
    assert_eq!(
        PSP34::approve(&mut r, a.bob, Some(Id::U32(1)), true),
        Err(PSP34Error::SelfApprove)
    );
    assert!(matches!(
        PSP34::approve(&mut r, a.eve, None, true),
        Err(PSP34Error::Custom(_))
    ));
    assert_eq!(PSP34::approve(&mut r, a.eve, None, false), Ok(()));
    assert_eq!(
        PSP34::approve(&mut r, a.eve, Some(Id::U32(3)), true),
        Err(PSP34Error::NotApproved)
    );
    assert_eq!(
        PSP34::approve(&mut r, a.eve, Some(Id::U32(1)), true),
        Ok(())
    );
    assert!(PSP34::allowance(&r, a.bob, a.eve, Some(Id::U32(1))));
    assert!(!PSP34::allowance(&r, a.bob, a.eve, None));
    as_caller(a.eve);
    assert_eq!(
        PSP34::transfer(&mut r, a.eve, Id::U32(2), vec![]),
        Err(PSP34Error::NotApproved)
    );
    assert_eq!(
        PSP34::transfer(&mut r, a.eve, Id::U32(9), vec![]),
        Err(PSP34Error::TokenNotExists)
    );
    assert_eq!(PSP34::transfer(&mut r, a.eve, Id::U32(1), vec![]), Ok(()));
    assert!(!PSP34::allowance(&r, a.eve, a.eve, Some(Id::U32(1))));
    assert_eq!(listed(&r, a.bob), vec![Some(Id::U32(2)), None]);
    assert_eq!(
        PSP34::transfer(&mut r, contract_id(), Id::U32(1), vec![]),
        Err(PSP34Error::Custom(
            "an edition cannot be sent to its own release".into()
        ))
    );

    // Names and URI, for an edition and for the collection.
    let name = PSP34Metadata::get_attribute(&r, Id::U32(3), b"name".to_vec());
    assert_eq!(name, Some(b"Night Drive #3".to_vec()));
    let collection = PSP34::collection_id(&r);
    assert_eq!(collection, Id::Bytes(vec![0xEE; 32]));
    assert_eq!(
        PSP34Metadata::get_attribute(&r, collection, b"name".to_vec()),
        Some(b"Night Drive".to_vec())
    );
    assert_eq!(
        PSP34Metadata::get_attribute(&r, Id::U32(3), b"uri".to_vec()),
        Some(Vec::new())
    );
    assert_eq!(
        PSP34Metadata::get_attribute(&r, Id::U32(4), b"name".to_vec()),
        None
    );
    assert_eq!(
        PSP34Metadata::get_attribute(&r, Id::U32(3), b"colour".to_vec()),
        None
    );
}

/// The edges of derived entitlements: a release of sixteen perks whose last one is refunded
/// straight from `Pending` (the last bit of the edition's record), and a sale exactly at
/// the deadline of a perk nobody bought yet, which does not carry it.
#[ink::test]
fn the_sixteenth_perk_and_a_sale_at_a_deadline() {
    let a = accounts();
    let mut r = deploy();
    as_caller(a.alice);
    for _ in 0..MAX_PERKS_PER_RELEASE - 1 {
        r.add_perk(perk_terms(
            PerkKind::LimitedVinyl,
            500,
            DeliveryMethod::Physical,
        ))
        .expect("a perk");
    }
    let mut late = perk_terms(PerkKind::LimitedVinyl, 500, DeliveryMethod::Physical);
    late.deadline = DEADLINE * 2;
    assert_eq!(r.add_perk(late), Ok(15));
    assert_eq!(buy_as(&mut r, a.bob, PRICE), Ok(0));
    as_caller(a.alice);
    r.cancel_perk(15).expect("cancel the sixteenth");
    as_caller(a.frank);
    assert_eq!(r.claim_refund(0, 15), Ok(PRICE / 20));
    assert_eq!(
        r.entitlement(0, 15).map(|e| e.state),
        Some(EntitlementState::Refunded)
    );
    assert_eq!(
        r.claim_refund(0, 15),
        Err(Error::WrongState(EntitlementState::Refunded))
    );
    assert_eq!(
        r.entitlement(0, 14).map(|e| e.state),
        Some(EntitlementState::Pending)
    );
    // Exactly at the deadline of perks 0–14: a new edition carries none of them.
    set_now(DEADLINE);
    assert_eq!(buy_as(&mut r, a.charlie, PRICE), Ok(1));
    assert_eq!(r.entitlements_of(1), vec![]);
    assert_eq!(r.perk(0).map(|p| p.granted), Some(1));
    assert_eq!(r.entitlements_of(0).len(), 16);
    books_balance(&r);
}
