//! The artist's webhook receives an HMAC-signed notification of a holder's unlock; a
//! failed call is retried and every attempt is visible to the artist, and to no one else.
//! Internal addresses cannot be saved as a hook.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use common::{addr, get_as, reindex, serve, serve_story_with, sign_in};
use dreamster_api::webhooks::{sign, Reach, Settings};
use dreamster_calls::release;
use dreamster_e2e::scenario::release_call;
use serde_json::{json, Value};
use subxt_signer::sr25519::dev;

/// A call as the receiver got it: (delivery id, timestamp, signature) headers and the body.
type Received = Arc<Mutex<Vec<(Option<(i64, u64, String)>, String)>>>;

/// A receiver that fails its first call with a 500 and accepts the rest.
async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let store = got.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: String| {
            let store = store.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let sig = (|| {
                    Some((
                        header(sign::DELIVERY)?.parse().ok()?,
                        header(sign::TIMESTAMP)?.parse().ok()?,
                        header(sign::SIGNATURE)?,
                    ))
                })();
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
    // The receiver is on this machine, so this API and dispatcher may call loopback.
    let served = serve_story_with(|s| s.webhook_reach = Reach::AlsoLoopback).await;
    let _dispatcher = dreamster_api::webhooks::spawn(
        served.db.pool().clone(),
        Settings {
            reach: Reach::AlsoLoopback,
            ..Settings::default()
        },
    );
    let base = served.base.clone();
    let c = common::http();
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
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    for (sig, body) in &calls {
        let (delivery, timestamp, signature) = sig.clone().expect("all three signing headers");
        assert_eq!(
            sign::verify(
                &secret,
                &signature,
                timestamp,
                delivery,
                body.as_bytes(),
                now
            ),
            Ok(()),
            "the call verifies as a receiver checks it"
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
    assert_eq!(
        calls[0].0.as_ref().map(|h| h.0),
        calls[1].0.as_ref().map(|h| h.0),
        "as the same delivery, so a receiver can tell it is a retry"
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

    // The hook as it stands: on, nothing waiting, no failure since the delivery.
    let (status, hook) = get_as(&c, format!("{base}/api/me/webhook"), Some(&bob)).await;
    assert_eq!(status, 200, "{hook}");
    assert_eq!(
        (
            hook["url"].as_str(),
            hook["failures_in_row"].as_i64(),
            hook["waiting"].as_i64(),
            hook["disabled"].is_null()
        ),
        (Some(url.as_str()), Some(0), Some(0), true),
        "{hook}"
    );
    assert_eq!(
        get_as(&c, format!("{base}/api/me/webhook"), Some(&eve))
            .await
            .0,
        404
    );
}

/// Finding: an artist could point the hook at the API's own network and read what
/// answered. Internal addresses are refused when saved, in every spelling; an API started
/// as production is (the story's server above may call loopback) refuses this machine too.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn internal_addresses_cannot_be_saved() {
    let served = serve_story_with(|s| s.webhook_reach = Reach::AlsoLoopback).await;
    let production = serve(dreamster_api::AppState::for_node(
        served.db.pool().clone(),
        &served.node.rpc_url(),
    ))
    .await;
    let c = common::http();
    let bob = sign_in(&c, &served.base, &dev::bob()).await;
    let put = |base: String, url: &'static str| {
        let (c, bob) = (c.clone(), bob.clone());
        async move {
            let resp = c
                .put(format!("{base}/api/me/webhook"))
                .bearer_auth(&bob)
                .json(&json!({ "url": url }))
                .send()
                .await
                .expect("put");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    for url in [
        "http://10.0.0.5:8080/",
        "http://172.20.1.1/",
        "http://192.168.1.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://[fd00:ec2::254]/",
        "http://[fe80::1]/",
        "http://0.0.0.0:5432/",
        "http://[::ffff:a9fe:a9fe]/",
    ] {
        for base in [served.base.clone(), production.clone()] {
            let (status, body) = put(base, url).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("forbidden_address")),
                "{url}: {body}"
            );
        }
    }
    for url in [
        "http://127.0.0.1:5432/",
        "http://2130706433/",
        "http://[::1]:9944/",
        "http://localhost:8080/",
        "http://db.localhost/",
    ] {
        let (status, body) = put(production.clone(), url).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("forbidden_address")),
            "{url}: {body}"
        );
    }
    assert_eq!(
        put(production.clone(), "https://hooks.example.com/dreamster")
            .await
            .0,
        200
    );
    assert_eq!(
        sqlx::query_scalar::<_, String>("SELECT url FROM webhooks")
            .fetch_all(served.db.pool())
            .await
            .expect("hooks"),
        ["https://hooks.example.com/dreamster"],
        "only the public URL was ever saved"
    );
}
