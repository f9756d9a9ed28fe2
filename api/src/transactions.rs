//! Every contract action of the pages, signed by the user's own wallet extension.
//!
//! `POST /api/tx/prepare` dry-runs the action at the best block with the same call
//! builders and the same refusal sentences as the CLI; a refusal costs nothing and is
//! explained in one sentence. An accepted action comes back as the payload the wallet's
//! `signer.signPayload` signs. `POST /api/tx/submit` takes that signature, submits the
//! extrinsic and streams its progress as server-sent events: signed → in a block →
//! finalized → indexed (the read model has the block, so the page can redraw itself).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::Json;
use dreamster_calls::{registry, release};
use dreamster_client::explain;
use dreamster_client::units::{fmt_amount, parse_amount};
use dreamster_client::wallet::{follow, SignedPayloadError, SignerPayload, Stage};
use dreamster_client::{ink_id, ClientError, Node};
use dreamster_types::commitment;
use dreamster_types::errors::ReleaseError;
use dreamster_types::perk::{DeliveryMethod, Perk, PerkCategory, PerkKind, PerkTerms};
use dreamster_types::registry_api::RegistryError;
use dreamster_types::release::SaleTerms;
use futures_util::stream::Stream;
use parity_scale_codec::Decode;
use serde::{Deserialize, Serialize};
use subxt::utils::AccountId32;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(prepare))
        .routes(routes!(submit))
}

/// How long the progress stream waits for the indexer to reach a finalized block.
const INDEX_WAIT: Duration = Duration::from_secs(60);

/// Transactions followed at once by one API process; more are refused (503) until some
/// finish, so followers cannot pile up.
pub const MAX_FOLLOWED: usize = 256;

/// One action a page can ask a wallet to sign. Amounts are in the token as people write
/// them ("2.5"); times are milliseconds since the epoch.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    Buy {
        release: String,
    },
    Unlock {
        release: String,
        edition: u32,
        perk: u32,
    },
    Confirm {
        release: String,
        edition: u32,
        perk: u32,
    },
    Rate {
        release: String,
        edition: u32,
        perk: u32,
        stars: u8,
    },
    /// The evidence text is kept by the API (content-addressed); its hash goes on chain.
    Dispute {
        release: String,
        edition: u32,
        perk: u32,
        evidence: String,
    },
    ClaimRefund {
        release: String,
        edition: u32,
        perk: u32,
    },
    Transfer {
        release: String,
        edition: u32,
        to: String,
    },
    RegisterArtist {
        name: String,
        #[serde(default)]
        metadata_uri: String,
    },
    CreateRelease {
        title: String,
        price: String,
        max_editions: Option<u32>,
        dispute_days: u64,
    },
    /// `secret` (automatic delivery) is hashed here; the page uploads it once the perk is
    /// on chain.
    AddPerk(PerkForm),
    MarkDelivered {
        release: String,
        edition: u32,
        perk: u32,
        proof: String,
    },
    Withdraw {
        release: String,
    },
    Resolve {
        release: String,
        edition: u32,
        perk: u32,
        refund: bool,
    },
}

/// A perk as the web wizard fills it in.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PerkForm {
    pub release: String,
    /// A template's kind (`unreleased_music`, …) or `custom`.
    pub kind: String,
    /// Needed for a custom perk; must match a template's own category.
    pub category: Option<String>,
    pub title: String,
    pub description: String,
    /// Estimated value, in the token ("20", "2.5").
    pub value: String,
    pub escrow_bps: u16,
    /// `automatic`, `physical` or `event`.
    pub delivery: String,
    /// One secret for every holder (automatic delivery)…
    pub secret: Option<String>,
    /// …or one code per edition: their Merkle root goes on chain, the page uploads them.
    pub codes: Option<Vec<String>>,
    /// The salt of the commitment (`0x` and 64 hex digits, random, picked by the page),
    /// needed with a secret or codes: for codes, the pool key. The page keeps it to upload
    /// with the secret; the hash on chain cannot be tested against guesses without it.
    pub salt: Option<String>,
    pub quantity_limit: Option<u32>,
    /// Milliseconds since the epoch.
    pub deadline: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PrepareRequest {
    /// The wallet account that will sign (SS58 or 0x hex).
    pub signer: String,
    pub action: Action,
}

/// An accepted action, ready for the wallet.
#[derive(Debug, Serialize, ToSchema)]
pub struct Prepared {
    /// polkadot.js' `SignerPayloadJSON`: hand it to `signer.signPayload` unchanged.
    #[schema(value_type = Object)]
    pub payload: SignerPayload,
    /// What the wallet is about to sign, in words.
    pub summary: String,
    /// The dry run's answer where the page needs it: the new perk's id, the edition
    /// bought, the amount withdrawn or refunded.
    pub answer: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SubmitRequest {
    #[schema(value_type = Object)]
    pub payload: SignerPayload,
    /// The wallet's signature: a 0x-hex `MultiSignature` (0x01 + 64 bytes for sr25519).
    pub signature: String,
}

/// Whose refusals a call can meet.
#[derive(Clone, Copy)]
enum Refusals {
    Release,
    Registry,
}

/// A resolved action: the contract message to call and what to tell the user.
struct Call {
    contract: AccountId32,
    value: u128,
    input: Vec<u8>,
    refusals: Refusals,
    summary: String,
    /// How to read the dry run's `Ok` value as a number, when it is one.
    answer: AnswerKind,
    /// A dispute's evidence (hash, text), kept once the contract accepts the dispute.
    evidence: Option<([u8; 32], String)>,
}

#[derive(Clone, Copy)]
enum AnswerKind {
    Nothing,
    U32,
    U128,
}

/// A message's `Result<T, E>` answer, read only as far as the outcome: the `Ok` value's
/// bytes are kept for [`AnswerKind`], the `Err` is decoded as the contract's error.
enum Outcome<E> {
    Accepted(Vec<u8>),
    Refused(E),
}

impl<E: Decode> Decode for Outcome<E> {
    fn decode<I: parity_scale_codec::Input>(
        input: &mut I,
    ) -> Result<Self, parity_scale_codec::Error> {
        match u8::decode(input)? {
            0 => {
                let mut rest = Vec::new();
                while let Ok(b) = u8::decode(input) {
                    rest.push(b);
                }
                Ok(Outcome::Accepted(rest))
            }
            1 => Ok(Outcome::Refused(E::decode(input)?)),
            _ => Err("not a Result".into()),
        }
    }
}

fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

fn account(field: &str, text: &str) -> Result<AccountId32, ApiError> {
    text.parse::<crate::address::Address>()
        .map(|a| a.account())
        .map_err(|e| ApiError::bad_request("bad_address", format!("{field}: {e}")))
}

fn amount(field: &str, text: &str) -> Result<u128, ApiError> {
    parse_amount(text).map_err(|e| ApiError::bad_request("bad_amount", format!("{field}: {e}")))
}

/// The hash of evidence or a delivery proof: content-addressed, unsalted (the text is kept
/// by the API or the artist, not a secret).
fn hash_of(text: &str) -> [u8; 32] {
    dreamster_types::content_hash(text.as_bytes())
}

fn release_call(release: &str, input: Vec<u8>, summary: String) -> Result<Call, ApiError> {
    Ok(Call {
        contract: account("release", release)?,
        value: 0,
        input,
        refusals: Refusals::Release,
        summary,
        answer: AnswerKind::Nothing,
        evidence: None,
    })
}

fn perk_terms(f: &PerkForm) -> Result<PerkTerms, ApiError> {
    let kind = f.kind.as_str();
    let category = f.category.as_deref();
    let kind = PerkKind::from_slug(kind)
        .ok_or_else(|| ApiError::bad_request("bad_perk", format!("unknown perk kind {kind:?}")))?;
    let category = match (category.filter(|c| !c.is_empty()), kind.category()) {
        (Some(c), _) => PerkCategory::from_slug(c)
            .ok_or_else(|| ApiError::bad_request("bad_perk", format!("unknown category {c:?}")))?,
        (None, Some(c)) => c,
        (None, None) => {
            return Err(ApiError::bad_request(
                "bad_perk",
                "a custom perk needs a category",
            ))
        }
    };
    let secret = f.secret.as_deref().filter(|s| !s.is_empty());
    let mut quantity_limit = f.quantity_limit;
    let salt = || {
        f.salt
            .as_deref()
            .ok_or_else(|| {
                ApiError::bad_request(
                    "bad_salt",
                    "an automatic perk's secret or codes need the salt they are committed with",
                )
            })
            .and_then(crate::delivery::salt_of)
    };
    let weak = |e: commitment::WeakSecret| ApiError::bad_request("weak_secret", e.to_string());
    let delivery = match (f.delivery.as_str(), secret, &f.codes) {
        ("automatic", Some(secret), None) => {
            commitment::judge_secret(secret).map_err(weak)?;
            DeliveryMethod::Automatic {
                content_hash: commitment::secret_commitment(&salt()?, secret.as_bytes()),
            }
        }
        ("automatic", None, Some(codes)) => {
            // One code per edition: the perk binds no more editions than there are codes.
            quantity_limit = Some(
                dreamster_types::merkle::pool_limit(codes.len(), quantity_limit)
                    .map_err(|e| ApiError::bad_request("bad_pool", e.to_string()))?,
            );
            let root = crate::delivery::pool_root(codes, Some(&salt()?))?;
            commitment::judge_codes(codes).map_err(weak)?;
            DeliveryMethod::Automatic { content_hash: root }
        }
        ("automatic", Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "bad_perk",
                "an automatic perk has one secret for all or a code each, not both",
            ))
        }
        ("automatic", None, None) => {
            return Err(ApiError::bad_request(
                "bad_perk",
                "an automatic perk needs its secret (a link, an invite) or a code per edition: its hash goes on chain",
            ))
        }
        ("physical", ..) => DeliveryMethod::Physical,
        ("event", ..) => DeliveryMethod::Event,
        (other, ..) => {
            return Err(ApiError::bad_request(
                "bad_perk",
                format!("delivery is automatic, physical or event, not {other:?}"),
            ))
        }
    };
    Ok(PerkTerms {
        category,
        kind,
        title: f.title.trim().to_string(),
        description: f.description.trim().to_string(),
        metadata_uri: String::new(),
        estimated_value: amount("value", &f.value)?,
        escrow_bps: f.escrow_bps,
        delivery,
        quantity_limit,
        deadline: f.deadline,
    })
}

/// The contract message an action calls. Reads the chain where the call depends on it
/// (a release's price), never trusting the page for it.
async fn resolve_call(s: &AppState, node: &Node, action: &Action) -> Result<Call, ApiError> {
    use Action::*;
    Ok(match action {
        Buy { release: rel } => {
            let contract = account("release", rel)?;
            let terms: SaleTerms = node
                .query(&contract, &release::sale_terms())
                .await
                .map_err(|e| match e {
                    ClientError::Dispatch(_)
                    | ClientError::Trapped
                    | ClientError::Decode(_)
                    | ClientError::Answer(_) => {
                        ApiError::not_found("no release contract at that address")
                    }
                    other => chain_error(other),
                })?;
            // The buyer is shown the perks a new edition carries now; the purchase is
            // refused on chain if any of them is gone by the time it is included.
            let perks: Vec<Perk> = node.perks(&contract).await.map_err(chain_error)?;
            let now = dreamster_client::units::now_ms();
            let expected = dreamster_types::perk::grantable_ids(&perks, now);
            let with = if expected.is_empty() {
                "no perks".to_string()
            } else {
                let titles: Vec<String> = expected
                    .iter()
                    .filter_map(|id| perks.get(*id as usize))
                    .map(|p| format!("{:?}", p.terms.title))
                    .collect();
                format!("perks {}", titles.join(", "))
            };
            Call {
                contract,
                value: terms.price,
                input: release::buy(expected),
                refusals: Refusals::Release,
                summary: format!(
                    "buy an edition of {:?} for {}, with {with}",
                    terms.title,
                    fmt_amount(terms.price)
                ),
                answer: AnswerKind::U32,
                evidence: None,
            }
        }
        Unlock {
            release: r,
            edition,
            perk,
        } => release_call(
            r,
            release::unlock(*edition, *perk),
            format!("unlock perk {perk} of edition {edition}"),
        )?,
        Confirm {
            release: r,
            edition,
            perk,
        } => release_call(
            r,
            release::confirm(*edition, *perk),
            format!("confirm the delivery of perk {perk} of edition {edition}"),
        )?,
        Rate {
            release: r,
            edition,
            perk,
            stars,
        } => release_call(
            r,
            release::rate(*edition, *perk, *stars),
            format!("rate perk {perk} of edition {edition} {stars} ★"),
        )?,
        Dispute {
            release: r,
            edition,
            perk,
            evidence,
        } => {
            let evidence = evidence.trim();
            if evidence.is_empty() || evidence.chars().count() > 4_000 || evidence.contains('\0') {
                return Err(ApiError::bad_request(
                    "bad_evidence",
                    "describe what went wrong in 1 to 4 000 characters (no NUL characters)",
                ));
            }
            // Content-addressed: the text is kept under its own hash, so the arbiter reads
            // exactly what the holder committed to on chain.
            let hash = hash_of(evidence);
            let mut call = release_call(
                r,
                release::dispute(*edition, *perk, hash),
                format!("dispute the delivery of perk {perk} of edition {edition}"),
            )?;
            call.evidence = Some((hash, evidence.to_string()));
            call
        }
        ClaimRefund {
            release: r,
            edition,
            perk,
        } => {
            let mut call = release_call(
                r,
                release::claim_refund(*edition, *perk),
                format!("claim the refund of perk {perk} of edition {edition}"),
            )?;
            call.answer = AnswerKind::U128;
            call
        }
        Transfer {
            release: r,
            edition,
            to,
        } => {
            let to = account("to", to)?;
            release_call(
                r,
                release::transfer(ink_id(&to), *edition),
                format!("give edition {edition} to {to}"),
            )?
        }
        MarkDelivered {
            release: r,
            edition,
            perk,
            proof,
        } => {
            if proof.trim().is_empty() {
                return Err(ApiError::bad_request(
                    "bad_proof",
                    "say how it was delivered (a tracking number, the event's date and place)",
                ));
            }
            release_call(
                r,
                release::mark_delivered(*edition, *perk, hash_of(proof.trim())),
                format!("mark perk {perk} of edition {edition} delivered"),
            )?
        }
        Withdraw { release: r } => {
            let mut call = release_call(
                r,
                release::withdraw(),
                "withdraw what the release owes you".into(),
            )?;
            call.answer = AnswerKind::U128;
            call
        }
        Resolve {
            release: r,
            edition,
            perk,
            refund,
        } => release_call(
            r,
            release::resolve(*edition, *perk, *refund),
            format!(
                "rule on the dispute of perk {perk} of edition {edition}: {}",
                if *refund {
                    "refund the holder"
                } else {
                    "the delivery stands"
                }
            ),
        )?,
        AddPerk(form) => {
            let terms = perk_terms(form)?;
            let mut call = release_call(
                &form.release,
                release::add_perk(terms),
                format!("add the perk {:?}", form.title.trim()),
            )?;
            call.answer = AnswerKind::U32;
            call
        }
        RegisterArtist { name, metadata_uri } => Call {
            contract: crate::chain::registry(&s.db).await?,
            value: 0,
            input: registry::register_artist(name.trim(), metadata_uri.trim()),
            refusals: Refusals::Registry,
            summary: format!("register as the artist {:?}", name.trim()),
            answer: AnswerKind::Nothing,
            evidence: None,
        },
        CreateRelease {
            title,
            price,
            max_editions,
            dispute_days,
        } => {
            let dispute_window = dispute_days.checked_mul(86_400_000).ok_or_else(|| {
                ApiError::bad_request("bad_terms", "the dispute window is too long")
            })?;
            let contract = crate::chain::registry(&s.db).await?;
            // The code in effect now is the one the artist is shown and signs for; if the
            // owner's announced change takes effect first, the registry refuses.
            let code: Option<[u8; 32]> = node
                .query(&contract, &registry::release_code_hash())
                .await
                .map_err(chain_error)?;
            let code = code.ok_or_else(|| {
                ApiError::bad_request("no_release_code", "the registry has no release code yet")
            })?;
            let pending: Option<([u8; 32], u64)> = node
                .query(&contract, &registry::pending_release_code())
                .await
                .map_err(chain_error)?;
            let announced = pending.map_or(String::new(), |(next, at)| {
                format!(" ({})", explain::announced_code(&next, at))
            });
            Call {
                contract,
                value: 0,
                input: registry::create_release(
                    SaleTerms {
                        title: title.trim().to_string(),
                        metadata_uri: String::new(),
                        price: amount("price", price)?,
                        max_editions: *max_editions,
                        sale_start: 0,
                        sale_end: None,
                        dispute_window,
                    },
                    code,
                ),
                refusals: Refusals::Registry,
                summary: format!(
                    "create the release {:?} at {price} {}, running release code 0x{}{announced}",
                    title.trim(),
                    dreamster_client::units::SYMBOL,
                    hex::encode(code)
                ),
                answer: AnswerKind::Nothing,
                evidence: None,
            }
        }
    })
}

/// The one sentence for a dry run that did not go through, from the shared definitions.
fn refusal(call: &Call, data: &[u8]) -> Result<Option<Vec<u8>>, ApiError> {
    let sentence = match call.refusals {
        Refusals::Release => match dreamster_calls::decode_answer::<Outcome<ReleaseError>>(data) {
            Ok(Outcome::Accepted(rest)) => return Ok(Some(rest)),
            Ok(Outcome::Refused(e)) => explain::release_error(&e),
            Err(e) => return Err(unprocessable("undecodable", e.to_string())),
        },
        Refusals::Registry => {
            match dreamster_calls::decode_answer::<Outcome<RegistryError>>(data) {
                Ok(Outcome::Accepted(rest)) => return Ok(Some(rest)),
                Ok(Outcome::Refused(e)) => explain::registry_error(&e),
                Err(e) => return Err(unprocessable("undecodable", e.to_string())),
            }
        }
    };
    Err(unprocessable("refused", sentence))
}

fn read_answer(kind: AnswerKind, bytes: &[u8]) -> Option<u64> {
    let mut b = bytes;
    match kind {
        AnswerKind::Nothing => None,
        AnswerKind::U32 => u32::decode(&mut b).ok().map(u64::from),
        AnswerKind::U128 => u128::decode(&mut b)
            .ok()
            .and_then(|v| u64::try_from(v).ok()),
    }
}

/// What the node's transaction pool says about a transaction it will not take, in a
/// sentence: these are the user's situations, not the server's failures. (The pool's
/// words, matched without regard to case: "Transaction is outdated", "Transaction Already
/// Imported", …)
fn pool_refusal(text: &str) -> Option<&'static str> {
    const REFUSALS: [(&str, &str); 7] = [
        ("inability to pay some fees", "your account cannot pay this transaction's fee (on top of any price): add funds and try again"),
        ("outdated", "this transaction's nonce was already used (another transaction went first): try again"),
        ("priority is too low", "another transaction of this account with the same nonce is waiting: let it finish first"),
        ("already imported", "this very transaction was already sent"),
        ("temporarily banned", "the node refuses this transaction for a while (it was sent and dropped before): try again later"),
        ("immediately dropped", "the node's pool is full: try again in a moment"),
        ("bad signature", "the chain refused the signature: the wallet may be on another chain"),
    ];
    let text = text.to_lowercase();
    REFUSALS
        .iter()
        .find(|(needle, _)| text.contains(needle))
        .map(|(_, sentence)| *sentence)
}

/// A lost connection (the client's background task ended): reconnect next time.
fn connection_lost(text: &str) -> bool {
    [
        "background task",
        "RestartNeeded",
        "connection closed",
        "Connection reset",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

fn chain_error(e: ClientError) -> ApiError {
    match e {
        ClientError::Trapped => {
            unprocessable("refused", "the contract refused the call without an answer")
        }
        ClientError::Dispatch(m) => {
            unprocessable("refused", format!("the chain would refuse this: {m}"))
        }
        // The user's situation (another transaction went first, the runtime moved on):
        // preparing again fixes it, so not the client's mistake.
        ClientError::Wallet(
            w @ (SignedPayloadError::StaleNonce | SignedPayloadError::StaleRuntime),
        ) => ApiError::new(StatusCode::CONFLICT, "stale", w.to_string()),
        ClientError::Wallet(w) => ApiError::bad_request("bad_signed_payload", w.to_string()),
        other => {
            let text = other.to_string();
            match pool_refusal(&text) {
                Some(sentence) => unprocessable("refused", sentence),
                None if connection_lost(&text) => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "node_unavailable",
                    "the connection to the chain was lost; try again in a moment",
                ),
                None => ApiError::new(StatusCode::BAD_GATEWAY, "node_error", text),
            }
        }
    }
}

/// Maps a client error for the response, forgetting the connection if it is gone.
async fn node_failure(s: &AppState, e: ClientError) -> ApiError {
    let error = chain_error(e);
    if error.code == "node_unavailable" {
        s.chain.reset().await;
    }
    error
}

/// Dry-runs an action for a wallet account; the payload to sign if the contract accepts.
#[utoipa::path(post, path = "/api/tx/prepare", request_body = PrepareRequest,
    responses((status = 200, body = Prepared), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, description = "refused: `message` is the sentence to show", body = ErrorBody),
              (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn prepare(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    ApiJson(req): ApiJson<PrepareRequest>,
) -> Result<Json<Prepared>, ApiError> {
    let signer = account("signer", &req.signer)?;
    // Evidence is stored here, so a dispute is prepared only by the signed-in holder
    // (anyone else could fill the store in a holder's name).
    if matches!(req.action, Action::Dispute { .. })
        && crate::auth::Caller::from_headers(&headers, &s).await?.0
            != crate::address::Address(signer.0)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "sign in as the account that disputes: the evidence is kept in its name",
        ));
    }
    let node = s.chain.node().await?;
    let call = resolve_call(&s, &node, &req.action).await?;
    let dry = match node
        .dry_run(&signer, &call.contract, call.value, &call.input)
        .await
    {
        Ok(dry) => dry,
        Err(e) => return Err(node_failure(&s, e).await),
    };
    if dry.reverted && dry.data.is_empty() {
        return Err(chain_error(ClientError::Trapped));
    }
    let accepted = refusal(&call, &dry.data)?.unwrap_or_default();
    if let Some((hash, text)) = &call.evidence {
        crate::disputes::keep_evidence(&s.db, hash, text).await?;
    }
    let tx = Node::call_tx(&call.contract, call.value, call.input.clone(), &dry);
    let call_data = node
        .api()
        .tx()
        .call_data(&tx)
        .map_err(|e| chain_error(e.into()))?;
    let payload = match node.signer_payload(&signer, call_data).await {
        Ok(p) => p,
        Err(e) => return Err(node_failure(&s, e).await),
    };
    Ok(Json(Prepared {
        payload,
        summary: call.summary,
        answer: read_answer(call.answer, &accepted),
    }))
}

/// Submits a wallet-signed payload; its progress as server-sent `progress` events.
#[utoipa::path(post, path = "/api/tx/submit", request_body = SubmitRequest,
    responses((status = 200, description = "`text/event-stream` of `progress` events: signed, in_block, finalized (with `failed` if the call failed in the block), indexed, index_behind or dropped"),
              (status = 400, body = ErrorBody),
              (status = 409, description = "stale: the nonce or runtime moved on; prepare again", body = ErrorBody),
              (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
              (status = 422, body = ErrorBody), (status = 502, body = ErrorBody), (status = 503, body = ErrorBody)))]
async fn submit(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<SubmitRequest>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let node = s.chain.node().await?;
    only_contract_calls(&node, &req.payload)?;
    let permit = s.followed.clone().try_acquire_owned().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "too many transactions in flight here; try again in a moment",
        )
    })?;
    let progress = match node.submit_signed(&req.payload, &req.signature).await {
        Ok(p) => p,
        Err(e) => return Err(node_failure(&s, e).await),
    };
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    let db = s.db.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let send = |p: serde_json::Value| {
            let _ = tx.send(p);
        };
        let stage = |st: &Stage| serde_json::to_value(st).unwrap_or_default();
        let done = follow(&node, progress, |st| send(stage(&st))).await;
        match done {
            Ok(Stage::Finalized {
                block_number,
                failed: None,
                ..
            }) => {
                let reached = if wait_indexed(&db, block_number, &tx).await {
                    "indexed"
                } else {
                    "index_behind"
                };
                send(serde_json::json!({ "stage": reached, "block_number": block_number }));
            }
            Ok(_) => {}
            Err(e) => send(stage(&Stage::Dropped {
                reason: e.to_string(),
            })),
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let p = rx.recv().await?;
        let event = Event::default()
            .event("progress")
            .json_data(&p)
            .unwrap_or_else(|_| Event::default().event("progress").data("{}"));
        Some((Ok(event), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// The API relays what its own `prepare` builds — `Contracts.call` — and nothing else: it
/// is not an open relay for any extrinsic a wallet might sign.
fn only_contract_calls(node: &Node, payload: &SignerPayload) -> Result<(), ApiError> {
    let method = hex::decode(payload.method.trim_start_matches("0x")).map_err(|_| {
        ApiError::bad_request("bad_signed_payload", "the payload's method is not hex")
    })?;
    let metadata = node.api().metadata();
    let expected = metadata
        .pallet_by_name("Contracts")
        .and_then(|p| p.call_variant_by_name("call").map(|c| (p.index(), c.index)));
    match (expected, method.get(..2)) {
        (Some((pallet, call)), Some(&[p, c])) if p == pallet && c == call => Ok(()),
        _ => Err(ApiError::bad_request(
            "bad_signed_payload",
            "only contract calls (Contracts.call, as /api/tx/prepare builds them) are relayed",
        )),
    }
}

/// Waits (up to [`INDEX_WAIT`]) until the indexer's cursor has passed `block`; gives up
/// as soon as nobody listens any more.
async fn wait_indexed(
    db: &sqlx::PgPool,
    block: u32,
    listener: &tokio::sync::mpsc::UnboundedSender<serde_json::Value>,
) -> bool {
    let deadline = tokio::time::Instant::now() + INDEX_WAIT;
    while tokio::time::Instant::now() < deadline && !listener.is_closed() {
        let at: Option<i64> = sqlx::query_scalar("SELECT block_number FROM indexer_cursor")
            .fetch_optional(db)
            .await
            .ok()
            .flatten();
        if at.is_some_and(|at| at >= i64::from(block)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
