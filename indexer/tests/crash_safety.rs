//! Exactly once under crashes: the indexer binary, killed with SIGKILL at random points of
//! a backfill and restarted, ends with exactly the tables of an uninterrupted run.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dreamster_client::Node;
use dreamster_e2e::scenario;
use dreamster_indexer::source::ChainSource;
use dreamster_test_support::{DevNode, TestDatabase};
use rand::Rng;
use sqlx::Row;

const TABLES: &[&str] = &[
    "indexer_cursor",
    "raw_events",
    "artists",
    "arbiters",
    "releases",
    "perks",
    "editions",
    "transfers",
    "entitlements",
    "entitlement_changes",
    "ratings",
    "reputation",
    "withdrawals",
];

/// Every table, every row, as text, in a stable order.
async fn dump(pool: &sqlx::PgPool) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for table in TABLES {
        let sql = format!(
            "SELECT coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '') FROM {table} x"
        );
        out.push((
            table.to_string(),
            sqlx::query(&sql).fetch_one(pool).await?.get(0),
        ));
    }
    Ok(out)
}

fn indexer(rpc: &str, db: &str, registry: &str) -> std::io::Result<Child> {
    Command::new(env!("CARGO_BIN_EXE_dreamster-indexer"))
        .args([
            "--rpc-url",
            rpc,
            "--database-url",
            db,
            "--registry",
            registry,
            "--once",
            "--batch-blocks",
            "1",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

#[tokio::test]
async fn sigkill_during_backfill_loses_and_duplicates_nothing() -> anyhow::Result<()> {
    let dev_node = DevNode::start().await?;
    let node = Node::connect(&dev_node.rpc_url()).await?;
    // A long stretch of empty blocks before the story, so a backfill takes long enough to
    // be killed in the middle of, many times.
    scenario::empty_blocks(&node, &subxt_signer::sr25519::dev::ferdie(), 400).await?;
    let story = scenario::play(&node).await?;
    // Both runs must see the same finalized chain: wait until the head is final.
    let last = node.api().blocks().at_latest().await?.number() as u64;
    let source = ChainSource::connect(&dev_node.rpc_url()).await?;
    while source.finalized_head().await? < last {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let registry = format!(
        "0x{}",
        story
            .registry
            .0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let rpc = dev_node.rpc_url();

    let reference = TestDatabase::create().await?;
    let status = indexer(&rpc, reference.url(), &registry)?.wait()?;
    assert!(status.success(), "uninterrupted run failed: {status}");
    let expected = dump(reference.pool()).await?;
    assert!(
        expected
            .iter()
            .any(|(t, rows)| t == "entitlements" && !rows.is_empty()),
        "nothing was indexed"
    );

    let crashed = TestDatabase::create().await?;
    // A kill counts only if it landed mid-backfill: the process was running and the
    // cursor had not reached the head yet.
    let mut kills = 0;
    let mut rng = rand::thread_rng();
    for _ in 0..60 {
        if kills >= 8 {
            break;
        }
        let mut child = indexer(&rpc, crashed.url(), &registry)?;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(20..800))).await;
        let running = child.try_wait()?.is_none();
        child.kill()?;
        child.wait()?;
        let cursor: Option<i64> = sqlx::query("SELECT block_number FROM indexer_cursor")
            .fetch_optional(crashed.pool())
            .await?
            .map(|r| r.get(0));
        if running && cursor.is_none_or(|c| (c as u64) < last) {
            kills += 1;
        }
    }
    assert!(kills >= 5, "only {kills} kills landed mid-run");
    let status = indexer(&rpc, crashed.url(), &registry)?.wait()?;
    assert!(status.success(), "final run failed: {status}");
    let after = dump(crashed.pool()).await?;
    for ((table, want), (_, got)) in expected.iter().zip(&after) {
        assert_eq!(got, want, "table {table} differs after {kills} SIGKILLs");
    }
    println!(
        "crash safety: {kills} SIGKILLs survived, {} tables identical",
        TABLES.len()
    );
    Ok(())
}
