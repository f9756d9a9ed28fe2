//! Soak: the real `dreamster-api` binary, over the real indexed story, under a steady
//! open-loop rate of mixed traffic — every read route, the pages, signed-in threads,
//! messages posted with unicode and SQL-looking text, sign-in challenges, a stranger
//! refused, bad input refused — with its resident memory sampled every second.
//! Every response must carry the status its request expects, and memory must not grow
//! between the end of the warm-up and the end of the run.
//!
//! `DREAMSTER_SOAK_SECS` (default 30; `scripts/soak.sh` runs 600) and `DREAMSTER_SOAK_RPS`
//! (default 200) set the length and the rate.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{addr, sign_in, story_read_model};
use dreamster_test_support::load::open_loop;
use dreamster_test_support::{env_or, free_port};
use serde_json::json;
use subxt_signer::sr25519::dev;
use tokio::sync::Mutex;

const MIB: f64 = 1024.0 * 1024.0;

/// The API process, killed when the test ends however it ends.
struct Api(Child);

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Resident set size of a process, from /proc.
fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/{pid}/status"))?;
    Ok(kib * 1024)
}

/// One kind of request and the status it must get.
#[derive(Clone)]
struct Probe {
    method: reqwest::Method,
    path: String,
    token: Option<String>,
    body: Option<serde_json::Value>,
    expect: u16,
}

fn probe(path: String, expect: u16) -> Probe {
    Probe {
        method: reqwest::Method::GET,
        path,
        token: None,
        body: None,
        expect,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_traffic_without_errors_or_memory_growth() -> anyhow::Result<()> {
    let seconds: u64 = env_or("DREAMSTER_SOAK_SECS", 30);
    let rps: u64 = env_or("DREAMSTER_SOAK_RPS", 200);
    let (node, db, story) = story_read_model().await;

    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let log = tempfile::NamedTempFile::new()?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_dreamster-api"));
    command
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", db.url(), "--rpc-url", &node.rpc_url()])
        // One address plays every client here; per-client limits are tested in auth_limits.rs.
        .args(["--sign-in-limit", "off", "--write-limit", "off"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log.reopen()?);
    dreamster_test_support::die_with_parent(&mut command);
    let mut api = Api(command.spawn()?);
    let pid = api.0.id();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(10))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(http.get(format!("{base}/health")).send().await, Ok(r) if r.status().is_success())
    {
        anyhow::ensure!(Instant::now() < deadline, "the API never answered /health");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rss_idle = rss_bytes(pid)?;

    let (artist, fan, holder) = (dev::bob(), dev::charlie(), dev::eve());
    let stranger = subxt_signer::sr25519::Keypair::from_uri(&"//Soak//Stranger".parse()?)?;
    let holder_token = sign_in(&http, &base, &holder).await;
    let stranger_token = sign_in(&http, &base, &stranger).await;
    let rel = story.release.to_string();
    let thread = format!("/api/releases/{rel}/threads/{}/messages", addr(&holder));
    let probes = Arc::new(vec![
        probe("/api/releases".into(), 200),
        probe(format!("/api/releases/{rel}"), 200),
        probe(format!("/api/releases/{rel}/perks"), 200),
        probe(format!("/api/fans/{}/perks", addr(&fan)), 200),
        probe(format!("/api/artists/{}", addr(&artist)), 200),
        probe(format!("/api/artists/{}/analytics", addr(&artist)), 200),
        probe("/api/audit/overdue".into(), 200),
        probe("/api/audit/league".into(), 200),
        probe("/".into(), 200),
        probe(format!("/releases/{rel}"), 200),
        probe("/audit".into(), 200),
        probe("/openapi.json".into(), 200),
        Probe {
            token: Some(holder_token.clone()),
            ..probe(thread.clone(), 200)
        },
        Probe {
            method: reqwest::Method::POST,
            token: Some(holder_token),
            body: Some(json!({
                "body": "Rue de l'Été 5 — 'quoted'; DROP TABLE messages; -- 🎶 \u{202e}"
            })),
            ..probe(thread.clone(), 201)
        },
        Probe {
            token: Some(stranger_token),
            ..probe(thread, 403)
        },
        Probe {
            method: reqwest::Method::POST,
            body: Some(json!({ "address": addr(&holder) })),
            ..probe("/auth/challenge".into(), 200)
        },
        probe(
            "/api/releases/'%3B%20DROP%20TABLE%20releases%3B--".into(),
            400,
        ),
        probe("/api/releases?limit=100000".into(), 400),
    ]);

    let samples = Arc::new(Mutex::new(Vec::<(f64, u64)>::new()));
    let sampler = {
        let samples = samples.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                match rss_bytes(pid) {
                    Ok(rss) => samples
                        .lock()
                        .await
                        .push((start.elapsed().as_secs_f64(), rss)),
                    Err(_) => return,
                }
            }
        })
    };

    let (h, b, p) = (http.clone(), base.clone(), probes.clone());
    let figures = open_loop(rps, Duration::from_secs(seconds), move |i| {
        let (http, base, probes) = (h.clone(), b.clone(), p.clone());
        async move {
            let probe = &probes[(i as usize) % probes.len()];
            let mut request = http.request(probe.method.clone(), format!("{base}{}", probe.path));
            if let Some(token) = &probe.token {
                request = request.bearer_auth(token);
            }
            if let Some(body) = &probe.body {
                request = request.json(body);
            }
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            // Read the whole body: a response cut short is an error too.
            let body = response.bytes().await.map_err(|e| e.to_string())?;
            if status == probe.expect {
                Ok(())
            } else {
                Err(format!(
                    "{} {} → {status} (wanted {}): {}",
                    probe.method,
                    probe.path,
                    probe.expect,
                    String::from_utf8_lossy(&body[..body.len().min(200)])
                ))
            }
        }
    })
    .await;
    sampler.abort();
    let samples = samples.lock().await.clone();
    anyhow::ensure!(
        api.0.try_wait()?.is_none(),
        "the API exited during the soak; its log:\n{}",
        std::fs::read_to_string(log.path())?
    );

    // Memory after warm-up (a tenth of the run, at least 5 s: pools and caches filled)
    // against memory at the end.
    let warm_up = (seconds as f64 / 10.0).max(5.0);
    // Comparing with a sample taken before the warm-up ended would blame start-up on a leak.
    let start = samples
        .iter()
        .find(|(t, _)| *t >= warm_up)
        .map(|s| s.1)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no memory sample after the {warm_up:.0} s warm-up: a {seconds} s run is too \
                 short to judge memory (DREAMSTER_SOAK_SECS must be at least 10)"
            )
        })?;
    let end = samples.last().map_or(start, |s| s.1);
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(end);
    let messages: i64 = sqlx::query_scalar("SELECT count(*) FROM messages")
        .fetch_one(db.pool())
        .await?;
    println!(
        "api soak: {} requests in {seconds} s at {rps}/s over {} kinds, {} errors, {}; \
         {messages} messages stored; RSS idle {:.1} MiB, after warm-up {:.1} MiB, at the end \
         {:.1} MiB, peak {:.1} MiB",
        figures.requests,
        probes.len(),
        figures.errors,
        figures,
        rss_idle as f64 / MIB,
        start as f64 / MIB,
        end as f64 / MIB,
        peak as f64 / MIB,
    );
    assert_eq!(
        figures.errors, 0,
        "requests failed, the first: {:#?}",
        figures.first_errors
    );
    // Allocators keep freed pages and pools settle: allow a little, not a trend.
    let allowed = start + (start / 5).max(8 * 1024 * 1024);
    assert!(
        end <= allowed,
        "RSS grew from {:.1} MiB to {:.1} MiB",
        start as f64 / MIB,
        end as f64 / MIB
    );
    let log_text = std::fs::read_to_string(log.path())?;
    assert!(
        !log_text.contains("panicked"),
        "the API panicked during the soak:\n{log_text}"
    );
    Ok(())
}
