//! Issue 17, finding 8 (and the request deadline of finding 5): readiness asks the
//! database, a request stuck on the database is answered by its deadline, SIGTERM lets
//! requests in flight finish, and every response carries the security headers.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{addr, http, serve};
use dreamster_api::operations::CONTENT_SECURITY_POLICY;
use dreamster_api::AppState;
use dreamster_test_support::TestDatabase;
use serde_json::json;
use subxt_signer::sr25519::dev;

/// A database with the API's tables and the read model (empty).
async fn api_db() -> TestDatabase {
    let db = api_tables_only().await;
    dreamster_indexer::store::migrator()
        .run(db.pool())
        .await
        .expect("indexer migrations");
    db
}

/// A database with the API's tables alone: the indexer has not run yet.
async fn api_tables_only() -> TestDatabase {
    let db = TestDatabase::create().await.expect("db");
    dreamster_api::migrator()
        .run(db.pool())
        .await
        .expect("API migrations");
    db
}

async fn status(url: String) -> u16 {
    http()
        .get(url)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn readiness_asks_the_database_and_health_does_not() {
    // Started before the indexer made the read model: alive, not ready, and says why.
    let db = api_tables_only().await;
    let up = serve(AppState::for_node(db.pool().clone(), "ws://127.0.0.1:9")).await;
    let resp = http()
        .get(format!("{up}/ready"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 503);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "not_ready", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("indexer")),
        "{body}"
    );
    assert_eq!(status(format!("{up}/health")).await, 200);
    // Once the indexer's migrations ran: ready, with no restart.
    dreamster_indexer::store::migrator()
        .run(db.pool())
        .await
        .expect("indexer migrations");
    assert_eq!(status(format!("{up}/ready")).await, 200);
    // A pool whose database is gone (nothing listens on port 9).
    let gone = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy("postgres://dreamster@127.0.0.1:9/none")
        .expect("lazy pool");
    let down = serve(AppState::for_node(gone, "ws://127.0.0.1:9")).await;
    let resp = http()
        .get(format!("{down}/ready"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 503);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "not_ready", "{body}");
    assert_eq!(
        status(format!("{down}/health")).await,
        200,
        "the process itself is alive"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_stuck_on_the_database_is_answered_by_its_deadline() {
    let db = api_db().await;
    let mut state = AppState::for_node(db.pool().clone(), "ws://127.0.0.1:9");
    state.request_timeout = Duration::from_millis(1500);
    let base = serve(state).await;
    // Another session holds the nonce table, as a long query would.
    let mut lock = db.pool().begin().await.expect("tx");
    sqlx::query("LOCK TABLE auth_nonces IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .expect("lock");
    let started = Instant::now();
    let resp = http()
        .post(format!("{base}/auth/challenge"))
        .json(&json!({ "address": addr(&dev::alice()) }))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("answered, not hung");
    let took = started.elapsed();
    assert_eq!(resp.status().as_u16(), 503);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "timeout", "{body}");
    assert!(took < Duration::from_secs(20), "answered after {took:?}");
    lock.rollback().await.expect("unlock");
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let db = api_db().await;
    let base = serve(AppState::for_node(db.pool().clone(), "ws://127.0.0.1:9")).await;
    for path in [
        "/health",
        "/ready",
        "/openapi.json",
        "/no/such/route",
        "/docs",
        "/me",
        "/assets/js/app.js",
    ] {
        let resp = http()
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("request");
        let h = resp.headers();
        let get = |name: &str| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
        assert_eq!(
            get("content-security-policy"),
            CONTENT_SECURITY_POLICY,
            "{path}"
        );
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(get("x-frame-options"), "DENY", "{path}");
        let text = resp.text().await.expect("body");
        assert_no_inline_script(path, &text);
    }
    assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    assert!(!CONTENT_SECURITY_POLICY.contains("script-src 'self' 'unsafe-inline'"));
}

/// Every `<script>` in a page loads a file (or is inert JSON data), and no element has an
/// inline handler: the policy allows neither, so one would be a broken page.
pub fn assert_no_inline_script(path: &str, html: &str) {
    for handler in [
        "onclick=",
        "onload=",
        "onerror=",
        "onsubmit=",
        "onchange=",
        "oninput=",
    ] {
        assert!(
            !html.contains(handler),
            "{path} has an inline {handler} handler"
        );
    }
    for tag in html.split("<script").skip(1) {
        let open = tag.split('>').next().unwrap_or_default();
        assert!(
            open.contains("src=") || open.contains("application/json"),
            "{path} has an inline script: <script{open}>"
        );
    }
}

/// SIGTERM (what a service manager sends) stops the API as Ctrl-C does: a request in
/// flight is answered, then the process exits cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_request_in_flight_finish() {
    let db = api_db().await;
    let port = dreamster_test_support::free_port().expect("port");
    let base = format!("http://127.0.0.1:{port}");
    let log = tempfile::NamedTempFile::new().expect("log");
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dreamster-api"));
    command
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--database-url", db.url(), "--rpc-url", "ws://127.0.0.1:9"])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log.reopen().expect("log"));
    dreamster_test_support::die_with_parent(&mut command);
    let mut child = command.spawn().expect("the API starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(http().get(format!("{base}/ready")).send().await, Ok(r) if r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "the API never got ready: {}",
            std::fs::read_to_string(log.path()).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A sign-in challenge held up by a lock on its table: in flight when SIGTERM comes.
    let mut lock = db.pool().begin().await.expect("tx");
    sqlx::query("LOCK TABLE auth_nonces IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .expect("lock");
    let in_flight = tokio::spawn({
        let base = base.clone();
        async move {
            http()
                .post(format!("{base}/auth/challenge"))
                .json(&json!({ "address": addr(&dev::alice()) }))
                .timeout(Duration::from_secs(30))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    // The request is waiting on the lock once Postgres shows it waiting.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'auth_nonces'::regclass",
        )
        .fetch_one(db.pool())
        .await
        .expect("locks");
        if waiting > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the request never reached the database"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = i32::try_from(child.id()).expect("pid");
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the API quit with a request in flight"
    );
    lock.rollback().await.expect("unlock");
    assert_eq!(in_flight.await.expect("task").expect("answered"), 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    let exit = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the API did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        exit.success(),
        "exit {exit:?}: {}",
        std::fs::read_to_string(log.path()).unwrap_or_default()
    );
    assert!(
        std::fs::read_to_string(log.path())
            .unwrap_or_default()
            .contains("stopping"),
        "the API said it was stopping"
    );
}

/// Finding 8: the API had no metrics. Requests are counted by route template, method and
/// status and timed; the pool and the webhook queue are read at each scrape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_and_read_the_queue() {
    // The read model's tables too: the overdue gauges read them.
    let db = common::hooks::queue_db().await;
    let prometheus = dreamster_client::service::install_metrics().expect("the only recorder here");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let metrics = format!("http://{}/metrics", listener.local_addr().expect("addr"));
    tokio::spawn(dreamster_api::telemetry::serve(
        listener,
        prometheus,
        db.pool().clone(),
    ));
    let base = serve(AppState::for_node(db.pool().clone(), "ws://127.0.0.1:9")).await;
    common::hooks::hook(&db, 1, "https://hooks.example/x").await;
    common::hooks::queue(&db, 1, 5).await;
    for _ in 0..3 {
        assert_eq!(status(format!("{base}/openapi.json")).await, 200);
    }
    assert_eq!(
        status(format!("{base}/releases/not-an-address/nothing")).await,
        404
    );
    // A method no standard names is one series, not one per spelling.
    for odd in ["BREW", "PROPFIND"] {
        let m = reqwest::Method::from_bytes(odd.as_bytes()).expect("method");
        http()
            .request(m, format!("{base}/health"))
            .send()
            .await
            .expect("sent");
    }
    assert_eq!(status(format!("{base}/assets/js/app.js")).await, 200);
    let text = http()
        .get(&metrics)
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text");
    // A series: its name, then labels in any order, then the value.
    let value = |name: &str, labels: &[&str]| -> f64 {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .find_map(|l| {
                let (series, v) = l.rsplit_once(' ')?;
                let bare = series.split('{').next()?;
                (bare == name && labels.iter().all(|want| series.contains(want)))
                    .then(|| v.parse().ok())
                    .flatten()
            })
            .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{text}"))
    };
    let ok = [
        r#"route="/openapi.json""#,
        r#"method="GET""#,
        r#"status="200""#,
    ];
    assert!(value("dreamster_api_requests_total", &ok) >= 3.0);
    let missing = [r#"method="GET""#, r#"status="404""#];
    assert!(value("dreamster_api_requests_total", &missing) >= 1.0);
    assert!(
        value(
            "dreamster_api_request_seconds_count",
            &[r#"route="/openapi.json""#]
        ) >= 3.0
    );
    assert!(value("dreamster_api_requests_total", &[r#"method="other""#]) >= 2.0);
    assert!(
        !text.contains("BREW") && !text.contains("PROPFIND"),
        "{text}"
    );
    assert!(
        value(
            "dreamster_api_requests_total",
            &[r#"route="/assets/js/*""#, r#"status="200""#]
        ) >= 1.0
    );
    assert_eq!(value("dreamster_api_webhook_queue_depth", &[]), 5.0);
    assert_eq!(
        value("dreamster_api_webhook_held_by_disabled_hooks", &[]),
        0.0
    );
    assert_eq!(value("dreamster_api_metrics_scrape_ok", &[]), 1.0);
    assert!(value("dreamster_api_webhook_queue_oldest_seconds", &[]) >= 0.0);
    assert!(value("dreamster_api_db_connections", &[r#"state="open""#]) >= 1.0);
}
