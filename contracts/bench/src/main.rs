//! One run, one table: each contract's optimized Wasm size, then ref_time and proof_size of
//! buy, unlock and claim_refund on releases of 1, 4 and 16 perks, and of confirm and
//! withdraw, as executed by pallet-contracts in drink's runtime — each beside a plain
//! balance transfer's weight in the same runtime.

use anyhow::{anyhow, Context};
use dreamster_calls::release;
use dreamster_drink_tests::*;
use dreamster_types::errors::ReleaseError;
use dreamster_types::perk::{DeliveryMethod, PerkCategory, PerkKind, PerkTerms};
use dreamster_types::release::SaleTerms;

/// The release sizes measured: one perk, a typical four, the most a release may have.
const SIZES: [u32; 3] = [1, 4, 16];

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

/// A release with `perks` perks: perk 0 automatic (unlocked), the others physical.
fn release_with(chain: &mut Chain, perks: u32) -> anyhow::Result<drink::AccountId32> {
    let terms = SaleTerms {
        title: format!("Bench {perks}"),
        metadata_uri: String::new(),
        price: PRICE,
        max_editions: None,
        sale_start: START,
        sale_end: None,
        dispute_window: dreamster_types::release::MIN_DISPUTE_WINDOW,
    };
    let address = chain.create_release(ARTIST, terms)?;
    let bps = u16::try_from(5_000 / perks)?;
    for i in 0..perks {
        let p = if i == 0 {
            perk(
                PerkKind::UnreleasedMusic,
                bps,
                DeliveryMethod::Automatic {
                    content_hash: [1; 32],
                },
            )
        } else {
            perk(PerkKind::LimitedVinyl, bps, DeliveryMethod::Physical)
        };
        measure::<u32>(chain, ARTIST, &address, 0, release::add_perk(p))?;
    }
    Ok(address)
}

fn main() -> anyhow::Result<()> {
    let mut chain =
        Chain::new().context("setting up the sandbox (did scripts/build-contracts.sh run?)")?;
    chain.set_time(START);
    let mut rows: Vec<(String, Cost)> = Vec::new();
    let mut releases = Vec::new();
    for perks in SIZES {
        let address = release_with(&mut chain, perks)?;
        // Warm-up sale so the measured one pays no first-time storage costs.
        measure::<u32>(&mut chain, OTHER_FAN, &address, PRICE, release::buy(vec![]))?;
        let buy = measure::<u32>(&mut chain, FAN, &address, PRICE, release::buy(vec![]))?;
        rows.push((format!("buy, {perks} perks"), buy));
        let unlock = measure::<()>(&mut chain, FAN, &address, 0, release::unlock(1, 0))?;
        rows.push((format!("unlock, {perks} perks"), unlock));
        releases.push((perks, address));
    }
    let (_, largest) = releases
        .last()
        .cloned()
        .ok_or_else(|| anyhow!("no release measured"))?;
    rows.push((
        "confirm".into(),
        measure::<()>(&mut chain, FAN, &largest, 0, release::confirm(1, 0))?,
    ));
    rows.push((
        "withdraw".into(),
        measure::<u128>(&mut chain, ARTIST, &largest, 0, release::withdraw())?,
    ));
    // Past the deadlines: the warm-up edition's automatic perk, never unlocked, comes back.
    chain.set_time(START + 8 * DAY);
    for (perks, address) in &releases {
        let refund = measure::<u128>(
            &mut chain,
            OTHER_FAN,
            address,
            0,
            release::claim_refund(0, 0),
        )?;
        rows.push((format!("claim_refund, {perks} perks"), refund));
    }
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
        "{:<24} {:>14} {:>8} {:>12} {:>8}",
        "message", "ref_time (ps)", "× xfer", "proof (B)", "× xfer"
    );
    let ratio = |a: u64, b: u64| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
    for (name, cost) in rows {
        println!(
            "{:<24} {:>14} {:>8.1} {:>12} {:>8.1}",
            name,
            cost.ref_time,
            ratio(cost.ref_time, transfer.ref_time()),
            cost.proof_size,
            ratio(cost.proof_size, transfer.proof_size())
        );
    }
    Ok(())
}
