//! `dreamster audit`: a release's or an artist's books re-derived from the chain alone
//! (the contracts' getters and balances), checked for consistency, and — with
//! `--database-url` — compared field by field with the indexer's read model.

use std::collections::BTreeMap;

use anyhow::Context;
use dreamster_calls::{registry, release};
use dreamster_types::entitlement::{Entitlement, EntitlementState, PerkStatus};
use dreamster_types::perk::Perk;
use dreamster_types::registry_api::Reputation;
use dreamster_types::release::SaleTerms;
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
    pub owners: Vec<AccountId32>,
    /// Per edition, its entitlements.
    pub entitlements: Vec<Vec<Entitlement>>,
    pub escrow_held: u128,
    pub artist_withdrawable: u128,
    pub refunds_owed: u128,
    pub balance: u128,
}

impl ReleaseBooks {
    pub async fn read(s: &Session, rel: &AccountId32) -> anyhow::Result<Self> {
        let artist: dreamster_types::AccountId = s.query(rel, release::artist()).await?;
        let terms: SaleTerms = s.query(rel, release::sale_terms()).await?;
        let perks: Vec<Perk> = s.query(rel, release::perks()).await?;
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
        Ok(ReleaseBooks {
            address: rel.clone(),
            artist: subxt_id(&artist),
            escrow_held: s.query(rel, release::escrow_held()).await?,
            artist_withdrawable: s.query(rel, release::artist_withdrawable()).await?,
            refunds_owed: s.query(rel, release::refunds_owed()).await?,
            balance: s.node.free_balance(rel).await?,
            terms,
            perks,
            owners,
            entitlements,
        })
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

    /// Inconsistencies within the chain's own numbers.
    pub fn findings(&self) -> Vec<String> {
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
            let status = e.status(now, self.terms.dispute_window);
            *by_status.entry(status.slug()).or_default() += 1;
            if status == PerkStatus::Overdue {
                overdue.push(json!({ "edition": edition, "perk": e.perk, "deadline": e.deadline, "deadline_utc": fmt_time(e.deadline), "escrow": e.escrow.to_string() }));
            }
            if e.state == EntitlementState::Disputed {
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
            "statuses": by_status, "overdue": overdue, "open_disputes": disputes, "findings": self.findings(),
        })
    }

    pub fn text(&self) -> String {
        let v = self.summary();
        let now = now_ms();
        let overdue = self
            .all()
            .filter(|(_, e)| e.status(now, self.terms.dispute_window) == PerkStatus::Overdue)
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
        for f in self.findings() {
            t.push_str(&format!("  ✗ {f}\n"));
        }
        t
    }
}

/// Differences between the chain and the read model for one release.
async fn compare_release(db: &mut PgConnection, b: &ReleaseBooks) -> anyhow::Result<Vec<String>> {
    let mut diffs = Vec::new();
    let key = b.address.0.to_vec();
    let row = sqlx::query(
        "SELECT editions_sold, escrow_held::text, artist_withdrawable::text, refunds_owed::text, artist
         FROM releases WHERE address = $1",
    )
    .bind(&key)
    .fetch_optional(&mut *db)
    .await?;
    let Some(row) = row else {
        return Ok(vec![format!(
            "release {} is missing from the read model",
            b.address
        )]);
    };
    let mut check = |what: &str, chain: String, model: String| {
        if chain != model {
            diffs.push(format!(
                "{}: {what} is {chain} on chain, {model} in the read model",
                b.terms.title
            ));
        }
    };
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

    let perks = sqlx::query("SELECT perk, title, escrow_bps, deadline, granted FROM perks WHERE release = $1 ORDER BY perk")
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
        check(
            &format!("perk {id} title"),
            p.terms.title.clone(),
            row.get(1),
        );
        check(
            &format!("perk {id} escrow share"),
            p.terms.escrow_bps.to_string(),
            row.get::<i32, _>(2).to_string(),
        );
        check(
            &format!("perk {id} deadline"),
            p.terms.deadline.to_string(),
            row.get::<i64, _>(3).to_string(),
        );
        check(
            &format!("perk {id} granted"),
            p.granted.to_string(),
            row.get::<i32, _>(4).to_string(),
        );
    }

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

    let mut model: BTreeMap<(i32, i32), (String, String)> = sqlx::query(
        "SELECT edition, perk, state, escrow::text FROM entitlements WHERE release = $1",
    )
    .bind(&key)
    .fetch_all(&mut *db)
    .await?
    .into_iter()
    .map(|r| ((r.get(0), r.get(1)), (r.get(2), r.get(3))))
    .collect();
    for (edition, e) in b.all() {
        let at = format!("edition {edition} perk {}", e.perk);
        match model.remove(&(edition as i32, e.perk as i32)) {
            None => check(&at, "present".into(), "missing".into()),
            Some((state, escrow)) => {
                check(&format!("{at} state"), e.state.slug().to_string(), state);
                check(&format!("{at} escrow"), e.escrow.to_string(), escrow);
            }
        }
    }
    for (edition, perk) in model.keys() {
        diffs.push(format!(
            "{}: edition {edition} perk {perk} is in the read model but not on chain",
            b.terms.title
        ));
    }
    Ok(diffs)
}

async fn compare_reputation(
    db: &mut PgConnection,
    artist: &AccountId32,
    r: &Reputation,
) -> anyhow::Result<Vec<String>> {
    let row = sqlx::query(
        "SELECT delivered_on_time, delivered_late, refunded_overdue, disputes_won, disputes_lost, rating_sum, rating_count
         FROM reputation WHERE artist = $1",
    )
    .bind(artist.0.to_vec())
    .fetch_optional(db)
    .await?;
    let chain = r.counters();
    let model: [i64; 7] = match row {
        None => [0; 7],
        Some(row) => [
            i64::from(row.get::<i32, _>(0)),
            i64::from(row.get::<i32, _>(1)),
            i64::from(row.get::<i32, _>(2)),
            i64::from(row.get::<i32, _>(3)),
            i64::from(row.get::<i32, _>(4)),
            row.get::<i64, _>(5),
            i64::from(row.get::<i32, _>(6)),
        ],
    };
    Ok(if chain == model {
        Vec::new()
    } else {
        vec![format!(
            "reputation of {artist} is {chain:?} on chain, {model:?} in the read model"
        )]
    })
}

fn reputation_json(r: &Reputation) -> Value {
    json!({
        "delivered_on_time": r.delivered_on_time, "delivered_late": r.delivered_late, "refunded_overdue": r.refunded_overdue,
        "disputes_won": r.disputes_won, "disputes_lost": r.disputes_lost, "rating_sum": r.rating_sum, "rating_count": r.rating_count,
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
    diffs: Vec<String>,
    compared: bool,
) -> Report {
    if compared {
        if diffs.is_empty() {
            text.push_str("read model agrees with the chain on every compared field\n");
        }
        for d in &diffs {
            text.push_str(&format!("≠ {d}\n"));
        }
        json["differences"] = json!(diffs);
    }
    let failed = findings > 0 || !diffs.is_empty();
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
    let mut diffs = Vec::new();
    if let Some(db) = db.as_mut() {
        diffs = compare_release(db, &books).await?;
        diffs.extend(compare_reputation(db, &books.artist, &reputation).await?);
    }
    let text = format!(
        "{}  artist reputation {}\n",
        books.text(),
        reputation_json(&reputation)
    );
    let mut json = books.summary();
    json["reputation"] = reputation_json(&reputation);
    Ok(finish(
        text,
        json,
        books.findings().len(),
        diffs,
        db.is_some(),
    ))
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
    let mut diffs = Vec::new();
    for rel in all_releases(s).await? {
        let artist: Option<dreamster_types::AccountId> = s
            .query(&registry, registry::artist_of_release(ink_id(&rel)))
            .await?;
        if artist.map(|x| subxt_id(&x)) != Some(a.address.clone()) {
            continue;
        }
        let books = ReleaseBooks::read(s, &rel).await?;
        findings += books.findings().len();
        text.push_str(&books.text());
        if let Some(db) = db.as_mut() {
            diffs.extend(compare_release(db, &books).await?);
        }
        releases.push(books.summary());
    }
    if let Some(db) = db.as_mut() {
        diffs.extend(compare_reputation(db, &a.address, &reputation).await?);
    }
    let json = json!({ "artist": a.address.to_string(), "name": profile.name, "reputation": reputation_json(&reputation), "releases": releases });
    Ok(finish(text, json, findings, diffs, db.is_some()))
}
