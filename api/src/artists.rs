//! An artist's profile and reputation, and the analytics of their perks.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use sqlx::PgPool;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::address::Address;
use crate::error::{ApiError, ApiPath, ErrorBody};
use crate::read::{icon, Origin};
use crate::releases::Release;
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(artist_route))
        .routes(routes!(analytics_route))
}

/// An artist's profile, reputation and releases.
#[utoipa::path(get, path = "/api/artists/{address}", operation_id = "artist", params(("address" = String, Path, description = "SS58 or 0x hex")),
    responses((status = 200, body = Artist), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn artist_route(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<Address>,
) -> Result<Json<Artist>, ApiError> {
    Ok(Json(artist(&s.db, address).await?))
}

/// Sales and revenue by day; per perk: delivery rate, time to delivery, on-time rate,
/// confirmations, ratings, disputes, refunds, and sales before / after it was added.
#[utoipa::path(get, path = "/api/artists/{address}/analytics", operation_id = "analytics", params(("address" = String, Path, description = "SS58 or 0x hex")),
    responses((status = 200, body = Analytics), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn analytics_route(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<Address>,
) -> Result<Json<Analytics>, ApiError> {
    Ok(Json(kept_analytics(&s, address).await?))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reputation {
    pub delivered_on_time: i32,
    pub delivered_late: i32,
    pub refunded_overdue: i32,
    pub disputes_won: i32,
    pub disputes_lost: i32,
    pub rating_sum: i64,
    pub rating_count: i32,
    /// Perks the artist cancelled (refunded).
    pub cancelled: i32,
    /// Automatic perks their holders never unlocked (refunded; not the artist's failure).
    pub unclaimed: i32,
    /// Disputes no arbiter ruled on in time (refunded; the arbiters' failure).
    pub rulings_expired: i32,
    /// Outcomes from editions the artist bought or held: no paying fan stands behind them,
    /// so they are counted only here, in none of the figures above.
    pub self_dealt: i32,
    pub self_rating_sum: i64,
    pub self_rating_count: i32,
    /// On-time deliveries among all deliveries, in percent (null before the first).
    pub on_time_percent: Option<f64>,
    pub average_rating: Option<f64>,
    pub updated: Option<Origin>,
}

/// The reputation columns of table alias `p`, as [`ReputationRow`] reads them.
pub const REPUTATION_COLUMNS: &str = "p.delivered_on_time, p.delivered_late, p.refunded_overdue,
    p.disputes_won, p.disputes_lost, p.rating_sum, p.rating_count, p.cancelled, p.unclaimed,
    p.rulings_expired, p.self_dealt, p.self_rating_sum, p.self_rating_count,
    p.block_number AS block, p.extrinsic_index AS extrinsic";

/// [`REPUTATION_COLUMNS`] through a LEFT JOIN: all NULL for an artist with no outcome yet.
#[derive(sqlx::FromRow)]
pub struct ReputationRow {
    delivered_on_time: Option<i32>,
    delivered_late: Option<i32>,
    refunded_overdue: Option<i32>,
    disputes_won: Option<i32>,
    disputes_lost: Option<i32>,
    rating_sum: Option<i64>,
    rating_count: Option<i32>,
    cancelled: Option<i32>,
    unclaimed: Option<i32>,
    rulings_expired: Option<i32>,
    self_dealt: Option<i32>,
    self_rating_sum: Option<i64>,
    self_rating_count: Option<i32>,
    block: Option<i64>,
    extrinsic: Option<i32>,
}

impl From<ReputationRow> for Reputation {
    fn from(r: ReputationRow) -> Self {
        let on = r.delivered_on_time.unwrap_or(0);
        let late = r.delivered_late.unwrap_or(0);
        let sum = r.rating_sum.unwrap_or(0);
        let count = r.rating_count.unwrap_or(0);
        Reputation {
            delivered_on_time: on,
            delivered_late: late,
            refunded_overdue: r.refunded_overdue.unwrap_or(0),
            disputes_won: r.disputes_won.unwrap_or(0),
            disputes_lost: r.disputes_lost.unwrap_or(0),
            rating_sum: sum,
            rating_count: count,
            cancelled: r.cancelled.unwrap_or(0),
            unclaimed: r.unclaimed.unwrap_or(0),
            rulings_expired: r.rulings_expired.unwrap_or(0),
            self_dealt: r.self_dealt.unwrap_or(0),
            self_rating_sum: r.self_rating_sum.unwrap_or(0),
            self_rating_count: r.self_rating_count.unwrap_or(0),
            on_time_percent: (on + late > 0).then(|| 100.0 * f64::from(on) / f64::from(on + late)),
            average_rating: (count > 0).then(|| sum as f64 / f64::from(count)),
            updated: r.block.map(|block| Origin {
                block,
                extrinsic: r.extrinsic,
            }),
        }
    }
}

async fn reputation(db: &PgPool, artist: Address) -> Result<Reputation, ApiError> {
    // A LEFT JOIN from a one-row VALUES, so the row exists (with NULLs) for a new artist.
    let row: ReputationRow = sqlx::query_as(&format!(
        "SELECT {REPUTATION_COLUMNS} FROM (VALUES ($1::bytea)) k (artist)
         LEFT JOIN reputation p ON p.artist = k.artist"
    ))
    .bind(artist)
    .fetch_one(db)
    .await?;
    Ok(row.into())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Artist {
    pub address: Address,
    pub name: String,
    pub metadata_uri: String,
    pub registered_at: i64,
    pub reputation: Reputation,
    pub releases: Vec<Release>,
    pub registered: Origin,
    /// Commitments overdue now: an edition's perk past its deadline, neither delivered
    /// nor refunded, not cancelled (`audit::overdue`).
    pub overdue_now: i64,
    /// Whether that many flag the artist (`FLAG_OVERDUE_COMMITMENTS` in the types crate).
    pub flagged: bool,
    /// Automatic perks whose secret (or code pool) the artist has not handed to the API:
    /// holders can unlock them on chain but get nothing until it is uploaded.
    pub undeliverable: Vec<Undeliverable>,
}

/// An automatic perk that can be unlocked but not delivered yet.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Undeliverable {
    pub release: Address,
    pub perk: i32,
    pub title: String,
    /// Holders who unlocked it and are waiting.
    pub unlocked: i64,
}

/// The artist's automatic perks still open (not cancelled) with no secret uploaded.
pub async fn undeliverable(
    db: &PgPool,
    artist: Address,
) -> Result<Vec<Undeliverable>, sqlx::Error> {
    sqlx::query_as(
        "SELECT p.release, p.perk, p.title,
             (SELECT count(*) FROM entitlements e
              WHERE e.release = p.release AND e.perk = p.perk AND e.unlocked) AS unlocked
         FROM perks p JOIN releases r ON r.address = p.release
         WHERE r.artist = $1 AND p.content_hash IS NOT NULL AND p.cancelled_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM perk_secrets s WHERE s.release = p.release AND s.perk = p.perk)
         ORDER BY p.release, p.perk",
    )
    .bind(artist)
    .fetch_all(db)
    .await
}

#[derive(sqlx::FromRow)]
struct ArtistRow {
    name: String,
    metadata_uri: String,
    registered_at: i64,
    #[sqlx(flatten)]
    registered: Origin,
}

/// How many of an artist's releases their profile lists, newest first.
pub const ARTIST_RELEASES: i64 = 100;

/// An artist's profile now.
pub async fn artist(db: &PgPool, address: Address) -> Result<Artist, ApiError> {
    artist_at(db, address, crate::read::now_ms(), Reads::AtOnce).await
}

/// How an artist's four independent reads run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// At once: one wait for the database instead of four in a row (a request's own).
    AtOnce,
    /// One after another: inside a `memo::Room`, whose places count a computation as one
    /// statement at a time.
    OneByOne,
}

/// An artist's profile at `now` (the overdue count is the only figure the clock moves).
/// The profile row is read first (an unknown artist costs one query and is a 404 whatever
/// the pool's state); the other four reads are independent and run as `reads` says.
pub async fn artist_at(
    db: &PgPool,
    address: Address,
    now: i64,
    reads: Reads,
) -> Result<Artist, ApiError> {
    let row: ArtistRow = sqlx::query_as(
        "SELECT name, metadata_uri, registered_at, block_number AS block, extrinsic_index AS extrinsic
         FROM artists WHERE address = $1",
    )
    .bind(address)
    .fetch_optional(db)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("no artist {address}")))?;
    let overdue = async { Ok::<_, ApiError>(crate::audit::overdue_of(db, address, now).await?) };
    let reputation = reputation(db, address);
    let releases = async {
        Ok::<_, ApiError>(crate::releases::newest_of(db, address, ARTIST_RELEASES, now).await?)
    };
    let undeliverable = async { Ok::<_, ApiError>(undeliverable(db, address).await?) };
    let (overdue_now, reputation, releases, undeliverable) = match reads {
        Reads::AtOnce => tokio::try_join!(overdue, reputation, releases, undeliverable)?,
        Reads::OneByOne => (
            overdue.await?,
            reputation.await?,
            releases.await?,
            undeliverable.await?,
        ),
    };
    Ok(Artist {
        address,
        name: row.name,
        metadata_uri: row.metadata_uri,
        registered_at: row.registered_at,
        registered: row.registered,
        reputation,
        releases,
        undeliverable,
        overdue_now,
        flagged: dreamster_types::release::flagged_for_overdue(overdue_now.unsigned_abs()),
    })
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct DayFigures {
    /// UTC day, YYYY-MM-DD.
    pub day: String,
    pub sales: i64,
    pub revenue: String,
}

#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct PerkFigures {
    pub release: Address,
    pub perk: i32,
    pub title: String,
    #[sqlx(skip)]
    pub icon: String,
    #[serde(skip)]
    kind: String,
    pub granted: i32,
    pub delivered: i64,
    /// Delivered (or unlocked) among granted, percent.
    #[sqlx(skip)]
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

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Analytics {
    pub artist: Address,
    pub sales: i64,
    pub revenue: String,
    pub by_day: Vec<DayFigures>,
    pub perks: Vec<PerkFigures>,
}

/// An artist's analytics (of a registered artist: its callers have found them first —
/// the route with the version, `Memo::get_for_artist`, the artist's page with the profile).
pub async fn analytics(db: &PgPool, artist: Address) -> Result<Analytics, ApiError> {
    let by_day: Vec<DayFigures> = sqlx::query_as(
        "SELECT to_char(to_timestamp(ed.sold_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day,
            count(*) AS sales, sum(ed.price)::text AS revenue
         FROM editions ed JOIN releases r ON r.address = ed.release WHERE r.artist = $1 GROUP BY day ORDER BY day",
    )
    .bind(artist)
    .persistent(false)
    .fetch_all(db)
    .await?;
    let mut perks: Vec<PerkFigures> = sqlx::query_as(
        "SELECT p.release, p.perk, p.title, p.kind, p.granted,
            count(e.delivered_at) AS delivered,
            avg((e.delivered_at - ed.sold_at) / 3600000.0)::float8 AS avg_hours_to_delivery,
            (100.0 * count(*) FILTER (WHERE e.late = false AND e.delivered_at IS NOT NULL)
                / NULLIF(count(e.delivered_at), 0))::float8 AS on_time_percent,
            (SELECT count(*) FROM entitlement_changes c WHERE c.release = p.release AND c.perk = p.perk
                AND c.action IN ('confirmed', 'confirmed_by_timeout')) AS confirmations,
            avg(e.rating)::float8 AS average_rating, count(e.rating) AS ratings,
            (SELECT count(*) FROM entitlement_changes c WHERE c.release = p.release AND c.perk = p.perk AND c.action = 'disputed') AS disputes,
            (SELECT count(*) FROM entitlement_changes c WHERE c.release = p.release AND c.perk = p.perk AND c.action = 'refunded') AS refunds,
            (SELECT count(*) FROM editions x WHERE x.release = p.release AND x.edition < p.added_at_edition) AS sales_before,
            (SELECT count(*) FROM editions x WHERE x.release = p.release AND x.edition >= p.added_at_edition) AS sales_after
         FROM perks p JOIN releases r ON r.address = p.release
         LEFT JOIN entitlements e ON e.release = p.release AND e.perk = p.perk
         LEFT JOIN editions ed ON ed.release = e.release AND ed.edition = e.edition
         WHERE r.artist = $1
         GROUP BY p.release, p.perk, p.title, p.kind, p.granted, p.added_at_edition, r.block_number
         ORDER BY r.block_number, p.perk",
    )
    .bind(artist)
    .persistent(false)
    .fetch_all(db)
    .await?;
    for p in &mut perks {
        p.icon = icon(&p.kind).to_string();
        p.delivery_rate =
            (p.granted > 0).then(|| 100.0 * p.delivered as f64 / f64::from(p.granted));
    }
    let sales = by_day.iter().map(|d| d.sales).sum();
    let revenue = by_day
        .iter()
        .map(|d| d.revenue.parse::<u128>().unwrap_or(0))
        .sum::<u128>()
        .to_string();
    Ok(Analytics {
        artist,
        sales,
        revenue,
        by_day,
        perks,
    })
}

/// [`analytics`], kept until the read model changes (nothing in it depends on the clock);
/// an unknown artist's 404 comes before any computation (`Memo::get_for_artist`).
pub async fn kept_analytics(s: &AppState, artist: Address) -> Result<Analytics, ApiError> {
    let db = &s.db;
    s.memos
        .analytics
        .get_for_artist(db, artist, |_| async move {
            Ok(crate::memo::Answer::unchanged(analytics(db, artist).await?))
        })
        .await
}
