//! A dispute's evidence: the holder's words, kept by the API under the hash they put on
//! chain. They may hold a shipping address or personal details, so only the parties read
//! them — the holder of the edition, the release's artist, and the registry's arbiters.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::address::Address;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ErrorBody};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(evidence))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Evidence {
    /// The Blake2-256 hash on chain, 0x hex.
    pub hash: String,
    /// The holder's words, if they were given through the pages.
    pub text: Option<String>,
}

type EntitlementPath = (Address, i32, i32);

/// Who the parties of an entitlement are, and the evidence hash of its dispute.
#[derive(sqlx::FromRow)]
struct Parties {
    evidence: Option<Vec<u8>>,
    artist: Address,
    owner: Address,
}

/// The evidence of an entitlement's dispute, for the holder, the artist or an arbiter.
#[utoipa::path(get, path = "/api/releases/{address}/editions/{edition}/perks/{perk}/evidence",
    params(("address" = String, Path), ("edition" = i32, Path), ("perk" = i32, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Evidence), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn evidence(
    State(s): State<AppState>,
    Caller(caller, _): Caller,
    ApiPath((release, edition, perk)): ApiPath<EntitlementPath>,
) -> Result<Json<Evidence>, ApiError> {
    let row: Option<Parties> = sqlx::query_as(
        "SELECT e.evidence, r.artist, ed.owner FROM entitlements e
         JOIN releases r ON r.address = e.release
         JOIN editions ed ON ed.release = e.release AND ed.edition = e.edition
         WHERE e.release = $1 AND e.edition = $2 AND e.perk = $3",
    )
    .bind(release)
    .bind(edition)
    .bind(perk)
    .fetch_optional(&s.db)
    .await?;
    let Parties {
        evidence: hash,
        artist,
        owner,
    } = row.ok_or_else(|| ApiError::not_found("no such entitlement"))?;
    // The release's own arbiters, fixed when it was created: the ones who may rule on it.
    let arbiter: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM release_arbiters WHERE release = $1 AND arbiter = $2)",
    )
    .bind(release)
    .bind(caller)
    .fetch_one(&s.db)
    .await?;
    if !arbiter && caller != artist && caller != owner {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the holder, the artist and the release's arbiters read a dispute's evidence",
        ));
    }
    let hash = hash.ok_or_else(|| ApiError::not_found("this perk was never disputed"))?;
    let text: Option<String> =
        sqlx::query_scalar("SELECT text FROM dispute_evidence WHERE hash = $1")
            .bind(&hash)
            .fetch_optional(&s.db)
            .await?;
    Ok(Json(Evidence {
        hash: format!("0x{}", hex::encode(&hash)),
        text,
    }))
}

/// Keeps a holder's evidence text under its hash — called once the signed-in holder's
/// dispute passed the contract's dry run, so only a holder with a disputable delivery
/// stores anything — and drops texts no dispute on chain refers to a day later.
pub async fn keep_evidence(db: &sqlx::PgPool, hash: &[u8; 32], text: &str) -> Result<(), ApiError> {
    // A text prepared again is young again: the purge below must not take it.
    sqlx::query(
        "INSERT INTO dispute_evidence (hash, text) VALUES ($1, $2)
         ON CONFLICT (hash) DO UPDATE SET stored_at = now()",
    )
    .bind(hash.to_vec())
    .bind(text)
    .execute(db)
    .await?;
    sqlx::query(
        "DELETE FROM dispute_evidence d WHERE d.stored_at < now() - interval '1 day'
         AND NOT EXISTS (SELECT 1 FROM entitlements e WHERE e.evidence = d.hash)",
    )
    .execute(db)
    .await?;
    Ok(())
}

/// An open dispute as the arbiter's queue lists it. The holder's words are not here: only
/// the parties read them (`disputes::evidence`).
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct DisputeCase {
    pub release: Address,
    pub release_title: String,
    pub edition: i32,
    pub perk: i32,
    pub perk_title: String,
    pub escrow: String,
    #[sqlx(skip)]
    pub evidence_hash: Option<String>,
    #[serde(skip)]
    evidence_key: Option<Vec<u8>>,
}

/// Every dispute an arbiter may still rule on at `now` (ms), oldest first (after
/// `RULING_TIMEOUT` the contract refuses rulings: the escrow is the holder's).
pub async fn dispute_queue(db: &sqlx::PgPool, now: i64) -> Result<Vec<DisputeCase>, ApiError> {
    let mut cases: Vec<DisputeCase> = sqlx::query_as(&format!(
        "SELECT e.release, r.title AS release_title, e.edition, e.perk, p.title AS perk_title,
                e.escrow::text AS escrow, e.evidence AS evidence_key
         FROM entitlements e JOIN perks p ON p.release = e.release AND p.perk = e.perk
         JOIN releases r ON r.address = e.release
         WHERE {} ORDER BY e.block_number, e.edition, e.perk LIMIT 200",
        crate::audit::ruling_open()
    ))
    .bind(now)
    .persistent(false)
    .fetch_all(db)
    .await?;
    for c in &mut cases {
        c.evidence_hash = c
            .evidence_key
            .as_ref()
            .map(|h| format!("0x{}", hex::encode(h)));
    }
    Ok(cases)
}

/// [`dispute_queue`] at `now`, with until when it holds by the clock.
pub async fn queue_answer(
    db: &sqlx::PgPool,
    now: i64,
) -> Result<crate::memo::Answer<Vec<DisputeCase>>, ApiError> {
    Ok(crate::memo::Answer {
        value: dispute_queue(db, now).await?,
        until: crate::audit::ruling_lapses_at(db, now).await?,
    })
}
