//! The chain's books set beside the read model, field by field.

use std::collections::BTreeMap;

use dreamster_types::entitlement::EntitlementState;
use dreamster_types::perk::DeliveryMethod;
use dreamster_types::registry_api::Reputation;
use dreamster_types::stored::{clean, millis};
use sqlx::{PgConnection, Row};
use subxt::utils::AccountId32;

use crate::books::ReleaseBooks;
use crate::AuditError;

/// The chain set beside the read model: how many fields were compared, and which differ.
#[derive(Debug, Default)]
pub struct Comparison {
    pub compared: usize,
    pub differences: Vec<String>,
}

impl Comparison {
    pub fn check(&mut self, subject: &str, what: &str, chain: String, model: String) {
        self.compared += 1;
        if chain != model {
            self.differences.push(format!(
                "{subject}: {what} is {chain} on chain, {model} in the read model"
            ));
        }
    }

    pub fn extend(&mut self, other: Comparison) {
        self.compared += other.compared;
        self.differences.extend(other.differences);
    }
}

/// Every field of one release the chain and the read model both hold.
pub async fn compare_release(
    db: &mut PgConnection,
    b: &ReleaseBooks,
) -> Result<Comparison, AuditError> {
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

/// An artist's reputation counters, on chain and in the read model.
pub async fn compare_reputation(
    db: &mut PgConnection,
    artist: &AccountId32,
    r: &Reputation,
) -> Result<Comparison, AuditError> {
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
