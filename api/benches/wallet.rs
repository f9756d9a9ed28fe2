//! Click → result, for buy, unlock and refund, clicked in headless Chromium on the pages of
//! the real `dreamster-api` binary over the real dev node, indexer and PostgreSQL, signed by
//! the dev wallet. Each run's time is split with the page's own marks
//! (`window.dreamsterTimings`, see `web/src/actions.js`):
//!
//! - **chain**: signed extrinsic handed to the node → its block finalized (inclusion and
//!   finality; the dev node seals on demand and finalizes 1 s later);
//! - **ours**: everything else the user waits for — the dry run and payload, the
//!   submission, the wait for the read model, the page's redraw (the wallet's prompt is
//!   the user's own time and is left out);
//! - **head latency**: the block finalized (as the API hears it) → the indexer's cursor
//!   past it, i.e. the row visible through the API (polled every 50 ms).
//!
//! `cargo bench -p dreamster-api --bench wallet` (needs what the tests need: scripts/setup.sh).
//! `DREAMSTER_BENCH_RUNS` (default 20) sets the runs per action.

use std::time::Duration;

// The tests' Chromium and live-product helpers; the bench uses a part of them.
#[allow(dead_code)]
#[path = "../tests/common/chromium.rs"]
mod chromium;
#[allow(dead_code)]
#[path = "../tests/common/live.rs"]
mod live;

use dreamster_calls::{registry, release};
use dreamster_client::units::UNIT;
use dreamster_client::Node;
use dreamster_e2e::scenario::{perk, registry_call, release_call};
use dreamster_test_support::{env_or, DevNode, TestDatabase};
use dreamster_types::perk::{DeliveryMethod, PerkKind};
use fantoccini::{Client, Locator};
use subxt::utils::AccountId32;
use subxt_signer::sr25519::dev;

fn now_ms() -> u64 {
    dreamster_e2e::scenario::now_ms()
}

/// One click: the page's marks for it.
#[derive(Debug, serde::Deserialize)]
struct Marks {
    click: f64,
    prepared: f64,
    wallet: f64,
    signed: Option<f64>,
    finalized: f64,
    indexed: f64,
    shown: f64,
}

impl Marks {
    fn chain(&self) -> f64 {
        self.finalized - self.signed.unwrap_or(self.wallet)
    }
    fn wallet_prompt(&self) -> f64 {
        self.wallet - self.prepared
    }
    fn ours(&self) -> f64 {
        (self.shown - self.click) - self.chain() - self.wallet_prompt()
    }
    fn head(&self) -> f64 {
        self.indexed - self.finalized
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn line(name: &str, mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    format!(
        "{name:<26} p50 {:>7.0} ms   p95 {:>7.0} ms   p99 {:>7.0} ms   (n = {})",
        percentile(&v, 0.5),
        percentile(&v, 0.95),
        percentile(&v, 0.99),
        v.len()
    )
}

async fn click_and_sign(b: &Client, form: &str) -> Marks {
    b.execute(
        "const s = document.getElementById('tx-status'); s.textContent = ''; delete s.dataset.kind; return true;",
        vec![],
    )
    .await
    .expect("clear");
    chromium::wait_for(b, &format!("{form} button[type=submit]"), 20)
        .await
        .click()
        .await
        .expect("click");
    chromium::wait_for(b, "#dev-wallet-sign", 30)
        .await
        .click()
        .await
        .expect("sign");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let marks = b
            .execute(
                "const t = window.dreamsterTimings[window.dreamsterTimings.length - 1]; return t && t.shown ? t : null;",
                vec![],
            )
            .await
            .expect("marks");
        if !marks.is_null() {
            return serde_json::from_value(marks).expect("marks decode");
        }
        let status = chromium::text_of(b, "#tx-status").await;
        assert!(
            tokio::time::Instant::now() < deadline && !status.starts_with("Failed"),
            "{form}: no result within 60 s: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> anyhow::Result<()> {
    let runs: u32 = env_or("DREAMSTER_BENCH_RUNS", 20);
    let chain = DevNode::start().await?;
    let node = Node::connect(&chain.rpc_url()).await?;
    let (alice, bob, eve) = (dev::alice(), dev::bob(), dev::eve());
    let reg = dreamster_e2e::deploy(&node, &alice).await?;
    registry_call::<()>(&node, &bob, &reg, registry::register_artist("Bench", "")).await?;
    // Release A: an automatic perk (buy, then unlock). Release B: an event perk due soon,
    // bought by Eve in one batch, refunded once overdue.
    let mut a_terms = dreamster_e2e::scenario::open_sale("Bench A");
    a_terms.price = 2 * UNIT;
    let rel_a: dreamster_types::AccountId = registry_call(
        &node,
        &bob,
        &reg,
        dreamster_e2e::scenario::create_release_input(&node, &reg, a_terms).await?,
    )
    .await?;
    let rel_a = dreamster_client::subxt_id(&rel_a);
    let secret_hash = dreamster_types::content_hash(b"https://dl.invalid/bench-4c1e");
    release_call::<u32>(
        &node,
        &bob,
        &rel_a,
        0,
        release::add_perk(perk(
            PerkKind::UnreleasedMusic,
            "Demo",
            2_000,
            DeliveryMethod::Automatic {
                content_hash: secret_hash,
            },
            now_ms() + 30 * 86_400_000,
        )),
    )
    .await?;
    let mut b_terms = dreamster_e2e::scenario::open_sale("Bench B");
    b_terms.price = UNIT;
    let rel_b: dreamster_types::AccountId = registry_call(
        &node,
        &bob,
        &reg,
        dreamster_e2e::scenario::create_release_input(&node, &reg, b_terms).await?,
    )
    .await?;
    let rel_b = dreamster_client::subxt_id(&rel_b);
    let due = now_ms() + 20_000;
    release_call::<u32>(
        &node,
        &bob,
        &rel_b,
        0,
        release::add_perk(perk(
            PerkKind::MeetAndGreet,
            "Hello",
            3_000,
            DeliveryMethod::Event,
            due,
        )),
    )
    .await?;
    let dry = node
        .dry_run(
            &eve.public_key().to_account_id(),
            &rel_b,
            UNIT,
            &release::buy(vec![]),
        )
        .await?;
    let buys = (0..runs)
        .map(|_| Node::batched_call(&rel_b, UNIT, release::buy(vec![]), &dry))
        .collect();
    node.submit_batch(&eve, buys).await?;

    let db = TestDatabase::create().await?;
    let indexer = live::Indexer::follow(&chain.rpc_url(), db.url(), &reg).await;
    let api = live::spawn_api(db.url(), &chain.rpc_url()).await;
    let base = api.base.clone();

    let (_driver, b) = chromium::launch(1280, 900).await;
    let fan_page = format!("{base}/fans/{}", AccountId32::from(eve.public_key()));
    let mut all = Vec::new();

    b.goto(&format!("{base}/releases/{rel_a}")).await?;
    live::pick(&b, "Eve").await;
    // View Perks once: the page keeps it open across its redraws.
    b.find(Locator::Css("#view-perks")).await?.click().await?;
    for _ in 0..runs {
        all.push(("buy", click_and_sign(&b, "form[data-kind=buy]").await));
    }
    b.goto(&fan_page).await?;
    for e in 0..runs {
        let form =
            format!(".benefit[data-release='{rel_a}'][data-edition='{e}'] form[data-kind=unlock]");
        all.push(("unlock", click_and_sign(&b, &form).await));
    }
    // The overdue refunds: past the deadline, and a block sealed so the chain's clock says so.
    while now_ms() <= due + 1_000 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let remark = subxt::dynamic::tx(
        "System",
        "remark",
        vec![subxt::dynamic::Value::from_bytes(b"tick")],
    );
    node.submit(&alice, &remark).await?;
    b.refresh().await?;
    for e in 0..runs {
        let form = format!(
            ".benefit[data-release='{rel_b}'][data-edition='{e}'] form[data-kind=claim_refund]"
        );
        all.push(("refund", click_and_sign(&b, &form).await));
    }
    for e in 0..runs {
        let ent: Option<dreamster_types::entitlement::Entitlement> =
            node.query(&rel_b, &release::entitlement(e, 0)).await?;
        anyhow::ensure!(
            ent.map(|x| x.state) == Some(dreamster_types::entitlement::EntitlementState::Refunded),
            "edition {e} of B was not refunded on chain"
        );
    }

    println!("click → result on the dev node, {runs} runs per action (chain = inclusion + finality; ours = the rest, wallet prompt excluded)");
    for action in ["buy", "unlock", "refund"] {
        let of = |f: fn(&Marks) -> f64| {
            all.iter()
                .filter(|(a, _)| *a == action)
                .map(|(_, m)| f(m))
                .collect::<Vec<_>>()
        };
        println!(
            "{}",
            line(
                &format!("{action}: total"),
                of(|m| m.shown - m.click - m.wallet_prompt())
            )
        );
        println!("{}", line(&format!("{action}: chain"), of(Marks::chain)));
        println!("{}", line(&format!("{action}: ours"), of(Marks::ours)));
    }
    println!(
        "{}",
        line(
            "head latency (final → API)",
            all.iter().map(|(_, m)| m.head()).collect()
        )
    );
    let ours: Vec<f64> = all.iter().map(|(_, m)| m.ours()).collect();
    let mut sorted = ours.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "goal: ours ≤ 300 ms at p50 — {}",
        if percentile(&sorted, 0.5) <= 300.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    b.close().await?;
    indexer.stop().await;
    Ok(())
}
