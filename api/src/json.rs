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
    Json(template_list())
}

/// The perk templates as the API and the web wizard give them.
pub fn template_list() -> Vec<Template> {
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
        .collect()
}

use crate::dashboards::{
    self, Analytics, Artist, AuditFilter, AuditItem, BenefitFilter, FanDashboard, LeagueRow,
};

/// A fan's editions and, for each perk, its state and how to access it.
#[utoipa::path(get, path = "/api/fans/{address}/perks", params(("address" = String, Path, description = "SS58 or 0x hex"), BenefitFilter),
    responses((status = 200, body = FanDashboard), (status = 400, body = ErrorBody)))]
pub async fn fan_perks(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<String>,
    ApiQuery(f): ApiQuery<BenefitFilter>,
) -> Result<Json<FanDashboard>, ApiError> {
    Ok(Json(dashboards::fan(&s.db, &address, &f).await?))
}

/// An artist's profile, reputation and releases.
#[utoipa::path(get, path = "/api/artists/{address}", params(("address" = String, Path, description = "SS58 or 0x hex")),
    responses((status = 200, body = Artist), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn artist(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<String>,
) -> Result<Json<Artist>, ApiError> {
    Ok(Json(dashboards::artist(&s.db, &address).await?))
}

/// Sales and revenue by day; per perk: delivery rate, time to delivery, on-time rate,
/// confirmations, ratings, disputes, refunds, and sales before / after it was added.
#[utoipa::path(get, path = "/api/artists/{address}/analytics", params(("address" = String, Path, description = "SS58 or 0x hex")),
    responses((status = 200, body = Analytics), (status = 400, body = ErrorBody)))]
pub async fn analytics(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<String>,
) -> Result<Json<Analytics>, ApiError> {
    Ok(Json(dashboards::analytics(&s.db, &address).await?))
}

/// Perks past their deadline and still undelivered (refundable by their holders).
#[utoipa::path(get, path = "/api/audit/overdue", params(AuditFilter),
    responses((status = 200, body = Page<AuditItem>), (status = 400, body = ErrorBody)))]
pub async fn audit_overdue(
    State(s): State<AppState>,
    ApiQuery(f): ApiQuery<AuditFilter>,
) -> Result<Json<Page<AuditItem>>, ApiError> {
    Ok(Json(dashboards::audit_items(&s.db, "overdue", &f).await?))
}

/// Disputes waiting for an arbiter.
#[utoipa::path(get, path = "/api/audit/disputes", params(AuditFilter),
    responses((status = 200, body = Page<AuditItem>), (status = 400, body = ErrorBody)))]
pub async fn audit_disputes(
    State(s): State<AppState>,
    ApiQuery(f): ApiQuery<AuditFilter>,
) -> Result<Json<Page<AuditItem>>, ApiError> {
    Ok(Json(dashboards::audit_items(&s.db, "disputes", &f).await?))
}

/// Refunds paid, newest first.
#[utoipa::path(get, path = "/api/audit/refunds", params(AuditFilter),
    responses((status = 200, body = Page<AuditItem>), (status = 400, body = ErrorBody)))]
pub async fn audit_refunds(
    State(s): State<AppState>,
    ApiQuery(f): ApiQuery<AuditFilter>,
) -> Result<Json<Page<AuditItem>>, ApiError> {
    Ok(Json(dashboards::audit_items(&s.db, "refunds", &f).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// Artists ranked by on-time delivery, rating and overdue refunds.
#[utoipa::path(get, path = "/api/audit/league", params(Paging),
    responses((status = 200, body = Page<LeagueRow>), (status = 400, body = ErrorBody)))]
pub async fn audit_league(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<Paging>,
) -> Result<Json<Page<LeagueRow>>, ApiError> {
    Ok(Json(dashboards::league(&s.db, p.limit, p.offset).await?))
}
