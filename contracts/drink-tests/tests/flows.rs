//! The compiled contracts, end to end in drink's runtime: the registry's factory creates a
//! release, and real balances move as fans buy, unlock, confirm, dispute and get refunds.

use dreamster_calls::{registry, release};
use dreamster_drink_tests::*;
use dreamster_types::entitlement::{Entitlement, EntitlementState};
use dreamster_types::errors::ReleaseError;
use dreamster_types::perk::{DeliveryMethod, PerkCategory, PerkKind, PerkTerms};
use dreamster_types::registry_api::RegistryError;
use dreamster_types::release::{SaleTerms, MIN_DISPUTE_WINDOW, REFUND_GRACE};

fn terms() -> SaleTerms {
    SaleTerms {
        title: "Night Drive".into(),
        metadata_uri: "ipfs://night-drive".into(),
        price: PRICE,
        max_editions: Some(50),
        sale_start: START,
        sale_end: None,
        dispute_window: MIN_DISPUTE_WINDOW,
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
    let edition: R<u32> = chain.call(fan, address, PRICE, release::buy(vec![]))?;
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
    let refused: Result<ink::primitives::AccountId, RegistryError> = chain.call(
        FAN,
        &registry,
        0,
        registry::create_release(terms(), chain.release_code),
    )?;
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
    // During the grace the refund is the holder's alone (they may still take a late
    // delivery).
    let deadline = START + 7 * 24 * HOUR;
    let stranger: R<u128> = chain.call(OTHER_FAN, &address, 0, release::claim_refund(0, 1))?;
    assert_eq!(
        stranger,
        Err(ReleaseError::RefundReservedForHolder {
            from: deadline + REFUND_GRACE
        })
    );
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

/// After the grace anyone may trigger an overdue refund, on the compiled contract: the
/// holder is paid, the caller is not.
#[test]
fn after_the_grace_a_stranger_refunds_the_holder() -> anyhow::Result<()> {
    let (mut chain, address) = setup()?;
    buy(&mut chain, FAN, &address)?;
    let deadline = START + 7 * 24 * HOUR;
    chain.set_time(deadline + REFUND_GRACE);
    let fan_before = chain.balance(&account(FAN));
    let stranger_before = chain.balance(&account(OTHER_FAN));
    let refunded: R<u128> = chain.call(OTHER_FAN, &address, 0, release::claim_refund(0, 1))?;
    assert_eq!(refunded, Ok(PRICE * 3 / 10));
    assert_refunded(chain.balance(&account(FAN)) - fan_before, PRICE * 3 / 10);
    assert!(chain.balance(&account(OTHER_FAN)) <= stranger_before);
    assert_eq!(chain.reputation(ARTIST)?.refunded_overdue, 1);
    Ok(())
}

fn delivered_and_disputed(chain: &mut Chain, address: &drink::AccountId32) -> anyhow::Result<()> {
    delivered_and_disputed_by(chain, address, Some(OTHER_FAN))
}

/// Edition 0 bought by the fan, its vinyl delivered and disputed; `outsider`, if given,
/// is refused as an arbiter.
fn delivered_and_disputed_by(
    chain: &mut Chain,
    address: &drink::AccountId32,
    outsider: Option<u8>,
) -> anyhow::Result<()> {
    buy(chain, FAN, address)?;
    ok(chain.call(
        ARTIST,
        address,
        0,
        release::mark_delivered(0, 1, [0x5E; 32]),
    )?);
    ok(chain.call(FAN, address, 0, release::dispute(0, 1, [0xEF; 32]))?);
    if let Some(outsider) = outsider {
        let not_arbiter: R<()> = chain.call(outsider, address, 0, release::resolve(0, 1, true))?;
        assert_eq!(not_arbiter, Err(ReleaseError::NotArbiter));
    }
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
        (0, 1),
        "a delivery lost in a dispute never counted as on time"
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
    let wrong: R<u32> = chain.call(FAN, &address, PRICE - 1, release::buy(vec![]))?;
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

/// Issue 14, finding 2: the arbiters of a release are the registry's when it was created.
/// Removing one afterwards neither strands that release's disputes nor lets a newcomer
/// rule on them; an artist named arbiter never rules on their own release.
#[test]
fn arbiters_are_fixed_when_a_release_is_created() -> anyhow::Result<()> {
    let (mut chain, old_release) = setup()?;
    let registry_addr = chain.registry.clone();
    let named: Vec<ink::primitives::AccountId> =
        chain.call(FAN, &old_release, 0, release::arbiters())?;
    assert_eq!(named, vec![ink_id(&account(ARBITER))]);
    let removed: Result<(), RegistryError> = chain.call(
        OWNER,
        &registry_addr,
        0,
        registry::remove_arbiter(ink_id(&account(ARBITER))),
    )?;
    removed.map_err(|e| anyhow::anyhow!("remove_arbiter: {e:?}"))?;
    for newcomer in [OTHER_FAN, ARTIST] {
        let added: Result<(), RegistryError> = chain.call(
            OWNER,
            &registry_addr,
            0,
            registry::add_arbiter(ink_id(&account(newcomer))),
        )?;
        added.map_err(|e| anyhow::anyhow!("add_arbiter: {e:?}"))?;
    }
    delivered_and_disputed_by(&mut chain, &old_release, None)?;
    let newcomer: R<()> = chain.call(OTHER_FAN, &old_release, 0, release::resolve(0, 1, true))?;
    assert_eq!(newcomer, Err(ReleaseError::NotArbiter));
    ok(chain.call(ARBITER, &old_release, 0, release::resolve(0, 1, true))?);

    // A release created now gets the new list, without its own artist.
    let new_release = chain.create_release(ARTIST, terms())?;
    let named: Vec<ink::primitives::AccountId> =
        chain.call(FAN, &new_release, 0, release::arbiters())?;
    assert_eq!(named, vec![ink_id(&account(OTHER_FAN))]);
    Ok(())
}

/// Issue 14, finding 7: a registry that burns every unit of gas it is given on each report
/// cannot make a refund fail: the release bounds that call and ignores its failure.
#[test]
fn a_gas_burning_registry_cannot_block_refunds() -> anyhow::Result<()> {
    let mut chain = Chain::new()?;
    chain.set_time(START);
    let hostile = chain.deploy_hostile_registry()?;
    chain.call::<()>(OWNER, &hostile, 0, ink::selector_bytes!("burn").to_vec())?;
    let release_code = chain.release_code;
    let address = chain.instantiate_from(
        hostile.clone(),
        release_code,
        dreamster_calls::constructors::release_new(ink_id(&account(ARTIST)), &terms(), &[]),
        b"burnt",
    )?;
    let deadline = START + HOUR;
    let added: R<u32> = chain.call(
        ARTIST,
        &address,
        0,
        release::add_perk(perk(
            PerkKind::LimitedVinyl,
            5_000,
            DeliveryMethod::Physical,
            deadline,
        )),
    )?;
    assert_eq!(added, Ok(0));
    buy(&mut chain, FAN, &address)?;
    chain.set_time(deadline + 1);
    let fan_before = chain.balance(&account(FAN));
    let refunded: R<u128> = chain.call(FAN, &address, 0, release::claim_refund(0, 0))?;
    assert_eq!(
        refunded,
        Ok(PRICE / 2),
        "the refund pays despite the registry"
    );
    assert_eq!(chain.balance(&account(FAN)) - fan_before, PRICE / 2);
    assert!(
        chain.last_cost.ref_time
            < dreamster_types::registry_api::REPORT_REF_TIME_LIMIT + 20_000_000_000,
        "the registry's share of the call is bounded ({} ref_time used)",
        chain.last_cost.ref_time
    );
    let reports: u32 = chain.call(OWNER, &hostile, 0, ink::selector_bytes!("reports").to_vec())?;
    assert_eq!(
        reports, 0,
        "the burning report ran out of gas and was rolled back"
    );
    Ok(())
}

/// Issue 14, finding 9: sixteen perks with every text at its maximum would overflow ink!'s
/// 16 KiB return buffer in one answer; `perks` answers in pages that fit, and reading them
/// all gives all sixteen.
#[test]
fn the_largest_perks_are_read_in_pages_that_fit_the_return_buffer() -> anyhow::Result<()> {
    use dreamster_types::perk::{Perk, MAX_DESCRIPTION_LEN, MAX_METADATA_URI_LEN, MAX_TITLE_LEN};
    use dreamster_types::release::{MAX_PERKS_PER_RELEASE, PERKS_PAGE};
    let mut chain = Chain::new()?;
    chain.set_time(START);
    let address = chain.create_release(ARTIST, terms())?;
    for i in 0..MAX_PERKS_PER_RELEASE {
        // Automatic: the largest delivery method (it carries a 32-byte commitment).
        let mut p = perk(
            PerkKind::SongStems,
            0,
            DeliveryMethod::Automatic {
                content_hash: [0xAA; 32],
            },
            START + 30 * DAY,
        );
        p.title = format!("{i:02}").repeat(MAX_TITLE_LEN / 2);
        p.description = "d".repeat(MAX_DESCRIPTION_LEN);
        p.metadata_uri = "u".repeat(MAX_METADATA_URI_LEN);
        p.quantity_limit = Some(u32::MAX);
        let added: R<u32> = chain.call(ARTIST, &address, 0, release::add_perk(p))?;
        assert_eq!(added, Ok(i));
    }
    let mut all: Vec<Perk> = Vec::new();
    for from in (0..MAX_PERKS_PER_RELEASE).step_by(PERKS_PAGE as usize) {
        let page: Vec<Perk> = chain.call(FAN, &address, 0, release::perks(from, u32::MAX))?;
        assert_eq!(page.len() as u32, PERKS_PAGE);
        assert!(
            chain.last_answer_len < 16 * 1024,
            "a page of {PERKS_PAGE} maximal perks is {} bytes",
            chain.last_answer_len
        );
        assert!(
            chain.last_answer_len * 2 > 16 * 1024,
            "all sixteen in one answer would not fit ({} bytes per page)",
            chain.last_answer_len
        );
        all.extend(page);
    }
    assert_eq!(all.len() as u32, MAX_PERKS_PER_RELEASE);
    assert!(all
        .iter()
        .enumerate()
        .all(|(i, p)| p.terms.title.starts_with(&format!("{i:02}"))));
    Ok(())
}

/// Issue 14, finding 5: the artist buying their own edition and rating it 5 is recorded
/// on chain apart from what paying fans report.
#[test]
fn an_artists_own_purchase_is_recorded_as_self_dealt() -> anyhow::Result<()> {
    let (mut chain, address) = setup()?;
    buy(&mut chain, ARTIST, &address)?;
    ok(chain.call(ARTIST, &address, 0, release::unlock(0, 0))?);
    ok(chain.call(ARTIST, &address, 0, release::confirm(0, 0))?);
    ok(chain.call(ARTIST, &address, 0, release::rate(0, 0, 5))?);
    buy(&mut chain, FAN, &address)?;
    ok(chain.call(FAN, &address, 0, release::unlock(1, 0))?);
    ok(chain.call(FAN, &address, 0, release::confirm(1, 0))?);
    ok(chain.call(FAN, &address, 0, release::rate(1, 0, 2))?);
    let r = chain.reputation(ARTIST)?;
    assert_eq!(
        (r.delivered_on_time, r.rating_sum, r.rating_count),
        (1, 2, 1),
        "only the paying fan's delivery and rating are in the record"
    );
    assert_eq!(
        (r.self_dealt, r.self_rating_sum, r.self_rating_count),
        (2, 5, 1),
        "the artist's own delivery and 5 stars are counted apart"
    );
    Ok(())
}
