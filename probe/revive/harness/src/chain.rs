//! A driver over the runtime: who calls which message with what, and what came of it —
//! the contract's answer, the weight and storage deposit it cost, the events it emitted
//! (decoded with Dreamster's own event types) and the caller's balance change.
use dreamster_types::events::DreamsterEvent;
use frame_support::weights::Weight;
use pallet_revive::{
    AddressMapper, Code, ExecConfig, H160, StorageDeposit, TransactionLimits, U256,
};

use revive_probe::runtime::{
    AccountId, Balance, Balances, Revive, Runtime, RuntimeEvent, RuntimeOrigin, System,
};

/// Plenty for any one Dreamster message (a block allows 2 s of ref time).
const WEIGHT_LIMIT: Weight = Weight::from_parts(500_000_000_000, 3 * 1024 * 1024);
/// What a caller lets one call hold for storage (pallet-revive reserves the limit up front).
const DEPOSIT_LIMIT: Balance = 100 * revive_probe::runtime::UNIT;

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
        value: revive_probe::runtime::UNIT,
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
    let sweep = revive_probe::runtime::RuntimeCall::Balances(pallet_balances::Call::transfer_all {
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
