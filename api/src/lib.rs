//! The API and pages over the indexer's read model.

pub mod address;
pub mod artists;
pub mod audit;
pub mod auth;
pub mod background;
pub mod chain;
pub mod charts;
pub mod delivery;
pub mod disputes;
pub mod error;
pub mod fans;
pub mod forms;
pub mod housekeeping;
pub mod limits;
pub mod memo;
pub mod messages;
pub mod operations;
pub mod pages;
pub mod read;
pub mod releases;
pub mod telemetry;
pub mod transactions;
pub mod webhooks;

use axum::routing::get;
use axum::{Json, Router};
use sqlx::PgPool;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

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
    /// Which webhook URLs may be saved (the dispatcher checks again at each call).
    pub webhook_reach: webhooks::Reach,
    /// Per-client limits on sign-in and writes.
    pub limits: limits::Limits,
    /// How long a request may take (transactions' routes excepted).
    pub request_timeout: std::time::Duration,
    /// The expensive answers, kept while they hold.
    pub memos: memo::Memos,
}

impl AppState {
    pub fn new(db: PgPool) -> Self {
        Self::for_node(db, "ws://127.0.0.1:9944")
    }

    pub fn for_node(db: PgPool, rpc_url: &str) -> Self {
        AppState {
            db,
            explorer: explorer_for_node(rpc_url),
            swagger_ui: swagger_ui_in(&default_web_dir()),
            chain: chain::ChainLink::new(rpc_url),
            dev_wallet: false,
            web: default_web_dir(),
            public_url: None,
            followed: std::sync::Arc::new(tokio::sync::Semaphore::new(transactions::MAX_FOLLOWED)),
            webhook_reach: webhooks::Reach::PublicOnly,
            limits: limits::Limits::production(),
            request_timeout: operations::REQUEST_TIMEOUT,
            memos: memo::Memos::default(),
        }
    }
}

/// The browser code: `$DREAMSTER_WEB_DIR`, else `web/` beside this crate's sources.
pub fn default_web_dir() -> std::path::PathBuf {
    std::env::var_os("DREAMSTER_WEB_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web"))
}

/// Swagger UI's files: `$DREAMSTER_SWAGGER_UI_DIR`, else npm's `swagger-ui-dist` as
/// `scripts/setup.sh` installs it from `web/package-lock.json` (pinned, integrity-checked).
pub fn swagger_ui_in(web: &std::path::Path) -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("DREAMSTER_SWAGGER_UI_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| web.join("node_modules/swagger-ui-dist"));
    dir.join("swagger-ui-bundle.js").is_file().then_some(dir)
}

/// Polkadot.js Apps pointed at a node: where the pages link blocks to.
pub fn explorer_for(public_rpc_url: Option<&str>) -> String {
    match public_rpc_url {
        Some(url) => format!("https://polkadot.js.org/apps/?rpc={url}"),
        None => "https://polkadot.js.org/apps/".to_string(),
    }
}

/// The explorer for the node the API talks to: linked by URL only when that node is on
/// this machine (then the URL is the one a local user's browser reaches too); an internal
/// or keyed URL is never put in a page.
pub fn explorer_for_node(rpc_url: &str) -> String {
    let local = reqwest::Url::parse(rpc_url)
        .ok()
        .is_some_and(|u| dreamster_client::is_on_this_machine(&u));
    explorer_for(local.then_some(rpc_url))
}

/// What the feature routers do not say: the API's title, the error body, bearer auth.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Dreamster API",
        description = "Releases, perks, fans' benefits, artists' analytics and audits, from the indexer's read model"
    ),
    components(schemas(error::ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Every JSON route, one router per feature, each route with its OpenAPI entry: a new
/// route is one line in its feature's `router()`.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(releases::router())
        .merge(fans::router())
        .merge(artists::router())
        .merge(audit::router())
        .merge(auth::router())
        .merge(chain::router())
        .merge(messages::router())
        .merge(delivery::router())
        .merge(disputes::router())
        .merge(webhooks::router())
        .merge(transactions::router())
}

/// The OpenAPI document of [`api`].
pub fn openapi() -> utoipa::openapi::OpenApi {
    api().into_openapi()
}

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
    let assets = Router::new().nest_service(
        "/assets/js",
        tower_http::services::ServeDir::new(state.web.join("src")),
    );
    let (api, openapi) = api().split_for_parts();
    let openapi = std::sync::Arc::new(openapi);
    let mut app = Router::new()
        .merge(pages::router())
        .route("/health", get(|| async { "ok" }))
        .route("/ready", get(operations::ready))
        .route(
            "/openapi.json",
            get(move || async move { Json(openapi.as_ref().clone()) }),
        )
        .merge(api)
        .merge(docs_assets)
        .merge(assets)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.request_timeout,
            operations::deadline,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.limits.clone(),
            limits::enforce,
        ))
        // Outside the deadline and the limits, so a 503 or a 429 they answer is counted.
        .layer(axum::middleware::from_fn(telemetry::record))
        // Bodies are read only by extractors, which honour this limit; the secret upload
        // sets its own (delivery::UPLOAD_LIMIT).
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024));
    for header in operations::security_headers() {
        app = app.layer(header);
    }
    app.layer(TraceLayer::new_for_http()).with_state(state)
}

#[cfg(test)]
mod tests {
    /// Every schema a route refers to is in the document (the feature routers collect
    /// them from their routes; nothing is listed by hand), and every feature is in it.
    #[test]
    fn the_document_is_whole() {
        let doc = serde_json::to_value(super::openapi()).expect("json");
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"]
            .as_object()
            .expect("components");
        let mut refs = 0;
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(
                schemas.contains_key(name),
                "{name} is referred to but missing"
            );
            refs += 1;
        }
        assert!(refs > 20, "only {refs} references");
        let paths = doc["paths"].as_object().expect("paths");
        for prefix in [
            "/api/releases",
            "/api/fans",
            "/api/artists",
            "/api/audit",
            "/auth/",
            "/api/chain",
            "/api/tx/",
            "/api/me/webhook",
        ] {
            assert!(
                paths.keys().any(|p| p.starts_with(prefix)),
                "no route under {prefix}"
            );
        }
        assert!(paths.keys().any(|p| p.ends_with("/messages")));
        assert!(paths.keys().any(|p| p.ends_with("/secret")));
        assert!(paths.keys().any(|p| p.ends_with("/evidence")));
        assert_eq!(paths.len(), 24, "{:?}", paths.keys().collect::<Vec<_>>());
    }

    /// Finding: pages linked blocks with `?rpc=<the API's node URL>`, which may be internal
    /// or carry a key.
    #[test]
    fn pages_never_link_an_internal_node_url() {
        for internal in [
            "wss://rpc.internal:9944/?apikey=s3cret",
            "ws://10.0.0.5:9944",
            "https://node.example/rpc/KEY",
        ] {
            let e = super::explorer_for_node(internal);
            assert_eq!(e, "https://polkadot.js.org/apps/", "{internal}");
        }
        for local in [
            "ws://127.0.0.1:9944",
            "ws://localhost:9944",
            "ws://[::1]:9944",
        ] {
            assert!(super::explorer_for_node(local).ends_with(&format!("?rpc={local}")));
        }
        assert_eq!(
            super::explorer_for(Some("wss://rpc.dreamster.example")),
            "https://polkadot.js.org/apps/?rpc=wss://rpc.dreamster.example"
        );
    }
}
