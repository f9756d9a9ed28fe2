//! The smallest runtime that holds pallet-revive as Polkadot Hub configures it where it
//! matters to Dreamster: sr25519 accounts mapped to 20-byte addresses, a native currency of
//! 10 decimals (DOT) seen by contracts as 18 (the ratio 10^8 that ink!'s default
//! environment assumes), the timestamp pallet's milliseconds, storage deposits.
use frame_support::{derive_impl, traits::ConstU32};
use sp_runtime::{AccountId32, BuildStorage, traits::IdentityLookup};

pub type AccountId = AccountId32;
pub type Balance = u128;

pub use crate::UNIT;
/// What pallet-revive multiplies native value by before a contract sees it (and ink! 6's
/// `DefaultEnvironment::NATIVE_TO_ETH_RATIO`).
pub const NATIVE_TO_ETH: u32 = 100_000_000;
const EXISTENTIAL_DEPOSIT: Balance = UNIT / 100;

type Block = frame_system::mocking::MockBlock<Runtime>;

frame_support::construct_runtime!(
    pub enum Runtime {
        System: frame_system,
        Timestamp: pallet_timestamp,
        Balances: pallet_balances,
        Revive: pallet_revive,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Runtime {
    type Block = Block;
    type AccountId = AccountId;
    type Lookup = IdentityLookup<AccountId>;
    type AccountData = pallet_balances::AccountData<Balance>;
}

frame_support::parameter_types! {
    pub const ExistentialDeposit: Balance = EXISTENTIAL_DEPOSIT;
    pub const DepositPerItem: Balance = UNIT / 50;
    pub const DepositPerChildTrieItem: Balance = UNIT / 5000;
    pub const DepositPerByte: Balance = UNIT / 100_000;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Runtime {
    type Balance = Balance;
    type ExistentialDeposit = ExistentialDeposit;
    type AccountStore = System;
}

#[derive_impl(pallet_timestamp::config_preludes::TestDefaultConfig)]
impl pallet_timestamp::Config for Runtime {}

#[derive_impl(pallet_revive::config_preludes::TestDefaultConfig)]
impl pallet_revive::Config for Runtime {
    type Time = Timestamp;
    type Balance = Balance;
    type Currency = Balances;
    type AddressMapper = pallet_revive::AccountId32Mapper<Self>;
    type NativeToEthRatio = ConstU32<NATIVE_TO_ETH>;
    type DepositPerItem = DepositPerItem;
    type DepositPerChildTrieItem = DepositPerChildTrieItem;
    type DepositPerByte = DepositPerByte;
    type UploadOrigin = frame_system::EnsureSigned<AccountId>;
    type InstantiateOrigin = frame_system::EnsureSigned<AccountId>;
}

/// A fresh chain whose accounts each hold `endowment`.
pub fn genesis(accounts: &[AccountId], endowment: Balance) -> sp_io::TestExternalities {
    let mut storage = frame_system::GenesisConfig::<Runtime>::default()
        .build_storage()
        .expect("the system pallet's genesis builds");
    pallet_balances::GenesisConfig::<Runtime> {
        balances: accounts.iter().map(|a| (a.clone(), endowment)).collect(),
        ..Default::default()
    }
    .assimilate_storage(&mut storage)
    .expect("the balances pallet's genesis builds");
    // Gives the pallet's own account the existential deposit that code deposits are held on.
    pallet_revive::GenesisConfig::<Runtime>::default()
        .assimilate_storage(&mut storage)
        .expect("pallet-revive's genesis builds");
    let mut ext = sp_io::TestExternalities::new(storage);
    ext.execute_with(|| System::set_block_number(1));
    ext
}
