//! `dreamster audit`: a release's or an artist's books re-derived from the chain alone
//! (the contracts' getters and balances), checked for consistency, and — with
//! `--database-url` — compared field by field with the indexer's read model.

use std::collections::BTreeMap;

use anyhow::Context;
use dreamster_calls::{registry, release};
use dreamster_types::entitlement::{Clock, Entitlement, EntitlementState, PerkStatus};
use dreamster_types::perk::{DeliveryMethod, Perk};
use dreamster_types::registry_api::Reputation;
use dreamster_types::release::SaleTerms;
use dreamster_types::stored::{clean, millis};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, Row};
use subxt::utils::AccountId32;

use crate::args::{AuditArgs, AuditCommand};
use crate::artist::{ink_id, subxt_id};
use crate::chain::Session;
use crate::fan::all_releases;
use crate::report::Report;
use crate::units::{fmt_amount, fmt_time, now_ms};

/// A release as its contract tells it.
pub struct ReleaseBooks {
    pub address: AccountId32,
    pub artist: AccountId32,
    pub terms: SaleTerms,
    pub perks: Vec<Perk>,
    /// Who may rule on its disputes, fixed when it was created.
    pub arbiters: Vec<AccountId32>,
    pub owners: Vec<AccountId32>,
    /// Per edition, its entitlements.
    pub entitlements: Vec<Vec<Entitlement>>,
    pub escrow_held: u128,
    pub artist_withdrawable: u128,
    pub refunds_owed: u128,
    pub balance: u128,
    /// Inconsistencies within the chain's own numbers, found once when read.
    pub findings: Vec<String>,
}

impl ReleaseBooks {
    pub async fn read(s: &Session, rel: &AccountId32) -> anyhow::Result<Self> {
        let artist: dreamster_types::AccountId = s.query(rel, release::artist()).await?;
        let terms: SaleTerms = s.query(rel, release::sale_terms()).await?;
        let perks: Vec<Perk> = s.perks(rel).await?;
        let arbiters: Vec<dreamster_types::AccountId> = s.query(rel, release::arbiters()).await?;
        let supply: u32 = s.query(rel, release::total_supply()).await?;
        let mut owners = Vec::new();
        let mut entitlements = Vec::new();
        for edition in 0..supply {
            let owner: Option<dreamster_types::AccountId> =
                s.query(rel, release::owner_of(edition)).await?;
            owners.push(
                owner
                    .map(|o| subxt_id(&o))
                    .context("an edition below total_supply has no owner")?,
            );
            entitlements.push(s.query(rel, release::entitlements_of(edition)).await?);
        }
        let mut books = ReleaseBooks {
            address: rel.clone(),
            artist: subxt_id(&artist),
            escrow_held: s.query(rel, release::escrow_held()).await?,
            artist_withdrawable: s.query(rel, release::artist_withdrawable()).await?,
            refunds_owed: s.query(rel, release::refunds_owed()).await?,
            balance: s.node.free_balance(rel).await?,
            terms,
            perks,
            arbiters: arbiters.iter().map(subxt_id).collect(),
            owners,
            entitlements,
            findings: Vec::new(),
        };
        books.findings = books.inconsistencies();
        Ok(books)
    }

    /// An entitlement's status at `now` (against a perk the release does not list, read as
    /// neither cancelled nor automatic).
    fn status(&self, e: &Entitlement, now: u64) -> PerkStatus {
        let clock = match self.perks.get(e.perk as usize) {
            Some(perk) => Clock::of(now, &self.terms, perk),
            None => Clock {
                now,
                dispute_window: self.terms.dispute_window,
                cancelled: false,
                automatic: false,
            },
        };
        e.status(clock)
    }

    fn all(&self) -> impl Iterator<Item = (u32, &Entitlement)> {
        self.entitlements
            .iter()
            .enumerate()
            .flat_map(|(ed, list)| list.iter().map(move |e| (ed as u32, e)))
    }

    fn sum(&self, pick: impl Fn(&Entitlement) -> bool) -> u128 {
        self.all()
            .filter(|(_, e)| pick(e))
            .map(|(_, e)| e.escrow)
            .sum()
    }

    fn inconsistencies(&self) -> Vec<String> {
        let mut out = Vec::new();
        let held = self.sum(|e| e.state.holds_escrow());
        if held != self.escrow_held {
            out.push(format!(
                "escrow_held() says {} but the entitlements hold {}",
                fmt_amount(self.escrow_held),
                fmt_amount(held)
            ));
        }
        let owed = self.sum(|e| e.state == EntitlementState::RefundOwed);
        if owed != self.refunds_owed {
            out.push(format!(
                "refunds_owed() says {} but the entitlements owe {}",
                fmt_amount(self.refunds_owed),
                fmt_amount(owed)
            ));
        }
        let needed = self
            .escrow_held
            .saturating_add(self.artist_withdrawable)
            .saturating_add(self.refunds_owed);
        if self.balance < needed {
            out.push(format!(
                "insolvent: the contract holds {} but owes {}",
                fmt_amount(self.balance),
                fmt_amount(needed)
            ));
        }
        out
    }

    pub fn summary(&self) -> Value {
        let now = now_ms();
        let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
        let mut overdue = Vec::new();
        let mut disputes = Vec::new();
        for (edition, e) in self.all() {
            let status = self.status(e, now);
            *by_status.entry(status.slug()).or_default() += 1;
            if status == PerkStatus::Overdue {
                overdue.push(json!({ "edition": edition, "perk": e.perk, "deadline": e.deadline, "deadline_utc": fmt_time(e.deadline), "escrow": e.escrow.to_string() }));
            }
            if status == PerkStatus::Disputed {
                disputes.push(json!({ "edition": edition, "perk": e.perk }));
            }
        }
        json!({
            "release": self.address.to_string(), "title": self.terms.title, "artist": self.artist.to_string(),
            "editions": self.owners.len(), "perks": self.perks.len(),
            "escrow_held": self.escrow_held.to_string(), "artist_withdrawable": self.artist_withdrawable.to_string(),
            "refunds_owed": self.refunds_owed.to_string(), "balance": self.balance.to_string(),
            "refunded": self.sum(|e| e.state == EntitlementState::Refunded).to_string(),
            "refunded_count": self.all().filter(|(_, e)| e.state == EntitlementState::Refunded).count(),
            "statuses": by_status, "overdue": overdue, "open_disputes": disputes, "findings": self.findings,
        })
    }

    pub fn text(&self) -> String {
        let v = self.summary();
        let now = now_ms();
        let overdue = self
            .all()
            .filter(|(_, e)| self.status(e, now) == PerkStatus::Overdue)
            .count();
        let refunded = self
            .all()
            .filter(|(_, e)| e.state == EntitlementState::Refunded)
            .count();
        let mut t = format!(
            "{} ({}) by {}\n  {} editions, {} perks; escrow held {}, artist may withdraw {}, refunds owed {}, balance {}\n  refunded {} perk(s) for {}; {} overdue; {} open dispute(s); statuses {}\n",
            self.terms.title, self.address, self.artist, self.owners.len(), self.perks.len(),
            fmt_amount(self.escrow_held), fmt_amount(self.artist_withdrawable), fmt_amount(self.refunds_owed),
            fmt_amount(self.balance), refunded, fmt_amount(self.sum(|e| e.state == EntitlementState::Refunded)),
            overdue, v["open_disputes"].as_array().map_or(0, Vec::len), v["statuses"],
        );
        for f in &self.findings {
            t.push_str(&format!("  ✗ {f}\n"));
        }
        t
    }
}

/// The chain set beside the read model: how many fields were compared, and which differ.
#[derive(Debug, Default)]
pub struct Comparison {
    pub compared: usize,
    pub differences: Vec<String>,
}

impl Comparison {
    fn check(&mut self, subject: &str, what: &str, chain: String, model: String) {
        self.compared += 1;
        if chain != model {
            self.differences.push(format!(
                "{subject}: {what} is {chain} on chain, {model} in the read model"
            ));
        }
    }

    fn extend(&mut self, other: Comparison) {
        self.compared += other.compared;
        self.differences.extend(other.differences);
    }
}

/// Every field of one release the chain and the read model both hold.
async fn compare_release(db: &mut PgConnection, b: &ReleaseBooks) -> anyhow::Result<Comparison> {
    let mut cmp = Comparison::default();
    let key = b.address.0.to_vec();
    let row = sqlx::query(
        "SELECT editions_sold, escrow_held::text, artist_withdrawable::text, refunds_owed::text, artist
         FROM releases WHERE address = $1",
    )
    .bind(&key)
    .fetch_optional(&mut *db)
    .await?;
    let Some(row) = row else {
        cmp.compared += 1;
        cmp.differences.push(format!(
            "release {} is missing from the read model",
            b.address
        ));
        return Ok(cmp);
    };
    let mut check =
        |what: &str, chain: String, model: String| cmp.check(&b.terms.title, what, chain, model);
    check(
        "editions sold",
        b.owners.len().to_string(),
        row.get::<i32, _>(0).to_string(),
    );
    check(
        "escrow held",
        b.escrow_held.to_string(),
        row.get::<String, _>(1),
    );
    check(
        "artist withdrawable",
        b.artist_withdrawable.to_string(),
        row.get::<String, _>(2),
    );
    check(
        "refunds owed",
        b.refunds_owed.to_string(),
        row.get::<String, _>(3),
    );
    check(
        "artist",
        hex::encode(b.artist.0),
        hex::encode(row.get::<Vec<u8>, _>(4)),
    );

    let t = &b.terms;
    let row = sqlx::query(
        "SELECT title, metadata_uri, price::text, max_editions, sale_start, sale_end, dispute_window
         FROM releases WHERE address = $1",
    )
    .bind(&key)
    .fetch_one(&mut *db)
    .await?;
    // The read model holds text cleaned and times saturated (dreamster_types::stored).
    check("title", clean(&t.title).0, row.get(0));
    check("metadata URI", clean(&t.metadata_uri).0, row.get(1));
    check("price", t.price.to_string(), row.get(2));
    check(
        "edition cap",
        opt(t.max_editions),
        opt(row.get::<Option<i64>, _>(3)),
    );
    check(
        "sale start",
        millis(t.sale_start).to_string(),
        row.get::<i64, _>(4).to_string(),
    );
    check(
        "sale end",
        opt(t.sale_end.map(millis)),
        opt(row.get::<Option<i64>, _>(5)),
    );
    check(
        "dispute window",
        t.dispute_window.to_string(),
        row.get::<i64, _>(6).to_string(),
    );

    let perks = sqlx::query(
        "SELECT perk, category, kind, title, description, metadata_uri, estimated_value::text,
                escrow_bps, delivery, content_hash, quantity_limit, deadline, added_at_edition,
                added_at, granted, cancelled_at
         FROM perks WHERE release = $1 ORDER BY perk",
    )
    .bind(&key)
    .fetch_all(&mut *db)
    .await?;
    check(
        "perk count",
        b.perks.len().to_string(),
        perks.len().to_string(),
    );
    for row in &perks {
        let id: i32 = row.get(0);
        let Some(p) = usize::try_from(id).ok().and_then(|i| b.perks.get(i)) else {
            continue;
        };
        let content_hash = match p.terms.delivery {
            DeliveryMethod::Automatic { content_hash } => Some(content_hash.to_vec()),
            _ => None,
        };
        let fields: [(&str, String, String); 15] = [
            ("category", p.terms.category.slug().into(), row.get(1)),
            ("kind", p.terms.kind.slug().into(), row.get(2)),
            ("title", clean(&p.terms.title).0, row.get(3)),
            ("description", clean(&p.terms.description).0, row.get(4)),
            ("metadata URI", clean(&p.terms.metadata_uri).0, row.get(5)),
            ("value", p.terms.estimated_value.to_string(), row.get(6)),
            (
                "escrow share",
                p.terms.escrow_bps.to_string(),
                row.get::<i32, _>(7).to_string(),
            ),
            ("delivery", p.terms.delivery.slug().into(), row.get(8)),
            ("content hash", opt_hex(content_hash), opt_hex(row.get(9))),
            (
                "quantity limit",
                opt(p.terms.quantity_limit),
                opt(row.get::<Option<i64>, _>(10)),
            ),
            (
                "deadline",
                millis(p.terms.deadline).to_string(),
                row.get::<i64, _>(11).to_string(),
            ),
            (
                "added at edition",
                p.added_at_edition.to_string(),
                row.get::<i32, _>(12).to_string(),
            ),
            (
                "added at",
                millis(p.added_at).to_string(),
                row.get::<i64, _>(13).to_string(),
            ),
            (
                "granted",
                p.granted.to_string(),
                row.get::<i32, _>(14).to_string(),
            ),
            (
                "cancelled at",
                opt(p.cancelled_at.map(millis)),
                opt(row.get::<Option<i64>, _>(15)),
            ),
        ];
        for (what, chain, model) in fields {
            check(&format!("perk {id} {what}"), chain, model);
        }
    }

    let arbiters: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT arbiter FROM release_arbiters WHERE release = $1 ORDER BY arbiter",
    )
    .bind(&key)
    .fetch_all(&mut *db)
    .await?;
    let mut chain_arbiters: Vec<String> = b.arbiters.iter().map(|a| hex::encode(a.0)).collect();
    chain_arbiters.sort();
    check(
        "arbiters",
        chain_arbiters.join(","),
        arbiters
            .iter()
            .map(hex::encode)
            .collect::<Vec<_>>()
            .join(","),
    );

    let owners: BTreeMap<i32, Vec<u8>> =
        sqlx::query("SELECT edition, owner FROM editions WHERE release = $1")
            .bind(&key)
            .fetch_all(&mut *db)
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
    for (edition, owner) in b.owners.iter().enumerate() {
        let model = owners
            .get(&(edition as i32))
            .map_or("missing".to_string(), hex::encode);
        check(
            &format!("edition {edition} owner"),
            hex::encode(owner.0),
            model,
        );
    }

    let mut model: BTreeMap<(i32, i32), [String; 8]> = sqlx::query(
        "SELECT edition, perk, state, escrow::text, deadline, delivered_at, proof, evidence, rating,
                disputed_at
         FROM entitlements WHERE release = $1",
    )
    .bind(&key)
    .fetch_all(&mut *db)
    .await?
    .into_iter()
    .map(|r| {
        let fields = [
            r.get(2),
            r.get(3),
            r.get::<i64, _>(4).to_string(),
            opt(r.get::<Option<i64>, _>(5)),
            opt_hex(r.get(6)),
            opt_hex(r.get(7)),
            opt(r.get::<Option<i16>, _>(8)),
            opt(r.get::<Option<i64>, _>(9)),
        ];
        ((r.get(0), r.get(1)), fields)
    })
    .collect();
    const FIELDS: [&str; 8] = [
        "state",
        "escrow",
        "deadline",
        "delivered at",
        "proof",
        "evidence",
        "rating",
        "disputed at",
    ];
    for (edition, e) in b.all() {
        let at = format!("edition {edition} perk {}", e.perk);
        match model.remove(&(edition as i32, e.perk as i32)) {
            None => check(&at, "present".into(), "missing".into()),
            Some(fields) => {
                let chain = [
                    e.state.slug().to_string(),
                    e.escrow.to_string(),
                    millis(e.deadline).to_string(),
                    opt(e.delivered_at.map(millis)),
                    opt_hex(e.proof.map(|p| p.to_vec())),
                    opt_hex(e.evidence.map(|p| p.to_vec())),
                    opt(e.rating),
                    opt(e.disputed_at.map(millis)),
                ];
                for ((what, chain), model) in FIELDS.iter().zip(chain).zip(fields) {
                    check(&format!("{at} {what}"), chain, model);
                }
            }
        }
    }

    // Refunds paid, as the contract's states say and as the read model's refund events say.
    let refunded: Vec<u128> = b
        .all()
        .filter(|(_, e)| e.state == EntitlementState::Refunded)
        .map(|(_, e)| e.escrow)
        .collect();
    let row = sqlx::query(
        "SELECT count(*), coalesce(sum(amount), 0)::text FROM entitlement_changes
         WHERE release = $1 AND action = 'refunded'",
    )
    .bind(&key)
    .fetch_one(&mut *db)
    .await?;
    check(
        "refunds paid",
        refunded.len().to_string(),
        row.get::<i64, _>(0).to_string(),
    );
    check(
        "refunded amount",
        refunded.iter().sum::<u128>().to_string(),
        row.get(1),
    );
    for (edition, perk) in model.keys() {
        cmp.differences.push(format!(
            "{}: edition {edition} perk {perk} is in the read model but not on chain",
            b.terms.title
        ));
    }
    Ok(cmp)
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "none".into(), |v| v.to_string())
}

fn opt_hex(bytes: Option<Vec<u8>>) -> String {
    bytes.map_or_else(|| "none".into(), hex::encode)
}

async fn compare_reputation(
    db: &mut PgConnection,
    artist: &AccountId32,
    r: &Reputation,
) -> anyhow::Result<Comparison> {
    let columns = Reputation::COUNTER_COLUMNS.map(|c| format!("{c}::bigint"));
    let row = sqlx::query(&format!(
        "SELECT {} FROM reputation WHERE artist = $1",
        columns.join(", ")
    ))
    .bind(artist.0.to_vec())
    .fetch_optional(db)
    .await?;
    let chain = r.counters();
    let mut cmp = Comparison::default();
    for (i, (name, chain)) in Reputation::COUNTER_COLUMNS.iter().zip(chain).enumerate() {
        let model = row.as_ref().map_or(0, |row| row.get::<i64, _>(i));
        cmp.check(
            &format!("reputation of {artist}"),
            &name.replace('_', " "),
            chain.to_string(),
            model.to_string(),
        );
    }
    Ok(cmp)
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

async fn audit_release(s: &Session, a: &AuditArgs) -> anyhow::Result<Report> {
    let books = ReleaseBooks::read(s, &a.address).await?;
    let registry: dreamster_types::AccountId = s.query(&a.address, release::registry()).await?;
    let reputation: Reputation = s
        .query(
            &subxt_id(&registry),
            registry::reputation(ink_id(&books.artist)),
        )
        .await?;
    let mut db = connect(&a.database_url).await?;
    let mut comparison = None;
    if let Some(db) = db.as_mut() {
        let mut cmp = compare_release(db, &books).await?;
        cmp.extend(compare_reputation(db, &books.artist, &reputation).await?);
        comparison = Some(cmp);
    }
    let text = format!(
        "{}  artist reputation {}\n",
        books.text(),
        reputation_json(&reputation)
    );
    let mut json = books.summary();
    json["reputation"] = reputation_json(&reputation);
    Ok(finish(text, json, books.findings.len(), comparison))
}

async fn audit_artist(s: &Session, a: &AuditArgs) -> anyhow::Result<Report> {
    let registry = s.registry()?;
    let profile: Option<dreamster_types::registry_api::ArtistProfile> = s
        .query(&registry, registry::artist(ink_id(&a.address)))
        .await?;
    let profile = profile
        .with_context(|| format!("{} is not a registered artist of this registry", a.address))?;
    let reputation: Reputation = s
        .query(&registry, registry::reputation(ink_id(&a.address)))
        .await?;
    let mut db = connect(&a.database_url).await?;
    let mut text = format!(
        "{} ({}) — reputation {}\n",
        profile.name,
        a.address,
        reputation_json(&reputation)
    );
    let mut releases = Vec::new();
    let mut findings = 0;
    let mut comparison = db.as_ref().map(|_| Comparison::default());
    for rel in all_releases(s).await? {
        let artist: Option<dreamster_types::AccountId> = s
            .query(&registry, registry::artist_of_release(ink_id(&rel)))
            .await?;
        if artist.map(|x| subxt_id(&x)) != Some(a.address.clone()) {
            continue;
        }
        let books = ReleaseBooks::read(s, &rel).await?;
        findings += books.findings.len();
        text.push_str(&books.text());
        if let (Some(db), Some(cmp)) = (db.as_mut(), comparison.as_mut()) {
            cmp.extend(compare_release(db, &books).await?);
        }
        releases.push(books.summary());
    }
    if let (Some(db), Some(cmp)) = (db.as_mut(), comparison.as_mut()) {
        cmp.extend(compare_reputation(db, &a.address, &reputation).await?);
    }
    let json = json!({ "artist": a.address.to_string(), "name": profile.name, "reputation": reputation_json(&reputation), "releases": releases });
    Ok(finish(text, json, findings, comparison))
}
