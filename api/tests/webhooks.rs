//! The artist's webhook receives an HMAC-signed notification of a holder's unlock; a
//! failed call is retried and every attempt is visible to the artist, and to no one else.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::{addr, get_as, reindex, serve_story, sign_in};
use dreamster_calls::release;
use dreamster_e2e::scenario::release_call;
use reqwest::Client;
use serde_json::{json, Value};
use subxt_signer::sr25519::dev;

type Received = Arc<Mutex<Vec<(Option<String>, String)>>>;

/// A receiver that fails its first call with a 500 and accepts the rest.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let store = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let store = store.clone();
            async move {
                let sig = headers
                    .get("x-dreamster-signature")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let mut calls = store.lock().expect("lock");
                calls.push((sig, body));
                if calls.len() == 1 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unlock_notifies_the_artist_with_retries() {
    let served = serve_story().await;
    let _dispatcher = dreamster_api::webhooks::spawn(served.db.pool().clone());
    let base = served.base.clone();
    let c = Client::new();
    let (url, got) = receiver().await;
    let bob = sign_in(&c, &base, &dev::bob()).await;

    let resp = c
        .put(format!("{base}/api/me/webhook"))
        .bearer_auth(&bob)
        .json(&json!({ "url": url }))
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status().as_u16(), 200);
    let hook: Value = resp.json().await.expect("json");
    let secret = hook["secret"].as_str().expect("secret").to_string();
    let bad = c
        .put(format!("{base}/api/me/webhook"))
        .bearer_auth(&bob)
        .json(&json!({ "url": "ftp://x" }))
        .send()
        .await
        .expect("put");
    assert_eq!(bad.status().as_u16(), 400);
    assert_eq!(
        c.put(format!("{base}/api/me/webhook"))
            .json(&json!({ "url": url }))
            .send()
            .await
            .expect("put")
            .status()
            .as_u16(),
        401
    );

    // Unlocks before the hook was set are history; Eve's unlock now is news.
    let node = dreamster_client::Node::connect(&served.node.rpc_url())
        .await
        .expect("client");
    release_call::<()>(
        &node,
        &dev::eve(),
        &served.story.release,
        0,
        release::unlock(1, 0),
    )
    .await
    .expect("unlock");
    reindex(&served).await;

    let deadline = Instant::now() + Duration::from_secs(30);
    while got.lock().expect("lock").len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the webhook was not retried within 30 s: {:?}",
            got.lock().expect("lock")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let calls = got.lock().expect("lock").clone();
    assert_eq!(
        calls.len(),
        2,
        "delivered once after one failure, not more: {calls:?}"
    );
    for (sig, body) in &calls {
        assert_eq!(
            sig.as_deref(),
            Some(dreamster_api::webhooks::signature(&secret, body.as_bytes()).as_str())
        );
        let event: Value = serde_json::from_str(body).expect("JSON payload");
        assert_eq!(event["event"], "perk.unlocked");
        assert_eq!(event["edition"], 1);
        assert_eq!(event["perk"], 0);
        assert_eq!(event["holder"], addr(&dev::eve()));
        assert_eq!(event["release"], served.story.release.to_string());
    }
    assert_eq!(
        calls[0].1, calls[1].1,
        "a retry sends the same notification"
    );

    let (status, list) = get_as(&c, format!("{base}/api/me/webhook/deliveries"), Some(&bob)).await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1, "{list}");
    let d = &list["items"][0];
    assert_eq!(
        (
            d["attempts"].as_i64(),
            d["delivered"].as_bool(),
            d["last_status"].as_i64()
        ),
        (Some(2), Some(true), Some(200)),
        "{d}"
    );
    // Only the artist sees their deliveries.
    let eve = sign_in(&c, &base, &dev::eve()).await;
    assert_eq!(
        get_as(&c, format!("{base}/api/me/webhook/deliveries"), Some(&eve))
            .await
            .1["total"],
        0
    );
    assert_eq!(
        get_as(&c, format!("{base}/api/me/webhook/deliveries"), None)
            .await
            .0,
        401
    );
}
