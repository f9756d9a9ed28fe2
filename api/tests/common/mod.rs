//! A read model filled by the real indexer from the real node's scripted story, and the
//! API serving it on a free port.

#![allow(dead_code)]

use dreamster_api::{router, AppState};
use dreamster_e2e::scenario::{play, Story};
use dreamster_indexer::source::ChainSource;
use dreamster_indexer::store::Store;
use dreamster_indexer::{Follower, FollowerConfig};
use dreamster_test_support::{DevNode, TestDatabase};
use serde_json::Value;

pub struct Served {
    pub node: DevNode,
    pub db: TestDatabase,
    pub story: Story,
    pub base: String,
}

pub async fn serve_story() -> Served {
    let node = DevNode::start().await.expect("node");
    let client = dreamster_client::Node::connect(&node.rpc_url())
        .await
        .expect("client");
    let story = play(&client).await.expect("story");
    let db = TestDatabase::create().await.expect("db");
    let store = Store::open(db.url(), story.registry.0)
        .await
        .expect("store");
    let source = ChainSource::connect(&node.rpc_url()).await.expect("source");
    let config = FollowerConfig {
        rpc_url: node.rpc_url(),
        ..FollowerConfig::default()
    };
    Follower::new(config, store)
        .catch_up(&source)
        .await
        .expect("indexed");
    dreamster_api::migrator()
        .run(db.pool())
        .await
        .expect("API migrations");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let app = router(AppState::new(db.pool().clone()));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Served {
        node,
        db,
        story,
        base,
    }
}

pub async fn get(base: &str, path: &str) -> (u16, Value) {
    let resp = reqwest::get(format!("{base}{path}"))
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}
