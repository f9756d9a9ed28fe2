//! Reentrancy, tried for real: a hostile contract deploys a release (so it is that
//! release's registry, the one contract a release calls), buys an edition from its own
//! account, and when the release reports its overdue refund — after paying it, inside the
//! same call — calls back into the release to claim the same refund again.

use dreamster_calls::{constructors, release};
use dreamster_drink_tests::*;
use dreamster_hostile_registry::Reentry;
use dreamster_types::entitlement::EntitlementState;
use dreamster_types::errors::ReleaseError;
use dreamster_types::perk::{DeliveryMethod, PerkCategory, PerkKind, PerkTerms};
use dreamster_types::release::{SaleTerms, MIN_DISPUTE_WINDOW};
use parity_scale_codec::Encode;

fn terms() -> SaleTerms {
    SaleTerms {
        title: "Night Drive".into(),
        metadata_uri: String::new(),
        price: PRICE,
        max_editions: None,
        sale_start: START,
        sale_end: None,
        dispute_window: MIN_DISPUTE_WINDOW,
    }
}

fn vinyl(deadline: u64) -> PerkTerms {
    PerkTerms {
        category: PerkCategory::PhysicalMerchandise,
        kind: PerkKind::LimitedVinyl,
        title: "Signed vinyl".into(),
        description: String::new(),
        metadata_uri: String::new(),
        estimated_value: 3 * UNIT,
        escrow_bps: 5_000,
        delivery: DeliveryMethod::Physical,
        quantity_limit: None,
        deadline,
    }
}

fn message(name: &[u8; 4], args: impl Encode) -> Vec<u8> {
    let mut data = name.to_vec();
    args.encode_to(&mut data);
    data
}

struct Attack {
    chain: Chain,
    hostile: drink::AccountId32,
    release: drink::AccountId32,
}

#[derive(Clone, Copy, PartialEq)]
enum Aim {
    /// No call back: the control.
    Nowhere,
    /// Back into the release that is reporting: reentrancy.
    SameRelease,
    /// Into another release of the attacker's, not on the call stack: shows the call
    /// itself works, so a failure of the reentrant one is the reentrancy guard's doing.
    OtherRelease,
}

/// The hostile registry, its release with one overdue vinyl perk, and edition 0 held by
/// the hostile contract itself.
fn set_up(aim: Aim) -> anyhow::Result<Attack> {
    let mut chain = Chain::new()?;
    chain.set_time(START);
    let hostile = chain.deploy_hostile_registry()?;
    let release_code = chain.release_code;
    let release = chain.instantiate_from(
        hostile.clone(),
        release_code,
        constructors::release_new(ink_id(&account(ARTIST)), &terms(), &[]),
        b"attacked",
    )?;
    let registry: ink::primitives::AccountId = chain.call(FAN, &release, 0, release::registry())?;
    assert_eq!(
        registry,
        ink_id(&hostile),
        "the release reports to the attacker"
    );
    let perk: R<u32> = chain.call(ARTIST, &release, 0, release::add_perk(vinyl(START + HOUR)))?;
    assert_eq!(perk, Ok(0));
    let edition: R<u32> =
        chain.call_from(hostile.clone(), &release, PRICE, release::buy(vec![]))?;
    assert_eq!(edition, Ok(0));
    let target = match aim {
        Aim::Nowhere => None,
        Aim::SameRelease => Some(release.clone()),
        Aim::OtherRelease => Some(chain.instantiate_from(
            hostile.clone(),
            release_code,
            constructors::release_new(ink_id(&account(ARTIST)), &terms(), &[]),
            b"bystander",
        )?),
    };
    if let Some(target) = target {
        chain.call::<()>(
            OWNER,
            &hostile,
            0,
            message(&ink::selector_bytes!("aim"), (ink_id(&target), 0u32, 0u32)),
        )?;
    }
    chain.set_time(START + 2 * HOUR);
    Ok(Attack {
        chain,
        hostile,
        release,
    })
}

impl Attack {
    fn claim(&mut self) -> anyhow::Result<R<u128>> {
        Ok(self.chain.call_from(
            self.hostile.clone(),
            &self.release,
            0,
            release::claim_refund(0, 0),
        )?)
    }

    fn reports(&mut self) -> anyhow::Result<(u32, Vec<Reentry>)> {
        let hostile = self.hostile.clone();
        let reports =
            self.chain
                .call(OWNER, &hostile, 0, ink::selector_bytes!("reports").to_vec())?;
        let reentries = self.chain.call(
            OWNER,
            &hostile,
            0,
            ink::selector_bytes!("reentries").to_vec(),
        )?;
        Ok((reports, reentries))
    }
}

/// Control: the release does call its registry when it refunds, and the registry's own
/// call into a release that is not on the stack goes through (and is refused by that
/// release: the attacker holds nothing there).
#[test]
fn a_refund_reports_to_the_registry_which_may_call_other_contracts() -> anyhow::Result<()> {
    let mut attack = set_up(Aim::Nowhere)?;
    assert_eq!(attack.claim()?, Ok(PRICE / 2));
    assert_eq!(attack.reports()?, (1, vec![]));

    let mut attack = set_up(Aim::OtherRelease)?;
    assert_eq!(attack.claim()?, Ok(PRICE / 2));
    assert_eq!(attack.reports()?, (1, vec![Reentry::Refused]));
    Ok(())
}

#[test]
fn a_registry_reentering_a_refund_is_refused_and_the_holder_is_paid_once() -> anyhow::Result<()> {
    let mut attack = set_up(Aim::SameRelease)?;
    let release = attack.release.clone();
    let held_before = attack.chain.balance(&release);

    let paid = attack.claim()?;

    assert_eq!(
        paid,
        Ok(PRICE / 2),
        "the rightful refund still goes through"
    );
    assert_eq!(
        attack.chain.balance(&release),
        held_before - PRICE / 2,
        "the release paid exactly one refund"
    );
    // The chain denied the reentrant call by trapping the attacker's frame, so its whole
    // report — count and record — was rolled back, while the release, which ignores what
    // its registry answers, completed the refund.
    assert_eq!(
        attack.reports()?,
        (0, vec![]),
        "the attacker's call back into the release was not denied"
    );
    let chain = &mut attack.chain;
    let escrow: u128 = chain.call(FAN, &release, 0, release::escrow_held())?;
    let withdrawable: u128 = chain.call(FAN, &release, 0, release::artist_withdrawable())?;
    let owed: u128 = chain.call(FAN, &release, 0, release::refunds_owed())?;
    assert_eq!((escrow, withdrawable, owed), (0, PRICE / 2, 0));
    let again = attack.claim()?;
    assert_eq!(
        again,
        Err(ReleaseError::WrongState(EntitlementState::Refunded))
    );
    Ok(())
}
