//! The pages in headless Chromium (Debian's `chromium` + `chromium-driver`, installed by
//! scripts/setup.sh): a release page's "View Perks" reveals the perks and their total, and
//! a fan signs in with a Substrate signature and sees their benefit tracking. Screenshots
//! are kept in `$CARGO_TARGET_DIR/test-artifacts/`.

mod common;

use std::time::Duration;

use common::{addr, serve_story};
use fantoccini::Locator;
use subxt_signer::sr25519::dev;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn view_perks_and_fan_sign_in_in_chromium() {
    let served = serve_story().await;
    let (_driver, b) = common::chromium::launch(412, 915).await;
    let base = &served.base;

    // A release page: the perks are hidden until "View Perks" is pressed.
    b.goto(&format!("{base}/releases/{}", served.story.release))
        .await
        .expect("open release");
    let perks = b.find(Locator::Css("#perks")).await.expect("perks section");
    assert!(
        !perks.is_displayed().await.expect("displayed?"),
        "perks shown before pressing View Perks"
    );
    let button = b.find(Locator::Css("#view-perks")).await.expect("button");
    assert_eq!(button.text().await.expect("text"), "View Perks");
    button.click().await.expect("click");
    assert!(perks.is_displayed().await.expect("displayed?"));
    let cards = b
        .find_all(Locator::Css("#perks .perk"))
        .await
        .expect("perk cards");
    assert_eq!(cards.len(), 3);
    assert!(cards[0]
        .text()
        .await
        .expect("text")
        .contains("Unreleased demo"));
    let total = b.find(Locator::Css("#total-value")).await.expect("total");
    assert_eq!(
        total.text().await.expect("text"),
        "Total perk value: 6 UNIT"
    );
    std::fs::write(
        common::chromium::artifacts().join("release-view-perks.png"),
        b.screenshot().await.expect("screenshot"),
    )
    .expect("save");

    // A fan signs in: the page asks for a challenge, the wallet (here: the test) signs it.
    let eve = dev::eve();
    b.goto(&format!("{base}/signin"))
        .await
        .expect("open sign-in");
    b.find(Locator::Css("#address"))
        .await
        .expect("address")
        .send_keys(&addr(&eve))
        .await
        .expect("type");
    b.find(Locator::Css("#challenge"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    let mut message = String::new();
    for _ in 0..50 {
        message = b
            .find(Locator::Css("#message"))
            .await
            .expect("message")
            .text()
            .await
            .expect("text");
        if !message.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        message.contains("Nonce:"),
        "no challenge shown: {message:?}"
    );
    let signature = format!("0x{}", hex::encode(eve.sign(message.as_bytes()).0));
    b.find(Locator::Css("#signature"))
        .await
        .expect("signature")
        .send_keys(&signature)
        .await
        .expect("type");
    b.find(Locator::Css("#verify"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    b.wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("#benefits .benefit"))
        .await
        .expect("benefit tracking after sign-in");
    assert!(b.current_url().await.expect("url").path().ends_with("/me"));
    let benefits = b
        .find_all(Locator::Css("#benefits .benefit"))
        .await
        .expect("benefits");
    assert_eq!(benefits.len(), 3);
    let overdue = b
        .find(Locator::Css("#benefits .benefit[data-state='overdue']"))
        .await
        .expect("overdue perk shown");
    assert!(overdue.text().await.expect("text").contains("refundable"));
    std::fs::write(
        common::chromium::artifacts().join("fan-benefits.png"),
        b.screenshot().await.expect("screenshot"),
    )
    .expect("save");

    // Swagger UI (npm's swagger-ui-dist, installed by scripts/setup.sh) renders the API document.
    assert!(
        dreamster_api::swagger_ui_in(&dreamster_api::default_web_dir()).is_some(),
        "Swagger UI is not installed — run scripts/setup.sh"
    );
    {
        b.goto(&format!("{base}/docs")).await.expect("docs");
        b.wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(".swagger-ui .opblock"))
            .await
            .expect("Swagger UI lists the operations");
    }
    b.close().await.expect("close");
}
