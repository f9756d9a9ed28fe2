//! Every subcommand against the real node: the artist's, the fan's, the arbiter's and the
//! auditor's, their refusals as one line, and that a refused call costs no fee.

mod common;

use common::Cli;
use dreamster_client::Node;

const ALICE: &str = "//Alice";
const BOB: &str = "//Bob";
const CHARLIE: &str = "//Charlie";
const DAVE: &str = "//Dave";
const FERDIE: &str = "//Ferdie";
const EVE_ADDR: &str = "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw";
const FERDIE_ADDR: &str = "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL";

#[tokio::test]
async fn every_command_on_a_real_node() {
    let cli = Cli::start().await;
    let node = Node::connect(&cli.node.rpc_url()).await.expect("client");

    let deployed = cli.json(Some(ALICE), &["deploy"]);
    assert!(cli.config_path().exists());
    let again = cli.json(Some(ALICE), &["deploy", "--reuse"]);
    assert_eq!(again["reused"], true);
    assert_eq!(again["registry"], deployed["registry"]);

    cli.run(Some(ALICE), &["arbiter", FERDIE_ADDR]).ok();
    cli.run(Some(BOB), &["arbiter", EVE_ADDR])
        .refused("only the registry's owner");
    cli.run(Some(BOB), &["artist", "register", "--name", "Nova Lights"])
        .ok();
    cli.run(Some(BOB), &["artist", "register", "--name", "Nova"])
        .refused("already a registered artist");
    cli.run(
        Some(CHARLIE),
        &["release", "create", "--title", "X", "--price", "1"],
    )
    .refused("not a registered artist");

    let rel = cli.json(
        Some(BOB),
        &[
            "release",
            "create",
            "--title",
            "Night Drive",
            "--price",
            "10",
            "--dispute-days",
            "8",
        ],
    );
    let rel = rel["release"]
        .as_str()
        .expect("release address")
        .to_string();
    let r = rel.as_str();
    cli.run(
        Some(BOB),
        &[
            "perk",
            "add",
            "--release",
            r,
            "--kind",
            "unreleased_music",
            "--title",
            "Demo",
            "--value",
            "5",
            "--escrow",
            "20",
            "--delivery",
            "automatic",
            "--secret",
            "https://x.invalid/demo-8f3kq9x2m1",
            "--deadline",
            "+30d",
        ],
    )
    .ok();
    cli.run(
        Some(BOB),
        &[
            "perk",
            "add",
            "--release",
            r,
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
    cli.run(
        Some(BOB),
        &[
            "perk",
            "add",
            "--release",
            r,
            "--kind",
            "meet_and_greet",
            "--title",
            "Meet",
            "--value",
            "50",
            "--escrow",
            "10",
            "--delivery",
            "event",
            "--deadline",
            "+12s",
        ],
    )
    .ok();
    cli.run(
        Some(BOB),
        &[
            "perk",
            "add",
            "--release",
            r,
            "--kind",
            "custom",
            "--title",
            "Too much",
            "--value",
            "1",
            "--escrow",
            "50",
            "--delivery",
            "event",
            "--deadline",
            "+1d",
            "--category",
            "community",
        ],
    )
    .refused("escrow shares would exceed 100 %");
    cli.run(
        Some(CHARLIE),
        &[
            "perk",
            "add",
            "--release",
            r,
            "--kind",
            "fan_event",
            "--title",
            "Mine",
            "--value",
            "1",
            "--escrow",
            "1",
            "--delivery",
            "event",
            "--deadline",
            "+1d",
        ],
    )
    .refused("only the release's artist");

    let shown = cli.json(None, &["release", "show", "--release", r]);
    assert_eq!(shown["perks"].as_array().map(Vec::len), Some(3));
    assert_eq!(shown["total_perk_value"], "85000000000000");

    assert_eq!(
        cli.json(Some(CHARLIE), &["buy", "--release", r])["edition"],
        0
    );
    assert_eq!(cli.json(Some(DAVE), &["buy", "--release", r])["edition"], 1);

    // A refused call is dry-run only: no fee.
    let charlie =
        dreamster_client::parse_address("5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y")
            .expect("address");
    let before = node.free_balance(&charlie).await.expect("balance");
    cli.run(
        Some(CHARLIE),
        &["refund", "--release", r, "--edition", "0", "--perk", "2"],
    )
    .refused("this perk's deadline has not passed yet: refundable from 20");
    assert_eq!(
        node.free_balance(&charlie).await.expect("balance"),
        before,
        "a refused call cost a fee"
    );

    cli.run(
        Some(CHARLIE),
        &["unlock", "--release", r, "--edition", "0", "--perk", "0"],
    )
    .ok();
    cli.run(
        Some(DAVE),
        &["unlock", "--release", r, "--edition", "0", "--perk", "0"],
    )
    .refused("you do not hold this edition");
    cli.run(
        Some(CHARLIE),
        &["confirm", "--release", r, "--edition", "0", "--perk", "0"],
    )
    .ok();
    cli.run(
        Some(CHARLIE),
        &[
            "rate",
            "--release",
            r,
            "--edition",
            "0",
            "--perk",
            "0",
            "--stars",
            "5",
        ],
    )
    .ok();
    cli.run(
        Some(CHARLIE),
        &[
            "rate",
            "--release",
            r,
            "--edition",
            "0",
            "--perk",
            "0",
            "--stars",
            "4",
        ],
    )
    .refused("already rated");
    let bad_stars = cli.run(
        Some(CHARLIE),
        &[
            "rate",
            "--release",
            r,
            "--edition",
            "0",
            "--perk",
            "0",
            "--stars",
            "9",
        ],
    );
    assert_eq!(
        bad_stars.code, 2,
        "clap refuses out-of-range stars: {}",
        bad_stars.stderr
    );

    cli.run(
        Some(CHARLIE),
        &[
            "deliver",
            "--release",
            r,
            "--edition",
            "0",
            "--perk",
            "1",
            "--proof",
            "x",
        ],
    )
    .refused("only the release's artist");
    cli.run(
        Some(BOB),
        &[
            "deliver",
            "--release",
            r,
            "--edition",
            "0",
            "--perk",
            "0",
            "--proof",
            "x",
        ],
    )
    .refused("delivered by the holder's unlock");
    cli.run(
        Some(BOB),
        &[
            "deliver",
            "--release",
            r,
            "--edition",
            "0",
            "--perk",
            "1",
            "--proof",
            "DHL 123",
        ],
    )
    .ok();
    cli.run(
        Some(CHARLIE),
        &[
            "dispute",
            "--release",
            r,
            "--edition",
            "0",
            "--perk",
            "1",
            "--reason",
            "broken",
        ],
    )
    .ok();
    cli.run(
        Some(ALICE),
        &[
            "resolve",
            "--release",
            r,
            "--edition",
            "0",
            "--perk",
            "1",
            "--ruling",
            "artist",
        ],
    )
    .refused("only the arbiters named when this release was created");
    cli.run(
        Some(BOB),
        &[
            "resolve",
            "--release",
            r,
            "--edition",
            "0",
            "--perk",
            "1",
            "--ruling",
            "artist",
        ],
    )
    .refused("may not rule here");
    cli.run(
        Some(FERDIE),
        &[
            "resolve",
            "--release",
            r,
            "--edition",
            "0",
            "--perk",
            "1",
            "--ruling",
            "refund",
        ],
    )
    .ok();
    let refunded = cli.json(
        Some(CHARLIE),
        &["refund", "--release", r, "--edition", "0", "--perk", "1"],
    );
    assert_eq!(refunded["amount"], "3000000000000");

    cli.run(
        Some(CHARLIE),
        &[
            "transfer",
            "--release",
            r,
            "--edition",
            "1",
            "--to",
            EVE_ADDR,
        ],
    )
    .refused("only the edition's owner");
    cli.run(
        Some(DAVE),
        &[
            "transfer",
            "--release",
            r,
            "--edition",
            "1",
            "--to",
            EVE_ADDR,
        ],
    )
    .ok();
    let eve = cli.json(None, &["perks", "--owner", EVE_ADDR]);
    let eve_perks = eve["perks"].as_array().expect("perks");
    assert_eq!(eve_perks.len(), 3);
    assert!(eve_perks.iter().all(|p| p["edition"] == 1));
    // The meet & greet's deadline is seconds away: pending or already overdue.
    let open = |p: &serde_json::Value| p["status"] == "pending" || p["status"] == "overdue";
    assert!(eve_perks[..2].iter().all(|p| p["status"] == "pending") && open(&eve_perks[2]));
    let mine = cli.json(Some(CHARLIE), &["perks", "--release", r]);
    let states: Vec<_> = mine["perks"]
        .as_array()
        .expect("perks")
        .iter()
        .map(|p| p["status"].clone())
        .collect();
    assert_eq!(states[..2], ["confirmed", "refunded"]);
    assert!(open(&mine["perks"][2]));

    // After the deadline the refund goes through (the CLI first seals a block so the
    // dev chain's clock catches up). The deadline is the chain's, as the CLI read it; the
    // dev node stamps each block with the wall clock, so once that has passed the deadline
    // the sealed block has too.
    let deadline_ms = eve_perks[2]["deadline"]
        .as_u64()
        .expect("the perk's deadline (ms)");
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while unix_ms() <= deadline_ms {
        assert!(
            std::time::Instant::now() < give_up,
            "the meet & greet's deadline {deadline_ms} is more than 60 s away"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let overdue = cli.json(
        Some("//Eve"),
        &["refund", "--release", r, "--edition", "1", "--perk", "2"],
    );
    assert_eq!(overdue["amount"], "1000000000000");

    let withdrawn = cli.json(Some(BOB), &["withdraw", "--release", r]);
    assert!(withdrawn["amount"].as_str().is_some_and(|a| a != "0"));
    cli.run(Some(BOB), &["withdraw", "--release", r])
        .refused("nothing to withdraw");

    let audit = cli.json(None, &["audit", "release", r]);
    assert_eq!(audit["ok"], true, "{audit}");
    assert_eq!(audit["refunded_count"], 2);
    assert_eq!(audit["editions"], 2);
    let artist = cli.json(
        None,
        &[
            "audit",
            "artist",
            "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
        ],
    );
    assert_eq!(artist["reputation"]["refunded_overdue"], 1);
    assert_eq!(artist["reputation"]["disputes_lost"], 1);
    assert_eq!(artist["reputation"]["rating_sum"], 5);

    // A guessable secret is refused before anything is signed (issue 17, finding 3).
    let rel_id = dreamster_client::parse_address(r).expect("address");
    let before = node.perks(&rel_id).await.expect("perks").len();
    let weak = cli.run(
        Some(BOB),
        &[
            "perk",
            "add",
            "--release",
            r,
            "--kind",
            "unreleased_music",
            "--title",
            "Demo",
            "--value",
            "1",
            "--escrow",
            "5",
            "--delivery",
            "automatic",
            "--secret",
            "https://x.invalid/1",
            "--deadline",
            "+7d",
        ],
    );
    assert_eq!(weak.code, 1);
    assert!(weak.stderr.contains("too easy to guess"), "{}", weak.stderr);
    assert_eq!(
        node.perks(&rel_id).await.expect("perks").len(),
        before,
        "nothing was added"
    );

    // A pool of per-fan codes: the Merkle root of the file's salted codes goes on chain,
    // the pool key beside the file (0600), for the upload.
    let codes = cli.dir.path().join("codes.txt");
    let pool = ["VIP-7F3A-K2Q9", "VIP-91C2-P8M4", "VIP-04BE-Z5T1"];
    std::fs::write(&codes, format!("{}\n{}\n\n{}\n", pool[0], pool[1], pool[2]))
        .expect("codes file");
    // Per-fan codes are secrets: the file is the artist's alone.
    std::fs::set_permissions(&codes, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod 600");
    let codes_path = codes.to_string_lossy().to_string();
    let add_pool_perk = || {
        cli.run(
            Some(BOB),
            &[
                "perk",
                "add",
                "--release",
                r,
                "--kind",
                "private_chat",
                "--title",
                "Discord",
                "--value",
                "1",
                "--escrow",
                "5",
                "--delivery",
                "automatic",
                "--codes-file",
                &codes_path,
                "--deadline",
                "+7d",
            ],
        )
    };
    let added = add_pool_perk();
    added.ok();
    let key_file = cli.dir.path().join("codes.txt.salt");
    let key_text = std::fs::read_to_string(&key_file).expect("the pool key kept beside the codes");
    assert!(
        added.stdout.contains(key_text.trim()),
        "the key is reported: {}",
        added.stdout
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).expect("meta").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let key = dreamster_types::commitment::parse_salt(&key_text).expect("a salt");
    let root = dreamster_types::merkle::pool_root(&pool, Some(&key)).expect("root");
    let perks: Vec<dreamster_types::perk::Perk> = node.perks(&rel_id).await.expect("perks");
    assert_eq!(
        perks[3].terms.delivery,
        dreamster_types::perk::DeliveryMethod::Automatic { content_hash: root }
    );
    // One code per edition: the perk binds as many editions as there are codes.
    assert_eq!(perks[3].terms.quantity_limit, Some(3));
    std::fs::write(&codes, format!("{}\n{}\n{}\n", pool[0], pool[1], pool[0])).expect("codes file");
    let repeated = add_pool_perk();
    assert_eq!(repeated.code, 1);
    assert!(
        repeated
            .stderr
            .contains(&format!("the code \"{}\" is in the pool twice", pool[0])),
        "{}",
        repeated.stderr
    );
    std::fs::write(&codes, "VIP-1\nVIP-2\nVIP-3\n").expect("codes file");
    let guessable = add_pool_perk();
    assert_eq!(guessable.code, 1);
    assert!(
        guessable.stderr.contains("code 1 is too easy to guess"),
        "{}",
        guessable.stderr
    );
    // A second perk from the same file reuses the kept key (no run ever replaces a salt the
    // first perk's upload needs).
    let second = ["VIP-5D2E-H7R3", "VIP-8A1C-W4N6"];
    std::fs::write(&codes, format!("{}\n{}\n", second[0], second[1])).expect("codes file");
    add_pool_perk().ok();
    assert_eq!(
        std::fs::read_to_string(&key_file).expect("the pool key"),
        key_text
    );
    let perks: Vec<dreamster_types::perk::Perk> = node.perks(&rel_id).await.expect("perks");
    assert_eq!(
        perks[4].terms.delivery,
        dreamster_types::perk::DeliveryMethod::Automatic {
            content_hash: dreamster_types::merkle::pool_root(&second, Some(&key)).expect("root")
        }
    );

    // A kept key spoilt (cut short, edited by hand): refused, naming the file, before
    // anything is signed; the file is left for its owner to mend.
    std::fs::write(&key_file, "0x0123 not a salt\n").expect("spoil the key");
    let before = node.perks(&rel_id).await.expect("perks").len();
    let spoilt = add_pool_perk();
    assert_eq!(spoilt.code, 1, "{}", spoilt.stdout);
    assert!(
        spoilt.stderr.contains("codes.txt.salt"),
        "the error names the key's file: {}",
        spoilt.stderr
    );
    assert_eq!(
        node.perks(&rel_id).await.expect("perks").len(),
        before,
        "nothing was added"
    );
    assert_eq!(
        std::fs::read_to_string(&key_file).expect("the key file"),
        "0x0123 not a salt\n",
        "the spoilt key is not replaced"
    );

    // Script-friendly errors.
    let err = cli.run(Some(CHARLIE), &["--json", "buy", "--release", EVE_ADDR]);
    assert_eq!(err.code, 1);
    assert_eq!(err.json()["error"], "failed");
    let refusal = cli.run(Some(BOB), &["--json", "withdraw", "--release", r]);
    assert_eq!(refusal.json()["error"], "refused");
}

#[test]
fn help_everywhere_and_bad_input_is_one_usage_line() {
    let dir = tempfile::tempdir().expect("dir");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dreamster"))
            .args(args)
            .env("DREAMSTER_CONFIG", dir.path().join("none.json"))
            .env_remove("DREAMSTER_SURI")
            .output()
            .expect("runs")
    };
    for cmd in [
        vec![],
        vec!["deploy"],
        vec!["artist", "register"],
        vec!["release", "create"],
        vec!["release", "show"],
        vec!["perk", "add"],
        vec!["perk", "wizard"],
        vec!["deliver"],
        vec!["withdraw"],
        vec!["buy"],
        vec!["perks"],
        vec!["unlock"],
        vec!["confirm"],
        vec!["rate"],
        vec!["dispute"],
        vec!["refund"],
        vec!["transfer"],
        vec!["resolve"],
        vec!["audit", "release"],
        vec!["audit", "artist"],
        vec!["demo"],
        vec!["arbiter"],
        vec!["templates"],
        vec!["address"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let out = run(&args);
        assert!(out.status.success(), "{cmd:?} --help failed");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage: dreamster"),
            "{cmd:?}"
        );
    }
    for (args, needle) in [
        (vec!["buy", "--release", "nope"], "is not an SS58 address"),
        (
            vec!["release", "create", "--title", "t", "--price", "abc"],
            "is not an amount",
        ),
        (
            vec!["release", "create", "--title", "t", "--price", "0"],
            "must be more than zero",
        ),
        (
            vec![
                "perk",
                "add",
                "--release",
                EVE_ADDR,
                "--kind",
                "x",
                "--title",
                "t",
                "--value",
                "1",
                "--escrow",
                "101",
                "--delivery",
                "event",
                "--deadline",
                "+1d",
            ],
            "is not a percentage",
        ),
        (
            vec![
                "perk",
                "add",
                "--release",
                EVE_ADDR,
                "--kind",
                "x",
                "--title",
                "t",
                "--value",
                "1",
                "--escrow",
                "1",
                "--delivery",
                "event",
                "--deadline",
                "someday",
            ],
            "is not a time",
        ),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.lines().next().is_some_and(|l| l.starts_with("error: ")),
            "{err}"
        );
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    // An automatic perk without anything to commit to: refused before any connection.
    let no_secret = run(&[
        "perk",
        "add",
        "--release",
        EVE_ADDR,
        "--kind",
        "x",
        "--title",
        "t",
        "--value",
        "1",
        "--escrow",
        "1",
        "--delivery",
        "automatic",
        "--deadline",
        "+1d",
    ]);
    assert_eq!(no_secret.status.code(), Some(1));
    let err = String::from_utf8_lossy(&no_secret.stderr);
    assert_eq!(
        err.trim(),
        "error: an automatic perk needs --secret-file, --secret, --content-hash or --codes-file"
    );
    let no_account = run(&["address"]);
    assert_eq!(no_account.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&no_account.stderr).contains("no account to sign with"));
    let no_node = run(&[
        "--rpc-url",
        "ws://127.0.0.1:1",
        "release",
        "show",
        "--release",
        EVE_ADDR,
    ]);
    let err = String::from_utf8_lossy(&no_node.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: cannot reach the node at ws://127.0.0.1:1"),
        "{err}"
    );
}

/// The wall clock in ms since the Unix epoch, the unit of the chain's timestamps.
fn unix_ms() -> u64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    u64::try_from(since.as_millis()).expect("ms fit in u64")
}
