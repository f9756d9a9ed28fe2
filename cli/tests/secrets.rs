//! Issue 17, finding 7: secrets on the command line show in `ps` and the shell history,
//! a secret file others can read is no secret, and ws:// to another machine sends
//! transactions in the clear. None of these need a node: each is settled before connecting.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

const PHRASE: &str = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

fn dreamster(dir: &tempfile::TempDir, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dreamster"))
        .args(args)
        .env("DREAMSTER_CONFIG", dir.path().join("none.json"))
        .env_remove("DREAMSTER_SURI")
        .env_remove("DREAMSTER_RPC_URL")
        .output()
        .expect("runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_secret_file_must_be_private() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("suri");
    std::fs::write(&file, format!("{PHRASE}\n")).expect("write");
    let path = file.to_str().expect("path");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let open = dreamster(&dir, &["--suri-file", path, "address"]);
    assert!(!open.status.success());
    assert!(stderr(&open).contains("chmod 600"), "{}", stderr(&open));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let private = dreamster(&dir, &["--suri-file", path, "address"]);
    assert!(private.status.success(), "{}", stderr(&private));
    assert!(
        stderr(&private).is_empty(),
        "no warning for a private file: {}",
        stderr(&private)
    );
}

#[test]
fn a_secret_on_the_command_line_is_warned_about() {
    let dir = tempfile::tempdir().expect("dir");
    let typed = dreamster(&dir, &["--suri", PHRASE, "address"]);
    assert!(typed.status.success());
    assert!(
        stderr(&typed).starts_with("warning: --suri puts your secret in `ps`"),
        "{}",
        stderr(&typed)
    );
    // A dev chain's well-known account is no secret.
    let dev = dreamster(&dir, &["--suri", "//Alice", "address"]);
    assert!(stderr(&dev).is_empty(), "{}", stderr(&dev));
    // From the environment, it is not in `ps` or the history.
    let from_env = Command::new(env!("CARGO_BIN_EXE_dreamster"))
        .arg("address")
        .env("DREAMSTER_CONFIG", dir.path().join("none.json"))
        .env("DREAMSTER_SURI", PHRASE)
        .output()
        .expect("runs");
    assert!(
        from_env.status.success() && stderr(&from_env).is_empty(),
        "{}",
        stderr(&from_env)
    );
    // A perk's secret too (the run then fails for want of a node, after the warning).
    let perk = dreamster(
        &dir,
        &[
            "--rpc-url",
            "ws://127.0.0.1:9",
            "--suri",
            "//Bob",
            "perk",
            "add",
            "--release",
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
            "--kind",
            "unreleased_music",
            "--title",
            "T",
            "--value",
            "1",
            "--escrow",
            "10",
            "--delivery",
            "automatic",
            "--secret",
            "https://example.com/secret",
            "--deadline",
            "+30d",
        ],
    );
    assert!(
        stderr(&perk).starts_with("warning: --secret puts the perk's secret"),
        "{}",
        stderr(&perk)
    );
}

#[test]
fn unencrypted_connections_to_other_machines_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let remote = dreamster(
        &dir,
        &[
            "--rpc-url",
            "ws://node.example.invalid:9944",
            "perks",
            "--owner",
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
        ],
    );
    assert!(!remote.status.success());
    assert!(
        stderr(&remote).contains("is unencrypted (ws://) to another machine"),
        "{}",
        stderr(&remote)
    );
    // Asked for, it goes on to connect (and fails only because the name does not resolve).
    let allowed = dreamster(
        &dir,
        &[
            "--allow-insecure-ws",
            "--rpc-url",
            "ws://node.example.invalid:9944",
            "perks",
            "--owner",
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
        ],
    );
    assert!(!allowed.status.success());
    assert!(
        !stderr(&allowed).contains("unencrypted"),
        "{}",
        stderr(&allowed)
    );
    // wss:// anywhere and ws:// on this machine are fine (no node here: a connect error).
    for url in [
        "wss://node.example.invalid",
        "ws://127.0.0.1:9",
        "ws://localhost:9",
    ] {
        let out = dreamster(
            &dir,
            &[
                "--rpc-url",
                url,
                "perks",
                "--owner",
                "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
            ],
        );
        assert!(
            !stderr(&out).contains("unencrypted"),
            "{url}: {}",
            stderr(&out)
        );
    }
}
