//! What a fan, an artist and an auditor look at: benefit tracking, analytics, audits.

use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row};
use utoipa::{IntoParams, ToSchema};

use crate::error::{address, ss58, ApiError};
use crate::read::{now_ms, page_bounds, Origin, Page, Release};

/// A perk of an edition the fan holds, with its state and how to get it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Benefit {
    pub release: String,
    pub release_title: String,
    pub edition: i32,
    pub perk: i32,
    pub icon: String,
    pub title: String,
    pub category: String,
    pub delivery: String,
    /// pending, unlocked, delivered, confirmed, overdue, disputed, refunded or refundable.
    pub state: String,
    pub escrow: String,
    pub deadline: i64,
    pub delivered_at: Option<i64>,
    pub rating: Option<i16>,
    /// How to access it in this state.
    pub access: String,
    pub last_change: Origin,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FanDashboard {
    pub fan: String,
    pub editions: i64,
    pub benefits: Page<Benefit>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BenefitFilter {
    /// Only perks in this state.
    pub state: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

const STATES: [&str; 8] = [
    "pending",
    "unlocked",
    "delivered",
    "confirmed",
    "overdue",
    "disputed",
    "refunded",
    "refundable",
];

/// A perk's state as the pages show it, computed in SQL so the dashboard can filter and
/// page by it. It must say what `Entitlement::status` (crates/types, the one definition the
/// CLI prints) says, read against the same clock and the release's dispute window — a
/// delivery nobody disputed in time is confirmed — with one refinement, `unlocked` for a
/// delivered automatic perk. `tests/state_agreement.rs` checks the two agree over every
/// stored state and clock position. `$2` is now (ms); `e` an entitlement, `r` its release.
pub const STATE_SQL: &str = "CASE
    WHEN e.state = 'pending' AND e.deadline < $2 THEN 'overdue'
    WHEN e.state = 'refund_owed' THEN 'refundable'
    WHEN e.state = 'delivered' AND e.delivered_at IS NOT NULL AND e.delivered_at + r.dispute_window < $2 THEN 'confirmed'
    WHEN e.state = 'delivered' AND e.unlocked THEN 'unlocked'
    ELSE e.state END";

/// The state the pages show for a status of the shared definition.
pub fn shown_state(
    status: dreamster_types::entitlement::PerkStatus,
    unlocked: bool,
) -> &'static str {
    use dreamster_types::entitlement::PerkStatus;
    match status {
        PerkStatus::Delivered if unlocked => "unlocked",
        other => other.slug(),
    }
}

fn access(state: &str, delivery: &str) -> String {
    match (state, delivery) {
        ("overdue" | "refundable", _) => {
            "refundable now: claim it from the release contract (dreamster refund)".into()
        }
        ("refunded", _) => "refunded".into(),
        ("disputed", _) => "under dispute: an arbiter will rule".into(),
        ("pending", "automatic") => "unlock it (dreamster unlock) to receive the secret".into(),
        (_, "automatic") => "unlocked: sign in to fetch the secret".into(),
        ("pending", "physical") => {
            "the artist ships it: send your address in a private message".into()
        }
        ("pending", _) => "the artist sends the event details in a private message".into(),
        ("delivered", "physical") => {
            "shipped: confirm on arrival, or dispute within the window".into()
        }
        ("delivered", _) => "held: confirm it, or dispute within the window".into(),
        _ => "confirmed".into(),
    }
}

pub async fn fan(db: &PgPool, fan: &str, f: &BenefitFilter) -> Result<FanDashboard, ApiError> {
    let key = address(fan)?.to_vec();
    let (limit, offset) = page_bounds(f.limit, f.offset)?;
    if let Some(s) = &f.state {
        if !STATES.contains(&s.as_str()) {
            return Err(ApiError::bad_request(
                "bad_query",
                format!("unknown state {s:?}"),
            ));
        }
    }
    let from = format!(
        "FROM editions ed JOIN releases r ON r.address = ed.release
         JOIN entitlements e ON e.release = ed.release AND e.edition = ed.edition
         JOIN perks p ON p.release = e.release AND p.perk = e.perk
         WHERE ed.owner = $1 AND ($3::text IS NULL OR ({STATE_SQL}) = $3)"
    );
    let now = now_ms();
    let rows = sqlx::query(&format!(
        "SELECT r.address, r.title, ed.edition, e.perk, p.kind, p.title, p.category, p.delivery, {STATE_SQL},
            e.escrow::text, e.deadline, e.delivered_at, e.rating, e.block_number, e.extrinsic_index
         {from} ORDER BY r.block_number, ed.edition, e.perk LIMIT $4 OFFSET $5"
    ))
    .bind(&key)
    .bind(now)
    .bind(&f.state)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) {from}"))
        .bind(&key)
        .bind(now)
        .bind(&f.state)
        .fetch_one(db)
        .await?;
    let editions: i64 = sqlx::query_scalar("SELECT count(*) FROM editions WHERE owner = $1")
        .bind(&key)
        .fetch_one(db)
        .await?;
    let items = rows
        .iter()
        .map(|row| {
            let kind: String = row.get(4);
            let delivery: String = row.get(7);
            let state: String = row.get(8);
            Benefit {
                release: ss58(&row.get::<Vec<u8>, _>(0)),
                release_title: row.get(1),
                edition: row.get(2),
                perk: row.get(3),
                icon: crate::read::icon(&kind).to_string(),
                title: row.get(5),
                category: row.get(6),
                access: access(&state, &delivery),
                delivery,
                state,
                escrow: row.get(9),
                deadline: row.get(10),
                delivered_at: row.get(11),
                rating: row.get(12),
                last_change: Origin {
                    block: row.get(13),
                    extrinsic: row.get(14),
                },
            }
        })
        .collect();
    Ok(FanDashboard {
        fan: fan.to_string(),
        editions,
        benefits: Page {
            items,
            total,
            limit,
            offset,
        },
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Reputation {
    pub delivered_on_time: i32,
    pub delivered_late: i32,
    pub refunded_overdue: i32,
    pub disputes_won: i32,
    pub disputes_lost: i32,
    pub rating_sum: i64,
    pub rating_count: i32,
    /// On-time deliveries among all deliveries, in percent (null before the first).
    pub on_time_percent: Option<f64>,
    pub average_rating: Option<f64>,
    pub updated: Option<Origin>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Artist {
    pub address: String,
    pub name: String,
    pub metadata_uri: String,
    pub registered_at: i64,
    pub reputation: Reputation,
    pub releases: Vec<Release>,
    pub registered: Origin,
}

/// The reputation columns of table alias `p`, in the order [`reputation_at`] reads them.
const REPUTATION_COLUMNS: &str = "p.delivered_on_time, p.delivered_late, p.refunded_overdue,
    p.disputes_won, p.disputes_lost, p.rating_sum, p.rating_count, p.block_number, p.extrinsic_index";

/// A reputation read from [`REPUTATION_COLUMNS`] starting at column `at`; all zeros when
/// they are NULL (an artist with no outcome yet, through a LEFT JOIN).
fn reputation_at(r: &sqlx::postgres::PgRow, at: usize) -> Reputation {
    let Some(on) = r.get::<Option<i32>, _>(at) else {
        return Reputation {
            delivered_on_time: 0,
            delivered_late: 0,
            refunded_overdue: 0,
            disputes_won: 0,
            disputes_lost: 0,
            rating_sum: 0,
            rating_count: 0,
            on_time_percent: None,
            average_rating: None,
            updated: None,
        };
    };
    let (late, sum, count): (i32, i64, i32) = (r.get(at + 1), r.get(at + 5), r.get(at + 6));
    Reputation {
        delivered_on_time: on,
        delivered_late: late,
        refunded_overdue: r.get(at + 2),
        disputes_won: r.get(at + 3),
        disputes_lost: r.get(at + 4),
        rating_sum: sum,
        rating_count: count,
        on_time_percent: (on + late > 0).then(|| 100.0 * f64::from(on) / f64::from(on + late)),
        average_rating: (count > 0).then(|| sum as f64 / f64::from(count)),
        updated: Some(Origin {
            block: r.get(at + 7),
            extrinsic: r.get(at + 8),
        }),
    }
}

async fn reputation(db: &PgPool, key: &[u8]) -> Result<Reputation, ApiError> {
    // A LEFT JOIN from a one-row VALUES, so the row exists (with NULLs) for a new artist.
    let row = sqlx::query(&format!(
        "SELECT {REPUTATION_COLUMNS} FROM (VALUES ($1::bytea)) k (artist)
         LEFT JOIN reputation p ON p.artist = k.artist"
    ))
    .bind(key)
    .fetch_one(db)
    .await?;
    Ok(reputation_at(&row, 0))
}

pub async fn artist(db: &PgPool, artist: &str) -> Result<Artist, ApiError> {
    let key = address(artist)?;
    let row = sqlx::query("SELECT name, metadata_uri, registered_at, block_number, extrinsic_index FROM artists WHERE address = $1")
        .bind(key.to_vec())
        .fetch_optional(db)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no artist {artist}")))?;
    let filter = crate::read::ReleaseFilter {
        artist: Some(artist.to_string()),
        category: None,
        on_sale: None,
        limit: Some(100),
        offset: Some(0),
    };
    Ok(Artist {
        address: ss58(&key),
        name: row.get(0),
        metadata_uri: row.get(1),
        registered_at: row.get(2),
        registered: Origin {
            block: row.get(3),
            extrinsic: row.get(4),
        },
        reputation: reputation(db, &key).await?,
        releases: crate::read::releases(db, &filter).await?.items,
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DayFigures {
    /// UTC day, YYYY-MM-DD.
    pub day: String,
    pub sales: i64,
    pub revenue: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PerkFigures {
    pub release: String,
    pub perk: i32,
    pub title: String,
    pub icon: String,
    pub granted: i32,
    pub delivered: i64,
    /// Delivered (or unlocked) among granted, percent.
    pub delivery_rate: Option<f64>,
    /// Average time from sale to delivery, hours.
    pub avg_hours_to_delivery: Option<f64>,
    pub on_time_percent: Option<f64>,
    pub confirmations: i64,
    pub average_rating: Option<f64>,
    pub ratings: i64,
    pub disputes: i64,
    pub refunds: i64,
    /// Editions sold before and after the perk was added.
    pub sales_before: i64,
    pub sales_after: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Analytics {
    pub artist: String,
    pub sales: i64,
    pub revenue: String,
    pub by_day: Vec<DayFigures>,
    pub perks: Vec<PerkFigures>,
}

pub async fn analytics(db: &PgPool, artist: &str) -> Result<Analytics, ApiError> {
    let key = address(artist)?.to_vec();
    let days = sqlx::query(
        "SELECT to_char(to_timestamp(ed.sold_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*),
            sum(ed.price)::text
         FROM editions ed JOIN releases r ON r.address = ed.release WHERE r.artist = $1 GROUP BY day ORDER BY day",
    )
    .bind(&key)
    .fetch_all(db)
    .await?;
    let by_day: Vec<DayFigures> = days
        .iter()
        .map(|r| DayFigures {
            day: r.get(0),
            sales: r.get(1),
            revenue: r.get(2),
        })
        .collect();
    let perks = sqlx::query(
        "SELECT p.release, p.perk, p.title, p.kind, p.granted,
            count(e.delivered_at),
            avg((e.delivered_at - ed.sold_at) / 3600000.0)::float8,
            (100.0 * count(*) FILTER (WHERE e.late = false AND e.delivered_at IS NOT NULL)
                / NULLIF(count(e.delivered_at), 0))::float8,
            (SELECT count(*) FROM entitlement_changes c WHERE c.release = p.release AND c.perk = p.perk
                AND c.action IN ('confirmed', 'confirmed_by_timeout')),
            avg(e.rating)::float8, count(e.rating),
            (SELECT count(*) FROM entitlement_changes c WHERE c.release = p.release AND c.perk = p.perk AND c.action = 'disputed'),
            (SELECT count(*) FROM entitlement_changes c WHERE c.release = p.release AND c.perk = p.perk AND c.action = 'refunded'),
            (SELECT count(*) FROM editions x WHERE x.release = p.release AND x.edition < p.added_at_edition),
            (SELECT count(*) FROM editions x WHERE x.release = p.release AND x.edition >= p.added_at_edition)
         FROM perks p JOIN releases r ON r.address = p.release
         LEFT JOIN entitlements e ON e.release = p.release AND e.perk = p.perk
         LEFT JOIN editions ed ON ed.release = e.release AND ed.edition = e.edition
         WHERE r.artist = $1
         GROUP BY p.release, p.perk, p.title, p.kind, p.granted, p.added_at_edition, r.block_number
         ORDER BY r.block_number, p.perk",
    )
    .bind(&key)
    .fetch_all(db)
    .await?
    .iter()
    .map(|r| {
        let kind: String = r.get(3);
        let granted: i32 = r.get(4);
        let delivered: i64 = r.get(5);
        PerkFigures {
            release: ss58(&r.get::<Vec<u8>, _>(0)),
            perk: r.get(1),
            title: r.get(2),
            icon: crate::read::icon(&kind).to_string(),
            granted,
            delivered,
            delivery_rate: (granted > 0).then(|| 100.0 * delivered as f64 / f64::from(granted)),
            avg_hours_to_delivery: r.get(6),
            on_time_percent: r.get(7),
            confirmations: r.get(8),
            average_rating: r.get(9),
            ratings: r.get(10),
            disputes: r.get(11),
            refunds: r.get(12),
            sales_before: r.get(13),
            sales_after: r.get(14),
        }
    })
    .collect();
    let sales = by_day.iter().map(|d| d.sales).sum();
    let revenue = by_day
        .iter()
        .map(|d| d.revenue.parse::<u128>().unwrap_or(0))
        .sum::<u128>()
        .to_string();
    Ok(Analytics {
        artist: artist.to_string(),
        sales,
        revenue,
        by_day,
        perks,
    })
}

/// One figure of the audit view, with where it came from on chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditItem {
    pub release: String,
    pub release_title: String,
    pub edition: i32,
    pub perk: i32,
    pub perk_title: String,
    pub amount: String,
    pub deadline: i64,
    pub at: Origin,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LeagueRow {
    pub artist: String,
    pub name: String,
    pub reputation: Reputation,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Only this artist's releases.
    pub artist: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// `which`: overdue perks, open disputes, or refunds.
pub async fn audit_items(
    db: &PgPool,
    which: &str,
    f: &AuditFilter,
) -> Result<Page<AuditItem>, ApiError> {
    let (limit, offset) = page_bounds(f.limit, f.offset)?;
    let artist = f
        .artist
        .as_deref()
        .map(address)
        .transpose()?
        .map(|a| a.to_vec());
    let (from, amount, origin) = match which {
        "overdue" => (
            "FROM entitlements e JOIN perks p ON p.release = e.release AND p.perk = e.perk
             JOIN releases r ON r.address = e.release WHERE e.state = 'pending' AND e.deadline < $1",
            "e.escrow::text",
            "e.created_block, e.extrinsic_index",
        ),
        "disputes" => (
            "FROM entitlements e JOIN perks p ON p.release = e.release AND p.perk = e.perk
             JOIN releases r ON r.address = e.release WHERE e.state = 'disputed' AND $1 >= 0",
            "e.escrow::text",
            "e.block_number, e.extrinsic_index",
        ),
        _ => (
            "FROM entitlement_changes e JOIN perks p ON p.release = e.release AND p.perk = e.perk
             JOIN releases r ON r.address = e.release WHERE e.action = 'refunded' AND $1 >= 0",
            "e.amount::text",
            "e.block_number, e.extrinsic_index",
        ),
    };
    let scoped = format!("{from} AND ($2::bytea IS NULL OR r.artist = $2)");
    let now = now_ms();
    let rows = sqlx::query(&format!(
        "SELECT r.address, r.title, e.edition, e.perk, p.title, {amount}, p.deadline, {origin}
         {scoped} ORDER BY 8 DESC, 3, 4 LIMIT $3 OFFSET $4"
    ))
    .bind(now)
    .bind(&artist)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) {scoped}"))
        .bind(now)
        .bind(&artist)
        .fetch_one(db)
        .await?;
    let items = rows
        .iter()
        .map(|r| AuditItem {
            release: ss58(&r.get::<Vec<u8>, _>(0)),
            release_title: r.get(1),
            edition: r.get(2),
            perk: r.get(3),
            perk_title: r.get(4),
            amount: r.get::<Option<String>, _>(5).unwrap_or_default(),
            deadline: r.get(6),
            at: Origin {
                block: r.get(7),
                extrinsic: r.get(8),
            },
        })
        .collect();
    Ok(Page {
        items,
        total,
        limit,
        offset,
    })
}

/// Artists ranked by on-time delivery, then rating, then fewest overdue refunds.
pub async fn league(
    db: &PgPool,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<Page<LeagueRow>, ApiError> {
    let (limit, offset) = page_bounds(limit, offset)?;
    // One query for the page, reputations joined in.
    let rows = sqlx::query(&format!(
        "SELECT a.address, a.name, {REPUTATION_COLUMNS}
         FROM artists a LEFT JOIN reputation p ON p.artist = a.address
         ORDER BY (p.delivered_on_time::float8 / NULLIF(p.delivered_on_time + p.delivered_late, 0)) DESC NULLS LAST,
            (p.rating_sum::float8 / NULLIF(p.rating_count, 0)) DESC NULLS LAST, p.refunded_overdue ASC NULLS LAST, a.name
         LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM artists")
        .fetch_one(db)
        .await?;
    let items = rows
        .iter()
        .map(|r| LeagueRow {
            artist: ss58(&r.get::<Vec<u8>, _>(0)),
            name: r.get(1),
            reputation: reputation_at(r, 2),
        })
        .collect();
    Ok(Page {
        items,
        total,
        limit,
        offset,
    })
}

/// An open dispute as the arbiter's queue lists it. The holder's words are not here: only
/// the parties read them (`disputes::evidence`).
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct DisputeCase {
    #[sqlx(skip)]
    pub release: String,
    pub release_title: String,
    pub edition: i32,
    pub perk: i32,
    pub perk_title: String,
    pub escrow: String,
    #[sqlx(skip)]
    pub evidence_hash: Option<String>,
    #[serde(skip)]
    release_key: Vec<u8>,
    #[serde(skip)]
    evidence_key: Option<Vec<u8>>,
}

/// Every open dispute, oldest first.
pub async fn dispute_queue(db: &PgPool) -> Result<Vec<DisputeCase>, ApiError> {
    let mut cases: Vec<DisputeCase> = sqlx::query_as(
        "SELECT e.release AS release_key, r.title AS release_title, e.edition, e.perk, p.title AS perk_title,
                e.escrow::text AS escrow, e.evidence AS evidence_key
         FROM entitlements e JOIN perks p ON p.release = e.release AND p.perk = e.perk
         JOIN releases r ON r.address = e.release
         WHERE e.state = 'disputed' ORDER BY e.block_number, e.edition, e.perk LIMIT 200",
    )
    .fetch_all(db)
    .await?;
    for c in &mut cases {
        c.release = ss58(&c.release_key);
        c.evidence_hash = c
            .evidence_key
            .as_ref()
            .map(|h| format!("0x{}", hex::encode(h)));
    }
    Ok(cases)
}
