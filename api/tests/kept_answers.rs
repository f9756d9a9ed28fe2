//! Issue 17, finding 5: the expensive answers (an artist's analytics, the audit lists, the
//! league, the `/audit`, home and artist pages) are kept between requests (`memo`). The attack: a burst of
//! `/audit` requests, each running eight queries, held the pool until every route answered
//! 503; now a burst costs one computation per answer, and sign-in answers meanwhile. The
//! risk of keeping: a stale answer. So a kept answer must be the one a fresh query gives —
//! after every kind of write to the read model, and when the clock alone makes a
//! commitment overdue or a ruling lapse.

mod common;

use std::time::Duration;

use dreamster_api::address::Address;
use dreamster_api::audit::{self, AuditList, AuditQuery};
use dreamster_api::read::now_ms;
use dreamster_api::{artists, pages, AppState};
use dreamster_test_support::read_model::{self, Shape};
use dreamster_test_support::TestDatabase;
use serde_json::{json, Value};
use sqlx::PgPool;

/// 30 releases of 6 artists, 40 editions each: 4 800 entitlements, 3 releases with an
/// overdue perk, 48 disputes.
const SHAPE: Shape = Shape {
    artists: 6,
    releases: 30,
    editions_per_release: 40,
    fans: 200,
};

async fn read_model() -> TestDatabase {
    let db = common::hooks::queue_db().await;
    read_model::generate(db.pool(), SHAPE, now_ms())
        .await
        .expect("generated");
    db
}

fn artist(n: u64) -> Address {
    SHAPE
        .artist(n)
        .to_string()
        .parse()
        .expect("a valid address")
}

/// The routes that answer from kept answers, by path.
fn kept_paths() -> Vec<String> {
    let mut paths: Vec<String> = [
        "/api/audit/overdue",
        "/api/audit/disputes",
        "/api/audit/refunds",
        "/api/audit/league",
    ]
    .map(String::from)
    .to_vec();
    paths.extend((0..3).map(|n| format!("/api/artists/{}/analytics", artist(n))));
    paths
}

/// What the route's query gives now, uncached.
async fn fresh(db: &PgPool, path: &str) -> Value {
    let now = now_ms();
    let first = |list| AuditQuery::first(list, 20);
    let value = match path {
        "/api/audit/overdue" => json!(audit::audit_items(db, &first(AuditList::Overdue), now)
            .await
            .expect("overdue")),
        "/api/audit/disputes" => json!(audit::audit_items(db, &first(AuditList::Disputes), now)
            .await
            .expect("disputes")),
        "/api/audit/refunds" => json!(audit::audit_items(db, &first(AuditList::Refunds), now)
            .await
            .expect("refunds")),
        "/api/audit/league" => json!(audit::league(db, 20, 0, now).await.expect("league")),
        analytics => {
            let who = analytics
                .trim_start_matches("/api/artists/")
                .trim_end_matches("/analytics");
            json!(artists::analytics(db, who.parse().expect("address"))
                .await
                .expect("analytics"))
        }
    };
    through_text(value)
}

/// Every kept route answers what its query gives now, and the pages kept as rendered (the
/// `/audit` page, the home page, every artist's page) are what rendering them now gives.
async fn all_agree(state: &AppState, base: &str, after: &str) {
    let db = &state.db;
    for path in kept_paths() {
        let (status, kept) = common::get(base, &path).await;
        assert_eq!(status, 200, "{path} after {after}: {kept}");
        assert_eq!(kept, fresh(db, &path).await, "{path} after {after}");
    }
    cuts_agree(db, base, after).await;
    let audit = pages::audit_answer(db, &state.explorer, now_ms()).await;
    page_agrees(base, "/audit", &audit.expect("rendered").value, after).await;
    let home = pages::home_answer(db).await;
    page_agrees(base, "/", &home.expect("rendered").value, after).await;
    for n in 0..SHAPE.artists {
        let who = artist(u64::try_from(n).expect("a count"));
        let fresh = pages::artist_answer(state, who, now_ms()).await;
        let path = format!("/artists/{who}");
        page_agrees(base, &path, &fresh.expect("rendered").value, after).await;
    }
}

/// Pages within a list's (or the league's) kept first 100 are cut from it: each equals a
/// fresh query of that very page — at offset 0 and past it, past the list's end too.
async fn cuts_agree(db: &PgPool, base: &str, after: &str) {
    let lists = [
        ("overdue", AuditList::Overdue),
        ("disputes", AuditList::Disputes),
        ("refunds", AuditList::Refunds),
    ];
    for (limit, offset) in [(1, 0), (13, 37), (20, 80), (7, 93), (100, 0)] {
        for (name, list) in lists {
            let path = format!("/api/audit/{name}?limit={limit}&offset={offset}");
            let (status, cut) = common::get(base, &path).await;
            assert_eq!(status, 200, "{path} after {after}: {cut}");
            let q = AuditQuery {
                list,
                artist: None,
                limit,
                offset,
            };
            let page = audit::audit_items(db, &q, now_ms()).await.expect("a page");
            assert_eq!(cut, through_text(json!(page)), "{path} after {after}");
        }
        let path = format!("/api/audit/league?limit={limit}&offset={offset}");
        let (status, cut) = common::get(base, &path).await;
        assert_eq!(status, 200, "{path} after {after}: {cut}");
        let page = audit::league(db, limit, offset, now_ms())
            .await
            .expect("a page");
        assert_eq!(cut, through_text(json!(page)), "{path} after {after}");
    }
}

/// A value as an answer's text gives it back: floats compare as they were written.
fn through_text(value: Value) -> Value {
    serde_json::from_str(&value.to_string()).expect("json")
}

/// The page at `path` is `fresh`, byte for byte.
async fn page_agrees(base: &str, path: &str, fresh: &[u8], after: &str) {
    let page = page(base, path).await;
    assert!(&page[..] == fresh, "the page {path} after {after}");
}

async fn page(base: &str, path: &str) -> Vec<u8> {
    let response = client()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(response.status(), 200, "{path}");
    response
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .to_vec()
}

async fn version(db: &PgPool) -> i64 {
    dreamster_api::memo::version(db)
        .await
        .expect("version")
        .writes
}

async fn write(db: &PgPool, sql: &str, now: i64) {
    sqlx::query(sql)
        .bind(now)
        .execute(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A client whose every request has a deadline (60 s, as `common::get`'s).
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// One pending commitment still due later (of a perk not cancelled) becomes due at `at`:
/// one of the artist with the most overdue now, so that the artist's page (which shows the
/// count only once the artist is flagged) changes when it falls overdue. Its artist.
async fn due_at(pool: &PgPool, at: i64) -> Address {
    sqlx::query_scalar(
        "WITH overdue AS (SELECT r.artist, count(*) AS n FROM entitlements e
            JOIN perks p ON p.release = e.release AND p.perk = e.perk
            JOIN releases r ON r.address = e.release
            WHERE e.state = 'pending' AND e.deadline < $1 AND p.cancelled_at IS NULL
            GROUP BY r.artist),
         chosen AS (SELECT e.release, e.edition, e.perk FROM entitlements e
            JOIN perks p ON p.release = e.release AND p.perk = e.perk
            JOIN releases r ON r.address = e.release
            LEFT JOIN overdue o ON o.artist = r.artist
            WHERE e.state = 'pending' AND e.deadline > $1 AND p.cancelled_at IS NULL
            ORDER BY coalesce(o.n, 0) DESC, e.release, e.edition LIMIT 1)
         UPDATE entitlements e SET deadline = $1 FROM chosen, releases r
         WHERE (e.release, e.edition, e.perk) = (chosen.release, chosen.edition, chosen.perk)
           AND r.address = e.release
         RETURNING r.artist",
    )
    .bind(at)
    .fetch_one(pool)
    .await
    .expect("a pending commitment due later")
}

/// One open dispute (the latest raised) counts as raised at `at`.
async fn raised_at(pool: &PgPool, at: i64) {
    write(
        pool,
        "UPDATE entitlements SET disputed_at = $1
         WHERE (release, edition, perk) = (SELECT release, edition, perk FROM entitlements
         WHERE state = 'disputed' ORDER BY disputed_at DESC NULLS LAST, release, edition LIMIT 1)",
        at,
    )
    .await;
}

/// Waits (at most `limit` past `at`) until the wall clock is past `at` (ms).
async fn until_past(at: i64) {
    let wait = at.saturating_sub(now_ms()).max(0) as u64 + 50;
    assert!(
        wait < 10_000,
        "a wait of {wait} ms is not what this test meant"
    );
    tokio::time::sleep(Duration::from_millis(wait)).await;
    assert!(now_ms() > at);
}

fn counter(metrics: &str, name: &str, kind: &str) -> u64 {
    let series = format!("{name}{{kind=\"{kind}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_answers_are_shared_by_a_burst_and_never_stale() {
    let prometheus = dreamster_client::service::install_metrics().expect("the only recorder here");
    let db = read_model().await;
    // No node: sign-in then names no chain, which is all this test needs of it.
    let state = AppState::for_node(db.pool().clone(), "ws://127.0.0.1:9");
    let base = common::serve(state.clone()).await;
    let pool = db.pool();

    // The attack: 60 `/audit` pages and 60 leagues at once on nothing kept, and a sign-in
    // in the middle.
    let c = client();
    let reads = futures_util::future::join_all((0..120).map(|i| {
        let path = if i % 2 == 0 {
            "/audit"
        } else {
            "/api/audit/league"
        };
        c.get(format!("{base}{path}")).send()
    }));
    let challenge = c
        .post(format!("{base}/auth/challenge"))
        .json(&json!({ "address": artist(0).to_string() }))
        .send();
    let (reads, challenge) = tokio::join!(reads, challenge);
    for read in reads {
        assert_eq!(read.expect("a read").status(), 200);
    }
    assert_eq!(challenge.expect("sign-in").status(), 200);
    let metrics = prometheus.render();
    // Each answer computed once for its 60 requests.
    for kind in ["audit_page", "league"] {
        assert_eq!(
            counter(&metrics, "dreamster_api_memo_requests_total", kind),
            60,
            "{kind}: {metrics}"
        );
        let computed = counter(&metrics, "dreamster_api_memo_computations_total", kind);
        assert_eq!(
            computed, 1,
            "{kind} computed {computed} times for 60 requests"
        );
    }

    // Never stale after a write: each kind of change the indexer makes, with every answer
    // kept just before it.
    all_agree(&state, &base, "nothing").await;
    let changes = [
        ("a delivery", "UPDATE entitlements SET state = 'delivered', delivered_at = $1
            WHERE (release, edition, perk) = (SELECT release, edition, perk FROM entitlements
            WHERE state = 'pending' AND deadline < $1 ORDER BY release, edition, perk LIMIT 1)"),
        ("a refund and its event", "WITH r AS (UPDATE entitlements SET state = 'refunded'
            WHERE (release, edition, perk) = (SELECT release, edition, perk FROM entitlements
            WHERE state = 'pending' AND deadline < $1 ORDER BY release, edition, perk LIMIT 1)
            RETURNING release, edition, perk, escrow)
            INSERT INTO entitlement_changes (release, edition, perk, actor, from_state, to_state, action,
                amount, refund, at, block_number, event_index)
            SELECT release, edition, perk, '\\x00', 'pending', 'refunded', 'refunded', escrow, true, $1,
                9000000, 1 FROM r"),
        ("a confirmation", "INSERT INTO entitlement_changes (release, edition, perk, actor, from_state,
                to_state, action, amount, refund, at, block_number, event_index)
            SELECT release, edition, perk, '\\x00', 'delivered', 'confirmed', 'confirmed', NULL, false, $1,
                9000001, 1 FROM entitlements WHERE state = 'delivered' ORDER BY release, edition LIMIT 1"),
        ("a cancelled perk", "UPDATE perks SET cancelled_at = $1
            WHERE (release, perk) = (SELECT release, perk FROM perks WHERE deadline < $1
            ORDER BY release DESC LIMIT 1)"),
        ("a dispute", "UPDATE entitlements SET state = 'disputed', disputed_at = $1
            WHERE (release, edition, perk) = (SELECT release, edition, perk FROM entitlements
            WHERE state = 'delivered' ORDER BY release DESC, edition DESC LIMIT 1)"),
        ("a ruling", "UPDATE entitlements SET state = 'confirmed'
            WHERE state = 'disputed' AND disputed_at <= $1
            AND (release, edition, perk) = (SELECT release, edition, perk FROM entitlements
            WHERE state = 'disputed' ORDER BY release, edition LIMIT 1)"),
        ("a sale counted on the newest release", "UPDATE releases SET editions_sold = editions_sold + 1
            WHERE address = (SELECT address FROM releases ORDER BY block_number DESC, address LIMIT 1)
            AND $1 > 0"),
        ("a reputation", "UPDATE reputation SET delivered_late = delivered_late + 40
            WHERE artist = (SELECT artist FROM reputation ORDER BY artist LIMIT 1) AND $1 > 0"),
        ("a sale", "WITH ed AS (INSERT INTO editions SELECT release, 1000, owner, owner, price, artist_share,
                $1, block_number + 5000, 1 FROM editions ORDER BY release LIMIT 1 RETURNING *)
            INSERT INTO entitlements (release, edition, perk, escrow, state, deadline, unlocked,
                created_block, block_number, extrinsic_index)
            SELECT ed.release, ed.edition, p.perk, 1, 'pending', 1600000000000, false, ed.block_number,
                ed.block_number, 1 FROM ed JOIN perks p ON p.release = ed.release"),
    ];
    for (what, sql) in changes {
        let before = version(pool).await;
        write(pool, sql, now_ms()).await;
        assert!(
            version(pool).await > before,
            "{what} moved the read model's version"
        );
        all_agree(&state, &base, what).await;
    }

    // Never stale by the clock: a commitment falls overdue, with no write at all; its
    // artist's page shows one more.
    let due = now_ms() + 6_000;
    let flagged = format!("/artists/{}", due_at(pool, due).await);
    let before = page(&base, &flagged).await;
    assert!(
        String::from_utf8_lossy(&before).contains("overdue-flag"),
        "{flagged} is flagged, so its page shows the overdue count"
    );
    by_the_clock(
        &state,
        &base,
        "/api/audit/overdue",
        due,
        1,
        "a commitment falling overdue",
    )
    .await;
    assert!(
        page(&base, &flagged).await != before,
        "{flagged} changed when the commitment fell overdue"
    );

    // A ruling's time lapses, with no write: the dispute leaves the list.
    let timeout = i64::try_from(dreamster_types::release::RULING_TIMEOUT).expect("ms");
    let lapse = now_ms() + 6_000;
    raised_at(pool, lapse - timeout).await;
    by_the_clock(
        &state,
        &base,
        "/api/audit/disputes",
        lapse,
        -1,
        "a ruling lapsing",
    )
    .await;
    boundaries(pool).await;
}

/// Every kept answer agrees with a fresh one before `at`; then the clock passes `at` with
/// no write to the read model.
async fn clock_passes(state: &AppState, base: &str, at: i64, what: &str) {
    all_agree(state, base, &format!("{what}, before")).await;
    assert!(
        now_ms() < at,
        "the reads before {what} took too long to mean anything"
    );
    let still = version(&state.db).await;
    until_past(at).await;
    assert_eq!(version(&state.db).await, still, "no write since");
}

/// Reads `path` before `at`, waits past it with no write, reads again: its total moved by
/// `delta` by the clock alone, and every kept answer agrees with a fresh one on both sides.
async fn by_the_clock(state: &AppState, base: &str, path: &str, at: i64, delta: i64, what: &str) {
    let (_, before) = common::get(base, path).await;
    clock_passes(state, base, at, what).await;
    let (_, after) = common::get(base, path).await;
    assert_eq!(
        after["total"].as_i64(),
        before["total"].as_i64().map(|t| t + delta),
        "{what}: {before} then {after}"
    );
    all_agree(state, base, what).await;
}

/// To the millisecond: an answer's `until` is the first time its condition gives another
/// answer (the conditions read with `now` as a parameter, an hour ahead).
async fn boundaries(pool: &PgPool) {
    let d = now_ms() + 3_600_000;
    let who = due_at(pool, d).await;
    boundary(
        "the overdue list",
        d,
        1,
        |now| list_total(pool, AuditList::Overdue, now),
        |now| audit::overdue_changes_at(pool, now),
    )
    .await;
    // The artist's own count, which their page shows, turns at the same ms.
    boundary(
        "the artist's overdue count",
        d,
        1,
        |now| async move { audit::overdue_of(pool, who, now).await.expect("count") },
        |now| audit::overdue_of_changes_at(pool, who, now),
    )
    .await;

    let timeout = i64::try_from(dreamster_types::release::RULING_TIMEOUT).expect("ms");
    let raised = now_ms() + 3_600_000 - timeout;
    raised_at(pool, raised).await;
    boundary(
        "the disputes list",
        raised + timeout,
        -1,
        |now| list_total(pool, AuditList::Disputes, now),
        |now| audit::ruling_lapses_at(pool, now),
    )
    .await;
}

async fn list_total(pool: &PgPool, list: AuditList, now: i64) -> i64 {
    audit::audit_items(pool, &AuditQuery::first(list, 1), now)
        .await
        .expect("the list")
        .total
}

/// Up to `last` the count gives what it gave a ms before, and `until` there is `last + 1`;
/// a ms later the count has moved by `delta`.
async fn boundary<C, CFut, U, UFut>(what: &str, last: i64, delta: i64, count: C, until: U)
where
    C: Fn(i64) -> CFut,
    CFut: std::future::Future<Output = i64>,
    U: Fn(i64) -> UFut,
    UFut: std::future::Future<Output = Result<Option<i64>, sqlx::Error>>,
{
    for now in [last - 1, last] {
        let at = until(now).await.expect("until");
        assert_eq!(at, Some(last + 1), "{what}: until at {now}");
    }
    assert_eq!(
        count(last).await,
        count(last - 1).await,
        "{what} to the last ms"
    );
    assert_eq!(
        count(last + 1).await,
        count(last).await + delta,
        "{what} a ms after"
    );
}
