//! The whole story by clicking, in headless Chromium, against the real node, the real
//! compiled contracts, the real indexer on a real PostgreSQL and the real `dreamster-api`
//! binary. The wallet is the dev wallet the API offers on the dev chain: it is injected as
//! `window.injectedWeb3["dreamster-dev"]` — the interface polkadot.js, Talisman and
//! SubWallet inject — and signs with real sr25519 keys (polkadot.js' own payload encoding),
//! asking before every signature as an extension's popup does; the test answers the prompt.
//!
//! An artist registers, creates a release and adds perks with the web wizard; a fan buys
//! from View Perks, unlocks and reveals the secret; a second fan disputes a delivery, the
//! arbiter rules for the fan and the fan claims the refund; the artist withdraws. Every
//! step is checked on chain. Refusals: a non-holder's unlock is refused before signing
//! (balance unchanged); a declined signature leaves no trace. axe-core runs on every page;
//! screenshots of every step (and of the pages at 390 px) land in the test artifacts.

mod common;

use std::time::Duration;

use common::chromium::{self, screenshot, serious_violations, text_of, wait_for};
use common::id;
use common::live::{open, pick, spawn_api, Indexer};
use dreamster_calls::{registry, release};
use dreamster_client::units::UNIT;
use dreamster_client::{ink_id, Node};
use dreamster_test_support::{DevNode, TestDatabase};
use dreamster_types::entitlement::{Entitlement, EntitlementState};
use dreamster_types::perk::{DeliveryMethod, Perk};
use fantoccini::{Client, Locator};
use subxt::utils::AccountId32;
use subxt_signer::sr25519::dev;

/// What an automatic perk's holders get, as the wizard is told.
#[derive(Clone, Copy)]
enum Given<'a> {
    Nothing,
    Secret(&'a str),
    Codes(&'a [&'a str]),
}

/// The web wizard: picks the template `kind` (step 1), keeps its prefilled fields but the
/// secret or codes (step 2), and stops at the preview (step 3).
async fn wizard_to_preview(b: &Client, kind: &str, given: Given<'_>) {
    b.execute(
        "const k = document.querySelector('form.wizard select[name=kind]'); k.value = arguments[0]; k.dispatchEvent(new Event('change')); return true;",
        vec![serde_json::json!(kind)],
    )
    .await
    .expect("template");
    for (step, next) in [("1", "2"), ("2", "3")] {
        match (step, given) {
            ("2", Given::Secret(secret)) => {
                wait_for(b, "form.wizard input[name=secret]", 10)
                    .await
                    .send_keys(secret)
                    .await
                    .expect("type the secret");
            }
            ("2", Given::Codes(codes)) => {
                b.execute(
                    "const k = document.getElementById('secret-kind'); k.value = 'codes'; k.dispatchEvent(new Event('change', { bubbles: true })); return true;",
                    vec![],
                )
                .await
                .expect("a code each");
                wait_for(b, "form.wizard textarea[name=codes]", 10)
                    .await
                    .send_keys(&codes.join("\n"))
                    .await
                    .expect("type the codes");
            }
            _ => {}
        }
        wait_for(
            b,
            &format!("form.wizard [data-step='{step}'] button[data-goto='{next}']"),
            10,
        )
        .await
        .click()
        .await
        .expect("next step");
    }
}

/// Presses `button`, signs in with the wallet when asked, and waits until a `tag` of class
/// `class` shows exactly `text` (a secret, a dispute's evidence).
async fn shows_after_sign_in(b: &Client, button: &str, tag: &str, class: &str, text: &str) {
    wait_for(b, button, 20).await.click().await.expect("click");
    answer_wallet(b, true).await; // SIWS: signRaw
    let shown = b
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(&format!(
            "//{tag}[contains(@class,'{class}') and text()='{text}']"
        )))
        .await;
    assert!(
        shown.is_ok(),
        "{text:?} was not shown after {button}: {:?}",
        text_of(b, &format!("{tag}.{class}")).await
    );
}

async fn clear_status(b: &Client) {
    b.execute(
        "const s = document.getElementById('tx-status'); s.textContent = ''; delete s.dataset.kind; return true;",
        vec![],
    )
    .await
    .expect("clear status");
}

/// Answers the dev wallet's prompt: sign, or reject.
async fn answer_wallet(b: &Client, sign: bool) {
    let button = if sign {
        "#dev-wallet-sign"
    } else {
        "#dev-wallet-reject"
    };
    wait_for(b, button, 30)
        .await
        .click()
        .await
        .expect("answer the wallet");
}

/// Submits the form `form` (its submit button), answers the wallet and waits for the
/// page's verdict; returns (kind, text) of the status line.
async fn act(b: &Client, form: &str, sign: bool) -> (String, String) {
    clear_status(b).await;
    let button = wait_for(b, &format!("{form} button[type=submit]"), 10).await;
    button.click().await.expect("click");
    answer_wallet(b, sign).await;
    settle(b).await
}

/// Waits for the status line to reach `done` or `refused`.
async fn settle(b: &Client) -> (String, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let kind = b
            .execute(
                "return document.getElementById('tx-status').dataset.kind || '';",
                vec![],
            )
            .await
            .expect("status kind");
        let kind = kind.as_str().unwrap_or_default().to_string();
        if kind == "done" || kind == "refused" {
            return (kind, text_of(b, "#tx-status").await);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no verdict within 90 s; status: {:?}",
            text_of(b, "#tx-status").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn done(b: &Client, form: &str, step: &str) {
    let (kind, text) = act(b, form, true).await;
    assert_eq!(kind, "done", "{step}: {text}");
    screenshot(b, &format!("wallet-{step}")).await;
}

/// Writes a message in the open thread and waits until the thread shows it.
async fn send_message(b: &Client, text: &str) {
    wait_for(b, "#send textarea", 20)
        .await
        .send_keys(text)
        .await
        .expect("type");
    b.find(Locator::Css("#send button[type=submit]"))
        .await
        .expect("send")
        .click()
        .await
        .expect("click");
    let shown = b
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(&format!(
            "//ol[@id='thread']//p[text()='{text}']"
        )))
        .await;
    assert!(shown.is_ok(), "the message {text:?} is not in the thread");
}

async fn accessible(b: &Client, page: &str) {
    let v = serious_violations(b).await;
    assert!(v.is_empty(), "{page}: axe-core found {v:#?}");
}

async fn entitlement(node: &Node, rel: &AccountId32, edition: u32, perk: u32) -> Entitlement {
    let e: Option<Entitlement> = node
        .query(rel, &release::entitlement(edition, perk))
        .await
        .expect("entitlement getter");
    e.expect("entitlement exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_story_by_clicking_with_a_browser_wallet() {
    // The chain, the contracts (deployed by //Alice, //Ferdie an arbiter), the indexer.
    let chain = DevNode::start().await.expect("node");
    let node = Node::connect(&chain.rpc_url()).await.expect("client");
    let registry_addr = dreamster_e2e::deploy(&node, &dev::alice())
        .await
        .expect("deploy");
    dreamster_e2e::scenario::registry_call::<()>(
        &node,
        &dev::alice(),
        &registry_addr,
        registry::add_arbiter(ink_id(&id(&dev::ferdie()))),
    )
    .await
    .expect("arbiter added");
    let db = TestDatabase::create().await.expect("db");
    let indexer = Indexer::follow(&chain.rpc_url(), db.url(), &registry_addr).await;

    // The real API binary, offering the dev wallet (the chain is the dev chain).
    let api = spawn_api(db.url(), &chain.rpc_url()).await;
    let base = &api.base;
    let http = common::http();
    let chain_info: serde_json::Value = http
        .get(format!("{base}/api/chain"))
        .send()
        .await
        .expect("chain")
        .json()
        .await
        .expect("json");
    assert_eq!(chain_info["dev_wallet"], true, "{chain_info}");

    let (_driver, b) = chromium::launch(1280, 900).await;

    // The artist registers and creates a release, from the home page.
    let (bob, eve, dave, charlie) = (dev::bob(), dev::eve(), dev::dave(), dev::charlie());
    b.goto(base).await.expect("home");
    pick(&b, "Bob").await;
    accessible(&b, "home").await;
    screenshot(&b, "wallet-0-home").await;
    b.find(Locator::Css("#artist-start summary"))
        .await
        .expect("artist section")
        .click()
        .await
        .expect("open");
    b.find(Locator::Css(
        "form[data-kind=register_artist] input[name=name]",
    ))
    .await
    .expect("name")
    .send_keys("Nova Web")
    .await
    .expect("type");
    done(&b, "form[data-kind=register_artist]", "1-register").await;
    let profile: Option<dreamster_types::registry_api::ArtistProfile> = node
        .query(&registry_addr, &registry::artist(ink_id(&id(&bob))))
        .await
        .expect("artist getter");
    assert_eq!(profile.expect("registered on chain").name, "Nova Web");

    let form = "form[data-kind=create_release]";
    b.find(Locator::Css(&format!("{form} input[name=title]")))
        .await
        .expect("title")
        .send_keys("Web Light")
        .await
        .expect("type");
    let price = b
        .find(Locator::Css(&format!("{form} input[name=price]")))
        .await
        .expect("price");
    price.clear().await.expect("clear");
    price.send_keys("4").await.expect("type");
    let window = b
        .find(Locator::Css(&format!("{form} input[name=dispute_days]")))
        .await
        .expect("window");
    window.clear().await.expect("clear");
    window.send_keys("7").await.expect("type");
    done(&b, form, "2-create-release").await;
    let releases: serde_json::Value = http
        .get(format!("{base}/api/releases?artist={}", id(&bob)))
        .send()
        .await
        .expect("releases")
        .json()
        .await
        .expect("json");
    let rel_text = releases["items"][0]["address"]
        .as_str()
        .expect("the new release is indexed")
        .to_string();
    let rel = dreamster_client::parse_address(&rel_text).expect("address");
    let terms: dreamster_types::release::SaleTerms = node
        .query(&rel, &release::sale_terms())
        .await
        .expect("terms");
    assert_eq!((terms.title.as_str(), terms.price), ("Web Light", 4 * UNIT));

    // The web wizard: a template, its fields, the preview, signed; the secret uploaded.
    let secret = "https://dl.invalid/web-light-demo-4f9c2a7e1b";
    b.goto(&format!("{base}/releases/{rel_text}"))
        .await
        .expect("release page");
    b.find(Locator::Css("#artist-tools summary"))
        .await
        .expect("tools")
        .click()
        .await
        .expect("open");
    accessible(&b, "release page with artist tools").await;
    let wizard = "form.wizard";
    wizard_to_preview(&b, "unreleased_music", Given::Secret(secret)).await;
    let preview = text_of(&b, &format!("{wizard} .preview")).await;
    assert!(
        preview.contains("UNIT") && preview.contains("automatic"),
        "preview: {preview:?}"
    );
    screenshot(&b, "wallet-3-wizard-preview").await;
    clear_status(&b).await;
    b.find(Locator::Css(&format!("{wizard} button[type=submit]")))
        .await
        .expect("sign")
        .click()
        .await
        .expect("click");
    answer_wallet(&b, true).await; // add_perk
    answer_wallet(&b, true).await; // sign-in (signRaw) to upload the secret
    let (kind, text) = settle(&b).await;
    assert_eq!(kind, "done", "wizard: {text}");
    screenshot(&b, "wallet-3-wizard-done").await;
    let perks: Vec<Perk> = node.perks(&rel).await.expect("perks");
    assert_eq!(perks.len(), 1);
    // The page picked a random salt; what went on chain is the salted hash, and the API
    // holds the salt the page uploaded with the secret.
    let stored_salt = |perk: i32| {
        let pool = db.pool().clone();
        let rel = rel.0.to_vec();
        async move {
            let salt: Vec<u8> = sqlx::query_scalar(
                "SELECT salt FROM perk_secrets WHERE release = $1 AND perk = $2",
            )
            .bind(rel)
            .bind(perk)
            .fetch_one(&pool)
            .await
            .expect("the uploaded salt");
            dreamster_types::commitment::Salt::try_from(salt.as_slice()).expect("32 bytes")
        }
    };
    assert_eq!(
        perks[0].terms.delivery,
        DeliveryMethod::Automatic {
            content_hash: dreamster_types::commitment::secret_commitment(
                &stored_salt(0).await,
                secret.as_bytes()
            )
        }
    );
    assert_ne!(
        perks[0].terms.delivery,
        DeliveryMethod::Automatic {
            content_hash: dreamster_types::content_hash(secret.as_bytes())
        }
    );

    // A second perk, shipped by the artist (the one the second fan will dispute). The
    // artist tools stay open across the page's redraw.
    wizard_to_preview(&b, "signed_merch", Given::Nothing).await;
    done(&b, wizard, "4-second-perk").await;
    let perks: Vec<Perk> = node.perks(&rel).await.expect("perks");
    assert_eq!(perks.len(), 2);
    assert_eq!(perks[1].terms.delivery, DeliveryMethod::Physical);

    // A third perk with a code of its own per edition: the Merkle root of the codes goes
    // on chain, the codes to the API right after (the artist is signed in already).
    let codes = ["CHAT-7F3A-K2", "CHAT-91C2-P8", "CHAT-04BE-Z5"];
    wizard_to_preview(&b, "private_chat", Given::Codes(&codes)).await;
    let preview = text_of(&b, &format!("{wizard} .preview")).await;
    assert!(
        preview.contains("(3 codes, so for the first 3 editions)"),
        "preview: {preview:?}"
    );
    done(&b, wizard, "4-code-pool-perk").await;
    let perks: Vec<Perk> = node.perks(&rel).await.expect("perks");
    assert_eq!(perks.len(), 3);
    assert_eq!(
        perks[2].terms.delivery,
        DeliveryMethod::Automatic {
            content_hash: dreamster_types::merkle::pool_root(&codes, Some(&stored_salt(2).await))
                .expect("root")
        }
    );
    // A code each: the perk binds no more editions than there are codes.
    assert_eq!(perks[2].terms.quantity_limit, Some(3));

    // A fan buys from View Perks: what the price buys is listed first.
    pick(&b, "Eve").await;
    b.find(Locator::Css("#view-perks"))
        .await
        .expect("view perks")
        .click()
        .await
        .expect("click");
    let buys = text_of(&b, "#price-buys").await;
    assert!(
        buys.contains("held in escrow") && buys.contains("due by"),
        "{buys:?}"
    );
    accessible(&b, "release page, perks shown").await;
    let eve_before = node.free_balance(&id(&eve)).await.expect("balance");
    done(&b, "form[data-kind=buy]", "5-buy").await;
    let owner: Option<dreamster_types::AccountId> = node
        .query(&rel, &release::owner_of(0))
        .await
        .expect("owner");
    assert_eq!(owner, Some(ink_id(&id(&eve))));
    let eve_after = node.free_balance(&id(&eve)).await.expect("balance");
    assert!(
        eve_before - eve_after >= 4 * UNIT,
        "the price left Eve's account"
    );

    // A stranger's unlock of Eve's perk is refused before any signature, for free.
    pick(&b, "Charlie").await;
    open(&b, &format!("{base}/fans/{}", id(&eve))).await;
    let charlie_before = node.free_balance(&id(&charlie)).await.expect("balance");
    clear_status(&b).await;
    b.find(Locator::Css(
        ".benefit[data-perk='0'] form[data-kind=unlock] button",
    ))
    .await
    .expect("unlock")
    .click()
    .await
    .expect("click");
    let (kind, text) = settle(&b).await;
    assert_eq!(
        (kind.as_str(), text.as_str()),
        ("refused", "you do not hold this edition")
    );
    assert!(
        b.find(Locator::Css("#dev-wallet-prompt")).await.is_err(),
        "the wallet was asked to sign a refused call"
    );
    assert_eq!(
        node.free_balance(&id(&charlie)).await.expect("balance"),
        charlie_before
    );
    screenshot(&b, "wallet-6-refused-before-signing").await;

    // Eve unlocks, then reveals the secret (signing in with her wallet).
    pick(&b, "Eve").await;
    accessible(&b, "fan dashboard").await;
    done(
        &b,
        ".benefit[data-perk='0'] form[data-kind=unlock]",
        "7-unlock",
    )
    .await;
    assert_eq!(
        entitlement(&node, &rel, 0, 0).await.state,
        EntitlementState::Delivered
    );
    shows_after_sign_in(
        &b,
        ".benefit[data-perk='0'] button.reveal",
        "p",
        "secret",
        secret,
    )
    .await;
    screenshot(&b, "wallet-8-secret-revealed").await;

    // Her own code of the pool, proved against the root on chain (she is signed in).
    done(
        &b,
        ".benefit[data-perk='2'] form[data-kind=unlock]",
        "8-unlock-code",
    )
    .await;
    wait_for(&b, ".benefit[data-perk='2'] button.reveal", 20)
        .await
        .click()
        .await
        .expect("reveal the code");
    let shown = b
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::XPath(&format!(
            "//div[@data-perk='2']//p[contains(@class,'secret') and text()='{}']",
            codes[0]
        )))
        .await;
    assert!(
        shown.is_ok(),
        "Eve's code is not shown: {:?}",
        text_of(&b, ".benefit[data-perk='2'] p.secret").await
    );

    // A second fan buys; the artist ships and marks the poster delivered.
    pick(&b, "Dave").await;
    open(&b, &format!("{base}/releases/{rel_text}")).await;
    b.find(Locator::Css("#view-perks"))
        .await
        .expect("view perks")
        .click()
        .await
        .expect("click");
    done(&b, "form[data-kind=buy]", "9-second-buy").await;
    pick(&b, "Bob").await;
    b.find(Locator::Css("#artist-tools summary"))
        .await
        .expect("tools")
        .click()
        .await
        .expect("open");
    // The tools load the deliveries to mark when opened.
    let deliver = "#deliveries form[data-kind=mark_delivered]:has(input[name=edition][value='1'])";
    wait_for(&b, &format!("{deliver} input[name=proof]"), 20)
        .await
        .send_keys("parcel NL-123 posted")
        .await
        .expect("type");
    done(&b, deliver, "10-mark-delivered").await;
    assert_eq!(
        entitlement(&node, &rel, 1, 1).await.state,
        EntitlementState::Delivered
    );

    // Dave declines to sign a confirmation: nothing happens on chain.
    pick(&b, "Dave").await;
    open(&b, &format!("{base}/fans/{}", id(&dave))).await;
    let nonce_before = node
        .rpc()
        .system_account_next_index(&id(&dave))
        .await
        .expect("nonce");
    let (kind, text) = act(&b, ".benefit[data-perk='1'] form[data-kind=confirm]", false).await;
    assert_eq!(kind, "refused", "{text}");
    assert!(text.contains("declined"), "{text}");
    assert_eq!(
        node.rpc()
            .system_account_next_index(&id(&dave))
            .await
            .expect("nonce"),
        nonce_before
    );
    assert_eq!(
        entitlement(&node, &rel, 1, 1).await.state,
        EntitlementState::Delivered
    );
    screenshot(&b, "wallet-11-declined").await;

    // Dave disputes with evidence; the arbiter reads it and rules for him.
    let evidence = "The poster arrived torn in half and unsigned.";
    b.find(Locator::Css(
        ".benefit[data-perk='1'] details.dispute summary",
    ))
    .await
    .expect("dispute")
    .click()
    .await
    .expect("open");
    b.find(Locator::Css(
        ".benefit[data-perk='1'] form[data-kind=dispute] textarea",
    ))
    .await
    .expect("evidence")
    .send_keys(evidence)
    .await
    .expect("type");
    // The evidence is kept in the holder's name: nobody prepares a dispute for Dave
    // without Dave's session.
    let dispute = serde_json::json!({ "signer": id(&dave).to_string(), "action": {
        "type": "dispute", "release": rel_text, "edition": 1, "perk": 1, "evidence": "spam" } });
    let (status, _) = common::post_as(&http, format!("{base}/api/tx/prepare"), None, dispute).await;
    assert_eq!(
        status, 401,
        "a dispute prepared without the holder's session"
    );
    clear_status(&b).await;
    wait_for(
        &b,
        ".benefit[data-perk='1'] form[data-kind=dispute] button[type=submit]",
        10,
    )
    .await
    .click()
    .await
    .expect("click");
    answer_wallet(&b, true).await; // Dave signs in (signRaw)
    answer_wallet(&b, true).await; // and signs the dispute
    let (kind, text) = settle(&b).await;
    assert_eq!(kind, "done", "dispute: {text}");
    screenshot(&b, "wallet-12-dispute").await;
    let disputed = entitlement(&node, &rel, 1, 1).await;
    assert_eq!(disputed.state, EntitlementState::Disputed);
    pick(&b, "Ferdie").await;
    open(&b, &format!("{base}/audit")).await;
    let case = text_of(&b, ".case").await;
    assert!(!case.contains(evidence), "the evidence is public: {case:?}");
    shows_after_sign_in(
        &b,
        ".case button.read-evidence",
        "blockquote",
        "evidence",
        evidence,
    )
    .await;
    accessible(&b, "audit / arbiter queue").await;
    b.execute(
        "document.querySelector('.case').scrollIntoView(); return true;",
        vec![],
    )
    .await
    .expect("scroll");
    screenshot(&b, "wallet-13-arbiter-queue").await;
    done(
        &b,
        ".case form[data-kind=resolve]:has(input[name=refund][value=true])",
        "13-ruling",
    )
    .await;
    assert_eq!(
        entitlement(&node, &rel, 1, 1).await.state,
        EntitlementState::RefundOwed
    );

    // Dave claims the refund he was shown.
    pick(&b, "Dave").await;
    open(&b, &format!("{base}/fans/{}", id(&dave))).await;
    let claim = ".benefit[data-perk='1'] form[data-kind=claim_refund]";
    let label = text_of(&b, &format!("{claim} button")).await;
    let escrow = disputed.escrow;
    assert_eq!(
        label,
        format!(
            "Claim refund of {}",
            dreamster_client::units::fmt_amount(escrow)
        )
    );
    let dave_before = node.free_balance(&id(&dave)).await.expect("balance");
    done(&b, claim, "14-refund").await;
    assert_eq!(
        entitlement(&node, &rel, 1, 1).await.state,
        EntitlementState::Refunded
    );
    let dave_after = node.free_balance(&id(&dave)).await.expect("balance");
    assert!(
        dave_after > dave_before && dave_after - dave_before <= escrow,
        "refund paid: {dave_before} → {dave_after}"
    );

    // The artist withdraws what the release owes.
    pick(&b, "Bob").await;
    open(&b, &format!("{base}/releases/{rel_text}")).await;
    b.find(Locator::Css("#artist-tools summary"))
        .await
        .expect("tools")
        .click()
        .await
        .expect("open");
    let owed: u128 = node
        .query(&rel, &release::artist_withdrawable())
        .await
        .expect("withdrawable");
    assert!(owed > 0);
    let bob_before = node.free_balance(&id(&bob)).await.expect("balance");
    done(&b, "form[data-kind=withdraw]", "15-withdraw").await;
    let left: u128 = node
        .query(&rel, &release::artist_withdrawable())
        .await
        .expect("withdrawable");
    assert_eq!(left, 0);
    assert!(node.free_balance(&id(&bob)).await.expect("balance") > bob_before);

    // The artist's analytics answer "which perks drive sales, engagement, satisfaction"
    // with labelled charts, and the figures table fits its box at 1280 px.
    b.goto(&format!("{base}/artists/{}", id(&bob)))
        .await
        .expect("artist page");
    wait_for(&b, "#perk-sales", 20).await;
    for chart in [
        "#sales-chart",
        "#perk-sales",
        "#perk-engagement",
        "#perk-rating",
        "#perk-trouble",
    ] {
        let labels = b
            .find_all(Locator::Css(&format!("{chart} text")))
            .await
            .expect("chart labels");
        assert!(labels.len() >= 4, "{chart} has no axis labels");
    }
    let fits = b
        .execute(
            "const t = document.getElementById('perk-stats'); return t.scrollWidth <= t.parentElement.clientWidth;",
            vec![],
        )
        .await
        .expect("table width");
    assert_eq!(fits, true, "the perk figures overflow their box at 1280 px");
    accessible(&b, "artist analytics").await;
    screenshot(&b, "wallet-17-analytics").await;

    // Fan and artist exchange private messages on the release's messages page.
    let thread_page = format!("{base}/releases/{rel_text}/messages");
    pick(&b, "Eve").await;
    open(&b, &thread_page).await;
    answer_wallet(&b, true).await; // sign in as Eve (signRaw)
    send_message(&b, "Hi! Which email should the download go to?").await;
    pick(&b, "Bob").await;
    open(&b, &thread_page).await;
    answer_wallet(&b, true).await; // sign in as Bob
    wait_for(&b, &format!("#threads button[data-fan='{}']", id(&eve)), 20)
        .await
        .click()
        .await
        .expect("open Eve's thread");
    wait_for(&b, "#thread li.from-fan", 20).await;
    accessible(&b, "artist's inbox").await;
    send_message(&b, "The one you bought with — it is in your perks already.").await;
    screenshot(&b, "wallet-16-messages").await;
    let (status, _) = common::get_as(
        &http,
        format!(
            "{base}/api/releases/{rel_text}/threads/{}/messages",
            id(&eve)
        ),
        None,
    )
    .await;
    assert_eq!(status, 401, "a thread is private");

    // Phones: every page legible at 390 px.
    b.set_window_size(390, 844).await.expect("phone size");
    for (name, path) in [
        ("home", String::new()),
        ("release", format!("/releases/{rel_text}")),
        ("fan", format!("/fans/{}", id(&eve))),
        ("artist", format!("/artists/{}", id(&bob))),
        ("audit", "/audit".to_string()),
        ("messages", format!("/releases/{rel_text}/messages")),
        ("signin", "/signin".to_string()),
    ] {
        open(&b, &format!("{base}{path}")).await;
        let overflow = b
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth + 1;",
                vec![],
            )
            .await
            .expect("overflow");
        assert_eq!(overflow, false, "{name} scrolls sideways at 390 px");
        accessible(&b, name).await;
        screenshot(&b, &format!("phone-{name}")).await;
    }
    b.close().await.expect("close");
    indexer.stop().await;
}
