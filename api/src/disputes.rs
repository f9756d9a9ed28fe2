//! A dispute's evidence: the holder's words, kept by the API under the hash they put on
//! chain. They may hold a shipping address or personal details, so only the parties read
//! them — the holder of the edition, the release's artist, and the registry's arbiters.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::{address, ApiError, ApiPath, ErrorBody};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Evidence {
    /// The Blake2-256 hash on chain, 0x hex.
    pub hash: String,
    /// The holder's words, if they were given through the pages.
    pub text: Option<String>,
}

type EntitlementPath = (String, i32, i32);

/// Who the parties of an entitlement are, and the evidence hash of its dispute.
#[derive(sqlx::FromRow)]
struct Parties {
    evidence: Option<Vec<u8>>,
    artist: Vec<u8>,
    owner: Vec<u8>,
}

/// The evidence of an entitlement's dispute, for the holder, the artist or an arbiter.
#[utoipa::path(get, path = "/api/releases/{address}/editions/{edition}/perks/{perk}/evidence",
    params(("address" = String, Path), ("edition" = i32, Path), ("perk" = i32, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = Evidence), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn evidence(
    State(s): State<AppState>,
    Caller(caller, _): Caller,
    ApiPath((release, edition, perk)): ApiPath<EntitlementPath>,
) -> Result<Json<Evidence>, ApiError> {
    let release = address(&release)?;
    let row: Option<Parties> = sqlx::query_as(
        "SELECT e.evidence, r.artist, ed.owner FROM entitlements e
         JOIN releases r ON r.address = e.release
         JOIN editions ed ON ed.release = e.release AND ed.edition = e.edition
         WHERE e.release = $1 AND e.edition = $2 AND e.perk = $3",
    )
    .bind(release.to_vec())
    .bind(edition)
    .bind(perk)
    .fetch_optional(&s.db)
    .await?;
    let Parties {
        evidence: hash,
        artist,
        owner,
    } = row.ok_or_else(|| ApiError::not_found("no such entitlement"))?;
    let arbiter: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM arbiters WHERE address = $1 AND active)")
            .bind(caller.to_vec())
            .fetch_one(&s.db)
            .await?;
    if !arbiter && caller.as_slice() != artist.as_slice() && caller.as_slice() != owner.as_slice() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "only the holder, the artist and the arbiters read a dispute's evidence",
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
