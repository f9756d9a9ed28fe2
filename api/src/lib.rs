//! The API and pages over the indexer's read model.

pub mod auth;
pub mod chain;
pub mod charts;
pub mod dashboards;
pub mod delivery;
pub mod disputes;
pub mod error;
pub mod forms;
pub mod json;
pub mod messages;
pub mod pages;
pub mod read;
pub mod transactions;
pub mod webhooks;

use axum::routing::{get, post, put};
use axum::{Json, Router};
use sqlx::PgPool;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    /// Base of the block-explorer links on the pages (a Polkadot.js Apps URL for the node).
    pub explorer: String,
    /// Swagger UI's static files (npm's swagger-ui-dist), served at /docs when present.
    pub swagger_ui: Option<std::path::PathBuf>,
    /// The node that transactions go to and sign-in messages name (by genesis hash).
    pub chain: chain::ChainLink,
    /// Offer the dev wallet (dev keys in the page) — honoured only on the dev chain.
    pub dev_wallet: bool,
    /// The pages' browser code: `web/src` (ours) and `web/dist` (bundled from npm).
    pub web: std::path::PathBuf,
    /// Where users reach the pages (`http://host:port`): the domain and URI sign-in
    /// messages name. `None` (tests only) takes them from the request's `Host`.
    pub public_url: Option<String>,
    /// Room for transactions followed at once (`transactions::MAX_FOLLOWED`).
    pub followed: std::sync::Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(db: PgPool) -> Self {
        Self::for_node(db, "ws://127.0.0.1:9944")
    }

    pub fn for_node(db: PgPool, rpc_url: &str) -> Self {
        AppState {
            db,
            explorer: explorer_for(rpc_url),
            swagger_ui: default_swagger_ui(),
            chain: chain::ChainLink::new(rpc_url),
            dev_wallet: false,
            web: default_web_dir(),
            public_url: None,
            followed: std::sync::Arc::new(tokio::sync::Semaphore::new(transactions::MAX_FOLLOWED)),
        }
    }
}

/// The browser code: `$DREAMSTER_WEB_DIR`, else `web/` beside this crate's sources.
pub fn default_web_dir() -> std::path::PathBuf {
    std::env::var_os("DREAMSTER_WEB_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web"))
}

/// Where `scripts/setup.sh` puts Swagger UI: `$DREAMSTER_SWAGGER_UI_DIR`, else
/// `~/.cache/dreamster/swagger-ui/current`.
pub fn default_swagger_ui() -> Option<std::path::PathBuf> {
    std::env::var_os("DREAMSTER_SWAGGER_UI_DIR")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| std::path::PathBuf::from(h).join(".cache/dreamster/swagger-ui/current"))
        })
        .filter(|d| d.join("swagger-ui-bundle.js").is_file())
}

/// Polkadot.js Apps pointed at a node: where the pages link blocks to.
pub fn explorer_for(rpc_url: &str) -> String {
    format!("https://polkadot.js.org/apps/?rpc={rpc_url}")
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Dreamster API",
        description = "Releases, perks, fans' benefits, artists' analytics and audits, from the indexer's read model"
    ),
    paths(
        json::releases,
        json::release,
        json::release_perks,
        json::templates,
        json::fan_perks,
        json::artist,
        json::analytics,
        json::audit_overdue,
        json::audit_disputes,
        json::audit_refunds,
        json::audit_league,
        auth::challenge,
        auth::verify,
        auth::logout,
        chain::info,
        transactions::prepare,
        transactions::submit,
        messages::threads,
        messages::list,
        messages::post,
        delivery::upload,
        delivery::fetch,
        disputes::evidence,
        webhooks::set,
        webhooks::deliveries
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API's own migrations (sign-in, messages), beside the indexer's in the same database.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut m = sqlx::migrate!("./migrations");
    m.set_ignore_missing(true);
    m
}

async fn not_found() -> error::ApiError {
    error::ApiError::not_found("no such route")
}

pub fn router(state: AppState) -> Router {
    let docs_assets = match &state.swagger_ui {
        Some(dir) => {
            Router::new().nest_service("/docs/assets", tower_http::services::ServeDir::new(dir))
        }
        None => Router::new(),
    };
    let assets = Router::new()
        .nest_service(
            "/assets/js",
            tower_http::services::ServeDir::new(state.web.join("src")),
        )
        .route("/assets/devwallet.js", get(pages::dev_wallet_script));
    Router::new()
        .route("/docs", get(pages::docs))
        .route("/signin", get(pages::signin))
        .route("/me", get(pages::me))
        .route("/", get(pages::home))
        .route("/releases/{address}", get(pages::release))
        .route("/fans/{address}", get(pages::fan))
        .route("/artists/{address}", get(pages::artist))
        .route("/audit", get(pages::audit))
        .route("/health", get(|| async { "ok" }))
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route("/api/releases", get(json::releases))
        .route("/api/releases/{address}", get(json::release))
        .route("/api/releases/{address}/perks", get(json::release_perks))
        .route("/api/perk-templates", get(json::templates))
        .route("/api/fans/{address}/perks", get(json::fan_perks))
        .route(
            "/api/releases/{address}/perks/{perk}/secret",
            post(delivery::upload),
        )
        .route(
            "/api/releases/{address}/editions/{edition}/perks/{perk}/secret",
            get(delivery::fetch),
        )
        .route("/api/me/webhook", put(webhooks::set))
        .route("/api/me/webhook/deliveries", get(webhooks::deliveries))
        .route("/auth/challenge", post(auth::challenge))
        .route("/auth/verify", post(auth::verify))
        .route("/auth/logout", post(auth::logout))
        .route("/api/chain", get(chain::info))
        .route("/api/tx/prepare", post(transactions::prepare))
        .route("/api/tx/submit", post(transactions::submit))
        .route("/api/releases/{address}/threads", get(messages::threads))
        .route(
            "/api/releases/{address}/editions/{edition}/perks/{perk}/evidence",
            get(disputes::evidence),
        )
        .route("/releases/{address}/messages", get(pages::messages))
        .route(
            "/api/releases/{address}/threads/{fan}/messages",
            get(messages::list).post(messages::post),
        )
        .route("/api/artists/{address}", get(json::artist))
        .route("/api/artists/{address}/analytics", get(json::analytics))
        .route("/api/audit/overdue", get(json::audit_overdue))
        .route("/api/audit/disputes", get(json::audit_disputes))
        .route("/api/audit/refunds", get(json::audit_refunds))
        .route("/api/audit/league", get(json::audit_league))
        .merge(docs_assets)
        .merge(assets)
        .fallback(not_found)
        .layer(RequestBodyLimitLayer::new(64 * 1024))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
