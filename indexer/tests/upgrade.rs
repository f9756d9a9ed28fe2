//! Runtime upgrades (issue 16, item 4): events are read with the metadata of the runtime
//! that produced their block, and an event nobody can read is recorded, not fatal.
//!
//! The dev node cannot be given a runtime with another event layout without building one
//! from source (about an hour on this machine), so the upgrade here is the closest honest
//! equivalent: a real `System.set_code` through sudo, with the node's own runtime whose
//! embedded version (the `runtime_version` custom section the node reads) says
//! `spec_version + 1`. The chain then really runs a new runtime from the upgrade on; the
//! backfill must notice it, fetch that runtime's metadata at its blocks and index across
//! it. The unreadable path is shown on the real node's metadata with an event record that
//! metadata cannot decode.

use std::time::Duration;

use anyhow::{bail, Context};
use dreamster_calls::release;
use dreamster_client::Node;
use dreamster_e2e::scenario::{artist_release, release_call, PRICE};
use dreamster_indexer::records::EventPlan;
use dreamster_indexer::source::{read_events, BlockEvents, ChainSource, Unreadable};
use dreamster_indexer::store::Store;
use dreamster_indexer::{Follower, FollowerConfig};
use dreamster_test_support::{within, DevNode, TestDatabase};
use parity_scale_codec::{Compact, Decode, Encode};
use subxt::backend::legacy::LegacyRpcMethods;
use subxt::backend::rpc::RpcClient;
use subxt::dynamic::Value;
use subxt::events::Events;
use subxt::utils::H256;
use subxt::{OnlineClient, PolkadotConfig};
use subxt_signer::sr25519::dev;

/// The prefix of a zstd-compressed runtime (`sp-maybe-compressed-blob`).
const ZSTD_PREFIX: [u8; 8] = [82, 188, 83, 118, 70, 219, 142, 5];

async fn spec_version(rpc: &LegacyRpcMethods<PolkadotConfig>) -> anyhow::Result<u32> {
    Ok(rpc.state_get_runtime_version(None).await?.spec_version)
}

/// The node's runtime with its embedded spec version raised by one.
fn bumped(code: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut wasm = match code.strip_prefix(&ZSTD_PREFIX) {
        Some(compressed) => {
            let mut out = Vec::new();
            let mut decoder = ruzstd::decoding::StreamingDecoder::new(compressed)
                .map_err(|e| anyhow::anyhow!("zstd: {e}"))?;
            std::io::Read::read_to_end(&mut decoder, &mut out)?;
            out
        }
        None => code.to_vec(),
    };
    let mut at = None;
    for payload in wasmparser::Parser::new(0).parse_all(&wasm) {
        if let wasmparser::Payload::CustomSection(section) = payload? {
            if section.name() == "runtime_version" {
                // RuntimeVersion: spec_name, impl_name, authoring_version, spec_version, …
                let mut data = section.data();
                String::decode(&mut data)?;
                String::decode(&mut data)?;
                u32::decode(&mut data)?;
                at = Some(section.data_offset() + (section.data().len() - data.len()));
            }
        }
    }
    let at = at.context("the runtime has no runtime_version section")?;
    let spec = u32::from_le_bytes(wasm[at..at + 4].try_into()?);
    wasm[at..at + 4].copy_from_slice(&(spec + 1).to_le_bytes());
    let mut compressed = ZSTD_PREFIX.to_vec();
    compressed.extend(ruzstd::encoding::compress_to_vec(
        wasm.as_slice(),
        ruzstd::encoding::CompressionLevel::Fastest,
    ));
    Ok(compressed)
}

/// `Sudo.sudo_unchecked_weight(System.set_code(code))` by Alice, the dev chain's sudo key;
/// returns the hash of the block that set it.
async fn set_code(api: &OnlineClient<PolkadotConfig>, code: Vec<u8>) -> anyhow::Result<H256> {
    let call = Value::unnamed_variant(
        "System",
        [Value::named_variant(
            "set_code",
            [("code", Value::from_bytes(code))],
        )],
    );
    let weight =
        Value::named_composite([("ref_time", Value::u128(0)), ("proof_size", Value::u128(0))]);
    let tx = subxt::dynamic::tx("Sudo", "sudo_unchecked_weight", vec![call, weight]);
    let in_block = api
        .tx()
        .sign_and_submit_then_watch_default(&tx, &dev::alice())
        .await?
        .wait_for_finalized()
        .await?;
    let events = in_block.wait_for_success().await?;
    let sudid = events
        .iter()
        .filter_map(Result::ok)
        .find(|e| e.pallet_name() == "Sudo" && e.variant_name() == "Sudid")
        .context("no Sudo.Sudid event")?;
    // Sudid { sudo_result: Result<(), DispatchError> }: 0x00 is Ok.
    if sudid.field_bytes().first() != Some(&0) {
        bail!("the runtime refused set_code: {:?}", sudid.field_values()?);
    }
    if !events
        .iter()
        .filter_map(Result::ok)
        .any(|e| e.pallet_name() == "System" && e.variant_name() == "CodeUpdated")
    {
        bail!("no System.CodeUpdated");
    }
    Ok(in_block.block_hash())
}

async fn buy(node: &Node, release_addr: &subxt::utils::AccountId32) -> anyhow::Result<()> {
    within(
        60,
        "a buy",
        release_call::<u32>(
            node,
            &dev::charlie(),
            release_addr,
            PRICE,
            release::buy(vec![]),
        ),
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_backfill_across_a_runtime_upgrade_reads_each_side_with_its_own_metadata(
) -> anyhow::Result<()> {
    let dev_node = DevNode::start().await?;
    let rpc_client = RpcClient::from_insecure_url(dev_node.rpc_url()).await?;
    let rpc = LegacyRpcMethods::<PolkadotConfig>::new(rpc_client);
    let node = Node::connect(&dev_node.rpc_url()).await?;
    let (registry_addr, release_addr) = artist_release(&node, "Before").await?;
    buy(&node, &release_addr).await?;
    buy(&node, &release_addr).await?;
    let mut sold = 2i64;

    let before = spec_version(&rpc).await?;
    let code = rpc
        .state_get_storage(b":code", None)
        .await?
        .context("the chain has no :code")?;
    let upgrade_block = within(120, "set_code", set_code(node.api(), bumped(&code)?)).await?;
    let upgraded_at = rpc
        .chain_get_header(Some(upgrade_block))
        .await?
        .context("no header of the upgrade block")?
        .number;
    // The new runtime runs from the block after the one that set it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while spec_version(&rpc).await? == before {
        if tokio::time::Instant::now() > deadline {
            bail!("the node still runs spec {before} a minute after set_code");
        }
        buy(&node, &release_addr).await?;
        sold += 1;
    }
    assert_eq!(spec_version(&rpc).await?, before + 1);
    // Transactions still go through (the client signs with the version the runtime checks).
    buy(&node, &release_addr).await?;
    sold += 1;

    // A backfill from genesis by a source that connected after the upgrade.
    let db = TestDatabase::create().await?;
    let store = Store::open(db.url(), registry_addr.0).await?;
    let source = ChainSource::connect(&dev_node.rpc_url()).await?;
    let mut follower = Follower::new(
        FollowerConfig {
            rpc_url: dev_node.rpc_url(),
            ..FollowerConfig::default()
        },
        store,
    );
    tokio::time::timeout(Duration::from_secs(60), follower.catch_up(&source))
        .await
        .context("the backfill took over a minute")??;
    assert_eq!(
        source.runtime_versions(),
        vec![before, before + 1],
        "the blocks before block {upgraded_at} were read with their own runtime's metadata"
    );
    // The block that set the new code was still produced by the old runtime; the next
    // one by the new.
    let upgraded_at = u64::from(upgraded_at);
    assert_eq!(source.block(upgraded_at).await?.spec_version, before);
    assert_eq!(
        source.block(upgraded_at + 1).await?.spec_version,
        before + 1
    );
    assert_eq!(source.block(upgraded_at - 1).await?.spec_version, before);
    let editions: i64 = sqlx::query_scalar("SELECT count(*) FROM editions")
        .fetch_one(db.pool())
        .await?;
    assert_eq!(editions, sold, "every sale on both sides of the upgrade");
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM editions WHERE block_number > $1")
        .bind(upgraded_at as i64)
        .fetch_one(db.pool())
        .await?;
    assert!(after >= 1, "sales after the upgrade are indexed");
    let unreadable: i64 = sqlx::query_scalar("SELECT count(*) FROM unreadable_events")
        .fetch_one(db.pool())
        .await?;
    assert_eq!(unreadable, 0);
    Ok(())
}

/// One event record: phase `ApplyExtrinsic(0)`, the event's bytes, no topics.
fn record(event: &[u8], topics: &[[u8; 32]]) -> Vec<u8> {
    let mut out = vec![0u8];
    out.extend(0u32.encode());
    out.extend(event);
    out.extend(topics.to_vec().encode());
    out
}

#[tokio::test]
async fn an_event_the_metadata_cannot_decode_is_recorded_and_ends_only_its_block(
) -> anyhow::Result<()> {
    let dev_node = DevNode::start().await?;
    let api = dev_node.client().await?;
    let metadata = api.metadata();
    let contracts = metadata
        .pallet_by_name("Contracts")
        .context("no Contracts")?;
    let emitted = contracts
        .event_variants()
        .context("no Contracts events")?
        .iter()
        .find(|v| v.name == "ContractEmitted")
        .context("no ContractEmitted")?
        .index;
    let contract = [7u8; 32];
    let mut emitted_event = vec![contracts.index(), emitted];
    emitted_event.extend(contract);
    emitted_event.extend(vec![1u8, 2, 3].encode());
    // A pallet index this runtime does not have: what an event of a pallet added by an
    // upgrade looks like to the metadata of the runtime before it.
    let foreign = [250u8, 0, 1, 2, 3];
    let mut bytes = Compact(3u32).encode();
    bytes.extend(record(&emitted_event, &[[9; 32]]));
    bytes.extend(record(&foreign, &[]));
    bytes.extend(record(&emitted_event, &[]));
    // The compiled reading gives such a block back to subxt's, which says what it cannot read.
    let plan = EventPlan::new(&metadata);
    assert_eq!(plan.read(&bytes), None);
    let events = Events::<PolkadotConfig>::decode_from(bytes, metadata);

    // A runtime whose ContractEmitted is not the layout this indexer knows: each such
    // event is reported, none read (the foreign one still ends the block).
    let (unknown_read, unknown_layout) = read_events(&events, false);
    assert!(unknown_read.is_empty());
    assert_eq!(unknown_layout.len(), 2);
    assert_eq!(
        (unknown_layout[0].event_index, unknown_layout[0].rest_read),
        (0, true)
    );
    assert!(
        unknown_layout[0].error.contains("does not know"),
        "{}",
        unknown_layout[0].error
    );
    assert_eq!(
        (unknown_layout[1].event_index, unknown_layout[1].rest_read),
        (1, false)
    );

    let (read, unreadable) = read_events(&events, true);
    assert_eq!(
        read.len(),
        1,
        "the contract event before the unreadable one is read"
    );
    assert_eq!(read[0].contract.0, contract);
    assert_eq!(read[0].data, vec![1, 2, 3]);
    assert_eq!(read[0].topics.len(), 1);
    assert_eq!(unreadable.len(), 1);
    let Unreadable {
        event_index,
        rest_read,
        error,
    } = unreadable[0].clone();
    assert_eq!(event_index, 1);
    assert!(!rest_read, "the events after it cannot be told apart");
    assert!(!error.is_empty());

    // The store keeps it with the block, and goes on.
    let db = TestDatabase::create().await?;
    let mut store = Store::open(db.url(), [1; 32]).await?;
    let stats = store
        .write_batch(&[BlockEvents {
            number: 5,
            hash: subxt::utils::H256([5; 32]),
            spec_version: 100,
            events: read,
            unreadable,
        }])
        .await?;
    assert_eq!(stats.unreadable, 1);
    let kept: (i64, i64, i32, bool, String) = sqlx::query_as(
        "SELECT block_number, spec_version, event_index, rest_read, error FROM unreadable_events",
    )
    .fetch_one(db.pool())
    .await?;
    assert_eq!((kept.0, kept.1, kept.2, kept.3), (5, 100, 1, false));
    assert_eq!(kept.4, error);
    assert_eq!(store.cursor().await?, Some(5));
    Ok(())
}
