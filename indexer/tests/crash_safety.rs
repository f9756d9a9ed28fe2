//! Exactly once under crashes: the indexer binary, killed with SIGKILL at random points of
//! a backfill and restarted, ends with exactly the tables of an uninterrupted run.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use dreamster_client::Node;
use dreamster_e2e::scenario;
use dreamster_indexer::source::ChainSource;
use dreamster_indexer::store::TABLES;
use dreamster_test_support::{DevNode, TestDatabase};
use rand::Rng;
use sqlx::Row;

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

fn command(rpc: &str, db: &str, registry: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dreamster-indexer"));
    command
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
        .stdout(Stdio::null());
    command
}

fn indexer(rpc: &str, db: &str, registry: &str) -> std::io::Result<Child> {
    command(rpc, db, registry).stderr(Stdio::null()).spawn()
}

/// A run that must finish: its error output is the failure message.
fn complete_run(rpc: &str, db: &str, registry: &str) -> anyhow::Result<()> {
    let output = command(rpc, db, registry).output()?;
    anyhow::ensure!(
        output.status.success(),
        "indexer failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(())
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
    complete_run(&rpc, reference.url(), &registry)?;
    let expected = dump(reference.pool()).await?;
    assert!(
        expected
            .iter()
            .any(|(t, rows)| t == "entitlements" && !rows.is_empty()),
        "nothing was indexed"
    );

    let crashed = TestDatabase::create().await?;
    // Each run is killed once its cursor has moved a random number of blocks past where it
    // started (polled every few ms, so the kill lands at a random point of a batch), and
    // always before the head: every kill interrupts a backfill in progress.
    let cursor = |pool: &sqlx::PgPool| {
        let pool = pool.clone();
        async move {
            let row = sqlx::query("SELECT block_number FROM indexer_cursor")
                .fetch_optional(&pool)
                .await?;
            Ok::<i64, sqlx::Error>(row.map_or(-1, |r| r.get::<i64, _>(0)))
        }
    };
    // The schema exists before the first run, so the cursor can be read at any time.
    dreamster_indexer::store::migrator()
        .run(crashed.pool())
        .await?;
    let mut kills = 0;
    let mut rng = rand::thread_rng();
    while kills < 8 {
        let from = cursor(crashed.pool()).await?;
        let target = from + rng.gen_range(1..40);
        anyhow::ensure!((target as u64) < last, "the chain is too short for 8 kills");
        let mut child = indexer(&rpc, crashed.url(), &registry)?;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while cursor(crashed.pool()).await? < target {
            anyhow::ensure!(
                child.try_wait()?.is_none(),
                "the indexer exited before block {target}"
            );
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "no progress to block {target}"
            );
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        child.kill()?;
        child.wait()?;
        kills += 1;
    }
    assert!(kills >= 5, "only {kills} kills landed mid-run");
    complete_run(&rpc, crashed.url(), &registry)?;
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
