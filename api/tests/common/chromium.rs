//! Headless Chromium through chromedriver (Debian's `chromium` + `chromium-driver`,
//! installed by scripts/setup.sh), screenshots kept in `$CARGO_TARGET_DIR/test-artifacts/`,
//! and axe-core (from npm, installed by scripts/setup.sh) run on a page.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

pub struct Driver(tokio::process::Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

pub fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    dir
}

/// Starts chromedriver and a headless Chromium `width` × `height` pixels.
pub async fn launch(width: u32, height: u32) -> (Driver, Client) {
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        // Never skip: say how to get what is missing.
        assert!(
            std::path::Path::new(tool).is_file(),
            "{tool} is missing — run scripts/setup.sh"
        );
    }
    let port = dreamster_test_support::free_port().expect("port");
    let driver = Driver(
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
                     "--disable-dev-shm-usage", format!("--window-size={width},{height}")]
        }
    });
    let mut builder = ClientBuilder::rustls().expect("tls");
    builder.capabilities(caps.as_object().expect("object").clone());
    for _ in 0..50 {
        if let Ok(c) = builder.connect(&format!("http://127.0.0.1:{port}")).await {
            return (driver, c);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("chromedriver did not answer within 10 s");
}

pub async fn screenshot(b: &Client, name: &str) {
    let png = b.screenshot().await.expect("screenshot");
    std::fs::write(artifacts().join(format!("{name}.png")), png).expect("save screenshot");
}

/// axe-core's source, from the npm packages scripts/setup.sh installs.
fn axe_source() -> String {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} — run scripts/setup.sh", path.display()))
}

/// Runs axe-core on the current page; returns its serious and critical violations.
pub async fn serious_violations(b: &Client) -> Vec<String> {
    b.execute(&format!("{}\nreturn true;", axe_source()), vec![])
        .await
        .expect("axe-core loads");
    let found = b
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document).then(r => done(r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' — ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))),
               e => done(['axe failed: ' + e]));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    serde_json::from_value(found).expect("violations as strings")
}

/// Waits (up to `secs`) for an element; panics with the page's status line if it never comes.
pub async fn wait_for(b: &Client, css: &str, secs: u64) -> fantoccini::elements::Element {
    match b
        .wait()
        .at_most(Duration::from_secs(secs))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(e) => e,
        Err(e) => {
            let status = text_of(b, "#tx-status").await;
            panic!("{css} did not appear within {secs} s ({e}); status: {status:?}");
        }
    }
}

pub async fn text_of(b: &Client, css: &str) -> String {
    match b.find(Locator::Css(css)).await {
        Ok(e) => e.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}
