//! Issue 17, finding 5, once answers are kept (`memo`): the keys people share are computed
//! once, but anyone can ask for keys no one else asks for — the audit lists at every
//! offset or filtered by any address, the league three rows at a time, the analytics and
//! page of addresses no artist registered — and each such request is a computation. The
//! attack: thousands of them, 200 at a time, from one client paying nothing. What everyone
//! else must still get: every other route answers (sign-in included), the kept pages too
//! while blocks keep changing the read model; the database runs at most
//! `memo::Rooms::FEW` of the flood's list computations at once; and the answers everyone
//! reads stay kept (not pushed out by keys asked once, nor by unknown artists). The
//! flooding client has at most its share of a room's line (`limits::COMPUTATIONS`): with
//! lines made short enough for one client to fill, someone else's rare pages still answer.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dreamster_api::address::Address;
use dreamster_api::memo::Rooms;
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

/// Requests in one flood: over 1 000 distinct audit-list keys and 375 league keys, where
/// the audit lists keep one answer each and the league one.
const FLOOD: u64 = 3_000;

/// Clients are told apart by the header a reverse proxy in front of the API would set:
/// the flooding one, and someone else.
const PROXY_HEADER: &str = "x-forwarded-for";
const ATTACKER: &str = "10.66.0.1";

/// The big floods come from four addresses (the flooding client's own and three more it
/// rents), whose shares together (4 × `limits::COMPUTATIONS`) exceed the 200 requests in
/// flight: what holds them is the rooms' bound, not one address's share.
fn flooder(i: u64) -> String {
    format!("10.66.0.{}", 1 + i % 4)
}
const SOMEONE: &str = "10.7.0.1";

/// Production's limits, each client known by [`PROXY_HEADER`].
fn limits() -> dreamster_api::limits::Limits {
    dreamster_api::limits::Limits::production()
        .behind_proxy(axum::http::HeaderName::from_static(PROXY_HEADER))
}

/// A valid address no artist registered.
fn unknown(i: u64) -> Address {
    Address::from(account(9_000_000 + i64::try_from(i).expect("small")).0)
}

/// The kinds of request in a flood.
const KINDS: u64 = 8;

/// The flood's `i`-th request: a key no one else asks for, or a registered artist's page.
fn flood_path(i: u64) -> String {
    match i % KINDS {
        0 => format!("/api/audit/overdue?offset={}", i + 1),
        1 => format!("/api/audit/disputes?limit={}&offset={i}", 1 + i % 100),
        2 => format!("/api/audit/refunds?artist={}", unknown(i)),
        3 => format!("/api/audit/league?limit=3&offset={i}"),
        4 => format!("/api/artists/{}/analytics", unknown(i)),
        5 => format!("/artists/{}", unknown(i)),
        // Every page size at offset 0: cut from the list's kept first page.
        6 => format!("/api/audit/disputes?limit={}", 1 + i % 100),
        // Kept after its first request (a miss in the room of kept answers).
        _ => format!("/artists/{}", SHAPE.artist(i)),
    }
}

/// What the flood's request at `path` should get (or a prompt `503 busy`).
fn expected(path: &str) -> u16 {
    let registered =
        (0..SHAPE.artists).any(|n| path == format!("/artists/{}", SHAPE.artist(n.unsigned_abs())));
    let unknown_artist = path.starts_with("/artists/") || path.ends_with("/analytics");
    if unknown_artist && !registered {
        404
    } else {
        200
    }
}

/// The answers everyone reads: kept before a flood, still kept after it.
fn hot_paths() -> Vec<String> {
    let artist = SHAPE.artist(0);
    vec![
        "/api/audit/overdue".into(),
        "/api/audit/disputes".into(),
        "/api/audit/refunds".into(),
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
    counted(metrics, "dreamster_api_memo_computations_total{")
}

/// The sum of the series whose line starts with `series`.
fn counted(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(series))
        .filter_map(|l| l.rsplit(' ').next()?.trim().parse::<u64>().ok())
        .sum()
}

/// Computations of one kind of kept answer so far.
fn computed(metrics: &str, kind: &str) -> u64 {
    counted(
        metrics,
        &format!("dreamster_api_memo_computations_total{{kind=\"{kind}\"}}"),
    )
}

/// The most statements seen running at once: all of the API's (its connections', not
/// their parallel workers' nor autovacuum's; not the sampler's own nor the cheap version
/// reads), and those of the audit lists' pages and the league's (the flood's expensive
/// ones; an artist's overdue count is not one of them).
#[derive(Debug, Default)]
struct Seen {
    all: i64,
    lists: i64,
    samples: u64,
}

/// Samples `pg_stat_activity` until `done`, a millisecond apart.
fn sampler(db: PgPool, done: Arc<AtomicBool>) -> tokio::task::JoinHandle<Seen> {
    tokio::spawn(async move {
        let mut seen = Seen::default();
        while !done.load(Ordering::SeqCst) {
            let (all, lists): (i64, i64) = sqlx::query_as(
                "SELECT count(*), count(*) FILTER (WHERE query LIKE '%ORDER BY 8 DESC%'
                    OR query LIKE 'SELECT count(*) FROM entitlement%$2::bytea IS NULL%'
                    OR query LIKE '%FROM artists a LEFT JOIN reputation%')
                 FROM pg_stat_activity WHERE datname = current_database()
                 AND backend_type = 'client backend' AND state = 'active'
                 AND pid <> pg_backend_pid() AND query NOT LIKE '%read_model_version%'",
            )
            .fetch_one(&db)
            .await
            .expect("pg_stat_activity");
            seen.all = seen.all.max(all);
            seen.lists = seen.lists.max(lists);
            seen.samples += 1;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        seen
    })
}

/// Everyone else, one request at a time until `done`: a release, a fan's page, the
/// releases, the home page (kept), and now and then a sign-in. Each answer's status.
fn everyone_else(
    base: String,
    done: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(String, u16)>> {
    tokio::spawn(async move {
        let c = client();
        let mut seen = Vec::new();
        let mut round = 0u64;
        while !done.load(Ordering::SeqCst) {
            let (what, request) = match round % 5 {
                0 => {
                    let path = format!("/api/releases/{}", SHAPE.release(round));
                    (path.clone(), c.get(format!("{base}{path}")))
                }
                1 => {
                    let path = format!("/fans/{}", SHAPE.fan(round));
                    (path.clone(), c.get(format!("{base}{path}")))
                }
                2 => (
                    "/api/releases".into(),
                    c.get(format!("{base}/api/releases")),
                ),
                3 => ("/".into(), c.get(format!("{base}/"))),
                // A sign-in every 5th round, at most 8 times (its per-client limit is 20).
                _ if round < 40 => (
                    "/auth/challenge".into(),
                    c.post(format!("{base}/auth/challenge"))
                        .json(&json!({ "address": SHAPE.artist(0).to_string() })),
                ),
                _ => ("/health".into(), c.get(format!("{base}/health"))),
            };
            let status = request
                .header(PROXY_HEADER, SOMEONE)
                .send()
                .await
                .map_or(0, |r| r.status().as_u16());
            seen.push((format!("{what} (round {round})"), status));
            round += 1;
        }
        seen
    })
}

/// A block's worth of writes every 200 ms until `done`: each moves the read model's
/// version, so every kept answer is computed again when next asked.
fn blocks(db: PgPool, done: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut writes = 0;
        while !done.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            sqlx::query("UPDATE entitlements SET block_number = block_number WHERE false")
                .execute(&db)
                .await
                .expect("a block's write");
            writes += 1;
        }
        writes
    })
}

/// One flood of [`FLOOD`] requests, 200 at a time, while everyone else reads, the
/// statements are sampled, and (if `writing`) blocks change the read model.
async fn flood(base: &str, db: &PgPool, writing: bool) -> Flood {
    let done = Arc::new(AtomicBool::new(false));
    let watch = sampler(db.clone(), done.clone());
    let others = everyone_else(base.to_string(), done.clone());
    let writer = writing.then(|| blocks(db.clone(), done.clone()));
    let c = client();
    let started = Instant::now();
    let requests = futures_util::stream::iter(0..FLOOD)
        .map(|i| {
            let (c, path) = (c.clone(), flood_path(i));
            let url = format!("{base}{path}");
            async move {
                let r = c
                    .get(url)
                    .header(PROXY_HEADER, flooder(i))
                    .send()
                    .await
                    .expect("a flood request");
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                (path, status, body)
            }
        })
        .buffer_unordered(200)
        .collect::<Vec<_>>();
    let requests = tokio::time::timeout(Duration::from_secs(180), requests)
        .await
        .expect("the flood answered within 3 minutes");
    let took = started.elapsed();
    done.store(true, Ordering::SeqCst);
    let seen = watch.await.expect("sampler");
    let others = others.await.expect("everyone else");
    let writes = match writer {
        Some(w) => w.await.expect("blocks"),
        None => 0,
    };
    let busy = requests.iter().filter(|(_, s, _)| *s == 503).count();
    let limited = requests.iter().filter(|(_, s, _)| *s == 429).count();
    println!(
        "flood ({}): {} requests in {:.1} s, {busy} busy, {limited} past its share; everyone else: {} requests; \
         statements at once: at most {} in all, {} of the lists ({} samples)",
        if writing {
            format!("{writes} blocks")
        } else {
            "no write".into()
        },
        requests.len(),
        took.as_secs_f64(),
        others.len(),
        seen.all,
        seen.lists,
        seen.samples
    );
    Flood {
        requests,
        others,
        seen,
        writes,
    }
}

/// What a flood saw.
struct Flood {
    requests: Vec<(String, u16, Value)>,
    others: Vec<(String, u16)>,
    seen: Seen,
    writes: u64,
}

/// What a flood must leave: each of its requests answered as it asked or `busy`, and of
/// each kind at least one answered; every one of everyone else's 200; at most `places`
/// list statements at once, and the rare keys' room full at some point.
fn holds(f: &Flood, places: usize) {
    let mut answered = [0u64; KINDS as usize];
    for (i, (path, status, body)) in f.requests.iter().enumerate() {
        // Refused: the room's line is full or too slow. (Never for an address's share:
        // each of the four has at most 50 requests in flight, under its 64.)
        let refused = *status == 503 && body["error"] == "busy";
        assert!(
            *status == expected(path) || refused,
            "{path}: {status} {body} (expected {})",
            expected(path)
        );
        if !refused {
            answered[i % KINDS as usize] += 1;
        }
    }
    assert!(
        answered.iter().all(|n| *n > 0),
        "some kind of request was never answered, only busy: {answered:?}"
    );
    assert!(
        f.others.len() >= 10,
        "everyone else asked only {} times",
        f.others.len()
    );
    for (what, status) in &f.others {
        assert_eq!(*status, 200, "everyone else's {what} during the flood");
    }
    let seen = &f.seen;
    assert!(
        seen.samples >= 10,
        "the sampler looked only {} times",
        seen.samples
    );
    // The places, plus one: `pg_stat_activity` copies the backends one by one, so a turn
    // handed over during the copy can be seen twice.
    let places = i64::try_from(places).expect("small");
    assert!(
        seen.lists <= places + 1,
        "{} of the flood's list statements ran at once ({} samples)",
        seen.lists,
        seen.samples
    );
    assert!(
        seen.lists >= i64::try_from(Rooms::FEW).expect("small"),
        "the flood's list computations never filled their room ({} samples): it tested nothing",
        seen.samples
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_keys_no_one_else_asks_for_leaves_everyone_else_served() {
    let prometheus = dreamster_client::service::install_metrics().expect("the only recorder here");
    let db = common::hooks::queue_db().await;
    read_model::generate(db.pool(), SHAPE, now_ms())
        .await
        .expect("generated");
    // The API's own pool (16 connections), so the bound is the rooms', not a small pool's.
    let pool = dreamster_api::operations::request_pool(db.url().parse().expect("url"))
        .await
        .expect("pool");
    // No node: sign-in then names no chain, which is all this test needs of it.
    let mut state = AppState::for_node(pool, "ws://127.0.0.1:9");
    state.limits = limits();
    let base = common::serve(state).await;
    let c = client();

    // The answers everyone reads, asked for a few times each.
    for _ in 0..5 {
        for path in hot_paths() {
            let r = c.get(format!("{base}{path}")).send().await.expect(&path);
            assert_eq!(r.status(), 200, "{path}");
        }
    }

    // A flood with the read model still: the answers everyone reads are still kept after
    // it — asked again, nothing is computed — and the flood itself computed none of the
    // lists' or league's kept answers (every page it asked at offset 0 was cut from them,
    // every other computed and not kept) nor any unknown artist's.
    let before = prometheus.render();
    let first = flood(&base, db.pool(), false).await;
    // Only the rare keys' room computes lists: the kept ones are kept.
    holds(&first, Rooms::FEW);
    let after = prometheus.render();
    for kind in ["audit", "league", "analytics"] {
        assert_eq!(
            computed(&after, kind),
            computed(&before, kind),
            "the flood computed kept answers of {kind}"
        );
    }
    assert!(
        computed(&after, "artist_page") - computed(&before, "artist_page")
            < u64::try_from(SHAPE.artists).expect("small"),
        "more artists' pages computed than registered artists not yet kept"
    );
    println!(
        "busy after the first flood: {} (rare keys' room), {} (kept answers' room)",
        counted(&after, "dreamster_api_memo_busy_total{room=\"few\"}"),
        counted(&after, "dreamster_api_memo_busy_total{room=\"shared\"}")
    );
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

    // A flood while blocks change the read model every 200 ms: every kept answer is then a
    // miss again and again, in its own room, and everyone else's home page still answers.
    let second = flood(&base, db.pool(), true).await;
    // After each block, the lists' kept first pages (which the flood asks too) are
    // computed again in the kept answers' room: the same statements, in both rooms.
    holds(&second, Rooms::FEW + Rooms::SHARED);
    assert!(
        second.writes >= 10,
        "only {} blocks during the flood",
        second.writes
    );
    let after = prometheus.render();
    println!(
        "busy after both floods: {} (rare keys' room), {} (kept answers' room)",
        counted(&after, "dreamster_api_memo_busy_total{room=\"few\"}"),
        counted(&after, "dreamster_api_memo_busy_total{room=\"shared\"}")
    );

    one_client_cannot_fill_a_line_for_everyone_else(db.url()).await;
}

/// The flood again, with the rooms' lines made short (32) so one client could fill them:
/// another client's rare pages must still be answered — its own share of the line is
/// free — while the flooding client is refused past its share (429 `rate_limited`).
/// Without the per-client share, the flood fills the line and every other client's rare
/// page is `busy`. (A phase of the test above, not a test of its own: the two would share
/// the process's metrics, which the first reads.)
async fn one_client_cannot_fill_a_line_for_everyone_else(url: &str) {
    use dreamster_api::memo::{Memos, Room};

    let pool = dreamster_api::operations::request_pool(url.parse().expect("url"))
        .await
        .expect("pool");
    let mut state = AppState::for_node(pool, "ws://127.0.0.1:9");
    let line = 32;
    let rooms = Rooms {
        shared: Room::new("shared", Rooms::SHARED, line, Room::LONGEST_WAIT),
        few: Room::new("few", Rooms::FEW, line, Room::LONGEST_WAIT),
    };
    state.memos = Memos::in_rooms(&rooms);
    state.limits = limits().with_computations(line / 4);
    let base = common::serve(state).await;

    // The league kept first (no write comes in this phase): a kept answer, which a client
    // at its share still gets.
    let warmed = client()
        .get(format!("{base}/api/audit/league"))
        .header(PROXY_HEADER, SOMEONE)
        .send()
        .await
        .expect("the league");
    assert_eq!(warmed.status(), 200);
    // The flooding client asks until the other has asked its pages.
    let done = Arc::new(AtomicBool::new(false));
    let refusals = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let attacker = {
        let (base, done, refusals) = (base.clone(), done.clone(), refusals.clone());
        tokio::spawn(async move {
            let c = client();
            futures_util::stream::iter(0..)
                .take_while(|_| std::future::ready(!done.load(Ordering::SeqCst)))
                .map(|i: u64| {
                    // The flood's rare list and league pages (its kinds 0 to 3), and every
                    // tenth the kept league.
                    let path = if i % 10 == 9 {
                        "/api/audit/league".to_string()
                    } else {
                        flood_path(i / 4 * KINDS + i % 4)
                    };
                    let request = c
                        .get(format!("{base}{path}"))
                        .header(PROXY_HEADER, ATTACKER);
                    let refusals = refusals.clone();
                    async move {
                        let status = request.send().await.map_or(0, |r| {
                            // A refusal says when to ask again (else counted as no answer).
                            let told = r.headers().contains_key("retry-after");
                            match r.status().as_u16() {
                                429 if !told => 0,
                                429 => {
                                    refusals.fetch_add(1, Ordering::SeqCst);
                                    429
                                }
                                status => status,
                            }
                        });
                        (path, status)
                    }
                })
                .buffer_unordered(200)
                .collect::<Vec<_>>()
                .await
        })
    };
    // Another client's rare pages, one at a time while the flood runs — from when the
    // flooding client has filled its share.
    let deadline = Instant::now() + Duration::from_secs(60);
    while refusals.load(Ordering::SeqCst) == 0 {
        assert!(
            Instant::now() < deadline,
            "the flooding client was never held to its share"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let c = client();
    let mut others = Vec::new();
    let asking = async {
        for i in 0..20u64 {
            // Past the kept first 100 items: computed in the room of rare pages.
            let path = format!("/api/audit/overdue?offset={}", 101 + i);
            let r = c
                .get(format!("{base}{path}"))
                .header(PROXY_HEADER, SOMEONE)
                .send()
                .await
                .expect("another client's request");
            others.push((path, r.status().as_u16()));
        }
    };
    tokio::time::timeout(Duration::from_secs(120), asking)
        .await
        .expect("the other client's 20 pages answered within 2 minutes");
    done.store(true, Ordering::SeqCst);
    let flood = tokio::time::timeout(Duration::from_secs(180), attacker)
        .await
        .expect("the flood answered within 3 minutes")
        .expect("joined");
    let refused = flood.iter().filter(|(_, s)| *s == 429).count();
    let busy = flood.iter().filter(|(_, s)| *s == 503).count();
    println!(
        "one client's flood: {} requests, {refused} refused past its share, {busy} busy; \
         another client: {} rare pages",
        flood.len(),
        others.len()
    );
    for (path, status) in &flood {
        if path == "/api/audit/league" {
            assert_eq!(*status, 200, "the kept league, to a client at its share");
        } else {
            assert!([200, 429, 503].contains(status), "{path}: {status}");
        }
    }
    for (path, status) in &others {
        assert_eq!(
            *status, 200,
            "another client's {path} during one client's flood"
        );
    }
}
