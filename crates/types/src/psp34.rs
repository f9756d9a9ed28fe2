//! PSP34, the Polkadot NFT standard (ERC-721's counterpart), as wallets and marketplaces
//! call it: a release's editions are its tokens, `Id::U32(edition)`. The traits are named
//! as the standard names them, so ink! derives the standard's selectors from them
//! (`PSP34::balance_of` = `0xcde7e55f`, …); `contracts/drink-tests/tests/psp34.rs` calls
//! the compiled release by the selectors written in the standard. Defined once here so the
//! release implements them and any client can call them through `contract_ref!`.
//!
//! Approvals are per edition, as Dreamster's own `approve`, and one at a time: approving a
//! second operator for an edition replaces the first. An approval for all of an owner's
//! editions at once is refused (`Custom`), since an operator who could move every edition
//! would also move every perk's escrow claim.
//!
//! Where the published text and its reference implementation (OpenBrush, which wallets'
//! PSP34 ABIs come from) differ, this follows OpenBrush: `PSP34Enumerable` answers
//! `Result<Id, PSP34Error>` (`TokenNotExists` past the end), not `Option<Id>`. The events
//! stay Dreamster's (`Transfer { from, to, edition }`, `Approval { owner, approved,
//! edition }`), which the indexer reads; an indexer expecting PSP34-shaped events does not
//! see these moves.
#![allow(clippy::upper_case_acronyms)]

use alloc::string::String;
use alloc::vec::Vec;

use crate::{AccountId, Balance, EditionId};

/// A token's id as the standard defines it.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Id {
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    U128(u128),
    Bytes(Vec<u8>),
}

impl Id {
    /// The edition this id names: editions are `U32`; nothing else names one.
    pub fn edition(&self) -> Option<EditionId> {
        match self {
            Id::U32(edition) => Some(*edition),
            _ => None,
        }
    }
}

/// The standard's errors.
#[ink::scale_derive(Encode, Decode, TypeInfo)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PSP34Error {
    Custom(String),
    SelfApprove,
    NotApproved,
    TokenExists,
    TokenNotExists,
    SafeTransferCheckFailed(String),
}

/// The attribute keys `PSP34Metadata::get_attribute` answers, for the collection id and for
/// each edition: the release's title (an edition's is "title #n"), and its metadata URI,
/// where the artwork and description live.
pub const ATTRIBUTE_NAME: &[u8] = b"name";
pub const ATTRIBUTE_URI: &[u8] = b"uri";

#[ink::trait_definition]
pub trait PSP34 {
    /// The collection's id: the release contract's address, as bytes.
    #[ink(message)]
    fn collection_id(&self) -> Id;

    /// How many editions `owner` holds.
    #[ink(message)]
    fn balance_of(&self, owner: AccountId) -> u32;

    #[ink(message)]
    fn owner_of(&self, id: Id) -> Option<AccountId>;

    /// Whether `operator` may transfer `owner`'s edition `id` (`None`: all of them, which
    /// this collection never grants).
    #[ink(message)]
    fn allowance(&self, owner: AccountId, operator: AccountId, id: Option<Id>) -> bool;

    /// Lets `operator` transfer the caller's edition `id` (or withdraws that approval).
    #[ink(message)]
    fn approve(
        &mut self,
        operator: AccountId,
        id: Option<Id>,
        approved: bool,
    ) -> Result<(), PSP34Error>;

    /// Moves edition `id`, with every perk it carries, to `to`; `data` is ignored.
    #[ink(message)]
    fn transfer(&mut self, to: AccountId, id: Id, data: Vec<u8>) -> Result<(), PSP34Error>;

    #[ink(message)]
    fn total_supply(&self) -> Balance;
}

#[ink::trait_definition]
pub trait PSP34Metadata {
    /// [`ATTRIBUTE_NAME`] or [`ATTRIBUTE_URI`] of an edition, or of the collection id.
    #[ink(message)]
    fn get_attribute(&self, id: Id, key: Vec<u8>) -> Option<Vec<u8>>;
}

/// How a wallet lists a fan's editions: `balance_of`, then each index below it.
#[ink::trait_definition]
pub trait PSP34Enumerable {
    #[ink(message)]
    fn owners_token_by_index(&self, owner: AccountId, index: u128) -> Result<Id, PSP34Error>;

    #[ink(message)]
    fn token_by_index(&self, index: u128) -> Result<Id, PSP34Error>;
}

/// `n` in decimal, for "title #n" without `format!` (which would pull the formatting
/// machinery into the contract's Wasm).
pub fn decimal(mut n: u32) -> Vec<u8> {
    let mut digits = Vec::new();
    loop {
        digits.push(b'0'.saturating_add((n % 10) as u8));
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    digits
}
