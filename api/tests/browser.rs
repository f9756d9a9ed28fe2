//! The pages in headless Chromium (Debian's `chromium` + `chromium-driver`, installed by
//! scripts/setup.sh): a release page's "View Perks" reveals the perks and their total, and
//! a fan signs in with a Substrate signature and sees their benefit tracking. Screenshots
//! are kept in `$CARGO_TARGET_DIR/test-artifacts/`.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::{addr, serve_story};
use fantoccini::{ClientBuilder, Locator};
use serde_json::json;
use subxt_signer::sr25519::dev;

struct Driver(tokio::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn view_perks_and_fan_sign_in_in_chromium() {
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        // Never skip: say how to get what is missing.
        assert!(
            std::path::Path::new(tool).is_file(),
            "{tool} is missing — run scripts/setup.sh"
        );
    }
    let served = serve_story().await;
    let port = dreamster_test_support::free_port().expect("port");
    let _driver = Driver(
        tokio::process::Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts"),
    );
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-dev-shm-usage", "--window-size=412,915"]
        }
    });
    let mut builder = ClientBuilder::rustls().expect("tls");
    builder.capabilities(caps.as_object().expect("object").clone());
    let mut browser = None;
    for _ in 0..50 {
        match builder.connect(&format!("http://127.0.0.1:{port}")).await {
            Ok(c) => {
                browser = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let b = browser.expect("chromedriver answers within 10 s");
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
        artifacts().join("release-view-perks.png"),
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
        artifacts().join("fan-benefits.png"),
        b.screenshot().await.expect("screenshot"),
    )
    .expect("save");

    // Swagger UI (its files come from scripts/setup.sh) renders the API document.
    assert!(
        dreamster_api::default_swagger_ui().is_some(),
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
