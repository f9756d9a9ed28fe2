//! A fan's editions and the state of every perk they hold: the one place the pages and
//! the API compute a perk's state.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::address::Address;
use crate::error::{ApiError, ApiPath, ApiQuery, ErrorBody};
use crate::read::{icon, now_ms, page_bounds, Origin, Page};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(fan_perks))
}

/// A fan's editions and, for each perk, its state and how to access it.
#[utoipa::path(get, path = "/api/fans/{address}/perks", params(("address" = String, Path, description = "SS58 or 0x hex"), BenefitFilter),
    responses((status = 200, body = FanDashboard), (status = 400, body = ErrorBody)))]
async fn fan_perks(
    State(s): State<AppState>,
    ApiPath(address): ApiPath<Address>,
    ApiQuery(f): ApiQuery<BenefitFilter>,
) -> Result<Json<FanDashboard>, ApiError> {
    Ok(Json(fan(&s.db, address, &f).await?))
}

/// A perk of an edition the fan holds, with its state and how to get it.
#[derive(Debug, Serialize, ToSchema, sqlx::FromRow)]
pub struct Benefit {
    pub release: Address,
    pub release_title: String,
    pub edition: i32,
    pub perk: i32,
    #[sqlx(skip)]
    pub icon: String,
    #[serde(skip)]
    kind: String,
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
    #[sqlx(skip)]
    pub access: String,
    #[sqlx(flatten)]
    pub last_change: Origin,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FanDashboard {
    pub fan: Address,
    pub editions: i64,
    pub benefits: Page<Benefit>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BenefitFilter {
    /// Only perks in this state.
    pub state: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

const STATES: [&str; 10] = [
    "pending",
    "unlocked",
    "delivered",
    "delivered_late",
    "confirmed",
    "overdue",
    "cancelled",
    "disputed",
    "refunded",
    "refundable",
];

/// A perk's state as the pages show it, computed in SQL so the dashboard can filter and
/// page by it. It must say what `Entitlement::status` (crates/types, the one definition the
/// CLI prints) says, read against the same clock and the release's dispute window — a
/// delivery nobody disputed in time is confirmed — with one refinement, `unlocked` for a
/// delivered automatic perk. `tests/state_agreement.rs` checks the two agree over every
/// stored state and clock position. `$2` is now (ms); `e` an entitlement, `r` its release,
/// `p` its perk. Sums are written as differences from `$2` so that no value a hostile
/// contract emits can overflow them. 2592000000 is `RULING_TIMEOUT` (30 days; a unit test
/// holds the two together).
pub const STATE_SQL: &str = "CASE
    WHEN e.state = 'pending' AND p.cancelled_at IS NOT NULL THEN 'cancelled'
    WHEN e.state = 'pending' AND e.deadline < $2 THEN 'overdue'
    WHEN e.state = 'refund_owed' THEN 'refundable'
    WHEN e.state = 'delivered' AND e.delivered_at > e.deadline THEN 'delivered_late'
    WHEN e.state = 'delivered' AND e.delivered_at IS NOT NULL AND e.deadline < $2 - r.dispute_window THEN 'confirmed'
    WHEN e.state = 'disputed' AND e.disputed_at < $2 - 2592000000 THEN 'refundable'
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
        ("refundable" | "cancelled", _) => {
            "refundable now: claim it (dreamster refund), or Dreamster's keeper sends it to you"
                .into()
        }
        ("overdue", "automatic") => {
            "not unlocked by its deadline: claim the refund (dreamster refund), or Dreamster's \
             keeper sends it to you"
                .into()
        }
        ("overdue", _) => format!(
            "refundable now: claim it (dreamster refund); if you do nothing, it is sent to you \
             {} after the deadline (until then you may still accept a late delivery)",
            dreamster_client::units::fmt_duration(dreamster_types::release::REFUND_GRACE)
        ),
        ("delivered_late", _) => format!(
            "delivered after the deadline: confirm it if you want it, or take the refund \
             (sent to you {} after the delivery if you do not confirm it)",
            dreamster_client::units::fmt_duration(dreamster_types::release::REFUND_GRACE)
        ),
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

/// A benefit with the figures of the whole dashboard, which the one query that reads the
/// page also counts (see [`fan`]).
#[derive(sqlx::FromRow)]
struct BenefitRow {
    #[sqlx(flatten)]
    benefit: Benefit,
    total: i64,
    editions: i64,
}

/// A fan's dashboard. The page, its total and the fan's editions come from one query: a
/// separate count was planned afresh on every request (PostgreSQL never judged its generic
/// plan cheaper), 1 ms of planning for 0.1 ms of work (EXPLAIN ANALYZE at 1 000 000
/// entitlements), most of what the dashboard cost the database. An empty page carries no
/// row to count on, so only then are the figures counted apart.
pub async fn fan(db: &PgPool, fan: Address, f: &BenefitFilter) -> Result<FanDashboard, ApiError> {
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
    const EDITIONS: &str = "SELECT count(*) FROM editions WHERE owner = $1";
    let now = now_ms();
    let rows: Vec<BenefitRow> = sqlx::query_as(&format!(
        "SELECT r.address AS release, r.title AS release_title, ed.edition, e.perk, p.kind,
            p.title, p.category, p.delivery, {STATE_SQL} AS state, e.escrow::text AS escrow,
            e.deadline, e.delivered_at, e.rating, e.block_number AS block, e.extrinsic_index AS extrinsic,
            count(*) OVER () AS total, ({EDITIONS}) AS editions
         {from} ORDER BY r.block_number, ed.edition, e.perk LIMIT $4 OFFSET $5"
    ))
    .bind(fan)
    .bind(now)
    .bind(&f.state)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await?;
    let (total, editions) = match rows.first() {
        Some(row) => (row.total, row.editions),
        None => {
            let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) {from}"))
                .bind(fan)
                .bind(now)
                .bind(&f.state)
                .fetch_one(db)
                .await?;
            let editions: i64 = sqlx::query_scalar(EDITIONS).bind(fan).fetch_one(db).await?;
            (total, editions)
        }
    };
    let mut items: Vec<Benefit> = rows.into_iter().map(|row| row.benefit).collect();
    for b in &mut items {
        b.icon = icon(&b.kind).to_string();
        b.access = access(&b.state, &b.delivery);
    }
    Ok(FanDashboard {
        fan,
        editions,
        benefits: Page {
            items,
            total,
            limit,
            offset,
        },
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_state_sql_uses_the_ruling_timeout_of_the_types_crate() {
        let timeout = dreamster_types::release::RULING_TIMEOUT.to_string();
        assert!(super::STATE_SQL.contains(&format!("$2 - {timeout}")));
    }
}
