//! Every operation the OpenAPI document marks as needing a session — found there, so a
//! route added later is covered without touching this test — called signed out, with a
//! made-up token, and with the real session of an account that has no business there.
//! None may succeed on someone else's data or leak it.

mod common;

use common::{addr, get, serve_story, sign_in};
use dreamster_e2e::scenario::{UNRELEASED_SALT, UNRELEASED_SECRET};
use dreamster_types::commitment::salt_hex;
use reqwest::{Client, Method};
use serde_json::{json, Value};
use subxt_signer::sr25519::{dev, Keypair};

async fn call(
    c: &Client,
    method: &Method,
    url: &str,
    body: &Value,
    token: Option<&str>,
) -> (u16, String) {
    let mut request = c.request(method.clone(), url);
    if !body.is_null() {
        request = request.json(body);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// A body the operation would accept from the right account.
fn body_for(method: &Method, path: &str) -> Value {
    match (method.as_str(), path) {
        ("PUT", p) if p.ends_with("/webhook") => json!({ "url": "https://stranger.example/hook" }),
        ("POST", p) if p.ends_with("/secret") => {
            json!({ "secret": UNRELEASED_SECRET, "salt": salt_hex(&UNRELEASED_SALT) })
        }
        ("POST", p) if p.ends_with("/messages") => json!({ "body": "let me in" }),
        _ => Value::Null,
    }
}

#[tokio::test]
async fn every_private_route_refuses_other_accounts() {
    let served = serve_story().await;
    let base = served.base.clone();
    let c = common::http();
    let (artist, holder) = (dev::bob(), dev::eve());
    let stranger = Keypair::from_uri(&"//Stranger".parse().expect("uri")).expect("key");
    let artist_token = sign_in(&c, &base, &artist).await;
    let stranger_token = sign_in(&c, &base, &stranger).await;
    // The artist's own data under /api/me, which a stranger must never see.
    let artist_hook = "https://artist-only.example/hook";
    let (status, _) = call(
        &c,
        &Method::PUT,
        &format!("{base}/api/me/webhook"),
        &json!({ "url": artist_hook }),
        Some(&artist_token),
    )
    .await;
    assert_eq!(status, 200);

    let (_, doc) = get(&base, "/openapi.json").await;
    let rel = served.story.release.to_string();
    let mut checked = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("operations") {
            // Logout acts on the caller's own session; it is checked last, below.
            if op.get("security").is_none() || path == "/auth/logout" {
                continue;
            }
            let method: Method = method.to_uppercase().parse().expect("method");
            // The holder's edition and thread, the release's automatic perk.
            let url = format!(
                "{base}{}",
                path.replace("{address}", &rel)
                    .replace("{fan}", &addr(&holder))
                    .replace("{edition}", "1")
                    .replace("{perk}", "0")
            );
            let body = body_for(&method, path);
            let what = format!("{method} {path}");
            for token in [None, Some("not-a-session")] {
                let (status, text) = call(&c, &method, &url, &body, token).await;
                assert_eq!(status, 401, "{what} with {token:?}: {text}");
            }
            let (status, text) = call(&c, &method, &url, &body, Some(&stranger_token)).await;
            if path.starts_with("/api/me/") {
                // These act on the caller's own account: the stranger gets their own.
                assert!(status < 500, "{what}: {status} {text}");
                assert!(!text.contains(artist_hook), "{what} leaked: {text}");
            } else {
                assert!(
                    status == 403 || status == 404,
                    "{what} as a stranger: {status} {text}"
                );
            }
            checked.push(what);
        }
    }
    assert!(checked.len() >= 6, "only {checked:?}");

    // Logout: refused without a session; with one, it revokes exactly that session.
    let logout = format!("{base}/auth/logout");
    for token in [None, Some("not-a-session")] {
        let (status, text) = call(&c, &Method::POST, &logout, &Value::Null, token).await;
        assert_eq!(status, 401, "logout with {token:?}: {text}");
    }
    let (status, text) = call(
        &c,
        &Method::POST,
        &logout,
        &Value::Null,
        Some(&stranger_token),
    )
    .await;
    assert_eq!(status, 200, "{text}");
    let thread = format!(
        "{base}/api/releases/{rel}/threads/{}/messages",
        addr(&holder)
    );
    let (status, _) = call(
        &c,
        &Method::GET,
        &thread,
        &Value::Null,
        Some(&stranger_token),
    )
    .await;
    assert_eq!(status, 401, "a revoked session is refused");
    checked.push("POST /auth/logout".into());
    println!(
        "private routes: {} operations from /openapi.json × (signed out, made-up token, a \
         stranger's session), none let through: {}",
        checked.len(),
        checked.join(", ")
    );
}
