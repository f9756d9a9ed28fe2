//! The API's link to the node, for the transactions the pages send and for what the pages
//! need to know about the chain (its genesis hash, whether the dev wallet may be offered).
//! Connected on first use, so the read-only pages work while the node is away.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use dreamster_client::Node;
use serde::Serialize;
use tokio::sync::Mutex;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ErrorBody};
use crate::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(info))
}

/// The genesis hash of `substrate-contracts-node` 0.42.0's `--dev` chain (the chain
/// `scripts/run.sh` and the tests start; the same for every start of that binary). The dev
/// wallet, which holds the well-known dev keys, is offered on this chain and no other.
pub const DEV_CHAIN_GENESIS: &str =
    "0x350783c3a0be3291c03faed9810ac4a28bd38f088c4934f1654c279c7e45ba5c";

/// How long connecting to the node may take before a request is told it is unavailable.
pub const NODE_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Clone)]
pub struct ChainLink {
    url: String,
    /// The connection, numbered so a finished update task clears only its own.
    node: Arc<Mutex<(u64, Option<Node>)>>,
}

impl ChainLink {
    pub fn new(url: impl Into<String>) -> Self {
        ChainLink {
            url: url.into(),
            node: Arc::new(Mutex::new((0, None))),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connected node; a 503 the pages can show when it cannot be reached. A lost
    /// connection is noticed (the runtime-update task ends) and the next call reconnects;
    /// runtime upgrades are followed, so payloads carry the current spec version.
    pub async fn node(&self) -> Result<Node, ApiError> {
        let mut slot = self.node.lock().await;
        if let Some(node) = slot.1.as_ref() {
            return Ok(node.clone());
        }
        // The detail names the node's URL, which may be internal or carry a key: it goes
        // to our log, the client gets the fact. A node that never answers is given up on
        // (the lock above is held meanwhile, so every chain request would wait with it).
        let unavailable = || {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "node_unavailable",
                "the chain cannot be reached right now; try again shortly",
            )
        };
        let node = match tokio::time::timeout(NODE_CONNECT_TIMEOUT, Node::connect(&self.url)).await
        {
            Ok(Ok(node)) => node,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot reach the node");
                return Err(unavailable());
            }
            Err(_) => {
                tracing::warn!(
                    "the node did not answer within {} s",
                    NODE_CONNECT_TIMEOUT.as_secs()
                );
                return Err(unavailable());
            }
        };
        let generation = slot.0 + 1;
        let updater = node.api().updater();
        let link = self.node.clone();
        tokio::spawn(async move {
            let ended = updater.perform_runtime_updates().await;
            tracing::warn!(?ended, "lost the node; reconnecting on the next request");
            let mut slot = link.lock().await;
            if slot.0 == generation {
                slot.1 = None;
            }
        });
        *slot = (generation, Some(node.clone()));
        Ok(node)
    }

    /// Forgets the connection (after an error that says it is gone).
    pub async fn reset(&self) {
        self.node.lock().await.1 = None;
    }

    /// The chain's genesis hash as 0x hex.
    pub async fn genesis_hash(&self) -> Result<String, ApiError> {
        Ok(format!(
            "0x{}",
            hex::encode(self.node().await?.api().genesis_hash().0)
        ))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChainInfo {
    /// The chain's genesis hash: the SIWS chain id, and what a wallet checks it signs for.
    pub genesis_hash: String,
    /// True only on the local dev chain (genesis checked) when the API was started with
    /// `--dev-wallet`: the pages then offer the built-in wallet of dev accounts.
    pub dev_wallet: bool,
    pub token_symbol: String,
    pub token_decimals: u32,
    pub ss58_prefix: u16,
}

/// Whether the dev wallet may be offered: asked for, and the chain is the dev chain.
fn offers_dev_wallet(s: &AppState, genesis_hash: &str) -> bool {
    s.dev_wallet && genesis_hash == DEV_CHAIN_GENESIS
}

/// [`offers_dev_wallet`] for the chain the API is connected to (false without a node).
pub async fn dev_wallet_allowed(s: &AppState) -> bool {
    matches!(s.chain.genesis_hash().await, Ok(g) if offers_dev_wallet(s, &g))
}

/// What the pages need to know about the chain.
#[utoipa::path(get, path = "/api/chain",
    responses((status = 200, body = ChainInfo), (status = 503, body = ErrorBody)))]
async fn info(State(s): State<AppState>) -> Result<Json<ChainInfo>, ApiError> {
    let genesis_hash = s.chain.genesis_hash().await?;
    Ok(Json(ChainInfo {
        dev_wallet: offers_dev_wallet(&s, &genesis_hash),
        genesis_hash,
        token_symbol: dreamster_client::units::SYMBOL.into(),
        token_decimals: dreamster_client::units::DECIMALS,
        ss58_prefix: 42,
    }))
}

/// The registry the read model follows (the indexer's cursor names it).
pub async fn registry(db: &sqlx::PgPool) -> Result<subxt::utils::AccountId32, ApiError> {
    let bytes: Option<Vec<u8>> = sqlx::query_scalar("SELECT registry FROM indexer_cursor")
        .fetch_optional(db)
        .await?;
    let bytes = bytes.ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_indexed",
            "the indexer has not started on this database yet",
        )
    })?;
    let array: [u8; 32] = bytes.try_into().map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "corrupt",
            "bad registry in the cursor",
        )
    })?;
    Ok(subxt::utils::AccountId32(array))
}
