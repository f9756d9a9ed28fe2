//! Webhook queues without a chain: a database with the indexer's and the API's tables,
//! hooks and queued deliveries written as the enqueuer writes them, and receivers that
//! record, redirect, or never answer.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use dreamster_api::webhooks::sign;
use dreamster_test_support::TestDatabase;

/// A fresh database with every table the dispatcher reads.
pub async fn queue_db() -> TestDatabase {
    let db = TestDatabase::create().await.expect("db");
    dreamster_indexer::store::migrator()
        .run(db.pool())
        .await
        .expect("indexer migrations");
    dreamster_api::migrator()
        .run(db.pool())
        .await
        .expect("API migrations");
    db
}

/// The account key of test artist `n`.
pub fn artist(n: u8) -> Vec<u8> {
    vec![n; 32]
}

/// Saves artist `n`'s hook straight into the table (as if saved through the API).
pub async fn hook(db: &TestDatabase, n: u8, url: &str) {
    sqlx::query("INSERT INTO webhooks (artist, url, secret, from_block) VALUES ($1, $2, 'key', 0)")
        .bind(artist(n))
        .bind(url)
        .execute(db.pool())
        .await
        .expect("hook");
}

/// Queues `count` unlock notifications for artist `n`, as `count` unlocks would; their ids.
pub async fn queue(db: &TestDatabase, n: u8, count: i64) -> Vec<i64> {
    sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (artist, release, edition, perk, block_number, event_index, payload)
         SELECT $1, $2, i::int, 0, 1000 + i, 0, format('{\"event\":\"perk.unlocked\",\"edition\":%s}', i)
         FROM generate_series(1, $3) AS i RETURNING id",
    )
    .bind(artist(n))
    .bind(vec![0xeeu8; 32])
    .bind(count)
    .fetch_all(db.pool())
    .await
    .expect("queue")
}

/// Polls `check` every 100 ms until it holds; fails after `secs` seconds with `what`.
pub async fn until<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(Instant::now() < deadline, "not within {secs} s: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The delivery ids a receiver got, in order.
pub type Got = Arc<Mutex<Vec<i64>>>;

/// A receiver that answers every call with `status` after `delay`; its URL and calls.
pub async fn receiver(status: StatusCode, delay: Duration) -> (String, Got) {
    let got: Got = Arc::default();
    let store = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap| {
            let store = store.clone();
            async move {
                let id = headers
                    .get(sign::DELIVERY)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(-1);
                store.lock().expect("lock").push(id);
                tokio::time::sleep(delay).await;
                status
            }
        }),
    );
    (format!("http://{}/hook", listen(app).await), got)
}

/// A receiver that answers every call with a redirect to `to`.
pub async fn redirector(to: String) -> String {
    let app = Router::new().route(
        "/hook",
        post(move || {
            let to = to.clone();
            async move { (StatusCode::TEMPORARY_REDIRECT, [("location", to)]) }
        }),
    );
    format!("http://{}/hook", listen(app).await)
}

/// A receiver that accepts connections and never answers; its URL and how many it took.
pub async fn black_hole() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            held.push(socket);
        }
    });
    (url, accepted)
}

async fn listen(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}
