//! The product as a user meets it, for the browser story and the click bench: the real
//! `dreamster-api` binary (offering the dev wallet) over a read model the real indexer
//! keeps following, and the page's wallet bar.

use std::process::{Command, Stdio};
use std::time::Duration;

use dreamster_indexer::{store::Store, Follower, FollowerConfig, IndexerError};
use fantoccini::Client;
use subxt::utils::AccountId32;

use super::chromium::wait_for;

/// The API process; killed with this value.
pub struct Api {
    child: std::process::Child,
    pub base: String,
    pub log: tempfile::NamedTempFile,
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the API binary with `--dev-wallet` and waits until `/api/chain` answers.
pub async fn spawn_api(database_url: &str, rpc_url: &str) -> Api {
    let port = dreamster_test_support::free_port().expect("port");
    let base = format!("http://127.0.0.1:{port}");
    let log = tempfile::NamedTempFile::new().expect("log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_dreamster-api"));
    command
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--database-url",
            database_url,
            "--rpc-url",
            rpc_url,
            "--dev-wallet",
            // Any free port: tests run several APIs at once.
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log.reopen().expect("log"));
    dreamster_test_support::die_with_parent(&mut command);
    let child = command.spawn().expect("the API starts");
    let api = Api { child, base, log };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !matches!(http.get(format!("{}/api/chain", api.base)).send().await, Ok(r) if r.status().is_success())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the API never answered /api/chain: {}",
            std::fs::read_to_string(api.log.path()).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    api
}

/// The indexer following the chain into `database_url`, until [`Indexer::stop`].
pub struct Indexer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), IndexerError>>,
}

impl Indexer {
    pub async fn follow(rpc_url: &str, database_url: &str, registry: &AccountId32) -> Indexer {
        let store = Store::open(database_url, registry.0).await.expect("store");
        let config = FollowerConfig {
            rpc_url: rpc_url.into(),
            ..FollowerConfig::default()
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            Follower::new(config, store)
                .run(async {
                    let _ = stopped.await;
                })
                .await
        });
        Indexer { stop, task }
    }

    /// Stops it; panics if it failed meanwhile.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.task
            .await
            .expect("indexer task")
            .expect("the indexer ran without error");
    }
}

/// Opens `url` and waits until its wallet bar lists the accounts.
pub async fn open(b: &Client, url: &str) {
    b.goto(url)
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"));
    wait_for(b, "#account", 20).await;
}

/// Picks a dev account in the page's wallet bar (by its name, e.g. "Bob").
pub async fn pick(b: &Client, name: &str) {
    wait_for(b, "#account", 20).await;
    let picked = b
        .execute(
            "const s = document.getElementById('account');
             const o = [...s.options].find(o => o.text.startsWith(arguments[0] + ' (dev)'));
             if (!o) return false;
             s.value = o.value; s.dispatchEvent(new Event('change')); return true;",
            vec![serde_json::json!(name)],
        )
        .await
        .expect("pick");
    assert_eq!(picked, true, "no dev account {name} in the wallet bar");
    // The bar redraws with the choice.
    wait_for(b, "#sign-in, #sign-out", 10).await;
}
