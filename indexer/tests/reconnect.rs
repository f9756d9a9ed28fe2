//! The node going away under a running indexer: it retries with backoff, reconnects when
//! the node is back, and catches up with what happened since.

use std::time::{Duration, Instant};

use dreamster_calls::{registry, release};
use dreamster_client::Node;
use dreamster_e2e::scenario::{open_sale, registry_call, release_call, PRICE};
use dreamster_e2e::{deploy, subxt_id};
use dreamster_indexer::store::Store;
use dreamster_indexer::{Follower, FollowerConfig};
use dreamster_test_support::{DevNode, TestDatabase};
use sqlx::Row;
use subxt_signer::sr25519::dev;

async fn editions_indexed(pool: &sqlx::PgPool) -> anyhow::Result<i64> {
    Ok(sqlx::query("SELECT count(*) FROM editions")
        .fetch_one(pool)
        .await?
        .get(0))
}

async fn wait_for(pool: &sqlx::PgPool, editions: i64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(90);
    while editions_indexed(pool).await? < editions {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the indexer did not catch up to {editions} editions"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

#[tokio::test]
async fn indexer_reconnects_after_the_node_restarts() -> anyhow::Result<()> {
    let mut dev_node = DevNode::start().await?;
    let (owner, artist, fan) = (dev::alice(), dev::bob(), dev::charlie());
    let (registry_addr, release_addr) = {
        let node = Node::connect(&dev_node.rpc_url()).await?;
        let registry_addr = deploy(&node, &owner).await?;
        registry_call::<()>(
            &node,
            &artist,
            &registry_addr,
            registry::register_artist("Nova", ""),
        )
        .await?;
        let terms = open_sale("Live at the Roundhouse");
        let id: dreamster_types::AccountId = registry_call(
            &node,
            &artist,
            &registry_addr,
            dreamster_e2e::scenario::create_release_input(&node, &registry_addr, terms).await?,
        )
        .await?;
        release_call::<u32>(&node, &fan, &subxt_id(&id), PRICE, release::buy(vec![])).await?;
        (registry_addr, subxt_id(&id))
    };

    let db = TestDatabase::create().await?;
    let store = Store::open(db.url(), registry_addr.0).await?;
    let config = FollowerConfig {
        rpc_url: dev_node.rpc_url(),
        poll: Duration::from_millis(200),
        max_backoff: Duration::from_secs(1),
        ..FollowerConfig::default()
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let follower = tokio::spawn(async move {
        let mut follower = Follower::new(config, store);
        follower
            .run(async {
                let _ = stop_rx.await;
            })
            .await
    });
    wait_for(db.pool(), 1).await?;

    dev_node.stop();
    tokio::time::sleep(Duration::from_secs(3)).await;
    dev_node.restart().await?;

    let node = Node::connect(&dev_node.rpc_url()).await?;
    release_call::<u32>(&node, &fan, &release_addr, PRICE, release::buy(vec![])).await?;
    wait_for(db.pool(), 2).await?;

    let _ = stop_tx.send(());
    follower.await??;
    Ok(())
}
