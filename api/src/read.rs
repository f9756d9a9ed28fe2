//! Shapes every read route shares: a page of rows, where a row came from on chain, the
//! clock the read model is read against, a perk kind's icon.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

/// Where a row came from on chain (columns `block` and `extrinsic` of a query).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct Origin {
    pub block: i64,
    pub extrinsic: Option<i32>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

impl<T: Clone> Page<T> {
    /// The page of `limit` items from `offset` of the same list, cut from this one, which
    /// starts at offset 0 and reaches at least `offset + limit` (or the list's end).
    pub fn within(&self, limit: i64, offset: i64) -> Page<T> {
        let skip = usize::try_from(offset).unwrap_or(0);
        let take = usize::try_from(limit).unwrap_or(0);
        Page {
            items: self.items.iter().skip(skip).take(take).cloned().collect(),
            total: self.total,
            limit,
            offset,
        }
    }
}

/// `?limit=&offset=` of a paged route.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

impl Paging {
    /// The limit and offset, checked.
    pub fn bounds(&self) -> Result<(i64, i64), ApiError> {
        page_bounds(self.limit, self.offset)
    }
}

/// A page's limit (1 to 100, default 20) and offset (≥ 0, default 0), checked.
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

pub fn icon(kind: &str) -> &'static str {
    dreamster_types::perk::PerkKind::from_slug(kind)
        .map_or("⭐", dreamster_types::templates::PerkTemplate::icon_of)
}
