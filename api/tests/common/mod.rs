//! A read model filled by the real indexer from the real node's scripted story, and the
//! API serving it on a free port.

#![allow(dead_code)]

pub mod chromium;
pub mod hooks;
pub mod live;

use dreamster_api::{router, AppState};
use dreamster_e2e::scenario::{play, Story};
use dreamster_test_support::{DevNode, TestDatabase};
use serde_json::Value;

pub struct Served {
    pub node: DevNode,
    pub db: TestDatabase,
    pub story: Story,
    pub base: String,
}

/// The story played on a fresh node.
pub async fn story_on_node() -> (DevNode, Story) {
    let node = DevNode::start().await.expect("node");
    let client = dreamster_client::Node::connect(&node.rpc_url())
        .await
        .expect("client");
    let story = play(&client).await.expect("story");
    (node, story)
}

/// The story played on a fresh node and indexed by the real indexer into a fresh
/// database, with the API's own tables migrated beside the indexer's.
pub async fn story_read_model() -> (DevNode, TestDatabase, Story) {
    let (node, story) = story_on_node().await;
    let db = TestDatabase::create().await.expect("db");
    dreamster_indexer::index_once(&node.rpc_url(), db.url(), story.registry.0)
        .await
        .expect("indexed");
    dreamster_api::migrator()
        .run(db.pool())
        .await
        .expect("API migrations");
    (node, db, story)
}

pub async fn serve_story() -> Served {
    serve_story_with(|_| ()).await
}

/// `serve_story` with the API's settings changed by `adjust` first.
pub async fn serve_story_with(adjust: impl FnOnce(&mut AppState)) -> Served {
    let (node, db, story) = story_read_model().await;
    let mut state = AppState::for_node(db.pool().clone(), &node.rpc_url());
    adjust(&mut state);
    let base = serve(state).await;
    Served {
        node,
        db,
        story,
        base,
    }
}

/// Serves the API with `state` on a free loopback port; its base URL.
pub async fn serve(state: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    // With each connection's address, as the binary serves, so limits are per client.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A client whose every request has a deadline: a hung API fails the test, not CI's clock.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client")
}

pub async fn get(base: &str, path: &str) -> (u16, Value) {
    let resp = http()
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Indexes what the chain did since the last catch-up (the cursor is in the database).
pub async fn reindex(s: &Served) {
    dreamster_indexer::index_once(&s.node.rpc_url(), s.db.url(), s.story.registry.0)
        .await
        .expect("indexed");
}

pub async fn post_as(
    c: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = c.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

pub async fn get_as(c: &reqwest::Client, url: String, token: Option<&str>) -> (u16, Value) {
    let mut req = c.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    (
        resp.status().as_u16(),
        resp.json().await.unwrap_or(Value::Null),
    )
}

/// A key's account.
pub fn id(k: &subxt_signer::sr25519::Keypair) -> subxt::utils::AccountId32 {
    k.public_key().to_account_id()
}

/// A key's account as SS58.
pub fn addr(k: &subxt_signer::sr25519::Keypair) -> String {
    id(k).to_string()
}

/// Signs in through `/auth/challenge` and `/auth/verify`; returns the bearer token.
pub async fn sign_in(
    c: &reqwest::Client,
    base: &str,
    who: &subxt_signer::sr25519::Keypair,
) -> String {
    let (status, ch) = post_as(
        c,
        format!("{base}/auth/challenge"),
        None,
        serde_json::json!({ "address": addr(who) }),
    )
    .await;
    assert_eq!(status, 200, "{ch}");
    let message = ch["message"].as_str().expect("message");
    let sig = who.sign(message.as_bytes()).0;
    let body = serde_json::json!({ "address": addr(who), "nonce": ch["nonce"], "signature": format!("0x{}", hex::encode(sig)) });
    let (status, session) = post_as(c, format!("{base}/auth/verify"), None, body).await;
    assert_eq!(status, 200, "{session}");
    session["token"].as_str().expect("token").to_string()
}
