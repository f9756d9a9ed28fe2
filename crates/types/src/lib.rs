//! The vocabulary every Dreamster component speaks: perks, entitlements, sale terms,
//! reputation, and every contract event. Defined once, `no_std` for the contracts and
//! `std` for the indexer, API and CLI, so an event is decoded with the very type that
//! encoded it.
#![cfg_attr(not(feature = "std"), no_std)]
// The SCALE derive of enums with data casts variant indices to u8, which trips the lint
// that `cargo contract build` enforces; the casts are the derive's, not ours.
#![allow(clippy::cast_possible_truncation)]

extern crate alloc;

#[cfg(feature = "std")]
pub mod commitment;
pub mod entitlement;
pub mod errors;
pub mod events;
#[cfg(feature = "std")]
pub mod merkle;
pub mod perk;
pub mod psp34;
pub mod registry_api;
pub mod release;
#[cfg(feature = "std")]
pub mod stored;
pub mod templates;

pub use ink::primitives::AccountId;

/// The chain's currency, in its smallest unit.
pub type Balance = u128;
/// Milliseconds since the Unix epoch, as the chain's timestamp pallet keeps them.
pub type Timestamp = u64;
/// The serial number of an edition (token) within one release, from 0.
pub type EditionId = u32;
/// The index of a perk within one release, from 0, in the order it was added.
pub type PerkId = u32;
/// A 32-byte hash: committed content, delivery proof or dispute evidence.
pub type Hash32 = [u8; 32];

/// Shares of a price are in basis points: 10 000 is the whole price.
pub const BPS_DENOMINATOR: u16 = 10_000;

/// The part of `price` that `bps` (at most 10 000) basis points stand for, rounded down;
/// split so that no intermediate product can overflow.
pub fn share_of(price: Balance, bps: u16) -> Option<Balance> {
    let bps = Balance::from(bps);
    let denominator = Balance::from(BPS_DENOMINATOR);
    let whole = price.checked_div(denominator)?.checked_mul(bps)?;
    let rest = price
        .checked_rem(denominator)?
        .checked_mul(bps)?
        .checked_div(denominator)?;
    whole.checked_add(rest)
}

/// The commitment to an automatic perk's secret (a link, an invite, a code) published on
/// chain: BLAKE2b-256 of its UTF-8 bytes. Whoever holds the secret can check it.
pub fn content_hash(secret: &[u8]) -> Hash32 {
    let mut out = [0u8; 32];
    ink::env::hash_bytes::<ink::env::hash::Blake2x256>(secret, &mut out);
    out
}
