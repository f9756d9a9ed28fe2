//! Issue 17, finding 8: the indexer and the API each run under a role of their own
//! (`scripts/db-roles.sql`, as `scripts/run.sh` sets a database up), so neither can touch
//! the other's tables: the API reads the read model and can change nothing in it, the
//! indexer cannot even read the API's sessions and secrets, the keeper's role only reads.
//! Both services run for real on that database: the indexer projects the story, the API
//! migrates its own tables, serves pages from the read model and signs a fan in.

mod common;

use common::live::spawn_api;
use common::{sign_in, story_on_node};
use dreamster_test_support::TestDatabase;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use subxt_signer::sr25519::dev;

/// Runs `sql` as the pool's role; the SQLSTATE it fails with (`None`: it succeeded).
async fn refusal(pool: &PgPool, sql: &str) -> Option<String> {
    match sqlx::raw_sql(sql).execute(pool).await {
        Ok(_) => None,
        Err(sqlx::Error::Database(e)) => Some(
            e.code()
                .map_or_else(|| e.message().into(), |c| c.into_owned()),
        ),
        Err(e) => panic!("{sql}: {e}"),
    }
}

async fn pool_as(db: &TestDatabase, role: &str) -> PgPool {
    PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.url_as(role))
        .await
        .unwrap_or_else(|e| panic!("connecting as {role} (run scripts/setup.sh): {e}"))
}

/// 42501: insufficient privilege (also "must be owner").
const DENIED: Option<&str> = Some("42501");

#[tokio::test]
async fn the_api_and_the_indexer_cannot_touch_each_others_tables() {
    let (node, story) = story_on_node().await;
    let db = TestDatabase::create().await.expect("db");
    db.separate_roles().await.expect("roles");

    // The indexer migrates and projects as its role; the API migrates and serves as its own.
    dreamster_indexer::index_once(
        &node.rpc_url(),
        &db.url_as("dreamster_indexer"),
        story.registry.0,
    )
    .await
    .expect("indexed as dreamster_indexer");
    let api = spawn_api(&db.url_as("dreamster_api"), &node.rpc_url()).await;
    let c = common::http();
    let release = c
        .get(format!("{}/api/releases/{}", api.base, story.release))
        .send()
        .await
        .expect("release");
    assert_eq!(release.status(), 200);
    let release: serde_json::Value = release.json().await.expect("json");
    assert_eq!(release["title"], "Night Drive");
    // A kept answer reads the read model's version (the indexer's table) as the API.
    let league = c
        .get(format!("{}/api/audit/league", api.base))
        .send()
        .await
        .expect("league");
    assert_eq!(league.status(), 200);
    // Ready as its own role: it reads the version too.
    let ready = c
        .get(format!("{}/ready", api.base))
        .send()
        .await
        .expect("ready");
    assert_eq!(ready.status(), 200);
    // Signing in writes a nonce and a session: the API's own tables.
    sign_in(&c, &api.base, &dev::charlie()).await;

    // Each table is where it belongs, owned by its service.
    let owners: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT schemaname::text, tablename::text, tableowner::text FROM pg_tables
         WHERE tablename IN ('releases', 'entitlements', 'sessions', 'perk_secrets', '_sqlx_migrations')
         ORDER BY 1, 2",
    )
    .fetch_all(db.pool())
    .await
    .expect("tables");
    let row = |s: &str, t: &str, o: &str| (s.to_string(), t.to_string(), o.to_string());
    assert_eq!(
        owners,
        vec![
            row("dreamster_api", "_sqlx_migrations", "dreamster_api"),
            row("dreamster_api", "perk_secrets", "dreamster_api"),
            row("dreamster_api", "sessions", "dreamster_api"),
            row("read_model", "_sqlx_migrations", "dreamster_indexer"),
            row("read_model", "entitlements", "dreamster_indexer"),
            row("read_model", "releases", "dreamster_indexer"),
        ]
    );

    // The API reads the read model and changes nothing in it.
    let as_api = pool_as(&db, "dreamster_api").await;
    assert_eq!(
        refusal(&as_api, "SELECT count(*) FROM entitlements").await,
        None
    );
    for attack in [
        "UPDATE releases SET title = 'mine'",
        "DELETE FROM entitlements",
        "INSERT INTO arbiters SELECT * FROM arbiters",
        "UPDATE indexer_cursor SET block_number = 0",
        "TRUNCATE perks",
        "DROP TABLE editions",
        "ALTER TABLE releases ADD COLUMN mine INT",
        "CREATE TABLE read_model.mine (a INT)",
        "CREATE TABLE public.mine (a INT)",
    ] {
        assert_eq!(
            refusal(&as_api, attack).await.as_deref(),
            DENIED,
            "as the API: {attack}"
        );
    }

    // The indexer cannot read, let alone change, the API's sessions, secrets and hooks.
    let as_indexer = pool_as(&db, "dreamster_indexer").await;
    for attack in [
        "SELECT count(*) FROM dreamster_api.sessions",
        "SELECT secret FROM dreamster_api.perk_secrets",
        "DELETE FROM dreamster_api.webhooks",
        "CREATE TABLE dreamster_api.mine (a INT)",
    ] {
        assert_eq!(
            refusal(&as_indexer, attack).await.as_deref(),
            DENIED,
            "as the indexer: {attack}"
        );
    }

    // The keeper's role reads the read model only: the keeper's own query and an audit pass
    // run under it.
    let as_reader = pool_as(&db, "dreamster_reader").await;
    assert_eq!(
        refusal(&as_reader, "SELECT count(*) FROM entitlements").await,
        None
    );
    let due = dreamster_keeper::due::due(
        &as_reader,
        dreamster_keeper::due::Query {
            now: u64::MAX / 2,
            limit: 32,
            min_escrow: 0,
            resting: &[],
        },
    )
    .await;
    assert!(
        due.is_ok(),
        "the keeper's query as dreamster_reader: {due:?}"
    );
    let pass = dreamster_indexer::audit::once(
        &node.rpc_url(),
        &as_reader,
        &story.registry,
        std::time::Duration::from_secs(120),
    )
    .await
    .expect("an audit pass as dreamster_reader");
    assert_eq!(
        dreamster_indexer::audit::outcome(&pass),
        "agrees",
        "{pass:?}"
    );
    for attack in [
        "UPDATE entitlements SET escrow = 0",
        "SELECT count(*) FROM dreamster_api.sessions",
    ] {
        assert_eq!(
            refusal(&as_reader, attack).await.as_deref(),
            DENIED,
            "as the reader: {attack}"
        );
    }
    // Nothing the API did in the background (webhook dispatch, purging) was refused either.
    let log = std::fs::read_to_string(api.log.path()).expect("the API's log");
    assert!(!log.contains("permission denied"), "{log}");

    // The test can fail: the project role owns the database and may do what the services may not.
    assert_eq!(
        refusal(db.pool(), "SELECT count(*) FROM dreamster_api.sessions").await,
        None
    );
}
