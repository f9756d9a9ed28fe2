//! The binary's failures at start are one line a person can act on, not a backtrace.

use std::process::Command;

use dreamster_test_support::{free_port, TestDatabase};

const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";

fn run(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dreamster-indexer"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("the indexer binary runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

fn assert_one_line(stderr: &str, needle: &str) {
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(needle), "{stderr:?} lacks {needle:?}");
}

#[test]
fn unreachable_database_is_one_line() {
    let port = free_port().expect("a free port").to_string();
    let url = format!("postgres://dreamster:dreamster@127.0.0.1:{port}/nowhere");
    let (ok, stderr) = run(&["--database-url", &url, "--registry", ALICE, "--once"]);
    assert!(!ok);
    assert_one_line(
        &stderr,
        &format!("cannot reach the database at 127.0.0.1:{port}/nowhere"),
    );
}

#[test]
fn bad_registry_address_is_one_line() {
    let (ok, stderr) = run(&[
        "--database-url",
        "postgres://x@127.0.0.1/x",
        "--registry",
        "0x12",
    ]);
    assert!(!ok);
    assert!(
        stderr.starts_with("error: invalid value '0x12' for '--registry"),
        "{stderr}"
    );
}

#[tokio::test]
async fn unreachable_node_is_one_line() {
    let db = TestDatabase::create().await.expect("test database");
    let port = free_port().expect("a free port").to_string();
    let rpc = format!("ws://127.0.0.1:{port}");
    let (ok, stderr) = run(&[
        "--database-url",
        db.url(),
        "--registry",
        ALICE,
        "--rpc-url",
        &rpc,
        "--once",
    ]);
    assert!(!ok);
    assert_one_line(&stderr, &format!("cannot reach the node at {rpc}"));
}
