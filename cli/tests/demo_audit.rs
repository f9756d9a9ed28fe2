//! `dreamster demo` seeds a catalogue covering every category and state; the auditor's
//! chain-only books agree with the read model the real indexer builds from it, and a
//! tampered read-model row is caught.

mod common;

use std::collections::BTreeSet;

use common::Cli;
use dreamster_test_support::{within, TestDatabase};

#[tokio::test]
async fn demo_then_audit_against_the_read_model() {
    let cli = Cli::start().await;
    let deployed = cli.json(Some("//Alice"), &["deploy"]);
    let demo = cli.json(Some("//Alice"), &["demo", "--overdue-after", "15"]);

    let mut categories = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    for r in demo["releases"].as_array().expect("releases") {
        let rel = r["release"].as_str().expect("address");
        let shown = cli.json(None, &["release", "show", "--release", rel]);
        for p in shown["perks"].as_array().expect("perks") {
            categories.insert(p["category"].as_str().unwrap_or_default().to_string());
        }
        let audit = cli.json(None, &["audit", "release", rel]);
        assert_eq!(audit["ok"], true, "{audit}");
        for s in audit["statuses"].as_object().expect("statuses").keys() {
            statuses.insert(s.clone());
        }
    }
    assert_eq!(categories.len(), 5, "{categories:?}");
    for s in ["pending", "overdue", "delivered", "confirmed", "refunded"] {
        assert!(
            statuses.contains(s),
            "no {s} perk in the demo: {statuses:?}"
        );
    }

    // The real indexer builds the read model from the same chain.
    let db = TestDatabase::create().await.expect("database");
    let registry =
        dreamster_client::parse_address(deployed["registry"].as_str().expect("registry"))
            .expect("address");
    within(
        120,
        "indexing the demo",
        dreamster_indexer::index_once(&cli.node.rpc_url(), db.url(), registry.0),
    )
    .await
    .expect("indexed");

    // Every artist, then every release on its own: every figure the audit reports from
    // the chain is set beside the read model's.
    let mut fields = 0;
    let artists = demo["artists"].as_array().expect("artists");
    let releases = demo["releases"].as_array().expect("releases");
    let subjects = artists
        .iter()
        .map(|a| ("artist", a.as_str().expect("artist")))
        .chain(
            releases
                .iter()
                .map(|r| ("release", r["release"].as_str().expect("release"))),
        );
    for (kind, address) in subjects {
        let audit = cli.json(None, &["audit", kind, address, "--database-url", db.url()]);
        assert_eq!(audit["ok"], true, "{audit}");
        assert_eq!(
            audit["differences"].as_array().map(Vec::len),
            Some(0),
            "{audit}"
        );
        fields += audit["compared_fields"].as_u64().expect("compared_fields");
    }
    assert!(fields >= 500, "only {fields} fields compared");
    println!(
        "auditor: {} artists and {} releases audited against the read model, {fields} fields \
         compared, 0 differences",
        artists.len(),
        releases.len()
    );

    // Ferdie's vinyl (Night Drive, edition 1, perk 1) was refunded after a dispute; the
    // read model is made to say it is still pending.
    let night = demo["releases"][0]["release"]
        .as_str()
        .expect("night drive")
        .to_string();
    let night_id = dreamster_client::parse_address(&night).expect("address");
    let changed = sqlx::query(
        "UPDATE entitlements SET state = 'pending' WHERE release = $1 AND edition = 1 AND perk = 1",
    )
    .bind(night_id.0.to_vec())
    .execute(db.pool())
    .await
    .expect("tamper");
    assert_eq!(changed.rows_affected(), 1);
    let caught = cli.run(
        None,
        &["audit", "release", &night, "--database-url", db.url()],
    );
    assert_eq!(caught.code, 2, "{} / {}", caught.stdout, caught.stderr);
    assert!(
        caught
            .stdout
            .contains("edition 1 perk 1 state is refunded on chain, pending in the read model"),
        "{}",
        caught.stdout
    );
    let as_json = cli.run(
        None,
        &[
            "--json",
            "audit",
            "release",
            &night,
            "--database-url",
            db.url(),
        ],
    );
    let json = as_json.json();
    assert_eq!(json["ok"], false);
    assert_eq!(
        json["differences"].as_array().map(Vec::len),
        Some(1),
        "{json}"
    );
}
