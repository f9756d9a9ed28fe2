//! Issue 17, finding 5, once answers are kept (`memo`): the keys people share are computed
//! once, but anyone can ask for keys no one else asks for — the audit lists at every
//! offset, the league three rows at a time, the analytics and page of addresses no artist
//! registered — and each such request is a computation. The attack: thousands of them,
//! 200 at a time, from one client paying nothing. What everyone else must still get: every
//! other route answers (sign-in included), the database runs at most
//! `memo::Room::STATEMENTS` of the flood's computations at once, and the answers everyone
//! reads stay kept (not pushed out by keys asked once, nor replaced by unknown artists).

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dreamster_api::address::Address;
use dreamster_api::memo::Room;
use dreamster_api::read::now_ms;
use dreamster_api::AppState;
use dreamster_test_support::read_model::{self, account, Shape};
use futures_util::StreamExt;
use serde_json::{json, Value};
use sqlx::PgPool;

/// 250 releases of 20 artists, 100 editions each: 100 000 entitlements, so that a list's
/// computation takes long enough (milliseconds) for several to be seen running at once.
const SHAPE: Shape = Shape {
    artists: 20,
    releases: 250,
    editions_per_release: 100,
    fans: 2_000,
};

/// Requests in the flood: more distinct audit-list keys (about 1 290) than the 1 024
/// answers the audit lists keep, more league keys (about 430) than its 256.
const FLOOD: u64 = 3_000;

/// A valid address no artist registered.
fn unknown(i: u64) -> Address {
    Address::from(account(9_000_000 + i64::try_from(i).expect("small")).0)
}

/// The flood's `i`-th request: a key no one else asks for.
fn flood_path(i: u64) -> String {
    match i % 7 {
        // A registered artist's page: kept after its first request, which runs four
        // statements at once and so takes four places in the room. (Those four last less
        // than a sample: that the room counts them is `memo`'s unit test's to show.)
        6 => format!("/artists/{}", SHAPE.artist(i)),
        0 => format!("/api/audit/overdue?offset={i}"),
        1 => format!("/api/audit/disputes?limit={}&offset={i}", 1 + i % 100),
        2 => format!("/api/audit/refunds?artist={}", unknown(i)),
        3 => format!("/api/audit/league?limit=3&offset={i}"),
        4 => format!("/api/artists/{}/analytics", unknown(i)),
        _ => format!("/artists/{}", unknown(i)),
    }
}

/// The answers everyone reads: kept before the flood, still kept after it.
fn hot_paths() -> Vec<String> {
    let artist = SHAPE.artist(0);
    vec![
        "/api/audit/overdue".into(),
        "/api/audit/league".into(),
        format!("/api/artists/{artist}/analytics"),
        format!("/artists/{artist}"),
        "/audit".into(),
        "/".into(),
    ]
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .build()
        .expect("client")
}

/// Computations of kept answers so far, all kinds.
fn computations(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("dreamster_api_memo_computations_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.trim().parse::<u64>().ok())
        .sum()
}

/// Samples, until `done`, how many of the API's statements run at once in this database
/// (its connections', not their parallel workers' nor autovacuum's), other than the
/// sampler's own and the (cheap) version reads: the most seen, and how many samples.
fn sampler(db: PgPool, done: Arc<AtomicBool>) -> tokio::task::JoinHandle<(i64, u64)> {
    tokio::spawn(async move {
        let (mut most, mut samples) = (0, 0);
        while !done.load(Ordering::SeqCst) {
            let running: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
                 AND backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()
                 AND query NOT LIKE '%read_model_version%'",
            )
            .fetch_one(&db)
            .await
            .expect("pg_stat_activity");
            most = most.max(running);
            samples += 1;
            // No pause: a statement of the flood lasts a few ms, a sample less than one.
            tokio::task::yield_now().await;
        }
        (most, samples)
    })
}

/// Everyone else, one request at a time until `done`: a release, a fan's page, the
/// releases, and now and then a sign-in. Each answer's status, by path.
fn everyone_else(
    base: String,
    done: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(String, u16)>> {
    tokio::spawn(async move {
        let c = client();
        let mut seen = Vec::new();
        let mut round = 0u64;
        while !done.load(Ordering::SeqCst) {
            let response = match round % 4 {
                0 => c.get(format!("{base}/api/releases/{}", SHAPE.release(round))),
                1 => c.get(format!("{base}/fans/{}", SHAPE.fan(round))),
                2 => c.get(format!("{base}/api/releases")),
                // Sign-in every 4th round, at most 10 times (its per-client limit is 20).
                _ if round < 40 => c
                    .post(format!("{base}/auth/challenge"))
                    .json(&json!({ "address": SHAPE.artist(0).to_string() })),
                _ => c.get(format!("{base}/health")),
            }
            .send()
            .await;
            let what = format!("round {round}");
            seen.push((what, response.map_or(0, |r| r.status().as_u16())));
            round += 1;
        }
        seen
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_keys_no_one_else_asks_for_leaves_everyone_else_served() {
    let prometheus = dreamster_client::service::install_metrics().expect("the only recorder here");
    let db = common::hooks::queue_db().await;
    read_model::generate(db.pool(), SHAPE, now_ms())
        .await
        .expect("generated");
    // The API's own pool (16 connections), so the bound is the room's, not a small pool's.
    let pool = dreamster_api::operations::request_pool(db.url().parse().expect("url"))
        .await
        .expect("pool");
    // No node: sign-in then names no chain, which is all this test needs of it.
    let base = common::serve(AppState::for_node(pool, "ws://127.0.0.1:9")).await;
    let c = client();

    // The answers everyone reads, asked for a few times each.
    for _ in 0..5 {
        for path in hot_paths() {
            let r = c.get(format!("{base}{path}")).send().await.expect(&path);
            assert_eq!(r.status(), 200, "{path}");
        }
    }

    let done = Arc::new(AtomicBool::new(false));
    let watch = sampler(db.pool().clone(), done.clone());
    let others = everyone_else(base.clone(), done.clone());
    let flood = futures_util::stream::iter(0..FLOOD)
        .map(|i| {
            let (c, path) = (c.clone(), flood_path(i));
            let url = format!("{base}{path}");
            async move {
                let r = c.get(url).send().await.expect("a flood request");
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                (path, status, body)
            }
        })
        .buffer_unordered(200)
        .collect::<Vec<_>>();
    let flood = tokio::time::timeout(Duration::from_secs(180), flood)
        .await
        .expect("the flood answered within 3 minutes");
    done.store(true, Ordering::SeqCst);
    let (most, samples) = watch.await.expect("sampler");
    let others = others.await.expect("everyone else");

    println!(
        "flood: {} requests; everyone else: {} requests; statements at once: at most {most} ({samples} samples)",
        flood.len(),
        others.len()
    );
    // The flood got what it asked for, or a prompt "busy": never a timeout or an error.
    let mut answered = 0;
    for (path, status, body) in &flood {
        let unknown_artist = (path.starts_with("/artists/")
            && !(0..SHAPE.artists)
                .any(|n| path.ends_with(&SHAPE.artist(n.unsigned_abs()).to_string())))
            || path.ends_with("/analytics");
        let expected = if unknown_artist { 404 } else { 200 };
        let busy = *status == 503 && body["error"] == "busy";
        assert!(
            *status == expected || busy,
            "{path}: {status} {body} (expected {expected})"
        );
        answered += usize::from(*status == expected);
    }
    assert!(
        answered * 10 >= flood.len() * 9,
        "only {answered} of {} flood requests answered (the rest busy)",
        flood.len()
    );
    // Everyone else was served throughout.
    assert!(
        others.len() >= 10,
        "everyone else asked only {} times",
        others.len()
    );
    for (what, status) in &others {
        assert_eq!(*status, 200, "everyone else's {what} during the flood");
    }
    // At most the room's computations ran at once, plus everyone else's one statement.
    assert!(samples >= 10, "the sampler looked only {samples} times");
    assert!(
        most <= i64::from(Room::STATEMENTS) + 1,
        "{most} statements ran at once during the flood ({samples} samples)"
    );
    assert!(
        most >= 2,
        "no two statements ever ran at once ({samples} samples): the flood tested nothing"
    );

    // The answers everyone reads are still kept: asked again, nothing is computed.
    let mut again = Vec::new();
    for path in hot_paths() {
        let before = computations(&prometheus.render());
        let r = c.get(format!("{base}{path}")).send().await.expect(&path);
        assert_eq!(r.status(), 200, "{path} after the flood");
        if computations(&prometheus.render()) != before {
            again.push(path);
        }
    }
    assert!(
        again.is_empty(),
        "pushed out by the flood, computed again: {again:?}"
    );
}
