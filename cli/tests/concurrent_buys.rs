//! Issue 17, finding 7: the CLI told each of two fans buying at once "bought edition N" —
//! the same N, from its dry run. It now reports what the included transaction's events say.

mod common;

use common::Cli;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fans_buying_at_once_are_told_their_own_editions() {
    let cli = Cli::start().await;
    cli.json(Some("//Alice"), &["deploy"]);
    cli.run(Some("//Bob"), &["artist", "register", "--name", "Nova"])
        .ok();
    let rel = cli.json(
        Some("//Bob"),
        &["release", "create", "--title", "Rush", "--price", "10"],
    );
    let r = rel["release"].as_str().expect("release").to_string();
    cli.run(
        Some("//Bob"),
        &[
            "perk",
            "add",
            "--release",
            &r,
            "--kind",
            "limited_vinyl",
            "--title",
            "Vinyl",
            "--value",
            "30",
            "--escrow",
            "30",
            "--delivery",
            "physical",
            "--deadline",
            "+60d",
        ],
    )
    .ok();
    // All dry-run against the same chain state, so all three dry runs answer "edition 0".
    let fans = ["//Charlie", "//Dave", "//Eve"];
    let running: Vec<_> = fans
        .iter()
        .map(|fan| {
            cli.command(Some(fan))
                .args(["--json", "buy", "--release", &r])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("buy starts")
        })
        .collect();
    let mut told = Vec::new();
    for child in running {
        let out = child.wait_with_output().expect("buy ends");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        told.push(report["edition"].as_u64().expect("edition"));
        assert_eq!(
            report["perks"],
            serde_json::json!([0]),
            "the perks the sale granted: {report}"
        );
    }
    let mut distinct = told.clone();
    distinct.sort_unstable();
    assert_eq!(
        distinct,
        [0, 1, 2],
        "each fan is told a different edition: {told:?}"
    );
    // And each is told the edition the chain says they own.
    for (fan, edition) in fans.iter().zip(&told) {
        let me = cli.json(Some(fan), &["address"]);
        let mine = cli.json(
            None,
            &[
                "perks",
                "--owner",
                me["address"].as_str().expect("address"),
                "--release",
                &r,
            ],
        );
        let owned: Vec<u64> = mine["perks"]
            .as_array()
            .map(|e| e.iter().filter_map(|x| x["edition"].as_u64()).collect())
            .unwrap_or_default();
        assert_eq!(owned, [*edition], "{fan}: {mine}");
    }
}
