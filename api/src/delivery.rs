//! Delivery automation: the artist hands over an automatic perk's secret (or a pool of
//! per-fan codes) with the salt it was committed with, accepted only if it matches the hash
//! on chain; once the indexer has seen a holder's unlock, that holder — and only that
//! holder — can fetch it, with the salt that proves it (`dreamster_types::commitment`).

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::{header, HeaderMap};
use axum::Json;
use dreamster_types::commitment::{self, Salt};
use dreamster_types::merkle;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::address::Address;
use crate::auth::Caller;
use crate::error::{ApiError, ApiPath, ErrorBody};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(upload))
        .routes(routes!(fetch))
}

/// The largest secret upload: the largest pool (`merkle::MAX_POOL` codes) at up to 160
/// bytes a code, JSON included. Every other route keeps the API's 64 KiB; this one reads
/// its body itself, and only once the caller is known to be the release's artist.
pub const UPLOAD_LIMIT: usize = 16 * 1024 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SecretUpload {
    /// One secret for every holder (a link, an invite).
    pub secret: Option<String>,
    /// Or one code per edition, committed on chain as their Merkle root.
    pub codes: Option<Vec<String>>,
    /// The salt the hash on chain was made with (`0x` and 64 hex digits): for a secret, its
    /// own; for codes, the pool key each code's salt comes from. Left out only for a perk
    /// committed before salting, whose hash is the secret's bare hash (or a root of bare leaves).
    pub salt: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SecretAccepted {
    pub perk: i32,
    /// `single` or `pool`.
    pub kind: &'static str,
    pub codes: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProofStep {
    pub sibling: String,
    pub sibling_on_left: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PerkSecret {
    /// The secret, or this edition's code from the pool.
    pub secret: String,
    /// For a pool: the proof that the code is under the committed root.
    pub proof: Option<Vec<ProofStep>>,
    /// The hash committed on chain (the secret's, or the pool's root).
    pub content_hash: String,
    /// This secret's salt (for a code: that code's own salt, never the pool key):
    /// `commitment::secret_commitment(salt, secret)` is the hash on chain (for a code,
    /// `commitment::code_leaf(salt, code)` with the proof leads to it). Null only for a perk
    /// committed before salting: the secret's (or each code's) bare BLAKE2b-256 hash.
    pub salt: Option<String>,
}

fn forbidden(message: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", message)
}

fn conflict(message: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "conflict", message)
}

/// The Merkle root a pool of codes commits to under `key`, once checked (`merkle::pool_root`:
/// the one rule of the CLI, the wizard and this upload); a bad pool is a 400 `bad_pool`.
pub fn pool_root(codes: &[String], key: Option<&Salt>) -> Result<[u8; 32], ApiError> {
    merkle::pool_root(codes, key).map_err(|e| ApiError::bad_request("bad_pool", e.to_string()))
}

/// A salt from a request; a bad one is a 400 `bad_salt`.
pub fn salt_of(text: &str) -> Result<Salt, ApiError> {
    commitment::parse_salt(text).map_err(|e| ApiError::bad_request("bad_salt", e))
}

#[derive(sqlx::FromRow)]
struct Committed {
    content_hash: Option<Vec<u8>>,
    artist: Address,
}

/// Who holds an edition, and whether they unlocked the perk (NULL: the edition does not
/// carry it).
#[derive(sqlx::FromRow)]
struct Holding {
    owner: Address,
    unlocked: Option<bool>,
}

/// An automatic perk's committed hash and its release's artist; 404 for no such perk,
/// 400 for a perk that is not automatic.
async fn committed_hash(
    s: &AppState,
    release: Address,
    perk: i32,
) -> Result<([u8; 32], Address), ApiError> {
    let row: Committed = sqlx::query_as(
        "SELECT p.content_hash, r.artist FROM perks p JOIN releases r ON r.address = p.release
         WHERE p.release = $1 AND p.perk = $2",
    )
    .bind(release)
    .bind(perk)
    .fetch_optional(&s.db)
    .await?
    .ok_or_else(|| ApiError::not_found("no such perk"))?;
    let hash = row
        .content_hash
        .and_then(|h| <[u8; 32]>::try_from(h).ok())
        .ok_or_else(|| {
            ApiError::bad_request("not_automatic", "this perk is not delivered automatically")
        })?;
    Ok((hash, row.artist))
}

/// The artist uploads the secret (or code pool) of an automatic perk.
#[utoipa::path(post, path = "/api/releases/{address}/perks/{perk}/secret",
    params(("address" = String, Path), ("perk" = i32, Path)), request_body = SecretUpload, security(("bearer" = [])),
    responses((status = 201, body = SecretAccepted), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn upload(
    State(s): State<AppState>,
    Caller(caller, _): Caller,
    ApiPath((release, perk)): ApiPath<(Address, i32)>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<SecretAccepted>), ApiError> {
    let (hash, artist) = committed_hash(&s, release, perk).await?;
    if artist != caller {
        return Err(forbidden(
            "only the release's artist may provide a perk's secret",
        ));
    }
    let up = read_upload(&headers, body).await?;
    let salt = up.salt.as_deref().map(salt_of).transpose()?;
    let mut tx = s.db.begin().await?;
    let accepted = match (up.secret, up.codes) {
        (Some(secret), None) => {
            let committed = match &salt {
                Some(salt) => commitment::secret_commitment(salt, secret.as_bytes()),
                None => dreamster_types::content_hash(secret.as_bytes()),
            };
            if committed != hash {
                return Err(ApiError::bad_request(
                    "hash_mismatch",
                    "this secret and salt do not match the hash committed on chain",
                ));
            }
            let done = sqlx::query("INSERT INTO perk_secrets (release, perk, secret, salt) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(release)
                .bind(perk)
                .bind(&secret)
                .bind(salt.map(|s| s.to_vec()))
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(conflict("this perk's secret was already provided"));
            }
            SecretAccepted {
                perk,
                kind: "single",
                codes: 1,
            }
        }
        (None, Some(codes)) => {
            if pool_root(&codes, salt.as_ref())? != hash {
                return Err(ApiError::bad_request(
                    "hash_mismatch",
                    "these codes' Merkle root under this pool key does not match the hash committed on chain",
                ));
            }
            let done = sqlx::query("INSERT INTO perk_secrets (release, perk, pool_size, salt) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING")
                .bind(release)
                .bind(perk)
                .bind(codes.len() as i32)
                .bind(salt.map(|s| s.to_vec()))
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(conflict("this perk's codes were already provided"));
            }
            sqlx::query(
                "INSERT INTO perk_codes (release, perk, idx, code)
                 SELECT $1, $2, i - 1, c FROM UNNEST($3::text[]) WITH ORDINALITY AS u(c, i)",
            )
            .bind(release)
            .bind(perk)
            .bind(&codes)
            .execute(&mut *tx)
            .await?;
            store_tree(
                &mut tx,
                release,
                perk,
                &merkle::leaves(&codes, salt.as_ref()),
            )
            .await?;
            SecretAccepted {
                perk,
                kind: "pool",
                codes: codes.len(),
            }
        }
        _ => {
            return Err(ApiError::bad_request(
                "bad_body",
                "send either `secret` or `codes`",
            ))
        }
    };
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(accepted)))
}

/// The upload's JSON, read only now that the caller is the artist: up to `UPLOAD_LIMIT`.
async fn read_upload(headers: &HeaderMap, body: Body) -> Result<SecretUpload, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "bad_body",
            "expected a body of type application/json",
        ));
    }
    let bytes = axum::body::to_bytes(body, UPLOAD_LIMIT)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("an upload is at most {} MiB", UPLOAD_LIMIT / (1024 * 1024)),
            )
        })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "bad_body", e.to_string()))
}

/// The holder of an edition fetches an automatic perk's secret once they have unlocked it.
#[utoipa::path(get, path = "/api/releases/{address}/editions/{edition}/perks/{perk}/secret",
    params(("address" = String, Path), ("edition" = i32, Path), ("perk" = i32, Path)), security(("bearer" = [])),
    responses((status = 200, body = PerkSecret), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn fetch(
    State(s): State<AppState>,
    Caller(caller, _): Caller,
    ApiPath((release, edition, perk)): ApiPath<(Address, i32, i32)>,
) -> Result<Json<PerkSecret>, ApiError> {
    let (hash, _) = committed_hash(&s, release, perk).await?;
    let row: Holding = sqlx::query_as(
        "SELECT ed.owner, e.unlocked FROM editions ed
         LEFT JOIN entitlements e ON e.release = ed.release AND e.edition = ed.edition AND e.perk = $3
         WHERE ed.release = $1 AND ed.edition = $2",
    )
    .bind(release)
    .bind(edition)
    .bind(perk)
    .fetch_optional(&s.db)
    .await?
    .ok_or_else(|| ApiError::not_found("no such edition"))?;
    if row.owner != caller {
        return Err(forbidden("only the edition's holder may fetch its secret"));
    }
    match row.unlocked {
        None => return Err(ApiError::not_found("this edition does not carry that perk")),
        Some(false) => return Err(conflict("unlock the perk on chain first (dreamster unlock); the secret is served once the unlock is indexed")),
        Some(true) => {}
    }
    // The secret, or the pool's size (the shape of its tree, for the proof below); the salt.
    let (secret, pool_size, salt): (Option<String>, Option<i32>, Option<Vec<u8>>) = sqlx::query_as(
        "SELECT secret, pool_size, salt FROM perk_secrets WHERE release = $1 AND perk = $2",
    )
    .bind(release)
    .bind(perk)
    .fetch_optional(&s.db)
    .await?
    .ok_or_else(|| ApiError::not_found("the artist has not provided this perk's secret yet"))?;
    let content_hash = format!("0x{}", hex::encode(hash));
    let salt = salt
        .map(|b| Salt::try_from(b.as_slice()))
        .transpose()
        .map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "a stored salt is not 32 bytes",
            )
        })?;
    if let Some(secret) = secret {
        return Ok(Json(PerkSecret {
            secret,
            proof: None,
            content_hash,
            salt: salt.as_ref().map(commitment::salt_hex),
        }));
    }
    let (idx, code) = assign_code(&s, release, perk, edition).await?;
    // The holder gets their own code's salt; the pool key stays here.
    let code_salt = match (salt, u32::try_from(idx)) {
        (Some(key), Ok(i)) => Some(commitment::salt_hex(&commitment::code_salt(&key, i))),
        _ => None,
    };
    let proof = stored_proof(&s, release, perk, pool_size.unwrap_or(0), idx)
        .await?
        .into_iter()
        .map(|s| ProofStep {
            sibling: format!("0x{}", hex::encode(s.sibling)),
            sibling_on_left: s.sibling_on_left,
        })
        .collect();
    Ok(Json(PerkSecret {
        secret: code,
        proof: Some(proof),
        content_hash,
        salt: code_salt,
    }))
}

/// Stores every level of a pool's tree (`merkle::levels`) in one statement.
async fn store_tree(
    tx: &mut sqlx::PgConnection,
    release: Address,
    perk: i32,
    leaves: &[[u8; 32]],
) -> Result<(), sqlx::Error> {
    let (mut levels, mut idxs, mut hashes) = (Vec::new(), Vec::new(), Vec::new());
    for (level, nodes) in merkle::levels(leaves).into_iter().enumerate() {
        for (idx, hash) in nodes.into_iter().enumerate() {
            // A pool holds at most MAX_POOL codes, so both fit.
            levels.push(i32::try_from(level).unwrap_or(i32::MAX));
            idxs.push(i32::try_from(idx).unwrap_or(i32::MAX));
            hashes.push(hash.to_vec());
        }
    }
    sqlx::query(
        "INSERT INTO perk_code_nodes (release, perk, level, idx, hash)
         SELECT $1, $2, l, i, h FROM UNNEST($3::int[], $4::int[], $5::bytea[]) AS u(l, i, h)
         ON CONFLICT DO NOTHING",
    )
    .bind(release)
    .bind(perk)
    .bind(&levels)
    .bind(&idxs)
    .bind(&hashes)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The proof of code `idx`, one stored node per level. A pool uploaded before trees were
/// stored gets its tree built (once) here.
async fn stored_proof(
    s: &AppState,
    release: Address,
    perk: i32,
    size: i32,
    idx: i32,
) -> Result<Vec<merkle::Step>, ApiError> {
    let corrupt = || {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the stored pool is inconsistent",
        )
    };
    let positions = merkle::proof_positions(
        usize::try_from(size).map_err(|_| corrupt())?,
        usize::try_from(idx).map_err(|_| corrupt())?,
    )
    .ok_or_else(corrupt)?;
    let (levels, idxs): (Vec<i32>, Vec<i32>) = positions
        .iter()
        .map(|(l, i, _)| {
            (
                i32::try_from(*l).unwrap_or(i32::MAX),
                i32::try_from(*i).unwrap_or(i32::MAX),
            )
        })
        .unzip();
    for attempt in 0..2 {
        let nodes: Vec<(i32, i32, Vec<u8>)> = sqlx::query_as(
            "SELECT n.level, n.idx, n.hash FROM perk_code_nodes n
             JOIN UNNEST($3::int[], $4::int[]) AS w(level, idx) ON (n.level, n.idx) = (w.level, w.idx)
             WHERE n.release = $1 AND n.perk = $2",
        )
        .bind(release)
        .bind(perk)
        .bind(&levels)
        .bind(&idxs)
        .fetch_all(&s.db)
        .await?;
        if nodes.len() == positions.len() {
            let found: std::collections::HashMap<(i32, i32), Vec<u8>> =
                nodes.into_iter().map(|(l, i, h)| ((l, i), h)).collect();
            return positions
                .iter()
                .zip(levels.iter().zip(&idxs))
                .map(|((_, _, on_left), key)| {
                    let hash = found.get(&(*key.0, *key.1)).ok_or_else(corrupt)?;
                    Ok(merkle::Step {
                        sibling: <[u8; 32]>::try_from(hash.as_slice()).map_err(|_| corrupt())?,
                        sibling_on_left: *on_left,
                    })
                })
                .collect();
        }
        if attempt == 0 {
            build_missing_tree(s, release, perk).await?;
        }
    }
    Err(corrupt())
}

/// Builds the stored tree of a pool uploaded before trees were stored — once: concurrent
/// fetches wait on one lock per pool, and the first to hold it builds. A pool without a
/// stored key predates salting: its leaves are the codes' bare hashes.
async fn build_missing_tree(s: &AppState, release: Address, perk: i32) -> Result<(), sqlx::Error> {
    let mut tx = s.db.begin().await?;
    // Up to 100 000 codes and twice as many nodes: more than a request's statement time.
    sqlx::query("SET LOCAL statement_timeout = '60s'")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('perk_code_nodes:' || encode($1, 'hex') || ':' || $2::text, 0))")
        .bind(release)
        .bind(perk)
        .execute(&mut *tx)
        .await?;
    let built: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM perk_code_nodes WHERE release = $1 AND perk = $2)",
    )
    .bind(release)
    .bind(perk)
    .fetch_one(&mut *tx)
    .await?;
    if !built {
        let codes: Vec<String> = sqlx::query_scalar(
            "SELECT code FROM perk_codes WHERE release = $1 AND perk = $2 ORDER BY idx",
        )
        .bind(release)
        .bind(perk)
        .fetch_all(&mut *tx)
        .await?;
        let key: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT salt FROM perk_secrets WHERE release = $1 AND perk = $2")
                .bind(release)
                .bind(perk)
                .fetch_optional(&mut *tx)
                .await?
                .flatten();
        // The column's constraint keeps a salt at 32 bytes.
        let key = key
            .map(|k| Salt::try_from(k.as_slice()))
            .transpose()
            .map_err(|_| sqlx::Error::Protocol("a stored pool key is not 32 bytes".into()))?;
        let leaves = merkle::leaves(&codes, key.as_ref());
        store_tree(&mut tx, release, perk, &leaves).await?;
    }
    tx.commit().await
}

/// This edition's code: the one assigned before, or the next free one.
async fn assign_code(
    s: &AppState,
    release: Address,
    perk: i32,
    edition: i32,
) -> Result<(i32, String), ApiError> {
    let mut tx = s.db.begin().await?;
    let existing: Option<(i32, String)> = sqlx::query_as(
        "SELECT idx, code FROM perk_codes WHERE release = $1 AND perk = $2 AND edition = $3",
    )
    .bind(release)
    .bind(perk)
    .bind(edition)
    .fetch_optional(&mut *tx)
    .await?;
    let row = match existing {
        Some(row) => row,
        None => sqlx::query_as(
            "UPDATE perk_codes SET edition = $3 WHERE (release, perk, idx) = (
                SELECT release, perk, idx FROM perk_codes WHERE release = $1 AND perk = $2 AND edition IS NULL
                ORDER BY idx LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING idx, code",
        )
        .bind(release)
        .bind(perk)
        .bind(edition)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| conflict("the pool of codes is used up: ask the artist"))?,
    };
    tx.commit().await?;
    Ok(row)
}
