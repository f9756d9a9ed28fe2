//! The harness proves itself: a node it starts produces blocks, a database it creates
//! stores rows, and neither outlives the test that owned it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dreamster_test_support::{admin_database_url, DevNode, TestDatabase};
use sqlx::{Connection, Row};
use subxt::dynamic::Value;
use subxt_signer::sr25519::dev;

#[tokio::test]
async fn dev_node_seals_a_block_for_a_transfer() -> anyhow::Result<()> {
    let node = DevNode::start().await?;
    let api = node.client().await?;
    let before = api.blocks().at_latest().await?.number();

    let bob = dev::bob().public_key();
    let transfer = subxt::dynamic::tx(
        "Balances",
        "transfer_keep_alive",
        vec![
            Value::unnamed_variant("Id", [Value::from_bytes(bob.0)]),
            Value::u128(1_000_000_000),
        ],
    );
    api.tx()
        .sign_and_submit_then_watch_default(&transfer, &dev::alice())
        .await?
        .wait_for_finalized_success()
        .await?;

    let after = api.blocks().at_latest().await?.number();
    assert!(
        after > before,
        "block number did not advance: {before} -> {after}"
    );
    Ok(())
}

#[tokio::test]
async fn test_database_stores_and_is_dropped() -> anyhow::Result<()> {
    let db = TestDatabase::create().await?;
    let name = db.name().to_string();
    sqlx::query("CREATE TABLE perk (id INT PRIMARY KEY, title TEXT NOT NULL)")
        .execute(db.pool())
        .await?;
    sqlx::query("INSERT INTO perk VALUES (1, 'Signed vinyl')")
        .execute(db.pool())
        .await?;
    let title: String = sqlx::query("SELECT title FROM perk WHERE id = 1")
        .fetch_one(db.pool())
        .await?
        .get(0);
    assert_eq!(title, "Signed vinyl");
    drop(db);

    let mut admin = sqlx::PgConnection::connect(&admin_database_url()).await?;
    let left: i64 = sqlx::query("SELECT count(*) FROM pg_database WHERE datname = $1")
        .bind(&name)
        .fetch_one(&mut admin)
        .await?
        .get(0);
    assert_eq!(left, 0, "database {name} outlived its test");
    Ok(())
}

fn process_alive(pid: u32) -> bool {
    // A zombie is dead for our purpose: it runs nothing and holds no port.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
        Err(_) => false,
    }
}

#[test]
fn killed_test_process_leaves_no_node_behind() -> anyhow::Result<()> {
    let mut probe = Command::new(env!("CARGO_BIN_EXE_node-probe"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = probe
        .stdout
        .take()
        .ok_or_else(|| anyhow::anyhow!("probe has no stdout"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let node_pid: u32 = line
        .strip_prefix("node-pid ")
        .ok_or_else(|| anyhow::anyhow!("node-probe did not start a node: {line:?}"))?
        .trim()
        .parse()?;
    assert!(process_alive(node_pid), "node {node_pid} is not running");

    // SIGKILL: no destructor of the probe runs; only the kernel can clean up.
    probe.kill()?;
    probe.wait()?;

    let deadline = Instant::now() + Duration::from_secs(10);
    while process_alive(node_pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !process_alive(node_pid),
        "node {node_pid} survived its killed test process"
    );
    Ok(())
}
