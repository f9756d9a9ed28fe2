//! PSP34 on the compiled release, called the way a wallet calls it: by the selectors the
//! standard publishes (w3f/PSPs, PSP-34), written here as the standard writes them, not
//! derived from our own code. A fan's editions are counted, listed, named and moved.

use dreamster_calls::release;
use dreamster_drink_tests::*;
use dreamster_types::psp34::{Id, PSP34Error};
use dreamster_types::release::{SaleTerms, MIN_DISPUTE_WINDOW};
use parity_scale_codec::Encode;

const COLLECTION_ID: [u8; 4] = [0xff, 0xa2, 0x7a, 0x5f];
const BALANCE_OF: [u8; 4] = [0xcd, 0xe7, 0xe5, 0x5f];
const OWNER_OF: [u8; 4] = [0x11, 0x68, 0x62, 0x4d];
const ALLOWANCE: [u8; 4] = [0x47, 0x90, 0xf5, 0x5a];
const APPROVE: [u8; 4] = [0x19, 0x32, 0xa8, 0xb0];
const TRANSFER: [u8; 4] = [0x31, 0x28, 0xd6, 0x1b];
const TOTAL_SUPPLY: [u8; 4] = [0x62, 0x84, 0x13, 0xfe];
const GET_ATTRIBUTE: [u8; 4] = [0xf1, 0x9d, 0x48, 0xd1];
const OWNERS_TOKEN_BY_INDEX: [u8; 4] = [0x3b, 0xcf, 0xb5, 0x11];

fn input(selector: [u8; 4], args: impl Encode) -> Vec<u8> {
    let mut input = selector.to_vec();
    args.encode_to(&mut input);
    input
}

fn who(seed: u8) -> dreamster_types::AccountId {
    ink_id(&account(seed))
}

#[test]
fn a_wallet_lists_names_and_moves_a_fans_editions_by_the_standard_selectors() -> anyhow::Result<()>
{
    let mut chain = Chain::new()?;
    chain.set_time(START);
    let address = chain.create_release(
        ARTIST,
        SaleTerms {
            title: "Night Drive".into(),
            metadata_uri: "ipfs://night-drive".into(),
            price: PRICE,
            max_editions: None,
            sale_start: START,
            sale_end: None,
            dispute_window: MIN_DISPUTE_WINDOW,
        },
    )?;
    for fan in [FAN, OTHER_FAN, FAN] {
        let bought: R<u32> = chain.call(fan, &address, PRICE, release::buy(vec![]))?;
        bought.map_err(|e| anyhow::anyhow!("buy: {e:?}"))?;
    }

    let supply: u128 = chain.call(FAN, &address, 0, input(TOTAL_SUPPLY, ()))?;
    assert_eq!(supply, 3);
    let count: u32 = chain.call(FAN, &address, 0, input(BALANCE_OF, who(FAN)))?;
    assert_eq!(count, 2);
    let mut listed = Vec::new();
    for index in 0..=u128::from(count) {
        // OpenBrush's ABI, which wallets use: `Result<Id, PSP34Error>`.
        let id: Result<Id, PSP34Error> = chain.call(
            FAN,
            &address,
            0,
            input(OWNERS_TOKEN_BY_INDEX, (who(FAN), index)),
        )?;
        listed.push(id);
    }
    assert_eq!(
        listed,
        vec![
            Ok(Id::U32(0)),
            Ok(Id::U32(2)),
            Err(PSP34Error::TokenNotExists)
        ]
    );
    let owner: Option<dreamster_types::AccountId> =
        chain.call(FAN, &address, 0, input(OWNER_OF, Id::U32(1)))?;
    assert_eq!(owner, Some(who(OTHER_FAN)));

    let collection: Id = chain.call(FAN, &address, 0, input(COLLECTION_ID, ()))?;
    assert_eq!(
        collection,
        Id::Bytes(AsRef::<[u8; 32]>::as_ref(&address).to_vec())
    );
    let name: Option<Vec<u8>> = chain.call(
        FAN,
        &address,
        0,
        input(GET_ATTRIBUTE, (Id::U32(2), b"name".to_vec())),
    )?;
    assert_eq!(name.as_deref(), Some(&b"Night Drive #2"[..]));
    let uri: Option<Vec<u8>> = chain.call(
        FAN,
        &address,
        0,
        input(GET_ATTRIBUTE, (collection, b"uri".to_vec())),
    )?;
    assert_eq!(uri.as_deref(), Some(&b"ipfs://night-drive"[..]));

    // The fan approves a marketplace (OWNER's account here) for edition 0, which moves it.
    let approved: Result<(), PSP34Error> = chain.call(
        FAN,
        &address,
        0,
        input(APPROVE, (who(OWNER), Some(Id::U32(0)), true)),
    )?;
    assert_eq!(approved, Ok(()));
    let allowed: bool = chain.call(
        FAN,
        &address,
        0,
        input(ALLOWANCE, (who(FAN), who(OWNER), Some(Id::U32(0)))),
    )?;
    assert!(allowed);
    let moved: Result<(), PSP34Error> = chain.call(
        OWNER,
        &address,
        0,
        input(TRANSFER, (who(OTHER_FAN), Id::U32(0), Vec::<u8>::new())),
    )?;
    assert_eq!(moved, Ok(()));
    let refused: Result<(), PSP34Error> = chain.call(
        OWNER,
        &address,
        0,
        input(TRANSFER, (who(OWNER), Id::U32(2), Vec::<u8>::new())),
    )?;
    assert_eq!(refused, Err(PSP34Error::NotApproved));
    let count: u32 = chain.call(FAN, &address, 0, input(BALANCE_OF, who(OTHER_FAN)))?;
    assert_eq!(count, 2);
    let first: Result<Id, PSP34Error> = chain.call(
        FAN,
        &address,
        0,
        input(OWNERS_TOKEN_BY_INDEX, (who(FAN), 0u128)),
    )?;
    assert_eq!(first, Ok(Id::U32(2)), "the fan's list stays dense");
    // Dreamster's own getter sees the same owner: one ledger behind both interfaces.
    let owner: Option<dreamster_types::AccountId> =
        chain.call(FAN, &address, 0, release::owner_of(0))?;
    assert_eq!(owner, Some(who(OTHER_FAN)));
    Ok(())
}
