//! What someone who talks to `/api/tx/*` and `/auth/*` directly can try, against the real
//! node and the real API: a payload changed after signing, a signature that is not the
//! signer's, another signature scheme, a call that is not a contract call, a replay, a
//! flood of followed transactions, an account that cannot pay, and a sign-in message asked
//! for under another site's name. Each is refused with its own sentence and leaves no
//! trace on chain.

mod common;

use std::sync::Arc;
use std::time::Duration;

use dreamster_api::{router, AppState};
use dreamster_client::wallet::SignerPayload;
use dreamster_client::Node;
use serde_json::{json, Value};
use subxt_signer::sr25519::{dev, Keypair};

use common::{addr, id, post_as, story_read_model};

const PUBLIC_URL: &str = "https://dreamster.example";

/// A wallet's answer to `signPayload`: the MultiSignature (0x01 = sr25519) as hex.
fn wallet_sign(node: &Node, who: &Keypair, payload: &SignerPayload) -> String {
    let bytes = node.signing_bytes(payload).expect("a valid payload");
    format!("0x01{}", hex::encode(who.sign(&bytes).0))
}

async fn prepare_buy(
    c: &reqwest::Client,
    base: &str,
    who: &Keypair,
    release: &str,
) -> SignerPayload {
    let (status, prepared) = post_as(
        c,
        format!("{base}/api/tx/prepare"),
        None,
        json!({ "signer": addr(who), "action": { "type": "buy", "release": release } }),
    )
    .await;
    assert_eq!(status, 200, "{prepared}");
    serde_json::from_value(prepared["payload"].clone()).expect("payload")
}

async fn submit(
    c: &reqwest::Client,
    base: &str,
    payload: &SignerPayload,
    signature: &str,
) -> reqwest::Response {
    c.post(format!("{base}/api/tx/submit"))
        .json(&json!({ "payload": payload, "signature": signature }))
        .send()
        .await
        .expect("submit")
}

/// A refused submission: its status, code and sentence.
async fn refused(
    c: &reqwest::Client,
    base: &str,
    payload: &SignerPayload,
    signature: &str,
) -> (u16, String, String) {
    let r = submit(c, base, payload, signature).await;
    let status = r.status().as_u16();
    // Accepted would be an event stream: fail at once rather than read it.
    assert_ne!(
        status, 200,
        "a submission that must be refused was accepted"
    );
    let body: Value = r.json().await.unwrap_or(Value::Null);
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
        body["message"].as_str().unwrap_or_default().to_string(),
    )
}

async fn nonce(node: &Node, who: &Keypair) -> u64 {
    node.rpc()
        .system_account_next_index(&id(who))
        .await
        .expect("nonce")
}

/// Reads a submission's event stream until a stage named `stage` arrives.
async fn read_until(r: &mut reqwest::Response, stage: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut seen = String::new();
    while !seen.contains(&format!("\"stage\":\"{stage}\"")) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        assert!(!left.is_zero(), "no {stage} within 60 s: {seen}");
        match tokio::time::timeout(left, r.chunk()).await {
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("the stream ended before {stage}: {other:?} {seen}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forged_replayed_foreign_and_flooding_transactions_are_refused() {
    let (dev_node, db, story) = story_read_model().await;
    let node = Node::connect(&dev_node.rpc_url()).await.expect("client");
    let mut state = AppState::for_node(db.pool().clone(), &dev_node.rpc_url());
    state.public_url = Some(PUBLIC_URL.into());
    // Room for one followed transaction, so the cap is reached with two.
    state.followed = Arc::new(tokio::sync::Semaphore::new(1));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listen");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    // No request of this test may hang: a deadline on each.
    let c = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let release = story.release.to_string();
    let (alice, bob) = (dev::alice(), dev::bob());

    // A sign-in message asked for through another site's name names ours.
    let ch: Value = c
        .post(format!("{base}/auth/challenge"))
        .header("host", "evil.example")
        .json(&json!({ "address": addr(&alice) }))
        .send()
        .await
        .expect("challenge")
        .json()
        .await
        .expect("json");
    let message = ch["message"].as_str().expect("message");
    assert!(
        message.starts_with("dreamster.example wants you to sign in")
            && message.contains(&format!("URI: {PUBLIC_URL}"))
            && !message.contains("evil"),
        "{message}"
    );

    let payload = prepare_buy(&c, &base, &alice, &release).await;
    let signature = wallet_sign(&node, &alice, &payload);
    let (alice_nonce, alice_balance) = (
        nonce(&node, &alice).await,
        node.free_balance(&id(&alice)).await.expect("balance"),
    );

    // The call changed after signing (its last byte: the buy's value or input).
    let mut tampered = payload.clone();
    let last = tampered.method.pop().expect("method");
    tampered.method.push(if last == '0' { '1' } else { '0' });
    let (status, code, text) = refused(&c, &base, &tampered, &signature).await;
    assert_eq!(
        (status, code.as_str()),
        (400, "bad_signed_payload"),
        "{text}"
    );
    assert!(text.contains("does not match"), "{text}");

    // A signature changed, or made by another key.
    let mut flipped = signature.clone();
    let last = flipped.pop().expect("signature");
    flipped.push(if last == '0' { '1' } else { '0' });
    let (status, code, text) = refused(&c, &base, &payload, &flipped).await;
    assert_eq!(
        (status, code.as_str()),
        (400, "bad_signed_payload"),
        "{text}"
    );
    assert!(text.contains("does not match"), "{text}");
    let bobs = wallet_sign(&node, &bob, &payload);
    let (status, code, text) = refused(&c, &base, &payload, &bobs).await;
    assert_eq!(
        (status, code.as_str()),
        (400, "bad_signed_payload"),
        "{text}"
    );
    assert!(text.contains("does not match"), "{text}");

    // A tip we never prepare is the client's mistake, not a stale payload.
    let mut tipped = payload.clone();
    tipped.tip = format!("0x{:032x}", 1_000u128);
    let (status, code, text) = refused(&c, &base, &tipped, &signature).await;
    assert_eq!(
        (status, code.as_str()),
        (400, "bad_signed_payload"),
        "{text}"
    );

    // Another scheme (0x00: ed25519), and something that is no signature at all.
    let ed25519 = format!("0x00{}", "ab".repeat(64));
    let (status, _, text) = refused(&c, &base, &payload, &ed25519).await;
    assert_eq!(status, 400);
    assert!(text.contains("only sr25519"), "{text}");
    let (_, _, text) = refused(&c, &base, &payload, "0x1234").await;
    assert!(text.contains("not a MultiSignature"), "{text}");

    // A correctly signed call that is not a contract call is not relayed.
    let transfer = subxt::dynamic::tx(
        "Balances",
        "transfer_keep_alive",
        vec![
            subxt::dynamic::Value::unnamed_variant(
                "Id",
                [subxt::dynamic::Value::from_bytes(id(&bob).0)],
            ),
            subxt::dynamic::Value::u128(1_000_000),
        ],
    );
    let call_data = node.api().tx().call_data(&transfer).expect("call data");
    let foreign = node
        .signer_payload(&id(&alice), call_data)
        .await
        .expect("payload");
    let foreign_sig = wallet_sign(&node, &alice, &foreign);
    let (status, _, text) = refused(&c, &base, &foreign, &foreign_sig).await;
    assert_eq!(status, 400);
    assert!(text.contains("only contract calls"), "{text}");

    // None of it reached the chain.
    assert_eq!(nonce(&node, &alice).await, alice_nonce);
    assert_eq!(
        node.free_balance(&id(&alice)).await.expect("balance"),
        alice_balance
    );

    // The real one goes through; while it is followed, the one room is taken. (No indexer
    // runs here, so the API keeps following it — waiting for "indexed" — until the client
    // leaves: the room stays taken for as long as this test needs.)
    let mut first = submit(&c, &base, &payload, &signature).await;
    assert_eq!(first.status().as_u16(), 200);
    read_until(&mut first, "finalized").await;
    assert_eq!(nonce(&node, &alice).await, alice_nonce + 1);
    let bob_nonce = nonce(&node, &bob).await;
    let bobs_buy = prepare_buy(&c, &base, &bob, &release).await;
    let bobs_sig = wallet_sign(&node, &bob, &bobs_buy);
    let (status, code, _) = refused(&c, &base, &bobs_buy, &bobs_sig).await;
    assert_eq!((status, code.as_str()), (503, "busy"));
    assert_eq!(
        nonce(&node, &bob).await,
        bob_nonce,
        "a refused one never reaches the node"
    );

    // The client leaves: the room is given back. The same signed payload again is a
    // replay, refused as stale (its nonce is spent).
    drop(first);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let (status, code, text) = loop {
        let answer = refused(&c, &base, &payload, &signature).await;
        if answer.1 != "busy" {
            break answer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the room was not given back within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!((status, code.as_str()), (409, "stale"), "{text}");
    assert_eq!(nonce(&node, &alice).await, alice_nonce + 1);

    // An account that cannot pay the fee, signing a contract call it built itself (the
    // dry run skipped): the node's pool refuses, and the answer says why in a sentence.
    let poor = Keypair::from_secret_key([7u8; 32]).expect("key");
    let input = dreamster_calls::release::withdraw();
    let dry = node
        .dry_run(&id(&poor), &story.release, 0, &input)
        .await
        .expect("dry run");
    let call = node
        .api()
        .tx()
        .call_data(&Node::call_tx(&story.release, 0, input, &dry))
        .expect("call data");
    let poor_payload = node
        .signer_payload(&id(&poor), call)
        .await
        .expect("payload");
    let poor_sig = wallet_sign(&node, &poor, &poor_payload);
    let (status, code, text) = refused(&c, &base, &poor_payload, &poor_sig).await;
    assert_eq!((status, code.as_str()), (422, "refused"), "{text}");
    assert!(text.contains("cannot pay this transaction's fee"), "{text}");
    assert_eq!(nonce(&node, &poor).await, 0);
}
