//! Queries of the read model, shared by the JSON routes and the pages.

use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row};
use utoipa::{IntoParams, ToSchema};

use crate::error::{address, ss58, ApiError};

/// Where a row came from on chain.
#[derive(Debug, Serialize, ToSchema)]
pub struct Origin {
    pub block: i64,
    pub extrinsic: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Release {
    pub address: String,
    pub title: String,
    pub artist: String,
    pub artist_name: Option<String>,
    /// Price in the chain's smallest unit, as a decimal string.
    pub price: String,
    pub max_editions: Option<i32>,
    pub editions_sold: i32,
    pub sale_start: i64,
    pub sale_end: Option<i64>,
    pub on_sale: bool,
    pub perk_count: i64,
    /// Sum of the perks' estimated values, smallest unit, decimal string.
    pub total_perk_value: String,
    pub escrow_held: String,
    pub created: Origin,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Perk {
    pub perk: i32,
    pub category: String,
    pub kind: String,
    pub icon: String,
    pub title: String,
    pub description: String,
    pub estimated_value: String,
    pub escrow_bps: i32,
    /// The part of the price held in escrow for this perk.
    pub escrow_amount: String,
    pub delivery: String,
    /// Milliseconds since the epoch.
    pub deadline: i64,
    pub quantity_limit: Option<i32>,
    /// Editions that can still get it; `null` when unlimited.
    pub remaining: Option<i32>,
    pub added_at_edition: i32,
    pub added: Origin,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReleasePerks {
    pub release: Release,
    pub perks: Vec<Perk>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReleaseFilter {
    /// Only this artist's releases (SS58 or 0x hex).
    pub artist: Option<String>,
    /// Only releases with a perk of this category.
    pub category: Option<String>,
    /// Only releases on sale now (`true`) or not (`false`).
    pub on_sale: Option<bool>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

pub fn page_bounds(limit: Option<i64>, offset: Option<i64>) -> Result<(i64, i64), ApiError> {
    let limit = limit.unwrap_or(20);
    let offset = offset.unwrap_or(0);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_query",
            "limit must be between 1 and 100",
        ));
    }
    if offset < 0 {
        return Err(ApiError::bad_request(
            "bad_query",
            "offset must not be negative",
        ));
    }
    Ok((limit, offset))
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

const RELEASE_COLUMNS: &str =
    "r.address, r.title, r.artist, a.name, r.price::text, r.max_editions, r.editions_sold,
    r.sale_start, r.sale_end,
    (r.sale_start <= $1 AND (r.sale_end IS NULL OR r.sale_end > $1)
        AND (r.max_editions IS NULL OR r.editions_sold < r.max_editions)) AS on_sale,
    (SELECT count(*) FROM perks p WHERE p.release = r.address),
    (SELECT coalesce(sum(p.estimated_value), 0)::text FROM perks p WHERE p.release = r.address),
    r.escrow_held::text, r.block_number, r.extrinsic_index";

fn release_row(row: &sqlx::postgres::PgRow) -> Release {
    Release {
        address: ss58(&row.get::<Vec<u8>, _>(0)),
        title: row.get(1),
        artist: ss58(&row.get::<Vec<u8>, _>(2)),
        artist_name: row.get(3),
        price: row.get(4),
        max_editions: row.get(5),
        editions_sold: row.get(6),
        sale_start: row.get(7),
        sale_end: row.get(8),
        on_sale: row.get(9),
        perk_count: row.get(10),
        total_perk_value: row.get(11),
        escrow_held: row.get(12),
        created: Origin {
            block: row.get(13),
            extrinsic: row.get(14),
        },
    }
}

pub async fn releases(db: &PgPool, f: &ReleaseFilter) -> Result<Page<Release>, ApiError> {
    let (limit, offset) = page_bounds(f.limit, f.offset)?;
    let artist = f
        .artist
        .as_deref()
        .map(address)
        .transpose()?
        .map(|a| a.to_vec());
    if let Some(c) = &f.category {
        if dreamster_types::perk::PerkCategory::from_slug(c).is_none() {
            return Err(ApiError::bad_request(
                "bad_query",
                format!("unknown category {c:?}"),
            ));
        }
    }
    let filter = "FROM releases r LEFT JOIN artists a ON a.address = r.artist
        WHERE ($2::bytea IS NULL OR r.artist = $2)
          AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM perks p WHERE p.release = r.address AND p.category = $3))
          AND ($4::bool IS NULL OR $4 = (r.sale_start <= $1 AND (r.sale_end IS NULL OR r.sale_end > $1)
                AND (r.max_editions IS NULL OR r.editions_sold < r.max_editions)))";
    let now = now_ms();
    let rows = sqlx::query(&format!(
        "SELECT {RELEASE_COLUMNS} {filter} ORDER BY r.block_number DESC, r.address LIMIT $5 OFFSET $6"
    ))
    .bind(now)
    .bind(&artist)
    .bind(&f.category)
    .bind(f.on_sale)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) {filter}"))
        .bind(now)
        .bind(&artist)
        .bind(&f.category)
        .bind(f.on_sale)
        .fetch_one(db)
        .await?;
    Ok(Page {
        items: rows.iter().map(release_row).collect(),
        total,
        limit,
        offset,
    })
}

pub async fn release(db: &PgPool, addr: &str) -> Result<Release, ApiError> {
    let key = address(addr)?;
    let row = sqlx::query(&format!(
        "SELECT {RELEASE_COLUMNS} FROM releases r LEFT JOIN artists a ON a.address = r.artist WHERE r.address = $2"
    ))
    .bind(now_ms())
    .bind(key.to_vec())
    .fetch_optional(db)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("no release {addr}")))?;
    Ok(release_row(&row))
}

pub async fn perks(db: &PgPool, addr: &str) -> Result<ReleasePerks, ApiError> {
    let release = release(db, addr).await?;
    let key = address(addr)?;
    let price: u128 = release.price.parse().unwrap_or(0);
    let rows = sqlx::query(
        "SELECT perk, category, kind, title, description, estimated_value::text, escrow_bps, delivery, deadline,
            quantity_limit, granted, added_at_edition, block_number, extrinsic_index
         FROM perks WHERE release = $1 ORDER BY perk",
    )
    .bind(key.to_vec())
    .fetch_all(db)
    .await?;
    let perks = rows
        .iter()
        .map(|row| {
            let kind: String = row.get(2);
            let bps: i32 = row.get(6);
            let limit: Option<i32> = row.get(9);
            let granted: i32 = row.get(10);
            Perk {
                perk: row.get(0),
                category: row.get(1),
                icon: icon(&kind).to_string(),
                kind,
                title: row.get(3),
                description: row.get(4),
                estimated_value: row.get(5),
                escrow_bps: bps,
                escrow_amount: (price.saturating_mul(u128::try_from(bps).unwrap_or(0)) / 10_000)
                    .to_string(),
                delivery: row.get(7),
                deadline: row.get(8),
                quantity_limit: limit,
                remaining: limit.map(|l| (l - granted).max(0)),
                added_at_edition: row.get(11),
                added: Origin {
                    block: row.get(12),
                    extrinsic: row.get(13),
                },
            }
        })
        .collect();
    Ok(ReleasePerks { release, perks })
}

pub fn icon(kind: &str) -> &'static str {
    dreamster_types::perk::PerkKind::from_slug(kind)
        .map_or("⭐", dreamster_types::templates::PerkTemplate::icon_of)
}

/// A physical or event perk of an edition still waiting for the artist's delivery.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct DueDelivery {
    pub edition: i32,
    pub perk: i32,
    pub icon: String,
    pub title: String,
    pub deadline: i64,
}

/// The release's perks the artist still has to deliver by hand, soonest first.
pub async fn deliveries_due(db: &PgPool, addr: &str) -> Result<Vec<DueDelivery>, ApiError> {
    let key = address(addr)?.to_vec();
    let rows: Vec<(i32, i32, String, String, i64)> = sqlx::query_as(
        "SELECT e.edition, e.perk, p.kind, p.title, e.deadline
         FROM entitlements e JOIN perks p ON p.release = e.release AND p.perk = e.perk
         WHERE e.release = $1 AND e.state = 'pending' AND p.delivery <> 'automatic'
         ORDER BY e.deadline, e.edition, e.perk LIMIT 200",
    )
    .bind(key)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(edition, perk, kind, title, deadline)| DueDelivery {
            edition,
            perk,
            icon: icon(&kind).to_string(),
            title,
            deadline,
        })
        .collect())
}
