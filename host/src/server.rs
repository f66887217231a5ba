//! The HTTP server: one [`AppState`] of cheap handles, a router built
//! separately from [`serve`] so tests can drive it directly.

use std::sync::Arc;

use axum::{
    Json, Router,
    extract::{Request, State},
    http::{StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use crate::{
    api::rate::RateLimiter,
    config::Config,
    labs::{Catalog, LiveCatalog},
    metrics::Metrics,
    plugins::Registry,
    sessions::Sessions,
    terminals::{TerminalLimits, Terminals},
};

/// Shared handles for request handlers.
#[derive(Clone)]
pub struct AppState {
    /// Loaded plugins.
    pub registry: Registry,
    /// The registry's changes, kept in the store.
    pub plugins: crate::plugins::shared::SharedPlugins,
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// Learners' sessions.
    pub sessions: Sessions,
    /// The labs, reloadable.
    pub labs: Arc<LiveCatalog>,
    /// Hints per session per minute.
    pub hint_limiter: Arc<RateLimiter>,
    /// Open terminals; they end with their session.
    pub terminals: Terminals,
    /// What `/metrics` reports.
    pub metrics: Metrics,
    /// The single sign-on issuer, when one is configured.
    pub oidc: Option<Arc<crate::auth::oidc::Oidc>>,
}

impl AppState {
    /// The state of a server with these parts; limits come from `config`.
    pub fn new(registry: Registry, config: Config, sessions: Sessions, labs: Catalog) -> AppState {
        let hint_limiter = RateLimiter::new(config.sessions.hints_per_minute, std::time::Duration::from_secs(60));
        // Typing keeps a session from being reaped as idle.
        let touched = sessions.clone();
        let terminals = Terminals::with_activity(
            TerminalLimits::default(),
            Arc::new(move |session: &str| {
                let (sessions, session) = (touched.clone(), session.to_owned());
                tokio::spawn(async move {
                    if let Err(e) = sessions.touch(&session).await {
                        tracing::debug!(%session, error = %e, "could not record terminal activity");
                    }
                });
            }),
        );
        // A session's terminals end with it.
        let closing = terminals.clone();
        sessions.on_end(Arc::new(move |session: &str| {
            let (terminals, session) = (closing.clone(), session.to_owned());
            tokio::spawn(async move { terminals.close(&session).await });
        }));
        let oidc = config.oidc.clone().map(|c| Arc::new(crate::auth::oidc::Oidc::new(c)));
        let labs = Arc::new(LiveCatalog::new(labs, config.scenarios_dir.clone(), config.sessions.default_lifetime()));
        AppState {
            plugins: crate::plugins::shared::SharedPlugins::new(sessions.store().clone(), registry.clone()),
            registry,
            config: Arc::new(config),
            sessions,
            labs,
            hint_limiter: Arc::new(hint_limiter),
            terminals,
            metrics: Metrics::default(),
            oidc,
        }
    }
}

impl AppState {
    /// Workshop operations over this server's parts.
    pub fn workshops(&self) -> crate::workshops::Workshops<'_> {
        crate::workshops::Workshops { store: self.sessions.store(), sessions: &self.sessions, labs: &self.labs }
    }

    /// The run-time settings over this server's parts.
    pub fn settings(&self) -> crate::settings::Settings {
        crate::settings::Settings { store: self.sessions.store().clone(), sessions: self.sessions.clone(), hints: self.hint_limiter.clone() }
    }
}

/// The server's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .nest("/api/v1", crate::api::router().layer(middleware::from_fn_with_state(state.clone(), count_breaches)))
        .fallback(crate::web::serve)
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Json<Value> {
    let plugins = state.registry.list().len();
    Json(json!({ "status": "ok", "plugins": plugins }))
}

/// The Prometheus text exposition.
async fn metrics(State(state): State<AppState>) -> Response {
    match state.metrics.render(state.sessions.store()).await {
        Ok(text) => ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response(),
        Err(e) => crate::api::ApiError::internal("the metrics could not be read", &e).into_response(),
    }
}

/// Counts the API's refusals that mean a limit was reached.
async fn count_breaches(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if let Some(code) = response.extensions().get::<crate::api::error::ErrorCode>()
        && crate::api::error::LIMIT_CODES.contains(&code.0)
    {
        state.metrics.breach(code.0);
    }
    response
}

/// Ready when the store and the runtime both answer; otherwise 503 with
/// what is wrong.
async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let store = state.sessions.store().ping().await.err().map(|e| e.to_string());
    let runtime = state.sessions.runtime().list_owned().await.err().map(|e| e.to_string());
    let ready = store.is_none() && runtime.is_none();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "ready": ready, "store": store.unwrap_or_else(|| "ok".into()), "runtime": runtime.unwrap_or_else(|| "ok".into()) })))
}

/// Serves on the configured address until the process is asked to stop
/// (Ctrl-C or SIGTERM).
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(state.config.listen).await?;
    serve_on(listener, state, shutdown_signal()).await
}

/// Serves on `listener` until `shutdown` completes.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Limits and disabled labs an administrator set, here or on another
    // replica, hold from the first request and follow later changes.
    if let Err(e) = state.settings().refresh().await {
        tracing::warn!(error = %e, "could not read the settings; serving with the configured limits");
    }
    // Uploaded judges and the versions administrators chose serve again.
    if let Err(e) = state.plugins.sync().await {
        tracing::warn!(error = %e, "could not read the kept plugins; serving the bundled ones");
    }
    let housekeeping = spawn_housekeeping(state.clone());
    tracing::info!(address = %listener.local_addr()?, "serving");
    let served = axum::serve(listener, router(state).into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await;
    housekeeping.abort();
    served
}

/// How often a replica re-reads the settings and plugin choices others may
/// have changed and ends the workshops whose time is up.
const HOUSEKEEPING: std::time::Duration = std::time::Duration::from_secs(5);

fn spawn_housekeeping(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HOUSEKEEPING);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = state.settings().refresh().await {
                tracing::warn!(error = %e, "could not read the settings");
            }
            if let Err(e) = state.plugins.sync().await {
                tracing::warn!(error = %e, "could not read the kept plugins");
            }
            if let Err(e) = state.workshops().sweep(crate::api::sessions::now()).await {
                tracing::warn!(error = %e, "could not end the expired workshops");
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutting down");
}
