//! The bundles carry complete metadata: every message and event a client needs is listed,
//! so metadata-aware tools (polkadot.js, cargo-contract, our CLI) can use them.

use std::collections::BTreeSet;

fn labels(contract: &str, section: &str) -> anyhow::Result<BTreeSet<String>> {
    let path = dreamster_drink_tests::bundle_path(contract);
    let bundle: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let items = bundle["spec"][section]
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("{section} missing in {path:?}"))?;
    Ok(items
        .iter()
        .filter_map(|m| m["label"].as_str().map(str::to_string))
        .collect())
}

fn assert_has(have: &BTreeSet<String>, want: &[&str]) {
    for w in want {
        assert!(have.contains(*w), "{w} missing from {have:?}");
    }
}

const EVENTS: &[&str] = &[
    "ArbiterAdded",
    "ArbiterRemoved",
    "ReleaseCodeSet",
    "ReleaseCodeAnnounced",
    "OwnershipOffered",
    "OwnershipTransferred",
    "ArtistRegistered",
    "ReleaseCreated",
    "ReputationChanged",
    "PerkAdded",
    "PerkCancelled",
    "EditionSold",
    "Transfer",
    "Approval",
    "EntitlementChanged",
    "PerkRated",
    "EscrowReleased",
    "ArtistWithdrew",
];

#[test]
fn release_bundle_lists_every_message_and_event() -> anyhow::Result<()> {
    assert_has(
        &labels("release", "messages")?,
        &[
            "add_perk",
            "mark_delivered",
            "withdraw",
            "buy",
            "cancel_perk",
            "arbiters",
            "transfer",
            // PSP34, as wallets call it (tests/psp34.rs calls them by selector).
            "PSP34::collection_id",
            "PSP34::balance_of",
            "PSP34::owner_of",
            "PSP34::allowance",
            "PSP34::approve",
            "PSP34::transfer",
            "PSP34::total_supply",
            "PSP34Metadata::get_attribute",
            "PSP34Enumerable::owners_token_by_index",
            "PSP34Enumerable::token_by_index",
            "approve",
            "unlock",
            "confirm",
            "settle",
            "rate",
            "dispute",
            "resolve",
            "claim_refund",
            "sale_terms",
            "perks",
            "owner_of",
            "balance_of",
            "entitlement",
            "status",
            "refundable_amount",
            "escrow_held",
            "artist_withdrawable",
            "refunds_owed",
        ],
    );
    assert_has(&labels("release", "constructors")?, &["new"]);
    assert_has(&labels("release", "events")?, EVENTS);
    Ok(())
}

#[test]
fn registry_bundle_lists_every_message_and_event() -> anyhow::Result<()> {
    assert_has(
        &labels("registry", "messages")?,
        &[
            "set_release_code",
            "add_arbiter",
            "remove_arbiter",
            "register_artist",
            "create_release",
            "releases",
            "artist_of_release",
            "reputation",
            "is_arbiter",
            "arbiters",
            "release_code_hash",
            "pending_release_code",
            "offer_ownership",
            "accept_ownership",
            "offered_owner",
            "ArtistRegistry::record_outcome",
        ],
    );
    assert_has(&labels("registry", "events")?, EVENTS);
    Ok(())
}
