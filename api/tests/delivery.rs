//! Delivery automation over HTTP: the artist's secret is accepted only if it matches the
//! on-chain hash, only the holder gets it and only after the indexed unlock; a pool of
//! codes gives each holder one code with a Merkle proof against the committed root.

mod common;

use common::{addr, get_as, post_as, reindex, serve_story, sign_in};
use dreamster_calls::release;
use dreamster_e2e::scenario::{now_ms, perk, release_call, PRICE, UNRELEASED_SECRET};
use dreamster_types::merkle;
use dreamster_types::perk::{DeliveryMethod, PerkKind};
use reqwest::Client;
use serde_json::json;
use subxt_signer::sr25519::dev;

#[tokio::test]
async fn secrets_reach_only_unlocked_holders() {
    let served = serve_story().await;
    let base = served.base.clone();
    let c = Client::new();
    let rel = served.story.release.to_string();
    let (bob, charlie, eve) = (
        sign_in(&c, &base, &dev::bob()).await,
        sign_in(&c, &base, &dev::charlie()).await,
        sign_in(&c, &base, &dev::eve()).await,
    );
    let upload = |perk: u32| format!("{base}/api/releases/{rel}/perks/{perk}/secret");
    let fetch = |edition: u32, perk: u32| {
        format!("{base}/api/releases/{rel}/editions/{edition}/perks/{perk}/secret")
    };

    let (status, body) = post_as(
        &c,
        upload(0),
        Some(&bob),
        json!({ "secret": "https://wrong.invalid" }),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("hash_mismatch"))
    );
    assert_eq!(
        post_as(
            &c,
            upload(0),
            Some(&charlie),
            json!({ "secret": UNRELEASED_SECRET })
        )
        .await
        .0,
        403
    );
    assert_eq!(
        post_as(&c, upload(0), None, json!({ "secret": UNRELEASED_SECRET }))
            .await
            .0,
        401
    );
    assert_eq!(
        post_as(&c, upload(1), Some(&bob), json!({ "secret": "x" }))
            .await
            .1["error"],
        "not_automatic"
    );
    assert_eq!(
        get_as(&c, fetch(0, 0), Some(&charlie)).await.0,
        404,
        "nothing uploaded yet"
    );
    let (status, accepted) = post_as(
        &c,
        upload(0),
        Some(&bob),
        json!({ "secret": UNRELEASED_SECRET }),
    )
    .await;
    assert_eq!(status, 201, "{accepted}");
    assert_eq!(
        post_as(
            &c,
            upload(0),
            Some(&bob),
            json!({ "secret": UNRELEASED_SECRET })
        )
        .await
        .0,
        409
    );

    // Charlie unlocked edition 0's perk 0 in the story; Eve holds edition 1 and has not.
    let (status, got) = get_as(&c, fetch(0, 0), Some(&charlie)).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["secret"], UNRELEASED_SECRET);
    assert_eq!(get_as(&c, fetch(0, 0), Some(&eve)).await.0, 403);
    assert_eq!(get_as(&c, fetch(0, 0), None).await.0, 401);
    assert_eq!(get_as(&c, fetch(1, 0), Some(&eve)).await.0, 409);

    // A pool: one code per edition, committed as a Merkle root.
    let codes = ["VIP-7F3A", "VIP-91C2", "VIP-04BE"];
    let leaves: Vec<[u8; 32]> = codes.iter().map(|c| merkle::leaf(c.as_bytes())).collect();
    let root = merkle::root(&leaves).expect("root");
    let node = dreamster_client::Node::connect(&served.node.rpc_url())
        .await
        .expect("client");
    let rel_id = &served.story.release;
    let pool = perk(
        PerkKind::PrivateChat,
        "Discord invite",
        500,
        DeliveryMethod::Automatic { content_hash: root },
        now_ms() + 86_400_000,
    );
    let pool_perk: u32 = release_call(&node, &dev::bob(), rel_id, 0, release::add_perk(pool))
        .await
        .expect("add perk");
    let mut editions = Vec::new();
    for fan in [dev::ferdie(), dev::dave()] {
        let edition: u32 = release_call(&node, &fan, rel_id, PRICE, release::buy(vec![]))
            .await
            .expect("buy");
        release_call::<()>(&node, &fan, rel_id, 0, release::unlock(edition, pool_perk))
            .await
            .expect("unlock");
        editions.push(edition);
    }
    reindex(&served).await;
    let bad_pool = json!({ "codes": ["VIP-7F3A", "VIP-91C2"] });
    assert_eq!(
        post_as(&c, upload(pool_perk), Some(&bob), bad_pool).await.1["error"],
        "hash_mismatch"
    );
    let (status, accepted) =
        post_as(&c, upload(pool_perk), Some(&bob), json!({ "codes": codes })).await;
    assert_eq!(
        (status, accepted["codes"].as_u64()),
        (201, Some(3)),
        "{accepted}"
    );

    let mut handed = Vec::new();
    for (fan, edition) in [dev::ferdie(), dev::dave()].iter().zip(&editions) {
        let token = sign_in(&c, &base, fan).await;
        let (status, got) = get_as(&c, fetch(*edition, pool_perk), Some(&token)).await;
        assert_eq!(status, 200, "{} {got}", addr(fan));
        let code = got["secret"].as_str().expect("code").to_string();
        let steps: Vec<merkle::Step> = got["proof"]
            .as_array()
            .expect("proof")
            .iter()
            .map(|s| merkle::Step {
                sibling: hex::decode(s["sibling"].as_str().unwrap_or("").trim_start_matches("0x"))
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .expect("32-byte sibling"),
                sibling_on_left: s["sibling_on_left"].as_bool().expect("side"),
            })
            .collect();
        assert!(
            merkle::verify(merkle::leaf(code.as_bytes()), &steps, root),
            "proof for {code}"
        );
        // The same code on every fetch.
        assert_eq!(
            get_as(&c, fetch(*edition, pool_perk), Some(&token)).await.1["secret"],
            code
        );
        handed.push(code);
    }
    assert_ne!(handed[0], handed[1], "two holders got the same code");
}
