//! The compiled contracts, end to end in drink's runtime: the registry's factory creates a
//! release, and real balances move as fans buy, unlock, confirm, dispute and get refunds.

use dreamster_calls::{registry, release};
use dreamster_drink_tests::*;
use dreamster_types::entitlement::{Entitlement, EntitlementState};
use dreamster_types::errors::ReleaseError;
use dreamster_types::perk::{DeliveryMethod, PerkCategory, PerkKind, PerkTerms};
use dreamster_types::registry_api::RegistryError;
use dreamster_types::release::SaleTerms;

fn terms() -> SaleTerms {
    SaleTerms {
        title: "Night Drive".into(),
        metadata_uri: "ipfs://night-drive".into(),
        price: PRICE,
        max_editions: Some(50),
        sale_start: START,
        sale_end: None,
        dispute_window: 24 * HOUR,
    }
}

fn perk(kind: PerkKind, bps: u16, delivery: DeliveryMethod, deadline: u64) -> PerkTerms {
    PerkTerms {
        category: kind.category().unwrap_or(PerkCategory::Community),
        kind,
        title: "Unreleased demo".into(),
        description: "The demo that never made the album".into(),
        metadata_uri: String::new(),
        estimated_value: 3 * UNIT,
        escrow_bps: bps,
        delivery,
        quantity_limit: None,
        deadline,
    }
}

/// A chain with a release whose perk 0 is automatic (20 %) and perk 1 a physical vinyl
/// (30 %), both due in 7 days, and the arbiter named by the registry's owner.
fn setup() -> anyhow::Result<(Chain, drink::AccountId32)> {
    let mut chain = Chain::new()?;
    chain.set_time(START);
    let registry = chain.registry.clone();
    let added: Result<(), RegistryError> = chain.call(
        OWNER,
        &registry,
        0,
        registry::add_arbiter(ink_id(&account(ARBITER))),
    )?;
    added.map_err(|e| anyhow::anyhow!("add_arbiter: {e:?}"))?;
    let address = chain.create_release(ARTIST, terms())?;
    let deadline = START + 7 * 24 * HOUR;
    let auto = DeliveryMethod::Automatic {
        content_hash: [0xAB; 32],
    };
    let p0: R<u32> = chain.call(
        ARTIST,
        &address,
        0,
        release::add_perk(perk(PerkKind::UnreleasedMusic, 2_000, auto, deadline)),
    )?;
    let p1: R<u32> = chain.call(
        ARTIST,
        &address,
        0,
        release::add_perk(perk(
            PerkKind::LimitedVinyl,
            3_000,
            DeliveryMethod::Physical,
            deadline,
        )),
    )?;
    assert_eq!((p0, p1), (Ok(0), Ok(1)));
    Ok((chain, address))
}

fn buy(chain: &mut Chain, fan: u8, address: &drink::AccountId32) -> anyhow::Result<u32> {
    let edition: R<u32> = chain.call(fan, address, PRICE, release::buy())?;
    edition.map_err(|e| anyhow::anyhow!("buy: {e:?}"))
}

/// The fan receives the refund, less at most a tiny storage deposit: reporting the outcome
/// may create the artist's reputation record in the registry, paid by the caller.
fn assert_refunded(received: u128, refund: u128) {
    assert!(
        received <= refund && received > refund - UNIT / 1_000,
        "received {received} of {refund}"
    );
}

fn ok(answer: R<()>) {
    assert_eq!(answer, Ok(()));
}

fn state(
    chain: &mut Chain,
    address: &drink::AccountId32,
    edition: u32,
    perk: u32,
) -> anyhow::Result<EntitlementState> {
    let e: Option<Entitlement> =
        chain.call(FAN, address, 0, release::entitlement(edition, perk))?;
    e.map(|e| e.state)
        .ok_or_else(|| anyhow::anyhow!("no entitlement"))
}

#[test]
fn factory_creates_releases_it_vouches_for() -> anyhow::Result<()> {
    let (mut chain, address) = setup()?;
    let registry = chain.registry.clone();
    let count: u32 = chain.call(FAN, &registry, 0, registry::release_count())?;
    let artist: Option<ink::primitives::AccountId> = chain.call(
        FAN,
        &registry,
        0,
        registry::artist_of_release(ink_id(&address)),
    )?;
    assert_eq!((count, artist), (1, Some(ink_id(&account(ARTIST)))));
    let stranger: Option<ink::primitives::AccountId> = chain.call(
        FAN,
        &registry,
        0,
        registry::artist_of_release(ink_id(&account(FAN))),
    )?;
    assert_eq!(stranger, None);
    // An unregistered account cannot create a release.
    let refused: Result<ink::primitives::AccountId, RegistryError> =
        chain.call(FAN, &registry, 0, registry::create_release(terms()))?;
    assert_eq!(refused, Err(RegistryError::NotRegisteredArtist));
    Ok(())
}

#[test]
fn buy_unlock_confirm_withdraw_moves_real_balances() -> anyhow::Result<()> {
    let (mut chain, address) = setup()?;
    let fan_before = chain.balance(&account(FAN));
    let contract_before = chain.balance(&address);
    let edition = buy(&mut chain, FAN, &address)?;
    assert_eq!(edition, 0);
    assert_eq!(chain.balance(&address), contract_before + PRICE);
    // The fan also pays the storage deposit of the new edition's records.
    let spent = fan_before - chain.balance(&account(FAN));
    assert!(
        (PRICE..PRICE + UNIT).contains(&spent),
        "buy cost the fan {spent}"
    );
    let held: u128 = chain.call(FAN, &address, 0, release::escrow_held())?;
    assert_eq!(held, PRICE / 2);

    ok(chain.call(FAN, &address, 0, release::unlock(0, 0))?);
    assert_eq!(
        state(&mut chain, &address, 0, 0)?,
        EntitlementState::Delivered
    );
    ok(chain.call(FAN, &address, 0, release::confirm(0, 0))?);
    ok(chain.call(FAN, &address, 0, release::rate(0, 0, 5))?);

    let artist_before = chain.balance(&account(ARTIST));
    let withdrawn: R<u128> = chain.call(ARTIST, &address, 0, release::withdraw())?;
    // The music (50 %) plus the confirmed automatic perk (20 %).
    assert_eq!(withdrawn, Ok(PRICE * 7 / 10));
    assert_eq!(
        chain.balance(&account(ARTIST)),
        artist_before + PRICE * 7 / 10
    );
    assert_eq!(chain.balance(&address), contract_before + PRICE * 3 / 10);

    // The release reported to the registry by a real cross-contract call.
    let reputation = chain.reputation(ARTIST)?;
    assert_eq!(
        (
            reputation.delivered_on_time,
            reputation.rating_sum,
            reputation.rating_count
        ),
        (1, 5, 1)
    );
    Ok(())
}

#[test]
fn undelivered_perk_is_refunded_after_its_deadline() -> anyhow::Result<()> {
    let (mut chain, address) = setup()?;
    buy(&mut chain, FAN, &address)?;
    let early: R<u128> = chain.call(FAN, &address, 0, release::claim_refund(0, 1))?;
    assert!(matches!(early, Err(ReleaseError::DeadlineNotPassed { .. })));

    chain.set_time(START + 7 * 24 * HOUR + 1);
    let preview: u128 = chain.call(FAN, &address, 0, release::refundable_amount(0, 1))?;
    assert_eq!(preview, PRICE * 3 / 10);
    let stranger: R<u128> = chain.call(OTHER_FAN, &address, 0, release::claim_refund(0, 1))?;
    assert_eq!(stranger, Err(ReleaseError::NotHolder));
    let fan_before = chain.balance(&account(FAN));
    let contract_before = chain.balance(&address);
    let refunded: R<u128> = chain.call(FAN, &address, 0, release::claim_refund(0, 1))?;
    assert_eq!(refunded, Ok(PRICE * 3 / 10));
    assert_refunded(chain.balance(&account(FAN)) - fan_before, PRICE * 3 / 10);
    assert_eq!(chain.balance(&address), contract_before - PRICE * 3 / 10);
    let again: R<u128> = chain.call(FAN, &address, 0, release::claim_refund(0, 1))?;
    assert_eq!(
        again,
        Err(ReleaseError::WrongState(EntitlementState::Refunded))
    );

    let reputation = chain.reputation(ARTIST)?;
    assert_eq!(reputation.refunded_overdue, 1);
    Ok(())
}

fn delivered_and_disputed(chain: &mut Chain, address: &drink::AccountId32) -> anyhow::Result<()> {
    buy(chain, FAN, address)?;
    ok(chain.call(
        ARTIST,
        address,
        0,
        release::mark_delivered(0, 1, [0x5E; 32]),
    )?);
    ok(chain.call(FAN, address, 0, release::dispute(0, 1, [0xEF; 32]))?);
    let not_arbiter: R<()> = chain.call(OTHER_FAN, address, 0, release::resolve(0, 1, true))?;
    assert_eq!(not_arbiter, Err(ReleaseError::NotArbiter));
    Ok(())
}

#[test]
fn dispute_resolved_for_the_fan_refunds_the_fan() -> anyhow::Result<()> {
    let (mut chain, address) = setup()?;
    delivered_and_disputed(&mut chain, &address)?;
    ok(chain.call(ARBITER, &address, 0, release::resolve(0, 1, true))?);
    let owed: u128 = chain.call(FAN, &address, 0, release::refunds_owed())?;
    assert_eq!(owed, PRICE * 3 / 10);
    let fan_before = chain.balance(&account(FAN));
    let refunded: R<u128> = chain.call(FAN, &address, 0, release::claim_refund(0, 1))?;
    assert_eq!(refunded, Ok(PRICE * 3 / 10));
    assert_refunded(chain.balance(&account(FAN)) - fan_before, PRICE * 3 / 10);
    let reputation = chain.reputation(ARTIST)?;
    assert_eq!(
        (reputation.delivered_on_time, reputation.disputes_lost),
        (1, 1)
    );
    Ok(())
}

#[test]
fn dispute_resolved_for_the_artist_pays_the_artist() -> anyhow::Result<()> {
    let (mut chain, address) = setup()?;
    delivered_and_disputed(&mut chain, &address)?;
    ok(chain.call(ARBITER, &address, 0, release::resolve(0, 1, false))?);
    let no_refund: R<u128> = chain.call(FAN, &address, 0, release::claim_refund(0, 1))?;
    assert_eq!(
        no_refund,
        Err(ReleaseError::WrongState(EntitlementState::Confirmed))
    );
    let artist_before = chain.balance(&account(ARTIST));
    let withdrawn: R<u128> = chain.call(ARTIST, &address, 0, release::withdraw())?;
    // The music (50 %) plus the vinyl the arbiter ruled delivered (30 %).
    assert_eq!(withdrawn, Ok(PRICE * 8 / 10));
    assert_eq!(
        chain.balance(&account(ARTIST)),
        artist_before + PRICE * 8 / 10
    );
    let reputation = chain.reputation(ARTIST)?;
    assert_eq!(reputation.disputes_won, 1);
    Ok(())
}

#[test]
fn a_failed_message_reverts_and_keeps_the_payment_with_the_fan() -> anyhow::Result<()> {
    let (mut chain, address) = setup()?;
    let fan_before = chain.balance(&account(FAN));
    let wrong: R<u32> = chain.call(FAN, &address, PRICE - 1, release::buy())?;
    assert_eq!(wrong, Err(ReleaseError::WrongPayment { expected: PRICE }));
    assert_eq!(
        chain.balance(&account(FAN)),
        fan_before,
        "a refused buy must not keep the fan's money"
    );
    let supply: u32 = chain.call(FAN, &address, 0, release::total_supply())?;
    assert_eq!(supply, 0);
    Ok(())
}
