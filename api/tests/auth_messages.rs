//! Sign-In with Substrate and private messages, over HTTP against the real read model:
//! nonces single-use and expiring, both signature wrappings, and every private route
//! refusing strangers (403) and the signed-out (401).

mod common;

use common::serve_story;
use reqwest::Client;
use serde_json::{json, Value};
use subxt_signer::sr25519::{dev, Keypair};

use common::{addr, get_as as get, post_as as post, sign_in};

async fn challenge(c: &Client, base: &str, who: &Keypair) -> (String, String) {
    let (status, ch) = post(
        c,
        format!("{base}/auth/challenge"),
        None,
        json!({ "address": addr(who) }),
    )
    .await;
    assert_eq!(status, 200, "{ch}");
    (
        ch["nonce"].as_str().expect("nonce").into(),
        ch["message"].as_str().expect("message").into(),
    )
}

async fn verify(
    c: &Client,
    base: &str,
    who: &Keypair,
    nonce: &str,
    signature: [u8; 64],
) -> (u16, Value) {
    let body = json!({ "address": addr(who), "nonce": nonce, "signature": format!("0x{}", hex::encode(signature)) });
    post(c, format!("{base}/auth/verify"), None, body).await
}

#[tokio::test]
async fn sign_in_and_private_threads() {
    let served = serve_story().await;
    let base = served.base.clone();
    let c = common::http();
    let (eve, bob, ferdie) = (dev::eve(), dev::bob(), dev::ferdie());

    // Bare signature; the nonce is good once.
    let (nonce, message) = challenge(&c, &base, &eve).await;
    assert!(message.contains(&addr(&eve)) && message.contains(&nonce));
    let sig = eve.sign(message.as_bytes()).0;
    let (status, session) = verify(&c, &base, &eve, &nonce, sig).await;
    assert_eq!(status, 200, "{session}");
    let eve_token = session["token"].as_str().expect("token").to_string();
    let (status, replay) = verify(&c, &base, &eve, &nonce, sig).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (401, Some("unauthorized"))
    );

    // polkadot.js wraps raw messages in <Bytes>…</Bytes>.
    let (nonce, message) = challenge(&c, &base, &bob).await;
    let wrapped = bob.sign(format!("<Bytes>{message}</Bytes>").as_bytes()).0;
    let (status, session) = verify(&c, &base, &bob, &nonce, wrapped).await;
    assert_eq!(status, 200, "{session}");
    let bob_token = session["token"].as_str().expect("token").to_string();

    // Someone else's signature, an expired nonce, garbage.
    let (nonce, message) = challenge(&c, &base, &bob).await;
    assert_eq!(
        verify(&c, &base, &bob, &nonce, eve.sign(message.as_bytes()).0)
            .await
            .0,
        401
    );
    let (nonce, message) = challenge(&c, &base, &ferdie).await;
    sqlx::query("UPDATE auth_nonces SET expires_at = now() - interval '1 minute' WHERE nonce = $1")
        .bind(&nonce)
        .execute(served.db.pool())
        .await
        .expect("expire");
    assert_eq!(
        verify(
            &c,
            &base,
            &ferdie,
            &nonce,
            ferdie.sign(message.as_bytes()).0
        )
        .await
        .0,
        401
    );
    let (status, bad) = post(
        &c,
        format!("{base}/auth/verify"),
        None,
        json!({ "address": addr(&eve), "nonce": "x", "signature": "zz" }),
    )
    .await;
    assert_eq!(
        (status, bad["error"].as_str()),
        (400, Some("bad_signature"))
    );
    let raw = c
        .post(format!("{base}/auth/challenge"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(raw.status().as_u16(), 400);
    assert_eq!(
        post(
            &c,
            format!("{base}/auth/challenge"),
            None,
            json!({ "address": "nobody" })
        )
        .await
        .0,
        400
    );
    let ferdie_token = sign_in(&c, &base, &ferdie).await;

    // Eve holds edition 1 (by transfer): her thread with the artist.
    let rel = served.story.release.to_string();
    let thread = format!("{base}/api/releases/{rel}/threads/{}/messages", addr(&eve));
    let text = "Hi! Ship the vinyl to Rue de l'Été 5 — 'quoted'; DROP TABLE messages; -- 🎶";
    let (status, sent) = post(
        &c,
        thread.clone(),
        Some(&eve_token),
        json!({ "body": text }),
    )
    .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["body"], text);
    assert_eq!(
        post(
            &c,
            thread.clone(),
            Some(&bob_token),
            json!({ "body": "Thanks, on its way." })
        )
        .await
        .0,
        201
    );
    let (status, listed) = get(&c, thread.clone(), Some(&bob_token)).await;
    assert_eq!(status, 200);
    assert_eq!(listed["total"], 2);
    assert_eq!(listed["items"][0]["body"], text);
    assert_eq!(listed["items"][0]["sender"], addr(&eve));
    let (_, page) = get(&c, format!("{thread}?limit=1&offset=1"), Some(&eve_token)).await;
    assert_eq!(page["items"][0]["sender"], addr(&bob));

    // Strangers and the signed-out.
    assert_eq!(get(&c, thread.clone(), Some(&ferdie_token)).await.0, 403);
    assert_eq!(
        post(
            &c,
            thread.clone(),
            Some(&ferdie_token),
            json!({ "body": "hi" })
        )
        .await
        .0,
        403
    );
    assert_eq!(get(&c, thread.clone(), None).await.0, 401);
    assert_eq!(
        post(&c, thread.clone(), None, json!({ "body": "hi" }))
            .await
            .0,
        401
    );
    assert_eq!(get(&c, thread.clone(), Some("not-a-token")).await.0, 401);
    // Ferdie holds nothing: no thread with him, even for the artist.
    let ferdie_thread = format!(
        "{base}/api/releases/{rel}/threads/{}/messages",
        addr(&ferdie)
    );
    assert_eq!(get(&c, ferdie_thread, Some(&bob_token)).await.0, 404);
    // Bad bodies.
    assert_eq!(
        post(
            &c,
            thread.clone(),
            Some(&eve_token),
            json!({ "body": "   " })
        )
        .await
        .0,
        400
    );
    assert_eq!(
        post(
            &c,
            thread.clone(),
            Some(&eve_token),
            json!({ "body": "x".repeat(4001) })
        )
        .await
        .0,
        400
    );
    assert_eq!(
        post(
            &c,
            thread.clone(),
            Some(&eve_token),
            json!({ "text": "wrong field" })
        )
        .await
        .0,
        422
    );
    let huge = c
        .post(thread.clone())
        .bearer_auth(&eve_token)
        .json(&json!({ "body": "x".repeat(100_000) }))
        .send()
        .await
        .expect("send");
    assert_eq!(huge.status().as_u16(), 413);
    assert_eq!(get(&c, thread, Some(&eve_token)).await.1["total"], 2);
}
