//! One run, one table: each contract's optimized Wasm size, then ref_time and proof_size of
//! buy, unlock, confirm, claim_refund and withdraw as executed by pallet-contracts in drink's
//! runtime, each beside a plain balance transfer's weight in the same runtime.

use anyhow::{anyhow, Context};
use dreamster_calls::release;
use dreamster_drink_tests::*;
use dreamster_types::errors::ReleaseError;
use dreamster_types::perk::{DeliveryMethod, PerkCategory, PerkKind, PerkTerms};
use dreamster_types::release::SaleTerms;

fn perk(kind: PerkKind, bps: u16, delivery: DeliveryMethod) -> PerkTerms {
    PerkTerms {
        category: kind.category().unwrap_or(PerkCategory::Community),
        kind,
        title: "Bench perk".into(),
        description: "A perk of typical size for the benchmark".into(),
        metadata_uri: "ipfs://bench".into(),
        estimated_value: UNIT,
        escrow_bps: bps,
        delivery,
        quantity_limit: None,
        deadline: START + 7 * DAY,
    }
}

fn measure<T: parity_scale_codec::Decode + std::fmt::Debug>(
    chain: &mut Chain,
    origin: u8,
    address: &drink::AccountId32,
    value: u128,
    input: Vec<u8>,
) -> anyhow::Result<Cost> {
    let answer: Result<T, ReleaseError> = chain.call(origin, address, value, input)?;
    answer.map_err(|e| anyhow!("call refused: {e:?}"))?;
    Ok(chain.last_cost)
}

fn main() -> anyhow::Result<()> {
    let mut chain =
        Chain::new().context("setting up the sandbox (did scripts/build-contracts.sh run?)")?;
    chain.set_time(START);
    let terms = SaleTerms {
        title: "Bench".into(),
        metadata_uri: String::new(),
        price: PRICE,
        max_editions: None,
        sale_start: START,
        sale_end: None,
        dispute_window: dreamster_types::release::MIN_DISPUTE_WINDOW,
    };
    let address = chain.create_release(ARTIST, terms)?;
    // A release of typical shape: three perks, one of each delivery method.
    for p in [
        perk(
            PerkKind::UnreleasedMusic,
            1_000,
            DeliveryMethod::Automatic {
                content_hash: [1; 32],
            },
        ),
        perk(PerkKind::LimitedVinyl, 2_000, DeliveryMethod::Physical),
        perk(PerkKind::MeetAndGreet, 2_000, DeliveryMethod::Event),
    ] {
        measure::<u32>(&mut chain, ARTIST, &address, 0, release::add_perk(p))?;
    }
    // Warm-up sale so the measured one pays no first-time storage costs.
    measure::<u32>(&mut chain, OTHER_FAN, &address, PRICE, release::buy(vec![]))?;

    let rows = [
        (
            "buy",
            measure::<u32>(&mut chain, FAN, &address, PRICE, release::buy(vec![]))?,
        ),
        (
            "unlock",
            measure::<()>(&mut chain, FAN, &address, 0, release::unlock(1, 0))?,
        ),
        (
            "confirm",
            measure::<()>(&mut chain, FAN, &address, 0, release::confirm(1, 0))?,
        ),
        (
            "withdraw",
            measure::<u128>(&mut chain, ARTIST, &address, 0, release::withdraw())?,
        ),
        ("claim_refund", {
            chain.set_time(START + 8 * DAY);
            measure::<u128>(&mut chain, FAN, &address, 0, release::claim_refund(1, 1))?
        }),
    ];
    let transfer = chain.transfer_weight();

    println!("contract sizes (optimized Wasm, cargo contract build --release)");
    for contract in ["registry", "release"] {
        let bundle = load_bundle(contract)?;
        println!("  {contract:<10} {:>7} bytes", bundle.wasm.len());
    }
    println!();
    println!(
        "plain balance transfer (Balances::transfer_allow_death): ref_time {} ps, proof_size {} B",
        transfer.ref_time(),
        transfer.proof_size()
    );
    println!(
        "{:<14} {:>14} {:>8} {:>12} {:>8}",
        "message", "ref_time (ps)", "× xfer", "proof (B)", "× xfer"
    );
    for (name, cost) in rows {
        let ratio = |a: u64, b: u64| {
            if b == 0 {
                f64::NAN
            } else {
                a as f64 / b as f64
            }
        };
        println!(
            "{:<14} {:>14} {:>8.1} {:>12} {:>8.1}",
            name,
            cost.ref_time,
            ratio(cost.ref_time, transfer.ref_time()),
            cost.proof_size,
            ratio(cost.proof_size, transfer.proof_size())
        );
    }
    Ok(())
}
