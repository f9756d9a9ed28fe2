//! Sign-In with Substrate: the API hands out a nonce inside a message in the format of
//! Talisman's SIWS (EIP-4361-shaped: domain, address, statement, URI, version, chain id =
//! the chain's genesis hash, nonce, issued-at, expiration), the wallet signs it with
//! `signer.signRaw` (sr25519; extensions wrap raw messages in `<Bytes>…</Bytes>`, accepted
//! too), and a valid signature over an unused, unexpired nonce buys a bearer token, which
//! `POST /auth/logout` revokes.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{Duration, SecondsFormat, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subxt_signer::sr25519;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::address::Address;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(challenge))
        .routes(routes!(verify))
        .routes(routes!(logout))
}

const NONCE_LIFETIME_MINUTES: i64 = 5;
const SIWS_STATEMENT: &str = "Sign in to Dreamster to read your perks' secrets and your messages.";
const SESSION_LIFETIME_HOURS: i64 = 24;

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChallengeRequest {
    /// The account signing in (SS58 or 0x hex).
    pub address: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Challenge {
    pub nonce: String,
    /// The exact text to sign.
    pub message: String,
    pub expires_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct VerifyRequest {
    pub address: String,
    pub nonce: String,
    /// 0x-hex sr25519 signature (64 bytes) of the message, bare or wrapped in `<Bytes>…</Bytes>`.
    pub signature: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionToken {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub address: String,
    pub expires_at: String,
}

/// The domain (host and port) of a public URL such as `https://dreamster.example`.
pub fn siws_domain(url: &str) -> Result<&str, &'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    let domain = rest.split('/').next().unwrap_or_default();
    if domain.is_empty() || !domain.chars().all(|c| c.is_ascii_graphic()) {
        return Err("has no host");
    }
    Ok(domain)
}

/// What a SIWS message says.
pub struct SiwsFields<'a> {
    pub domain: &'a str,
    pub address: &'a str,
    pub uri: &'a str,
    pub chain_id: Option<&'a str>,
    pub nonce: &'a str,
    pub issued_at: chrono::DateTime<Utc>,
    pub expires_at: chrono::DateTime<Utc>,
}

/// The message in Talisman's SIWS text format (what `SiwsMessage.prepareMessage` writes),
/// so SIWS-aware wallets show it as a sign-in request.
pub fn siws_message(f: &SiwsFields) -> String {
    let time = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut lines = vec![
        format!(
            "{} wants you to sign in with your Substrate account:",
            f.domain
        ),
        f.address.to_string(),
        String::new(),
        SIWS_STATEMENT.to_string(),
        String::new(),
        format!("URI: {}", f.uri),
        "Version: 1.0.0".to_string(),
    ];
    if let Some(chain) = f.chain_id {
        lines.push(format!("Chain ID: {chain}"));
    }
    lines.push(format!("Nonce: {}", f.nonce));
    lines.push(format!("Issued At: {}", time(f.issued_at)));
    lines.push(format!("Expiration Time: {}", time(f.expires_at)));
    lines.join("\n")
}

/// `bytes` random bytes as hex: nonces, session tokens, webhook keys.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// Step 1: a nonce and the message to sign with it.
#[utoipa::path(post, path = "/auth/challenge", request_body = ChallengeRequest,
    responses((status = 200, body = Challenge), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn challenge(
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ChallengeRequest>,
) -> Result<Json<Challenge>, ApiError> {
    let account = Address::parse(&req.address)?;
    let nonce = random_hex(16);
    let now = Utc::now();
    let expires = now + Duration::minutes(NONCE_LIFETIME_MINUTES);
    // The site's own configured domain — never the requester's Host header, or a phishing
    // site could ask for a message naming itself and relay the signature — so the wallet
    // shows the user who asks. The chain id binds the session to this chain; without a
    // node the message simply has no chain id.
    let (domain, uri) = match &s.public_url {
        Some(url) => (
            siws_domain(url).unwrap_or("localhost").to_string(),
            url.clone(),
        ),
        None => {
            let host = headers
                .get(axum::http::header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
                .unwrap_or("localhost")
                .to_string();
            (host.clone(), format!("http://{host}"))
        }
    };
    let chain_id = s.chain.genesis_hash().await.ok();
    let message = siws_message(&SiwsFields {
        domain: &domain,
        address: &account.to_string(),
        uri: &uri,
        chain_id: chain_id.as_deref(),
        nonce: &nonce,
        issued_at: now,
        expires_at: expires,
    });
    sqlx::query(
        "INSERT INTO auth_nonces (nonce, address, message, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&nonce)
    .bind(account)
    .bind(&message)
    .bind(expires)
    .execute(&s.db)
    .await?;
    Ok(Json(Challenge {
        nonce,
        message,
        expires_at: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
    }))
}

fn signature(text: &str) -> Result<sr25519::Signature, ApiError> {
    let bytes = hex::decode(text.trim().trim_start_matches("0x"))
        .map_err(|_| ApiError::bad_request("bad_signature", "the signature is not hex"))?;
    let array: [u8; 64] = bytes
        .try_into()
        .map_err(|_| ApiError::bad_request("bad_signature", "an sr25519 signature is 64 bytes"))?;
    Ok(sr25519::Signature(array))
}

/// Step 2: the signed message for a session token. The nonce is spent either way.
#[utoipa::path(post, path = "/auth/verify", request_body = VerifyRequest,
    responses((status = 200, body = SessionToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn verify(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<VerifyRequest>,
) -> Result<Json<SessionToken>, ApiError> {
    let account = Address::parse(&req.address)?;
    let sig = signature(&req.signature)?;
    // Spending the nonce and reading its message is one statement: two racing verifies
    // cannot both use it.
    let message: Option<String> = sqlx::query_scalar(
        "UPDATE auth_nonces SET used_at = now()
         WHERE nonce = $1 AND address = $2 AND used_at IS NULL AND expires_at > now() RETURNING message",
    )
    .bind(&req.nonce)
    .bind(account)
    .fetch_optional(&s.db)
    .await?;
    let message = message
        .ok_or_else(|| unauthorized("unknown, used or expired nonce: ask for a new challenge"))?;
    let public = sr25519::PublicKey(account.0);
    let wrapped = format!("<Bytes>{message}</Bytes>");
    if !sr25519::verify(&sig, &message, &public) && !sr25519::verify(&sig, &wrapped, &public) {
        return Err(unauthorized(
            "the signature does not match the message and account",
        ));
    }
    let token = random_hex(32);
    let expires = Utc::now() + Duration::hours(SESSION_LIFETIME_HOURS);
    sqlx::query("INSERT INTO sessions (token_hash, address, expires_at) VALUES ($1, $2, $3)")
        .bind(dreamster_types::content_hash(token.as_bytes()).to_vec())
        .bind(account)
        .bind(expires)
        .execute(&s.db)
        .await?;
    Ok(Json(SessionToken {
        token,
        address: account.to_string(),
        expires_at: expires.to_rfc3339_opts(SecondsFormat::Secs, true),
    }))
}

fn bearer(headers: &HeaderMap) -> Result<String, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("sign in first: POST /auth/challenge, then /auth/verify"))?;
    let token = header
        .strip_prefix("Bearer ")
        .ok_or_else(|| unauthorized("expected `Authorization: Bearer <token>`"))?;
    Ok(token.trim().to_string())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoggedOut {
    pub revoked: bool,
}

/// Revokes the session of the bearer token: it is refused from now on.
#[utoipa::path(post, path = "/auth/logout",
    responses((status = 200, body = LoggedOut), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
async fn logout(State(s): State<AppState>, caller: Caller) -> Result<Json<LoggedOut>, ApiError> {
    let done = sqlx::query(
        "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(caller.token_hash.to_vec())
    .execute(&s.db)
    .await?;
    Ok(Json(LoggedOut {
        revoked: done.rows_affected() == 1,
    }))
}

/// The signed-in account of a request, from its bearer token.
pub struct Caller(pub Address, pub CallerToken);

/// The hash of the caller's session token (what logout revokes).
pub struct CallerToken {
    token_hash: [u8; 32],
}

impl std::ops::Deref for Caller {
    type Target = CallerToken;
    fn deref(&self) -> &CallerToken {
        &self.1
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Self::Rejection> {
        Caller::from_headers(&parts.headers, s).await
    }
}

impl Caller {
    /// The signed-in account of a request's headers (401 without a live session).
    pub async fn from_headers(headers: &HeaderMap, s: &AppState) -> Result<Self, ApiError> {
        let token_hash = dreamster_types::content_hash(bearer(headers)?.as_bytes());
        let account: Option<Address> = sqlx::query_scalar(
            "SELECT address FROM sessions WHERE token_hash = $1 AND expires_at > now() AND revoked_at IS NULL",
        )
        .bind(token_hash.to_vec())
        .fetch_optional(&s.db)
        .await?;
        let account =
            account.ok_or_else(|| unauthorized("unknown or expired session: sign in again"))?;
        Ok(Caller(account, CallerToken { token_hash }))
    }
}
