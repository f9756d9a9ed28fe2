//! schemathesis (PyPI, installed by scripts/setup.sh) fuzzes every operation of
//! `/openapi.json` — examples, boundary values, random and stateful sequences — signed
//! in as a holder, against the real read model; no response may be a server error.

mod common;

use std::path::PathBuf;

use common::{serve_story, sign_in};

fn schemathesis() -> PathBuf {
    let path = std::env::var_os("DREAMSTER_SCHEMATHESIS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/dreamster/schemathesis/bin/schemathesis")
        });
    // Never skip: a missing tool is a failure that says how to get it.
    assert!(
        path.is_file(),
        "schemathesis not found at {} — run scripts/setup.sh",
        path.display()
    );
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schemathesis_finds_no_server_error() {
    let tool = schemathesis();
    let served = serve_story().await;
    let token = sign_in(
        &common::http(),
        &served.base,
        &subxt_signer::sr25519::dev::eve(),
    )
    .await;
    let out = tokio::process::Command::new(tool)
        .args([
            "run",
            &format!("{}/openapi.json", served.base),
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "40",
            "--seed",
            "20261125",
            "--no-color",
        ])
        .args(["-H", &format!("Authorization: Bearer {token}")])
        .output()
        .await
        .expect("schemathesis runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: String = stdout
        .lines()
        .rev()
        .take(25)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    println!("{summary}");
    assert!(
        out.status.success(),
        "schemathesis found server errors:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("generated"), "no test cases ran:\n{stdout}");
}
