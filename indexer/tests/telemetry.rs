//! The indexer binary as an operator sees it (issue 16, item 7): `/metrics` in the
//! Prometheus text format agrees with the database it wrote, the scheduled audit finds the
//! read model agreeing with the chain — and finds a row changed behind the indexer's back
//! (issue 17, finding 10) —, `/health` turns unhealthy when the node goes away and attempts
//! keep failing, and SIGTERM stops it cleanly.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use dreamster_client::Node;
use dreamster_e2e::scenario::{artist_release, buying_blocks};
use dreamster_indexer::store::hex;
use dreamster_test_support::{free_port, DevNode, TestDatabase};
use subxt_signer::sr25519::dev;
use tokio::time::{sleep, Instant};

/// The value of the sample `name` (with its labels, as printed) in a scrape.
fn sample(scrape: &str, name: &str) -> Option<f64> {
    scrape
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn get(url: &str) -> anyhow::Result<(u16, String)> {
    let response = reqwest::Client::new()
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await?;
    Ok((response.status().as_u16(), response.text().await?))
}

#[tokio::test]
async fn metrics_match_the_database_and_health_turns_when_the_node_goes_away() -> anyhow::Result<()>
{
    let mut dev_node = DevNode::start().await?;
    let node = Node::connect(&dev_node.rpc_url()).await?;
    let (registry_addr, release) = artist_release(&node, "Metrics").await?;
    let last = buying_blocks(&node, &dev::charlie(), &release, 20).await?;

    let db = TestDatabase::create().await?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut indexer = tokio::process::Command::new(env!("CARGO_BIN_EXE_dreamster-indexer"))
        .args(["--rpc-url", &dev_node.rpc_url()])
        .args(["--database-url", db.url()])
        .args(["--registry", &format!("0x{}", hex(&registry_addr.0))])
        .args(["--metrics-listen", &format!("127.0.0.1:{port}")])
        .args(["--audit-every", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;

    // Caught up, as the metrics say it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let scrape = loop {
        if let Ok((200, scrape)) = get(&format!("{base}/metrics")).await {
            if sample(&scrape, "dreamster_indexer_cursor_block").is_some_and(|c| c >= last as f64) {
                break scrape;
            }
        }
        if Instant::now() > deadline {
            bail!("the metrics never showed block {last} indexed");
        }
        sleep(Duration::from_millis(100)).await;
    };
    let cursor: i64 = sqlx::query_scalar("SELECT block_number FROM indexer_cursor")
        .fetch_one(db.pool())
        .await?;
    let sold: i64 = sqlx::query_scalar("SELECT count(*) FROM editions")
        .fetch_one(db.pool())
        .await?;
    assert_eq!(sold, 20);
    assert_eq!(
        sample(&scrape, "dreamster_indexer_cursor_block"),
        Some(cursor as f64)
    );
    assert_eq!(
        sample(
            &scrape,
            "dreamster_indexer_events_total{kind=\"EditionSold\"}"
        ),
        Some(sold as f64),
        "{scrape}"
    );
    assert!(
        sample(&scrape, "dreamster_indexer_finalized_block").is_some_and(|h| h >= cursor as f64)
    );
    assert!(sample(&scrape, "dreamster_indexer_lag_blocks").is_some());
    assert!(sample(&scrape, "dreamster_indexer_batches_total").is_some_and(|b| b >= 1.0));
    assert!(
        sample(&scrape, "dreamster_indexer_batch_write_seconds_count").is_some_and(|b| b >= 1.0)
    );
    assert_eq!(
        sample(&scrape, "dreamster_indexer_rejected_events_total"),
        Some(0.0)
    );
    let (status, body) = get(&format!("{base}/health")).await?;
    assert_eq!(status, 200, "{body}");
    assert!(body.starts_with("healthy"), "{body}");

    // The audit on its schedule: once a pass has run at the block caught up to, the read
    // model agrees with the chain, field by field.
    let audited = |want: &'static str| {
        let base = base.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            let passes = format!("dreamster_indexer_audit_passes_total{{outcome=\"{want}\"}}");
            loop {
                if let Ok((200, scrape)) = get(&format!("{base}/metrics")).await {
                    // The gauges are the last pass's: one that ran this far, with this outcome.
                    let far = sample(&scrape, "dreamster_indexer_audit_block")
                        .is_some_and(|b| b >= cursor as f64);
                    let outcome = sample(&scrape, &passes).is_some_and(|n| n >= 1.0);
                    let differs = sample(&scrape, "dreamster_indexer_audit_differences")
                        .is_some_and(|d| (d > 0.0) == (want == "differs"));
                    if far && outcome && differs {
                        return Ok::<_, anyhow::Error>(scrape);
                    }
                }
                if Instant::now() > deadline {
                    bail!("no audit pass at block {cursor} that {want} within a minute");
                }
                sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let scrape = audited("agrees").await?;
    assert_eq!(
        sample(&scrape, "dreamster_indexer_audit_differences"),
        Some(0.0),
        "{scrape}"
    );
    assert_eq!(
        sample(&scrape, "dreamster_indexer_audit_findings"),
        Some(0.0)
    );
    assert_eq!(
        sample(&scrape, "dreamster_indexer_audit_releases"),
        Some(1.0)
    );
    // 20 editions, each with an owner at least: far more than a handful of fields.
    assert!(
        sample(&scrape, "dreamster_indexer_audit_fields_compared").is_some_and(|n| n > 40.0),
        "{scrape}"
    );
    // A row changed behind the indexer's back (a bad migration, a hand edit): the next pass
    // finds exactly that field.
    sqlx::query("UPDATE editions SET owner = $1 WHERE edition = 3")
        .bind(dev::ferdie().public_key().0.to_vec())
        .execute(db.pool())
        .await?;
    let scrape = audited("differs").await?;
    assert_eq!(
        sample(&scrape, "dreamster_indexer_audit_differences"),
        Some(1.0),
        "{scrape}"
    );

    // The node goes away: attempts fail in a row, and health says so.
    dev_node.stop();
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        let (status, body) = get(&format!("{base}/health")).await?;
        if status == 503 {
            break body;
        }
        if Instant::now() > deadline {
            bail!("still {status} a minute after the node stopped: {body}");
        }
        sleep(Duration::from_millis(200)).await;
    };
    assert!(body.contains("attempts failed in a row"), "{body}");
    let (_, scrape) = get(&format!("{base}/metrics")).await?;
    assert!(
        sample(&scrape, "dreamster_indexer_attempts_failed_total").is_some_and(|f| f >= 3.0),
        "{scrape}"
    );

    // SIGTERM: a clean stop.
    let pid = indexer.id().context("the indexer has no pid")?;
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()?;
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(15), indexer.wait())
        .await
        .context("the indexer did not stop within 15 s of SIGTERM")??;
    assert!(status.success(), "SIGTERM ends it cleanly: {status}");
    Ok(())
}
