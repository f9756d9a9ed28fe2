//! The compiled contracts on a real `substrate-contracts-node`: deploy, buy, and a refund
//! after the deadline, with real balances.

use std::time::Duration;

use dreamster_calls::{registry, release};
use dreamster_client::Node;
use dreamster_e2e::scenario::{now_ms, open_sale, tick, PRICE, UNIT};
use dreamster_e2e::{deploy, ink_id, subxt_id};
use dreamster_test_support::DevNode;
use dreamster_types::errors::ReleaseError;
use dreamster_types::perk::{DeliveryMethod, PerkCategory, PerkKind, PerkTerms};
use dreamster_types::registry_api::RegistryError;
use subxt_signer::sr25519::dev;

#[tokio::test]
async fn deploy_buy_and_refund_after_the_deadline() -> anyhow::Result<()> {
    let dev_node = DevNode::start().await?;
    let node = Node::connect(&dev_node.rpc_url()).await?;
    let (owner, artist, fan) = (dev::alice(), dev::bob(), dev::charlie());
    let registry_addr = deploy(&node, &owner).await?;

    node.call::<(), RegistryError>(
        &artist,
        &registry_addr,
        0,
        registry::register_artist("Nova Lights", ""),
    )
    .await?
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let terms = open_sale("Night Drive");
    let (release_id, _) = node
        .call::<dreamster_types::AccountId, RegistryError>(
            &artist,
            &registry_addr,
            0,
            dreamster_e2e::scenario::create_release_input(&node, &registry_addr, terms).await?,
        )
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let release_addr = subxt_id(&release_id);

    // A signed vinyl due in a few seconds: it will not be delivered.
    let deadline = now_ms() + 6_000;
    let vinyl = PerkTerms {
        category: PerkCategory::PhysicalMerchandise,
        kind: PerkKind::LimitedVinyl,
        title: "Signed vinyl".into(),
        description: "Numbered, signed, shipped".into(),
        metadata_uri: String::new(),
        estimated_value: 4 * UNIT,
        escrow_bps: 4_000,
        delivery: DeliveryMethod::Physical,
        quantity_limit: Some(100),
        deadline,
    };
    node.call::<u32, ReleaseError>(&artist, &release_addr, 0, release::add_perk(vinyl))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;

    let fan_id = fan.public_key().to_account_id();
    let contract_before = node.free_balance(&release_addr).await?;
    let (edition, sold) = node
        .call::<u32, ReleaseError>(&fan, &release_addr, PRICE, release::buy(vec![]))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(edition, 0);
    assert!(
        !sold.events.is_empty(),
        "the sale emitted no contract events"
    );
    assert_eq!(
        node.free_balance(&release_addr).await? - contract_before,
        PRICE
    );
    let owner_of: Option<dreamster_types::AccountId> =
        node.query(&release_addr, &release::owner_of(0)).await?;
    assert_eq!(owner_of, Some(ink_id(&fan_id)));

    // Before the deadline the contract refuses, and the dry run spares the fan a fee.
    let fan_before = node.free_balance(&fan_id).await?;
    let early = node
        .call::<u128, ReleaseError>(&fan, &release_addr, 0, release::claim_refund(0, 0))
        .await?;
    assert!(
        matches!(early, Err(ReleaseError::DeadlineNotPassed { .. })),
        "{:?}",
        early.map(|r| r.0)
    );
    assert_eq!(
        node.free_balance(&fan_id).await?,
        fan_before,
        "a refused dry run must cost nothing"
    );

    // The dev node seals blocks only for transactions: wait past the deadline, then seal
    // one so the chain's clock moves on.
    tokio::time::sleep(Duration::from_millis(
        deadline.saturating_sub(now_ms()) + 500,
    ))
    .await;
    tick(&node, &owner).await?;

    let fan_before = node.free_balance(&fan_id).await?;
    let (refunded, _) = node
        .call::<u128, ReleaseError>(&fan, &release_addr, 0, release::claim_refund(0, 0))
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(refunded, PRICE * 4 / 10);
    let fan_after = node.free_balance(&fan_id).await?;
    // The fan gets the escrowed 40 % back, less the transaction fee and the storage deposit
    // of the artist's new reputation record (about a tenth of a unit on the dev node).
    let gained = fan_after.saturating_sub(fan_before);
    assert!(
        gained < refunded && gained > refunded - UNIT / 2,
        "refund of {refunded} but the fan gained {gained}"
    );
    assert_eq!(
        node.free_balance(&release_addr).await? - contract_before,
        PRICE - refunded
    );
    let held: u128 = node.query(&release_addr, &release::escrow_held()).await?;
    assert_eq!(held, 0);
    Ok(())
}
