//! The keeper on a real node, over a read model the real indexer keeps: a fan whose perk
//! was cancelled, and one whose dispute an arbiter ruled for them, are refunded without
//! sending anything themselves; the money reaches them, not the keeper, who only pays the
//! fees; a perk still due is left alone.

use std::time::{Duration, Instant};

use dreamster_calls::{registry, release};
use dreamster_client::Node;
use dreamster_e2e::scenario::{
    create_release, now_ms, open_sale, perk, registry_call, release_call, PRICE,
};
use dreamster_e2e::{deploy, ink_id};
use dreamster_indexer::store::Store;
use dreamster_indexer::{Follower, FollowerConfig};
use dreamster_keeper::{Config, Keeper};
use dreamster_test_support::{DevNode, TestDatabase};
use dreamster_types::entitlement::{Entitlement, EntitlementState};
use dreamster_types::perk::{DeliveryMethod, PerkKind};
use subxt::utils::AccountId32;
use subxt_signer::sr25519::{dev, Keypair};

fn account(k: &Keypair) -> AccountId32 {
    k.public_key().to_account_id()
}

async fn state(node: &Node, rel: &AccountId32, edition: u32, perk: u32) -> EntitlementState {
    let e: Option<Entitlement> = node
        .query(rel, &release::entitlement(edition, perk))
        .await
        .expect("entitlement getter");
    e.expect("the edition carries the perk").state
}

#[tokio::test]
async fn the_keeper_refunds_fans_who_do_nothing() -> anyhow::Result<()> {
    let dev_node = DevNode::start().await?;
    let node = Node::connect(&dev_node.rpc_url()).await?;
    let (owner, artist, fan, fan2, arbiter, keeper) = (
        dev::alice(),
        dev::bob(),
        dev::eve(),
        dev::ferdie(),
        dev::dave(),
        dev::charlie(),
    );
    let registry_addr = deploy(&node, &owner).await?;
    registry_call::<()>(
        &node,
        &owner,
        &registry_addr,
        registry::add_arbiter(ink_id(&account(&arbiter))),
    )
    .await?;
    registry_call::<()>(
        &node,
        &artist,
        &registry_addr,
        registry::register_artist("Nova", ""),
    )
    .await?;
    let rel = create_release(&node, &artist, &registry_addr, open_sale("Keeper")).await?;
    let far = now_ms() + 30 * 24 * 3600 * 1000;
    // Perk 0: signed vinyl, 30 % (to be cancelled); perk 1: a show, 20 %.
    for p in [
        perk(
            PerkKind::LimitedVinyl,
            "Vinyl",
            3_000,
            DeliveryMethod::Physical,
            far,
        ),
        perk(
            PerkKind::MeetAndGreet,
            "Show",
            2_000,
            DeliveryMethod::Event,
            far,
        ),
    ] {
        release_call::<u32>(&node, &artist, &rel, 0, release::add_perk(p)).await?;
    }
    release_call::<u32>(&node, &fan, &rel, PRICE, release::buy(vec![0, 1])).await?;
    release_call::<u32>(&node, &fan2, &rel, PRICE, release::buy(vec![0, 1])).await?;
    // The artist's own edition (2): the keeper leaves its refunds to the artist.
    release_call::<u32>(&node, &artist, &rel, PRICE, release::buy(vec![0, 1])).await?;
    release_call::<()>(
        &node,
        &artist,
        &rel,
        0,
        release::mark_delivered(1, 1, [1; 32]),
    )
    .await?;
    release_call::<()>(&node, &fan2, &rel, 0, release::dispute(1, 1, [2; 32])).await?;
    // The fans' last transactions: from here on they send nothing.
    let (fan_before, fan2_before) = (
        node.free_balance(&account(&fan)).await?,
        node.free_balance(&account(&fan2)).await?,
    );
    release_call::<()>(&node, &arbiter, &rel, 0, release::resolve(1, 1, true)).await?;
    release_call::<()>(&node, &artist, &rel, 0, release::cancel_perk(0)).await?;
    let keeper_before = node.free_balance(&account(&keeper)).await?;

    let db = TestDatabase::create().await?;
    let store = Store::open(db.url(), registry_addr.0).await?;
    let config = FollowerConfig {
        rpc_url: dev_node.rpc_url(),
        ..FollowerConfig::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let indexer = tokio::spawn(async move {
        Follower::new(config, store)
            .run(async {
                let _ = stopped.await;
            })
            .await
    });

    let mut keeper_service = Keeper::new(
        db.pool().clone(),
        dev_node.rpc_url(),
        keeper.clone(),
        Config::default(),
    );
    // Rounds until the three refunds are paid (the indexer needs the blocks finalized
    // first), for at most two minutes. A round may find a refund the read model does not
    // show as paid yet: the chain refuses it in the dry run, nothing is sent.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut refunded = Vec::new();
    while refunded.len() < 3 {
        let round = keeper_service.round().await?;
        for (due, why) in &round.refused {
            assert!(
                why.contains("refunded"),
                "{due:?} refused for another reason than being paid already: {why}"
            );
        }
        refunded.extend(round.refunded);
        anyhow::ensure!(
            Instant::now() < deadline,
            "the keeper refunded {refunded:?}, not 3, within two minutes"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut paid: Vec<(u32, u32)> = refunded.iter().map(|d| (d.edition, d.perk)).collect();
    paid.sort();
    assert_eq!(
        paid,
        vec![(0, 0), (1, 0), (1, 1)],
        "exactly the three due refunds, each once"
    );
    assert!(refunded.iter().all(|d| d.release == rel.0));

    for (edition, perk) in [(0, 0), (1, 0), (1, 1)] {
        assert_eq!(
            state(&node, &rel, edition, perk).await,
            EntitlementState::Refunded
        );
    }
    assert_eq!(
        state(&node, &rel, 0, 1).await,
        EntitlementState::Pending,
        "a perk still due is left alone"
    );
    assert_eq!(
        state(&node, &rel, 2, 0).await,
        EntitlementState::Pending,
        "the artist's own edition is left to the artist"
    );
    // The money went to the holders: 30 % to the fan; 30 % + 20 % to the second fan.
    assert_eq!(
        node.free_balance(&account(&fan)).await?,
        fan_before + PRICE * 3 / 10
    );
    assert_eq!(
        node.free_balance(&account(&fan2)).await?,
        fan2_before + PRICE * 3 / 10 + PRICE * 2 / 10
    );
    let keeper_after = node.free_balance(&account(&keeper)).await?;
    assert!(
        keeper_after < keeper_before,
        "the keeper pays the fees and is paid nothing"
    );

    // Once the read model has the refunds, nothing is due any more, even to a keeper
    // that remembers no refusal.
    let deadline = Instant::now() + Duration::from_secs(60);
    let paid = "SELECT count(*) FROM entitlement_changes WHERE action = 'refunded'";
    while sqlx::query_scalar::<_, i64>(paid)
        .fetch_one(db.pool())
        .await?
        < 3
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the read model never showed the refunds"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut fresh = Keeper::new(
        db.pool().clone(),
        dev_node.rpc_url(),
        keeper.clone(),
        Config::default(),
    );
    let round = fresh.round().await?;
    assert_eq!((round.due, round.refunded.len()), (0, 0));
    let actors: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT actor FROM entitlement_changes WHERE action = 'refunded' ORDER BY edition, perk",
    )
    .fetch_all(db.pool())
    .await?;
    assert_eq!(actors, vec![account(&keeper).0.to_vec(); 3]);

    let _ = stop.send(());
    indexer.await??;
    Ok(())
}
