//! The indexer under every fault in one run. Over one chain (the story, then a block per
//! sale of a second release), the indexer binary is
//! SIGKILLed at random points of its backfill (≥ 20 times), its PostgreSQL server is
//! crashed in the middle of a write transaction and restarted (twice), and the node is
//! restarted under it while it follows the head, after which new sales happen and it is
//! killed again while catching up. Its tables must then equal, row for row, those of one
//! uninterrupted run over the same chain.
//!
//! `DREAMSTER_FAULT_KILLS` sets the number of SIGKILLs (default 24; `scripts/soak.sh`
//! asks for more).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dreamster_calls::release;
use dreamster_client::Node;
use dreamster_e2e::scenario::{self, now_ms, open_sale, perk, registry_call, release_call, PRICE};
use dreamster_e2e::subxt_id;
use dreamster_indexer::source::ChainSource;
use dreamster_indexer::store::TABLES;
use dreamster_test_support::{DevNode, PostgresServer, TestDatabase};
use dreamster_types::perk::{DeliveryMethod, PerkKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sqlx::{PgPool, Row};
use subxt::utils::AccountId32;
use subxt_signer::sr25519::dev;

/// How long any one step may take to make progress before the test fails.
const PATIENCE: Duration = Duration::from_secs(90);

fn kills_wanted() -> usize {
    dreamster_test_support::env_or("DREAMSTER_FAULT_KILLS", 24)
}

/// Every table, every row, as text, in a stable order.
async fn dump(pool: &PgPool) -> anyhow::Result<Vec<(String, String)>> {
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

/// The last block the indexer committed, or -1.
async fn cursor(pool: &PgPool) -> anyhow::Result<i64> {
    let row = sqlx::query("SELECT block_number FROM indexer_cursor")
        .fetch_optional(pool)
        .await?;
    Ok(row.map_or(-1, |r| r.get::<i64, _>(0)))
}

/// Whether another session of this database waits for a lock inside an explicit
/// transaction (an indexer batch: BEGIN … COMMIT). A lone statement's own transaction
/// starts with it, so `xact_start < query_start` means BEGIN came first.
async fn blocked_mid_batch(pool: &PgPool) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND wait_event_type = 'Lock' AND xact_start < query_start)",
    )
    .fetch_one(pool)
    .await?)
}

struct Run<'a> {
    rpc: String,
    registry: String,
    database: String,
    log: &'a Path,
}

impl Run<'_> {
    fn command(&self, database: &str, batch_blocks: u64) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dreamster-indexer"));
        command
            .args(["--rpc-url", &self.rpc, "--database-url", database])
            .args(["--registry", &self.registry])
            .args(["--batch-blocks", &batch_blocks.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        // A failing test must not leave an indexer retrying against a vanished database.
        dreamster_test_support::die_with_parent(&mut command);
        command
    }

    /// The binary following the chain, its warnings appended to the log.
    fn spawn(&self, batch_blocks: u64) -> anyhow::Result<Child> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log)?;
        Ok(self
            .command(&self.database, batch_blocks)
            .stderr(log)
            .spawn()?)
    }
}

/// Waits until the cursor reaches `target`, failing if the indexer exits or stalls.
async fn await_cursor(pool: &PgPool, child: &mut Child, target: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        // The database may be coming back from a crash: an error here is not progress.
        if cursor(pool).await.unwrap_or(-1) >= target {
            return Ok(());
        }
        anyhow::ensure!(
            child.try_wait()?.is_none(),
            "the indexer exited before block {target}"
        );
        anyhow::ensure!(Instant::now() < deadline, "no progress to block {target}");
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}

/// Whether another session of this database is inside a transaction (an indexer batch
/// between BEGIN and COMMIT; the writer-lock session is idle outside one) as a kill is
/// about to land.
async fn in_batch(pool: &PgPool) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid()
            AND xact_start IS NOT NULL)",
    )
    .fetch_one(pool)
    .await?)
}

/// The fault run's random choices: from `DREAMSTER_FAULT_SEED` to replay a failure, else
/// a fresh seed, printed either way.
fn seeded() -> StdRng {
    let seed = std::env::var("DREAMSTER_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    println!("faults: seed {seed} (replay with DREAMSTER_FAULT_SEED={seed})");
    StdRng::seed_from_u64(seed)
}

/// Kills fresh indexer processes at random points until `kills` more have landed while it
/// was still behind `head`; returns how many landed, and how many of those inside a batch.
async fn kill_repeatedly(
    run: &Run<'_>,
    pool: &PgPool,
    head: i64,
    kills: usize,
    rng: &mut StdRng,
) -> anyhow::Result<(usize, usize)> {
    let mut mid_batch = 0;
    for landed in 0..kills {
        let from = cursor(pool).await?;
        let target = from + rng.gen_range(1..20);
        anyhow::ensure!(
            target < head,
            "the chain is too short: {landed} of {kills} kills landed before block {head}"
        );
        let mut child = run.spawn(rng.gen_range(1..=4))?;
        await_cursor(pool, &mut child, target).await?;
        mid_batch += usize::from(in_batch(pool).await?);
        child.kill()?;
        child.wait()?;
    }
    Ok((kills, mid_batch))
}

/// Crashes the PostgreSQL server while the indexer is inside a write transaction, restarts
/// it, and checks that the same indexer process carries on past where it was.
///
/// To be sure the crash lands mid-batch, the test holds a lock that stops the batch's
/// cursor update (the batch has begun and written its events) and crashes the server once
/// the indexer waits on it.
async fn crash_database_mid_batch(
    server: &mut PostgresServer,
    pool: &PgPool,
    child: &mut Child,
    log: &Path,
) -> anyhow::Result<()> {
    let before = cursor(pool).await?;
    let interrupted = |log: &Path| -> anyhow::Result<usize> {
        Ok(std::fs::read_to_string(log)?
            .matches("indexing interrupted")
            .count())
    };
    let interrupted_before = interrupted(log)?;
    let mut gate = pool.begin().await?;
    // SHARE conflicts with the ROW EXCLUSIVE an upsert needs, not with reads.
    sqlx::query("LOCK TABLE indexer_cursor IN SHARE MODE")
        .execute(&mut *gate)
        .await?;
    let deadline = Instant::now() + PATIENCE;
    while !blocked_mid_batch(pool).await? {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the indexer never reached its cursor update"
        );
        anyhow::ensure!(child.try_wait()?.is_none(), "the indexer exited");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.crash_and_restart().await?;
    // The gate's connection died with the server; nothing to roll back.
    drop(gate);
    await_cursor(pool, child, before + 1).await?;
    anyhow::ensure!(
        interrupted(log)? > interrupted_before,
        "the indexer never noticed the database crash; its log:\n{}",
        std::fs::read_to_string(log)?
    );
    Ok(())
}

/// An open release of the story's artist with two perks, for the busy blocks.
async fn busy_release(node: &Node, registry: &AccountId32) -> anyhow::Result<AccountId32> {
    let artist = dev::bob();
    let id: dreamster_types::AccountId = registry_call(
        node,
        &artist,
        registry,
        dreamster_e2e::scenario::create_release_input(node, registry, open_sale("Busy Signal"))
            .await?,
    )
    .await?;
    let busy = subxt_id(&id);
    let far = now_ms() + 30 * 24 * 3600 * 1000;
    for (kind, title, delivery) in [
        (PerkKind::LimitedVinyl, "Vinyl", DeliveryMethod::Physical),
        (PerkKind::MeetAndGreet, "Meet", DeliveryMethod::Event),
    ] {
        release_call::<u32>(
            node,
            &artist,
            &busy,
            0,
            release::add_perk(perk(kind, title, 2_000, delivery, far)),
        )
        .await?;
    }
    Ok(busy)
}

async fn finalized(rpc: &str, node: &Node) -> anyhow::Result<i64> {
    let last = node.api().blocks().at_latest().await?.number() as u64;
    let source = ChainSource::connect(rpc).await?;
    let deadline = Instant::now() + PATIENCE;
    while source.finalized_head().await? < last {
        anyhow::ensure!(Instant::now() < deadline, "block {last} never finalized");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(last as i64)
}

#[tokio::test]
async fn sigkills_database_crashes_and_a_node_restart_lose_and_duplicate_nothing(
) -> anyhow::Result<()> {
    let kills = kills_wanted();
    anyhow::ensure!(kills >= 4, "DREAMSTER_FAULT_KILLS must be at least 4");
    let (before_restart, after_restart) = (kills - 3, 3);
    let mut dev_node = DevNode::start().await?;
    let rpc = dev_node.rpc_url();
    let node = Node::connect(&rpc).await?;
    let story = scenario::play(&node).await?;
    // Then a block per sale of a second release, so a backfill takes long enough to be
    // killed many times, and most kills land in a batch that writes events.
    let busy = busy_release(&node, &story.registry).await?;
    scenario::buying_blocks(&node, &dev::dave(), &busy, 40 + 14 * before_restart as u64).await?;
    let head = finalized(&rpc, &node).await?;

    let mut server = PostgresServer::start().await?;
    let pool = server.create_database("faulted").await?;
    // The schema exists before the first run, so the cursor can be read at any time.
    dreamster_indexer::store::migrator().run(&pool).await?;
    let log_dir = tempfile::tempdir()?;
    let log = log_dir.path().join("indexer.log");
    let run = Run {
        rpc: rpc.clone(),
        registry: story.registry.to_string(),
        database: server.url("faulted"),
        log: &log,
    };
    let started = Instant::now();
    let mut rng = seeded();

    // 1. SIGKILLs at random points of the backfill.
    let (mut landed, mut mid_batch) =
        kill_repeatedly(&run, &pool, head, before_restart, &mut rng).await?;

    // 2. The database server crashes under a write, twice; the same process carries on.
    let mut survivor = run.spawn(1)?;
    for _ in 0..2 {
        crash_database_mid_batch(&mut server, &pool, &mut survivor, &log).await?;
    }
    await_cursor(&pool, &mut survivor, head).await?;

    // 3. The node restarts under the following indexer; then new sales and a delivery.
    dev_node.restart_gracefully().await?;
    let node = Node::connect(&rpc).await?;
    let (artist, fan) = (dev::bob(), dev::dave());
    let edition: u32 =
        release_call(&node, &fan, &story.release, PRICE, release::buy(vec![])).await?;
    release_call::<()>(&node, &fan, &story.release, 0, release::unlock(edition, 0)).await?;
    release_call::<()>(
        &node,
        &artist,
        &story.release,
        0,
        release::mark_delivered(edition, 1, [0x5A; 32]),
    )
    .await?;
    let after_sales = finalized(&rpc, &node).await?;
    await_cursor(&pool, &mut survivor, after_sales).await?;
    survivor.kill()?;
    survivor.wait()?;

    // 4. More chain, and more kills while a fresh process catches up with it.
    scenario::buying_blocks(&node, &dev::ferdie(), &busy, 30 * after_restart as u64).await?;
    release_call::<u32>(
        &node,
        &dev::eve(),
        &story.release,
        PRICE,
        release::buy(vec![]),
    )
    .await?;
    let last = finalized(&rpc, &node).await?;
    let (more, more_mid_batch) =
        kill_repeatedly(&run, &pool, last, after_restart, &mut rng).await?;
    landed += more;
    mid_batch += more_mid_batch;
    let mut finisher = run.spawn(200)?;
    await_cursor(&pool, &mut finisher, last).await?;
    finisher.kill()?;
    finisher.wait()?;
    let faulted_for = started.elapsed();

    // The reference: one uninterrupted run over the same chain, on the shared server.
    let reference = TestDatabase::create().await?;
    let output = run_once(&run, reference.url())?;
    anyhow::ensure!(
        output.status.success(),
        "uninterrupted run failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = dump(reference.pool()).await?;
    let got = dump(&pool).await?;
    let mut rows = 0;
    for ((table, want), (_, have)) in expected.iter().zip(&got) {
        assert_eq!(have, want, "table {table} differs after the faults");
        rows += want.lines().count();
    }
    for (table, want) in &expected {
        if ["entitlements", "editions", "perks", "raw_events"].contains(&table.as_str()) {
            assert!(!want.is_empty(), "nothing was indexed into {table}");
        }
    }
    println!(
        "faults: {landed} SIGKILLs survived ({mid_batch} inside a batch), 2 PostgreSQL crashes mid-transaction, 1 node \
         restart, over blocks 0..={last} in {:.0} s; {} tables, {rows} rows identical to \
         an uninterrupted run",
        faulted_for.as_secs_f64(),
        TABLES.len()
    );
    Ok(())
}

fn run_once(run: &Run<'_>, database: &str) -> std::io::Result<std::process::Output> {
    run.command(database, 200).arg("--once").output()
}
