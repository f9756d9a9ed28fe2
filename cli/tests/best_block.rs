//! The CLI acts on the state its transaction will execute on — the node's best block — not
//! on the latest finalized one. On a chain whose finality trails (6 s here, several blocks
//! on a live network), a fan whose purchase is in a block but not yet final unlocks at
//! once; reading at the finalized block, the dry run answered "you do not hold this
//! edition". An account funded a moment ago registers as an artist at once; at the
//! finalized block its dry run was refused with `StorageDepositLimitExhausted` (checked:
//! with the dry runs moved back to the finalized head this test fails just so). And the
//! nonce comes from the best block and the pool: subxt's default (the finalized block's)
//! made the second of two quick transactions "outdated".

mod common;

use common::Cli;
use dreamster_test_support::DevNode;
use subxt::dynamic::Value;
use subxt::tx::TxStatus;
use subxt_signer::sr25519::{dev, Keypair};
use subxt_signer::SecretUri;

/// Sends `amount` from //Alice to `to`, returning as soon as it is in a block.
async fn fund_unfinalized(node: &DevNode, to: &Keypair, amount: u128) -> u32 {
    let tx = subxt::dynamic::tx(
        "Balances",
        "transfer_keep_alive",
        vec![
            Value::unnamed_variant("Id", [Value::from_bytes(to.public_key().0)]),
            Value::u128(amount),
        ],
    );
    in_best_block(node, &tx, &dev::alice()).await
}

/// Submits `tx` signed by `who` and returns as soon as it is in a block — before it is
/// final — with that block's number.
async fn in_best_block(node: &DevNode, tx: &impl subxt::tx::Payload, who: &Keypair) -> u32 {
    let api = node.client().await.expect("client");
    let mut progress = api
        .tx()
        .sign_and_submit_then_watch_default(tx, who)
        .await
        .expect("submitted");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while let Some(status) = tokio::time::timeout_at(deadline, progress.next())
        .await
        .expect("in a block within 30 s")
    {
        if let TxStatus::InBestBlock(b) = status.expect("status") {
            return api
                .blocks()
                .at(b.block_hash())
                .await
                .expect("block")
                .number();
        }
    }
    panic!("the transfer never reached a block");
}

async fn finalized_number(node: &DevNode) -> u32 {
    let rpc = dreamster_client::Node::connect(&node.rpc_url())
        .await
        .expect("client");
    let hash = rpc
        .rpc()
        .chain_get_finalized_head()
        .await
        .expect("finalized head");
    rpc.api().blocks().at(hash).await.expect("block").number()
}

#[tokio::test]
async fn acts_right_after_the_state_it_depends_on() {
    let node = DevNode::start_with_finality_delay(Some(6))
        .await
        .expect("node");
    let cli = Cli::on(node);
    cli.json(Some("//Alice"), &["deploy"]);

    let uri: SecretUri = "//FreshArtist".parse().expect("uri");
    let fresh = Keypair::from_uri(&uri).expect("key");
    let funded_at =
        fund_unfinalized(&cli.node, &fresh, 1_000 * dreamster_client::units::UNIT).await;
    // The test means something only while the funding is not final yet.
    assert!(
        finalized_number(&cli.node).await < funded_at,
        "the funding block was already final: the test would not exercise the gap"
    );
    cli.run(
        Some("//FreshArtist"),
        &["artist", "register", "--name", "Fresh"],
    )
    .ok();

    // And the rest of the artist's and fan's path on that chain.
    let rel = cli.json(
        Some("//FreshArtist"),
        &["release", "create", "--title", "Right away", "--price", "2"],
    )["release"]
        .as_str()
        .expect("release")
        .to_string();
    cli.run(
        Some("//FreshArtist"),
        &[
            "perk",
            "add",
            "--release",
            &rel,
            "--kind",
            "unreleased_music",
            "--title",
            "Demo",
            "--value",
            "1",
            "--escrow",
            "10",
            "--delivery",
            "automatic",
            "--secret",
            "https://x.invalid/right-away-demo-7f3a9c",
            "--deadline",
            "+30d",
        ],
    )
    .ok();
    // Eve buys; her purchase is in a block, not yet final, when she unlocks.
    let client = dreamster_client::Node::connect(&cli.node.rpc_url())
        .await
        .expect("client");
    let rel_id = dreamster_client::parse_address(&rel).expect("address");
    let price = 2 * dreamster_client::units::UNIT;
    let eve = dev::eve();
    let dry = client
        .dry_run(
            &eve.public_key().to_account_id(),
            &rel_id,
            price,
            &dreamster_calls::release::buy(vec![]),
        )
        .await
        .expect("dry run");
    let buy = dreamster_client::Node::call_tx(
        &rel_id,
        price,
        dreamster_calls::release::buy(vec![]),
        &dry,
    );
    let bought_at = in_best_block(&cli.node, &buy, &eve).await;
    assert!(
        finalized_number(&cli.node).await < bought_at,
        "the purchase was already final: the test would not exercise the gap"
    );
    cli.run(
        Some("//Eve"),
        &["unlock", "--release", &rel, "--edition", "0", "--perk", "0"],
    )
    .ok();
}
