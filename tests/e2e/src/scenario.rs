//! A scripted story on a real node, for the tests that need a chain with history: an
//! artist registers, releases with perks of every delivery method, fans buy, unlock,
//! confirm, rate, dispute (won and lost), transfer, and take refunds.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::anyhow;
use dreamster_calls::{registry, release};
use dreamster_client::Node;
use dreamster_types::errors::ReleaseError;
use dreamster_types::perk::{DeliveryMethod, PerkKind, PerkTerms};
use dreamster_types::registry_api::RegistryError;
use dreamster_types::release::SaleTerms;
use parity_scale_codec::Decode;
use subxt::dynamic::Value;
use subxt::utils::AccountId32;
use subxt_signer::sr25519::{dev, Keypair};

use crate::{deploy, ink_id, subxt_id};

pub const UNIT: u128 = 1_000_000_000_000;
/// The secret behind the story's automatic perk; only its salted hash goes on chain.
pub const UNRELEASED_SECRET: &str = "https://dreamster.invalid/night-drive/unreleased-demo";
/// The salt the story's secret is committed with (fixed, so tests can upload it).
pub const UNRELEASED_SALT: dreamster_types::commitment::Salt = [0x5a; 32];
pub const PRICE: u128 = 10 * UNIT;

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Calls a release message that must succeed.
pub async fn release_call<T: Decode>(
    node: &Node,
    who: &Keypair,
    release_addr: &AccountId32,
    value: u128,
    input: Vec<u8>,
) -> anyhow::Result<T> {
    let (answer, _) = node
        .call::<T, ReleaseError>(who, release_addr, value, input)
        .await?
        .map_err(|e| anyhow!("release refused: {e:?}"))?;
    Ok(answer)
}

/// Calls a registry message that must succeed.
pub async fn registry_call<T: Decode>(
    node: &Node,
    who: &Keypair,
    registry_addr: &AccountId32,
    input: Vec<u8>,
) -> anyhow::Result<T> {
    let (answer, _) = node
        .call::<T, RegistryError>(who, registry_addr, 0, input)
        .await?
        .map_err(|e| anyhow!("registry refused: {e:?}"))?;
    Ok(answer)
}

/// Seals a block so the dev node's clock (the block timestamp) catches up with the wall.
pub async fn tick(node: &Node, who: &Keypair) -> anyhow::Result<()> {
    let remark = subxt::dynamic::tx("System", "remark", vec![Value::from_bytes(b"tick")]);
    node.api()
        .tx()
        .sign_and_submit_then_watch_default(&remark, who)
        .await?
        .wait_for_finalized_success()
        .await?;
    Ok(())
}

pub fn perk(
    kind: PerkKind,
    title: &str,
    bps: u16,
    delivery: DeliveryMethod,
    deadline: u64,
) -> PerkTerms {
    PerkTerms {
        category: kind
            .category()
            .unwrap_or(dreamster_types::perk::PerkCategory::Community),
        kind,
        title: title.into(),
        description: format!("{title}, for every holder"),
        metadata_uri: String::new(),
        estimated_value: 2 * UNIT,
        escrow_bps: bps,
        delivery,
        quantity_limit: None,
        deadline,
    }
}

/// `artist` creates a release through the registry, from the code in effect; its address.
pub async fn create_release(
    node: &Node,
    artist: &Keypair,
    registry_addr: &AccountId32,
    terms: SaleTerms,
) -> anyhow::Result<AccountId32> {
    let input = create_release_input(node, registry_addr, terms).await?;
    let created: dreamster_types::AccountId =
        registry_call(node, artist, registry_addr, input).await?;
    Ok(subxt_id(&created))
}

/// The input of `create_release` with the registry's code in effect as the expected one.
pub async fn create_release_input(
    node: &Node,
    registry_addr: &AccountId32,
    terms: SaleTerms,
) -> anyhow::Result<Vec<u8>> {
    // `Option<Hash>` on the wire: a hash is its 32 bytes.
    let code: Option<[u8; 32]> = node
        .query(registry_addr, &registry::release_code_hash())
        .await?;
    let code = code.ok_or_else(|| anyhow::anyhow!("the registry has no release code"))?;
    Ok(registry::create_release(terms, code))
}

/// A registry deployed by Alice, Bob registered in it as the artist "Nova", and a
/// release of his on sale now; returns (registry, release).
pub async fn artist_release(
    node: &Node,
    title: &str,
) -> anyhow::Result<(AccountId32, AccountId32)> {
    let registry_addr = deploy(node, &dev::alice()).await?;
    registry_call::<()>(
        node,
        &dev::bob(),
        &registry_addr,
        registry::register_artist("Nova", ""),
    )
    .await?;
    let release = create_release(node, &dev::bob(), &registry_addr, open_sale(title)).await?;
    Ok((registry_addr, release))
}

/// A release on sale from the start, for good, with the shortest dispute window allowed.
pub fn open_sale(title: &str) -> SaleTerms {
    SaleTerms {
        title: title.into(),
        metadata_uri: String::new(),
        price: PRICE,
        max_editions: None,
        sale_start: 0,
        sale_end: None,
        dispute_window: dreamster_types::release::MIN_DISPUTE_WINDOW,
    }
}

pub struct Story {
    pub registry: AccountId32,
    pub release: AccountId32,
}

/// Plays the story; takes about half a minute on the dev node (a block per transaction,
/// and one deadline to wait out).
pub async fn play(node: &Node) -> anyhow::Result<Story> {
    let (owner, artist, fan, fan2, fan3, arbiter) = (
        dev::alice(),
        dev::bob(),
        dev::charlie(),
        dev::dave(),
        dev::eve(),
        dev::ferdie(),
    );
    let registry_addr = deploy(node, &owner).await?;
    registry_call::<()>(
        node,
        &owner,
        &registry_addr,
        registry::add_arbiter(ink_id(&arbiter.public_key().to_account_id())),
    )
    .await?;
    registry_call::<()>(
        node,
        &artist,
        &registry_addr,
        registry::register_artist("Nova Lights", "ipfs://nova"),
    )
    .await?;
    let terms = SaleTerms {
        title: "Night Drive".into(),
        metadata_uri: "ipfs://night-drive".into(),
        price: PRICE,
        max_editions: Some(100),
        sale_start: 0,
        sale_end: None,
        dispute_window: dreamster_types::release::MIN_DISPUTE_WINDOW,
    };
    let rel = create_release(node, &artist, &registry_addr, terms).await?;
    let far = now_ms() + 30 * 24 * 3600 * 1000;
    let soon = now_ms() + 8_000;
    let auto = DeliveryMethod::Automatic {
        content_hash: dreamster_types::commitment::secret_commitment(
            &UNRELEASED_SALT,
            UNRELEASED_SECRET.as_bytes(),
        ),
    };
    for p in [
        perk(
            PerkKind::UnreleasedMusic,
            "Unreleased demo",
            2_000,
            auto,
            far,
        ),
        perk(
            PerkKind::LimitedVinyl,
            "Signed vinyl",
            3_000,
            DeliveryMethod::Physical,
            far,
        ),
        perk(
            PerkKind::MeetAndGreet,
            "Backstage meet",
            1_000,
            DeliveryMethod::Event,
            soon,
        ),
    ] {
        release_call::<u32>(node, &artist, &rel, 0, release::add_perk(p)).await?;
    }
    release_call::<u32>(node, &fan, &rel, PRICE, release::buy(vec![0, 1, 2])).await?;
    release_call::<u32>(node, &fan2, &rel, PRICE, release::buy(vec![])).await?;

    release_call::<()>(node, &fan, &rel, 0, release::unlock(0, 0)).await?;
    release_call::<()>(node, &fan, &rel, 0, release::confirm(0, 0)).await?;
    release_call::<()>(node, &fan, &rel, 0, release::rate(0, 0, 5)).await?;

    release_call::<()>(
        node,
        &artist,
        &rel,
        0,
        release::mark_delivered(0, 1, [0x01; 32]),
    )
    .await?;
    release_call::<()>(
        node,
        &artist,
        &rel,
        0,
        release::mark_delivered(1, 1, [0x02; 32]),
    )
    .await?;
    release_call::<()>(node, &fan, &rel, 0, release::dispute(0, 1, [0xE1; 32])).await?;
    release_call::<()>(node, &fan2, &rel, 0, release::dispute(1, 1, [0xE2; 32])).await?;
    release_call::<()>(node, &arbiter, &rel, 0, release::resolve(0, 1, true)).await?;
    release_call::<()>(node, &arbiter, &rel, 0, release::resolve(1, 1, false)).await?;
    release_call::<u128>(node, &fan, &rel, 0, release::claim_refund(0, 1)).await?;

    release_call::<()>(
        node,
        &fan2,
        &rel,
        0,
        release::transfer(ink_id(&fan3.public_key().to_account_id()), 1),
    )
    .await?;

    tokio::time::sleep(Duration::from_millis(soon.saturating_sub(now_ms()) + 500)).await;
    tick(node, &owner).await?;
    release_call::<u128>(node, &fan, &rel, 0, release::claim_refund(0, 2)).await?;
    release_call::<u128>(node, &artist, &rel, 0, release::withdraw()).await?;
    Ok(Story {
        registry: registry_addr,
        release: rel,
    })
}

/// Submits `n` remarks without waiting, so the dev node seals `n` blocks with no contract
/// events (a long stretch for a backfill to cover); returns the number of the last one.
pub async fn empty_blocks(node: &Node, who: &Keypair, n: u64) -> anyhow::Result<u64> {
    let remarks = (0..n).map(|i| {
        subxt::dynamic::tx(
            "System",
            "remark",
            vec![Value::from_bytes(format!("noise {i}"))],
        )
    });
    block_per_tx(node, who, remarks.collect()).await
}

/// Submits `n` buys of `release` by `who` without waiting: `n` blocks, each with a sale's
/// events; returns the number of the last one.
pub async fn buying_blocks(
    node: &Node,
    who: &Keypair,
    release: &AccountId32,
    n: u64,
) -> anyhow::Result<u64> {
    let origin = who.public_key().to_account_id();
    let dry = node
        .dry_run(&origin, release, PRICE, &release::buy(vec![]))
        .await?;
    let buys = (0..n).map(|_| Node::call_tx(release, PRICE, release::buy(vec![]), &dry));
    block_per_tx(node, who, buys.collect()).await
}

/// Signs and submits each transaction without waiting (the dev node seals a block for
/// each), then waits for the last block; returns its number.
async fn block_per_tx(
    node: &Node,
    who: &Keypair,
    txs: Vec<subxt::tx::DynamicPayload>,
) -> anyhow::Result<u64> {
    let api = node.api();
    let start = api.blocks().at_latest().await?.number() as u64;
    // Nonces counted here: asking the node for each would race the blocks being sealed.
    let mut nonce = api
        .tx()
        .account_nonce(&who.public_key().to_account_id())
        .await?;
    for tx in &txs {
        let params = subxt::config::polkadot::PolkadotExtrinsicParamsBuilder::new()
            .nonce(nonce)
            .build();
        api.tx()
            .create_signed(tx, who, params)
            .await?
            .submit()
            .await?;
        nonce += 1;
    }
    let target = start + txs.len() as u64;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while (api.blocks().at_latest().await?.number() as u64) < target {
        if std::time::Instant::now() > deadline {
            return Err(anyhow!(
                "the node sealed no block {target} within 2 minutes"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(target)
}
