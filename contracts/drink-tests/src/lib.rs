//! The compiled contracts, deployed from their `.contract` bundles into drink's sandboxed
//! runtime (pallet-contracts, balances, timestamp), with typed calls and balances.

use std::path::PathBuf;

use drink::minimal::MinimalSandbox;
use drink::pallet_contracts::Determinism;
use drink::sandbox_api::prelude::{BalanceAPI, ContractAPI, TimestampAPI};
use drink::session::ContractBundle;
use drink::{AccountId32, Sandbox, Weight};
use ink::primitives::AccountId;
use parity_scale_codec::Decode;

use dreamster_calls::{constructors, decode_answer, registry, AnswerError};
use dreamster_types::release::SaleTerms;

/// Where `scripts/build-contracts.sh` leaves the bundles.
pub fn bundle_path(contract: &str) -> PathBuf {
    let dir = std::env::var_os("DREAMSTER_CONTRACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
            target.join("ink")
        });
    dir.join(format!("dreamster_{contract}"))
        .join(format!("dreamster_{contract}.contract"))
}

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("contract bundle {0} is missing or unreadable ({1}): run scripts/build-contracts.sh")]
    Bundle(PathBuf, String),
    #[error("the runtime refused the call: {0:?}")]
    Dispatch(drink::DispatchError),
    #[error("upload refused: {0:?}")]
    Upload(drink::DispatchError),
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error("constructor reverted")]
    Reverted,
    #[error("set-up call refused: {0}")]
    Refused(String),
}

pub fn load_bundle(contract: &str) -> Result<ContractBundle, ChainError> {
    let path = bundle_path(contract);
    ContractBundle::load(&path).map_err(|e| ChainError::Bundle(path.clone(), e.to_string()))
}

pub const UNIT: u128 = 1_000_000_000_000;
/// The price of an edition in the tests' releases.
pub const PRICE: u128 = 10 * UNIT;
pub const HOUR: u64 = 60 * 60 * 1000;
pub const DAY: u64 = 24 * HOUR;
/// The sandbox clock when a test's release opens (mid-2025).
pub const START: u64 = 1_750_000_000_000;

/// A release message's answer.
pub type R<T> = Result<T, dreamster_types::errors::ReleaseError>;
/// Every named account starts with this much.
pub const START_BALANCE: u128 = 1_000_000 * UNIT;

/// A named account of the sandbox.
pub fn account(seed: u8) -> AccountId32 {
    AccountId32::new([seed; 32])
}

pub fn ink_id(account: &AccountId32) -> AccountId {
    AccountId::from(*<AccountId32 as AsRef<[u8; 32]>>::as_ref(account))
}

pub fn drink_id(account: &AccountId) -> AccountId32 {
    AccountId32::new(*<AccountId as AsRef<[u8; 32]>>::as_ref(account))
}

pub const OWNER: u8 = 1;
pub const ARTIST: u8 = 2;
pub const FAN: u8 = 3;
pub const OTHER_FAN: u8 = 4;
pub const ARBITER: u8 = 5;

/// The weight a call consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub ref_time: u64,
    pub proof_size: u64,
}

/// A sandboxed chain with the registry deployed, the release code uploaded and set.
pub struct Chain {
    pub sandbox: MinimalSandbox,
    pub registry: AccountId32,
    pub release_code: [u8; 32],
    pub last_cost: Cost,
    /// The size of the last call's encoded answer, in bytes.
    pub last_answer_len: usize,
}

impl Chain {
    pub fn new() -> Result<Self, ChainError> {
        let release = load_bundle("release")?;
        let registry = load_bundle("registry")?;
        let mut sandbox = MinimalSandbox::default();
        for seed in [OWNER, ARTIST, FAN, OTHER_FAN, ARBITER] {
            sandbox
                .mint_into(&account(seed), START_BALANCE)
                .map_err(ChainError::Dispatch)?;
        }
        let upload = sandbox
            .upload_contract(release.wasm, account(OWNER), None, Determinism::Enforced)
            .map_err(ChainError::Upload)?;
        let release_code: [u8; 32] = upload.code_hash.into();
        let deployed = sandbox.deploy_contract(
            registry.wasm,
            0,
            constructors::registry_new(),
            vec![],
            account(OWNER),
            MinimalSandbox::default_gas_limit(),
            None,
        );
        let result = deployed.result.map_err(ChainError::Dispatch)?;
        if result.result.did_revert() {
            return Err(ChainError::Reverted);
        }
        let mut chain = Chain {
            sandbox,
            registry: result.account_id,
            release_code,
            last_cost: Cost {
                ref_time: 0,
                proof_size: 0,
            },
            last_answer_len: 0,
        };
        let registry_addr = chain.registry.clone();
        chain
            .call::<Result<(), dreamster_types::registry_api::RegistryError>>(
                OWNER,
                &registry_addr,
                0,
                registry::set_release_code(release_code),
            )?
            .map_err(|e| ChainError::Refused(format!("set_release_code: {e:?}")))?;
        Ok(chain)
    }

    /// Calls `contract` as `origin` with `value` attached and decodes the answer.
    pub fn call<T: Decode>(
        &mut self,
        origin: u8,
        contract: &AccountId32,
        value: u128,
        input: Vec<u8>,
    ) -> Result<T, ChainError> {
        self.call_from(account(origin), contract, value, input)
    }

    /// [`Chain::call`] from any account, a contract's own included.
    pub fn call_from<T: Decode>(
        &mut self,
        origin: AccountId32,
        contract: &AccountId32,
        value: u128,
        input: Vec<u8>,
    ) -> Result<T, ChainError> {
        let result = self.sandbox.call_contract(
            contract.clone(),
            value,
            input,
            origin,
            MinimalSandbox::default_gas_limit(),
            None,
            Determinism::Enforced,
        );
        self.last_cost = Cost {
            ref_time: result.gas_consumed.ref_time(),
            proof_size: result.gas_consumed.proof_size(),
        };
        let returned = result.result.map_err(ChainError::Dispatch)?;
        self.last_answer_len = returned.data.len();
        Ok(decode_answer::<T>(&returned.data)?)
    }

    /// Instantiates uploaded code as `origin` (any account, a contract's own included);
    /// returns the new contract's address, which `salt` makes unique.
    pub fn instantiate_from(
        &mut self,
        origin: AccountId32,
        code_hash: [u8; 32],
        input: Vec<u8>,
        salt: &[u8],
    ) -> Result<AccountId32, ChainError> {
        let result = self
            .sandbox
            .instantiate_contract(
                code_hash.to_vec(),
                0,
                input,
                salt.to_vec(),
                origin,
                MinimalSandbox::default_gas_limit(),
                None,
            )
            .result
            .map_err(ChainError::Dispatch)?;
        if result.result.did_revert() {
            return Err(ChainError::Reverted);
        }
        Ok(result.account_id)
    }

    /// The test-only hostile registry (`contracts/hostile-registry`), deployed by the owner
    /// and funded so it can buy; returns its address.
    pub fn deploy_hostile_registry(&mut self) -> Result<AccountId32, ChainError> {
        let code = self.upload(load_bundle("hostile_registry")?)?;
        let hostile = self.instantiate_from(
            account(OWNER),
            code,
            ink::selector_bytes!("new").to_vec(),
            b"",
        )?;
        self.mint(&hostile, 1_000 * UNIT)?;
        Ok(hostile)
    }

    /// Uploads a bundle's code as the registry's owner; returns its code hash.
    pub fn upload(&mut self, bundle: ContractBundle) -> Result<[u8; 32], ChainError> {
        let upload = self
            .sandbox
            .upload_contract(bundle.wasm, account(OWNER), None, Determinism::Enforced)
            .map_err(ChainError::Upload)?;
        Ok(upload.code_hash.into())
    }

    pub fn mint(&mut self, who: &AccountId32, amount: u128) -> Result<(), ChainError> {
        self.sandbox
            .mint_into(who, amount)
            .map(|_| ())
            .map_err(ChainError::Dispatch)
    }

    pub fn balance(&mut self, who: &AccountId32) -> u128 {
        self.sandbox.free_balance(who)
    }

    pub fn set_time(&mut self, ms: u64) {
        self.sandbox.set_timestamp(ms);
    }

    pub fn now(&mut self) -> u64 {
        self.sandbox.get_timestamp()
    }

    /// A plain balance transfer's weight, measured in this sandbox: the bench's yardstick.
    pub fn transfer_weight(&mut self) -> Weight {
        use drink::frame_support::dispatch::GetDispatchInfo;
        let call = drink::pallet_balances::Call::<drink::minimal::MinimalSandboxRuntime>::transfer_allow_death {
            dest: account(FAN).into(),
            value: UNIT,
        };
        call.get_dispatch_info().weight
    }

    /// The artist's reputation as the registry keeps it.
    pub fn reputation(
        &mut self,
        artist: u8,
    ) -> Result<dreamster_types::registry_api::Reputation, ChainError> {
        let registry = self.registry.clone();
        self.call(
            OWNER,
            &registry,
            0,
            registry::reputation(ink_id(&account(artist))),
        )
    }

    /// Registers `artist` and creates a release with `terms`; returns its address.
    pub fn create_release(
        &mut self,
        artist: u8,
        terms: SaleTerms,
    ) -> Result<AccountId32, ChainError> {
        use dreamster_types::registry_api::RegistryError;
        let registry = self.registry.clone();
        let registered: Result<(), RegistryError> = self.call(
            artist,
            &registry,
            0,
            registry::register_artist("Nova Lights", "ipfs://nova"),
        )?;
        if let Err(e) = registered {
            if e != RegistryError::AlreadyRegistered {
                return Err(ChainError::Refused(format!("register_artist: {e:?}")));
            }
        }
        let code = self.release_code;
        let created: Result<AccountId, RegistryError> =
            self.call(artist, &registry, 0, registry::create_release(terms, code))?;
        created
            .map(|id| drink_id(&id))
            .map_err(|e| ChainError::Refused(format!("create_release: {e:?}")))
    }
}
