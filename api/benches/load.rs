//! Load bench of the two hottest routes — a release's perks and a fan's dashboard — at a
//! steady 500 requests/s over a read model of ≥ 1 000 000 entitlements, beside the bare SQL
//! of the same queries (the API's own query functions, no HTTP, no JSON) at the same rate.
//!
//! Open loop: a request is due every 2 ms whatever the previous ones do, and its latency
//! runs from when it was due (no coordinated omission). The read model is generated with
//! SQL in the shape the indexer writes (200 artists, 1 000 releases × 4 perks, 250 000
//! editions, 1 000 000 entitlements, 50 000 fans) — indexing that many buys from a chain
//! would take hours; the indexer's own speed is its backfill bench.
//!
//! `cargo bench -p dreamster-api --bench load` (needs Postgres, like the tests).
//! `DREAMSTER_BENCH_SECONDS` (default 15) sets each run's length, `DREAMSTER_BENCH_RPS`
//! (default 500) the rate.

use std::time::{Duration, Instant};

use dreamster_api::address::Address;
use dreamster_api::{fans, releases, router, AppState};
use dreamster_test_support::load::{open_loop, Figures};
use dreamster_test_support::{env_or, TestDatabase};
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
        "ANALYZE".to_string(),
    ];
    for s in statements {
        sqlx::query(&s).execute(db).await?;
    }
    Ok(sqlx::query_scalar("SELECT count(*) FROM entitlements")
        .fetch_one(db)
        .await?)
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
    let release = |i: u64| account(1_000_000 + 1 + (i as i64 * 7919) % RELEASES);
    let fan = |i: u64| account(5_000_000 + (i as i64 * 7919) % FANS);

    println!("{rps} req/s for {seconds} s each, open loop:");
    let (h, b) = (http.clone(), base.clone());
    let f = open_loop(rps, Duration::from_secs(seconds), move |i| {
        let (h, url) = (h.clone(), format!("{b}/api/releases/{}/perks", release(i)));
        async move { ok(h.get(url).send().await) }
    })
    .await;
    print("GET /api/releases/{a}/perks", &f);
    let pool = db.pool().clone();
    let f = open_loop(rps, Duration::from_secs(seconds), move |i| {
        let (pool, addr) = (pool.clone(), parse(&release(i)));
        async move {
            releases::perks(&pool, addr)
                .await
                .map(drop)
                .map_err(|e| format!("{e:?}"))
        }
    })
    .await;
    print("  same query, bare SQL", &f);
    let (h, b) = (http.clone(), base.clone());
    let f = open_loop(rps, Duration::from_secs(seconds), move |i| {
        let (h, url) = (h.clone(), format!("{b}/api/fans/{}/perks", fan(i)));
        async move { ok(h.get(url).send().await) }
    })
    .await;
    print("GET /api/fans/{a}/perks", &f);
    let pool = db.pool().clone();
    let f = open_loop(rps, Duration::from_secs(seconds), move |i| {
        let (pool, addr) = (pool.clone(), parse(&fan(i)));
        async move {
            fans::fan(&pool, addr, &fans::BenefitFilter::default())
                .await
                .map(drop)
                .map_err(|e| format!("{e:?}"))
        }
    })
    .await;
    print("  same query, bare SQL", &f);
    Ok(())
}
