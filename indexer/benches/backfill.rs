//! Backfill benchmark: builds a chain with at least 20 000 contract events (buys and
//! unlocks, batched with `Utility.batch_all`), then in one run measures
//!
//! 1. the indexer's backfill from genesis, as `dreamster-indexer` runs it (events/s, blocks/s);
//! 2. where that time goes: fetching and decoding the blocks alone, and writing the
//!    fetched blocks alone;
//! 3. the baseline: a raw `COPY` of the very rows the backfill wrote into the same tables of
//!    a fresh database, and the backfill's rate as a share of it.
//!
//! `cargo bench -p dreamster-indexer --bench backfill` (needs the node, Postgres and the
//! built contracts, like the tests). `DREAMSTER_BENCH_EVENTS` sets the event goal.

use std::time::Instant;

use anyhow::{bail, Context};
use dreamster_calls::{registry, release};
use dreamster_client::Node;
use dreamster_e2e::scenario::{now_ms, open_sale, perk, registry_call, release_call, PRICE};
use dreamster_e2e::{deploy, subxt_id};
use dreamster_indexer::source::ChainSource;
use dreamster_indexer::store::Store;
use dreamster_indexer::store::TABLES;
use dreamster_indexer::{Follower, FollowerConfig};
use dreamster_test_support::{DevNode, TestDatabase};
use dreamster_types::perk::{DeliveryMethod, PerkKind};
use futures::{StreamExt, TryStreamExt};
use sqlx::Connection;
use subxt::utils::AccountId32;
use subxt_signer::sr25519::{dev, Keypair};

/// Calls per `batch_all`: well inside the dev runtime's 1.5 s of normal block weight
/// (a buy needs ≈ 4.7e9 ps with the client's 20 % margin).
const PER_BATCH: u32 = 200;

struct Chain {
    registry: AccountId32,
    events: u64,
}

/// Buys until about three quarters of the goal, then unlocks the automatic perk of those
/// editions until the goal: two events per buy, three per unlock (with the registry's
/// reputation report).
async fn build_chain(node: &Node, goal: u64) -> anyhow::Result<Chain> {
    let (owner, artist) = (dev::alice(), dev::bob());
    let fans: Vec<Keypair> = vec![
        dev::charlie(),
        dev::dave(),
        dev::eve(),
        dev::ferdie(),
        dev::alice(),
    ];
    let registry_addr = deploy(node, &owner).await?;
    registry_call::<()>(
        node,
        &artist,
        &registry_addr,
        registry::register_artist("Bench Band", ""),
    )
    .await?;
    let release_id: dreamster_types::AccountId = registry_call(
        node,
        &artist,
        &registry_addr,
        registry::create_release(open_sale("Bench")),
    )
    .await?;
    let rel = subxt_id(&release_id);
    let far = now_ms() + 365 * 24 * 3600 * 1000;
    for p in [
        perk(
            PerkKind::UnreleasedMusic,
            "Demo",
            2_000,
            DeliveryMethod::Automatic {
                content_hash: [7; 32],
            },
            far,
        ),
        perk(
            PerkKind::LimitedVinyl,
            "Vinyl",
            3_000,
            DeliveryMethod::Physical,
            far,
        ),
        perk(
            PerkKind::MeetAndGreet,
            "Meet",
            1_000,
            DeliveryMethod::Event,
            far,
        ),
    ] {
        release_call::<u32>(node, &artist, &rel, 0, release::add_perk(p)).await?;
    }
    let mut events = 0u64;
    let mut batches: Vec<(usize, u32)> = Vec::new(); // (fan, first edition)
    let mut edition = 0u32;
    let started = Instant::now();
    while events < goal * 3 / 4 {
        let fan_index = batches.len() % fans.len();
        let fan = &fans[fan_index];
        let origin = fan.public_key().to_account_id();
        let dry = node.dry_run(&origin, &rel, PRICE, &release::buy()).await?;
        let calls = (0..PER_BATCH)
            .map(|_| Node::batched_call(&rel, PRICE, release::buy(), &dry))
            .collect();
        let submitted = node.submit_batch(fan, calls).await?;
        events += submitted.events.len() as u64;
        batches.push((fan_index, edition));
        edition += PER_BATCH;
    }
    for &(fan_index, first) in &batches {
        if events >= goal {
            break;
        }
        let fan = &fans[fan_index];
        let origin = fan.public_key().to_account_id();
        let dry = node
            .dry_run(&origin, &rel, 0, &release::unlock(first, 0))
            .await?;
        let calls = (first..first + PER_BATCH)
            .map(|e| Node::batched_call(&rel, 0, release::unlock(e, 0), &dry))
            .collect();
        events += node.submit_batch(fan, calls).await?.events.len() as u64;
    }
    if events < goal {
        bail!("built only {events} events, wanted {goal}");
    }
    println!(
        "chain built: {events} contract events ({edition} editions) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Chain {
        registry: registry_addr,
        events,
    })
}

async fn copy_out(url: &str) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let mut out = Vec::new();
    for table in TABLES {
        let mut stream = conn
            .copy_out_raw(&format!("COPY {table} TO STDOUT (FORMAT binary)"))
            .await?;
        let mut data = Vec::new();
        while let Some(chunk) = stream.next().await {
            data.extend_from_slice(&chunk?);
        }
        drop(stream);
        out.push((table.to_string(), data));
    }
    Ok(out)
}

/// Copies the dumped tables into a freshly migrated database in one transaction; returns
/// (rows, seconds).
async fn copy_in(url: &str, dump: &[(String, Vec<u8>)]) -> anyhow::Result<(u64, f64)> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    dreamster_indexer::store::migrator().run(&mut conn).await?;
    let started = Instant::now();
    let mut tx = conn.begin().await?;
    let mut rows = 0;
    for (table, data) in dump {
        let mut copy = tx
            .copy_in_raw(&format!("COPY {table} FROM STDIN (FORMAT binary)"))
            .await?;
        copy.send(data.as_slice()).await?;
        rows += copy.finish().await?;
    }
    tx.commit().await?;
    Ok((rows, started.elapsed().as_secs_f64()))
}

async fn row_count(url: &str) -> anyhow::Result<u64> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let mut rows = 0i64;
    for table in TABLES {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut conn)
            .await?;
        rows += n;
    }
    Ok(rows as u64)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let goal: u64 = std::env::var("DREAMSTER_BENCH_EVENTS")
        .ok()
        .map(|v| v.parse().context("DREAMSTER_BENCH_EVENTS must be a number"))
        .transpose()?
        .unwrap_or(20_000);
    let dev_node = DevNode::start().await?;
    let node = Node::connect(&dev_node.rpc_url()).await?;
    let chain = build_chain(&node, goal).await?;

    // 1. The backfill as the binary runs it.
    let db = TestDatabase::create().await?;
    let config = FollowerConfig {
        rpc_url: dev_node.rpc_url(),
        ..FollowerConfig::default()
    };
    let store = Store::open(db.url(), chain.registry.0).await?;
    let source = ChainSource::connect(&dev_node.rpc_url()).await?;
    let mut follower = Follower::new(config.clone(), store);
    let started = Instant::now();
    let head = follower.catch_up(&source).await?;
    let backfill_s = started.elapsed().as_secs_f64();
    let totals = follower.totals;
    // The batches' count leaves out the few events of deploying and setting up the release.
    if totals.events < chain.events {
        bail!(
            "indexed {} events, the batches alone emitted {}",
            totals.events,
            chain.events
        );
    }

    // 2. Where the time goes: the same blocks fetched alone, then written alone.
    let started = Instant::now();
    let blocks: Vec<_> = futures::stream::iter(0..=head)
        .map(|n| source.block(n))
        .buffered(config.fetch_concurrency)
        .try_collect()
        .await?;
    let fetch_s = started.elapsed().as_secs_f64();
    let write_db = TestDatabase::create().await?;
    let mut store = Store::open(write_db.url(), chain.registry.0).await?;
    let started = Instant::now();
    // Cut into batches the way the follower does.
    let mut start = 0;
    while start < blocks.len() {
        let mut end = start;
        let mut events = 0;
        while end < blocks.len() && !config.batch_full((end - start) as u64, events) {
            events += blocks[end].events.len() as u64;
            end += 1;
        }
        store.write_batch(&blocks[start..end]).await?;
        start = end;
    }
    let write_s = started.elapsed().as_secs_f64();

    // 3. The baseline: COPY of the same rows into the same tables.
    let rows = row_count(db.url()).await?;
    let dump = copy_out(db.url()).await?;
    let copy_db = TestDatabase::create().await?;
    let (copied, copy_s) = copy_in(copy_db.url(), &dump).await?;
    if copied != rows {
        bail!("COPY wrote {copied} rows, the backfill {rows}");
    }

    let events = totals.events as f64;
    println!(
        "backfill of blocks 0..={head} ({} blocks, {} events, {rows} rows written)",
        totals.blocks, totals.events
    );
    println!("                         seconds   events/s   blocks/s");
    let line = |name: &str, s: f64| {
        println!(
            "{name:<24} {s:>8.3} {:>10.0} {:>10.1}",
            events / s,
            totals.blocks as f64 / s
        )
    };
    line("backfill (indexer)", backfill_s);
    line("  fetch + decode only", fetch_s);
    line("  write only", write_s);
    line("COPY same rows", copy_s);
    println!(
        "backfill rate = {:.1} % of COPY's; writing alone = {:.1} % of COPY's (goal 30 %)",
        100.0 * copy_s / backfill_s,
        100.0 * copy_s / write_s
    );
    Ok(())
}
