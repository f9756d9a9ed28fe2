//! Load bench of every public read route — the JSON routes (releases, a release and its
//! perks, a fan's dashboard, an artist, their analytics, the audit lists and the league) and
//! the pages (home, release, artist, fan, audit) — at a steady 500 requests/s over a read
//! model of ≥ 1 000 000 entitlements, each beside the bare SQL of the same queries (the
//! API's own query functions, no HTTP, no JSON, no HTML) at the same rate. Issue 17's goal:
//! each route's p99 at most its bare SQL's p99 + 1 ms; the last column says whether it holds.
//!
//! Open loop: a request is due every 2 ms whatever the previous ones do, and its latency
//! runs from when it was due (no coordinated omission). The read model is generated with
//! SQL in the shape the indexer writes (200 artists with reputations, 1 000 releases × 4
//! perks, 250 000 editions, 1 000 000 entitlements — a tenth of the releases with a perk
//! past its deadline, some disputed, every refund with its event — 50 000 fans); indexing
//! that many buys from a chain would take hours; the indexer's own speed is its backfill
//! bench.
//!
//! `cargo bench -p dreamster-api --bench load` (needs Postgres, like the tests).
//! `DREAMSTER_BENCH_SECONDS` (default 15) sets each run's length, `DREAMSTER_BENCH_RPS`
//! (default 500) the rate, `DREAMSTER_BENCH_ROUTES` (a word of the route's name, e.g.
//! `audit`) runs only the routes that name it.

use std::time::{Duration, Instant};

use std::future::Future;
use std::sync::Arc;

use dreamster_api::address::Address;
use dreamster_api::audit::{self, AuditFilter, AuditList};
use dreamster_api::error::ApiError;
use dreamster_api::fans::BenefitFilter;
use dreamster_api::read::Paging;
use dreamster_api::releases::ReleaseFilter;
use dreamster_api::{artists, disputes, fans, releases, router, AppState};
use dreamster_test_support::load::{open_loop, Figures};
use dreamster_test_support::{env_or, TestDatabase};
use futures_util::future::BoxFuture;
use sqlx::PgPool;
use subxt::utils::AccountId32;

const ARTISTS: i64 = 200;
const RELEASES: i64 = 1_000;
const EDITIONS_PER_RELEASE: i64 = 250;
const FANS: i64 = 50_000;

fn parse(text: &str) -> Address {
    text.parse().expect("the bench's own accounts are valid")
}

fn account(n: i64) -> String {
    let mut bytes = [0u8; 32];
    bytes[24..].copy_from_slice(&n.to_be_bytes());
    AccountId32(bytes).to_string()
}

async fn generate(db: &sqlx::PgPool) -> anyhow::Result<i64> {
    let acct = |expr: &str| format!("decode(lpad(to_hex({expr}), 64, '0'), 'hex')");
    let statements = [
        format!("INSERT INTO artists SELECT {}, 'Artist ' || a, '', 0, a, 1 FROM generate_series(1, {ARTISTS}) a", acct("a")),
        format!(
            "INSERT INTO releases (address, registry, artist, title, metadata_uri, price, max_editions, sale_start, sale_end,
                dispute_window, created_at, editions_sold, escrow_held, block_number, extrinsic_index)
             SELECT {}, '\\x00', {}, 'Release ' || r, '', 10000000000000, NULL, 0, NULL, 604800000, 0, {EDITIONS_PER_RELEASE},
                0, 1000 + r, 1 FROM generate_series(1, {RELEASES}) r",
            acct("1000000 + r"),
            acct(&format!("1 + r % {ARTISTS}"))
        ),
        "INSERT INTO perks SELECT r.address, p, (ARRAY['event_access','exclusive_content','physical_merchandise','community'])[p + 1],
            (ARRAY['meet_and_greet','unreleased_music','limited_vinyl','private_chat'])[p + 1], 'Perk ' || p, 'A perk', '',
            2000000000000, 1000, (ARRAY['event','automatic','physical','automatic'])[p + 1], NULL, NULL,
            1900000000000 + p * 86400000, 0, 0, 0, r.block_number, 1 FROM releases r, generate_series(0, 3) p"
            .to_string(),
        format!(
            "INSERT INTO editions SELECT r.address, e, {f}, {f}, 10000000000000, 6000000000000, 1790000000000 + e * 60000,
                r.block_number + 1 + e, 1
             FROM releases r, generate_series(0, {}) e",
            EDITIONS_PER_RELEASE - 1,
            f = acct(&format!("5000000 + (r.block_number * {EDITIONS_PER_RELEASE} + e) % {FANS}"))
        ),
        "INSERT INTO entitlements (release, edition, perk, escrow, state, deadline, unlocked, created_block, block_number, extrinsic_index)
            SELECT ed.release, ed.edition, p.perk, 1000000000000,
                (ARRAY['pending','delivered','confirmed','refunded'])[1 + (ed.edition + p.perk) % 4], p.deadline,
                p.delivery = 'automatic' AND (ed.edition + p.perk) % 4 IN (1, 2), ed.block_number, ed.block_number, 1
            FROM editions ed JOIN perks p ON p.release = ed.release"
            .to_string(),
        // A tenth of the releases have their first perk past its deadline: their pending
        // entitlements are overdue.
        "UPDATE perks SET deadline = 1700000000000 WHERE perk = 0 AND block_number % 10 = 0".to_string(),
        "UPDATE entitlements e SET deadline = p.deadline FROM perks p
            WHERE p.release = e.release AND p.perk = e.perk AND p.perk = 0 AND p.block_number % 10 = 0"
            .to_string(),
        // Some deliveries disputed, within the ruling time.
        format!(
            "UPDATE entitlements SET state = 'disputed', disputed_at = {now}
             WHERE state = 'delivered' AND edition % 25 = 0",
            now = dreamster_client::units::now_ms()
        ),
        // Every refund with its event, as the indexer writes them.
        "INSERT INTO entitlement_changes (release, edition, perk, actor, from_state, to_state, action, amount,
                refund, at, block_number, event_index)
            SELECT e.release, e.edition, e.perk, '\\x00', 'pending', 'refunded', 'refunded', e.escrow, true,
                1790000000000, 2000000 + e.block_number, row_number() OVER ()
            FROM entitlements e WHERE e.state = 'refunded'"
            .to_string(),
        format!(
            "INSERT INTO reputation (artist, delivered_on_time, delivered_late, refunded_overdue, disputes_won,
                disputes_lost, rating_sum, rating_count, block_number)
             SELECT {}, 20 + a % 50, a % 7, a % 5, a % 2, a % 3, (a % 20) * 4, a % 20, 1
             FROM generate_series(1, {ARTISTS}) a",
            acct("a")
        ),
        "ANALYZE".to_string(),
    ];
    for s in statements {
        sqlx::query(&s).execute(db).await?;
    }
    Ok(sqlx::query_scalar("SELECT count(*) FROM entitlements")
        .fetch_one(db)
        .await?)
}

/// The bare SQL of a route: the API's own query functions for request `i`.
type Sql = Arc<dyn Fn(PgPool, u64) -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

fn sql<F, Fut, T>(f: F) -> Sql
where
    F: Fn(PgPool, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<T, ApiError>> + Send + 'static,
{
    Arc::new(move |pool, i| {
        let fut = f(pool, i);
        Box::pin(async move { fut.await.map(drop).map_err(|e| format!("{e:?}")) })
    })
}

/// One route: its name, the path of request `i`, and its bare SQL.
struct Route {
    name: &'static str,
    path: fn(u64) -> String,
    sql: Sql,
}

fn release(i: u64) -> String {
    account(1_000_000 + 1 + (i as i64 * 7919) % RELEASES)
}

fn fan(i: u64) -> String {
    account(5_000_000 + (i as i64 * 7919) % FANS)
}

fn artist(i: u64) -> String {
    account(1 + (i as i64 * 7919) % ARTISTS)
}

fn everything() -> AuditFilter {
    AuditFilter {
        artist: None,
        limit: Some(100),
        offset: Some(0),
    }
}

fn routes() -> Vec<Route> {
    vec![
        Route {
            name: "GET /api/releases",
            path: |_| "/api/releases".into(),
            sql: sql(|pool, _| async move {
                releases::releases(&pool, &ReleaseFilter::default()).await
            }),
        },
        Route {
            name: "GET /api/releases/{a}",
            path: |i| format!("/api/releases/{}", release(i)),
            sql: sql(|pool, i| async move { releases::release(&pool, parse(&release(i))).await }),
        },
        Route {
            name: "GET /api/releases/{a}/perks",
            path: |i| format!("/api/releases/{}/perks", release(i)),
            sql: sql(|pool, i| async move { releases::perks(&pool, parse(&release(i))).await }),
        },
        Route {
            name: "GET /api/fans/{a}/perks",
            path: |i| format!("/api/fans/{}/perks", fan(i)),
            sql: sql(|pool, i| async move {
                fans::fan(&pool, parse(&fan(i)), &BenefitFilter::default()).await
            }),
        },
        Route {
            name: "GET /api/artists/{a}",
            path: |i| format!("/api/artists/{}", artist(i)),
            sql: sql(|pool, i| async move { artists::artist(&pool, parse(&artist(i))).await }),
        },
        Route {
            name: "GET /api/artists/{a}/analytics",
            path: |i| format!("/api/artists/{}/analytics", artist(i)),
            sql: sql(|pool, i| async move { artists::analytics(&pool, parse(&artist(i))).await }),
        },
        Route {
            name: "GET /api/audit/overdue",
            path: |_| "/api/audit/overdue".into(),
            sql: sql(|pool, _| async move {
                audit::audit_items(&pool, AuditList::Overdue, &AuditFilter::default()).await
            }),
        },
        Route {
            name: "GET /api/audit/disputes",
            path: |_| "/api/audit/disputes".into(),
            sql: sql(|pool, _| async move {
                audit::audit_items(&pool, AuditList::Disputes, &AuditFilter::default()).await
            }),
        },
        Route {
            name: "GET /api/audit/refunds",
            path: |_| "/api/audit/refunds".into(),
            sql: sql(|pool, _| async move {
                audit::audit_items(&pool, AuditList::Refunds, &AuditFilter::default()).await
            }),
        },
        Route {
            name: "GET /api/audit/league",
            path: |_| "/api/audit/league".into(),
            sql: sql(|pool, _| async move { audit::league(&pool, &Paging::default()).await }),
        },
        Route {
            name: "page /",
            path: |_| "/".into(),
            sql: sql(|pool, _| async move {
                let first = ReleaseFilter {
                    limit: Some(100),
                    ..ReleaseFilter::default()
                };
                releases::releases(&pool, &first).await
            }),
        },
        Route {
            name: "page /releases/{a}",
            path: |i| format!("/releases/{}", release(i)),
            sql: sql(|pool, i| async move {
                releases::perks(&pool, parse(&release(i))).await?;
                releases::deliveries_due(&pool, parse(&release(i))).await
            }),
        },
        Route {
            name: "page /artists/{a}",
            path: |i| format!("/artists/{}", artist(i)),
            sql: sql(|pool, i| async move {
                artists::artist(&pool, parse(&artist(i))).await?;
                artists::analytics(&pool, parse(&artist(i))).await
            }),
        },
        Route {
            name: "page /fans/{a}",
            path: |i| format!("/fans/{}", fan(i)),
            sql: sql(|pool, i| async move {
                let first = BenefitFilter {
                    state: None,
                    limit: Some(100),
                    offset: Some(0),
                };
                fans::fan(&pool, parse(&fan(i)), &first).await
            }),
        },
        Route {
            name: "page /audit",
            path: |_| "/audit".into(),
            sql: sql(|pool, _| async move {
                audit::audit_items(&pool, AuditList::Overdue, &everything()).await?;
                audit::audit_items(&pool, AuditList::Disputes, &everything()).await?;
                audit::audit_items(&pool, AuditList::Refunds, &everything()).await?;
                audit::league(&pool, &Paging::first(100)).await?;
                disputes::dispute_queue(&pool).await
            }),
        },
    ]
}

fn print(name: &str, f: &Figures) {
    println!("{name:<34} {f}");
}

fn ok(response: reqwest::Result<reqwest::Response>) -> Result<(), String> {
    match response {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => Err(format!("status {}", r.status())),
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = env_or("DREAMSTER_BENCH_SECONDS", 15);
    let rps: u64 = env_or("DREAMSTER_BENCH_RPS", 500);
    let db = TestDatabase::create().await?;
    dreamster_indexer::store::migrator().run(db.pool()).await?;
    dreamster_api::migrator().run(db.pool()).await?;
    let started = Instant::now();
    let entitlements = generate(db.pool()).await?;
    println!(
        "read model: {entitlements} entitlements, {} editions, {RELEASES} releases, {FANS} fans (generated in {:.1} s)",
        RELEASES * EDITIONS_PER_RELEASE,
        started.elapsed().as_secs_f64()
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = router(AppState::new(db.pool().clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;

    let only = std::env::var("DREAMSTER_BENCH_ROUTES").ok();
    println!("{rps} req/s for {seconds} s each, open loop; goal: route p99 <= bare SQL p99 + 1 ms");
    let mut met = 0;
    let mut run = 0;
    for route in routes() {
        if only.as_deref().is_some_and(|w| !route.name.contains(w)) {
            continue;
        }
        let (h, b, path) = (http.clone(), base.clone(), route.path);
        let served = open_loop(rps, Duration::from_secs(seconds), move |i| {
            let (h, url) = (h.clone(), format!("{b}{}", path(i)));
            async move { ok(h.get(url).send().await) }
        })
        .await;
        let (pool, query) = (db.pool().clone(), route.sql.clone());
        let bare = open_loop(rps, Duration::from_secs(seconds), move |i| {
            query(pool.clone(), i)
        })
        .await;
        let over = served.p99.as_secs_f64() * 1e3 - bare.p99.as_secs_f64() * 1e3;
        let holds = over <= 1.0 && served.errors == 0 && bare.errors == 0;
        run += 1;
        met += usize::from(holds);
        print(route.name, &served);
        print("  same queries, bare SQL", &bare);
        println!(
            "  p99 over bare SQL: {over:+.2} ms: {}",
            if holds { "goal met" } else { "goal NOT met" }
        );
    }
    println!("goal met on {met} of {run} routes");
    Ok(())
}
