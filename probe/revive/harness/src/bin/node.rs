//! Issue 15's node driver: the product's path — map accounts, upload, the registry's factory,
//! a payable purchase, a delivery confirmed with the cross-contract report, a refund, the
//! artist's withdrawal, an unmapped caller — as signed extrinsics to a real node
//! (polkadot-omni-node running probe/revive/runtime), through subxt 0.38, the version the
//! product's indexer, client and CLI use. Each step prints what a wallet and an indexer would
//! see: success or the dispatch error, the fee paid, the weight charged, the contract events
//! decoded by Dreamster's own types, and balances.
//!
//! Usage: revive-node-probe <ws url> <directory holding dreamster_{release,registry}.{polkavm,json}>
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use codec::{DecodeAll, Encode};
use dreamster_types::events::DreamsterEvent;
use dreamster_types::{Address, Balance};
use frame_support::weights::Weight;
use pallet_revive::{AccountId32Mapper, AddressMapper, H160, U256};
use revive_probe::artifact::Artifact;
use revive_probe::runtime::Runtime;
use revive_probe::{DAY, PRICE, UNIT, sale_terms, signed, stems, units, vinyl};
use sp_core::crypto::AccountId32;
use subxt::dynamic::Value;
use subxt::{OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::{Keypair, dev};

type Api = OnlineClient<PolkadotConfig>;

/// Limits each call is sent with; the weight actually charged is what `ExtrinsicSuccess` says.
const REF_TIME_LIMIT: u64 = 500_000_000_000;
const PROOF_SIZE_LIMIT: u64 = 3 * 1024 * 1024;
const DEPOSIT_LIMIT: Balance = 100 * UNIT;
/// How long the chain may take to pass a perk's deadline (the dev node moves its clock 6 s
/// per block).
const CLOCK_DEADLINE: Duration = Duration::from_secs(120);
/// How long connecting, and one extrinsic's way to a finalized block, may take.
const RPC_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: revive-node-probe <ws url> <directory with the built contracts>";
    let url = args.next().context(usage)?;
    let dir: PathBuf = args.next().context(usage)?.into();
    let release = Artifact::load(&dir, "dreamster_release")?;
    let registry = Artifact::load(&dir, "dreamster_registry")?;

    let api = tokio::time::timeout(RPC_DEADLINE, Api::from_url(&url))
        .await
        .with_context(|| format!("no connection to {url} within {RPC_DEADLINE:?}"))?
        .with_context(|| format!("subxt 0.38 connecting to {url}"))?;
    let auto_map = revive_constant(&api, "AutoMap")?
        .as_bool()
        .context("Revive::AutoMap is not a bool")?;
    // What the node multiplies native value by, read from it rather than assumed.
    let native_to_eth = revive_constant(&api, "NativeToEthRatio")?
        .as_u128()
        .context("Revive::NativeToEthRatio is not a number")?;
    println!(
        "== connected with subxt 0.38 (which reads metadata V15) to {url}: runtime spec version {}, {} pallets, Revive::AutoMap {auto_map}, Revive::NativeToEthRatio {native_to_eth}",
        api.runtime_version().spec_version,
        api.metadata().pallets().len()
    );
    let mut run = Run::default();

    let (owner, artist, fan, arbiter, stranger) = (
        dev::dave(),
        dev::alice(),
        dev::bob(),
        dev::charlie(),
        dev::eve(),
    );

    if auto_map {
        println!("== accounts: mapped when created (genesis)");
        let step = submit(&api, &owner, "Revive", "map_account", vec![]).await;
        step.report("map_account Dave (a no-op with AutoMap on)");
        run.ok(&step, "map_account with AutoMap on");
        run.check(
            !step.others.iter().any(|e| e == "Balances::Held"),
            "map_account with AutoMap on holds no deposit",
        );
    } else {
        println!("== accounts (Eve stays unmapped)");
        for (name, who) in [
            ("Dave", &owner),
            ("Alice", &artist),
            ("Bob", &fan),
            ("Charlie", &arbiter),
        ] {
            let before = free(&api, who).await?;
            let step = submit(&api, who, "Revive", "map_account", vec![]).await;
            step.report(&format!("map_account {name}"));
            run.ok(&step, &format!("map_account {name}"));
            println!(
                "  {name}'s free balance {} (fee and the mapping deposit held)",
                signed(free(&api, who).await?, before)
            );
        }
    }

    println!("== upload and factory");
    let code_hash = sp_io::hashing::keccak_256(&release.blob);
    let step = submit(
        &api,
        &owner,
        "Revive",
        "upload_code",
        vec![Value::from_bytes(&release.blob), Value::u128(DEPOSIT_LIMIT)],
    )
    .await;
    step.report("upload_code release");
    step.require()?;

    let step = submit(
        &api,
        &owner,
        "Revive",
        "instantiate_with_code",
        vec![
            Value::u128(0),
            weight_limit(),
            Value::u128(DEPOSIT_LIMIT),
            Value::from_bytes(&registry.blob),
            Value::from_bytes(registry.input("new", ())),
            Value::unnamed_variant("None", []),
        ],
    )
    .await;
    step.report("instantiate_with_code registry");
    let registry_at = step
        .require()?
        .instantiated
        .first()
        .copied()
        .ok_or_else(|| anyhow!("no Revive::Instantiated for the registry"))?;
    println!("  registry at {registry_at:?} (an H160)");

    for (who, label, input, event) in [
        (
            &owner,
            "registry.set_release_code",
            registry.input("set_release_code", (ink::H256(code_hash),)),
            "ReleaseCodeSet",
        ),
        (
            &owner,
            "registry.add_arbiter",
            registry.input("add_arbiter", (addr(&arbiter),)),
            "ArbiterAdded",
        ),
        (
            &artist,
            "registry.register_artist",
            registry.input("register_artist", ("Alice".to_string(), String::new())),
            "ArtistRegistered",
        ),
    ] {
        let step = call(&api, who, registry_at, input, 0).await;
        step.report(label);
        run.emitted(&step, label, &[event]);
    }

    let start = chain_now(&api).await?;
    println!("  the chain's clock: {start} ms");
    let terms = sale_terms("First light".into(), "ipfs://release".into(), start);
    let step = call(
        &api,
        &artist,
        registry_at,
        registry.input("create_release", (terms, ink::H256(code_hash))),
        0,
    )
    .await;
    step.report("registry.create_release (factory)");
    let release_at = step
        .require()?
        .contract_events
        .iter()
        .find_map(|(_, e)| match e {
            Ok(DreamsterEvent::ReleaseCreated(c)) => Some(H160::from(c.release.0)),
            _ => None,
        })
        .ok_or_else(|| anyhow!("the factory emitted no ReleaseCreated"))?;
    println!(
        "  release at {release_at:?}; Revive::Instantiated events for it: {}",
        step.instantiated
            .iter()
            .filter(|a| **a == release_at)
            .count()
    );

    println!("== perks");
    let step = call(
        &api,
        &artist,
        release_at,
        release.input("add_perk", (stems(start + 30 * DAY),)),
        0,
    )
    .await;
    step.report("add_perk automatic, 30 %");
    run.emitted(&step, "add_perk automatic", &["PerkAdded"]);
    // Due a minute of chain time from now: the driver then waits for the chain to pass it.
    let vinyl_due = chain_now(&api).await? + 60_000;
    let step = call(
        &api,
        &artist,
        release_at,
        release.input("add_perk", (vinyl(vinyl_due),)),
        0,
    )
    .await;
    step.report("add_perk physical, 20 %, due in a minute of chain time");
    run.emitted(&step, "add_perk physical", &["PerkAdded"]);

    println!("== a purchase (payable) and its escrow");
    let fan_before = free(&api, &fan).await?;
    let step = call(
        &api,
        &fan,
        release_at,
        release.input("buy", (vec![0u32, 1u32],)),
        PRICE,
    )
    .await;
    step.report("buy, price paid in native units");
    run.emitted(&step, "buy", &["Transfer", "EditionSold"]);
    let held = evm_balance(&api, release_at).await?;
    println!(
        "  fan's free balance {} (price + fee {} + deposit); the release holds {held} (a U256 of 18-decimal units, ReviveApi_balance)",
        signed(free(&api, &fan).await?, fan_before),
        units(step.fee),
    );
    run.check(
        held == U256::from(PRICE) * U256::from(native_to_eth),
        "the release holds the price, in 18-decimal units",
    );
    let step = call(
        &api,
        &fan,
        release_at,
        release.input("buy", (vec![0u32],)),
        PRICE + 1,
    )
    .await;
    step.report("buy, one planck too much");
    run.refused(
        &step,
        "Revive::ContractReverted",
        "buy with one planck too much",
    );

    println!("== delivery, the report to the registry, refund, withdrawal");
    let step = call(
        &api,
        &fan,
        release_at,
        release.input("unlock", (0u32, 0u32)),
        0,
    )
    .await;
    step.report("unlock (automatic delivery)");
    run.emitted(&step, "unlock", &["EntitlementChanged"]);
    let step = call(
        &api,
        &fan,
        release_at,
        release.input("confirm", (0u32, 0u32)),
        0,
    )
    .await;
    step.report("confirm: escrow to the artist, outcome to the registry");
    run.emitted(
        &step,
        "confirm",
        &["EntitlementChanged", "EscrowReleased", "ReputationChanged"],
    );
    let from_registry = step
        .contract_events
        .iter()
        .filter(|(c, _)| *c == registry_at)
        .count();
    println!("  events emitted by the registry during that extrinsic: {from_registry}");
    run.check(from_registry == 1, "the registry reported inside confirm");

    let waited = Instant::now();
    let mut blocks = 0u32;
    while chain_now(&api).await? <= vinyl_due {
        if waited.elapsed() > CLOCK_DEADLINE {
            bail!("the chain's clock did not pass {vinyl_due} within {CLOCK_DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        blocks += 1;
    }
    println!(
        "  waited {:.1} s (and {blocks} polls) for the chain to pass the vinyl's deadline, set {} s of chain time earlier",
        waited.elapsed().as_secs_f64(),
        60
    );
    let fan_before = free(&api, &fan).await?;
    let step = call(
        &api,
        &fan,
        release_at,
        release.input("claim_refund", (0u32, 1u32)),
        0,
    )
    .await;
    step.report("claim_refund of the overdue vinyl");
    run.emitted(
        &step,
        "claim_refund",
        &["EntitlementChanged", "ReputationChanged"],
    );
    let fan_after = free(&api, &fan).await?;
    println!(
        "  fan's free balance {} (refund less the fee {})",
        signed(fan_after, fan_before),
        units(step.fee)
    );
    run.check(
        fan_after + step.fee == fan_before + 2 * UNIT,
        "the fan got 2 DOT back (the vinyl's 20 %), exactly, net of the fee",
    );
    let artist_before = free(&api, &artist).await?;
    let step = call(&api, &artist, release_at, release.input("withdraw", ()), 0).await;
    step.report("withdraw");
    run.emitted(&step, "withdraw", &["ArtistWithdrew"]);
    let artist_after = free(&api, &artist).await?;
    println!(
        "  artist's free balance {} (payout less the fee {})",
        signed(artist_after, artist_before),
        units(step.fee)
    );
    run.check(
        artist_after + step.fee == artist_before + 8 * UNIT,
        "the artist got 8 DOT (half the price, and the 30 % released), exactly, net of the fee",
    );

    if auto_map {
        println!("== Eve, mapped when her account was created");
        let step = call(
            &api,
            &stranger,
            release_at,
            release.input("buy", (vec![0u32],)),
            PRICE,
        )
        .await;
        step.report("Eve buys");
        run.emitted(&step, "Eve buys", &["Transfer", "EditionSold"]);
    } else {
        println!("== an account that never called map_account");
        let step = call(
            &api,
            &stranger,
            release_at,
            release.input("buy", (vec![0u32],)),
            PRICE,
        )
        .await;
        step.report("Eve buys");
        run.refused(&step, "Revive::AccountUnmapped", "Eve, unmapped, buys");
    }
    run.finish()
}

/// What the scenario expected and did not get: the driver exits non-zero if anything.
#[derive(Default)]
struct Run {
    mismatches: Vec<String>,
}

impl Run {
    fn check(&mut self, holds: bool, what: &str) {
        if !holds {
            println!("  MISMATCH: {what}");
            self.mismatches.push(what.to_string());
        }
    }

    fn ok(&mut self, step: &Step, what: &str) {
        self.check(step.error.is_none(), &format!("{what} succeeds"));
    }

    /// Succeeded, and its contract events are exactly `names`, in order.
    fn emitted(&mut self, step: &Step, what: &str, names: &[&str]) {
        self.ok(step, what);
        self.check(
            step.event_names() == names,
            &format!("{what} emits {names:?}"),
        );
    }

    fn refused(&mut self, step: &Step, error: &str, what: &str) {
        self.check(
            step.error.as_deref() == Some(error),
            &format!("{what} is refused with {error}"),
        );
    }

    fn finish(self) -> anyhow::Result<()> {
        if self.mismatches.is_empty() {
            println!("== every step as expected");
            Ok(())
        } else {
            bail!(
                "{} step(s) not as expected: {:?}",
                self.mismatches.len(),
                self.mismatches
            )
        }
    }
}

/// What one extrinsic did, as its block's events tell it.
#[derive(Default)]
struct Step {
    /// `None`: in a finalized block and succeeded; `Some`: why not.
    error: Option<String>,
    fee: Balance,
    ref_time: u64,
    proof_size: u64,
    contract_events: Vec<(H160, Result<DreamsterEvent, String>)>,
    instantiated: Vec<H160>,
    /// Pallet events other than the contracts' and the fee's, by name.
    others: Vec<String>,
}

impl Step {
    fn report(&self, what: &str) {
        let status = self
            .error
            .as_ref()
            .map_or_else(|| "ok".to_string(), |e| format!("FAILED {e}"));
        let names = self.event_names();
        println!(
            "{what}: {status}; fee {}, weight ref_time {} ps proof {} B; contract events [{}]; other events [{}]",
            units(self.fee),
            self.ref_time,
            self.proof_size,
            names.join(", "),
            self.others.join(", ")
        );
    }

    fn event_names(&self) -> Vec<String> {
        self.contract_events
            .iter()
            .map(|(_, e)| match e {
                Ok(event) => event.name().to_string(),
                Err(why) => format!("undecodable ({why})"),
            })
            .collect()
    }

    fn require(&self) -> anyhow::Result<&Self> {
        match &self.error {
            None => Ok(self),
            Some(e) => Err(anyhow!("{e}")),
        }
    }
}

fn weight_limit() -> Value {
    Value::named_composite([
        ("ref_time", Value::u128(REF_TIME_LIMIT.into())),
        ("proof_size", Value::u128(PROOF_SIZE_LIMIT.into())),
    ])
}

/// `Revive::call` of a contract message, `value` in native units (planck).
async fn call(api: &Api, who: &Keypair, dest: H160, input: Vec<u8>, value: Balance) -> Step {
    submit(
        api,
        who,
        "Revive",
        "call",
        vec![
            Value::from_bytes(dest.0),
            Value::u128(value),
            weight_limit(),
            Value::u128(DEPOSIT_LIMIT),
            Value::from_bytes(input),
        ],
    )
    .await
}

/// Signs, submits and follows one extrinsic to a finalized block, and reads its events: a
/// failed extrinsic still paid its fee, and a wallet shows both.
async fn submit(api: &Api, who: &Keypair, pallet: &str, call: &str, fields: Vec<Value>) -> Step {
    let tx = subxt::dynamic::tx(pallet, call, fields);
    let in_block = match api.tx().sign_and_submit_then_watch_default(&tx, who).await {
        Ok(progress) => tokio::time::timeout(RPC_DEADLINE, progress.wait_for_finalized()).await,
        Err(e) => return failed(format!("not submitted: {e}")),
    };
    let events = match in_block {
        Ok(Ok(in_block)) => in_block.fetch_events().await,
        Ok(Err(e)) => return failed(format!("not finalized: {e}")),
        Err(_) => return failed(format!("not finalized within {RPC_DEADLINE:?}")),
    };
    let events = match events {
        Ok(events) => events,
        Err(e) => return failed(format!("its events unreadable: {e}")),
    };
    let mut step = Step::default();
    for event in events.iter() {
        let event = match event {
            Ok(e) => e,
            Err(e) => return failed(format!("an event did not decode: {e}")),
        };
        let mut bytes = event.field_bytes();
        match (event.pallet_name(), event.variant_name()) {
            ("Revive", "ContractEmitted") => {
                match <([u8; 20], Vec<u8>, Vec<[u8; 32]>)>::decode_all(&mut bytes) {
                    Ok((contract, data, topics)) => step.contract_events.push((
                        H160(contract),
                        DreamsterEvent::decode(&topics, &data).map_err(|e| format!("{e:?}")),
                    )),
                    Err(e) => step
                        .others
                        .push(format!("Revive::ContractEmitted undecodable: {e}")),
                }
            }
            ("Revive", "Instantiated") => match <([u8; 20], [u8; 20])>::decode_all(&mut bytes) {
                Ok((_deployer, contract)) => step.instantiated.push(H160(contract)),
                Err(e) => step
                    .others
                    .push(format!("Revive::Instantiated undecodable: {e}")),
            },
            ("TransactionPayment", "TransactionFeePaid") => {
                match <(AccountId32, Balance, Balance)>::decode_all(&mut bytes) {
                    Ok((_who, fee, _tip)) => step.fee = fee,
                    Err(e) => step
                        .others
                        .push(format!("TransactionFeePaid undecodable: {e}")),
                }
            }
            // The dispatch info: the weight charged, the class, whether it paid.
            ("System", "ExtrinsicSuccess") => match <(Weight, u8, u8)>::decode_all(&mut bytes) {
                Ok((weight, _class, _pays)) => {
                    step.ref_time = weight.ref_time();
                    step.proof_size = weight.proof_size();
                }
                Err(e) => step
                    .others
                    .push(format!("ExtrinsicSuccess undecodable: {e}")),
            },
            ("System", "ExtrinsicFailed") => {
                step.error = Some(
                    match <(sp_runtime::DispatchError, Weight, u8, u8)>::decode_all(&mut bytes) {
                        Ok((e, weight, _class, _pays)) => {
                            step.ref_time = weight.ref_time();
                            step.proof_size = weight.proof_size();
                            dispatch_error(api, e)
                        }
                        Err(e) => format!("ExtrinsicFailed undecodable: {e}"),
                    },
                )
            }
            (p, v) => step.others.push(format!("{p}::{v}")),
        }
    }
    step
}

/// A dispatch error; a pallet's by its names in the runtime's metadata.
fn dispatch_error(api: &Api, error: sp_runtime::DispatchError) -> String {
    let sp_runtime::DispatchError::Module(module) = error else {
        return format!("{error:?}");
    };
    let metadata = api.metadata();
    let pallet = metadata.pallet_by_index(module.index);
    let variant = pallet
        .as_ref()
        .and_then(|p| p.error_variant_by_index(module.error[0]));
    match (pallet, variant) {
        (Some(p), Some(v)) => format!("{}::{}", p.name(), v.name),
        _ => format!("{module:?}"),
    }
}

fn failed(error: String) -> Step {
    Step {
        error: Some(error),
        ..Step::default()
    }
}

fn addr(who: &Keypair) -> Address {
    Address::from(address_of(who).0)
}

/// The account's address as pallet-revive maps it (the runtime's own mapper).
fn address_of(who: &Keypair) -> H160 {
    AccountId32Mapper::<Runtime>::to_address(&AccountId32::from(who.public_key().0))
}

async fn free(api: &Api, who: &Keypair) -> anyhow::Result<Balance> {
    let query = subxt::dynamic::storage(
        "System",
        "Account",
        vec![Value::from_bytes(who.public_key().0)],
    );
    let info = api.storage().at_latest().await?.fetch(&query).await?;
    let Some(info) = info else { return Ok(0) };
    let (_nonce, _consumers, _providers, _sufficients, free, _reserved, _frozen, _flags) =
        <(u32, u32, u32, u32, Balance, Balance, Balance, u128)>::decode_all(&mut info.encoded())
            .context("an AccountInfo")?;
    Ok(free)
}

async fn chain_now(api: &Api) -> anyhow::Result<u64> {
    let query = subxt::dynamic::storage("Timestamp", "Now", ());
    let now = api
        .storage()
        .at_latest()
        .await?
        .fetch(&query)
        .await?
        .context("Timestamp::Now unset")?;
    Ok(u64::decode_all(&mut now.encoded())?)
}

/// A constant of pallet-revive, as the node's metadata gives it.
fn revive_constant(api: &Api, name: &str) -> anyhow::Result<Value<u32>> {
    Ok(api
        .constants()
        .at(&subxt::dynamic::constant("Revive", name))?
        .to_value()?)
}

/// What a contract holds, as pallet-revive shows it to contracts and Ethereum tools.
async fn evm_balance(api: &Api, contract: H160) -> anyhow::Result<U256> {
    let balance: U256 = api
        .runtime_api()
        .at_latest()
        .await?
        .call_raw("ReviveApi_balance", Some(&contract.encode()))
        .await?;
    Ok(balance)
}
