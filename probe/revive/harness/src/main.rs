//! Issue 15's probe: Dreamster's release and registry contracts, ported to ink! 6.0.0-beta.1
//! and built by cargo-contract 6, run on pallet-revive 0.20.2 (what Polkadot Hub's
//! runtimes carry). It walks the product's own path — the registry's factory, a payable
//! purchase, an automatic delivery confirmed by the fan, the cross-contract report to the
//! registry, a refund, the artist's withdrawal — and the places the port is expected to
//! break: the 416-byte storage limit, an unmapped account, the clock's unit.
//!
//! Usage: revive-probe <directory holding dreamster_{release,registry}.{polkavm,json}>
mod chain;

use std::fmt::Debug;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chain::{Outcome, address_of, call, free, instantiate, map_account, upload};
use codec::Decode;
use dreamster_types::errors::ReleaseError;
use dreamster_types::perk::DeliveryMethod;
use dreamster_types::registry_api::RegistryError;
use dreamster_types::{Address, Balance, EditionId, PerkId};
use pallet_revive::H160;
use revive_probe::artifact::Artifact;
use revive_probe::runtime::{self, AccountId};
use revive_probe::{
    DAY, PRICE, UNIT, answer, envelope, perk, sale_terms, signed, stems, units, vinyl,
};
use sp_keyring::Sr25519Keyring;

const T0: u64 = 1_780_000_000_000; // milliseconds, 2026

fn main() -> anyhow::Result<()> {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .context("usage: revive-probe <directory with the built contracts>")?
        .into();
    let release = Artifact::load(&dir, "dreamster_release")?;
    let registry = Artifact::load(&dir, "dreamster_registry")?;

    println!("== blobs");
    for a in [&release, &registry] {
        println!("{}: {} bytes of PolkaVM", a.name, a.blob.len());
        println!("  imports: {}", a.imports()?.join(" "));
    }

    let owner = Sr25519Keyring::Dave.to_account_id();
    let artist = Sr25519Keyring::Alice.to_account_id();
    let fan = Sr25519Keyring::Bob.to_account_id();
    let arbiter = Sr25519Keyring::Charlie.to_account_id();
    let stranger = Sr25519Keyring::Eve.to_account_id();
    let everyone = [
        owner.clone(),
        artist.clone(),
        fan.clone(),
        arbiter.clone(),
        stranger.clone(),
    ];
    let mut ext = runtime::genesis(&everyone, 1_000 * UNIT);
    ext.execute_with(|| {
        scenario(
            &release, &registry, &owner, &artist, &fan, &arbiter, &stranger,
        )
    })
}

#[allow(clippy::too_many_arguments)]
fn scenario(
    release: &Artifact,
    registry: &Artifact,
    owner: &AccountId,
    artist: &AccountId,
    fan: &AccountId,
    arbiter: &AccountId,
    stranger: &AccountId,
) -> anyhow::Result<()> {
    set_clock(T0);
    let transfer = chain::transfer_weight();
    println!(
        "a plain balance transfer (Balances::transfer_allow_death): ref_time {} ps, proof {} B",
        transfer.ref_time(),
        transfer.proof_size()
    );
    let base = chain::call_base_weight();
    println!(
        "the Revive::call extrinsic's own weight, added to every figure below: ref_time {} ps, proof {} B",
        base.ref_time(),
        base.proof_size()
    );
    println!("== accounts (Eve stays unmapped)");
    for who in [owner, artist, fan, arbiter] {
        map_account(who)
            .map_err(anyhow::Error::msg)
            .context("map_account")?;
    }
    println!(
        "mapped Dave, Alice, Bob, Charlie; Alice = {:?}",
        address_of(artist)
    );

    println!("== upload and factory");
    let (code_hash, code_deposit) = match upload(owner, &release.blob) {
        Ok(x) => x,
        Err(e) => bail!("pallet-revive refused the release's code: {e}"),
    };
    println!(
        "release code uploaded: hash {code_hash:?}, deposit {}",
        units(code_deposit)
    );
    let (registry_at, o) = instantiate(owner, &registry.blob, registry.input("new", ()));
    report("instantiate registry", &o);
    let Some(registry_at) = registry_at.filter(|_| o.ok) else {
        bail!("no registry")
    };
    let o = call(
        owner,
        registry_at,
        registry.input("set_release_code", (ink::H256(code_hash.0),)),
        0,
    );
    report_answer::<(), RegistryError>("registry.set_release_code", &o);
    let o = call(
        owner,
        registry_at,
        registry.input("add_arbiter", (addr(arbiter),)),
        0,
    );
    report_answer::<(), RegistryError>("registry.add_arbiter", &o);
    let o = call(
        artist,
        registry_at,
        registry.input("register_artist", ("Alice".to_string(), String::new())),
        0,
    );
    report_answer::<(), RegistryError>("registry.register_artist", &o);

    let long = sale_terms(
        "x".repeat(128),
        "ipfs://".to_string() + &"y".repeat(249),
        T0,
    );
    let o = call(
        artist,
        registry_at,
        registry.input("create_release", (long, ink::H256(code_hash.0))),
        0,
    );
    report_answer::<Address, RegistryError>("create_release, longest title and URI", &o);

    let terms = sale_terms("First light".into(), "ipfs://release".into(), T0);
    let o = call(
        artist,
        registry_at,
        registry.input("create_release", (terms, ink::H256(code_hash.0))),
        0,
    );
    report_answer::<Address, RegistryError>("registry.create_release (factory)", &o);
    let Some(Ok(created)) = answer::<Address, RegistryError>(&o.data) else {
        bail!("the factory made no release")
    };
    let release_at = H160::from(created.0);
    println!(
        "  release at {release_at:?}; Revive::Instantiated events for it: {}",
        o.instantiated.iter().filter(|a| **a == release_at).count()
    );

    println!("== perks");
    let automatic = stems(T0 + 30 * DAY);
    let o = call(
        artist,
        release_at,
        release.input("add_perk", (automatic,)),
        0,
    );
    report_answer::<PerkId, ReleaseError>("add_perk automatic, 30 %", &o);
    let physical = vinyl(T0 + DAY);
    let o = call(
        artist,
        release_at,
        release.input("add_perk", (physical,)),
        0,
    );
    report_answer::<PerkId, ReleaseError>("add_perk physical, 20 %, due in a day", &o);
    let wordy = perk(
        "Concert",
        &"d".repeat(600),
        DeliveryMethod::Event,
        1_000,
        T0 + 30 * DAY,
    );
    let o = call(artist, release_at, release.input("add_perk", (wordy,)), 0);
    report_answer::<PerkId, ReleaseError>("add_perk with a 600-byte description", &o);

    println!("== a purchase (payable) and its escrow");
    let fan_before = free(fan);
    let o = call(
        fan,
        release_at,
        release.input("buy", (vec![0u32, 1u32],)),
        PRICE,
    );
    report_answer::<EditionId, ReleaseError>("buy, price paid in native units", &o);
    println!(
        "  fan paid {} (deposit {}), the release holds {} (18-decimal units)",
        units(fan_before - free(fan)),
        o.deposit,
        chain::evm_balance(&release_at)
    );
    let o = call(
        fan,
        release_at,
        release.input("buy", (vec![0u32],)),
        PRICE + 1,
    );
    report_answer::<EditionId, ReleaseError>("buy, one plank too much", &o);

    println!("== delivery, the report to the registry, refund, withdrawal");
    let o = call(fan, release_at, release.input("unlock", (0u32, 0u32)), 0);
    report_answer::<(), ReleaseError>("unlock (automatic delivery)", &o);
    let o = call(fan, release_at, release.input("confirm", (0u32, 0u32)), 0);
    report_answer::<(), ReleaseError>("confirm: escrow to the artist, outcome to the registry", &o);
    let from_registry = o.events.iter().filter(|(c, _)| *c == registry_at).count();
    println!("  events emitted by the registry during that call: {from_registry}");

    set_clock(T0 + DAY + 1_000);
    let fan_before = free(fan);
    let o = call(
        fan,
        release_at,
        release.input("claim_refund", (0u32, 1u32)),
        0,
    );
    report_answer::<Balance, ReleaseError>("claim_refund of the overdue vinyl", &o);
    println!(
        "  fan's balance changed by {} (deposit {})",
        signed(free(fan), fan_before),
        o.deposit
    );

    let artist_before = free(artist);
    let o = call(artist, release_at, release.input("withdraw", ()), 0);
    report_answer::<Balance, ReleaseError>("withdraw", &o);
    println!(
        "  artist's balance changed by {} (deposit {})",
        signed(free(artist), artist_before),
        o.deposit
    );

    println!("== an account that never called map_account");
    let o = call(
        stranger,
        release_at,
        release.input("buy", (vec![0u32],)),
        PRICE,
    );
    report_answer::<EditionId, ReleaseError>("Eve buys", &o);
    let o = call(fan, release_at, release.input("buy", (vec![0u32],)), PRICE);
    report_answer::<EditionId, ReleaseError>("Bob buys edition 1 (the stems perk)", &o);
    let o = call(
        fan,
        release_at,
        release.input("transfer", (addr(stranger), 1u32)),
        0,
    );
    report_answer::<(), ReleaseError>("Bob gives edition 1 to Eve's address", &o);
    set_clock(T0 + 31 * DAY);
    let fallback = chain::fallback_account(&address_of(stranger));
    let (eve_before, fallback_before) = (free(stranger), free(&fallback));
    let o = call(
        fan,
        release_at,
        release.input("claim_refund", (1u32, 0u32)),
        0,
    );
    report_answer::<Balance, ReleaseError>(
        "the stems never unlocked: Bob triggers Eve's refund",
        &o,
    );
    println!(
        "  Eve's balance changed by {}; the fallback account {fallback} by {}",
        signed(free(stranger), eve_before),
        signed(free(&fallback), fallback_before)
    );
    map_account(stranger)
        .map_err(anyhow::Error::msg)
        .context("Eve's map_account")?;
    println!(
        "  after Eve's map_account: Eve {}, the fallback account {}",
        signed(free(stranger), eve_before),
        signed(free(&fallback), fallback_before)
    );
    let recovered = chain::sweep_fallback(stranger);
    println!(
        "  Eve sweeps it with Revive::dispatch_as_fallback_account(Balances::transfer_all): {}; \
         Eve {}, the fallback account {}",
        recovered.map_or_else(|e| format!("FAILED {e}"), |()| "ok".into()),
        signed(free(stranger), eve_before),
        signed(free(&fallback), fallback_before)
    );

    println!("== how many perks fit the release's 416-byte sale cell");
    let terms = sale_terms("Second light".into(), "ipfs://second".into(), T0);
    let o = call(
        artist,
        registry_at,
        registry.input("create_release", (terms, ink::H256(code_hash.0))),
        0,
    );
    let Some(Ok(second)) = answer::<Address, RegistryError>(&o.data) else {
        bail!("the factory made no second release")
    };
    let second = H160::from(second.0);
    let mut added = 0u32;
    let mut refusal = None;
    for n in 0..dreamster_types::release::MAX_PERKS_PER_RELEASE {
        let stems = perk(
            "Stems",
            "A",
            DeliveryMethod::Automatic {
                content_hash: [n as u8; 32],
            },
            100,
            T0 + 60 * DAY,
        );
        let o = call(artist, second, release.input("add_perk", (stems,)), 0);
        if o.ok {
            added += 1;
        } else {
            refusal = Some(
                o.error
                    .clone()
                    .unwrap_or_else(|| format!("{:?}", answer::<PerkId, ReleaseError>(&o.data))),
            );
            break;
        }
    }
    println!(
        "automatic perks added: {added} of the {} the product allows; the next one: {}",
        dreamster_types::release::MAX_PERKS_PER_RELEASE,
        refusal.as_deref().unwrap_or("(none refused)")
    );
    Ok(())
}

fn set_clock(ms: u64) {
    pallet_timestamp::Now::<runtime::Runtime>::put(ms);
}

fn addr(account: &AccountId) -> Address {
    Address::from(address_of(account).0)
}

fn report(step: &str, o: &Outcome) {
    let status = if o.ok {
        "ok".to_string()
    } else {
        format!(
            "FAILED {}",
            o.error.clone().unwrap_or_else(|| "(reverted)".into())
        )
    };
    println!(
        "{step}: {status}; ref_time {} ps ({:.1}x a transfer), proof {} B, deposit {}; events [{}]{}",
        o.weight.ref_time(),
        o.weight.ref_time() as f64 / chain::transfer_weight().ref_time() as f64,
        o.weight.proof_size(),
        o.deposit,
        o.event_names().join(", "),
        if o.instantiated.is_empty() {
            String::new()
        } else {
            format!("; instantiated {:?}", o.instantiated)
        }
    );
}

/// Reports a step with the contract's own answer decoded (`Result<Result<T, E>, LangError>`).
fn report_answer<T: Decode + Debug, E: Decode + Debug>(step: &str, o: &Outcome) {
    report(step, o);
    if o.data.is_empty() {
        return;
    }
    match envelope::<T, E>(&o.data) {
        Some(answer) => println!("  answer: {answer:?}"),
        None => println!("  answer: {} undecodable bytes", o.data.len()),
    }
}
