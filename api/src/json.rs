//! The JSON routes, documented for `/openapi.json`.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiPath, ApiQuery, ErrorBody};
use crate::read::{self, Page, Release, ReleaseFilter, ReleasePerks};
use crate::AppState;

/// Releases, newest first.
#[utoipa::path(get, path = "/api/releases", params(ReleaseFilter),
    responses((status = 200, body = Page<Release>), (status = 400, body = ErrorBody)))]
pub async fn releases(
    State(s): State<AppState>,
    ApiQuery(f): ApiQuery<ReleaseFilter>,
) -> Result<Json<Page<Release>>, ApiError> {
    Ok(Json(read::releases(&s.db, &f).await?))
}

/// One release.
#[utoipa::path(get, path = "/api/releases/{address}", params(("address" = String, Path, description = "SS58 or 0x hex")),
    responses((status = 200, body = Release), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn release(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<String>,
) -> Result<Json<Release>, ApiError> {
    Ok(Json(read::release(&s.db, &address).await?))
}

/// A release's perks as a fan sees them before buying, with the total perk value.
#[utoipa::path(get, path = "/api/releases/{address}/perks", params(("address" = String, Path, description = "SS58 or 0x hex")),
    responses((status = 200, body = ReleasePerks), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn release_perks(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<String>,
) -> Result<Json<ReleasePerks>, ApiError> {
    Ok(Json(read::perks(&s.db, &address).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Template {
    pub kind: &'static str,
    pub category: &'static str,
    pub icon: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub delivery: &'static str,
    pub deadline_days: u32,
    pub value_units: u32,
    pub escrow_bps: u16,
}

/// The perk templates the CLI's wizard offers (defined once, in the shared types crate).
#[utoipa::path(get, path = "/api/perk-templates", responses((status = 200, body = Vec<Template>)))]
pub async fn templates() -> Json<Vec<Template>> {
    Json(
        dreamster_types::templates::TEMPLATES
            .iter()
            .map(|t| Template {
                kind: t.kind.slug(),
                category: t.category().slug(),
                icon: t.icon,
                title: t.title,
                description: t.description,
                delivery: t.delivery.slug(),
                deadline_days: t.deadline_days,
                value_units: t.value_units,
                escrow_bps: t.escrow_bps,
            })
            .collect(),
    )
}
