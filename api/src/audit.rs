//! What an auditor checks: perks overdue, disputes open, refunds paid, and the artists'
//! league by delivery record.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::address::Address;
use crate::artists::{Reputation, ReputationRow, REPUTATION_COLUMNS};
use crate::error::{ApiError, ApiQuery, ErrorBody};
use crate::memo::Answer;
use crate::read::{now_ms, page_bounds, Origin, Page, Paging};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit_overdue))
        .routes(routes!(audit_disputes))
        .routes(routes!(audit_refunds))
        .routes(routes!(audit_league))
}

/// One figure of the audit view, with where it came from on chain.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct AuditItem {
    pub release: Address,
    pub release_title: String,
    pub edition: i32,
    pub perk: i32,
    pub perk_title: String,
    pub amount: String,
    pub deadline: i64,
    #[sqlx(flatten)]
    pub at: Origin,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeagueRow {
    pub artist: Address,
    pub name: String,
    pub reputation: Reputation,
    /// Commitments overdue now (see `dreamster_types::release::FLAG_OVERDUE_COMMITMENTS`).
    pub overdue_now: i64,
    /// Whether that many flag the artist.
    pub flagged: bool,
}

#[derive(sqlx::FromRow)]
struct LeagueEntry {
    artist: Address,
    name: String,
    #[sqlx(flatten)]
    reputation: ReputationRow,
    overdue_now: i64,
}

/// The one condition of an overdue commitment (`e` an entitlement, `p` its perk, `now` the
/// SQL of the time now in ms, a parameter such as `$1`): pending past its deadline, and its
/// perk not cancelled. The overdue list, the league, the artist's page and the metrics all
/// count by it.
pub fn overdue(now: &str) -> String {
    format!("e.state = 'pending' AND e.deadline < {now} AND p.cancelled_at IS NULL")
}

/// The first moment (ms, exclusive bound) after `now` at which [`overdue`] can hold of
/// more commitments by the clock alone: one past the earliest pending deadline not passed
/// yet. Until then, an answer counting overdue commitments at `now` holds.
pub async fn overdue_changes_at(db: &PgPool, now: i64) -> Result<Option<i64>, sqlx::Error> {
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT min(deadline) FROM entitlements WHERE state = 'pending' AND deadline >= $1",
    )
    .bind(now)
    .persistent(false)
    .fetch_one(db)
    .await?;
    Ok(next.map(|deadline| deadline.saturating_add(1)))
}

/// The one condition of a dispute an arbiter may still rule on (`e` an entitlement, `$1`
/// the time now in ms): disputed, and the ruling time (the types crate's
/// `RULING_TIMEOUT`) not over. The audit list and the arbiters' queue both read it.
pub fn ruling_open() -> String {
    format!(
        "e.state = 'disputed' AND (e.disputed_at IS NULL OR e.disputed_at >= $1 - {})",
        dreamster_types::release::RULING_TIMEOUT
    )
}

/// The first moment (ms, exclusive bound) after `now` at which a dispute open at `now`
/// stops being open to a ruling by the clock alone: the earliest raised among those
/// [`ruling_open`] holds of, plus the ruling time, plus one.
pub async fn ruling_lapses_at(db: &PgPool, now: i64) -> Result<Option<i64>, sqlx::Error> {
    let first: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT min(e.disputed_at) FROM entitlements e WHERE {}",
        ruling_open()
    ))
    .bind(now)
    .persistent(false)
    .fetch_one(db)
    .await?;
    let timeout = i64::try_from(dreamster_types::release::RULING_TIMEOUT).unwrap_or(i64::MAX);
    Ok(first.map(|at| at.saturating_add(timeout).saturating_add(1)))
}

/// Each artist's commitments overdue now, for artists with any.
pub async fn overdue_by_artist(db: &PgPool) -> Result<Vec<(Address, i64)>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT r.artist, count(*) FROM entitlements e
         JOIN perks p ON p.release = e.release AND p.perk = e.perk
         JOIN releases r ON r.address = e.release
         WHERE {} GROUP BY r.artist",
        overdue("$1")
    ))
    .bind(now_ms())
    .persistent(false)
    .fetch_all(db)
    .await
}

/// One artist's commitments overdue at `now`.
///
/// Unlike the lists', this count is asked on every request for an artist's profile, and
/// planning it with `now`'s value cost 0.7 ms for 0.05 ms of work (pgbench, 1 000 000
/// entitlements). Its rows are one index range per release (`entitlements_pending`,
/// indexer migration 0008), whatever `now` is, so a generic plan serves it: `now` is given
/// as a subquery, whose value no plan is costed with, and after five runs PostgreSQL keeps
/// the prepared statement's generic plan (0.12 ms with its planning, EXPLAIN ANALYZE).
pub async fn overdue_of(db: &PgPool, artist: Address, now: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(&format!(
        "SELECT count(*) FROM entitlements e
         JOIN perks p ON p.release = e.release AND p.perk = e.perk
         JOIN releases r ON r.address = e.release
         WHERE r.artist = $2 AND {}",
        overdue("(SELECT $1::bigint)")
    ))
    .bind(now)
    .bind(artist)
    .fetch_one(db)
    .await
}

/// [`overdue_changes_at`] of one artist's commitments: until then, the artist's overdue
/// count at `now` holds by the clock.
pub async fn overdue_of_changes_at(
    db: &PgPool,
    artist: Address,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let next: Option<i64> = sqlx::query_scalar(
        "SELECT min(e.deadline) FROM entitlements e JOIN releases r ON r.address = e.release
         WHERE r.artist = $2 AND e.state = 'pending' AND e.deadline >= $1",
    )
    .bind(now)
    .bind(artist)
    .persistent(false)
    .fetch_one(db)
    .await?;
    Ok(next.map(|deadline| deadline.saturating_add(1)))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    /// Only this artist's releases.
    pub artist: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// The three lists of the audit view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditList {
    Overdue,
    Disputes,
    Refunds,
}

/// One page of one audit list, its filter checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuditQuery {
    pub list: AuditList,
    pub artist: Option<Address>,
    pub limit: i64,
    pub offset: i64,
}

impl AuditQuery {
    pub fn new(list: AuditList, f: &AuditFilter) -> Result<Self, ApiError> {
        let (limit, offset) = page_bounds(f.limit, f.offset)?;
        let artist = f.artist.as_deref().map(Address::parse).transpose()?;
        Ok(AuditQuery {
            list,
            artist,
            limit,
            offset,
        })
    }

    /// The first `limit` items of a list, unfiltered (every artist's).
    pub fn first(list: AuditList, limit: i64) -> Self {
        AuditQuery {
            list,
            artist: None,
            limit,
            offset: 0,
        }
    }
}

/// Perks past their deadline and still undelivered (refundable by their holders).
#[utoipa::path(get, path = "/api/audit/overdue", params(AuditFilter),
    responses((status = 200, body = Page<AuditItem>), (status = 400, body = ErrorBody)))]
async fn audit_overdue(
    State(s): State<AppState>,
    ApiQuery(f): ApiQuery<AuditFilter>,
) -> Result<Json<Page<AuditItem>>, ApiError> {
    Ok(Json(
        kept_items(&s, AuditQuery::new(AuditList::Overdue, &f)?).await?,
    ))
}

/// Disputes waiting for an arbiter.
#[utoipa::path(get, path = "/api/audit/disputes", params(AuditFilter),
    responses((status = 200, body = Page<AuditItem>), (status = 400, body = ErrorBody)))]
async fn audit_disputes(
    State(s): State<AppState>,
    ApiQuery(f): ApiQuery<AuditFilter>,
) -> Result<Json<Page<AuditItem>>, ApiError> {
    Ok(Json(
        kept_items(&s, AuditQuery::new(AuditList::Disputes, &f)?).await?,
    ))
}

/// Refunds paid, newest first.
#[utoipa::path(get, path = "/api/audit/refunds", params(AuditFilter),
    responses((status = 200, body = Page<AuditItem>), (status = 400, body = ErrorBody)))]
async fn audit_refunds(
    State(s): State<AppState>,
    ApiQuery(f): ApiQuery<AuditFilter>,
) -> Result<Json<Page<AuditItem>>, ApiError> {
    Ok(Json(
        kept_items(&s, AuditQuery::new(AuditList::Refunds, &f)?).await?,
    ))
}

/// Artists ranked by on-time delivery, rating and overdue refunds.
#[utoipa::path(get, path = "/api/audit/league", params(Paging),
    responses((status = 200, body = Page<LeagueRow>), (status = 400, body = ErrorBody)))]
async fn audit_league(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<Paging>,
) -> Result<Json<Page<LeagueRow>>, ApiError> {
    let (limit, offset) = p.bounds()?;
    Ok(Json(kept_league(&s, limit, offset).await?))
}

/// One page of an audit list as of `now` (ms).
pub async fn audit_items(
    db: &PgPool,
    q: &AuditQuery,
    now: i64,
) -> Result<Page<AuditItem>, ApiError> {
    let (from, amount, origin) = match q.list {
        AuditList::Overdue => (
            format!(
                "FROM entitlements e JOIN perks p ON p.release = e.release AND p.perk = e.perk
                 JOIN releases r ON r.address = e.release WHERE {}",
                overdue("$1")
            ),
            "e.escrow::text",
            "e.created_block",
        ),
        AuditList::Disputes => (
            format!(
                "FROM entitlements e JOIN perks p ON p.release = e.release AND p.perk = e.perk
                 JOIN releases r ON r.address = e.release WHERE {}",
                ruling_open()
            ),
            "e.escrow::text",
            "e.block_number",
        ),
        AuditList::Refunds => (
            "FROM entitlement_changes e JOIN perks p ON p.release = e.release AND p.perk = e.perk
             JOIN releases r ON r.address = e.release WHERE e.action = 'refunded' AND $1 >= 0"
                .to_string(),
            "e.amount::text",
            "e.block_number",
        ),
    };
    let scoped = format!("{from} AND ($2::bytea IS NULL OR r.artist = $2)");
    let items = sqlx::query_as(&format!(
        "SELECT r.address AS release, r.title AS release_title, e.edition, e.perk, p.title AS perk_title,
            coalesce({amount}, '') AS amount, p.deadline, {origin} AS block, e.extrinsic_index AS extrinsic
         {scoped} ORDER BY 8 DESC, 3, 4, 1 LIMIT $3 OFFSET $4"
    ))
    .bind(now)
    .bind(q.artist)
    .bind(q.limit)
    .bind(q.offset)
    .persistent(false)
    .fetch_all(db)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) {scoped}"))
        .bind(now)
        .bind(q.artist)
        .persistent(false)
        .fetch_one(db)
        .await?;
    Ok(Page {
        items,
        total,
        limit: q.limit,
        offset: q.offset,
    })
}

/// [`audit_items`] now. A page within the list's first `memo::KEPT_PAGE` items,
/// unfiltered, is cut from them, kept while they hold (`memo`): refunds until the read
/// model changes, the overdue list until a commitment falls overdue, the disputes until a
/// ruling lapses. Any other page (further on, or one artist's) is computed at its turn,
/// not kept.
pub async fn kept_items(s: &AppState, q: AuditQuery) -> Result<Page<AuditItem>, ApiError> {
    let db = &s.db;
    let shared = q.artist.is_none().then_some(q.list);
    s.memos
        .audit
        .page(db, shared, q.limit, q.offset, |limit, offset, now| {
            let page = AuditQuery {
                limit,
                offset,
                ..q.clone()
            };
            async move { items_answer(db, &page, now).await }
        })
        .await
}

/// [`audit_items`] at `now`, with until when it holds by the clock.
pub async fn items_answer(
    db: &PgPool,
    q: &AuditQuery,
    now: i64,
) -> Result<Answer<Page<AuditItem>>, ApiError> {
    let value = audit_items(db, q, now).await?;
    let until = match q.list {
        AuditList::Overdue => overdue_changes_at(db, now).await?,
        AuditList::Disputes => ruling_lapses_at(db, now).await?,
        AuditList::Refunds => None,
    };
    Ok(Answer { value, until })
}

/// Artists ranked by on-time delivery, then rating, then fewest overdue refunds (all from
/// editions others bought: the artist's own are counted apart).
pub async fn league(
    db: &PgPool,
    limit: i64,
    offset: i64,
    now: i64,
) -> Result<Page<LeagueRow>, ApiError> {
    // One query for the page, reputations joined in.
    let rows: Vec<LeagueEntry> = sqlx::query_as(&format!(
        "SELECT a.address AS artist, a.name, {REPUTATION_COLUMNS},
            (SELECT count(*) FROM entitlements e JOIN perks p ON p.release = e.release AND p.perk = e.perk
             JOIN releases r ON r.address = e.release WHERE r.artist = a.address AND {overdue}) AS overdue_now
         FROM artists a LEFT JOIN reputation p ON p.artist = a.address
         ORDER BY (p.delivered_on_time::float8 / NULLIF(p.delivered_on_time + p.delivered_late, 0)) DESC NULLS LAST,
            (p.rating_sum::float8 / NULLIF(p.rating_count, 0)) DESC NULLS LAST, p.refunded_overdue ASC NULLS LAST, a.name, a.address
         LIMIT $1 OFFSET $2",
        overdue = overdue("$3")
    ))
    .bind(limit)
    .bind(offset)
    .bind(now)
    .persistent(false)
    .fetch_all(db)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM artists")
        .fetch_one(db)
        .await?;
    let items = rows
        .into_iter()
        .map(|r| LeagueRow {
            artist: r.artist,
            name: r.name,
            reputation: r.reputation.into(),
            flagged: dreamster_types::release::flagged_for_overdue(r.overdue_now.unsigned_abs()),
            overdue_now: r.overdue_now,
        })
        .collect();
    Ok(Page {
        items,
        total,
        limit,
        offset,
    })
}

/// [`league`] now: a page within its first `memo::KEPT_PAGE` rows is cut from them, kept
/// until the read model changes or a commitment falls overdue; a page further on is
/// computed at its turn, not kept (see `memo`).
pub async fn kept_league(
    s: &AppState,
    limit: i64,
    offset: i64,
) -> Result<Page<LeagueRow>, ApiError> {
    let db = &s.db;
    s.memos
        .league
        .page(db, Some(()), limit, offset, |limit, offset, now| {
            league_answer(db, limit, offset, now)
        })
        .await
}

/// [`league`] at `now`, with until when it holds by the clock.
pub async fn league_answer(
    db: &PgPool,
    limit: i64,
    offset: i64,
    now: i64,
) -> Result<Answer<Page<LeagueRow>>, ApiError> {
    Ok(Answer {
        value: league(db, limit, offset, now).await?,
        until: overdue_changes_at(db, now).await?,
    })
}
