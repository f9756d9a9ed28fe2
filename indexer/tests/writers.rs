//! One writer per database, and the right chain: a second indexer on the same database (a
//! rolling deploy) waits for the first and then continues with everything the first
//! learnt; a batch that finds the cursor moved by someone else writes nothing; and a node
//! of another chain (a reset dev chain, a wrong `--rpc-url`) is refused in one line
//! instead of being mixed into the read model.

use std::time::Duration;

use dreamster_calls::{registry, release};
use dreamster_client::Node;
use dreamster_e2e::deploy;
use dreamster_e2e::scenario::{
    create_release, empty_blocks, open_sale, registry_call, release_call, PRICE,
};
use dreamster_indexer::source::ChainSource;
use dreamster_indexer::store::Store;
use dreamster_indexer::{Follower, FollowerConfig, IndexerError};
use dreamster_test_support::{within, DevNode, TestDatabase};
use subxt::utils::AccountId32;
use subxt_signer::sr25519::dev;

fn follower(rpc_url: &str, store: Store) -> Follower {
    let config = FollowerConfig {
        rpc_url: rpc_url.into(),
        ..FollowerConfig::default()
    };
    Follower::new(config, store)
}

async fn count(db: &TestDatabase, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(db.pool())
        .await
        .expect("count")
}

async fn new_release(node: &Node, registry_addr: &AccountId32, title: &str) -> AccountId32 {
    create_release(node, &dev::bob(), registry_addr, open_sale(title))
        .await
        .expect("release")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_indexer_waits_then_continues_with_the_first_ones_releases() {
    let dev_node = DevNode::start().await.expect("node");
    let node = Node::connect(&dev_node.rpc_url()).await.expect("client");
    let registry_addr = deploy(&node, &dev::alice()).await.expect("deploy");
    registry_call::<()>(
        &node,
        &dev::bob(),
        &registry_addr,
        registry::register_artist("Nova", ""),
    )
    .await
    .expect("artist");
    let db = TestDatabase::create().await.expect("db");
    let source = ChainSource::connect(&dev_node.rpc_url())
        .await
        .expect("source");

    let mut first = follower(
        &dev_node.rpc_url(),
        Store::open(db.url(), registry_addr.0).await.expect("first"),
    );
    within(60, "the first catch-up", first.catch_up(&source))
        .await
        .expect("first catches up");

    // The second one opens the same database: it waits for the writer lock.
    let url = db.url().to_string();
    let second = tokio::spawn(async move { Store::open(&url, registry_addr.0).await });
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        !second.is_finished(),
        "a second indexer opened the database while the first one writes"
    );

    // The first learns of a release; a fan buys from it; the first stops before that sale.
    let rel = new_release(&node, &registry_addr, "Handover").await;
    within(60, "the first's second catch-up", first.catch_up(&source))
        .await
        .expect("first sees the release");
    release_call::<u32>(&node, &dev::charlie(), &rel, PRICE, release::buy(vec![]))
        .await
        .expect("buy");
    drop(first);

    // The second takes over and knows the first one's release: the sale is indexed.
    let store = tokio::time::timeout(Duration::from_secs(30), second)
        .await
        .expect("the second indexer got the lock within 30 s")
        .expect("task")
        .expect("second opens");
    let mut second = follower(&dev_node.rpc_url(), store);
    within(60, "the second catch-up", second.catch_up(&source))
        .await
        .expect("second catches up");
    assert_eq!(
        count(&db, "editions").await,
        1,
        "the sale after the handover"
    );
    assert_eq!(count(&db, "releases").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_that_finds_the_cursor_moved_writes_nothing() {
    let dev_node = DevNode::start().await.expect("node");
    let node = Node::connect(&dev_node.rpc_url()).await.expect("client");
    let registry_addr = deploy(&node, &dev::alice()).await.expect("deploy");
    let db = TestDatabase::create().await.expect("db");
    let source = ChainSource::connect(&dev_node.rpc_url())
        .await
        .expect("source");
    let mut indexer = follower(
        &dev_node.rpc_url(),
        Store::open(db.url(), registry_addr.0).await.expect("open"),
    );
    let head = within(60, "a catch-up", indexer.catch_up(&source))
        .await
        .expect("caught up");
    registry_call::<()>(
        &node,
        &dev::bob(),
        &registry_addr,
        registry::register_artist("Nova", ""),
    )
    .await
    .expect("artist");
    let next = source.block(head + 1).await.expect("next block");
    let raw_before = count(&db, "raw_events").await;

    // Someone else wrote the next block meanwhile (the cursor moved under us).
    sqlx::query("UPDATE indexer_cursor SET block_number = block_number + 1")
        .execute(db.pool())
        .await
        .expect("move the cursor");
    let store = indexer.store_mut();
    match store.write_batch(&[next]).await {
        Err(IndexerError::CursorMoved { expected }) => assert_eq!(expected, head),
        other => panic!("expected CursorMoved, got {other:?}"),
    }
    assert_eq!(count(&db, "raw_events").await, raw_before);
    assert_eq!(count(&db, "artists").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_of_another_chain_is_refused_in_one_line() {
    let db = TestDatabase::create().await.expect("db");
    let (registry_addr, indexed_to) = {
        let first_chain = DevNode::start().await.expect("node");
        let node = Node::connect(&first_chain.rpc_url()).await.expect("client");
        let registry_addr = deploy(&node, &dev::alice()).await.expect("deploy");
        let head = within(
            60,
            "indexing the first chain",
            dreamster_indexer::index_once(&first_chain.rpc_url(), db.url(), registry_addr.0),
        )
        .await
        .expect("indexed");
        (registry_addr, head)
    };
    // The dev chain "reset": a new node with the same genesis, and blocks of its own.
    let second_chain = DevNode::start().await.expect("node");
    let node = Node::connect(&second_chain.rpc_url())
        .await
        .expect("client");
    // Before it has that many blocks it may be the right chain still syncing: retryable.
    let behind = within(
        60,
        "indexing a node behind",
        dreamster_indexer::index_once(&second_chain.rpc_url(), db.url(), registry_addr.0),
    )
    .await
    .expect_err("a node without the cursor's block");
    assert!(
        matches!(behind, IndexerError::NodeBehind(b) if b == indexed_to),
        "{behind}"
    );
    assert!(!behind.is_fatal());
    empty_blocks(&node, &dev::alice(), indexed_to + 2)
        .await
        .expect("blocks");

    let refused = within(
        60,
        "indexing another chain",
        dreamster_indexer::index_once(&second_chain.rpc_url(), db.url(), registry_addr.0),
    )
    .await
    .expect_err("another chain must be refused");
    assert!(matches!(refused, IndexerError::WrongChain { block, .. } if block == indexed_to));
    assert!(refused.to_string().contains("another chain"), "{refused}");

    // Following it ends with that error rather than retrying for ever.
    let mut indexer = follower(
        &second_chain.rpc_url(),
        Store::open(db.url(), registry_addr.0).await.expect("open"),
    );
    let ran = tokio::time::timeout(
        Duration::from_secs(30),
        indexer.run(std::future::pending::<()>()),
    )
    .await
    .expect("the follower stopped within 30 s");
    assert!(
        matches!(ran, Err(IndexerError::WrongChain { .. })),
        "{ran:?}"
    );
    // (Its writer lock goes with it: the binary below would wait for it otherwise.)
    drop(indexer);

    // The binary says so in one line.
    let mut binary = tokio::process::Command::new(env!("CARGO_BIN_EXE_dreamster-indexer"));
    binary
        .args([
            "--database-url",
            db.url(),
            "--rpc-url",
            &second_chain.rpc_url(),
            "--registry",
            &registry_addr.to_string(),
            "--once",
        ])
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), binary.output())
        .await
        .expect("the binary ended within 60 s")
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert!(!out.status.success());
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("another chain"), "{stderr}");
    // Nothing of the second chain was written.
    let cursor: i64 = sqlx::query_scalar("SELECT block_number FROM indexer_cursor")
        .fetch_one(db.pool())
        .await
        .expect("cursor");
    assert_eq!(cursor as u64, indexed_to);
}

/// Every table of the read model moves its version when written (migration 0006): the
/// API keeps answers by that version (`dreamster_api::memo`), so a table written without
/// moving it would have the API serve stale answers. A table a later migration adds
/// without the trigger fails here. Exempt: the cursor (it moves with every block, empty
/// ones too) and the raw event logs, which no kept answer reads.
#[tokio::test]
async fn every_table_of_the_read_model_moves_its_version() {
    let db = TestDatabase::create().await.expect("db");
    dreamster_indexer::store::migrator()
        .run(db.pool())
        .await
        .expect("migrations");
    // Every table the migrations make is in `store::TABLES` (which the crash test compares
    // row by row), but the version itself.
    let mut made: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_class
         WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r'
           AND relname NOT IN ('_sqlx_migrations', 'read_model_version')",
    )
    .fetch_all(db.pool())
    .await
    .expect("tables");
    made.sort();
    let mut listed: Vec<String> = dreamster_indexer::store::TABLES
        .iter()
        .map(|t| t.to_string())
        .collect();
    listed.sort();
    assert_eq!(
        made, listed,
        "the tables the migrations make, and store::TABLES"
    );
    let unguarded: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
           AND c.relname NOT IN ('_sqlx_migrations', 'read_model_version',
                                 'indexer_cursor', 'raw_events', 'unreadable_events')
           AND NOT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc f ON f.oid = t.tgfoid
                           WHERE t.tgrelid = c.oid AND f.proname = 'bump_read_model_version')
         ORDER BY 1",
    )
    .fetch_all(db.pool())
    .await
    .expect("tables");
    assert!(
        unguarded.is_empty(),
        "written without moving the version: {unguarded:?}"
    );
    let version = || async {
        sqlx::query_scalar::<_, i64>("SELECT version FROM read_model_version")
            .fetch_one(db.pool())
            .await
            .expect("version")
    };
    let before = version().await;
    // A write in a transaction moves it on commit, and not before (readers keep what
    // they read until then).
    let mut tx = db.pool().begin().await.expect("begin");
    sqlx::query("INSERT INTO artists VALUES ('\\x01', 'A', '', 0, 1, 1)")
        .execute(&mut *tx)
        .await
        .expect("an artist");
    assert_eq!(version().await, before, "not before the commit");
    tx.commit().await.expect("commit");
    let after = version().await;
    assert!(after > before, "moved by the commit");
    // An empty block moves the cursor alone: the kept answers stay.
    sqlx::query("INSERT INTO indexer_cursor (id, registry, block_number, block_hash) VALUES (TRUE, '\\x02', 7, '\\x03')")
        .execute(db.pool())
        .await
        .expect("the cursor");
    assert_eq!(version().await, after, "the cursor alone does not move it");
    // Under another search path (a repair in psql), the trigger still finds its table.
    let mut c = db.pool().acquire().await.expect("connection");
    sqlx::query("SET search_path = pg_catalog")
        .execute(&mut *c)
        .await
        .expect("search path");
    let schema: String = sqlx::query_scalar("SELECT nspname::text FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE relname = 'artists'")
        .fetch_one(&mut *c)
        .await
        .expect("schema");
    sqlx::query(&format!("UPDATE {schema}.artists SET name = 'B'"))
        .execute(&mut *c)
        .await
        .expect("a write under another search path");
    sqlx::query("RESET search_path")
        .execute(&mut *c)
        .await
        .expect("reset");
    drop(c);
    assert!(version().await > after, "moved by that write too");
}
