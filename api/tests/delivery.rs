//! Delivery automation over HTTP: the artist's secret is accepted only if it and its salt
//! match the on-chain hash, only the holder gets it and only after the indexed unlock; a
//! pool of codes gives each holder one code, its own salt and a Merkle proof against the
//! committed root. Issue 17, finding 3: the public hashes cannot be tested against guesses.

mod common;

use common::{addr, get_as, post_as, reindex, serve_story, sign_in};
use dreamster_calls::release;
use dreamster_e2e::scenario::{
    now_ms, perk, release_call, PRICE, UNRELEASED_SALT, UNRELEASED_SECRET,
};
use dreamster_types::commitment::{self, salt_hex, Salt};
use dreamster_types::merkle;
use dreamster_types::perk::{DeliveryMethod, PerkKind};
use serde_json::json;
use subxt_signer::sr25519::dev;

/// Bob adds an automatic perk committed to a pool's `root`, due in a day; its id.
async fn add_pool_perk(
    node: &dreamster_client::Node,
    release: &subxt::utils::AccountId32,
    title: &str,
    root: [u8; 32],
) -> u32 {
    let pool = perk(
        PerkKind::PrivateChat,
        title,
        500,
        DeliveryMethod::Automatic { content_hash: root },
        now_ms() + 86_400_000,
    );
    release_call(node, &dev::bob(), release, 0, release::add_perk(pool))
        .await
        .expect("add perk")
}

/// `fan` buys an edition and unlocks `perk` on it; the edition.
async fn buy_and_unlock(
    node: &dreamster_client::Node,
    fan: &subxt_signer::sr25519::Keypair,
    release: &subxt::utils::AccountId32,
    perk: u32,
) -> u32 {
    let edition: u32 = release_call(node, fan, release, PRICE, release::buy(vec![]))
        .await
        .expect("buy");
    release_call::<()>(node, fan, release, 0, release::unlock(edition, perk))
        .await
        .expect("unlock");
    edition
}

/// The pool key the tests' pools are committed under.
const KEY: Salt = [0x3c; 32];

/// The salt a fetch handed over.
fn salt_in(got: &serde_json::Value) -> Salt {
    commitment::parse_salt(got["salt"].as_str().expect("a salt")).expect("32-byte salt")
}

/// Whether a fetched code, with its salt and proof, leads to `root`.
fn code_proves(got: &serde_json::Value, root: [u8; 32]) -> bool {
    let code = got["secret"].as_str().expect("code");
    merkle::verify(
        commitment::code_leaf(&salt_in(got), code.as_bytes()),
        &proof_of(got),
        root,
    )
}

/// The Merkle proof of a fetched code, as the API sent it.
fn proof_of(got: &serde_json::Value) -> Vec<merkle::Step> {
    got["proof"]
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
        .collect()
}

#[tokio::test]
async fn secrets_reach_only_unlocked_holders() {
    let served = serve_story().await;
    let base = served.base.clone();
    let c = common::http();
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
        json!({ "secret": "https://wrong.invalid", "salt": salt_hex(&UNRELEASED_SALT) }),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("hash_mismatch"))
    );
    // The right secret under another salt is refused too.
    let (status, body) = post_as(
        &c,
        upload(0),
        Some(&bob),
        json!({ "secret": UNRELEASED_SECRET, "salt": salt_hex(&[1; 32]) }),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("hash_mismatch"))
    );
    let (status, body) = post_as(
        &c,
        upload(0),
        Some(&bob),
        json!({ "secret": UNRELEASED_SECRET, "salt": "0x1234" }),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("bad_salt")),
        "{body}"
    );
    let good = json!({ "secret": UNRELEASED_SECRET, "salt": salt_hex(&UNRELEASED_SALT) });
    assert_eq!(
        post_as(&c, upload(0), Some(&charlie), good.clone()).await.0,
        403
    );
    assert_eq!(post_as(&c, upload(0), None, good.clone()).await.0, 401);
    assert_eq!(
        post_as(
            &c,
            upload(1),
            Some(&bob),
            json!({ "secret": "x", "salt": salt_hex(&KEY) })
        )
        .await
        .1["error"],
        "not_automatic"
    );
    assert_eq!(
        get_as(&c, fetch(0, 0), Some(&charlie)).await.0,
        404,
        "nothing uploaded yet"
    );
    let (status, accepted) = post_as(&c, upload(0), Some(&bob), good.clone()).await;
    assert_eq!(status, 201, "{accepted}");
    assert_eq!(post_as(&c, upload(0), Some(&bob), good).await.0, 409);

    // Charlie unlocked edition 0's perk 0 in the story; Eve holds edition 1 and has not.
    let (status, got) = get_as(&c, fetch(0, 0), Some(&charlie)).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["secret"], UNRELEASED_SECRET);
    // The holder can check what they got against the hash on chain, with the salt.
    assert_eq!(
        got["content_hash"].as_str(),
        Some(format!(
            "0x{}",
            hex::encode(commitment::secret_commitment(
                &salt_in(&got),
                UNRELEASED_SECRET.as_bytes()
            ))
        ))
        .as_deref()
    );
    assert_eq!(get_as(&c, fetch(0, 0), Some(&eve)).await.0, 403);
    assert_eq!(get_as(&c, fetch(0, 0), None).await.0, 401);
    assert_eq!(get_as(&c, fetch(1, 0), Some(&eve)).await.0, 409);

    // A pool: one code per edition, committed as a Merkle root.
    let codes = ["VIP-7F3A", "VIP-91C2", "VIP-04BE"];
    let root = merkle::pool_root(&codes, Some(&KEY)).expect("root");
    let node = dreamster_client::Node::connect(&served.node.rpc_url())
        .await
        .expect("client");
    let rel_id = &served.story.release;
    let pool_perk = add_pool_perk(&node, rel_id, "Discord invite", root).await;
    let mut editions = Vec::new();
    for fan in [dev::ferdie(), dev::dave()] {
        editions.push(buy_and_unlock(&node, &fan, rel_id, pool_perk).await);
    }
    reindex(&served).await;
    for bad_pool in [
        json!({ "codes": ["VIP-7F3A", "VIP-91C2"], "salt": salt_hex(&KEY) }),
        json!({ "codes": codes, "salt": salt_hex(&[1; 32]) }),
    ] {
        assert_eq!(
            post_as(&c, upload(pool_perk), Some(&bob), bad_pool).await.1["error"],
            "hash_mismatch"
        );
    }
    let (status, accepted) = post_as(
        &c,
        upload(pool_perk),
        Some(&bob),
        json!({ "codes": codes, "salt": salt_hex(&KEY) }),
    )
    .await;
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
        assert!(code_proves(&got, root), "proof for {code}");
        assert_ne!(
            got["salt"].as_str(),
            Some(salt_hex(&KEY).as_str()),
            "never the pool key"
        );
        // The same code on every fetch.
        assert_eq!(
            get_as(&c, fetch(*edition, pool_perk), Some(&token)).await.1["secret"],
            code
        );
        handed.push((code, got));
    }
    assert_ne!(handed[0].0, handed[1].0, "two holders got the same code");

    // A perk committed before salting (its secret's bare hash on chain) still gets its
    // secret: uploaded without a salt, served with `salt: null`.
    let legacy_secret = "https://dl.invalid/legacy-7c1d9e";
    let legacy = add_pool_perk(
        &node,
        rel_id,
        "Old stems",
        dreamster_types::content_hash(legacy_secret.as_bytes()),
    )
    .await;
    let holder = dev::ferdie();
    let legacy_edition = buy_and_unlock(&node, &holder, rel_id, legacy).await;
    reindex(&served).await;
    let (status, body) = post_as(
        &c,
        upload(legacy),
        Some(&bob),
        json!({ "secret": legacy_secret }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let token = sign_in(&c, &base, &holder).await;
    let (status, got) = get_as(&c, fetch(legacy_edition, legacy), Some(&token)).await;
    assert_eq!(
        (status, got["secret"].as_str()),
        (200, Some(legacy_secret)),
        "{got}"
    );
    assert!(got["salt"].is_null(), "{got}");

    // The wizard's path: a guessable secret, or one without its salt, is refused before
    // anything is signed; a random one with its salt prepares.
    let prepare = |secret: &str, salt: Option<String>| {
        json!({ "signer": addr(&dev::bob()), "action": {
            "type": "add_perk", "release": rel, "kind": "unreleased_music", "title": "Demo",
            "description": "", "value": "1", "escrow_bps": 500, "delivery": "automatic",
            "secret": secret, "salt": salt, "deadline": now_ms() + 86_400_000 } })
    };
    let strong = "https://dl.invalid/s/8f3kq9x2m1p7";
    for (secret, salt, code) in [
        (
            "https://dl.invalid/1",
            Some(salt_hex(&KEY)),
            Some("weak_secret"),
        ),
        (strong, None, Some("bad_salt")),
        (strong, Some(salt_hex(&KEY)), None),
    ] {
        let (status, body) = post_as(
            &c,
            format!("{base}/api/tx/prepare"),
            None,
            prepare(secret, salt),
        )
        .await;
        match code {
            Some(code) => assert_eq!(
                (status, body["error"].as_str()),
                (400, Some(code)),
                "{body}"
            ),
            None => assert_eq!(status, 200, "{body}"),
        }
    }

    // The attacks salting stops. Anyone reads the secret's hash on chain and tests guesses
    // offline: a dictionary holding the very secret finds nothing without its salt (which
    // only holders get) — and finds it with the salt, so the search itself works.
    let on_chain: Vec<u8> =
        sqlx::query_scalar("SELECT content_hash FROM perks WHERE release = $1 AND perk = 0")
            .bind(rel_id.0.to_vec())
            .fetch_one(served.db.pool())
            .await
            .expect("the committed hash");
    let dictionary = [
        "https://dreamster.invalid/night-drive/unreleased",
        UNRELEASED_SECRET,
        "https://dreamster.invalid/night-drive/demo",
    ];
    let unsalted = dictionary.iter().find(|guess| {
        dreamster_types::content_hash(guess.as_bytes()).as_slice() == on_chain.as_slice()
    });
    assert_eq!(unsalted, None, "the bare hash of the secret is on chain");
    let salted = dictionary.iter().find(|guess| {
        commitment::secret_commitment(&UNRELEASED_SALT, guess.as_bytes()).as_slice()
            == on_chain.as_slice()
    });
    assert_eq!(salted, Some(&UNRELEASED_SECRET));

    // A holder knows the pool's pattern (VIP- and four hex digits) and tests all 65 536
    // against the neighbour's leaf in their own proof, bare and under their own code's salt:
    // nothing. Only the neighbour's salt (theirs alone) would find it.
    let (own_code, own) = &handed[0];
    let neighbour = proof_of(own)[0].sibling;
    let own_salt = salt_in(own);
    let own_index = codes
        .iter()
        .position(|c| c == own_code)
        .expect("a pool code");
    let neighbour_index = own_index ^ 1;
    let candidates = || (0..=0xFFFFu32).map(|n| format!("VIP-{n:04X}"));
    let found = candidates().find(|g| {
        dreamster_types::content_hash(g.as_bytes()) == neighbour
            || commitment::code_leaf(&own_salt, g.as_bytes()) == neighbour
    });
    assert_eq!(
        found, None,
        "a holder guessed a neighbour's code from their proof"
    );
    let theirs = commitment::code_salt(&KEY, u32::try_from(neighbour_index).expect("index"));
    let with_theirs =
        candidates().find(|g| commitment::code_leaf(&theirs, g.as_bytes()) == neighbour);
    assert_eq!(with_theirs.as_deref(), Some(codes[neighbour_index]));
}

/// Issue 17, finding 6: a pool over ~5 000 codes could never be uploaded (the API's 64 KiB
/// body limit), yet holders could unlock it and never get a code, and every fetch hashed
/// the whole pool again. The largest pool (`merkle::MAX_POOL` codes) now uploads, its tree
/// is stored once, and until it is uploaded the artist is shown the perk is undeliverable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_pool_uploads_and_is_served_from_its_stored_tree() {
    let served = serve_story().await;
    let base = served.base.clone();
    let c = common::http();
    let rel = served.story.release.to_string();
    let codes: Vec<String> = (0..merkle::MAX_POOL)
        .map(|i| format!("POOL-{i:06}"))
        .collect();
    let leaves = merkle::pool_leaves(&codes, &KEY);
    let root = merkle::root(&leaves).expect("root");
    let node = dreamster_client::Node::connect(&served.node.rpc_url())
        .await
        .expect("client");
    let rel_id = &served.story.release;
    let pool_perk = add_pool_perk(&node, rel_id, "Backstage codes", root).await;
    let fan = dev::ferdie();
    let edition = buy_and_unlock(&node, &fan, rel_id, pool_perk).await;
    reindex(&served).await;

    // Unlocked, nothing to hand over: the artist sees it, in the API and on their page.
    let artist_path = format!("/api/artists/{}", addr(&dev::bob()));
    let waiting = |a: &serde_json::Value| {
        a["undeliverable"]
            .as_array()
            .expect("undeliverable")
            .iter()
            .find(|u| u["release"] == rel.as_str() && u["perk"] == pool_perk)
            .map(|u| u["unlocked"].as_i64().expect("count"))
    };
    let (_, artist) = get_as(&c, format!("{base}{artist_path}"), None).await;
    assert_eq!(waiting(&artist), Some(1), "{artist}");
    let page = c
        .get(format!("{base}/artists/{}", addr(&dev::bob())))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("Perks fans can unlock but not receive yet")
            && page.contains("Backstage codes")
    );

    // The upload is far over the 64 KiB every other route keeps.
    let bob = sign_in(&c, &base, &dev::bob()).await;
    let body = json!({ "codes": codes, "salt": salt_hex(&KEY) });
    assert!(body.to_string().len() > 1024 * 1024);
    let (status, accepted) = post_as(
        &c,
        format!("{base}/api/releases/{rel}/perks/{pool_perk}/secret"),
        Some(&bob),
        body,
    )
    .await;
    assert_eq!(
        (status, accepted["codes"].as_u64()),
        (201, Some(merkle::MAX_POOL as u64)),
        "{accepted}"
    );
    let (status, too_big) = post_as(
        &c,
        format!("{base}/api/releases/{rel}/threads/{}/messages", addr(&fan)),
        Some(&bob),
        json!({ "body": "x".repeat(70 * 1024) }),
    )
    .await;
    assert_eq!(
        (status, too_big["error"].as_str()),
        (413, Some("too_large")),
        "{too_big}"
    );
    let (_, artist) = get_as(&c, format!("{base}{artist_path}"), None).await;
    assert_eq!(waiting(&artist), None, "delivered now: {artist}");

    // The tree is stored once, every level; the holder's proof is read from it.
    let nodes: i64 = sqlx::query_scalar("SELECT count(*) FROM perk_code_nodes WHERE perk = $1")
        .bind(i32::try_from(pool_perk).expect("perk"))
        .fetch_one(served.db.pool())
        .await
        .expect("nodes");
    let expected: usize = merkle::levels(&leaves).iter().map(Vec::len).sum();
    assert_eq!(nodes, i64::try_from(expected).expect("count"));
    let token = sign_in(&c, &base, &fan).await;
    let (status, got) = get_as(
        &c,
        format!("{base}/api/releases/{rel}/editions/{edition}/perks/{pool_perk}/secret"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        proof_of(&got).len(),
        17,
        "one step per level of a 100 000-leaf tree"
    );
    assert!(code_proves(&got, root), "proof for {got}");

    // The last code — on the right edge, carried up alone at odd levels — from a pool
    // whose tree was never stored (uploaded before trees were): it is built on this fetch.
    let perk_id = i32::try_from(pool_perk).expect("perk");
    sqlx::query(
        "UPDATE perk_codes SET edition = -(idx + 1)
         WHERE perk = $1 AND edition IS NULL AND idx < $2 - 1",
    )
    .bind(perk_id)
    .bind(i32::try_from(merkle::MAX_POOL).expect("size"))
    .execute(served.db.pool())
    .await
    .expect("hand out all but the last code");
    sqlx::query("DELETE FROM perk_code_nodes WHERE perk = $1")
        .bind(perk_id)
        .execute(served.db.pool())
        .await
        .expect("forget the tree");
    let last_fan = dev::dave();
    let last = buy_and_unlock(&node, &last_fan, rel_id, pool_perk).await;
    reindex(&served).await;
    let token = sign_in(&c, &base, &last_fan).await;
    let (status, got) = get_as(
        &c,
        format!("{base}/api/releases/{rel}/editions/{last}/perks/{pool_perk}/secret"),
        Some(&token),
    )
    .await;
    assert_eq!(status, 200, "{got}");
    let code = got["secret"].as_str().expect("code");
    assert_eq!(code, codes[merkle::MAX_POOL - 1]);
    assert!(
        proof_of(&got).len() < 17,
        "an edge code skips the levels it was carried up alone"
    );
    assert!(code_proves(&got, root), "proof for {code}");
    let rebuilt: i64 = sqlx::query_scalar("SELECT count(*) FROM perk_code_nodes WHERE perk = $1")
        .bind(perk_id)
        .fetch_one(served.db.pool())
        .await
        .expect("nodes");
    assert_eq!(
        rebuilt,
        i64::try_from(expected).expect("count"),
        "the tree was stored once more"
    );
}
