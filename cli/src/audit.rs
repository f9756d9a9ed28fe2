//! `dreamster audit`: a release's or an artist's books re-derived from the chain alone
//! (the contracts' getters and balances, `dreamster_audit`), checked for consistency, and —
//! with `--database-url` — compared field by field with the indexer's read model.

use std::collections::BTreeMap;

use anyhow::Context;
use dreamster_audit::{compare_release, compare_reputation, snapshot, Comparison, ReleaseBooks};
use dreamster_calls::{registry, release};
use dreamster_types::entitlement::{EntitlementState, PerkStatus};
use dreamster_types::registry_api::Reputation;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, Postgres, Transaction};
use subxt::utils::{AccountId32, H256};

use crate::args::{AuditArgs, AuditCommand};
use crate::artist::{ink_id, subxt_id};
use crate::chain::Session;
use crate::report::Report;
use crate::units::{fmt_amount, fmt_time, now_ms};

/// A release's books as JSON: its totals, statuses, overdue perks and open disputes.
fn summary(b: &ReleaseBooks) -> Value {
    let now = now_ms();
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    let mut overdue = Vec::new();
    let mut disputes = Vec::new();
    for (edition, e) in b.all() {
        let status = b.status(e, now);
        *by_status.entry(status.slug()).or_default() += 1;
        if status == PerkStatus::Overdue {
            overdue.push(json!({ "edition": edition, "perk": e.perk, "deadline": e.deadline, "deadline_utc": fmt_time(e.deadline), "escrow": e.escrow.to_string() }));
        }
        if status == PerkStatus::Disputed {
            disputes.push(json!({ "edition": edition, "perk": e.perk }));
        }
    }
    json!({
        "release": b.address.to_string(), "title": b.terms.title, "artist": b.artist.to_string(),
        "editions": b.owners.len(), "perks": b.perks.len(),
        "escrow_held": b.escrow_held.to_string(), "artist_withdrawable": b.artist_withdrawable.to_string(),
        "refunds_owed": b.refunds_owed.to_string(), "balance": b.balance.to_string(),
        "refunded": b.sum(|e| e.state == EntitlementState::Refunded).to_string(),
        "refunded_count": b.all().filter(|(_, e)| e.state == EntitlementState::Refunded).count(),
        "statuses": by_status, "overdue": overdue, "open_disputes": disputes, "findings": b.findings,
    })
}

/// A release's books in a few lines.
fn books_text(b: &ReleaseBooks) -> String {
    let v = summary(b);
    let now = now_ms();
    let overdue = b
        .all()
        .filter(|(_, e)| b.status(e, now) == PerkStatus::Overdue)
        .count();
    let refunded = b
        .all()
        .filter(|(_, e)| e.state == EntitlementState::Refunded)
        .count();
    let mut t = format!(
        "{} ({}) by {}\n  {} editions, {} perks; escrow held {}, artist may withdraw {}, refunds owed {}, balance {}\n  refunded {} perk(s) for {}; {} overdue; {} open dispute(s); statuses {}\n",
        b.terms.title, b.address, b.artist, b.owners.len(), b.perks.len(),
        fmt_amount(b.escrow_held), fmt_amount(b.artist_withdrawable), fmt_amount(b.refunds_owed),
        fmt_amount(b.balance), refunded, fmt_amount(b.sum(|e| e.state == EntitlementState::Refunded)),
        overdue, v["open_disputes"].as_array().map_or(0, Vec::len), v["statuses"],
    );
    for f in &b.findings {
        t.push_str(&format!("  ✗ {f}\n"));
    }
    t
}

fn reputation_json(r: &Reputation) -> Value {
    json!({
        "delivered_on_time": r.delivered_on_time, "delivered_late": r.delivered_late, "refunded_overdue": r.refunded_overdue,
        "disputes_won": r.disputes_won, "disputes_lost": r.disputes_lost, "rating_sum": r.rating_sum, "rating_count": r.rating_count,
        "cancelled": r.cancelled, "unclaimed": r.unclaimed, "rulings_expired": r.rulings_expired,
        "self_dealt": r.self_dealt, "self_rating_sum": r.self_rating_sum, "self_rating_count": r.self_rating_count,
        "on_time_bps": r.on_time_bps(),
    })
}

/// A release's books at block `at`.
async fn read_books(s: &Session, at: H256, rel: &AccountId32) -> anyhow::Result<ReleaseBooks> {
    ReleaseBooks::read(&s.node, at, rel)
        .await
        .with_context(|| format!("reading release {rel} (is it deployed on this chain?)"))
}

async fn connect(url: &Option<String>) -> anyhow::Result<Option<PgConnection>> {
    match url {
        None => Ok(None),
        Some(url) => Ok(Some(
            PgConnection::connect(url)
                .await
                .context("connecting to the read model")?,
        )),
    }
}

fn finish(
    mut text: String,
    mut json: Value,
    findings: usize,
    comparison: Option<Comparison>,
) -> Report {
    let mut differs = false;
    if let Some(cmp) = comparison {
        if cmp.differences.is_empty() {
            text.push_str(&format!(
                "read model agrees with the chain on all {} compared fields\n",
                cmp.compared
            ));
        }
        for d in &cmp.differences {
            text.push_str(&format!("≠ {d}\n"));
        }
        differs = !cmp.differences.is_empty();
        json["compared_fields"] = json!(cmp.compared);
        json["differences"] = json!(cmp.differences);
    }
    let failed = findings > 0 || differs;
    json["ok"] = json!(!failed);
    let mut report = Report::new(text.trim_end().to_string(), json);
    report.failed = failed;
    report
}

pub async fn run(s: &Session, cmd: &AuditCommand) -> anyhow::Result<Report> {
    match cmd {
        AuditCommand::Release(a) => audit_release(s, a).await,
        AuditCommand::Artist(a) => audit_artist(s, a).await,
    }
}

/// The block an audit reads the chain at, and the read model's snapshot to compare with:
/// with a read model, the block its cursor names (so what happened since is never a
/// difference); without, the node's best block.
async fn audit_point<'c>(
    s: &Session,
    db: Option<&'c mut PgConnection>,
) -> anyhow::Result<(Option<Transaction<'c, Postgres>>, H256)> {
    match db {
        Some(conn) => {
            let (tx, block) = snapshot(conn).await?;
            let block =
                block.context("the read model is empty: the indexer has written nothing yet")?;
            Ok((Some(tx), block.hash))
        }
        None => Ok((None, s.node.best_block().await?)),
    }
}

/// A getter's answer at block `at`.
async fn query_at<T: parity_scale_codec::Decode>(
    s: &Session,
    at: H256,
    contract: &AccountId32,
    input: Vec<u8>,
) -> anyhow::Result<T> {
    s.node
        .query_at(at, contract, &input)
        .await
        .with_context(|| format!("reading contract {contract} (is it deployed on this chain?)"))
}

async fn audit_release(s: &Session, a: &AuditArgs) -> anyhow::Result<Report> {
    let mut db = connect(&a.database_url).await?;
    let (mut tx, at) = audit_point(s, db.as_mut()).await?;
    let books = read_books(s, at, &a.address).await?;
    let registry: dreamster_types::AccountId =
        query_at(s, at, &a.address, release::registry()).await?;
    let reputation: Reputation = query_at(
        s,
        at,
        &subxt_id(&registry),
        registry::reputation(ink_id(&books.artist)),
    )
    .await?;
    let mut comparison = None;
    if let Some(tx) = tx.as_mut() {
        let mut cmp = compare_release(tx, &books).await?;
        cmp.extend(compare_reputation(tx, &books.artist, &reputation).await?);
        comparison = Some(cmp);
    }
    let text = format!(
        "{}  artist reputation {}\n",
        books_text(&books),
        reputation_json(&reputation)
    );
    let mut json = summary(&books);
    json["reputation"] = reputation_json(&reputation);
    json["block_hash"] = json!(format!("{at:?}"));
    Ok(finish(text, json, books.findings.len(), comparison))
}

async fn audit_artist(s: &Session, a: &AuditArgs) -> anyhow::Result<Report> {
    let registry = s.registry()?;
    let mut db = connect(&a.database_url).await?;
    let (mut tx, at) = audit_point(s, db.as_mut()).await?;
    let profile: Option<dreamster_types::registry_api::ArtistProfile> =
        query_at(s, at, &registry, registry::artist(ink_id(&a.address))).await?;
    let profile = profile
        .with_context(|| format!("{} is not a registered artist of this registry", a.address))?;
    let reputation: Reputation =
        query_at(s, at, &registry, registry::reputation(ink_id(&a.address))).await?;
    let mut text = format!(
        "{} ({}) — reputation {}\n",
        profile.name,
        a.address,
        reputation_json(&reputation)
    );
    let mut releases = Vec::new();
    let mut findings = 0;
    let mut comparison = tx.as_ref().map(|_| Comparison::default());
    let all = dreamster_audit::registry_releases(&s.node, at, &registry).await?;
    for rel in all {
        let artist: Option<dreamster_types::AccountId> =
            query_at(s, at, &registry, registry::artist_of_release(ink_id(&rel))).await?;
        if artist.map(|x| subxt_id(&x)) != Some(a.address.clone()) {
            continue;
        }
        let books = read_books(s, at, &rel).await?;
        findings += books.findings.len();
        text.push_str(&books_text(&books));
        if let (Some(tx), Some(cmp)) = (tx.as_mut(), comparison.as_mut()) {
            cmp.extend(compare_release(tx, &books).await?);
        }
        releases.push(summary(&books));
    }
    if let (Some(tx), Some(cmp)) = (tx.as_mut(), comparison.as_mut()) {
        cmp.extend(compare_reputation(tx, &a.address, &reputation).await?);
    }
    let json = json!({ "artist": a.address.to_string(), "name": profile.name, "reputation": reputation_json(&reputation), "releases": releases });
    Ok(finish(text, json, findings, comparison))
}
