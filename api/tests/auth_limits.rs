//! Issue 17, finding 4: sign-in challenges and sessions were rows kept forever, and nothing
//! limited how fast one client could add them or write. Now each client has buckets for
//! sign-in and for writes (another client is unaffected, reads are not limited), and
//! expired nonces and sessions are deleted.

mod common;

use std::net::IpAddr;

use common::{addr, get_as, post_as, serve, sign_in};
use dreamster_api::limits::{Limits, Rate};
use dreamster_api::{housekeeping, AppState};
use dreamster_test_support::TestDatabase;
use serde_json::json;
use subxt_signer::sr25519::dev;

/// A database with the API's tables and an API on it with `limits`; no node (the sign-in
/// message then has no chain id, which changes nothing here).
async fn api(limits: Limits) -> (TestDatabase, String) {
    let db = TestDatabase::create().await.expect("db");
    dreamster_api::migrator()
        .run(db.pool())
        .await
        .expect("API migrations");
    let mut state = AppState::for_node(db.pool().clone(), "ws://127.0.0.1:9");
    state.limits = limits;
    let base = serve(state).await;
    (db, base)
}

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().expect("ip"))
        .build()
        .expect("client")
}

async fn challenge(c: &reqwest::Client, base: &str) -> (u16, serde_json::Value) {
    post_as(
        c,
        format!("{base}/auth/challenge"),
        None,
        json!({ "address": addr(&dev::alice()) }),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_sign_ins_or_writes_is_refused_for_that_client_only() {
    let (_db, base) = api(Limits::new(
        Rate {
            burst: 5,
            per_one_secs: 600,
        },
        Rate {
            burst: 3,
            per_one_secs: 600,
        },
    ))
    .await;
    let flooder = client_from("127.0.0.1");
    for i in 0..5 {
        assert_eq!(
            challenge(&flooder, &base).await.0,
            200,
            "challenge {i} is within the burst"
        );
    }
    let resp = flooder
        .post(format!("{base}/auth/challenge"))
        .json(&json!({ "address": addr(&dev::alice()) }))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 429);
    let wait: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((1..=601).contains(&wait), "{wait}");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "rate_limited", "{body}");

    // Another client signs in; reads are not limited.
    let other = client_from("127.0.0.2");
    assert_eq!(challenge(&other, &base).await.0, 200);
    for _ in 0..20 {
        assert_eq!(
            get_as(&flooder, format!("{base}/health"), None).await.0,
            200
        );
    }

    // Writes have a bucket of their own: three refusals for bad input, then 429.
    for _ in 0..3 {
        let (status, _) = post_as(&other, format!("{base}/api/tx/prepare"), None, json!({})).await;
        assert_ne!(status, 429);
    }
    let (status, body) = post_as(&other, format!("{base}/api/tx/prepare"), None, json!({})).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (429, Some("rate_limited")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_nonces_and_sessions_are_deleted() {
    let (db, base) = api(Limits::off()).await;
    let c = common::http();
    // An attacker's pile of challenges, and a real session.
    for _ in 0..40 {
        assert_eq!(challenge(&c, &base).await.0, 200);
    }
    let token = sign_in(&c, &base, &dev::bob()).await;
    let fresh = sign_in(&c, &base, &dev::eve()).await;
    let count = |table: &'static str| {
        let pool = db.pool().clone();
        async move {
            sqlx::query_scalar::<_, i64>(&format!("SELECT count(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .expect("count")
        }
    };
    assert_eq!(
        (count("auth_nonces").await, count("sessions").await),
        (42, 2)
    );
    assert_eq!(
        housekeeping::purge(db.pool()).await.expect("purge"),
        housekeeping::Purged::default()
    );

    // Time passes for all but one challenge and Eve's session.
    sqlx::query(
        "UPDATE auth_nonces SET expires_at = now() - interval '1 second'
         WHERE nonce <> (SELECT max(nonce) FROM auth_nonces)",
    )
    .execute(db.pool())
    .await
    .expect("age nonces");
    sqlx::query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE expires_at = (SELECT min(expires_at) FROM sessions)")
        .execute(db.pool())
        .await
        .expect("age Bob's session");
    let purged = housekeeping::purge(db.pool()).await.expect("purge");
    assert_eq!(
        purged,
        housekeeping::Purged {
            nonces: 41,
            sessions: 1
        }
    );
    assert_eq!(
        (count("auth_nonces").await, count("sessions").await),
        (1, 1)
    );
    let me = |t: String| {
        let (c, base) = (c.clone(), base.clone());
        async move {
            get_as(&c, format!("{base}/api/me/webhook/deliveries"), Some(&t))
                .await
                .0
        }
    };
    assert_eq!(me(token).await, 401, "the purged session is gone");
    assert_eq!(me(fresh).await, 200, "the live one works");
}
