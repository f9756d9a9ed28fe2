//! Backfill benchmark: builds a chain with at least 20 000 contract events (buys and
//! unlocks, batched with `Utility.batch_all`), then in one run measures
//!
//! 1. the indexer's backfill from genesis, as `dreamster-indexer` runs it (events/s,
//!    blocks/s), beside the baseline: a raw binary `COPY` of the very rows the backfill
//!    wrote into the same tables of a fresh database; both `RUNS` times, each run's share
//!    and the spread of the shares printed;
//! 2. where that time goes: fetching and decoding the blocks alone, and writing the
//!    fetched blocks alone;
//! 3. head latency: a block finalized (as a finalized-heads subscriber hears it) → the
//!    indexer's transaction holding it committed, p50/p99 over blocks with a sale each.
//!
//! `cargo bench -p dreamster-indexer --bench backfill` (needs the node, Postgres and the
//! built contracts, like the tests). `DREAMSTER_BENCH_EVENTS` sets the event goal.

use std::time::Instant;

use anyhow::{bail, Context};
use dreamster_calls::{registry, release};
use dreamster_client::Node;
use dreamster_e2e::scenario::{now_ms, open_sale, perk, registry_call, release_call, PRICE};
use dreamster_e2e::{deploy, subxt_id};
use dreamster_indexer::follower::Totals;
use dreamster_indexer::source::ChainSource;
use dreamster_indexer::store::Store;
use dreamster_indexer::store::TABLES;
use dreamster_indexer::{Follower, FollowerConfig};
use dreamster_test_support::{DevNode, TestDatabase};
use dreamster_types::perk::{DeliveryMethod, PerkKind};
use futures::{StreamExt, TryStreamExt};
use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::Connection;
use subxt::utils::AccountId32;
use subxt_signer::sr25519::{dev, Keypair};

/// Calls per `batch_all`: well inside the dev runtime's 1.5 s of normal block weight
/// (a buy needs ≈ 4.7e9 ps with the client's 20 % margin).
const PER_BATCH: u32 = 200;

/// Backfills (each with its COPY baseline) measured, for the spread.
const RUNS: usize = 5;
/// Blocks measured for head latency.
const HEAD_SAMPLES: u64 = 60;

struct Chain {
    registry: AccountId32,
    release: AccountId32,
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
        dreamster_e2e::scenario::create_release_input(node, &registry_addr, open_sale("Bench"))
            .await?,
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
        let dry = node
            .dry_run(&origin, &rel, PRICE, &release::buy(vec![]))
            .await?;
        let calls = (0..PER_BATCH)
            .map(|_| Node::batched_call(&rel, PRICE, release::buy(vec![]), &dry))
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
        release: rel,
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

/// A follower with the binary's defaults on a fresh database, and its chain source.
async fn fresh_follower(
    rpc_url: &str,
    chain: &Chain,
) -> anyhow::Result<(TestDatabase, ChainSource, Follower)> {
    let db = TestDatabase::create().await?;
    let config = FollowerConfig {
        rpc_url: rpc_url.to_string(),
        ..FollowerConfig::default()
    };
    let store = Store::open(db.url(), chain.registry.0).await?;
    let source = ChainSource::connect(rpc_url).await?;
    Ok((db, source, Follower::new(config, store)))
}

/// One backfill from genesis into a fresh database, as the binary runs it, then its COPY
/// baseline; returns (totals, rows, backfill seconds, COPY seconds, a `/metrics` scrape
/// taken halfway through the backfill).
async fn backfill_beside_copy(
    rpc_url: &str,
    chain: &Chain,
    prometheus: &PrometheusHandle,
) -> anyhow::Result<(Totals, u64, f64, f64, String)> {
    let (db, source, mut follower) = fresh_follower(rpc_url, chain).await?;
    // What `/metrics` shows while the backfill runs: a scrape every 20 ms, the middle one kept.
    let scrapes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sampler = {
        let (prometheus, scrapes) = (prometheus.clone(), scrapes.clone());
        tokio::spawn(async move {
            loop {
                let scrape = prometheus.render();
                if let Ok(mut s) = scrapes.lock() {
                    s.push(scrape);
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
    };
    let started = Instant::now();
    follower.catch_up(&source).await?;
    let backfill_s = started.elapsed().as_secs_f64();
    sampler.abort();
    let scrape = {
        let scrapes = scrapes
            .lock()
            .map_err(|_| anyhow::anyhow!("sampler panicked"))?;
        scrapes.get(scrapes.len() / 2).cloned().unwrap_or_default()
    };
    let totals = follower.totals;
    // The batches' count leaves out the few events of deploying and setting up the release.
    if totals.events < chain.events {
        bail!(
            "indexed {} events, the batches alone emitted {}",
            totals.events,
            chain.events
        );
    }
    let rows = row_count(db.url()).await?;
    let dump = copy_out(db.url()).await?;
    let copy_db = TestDatabase::create().await?;
    let (copied, copy_s) = copy_in(copy_db.url(), &dump).await?;
    if copied != rows {
        bail!("COPY wrote {copied} rows, the backfill {rows}");
    }
    Ok((totals, rows, backfill_s, copy_s, scrape))
}

/// Block finalized → its batch committed, for `samples` blocks with a sale each, while a
/// follower runs as the binary does; returns the latencies in ms, sorted.
async fn head_latency(
    rpc_url: &str,
    node: &Node,
    chain: &Chain,
    samples: u64,
) -> anyhow::Result<Vec<f64>> {
    let (db, source, mut follower) = fresh_follower(rpc_url, chain).await?;
    let head = follower.catch_up(&source).await?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move {
        follower
            .run(async {
                let _ = stopped.await;
            })
            .await
    });
    let pool = sqlx::PgPool::connect(db.url()).await?;
    let mut heads = source.finalized_heads().await?;
    let buyer = {
        let node = node.clone();
        let release = chain.release.clone();
        tokio::spawn(async move {
            dreamster_e2e::scenario::buying_blocks(&node, &dev::eve(), &release, samples).await
        })
    };
    let mut latencies = Vec::new();
    let deadline = Instant::now() + std::time::Duration::from_secs(120);
    while (latencies.len() as u64) < samples {
        let header = tokio::time::timeout_at(deadline.into(), heads.next())
            .await
            .context("no finalized head within 2 minutes")?
            .context("the finalized-heads subscription ended")??;
        let heard = Instant::now();
        let number = i64::from(header.number);
        if number as u64 <= head {
            continue;
        }
        loop {
            let cursor: i64 = sqlx::query_scalar("SELECT block_number FROM indexer_cursor")
                .fetch_one(&pool)
                .await?;
            if cursor >= number {
                break;
            }
            if Instant::now() > deadline {
                bail!("block {number} not committed within the deadline");
            }
            tokio::time::sleep(std::time::Duration::from_micros(500)).await;
        }
        latencies.push(heard.elapsed().as_secs_f64() * 1000.0);
    }
    tokio::time::timeout(std::time::Duration::from_secs(60), buyer)
        .await
        .context("the buys did not finish within a minute of their blocks")???;
    let _ = stop.send(());
    running.await??;
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let goal: u64 = std::env::var("DREAMSTER_BENCH_EVENTS")
        .ok()
        .map(|v| v.parse().context("DREAMSTER_BENCH_EVENTS must be a number"))
        .transpose()?
        .unwrap_or(20_000);
    let dev_node = DevNode::start().await?;
    let rpc_url = dev_node.rpc_url();
    let node = Node::connect(&rpc_url).await?;
    let chain = build_chain(&node, goal).await?;

    // 1. The backfill as the binary runs it, beside its COPY baseline, RUNS times.
    // The binary's metrics recorder, so the runs record what it records and a scrape can
    // be shown.
    let prometheus = dreamster_indexer::telemetry::install()?;
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        runs.push(backfill_beside_copy(&rpc_url, &chain, &prometheus).await?);
    }
    let (totals, rows, _, _, _) = runs[0];
    let events = totals.events as f64;

    // 2. Where the time goes: the same blocks fetched alone, then written alone.
    let config = FollowerConfig::default();
    let source = ChainSource::connect(&rpc_url).await?;
    let head = source.finalized_head().await?;
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
        let mut batch_events = 0;
        while end < blocks.len() && !config.batch_full((end - start) as u64, batch_events) {
            batch_events += blocks[end].events.len() as u64;
            end += 1;
        }
        store.write_batch(&blocks[start..end]).await?;
        start = end;
    }
    let write_s = started.elapsed().as_secs_f64();

    println!(
        "backfill of blocks 0..={head} ({} blocks, {} events, {rows} rows written), {RUNS} runs",
        totals.blocks, totals.events
    );
    println!("run   backfill s   events/s     COPY s   backfill / COPY rate");
    let mut shares = Vec::new();
    for (i, (_, _, backfill_s, copy_s, _)) in runs.iter().enumerate() {
        let share = 100.0 * copy_s / backfill_s;
        shares.push(share);
        println!(
            "{:>3} {:>12.3} {:>10.0} {:>10.3} {:>13.1} %",
            i + 1,
            backfill_s,
            events / backfill_s,
            copy_s,
            share
        );
    }
    let mut sorted = shares.clone();
    sorted.sort_by(f64::total_cmp);
    let mean = shares.iter().sum::<f64>() / shares.len() as f64;
    let sd = (shares.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / shares.len() as f64).sqrt();
    println!(
        "backfill rate / COPY rate: median {:.1} %, min {:.1} %, max {:.1} %, mean {mean:.1} % ± {sd:.1} (goal ≥ 60 %)",
        sorted[sorted.len() / 2],
        sorted[0],
        sorted[sorted.len() - 1],
    );
    println!(
        "where the time goes: fetch + decode alone {fetch_s:.3} s ({:.0} events/s), write alone {write_s:.3} s ({:.0} events/s)",
        events / fetch_s,
        events / write_s
    );

    // What /metrics said halfway through the last backfill (histogram buckets left out;
    // the counters add up over the runs, the gauges are this run's).
    println!("/metrics halfway through backfill run {RUNS}:");
    for line in runs[RUNS - 1].4.lines() {
        if line.starts_with("dreamster_indexer_") && !line.contains("_bucket{") {
            println!("    {line}");
        }
    }

    // 3. Head latency.
    let latencies = head_latency(&rpc_url, &node, &chain, HEAD_SAMPLES).await?;
    println!(
        "head latency (block finalized → its batch committed), {} blocks with a sale each: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        latencies.len(),
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies[latencies.len() - 1]
    );
    Ok(())
}
