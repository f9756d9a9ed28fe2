//! A driver over the runtime: who calls which message with what, and what came of it —
//! the contract's answer, the weight and storage deposit it cost, the events it emitted
//! (decoded with Dreamster's own event types) and the caller's balance change.
use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, anyhow};
use codec::Encode;
use dreamster_types::events::DreamsterEvent;
use frame_support::weights::Weight;
use pallet_revive::{
    AddressMapper, Code, ExecConfig, H160, StorageDeposit, TransactionLimits, U256,
};

use crate::runtime::{
    AccountId, Balance, Balances, Revive, Runtime, RuntimeEvent, RuntimeOrigin, System,
};

/// Plenty for any one Dreamster message (a block allows 2 s of ref time).
const WEIGHT_LIMIT: Weight = Weight::from_parts(500_000_000_000, 3 * 1024 * 1024);
/// What a caller lets one call hold for storage (pallet-revive reserves the limit up front).
const DEPOSIT_LIMIT: Balance = 100 * crate::runtime::UNIT;

/// A compiled contract: its PolkaVM blob and its messages' selectors, from the metadata
/// cargo-contract wrote beside it.
pub struct Artifact {
    pub name: String,
    pub blob: Vec<u8>,
    selectors: HashMap<String, [u8; 4]>,
}

impl Artifact {
    pub fn load(dir: &Path, name: &str) -> anyhow::Result<Self> {
        let blob = std::fs::read(dir.join(format!("{name}.polkavm")))
            .with_context(|| format!("reading {name}.polkavm in {}", dir.display()))?;
        let metadata: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.join(format!("{name}.json")))
                .with_context(|| format!("reading {name}.json"))?,
        )?;
        let mut selectors = HashMap::new();
        for kind in ["constructors", "messages"] {
            for item in metadata["spec"][kind].as_array().into_iter().flatten() {
                let label = item["label"].as_str().ok_or_else(|| anyhow!("a label"))?;
                let hex = item["selector"]
                    .as_str()
                    .ok_or_else(|| anyhow!("a selector"))?;
                let bytes = u32::from_str_radix(hex.trim_start_matches("0x"), 16)?.to_be_bytes();
                selectors.insert(label.to_string(), bytes);
            }
        }
        Ok(Self {
            name: name.to_string(),
            blob,
            selectors,
        })
    }

    pub fn input(&self, label: &str, args: impl Encode) -> Vec<u8> {
        let selector = self
            .selectors
            .get(label)
            .unwrap_or_else(|| panic!("{} has no message {label}", self.name));
        let mut input = selector.to_vec();
        args.encode_to(&mut input);
        input
    }

    /// The names of the host functions the blob imports: what pallet-revive checks at upload.
    pub fn imports(&self) -> anyhow::Result<Vec<String>> {
        let blob = polkavm::ProgramBlob::parse(self.blob.clone().into())
            .map_err(|e| anyhow!("{} does not parse as a PolkaVM blob: {e}", self.name))?;
        let mut names: Vec<String> = blob
            .imports()
            .iter()
            .flatten()
            .map(|symbol| String::from_utf8_lossy(symbol.as_bytes()).into_owned())
            .collect();
        names.sort();
        Ok(names)
    }
}

/// What one call did.
pub struct Outcome {
    /// Neither refused by the pallet nor reverted by the contract.
    pub ok: bool,
    pub data: Vec<u8>,
    pub error: Option<String>,
    pub weight: Weight,
    /// Positive: charged to the caller; negative: refunded.
    pub deposit: i128,
    pub events: Vec<(H160, Result<DreamsterEvent, String>)>,
    pub instantiated: Vec<H160>,
}

impl Outcome {
    pub fn event_names(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|(_, e)| match e {
                Ok(event) => event.name().to_string(),
                Err(why) => format!("undecodable ({why})"),
            })
            .collect()
    }
}

pub fn address_of(account: &AccountId) -> H160 {
    <Runtime as pallet_revive::Config>::AddressMapper::to_address(account)
}

/// The yardstick of contracts/bench: a plain balance transfer's weight in this runtime.
pub fn transfer_weight() -> Weight {
    use frame_support::dispatch::GetDispatchInfo;
    pallet_balances::Call::<Runtime>::transfer_allow_death {
        dest: sp_keyring::Sr25519Keyring::Bob.to_account_id(),
        value: crate::runtime::UNIT,
    }
    .get_dispatch_info()
    .call_weight
}

/// What the `Revive::call` extrinsic weighs beyond the contract's own execution.
pub fn call_base_weight() -> Weight {
    <<Runtime as pallet_revive::Config>::WeightInfo as pallet_revive::WeightInfo>::call()
}

/// The owner of a 32-byte account moves everything its fallback account holds to itself,
/// acting as that fallback account (the pallet's way to reach value sent to an address
/// before its mapping existed).
pub fn sweep_fallback(account: &AccountId) -> Result<(), String> {
    let sweep = crate::runtime::RuntimeCall::Balances(pallet_balances::Call::transfer_all {
        dest: account.clone(),
        keep_alive: false,
    });
    Revive::dispatch_as_fallback_account(RuntimeOrigin::signed(account.clone()), Box::new(sweep))
        .map(drop)
        .map_err(|e| format!("{:?}", e.error))
}

/// Where value sent to `address` lands while no account is mapped to it.
pub fn fallback_account(address: &H160) -> AccountId {
    <Runtime as pallet_revive::Config>::AddressMapper::to_fallback_account_id(address)
}

pub fn free(account: &AccountId) -> Balance {
    Balances::free_balance(account)
}

pub fn evm_balance(contract: &H160) -> U256 {
    Revive::evm_balance(contract)
}

pub fn map_account(account: &AccountId) -> Result<(), String> {
    Revive::map_account(RuntimeOrigin::signed(account.clone())).map_err(|e| format!("{e:?}"))
}

pub fn upload(account: &AccountId, blob: &[u8]) -> Result<(sp_core::H256, Balance), String> {
    Revive::bare_upload_code(
        RuntimeOrigin::signed(account.clone()),
        blob.to_vec(),
        DEPOSIT_LIMIT,
    )
    .map(|r| (r.code_hash, r.deposit))
    .map_err(|e| format!("{e:?}"))
}

fn limits() -> TransactionLimits<Runtime> {
    TransactionLimits::WeightAndDeposit {
        weight_limit: WEIGHT_LIMIT,
        deposit_limit: DEPOSIT_LIMIT,
    }
}

fn deposit(d: &StorageDeposit<Balance>) -> i128 {
    match d {
        StorageDeposit::Charge(x) => i128::try_from(*x).unwrap_or(i128::MAX),
        StorageDeposit::Refund(x) => -i128::try_from(*x).unwrap_or(i128::MAX),
    }
}

/// Instantiates `code` (uploading it) as a signed extrinsic would.
pub fn instantiate(account: &AccountId, code: &[u8], input: Vec<u8>) -> (Option<H160>, Outcome) {
    System::reset_events();
    let result = Revive::bare_instantiate(
        RuntimeOrigin::signed(account.clone()),
        U256::zero(),
        limits(),
        Code::Upload(code.to_vec()),
        input,
        None,
        &ExecConfig::new_substrate_tx(),
    );
    let (address, ok, data, error) = match &result.result {
        Ok(r) => (
            Some(r.addr),
            !r.result.did_revert(),
            r.result.data.clone(),
            None,
        ),
        Err(e) => (None, false, vec![], Some(format!("{e:?}"))),
    };
    let outcome = finish(
        ok,
        data,
        error,
        result.weight_consumed,
        deposit(&result.storage_deposit),
    );
    (address, outcome)
}

/// Calls a message as the `Revive::call` extrinsic does, with `value` in native units.
pub fn call(account: &AccountId, dest: H160, input: Vec<u8>, value: Balance) -> Outcome {
    System::reset_events();
    let result = Revive::bare_call(
        RuntimeOrigin::signed(account.clone()),
        dest,
        Revive::convert_native_to_evm(value),
        limits(),
        input,
        &ExecConfig::new_substrate_tx(),
    );
    let (ok, data, error) = match &result.result {
        Ok(r) => (!r.did_revert(), r.data.clone(), None),
        Err(e) => (false, vec![], Some(format!("{e:?}"))),
    };
    finish(
        ok,
        data,
        error,
        result.weight_consumed,
        deposit(&result.storage_deposit),
    )
}

fn finish(
    ok: bool,
    data: Vec<u8>,
    error: Option<String>,
    weight: Weight,
    deposit: i128,
) -> Outcome {
    let mut events = Vec::new();
    let mut instantiated = Vec::new();
    for record in System::events() {
        match record.event {
            RuntimeEvent::Revive(pallet_revive::Event::ContractEmitted {
                contract,
                data,
                topics,
            }) => {
                let topics: Vec<[u8; 32]> = topics.iter().map(|t| t.0).collect();
                let decoded = DreamsterEvent::decode(&topics, &data).map_err(|e| format!("{e:?}"));
                events.push((contract, decoded));
            }
            RuntimeEvent::Revive(pallet_revive::Event::Instantiated { contract, .. }) => {
                instantiated.push(contract)
            }
            _ => {}
        }
    }
    Outcome {
        ok,
        data,
        error,
        weight,
        deposit,
        events,
        instantiated,
    }
}
