//! `/api/v1/sessions`: a learner starts, watches, extends and ends their
//! sessions. Another learner's session is reported as missing.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiError, identity::Caller};
use crate::{
    server::AppState,
    sessions::{Clock, Phase, Session, SystemClock, WorkspaceRestore},
};

/// A session as its learner sees it. Instants are milliseconds since the
/// Unix epoch.
#[derive(Serialize, ToSchema)]
pub struct SessionView {
    /// Id.
    pub id: String,
    /// The lab.
    pub lab: String,
    /// `starting`, `running`, `ended` or `failed`.
    pub status: &'static str,
    /// When it was asked for.
    pub created_at: i64,
    /// When it became ready.
    pub started_at: Option<i64>,
    /// When it ends unless extended.
    pub expires_at: Option<i64>,
    /// Seconds left, while running.
    pub remaining_seconds: Option<i64>,
    /// Extensions used.
    pub extensions: u32,
    /// Why it ended: `learner`, `expired`, `idle`, `admin` or `lost`.
    pub end_reason: Option<&'static str>,
    /// Why it failed.
    pub error: Option<String>,
}

impl SessionView {
    /// The view of `s` at `now` (ms since the epoch).
    pub(crate) fn of(s: &Session, now: i64) -> SessionView {
        SessionView {
            id: s.id.clone(),
            lab: s.lab.clone(),
            status: s.phase.status(),
            created_at: s.created_at,
            started_at: s.started_at,
            expires_at: s.expires_at,
            remaining_seconds: (s.phase == Phase::Running).then(|| s.expires_at.map(|e| ((e - now) / 1000).max(0))).flatten(),
            extensions: s.extensions,
            end_reason: s.end_reason.map(|r| r.as_str()),
            error: s.error.clone(),
        }
    }
}

/// What to start.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// The lab's id.
    pub lab: String,
}

/// A started (or resumed) session.
#[derive(Serialize, ToSchema)]
pub struct StartedView {
    /// The session.
    #[serde(flatten)]
    pub session: SessionView,
    /// It was already running: starting a lab one runs resumes it.
    pub resumed: bool,
    /// It came ready from the warm pool.
    pub from_pool: bool,
    /// `restored`, `none`, or why the saved workspace could not be restored.
    pub workspace: String,
}

pub(crate) fn now() -> i64 {
    SystemClock.now()
}

/// Starts a lab, or resumes the caller's running session of it. When the
/// server is full the answer is 429 with `Retry-After` and the caller's
/// place in the queue.
#[utoipa::path(post, path = "/sessions", tag = "sessions", request_body = StartRequest,
    responses((status = 201, body = StartedView), (status = 200, description = "resumed", body = StartedView),
              (status = 404, description = "unknown lab"), (status = 429, description = "full, or the learner's cap reached")))]
async fn start(
    State(state): State<AppState>,
    Caller(user): Caller,
    super::extract::Json(req): super::extract::Json<StartRequest>,
) -> Result<(StatusCode, Json<StartedView>), ApiError> {
    let began = std::time::Instant::now();
    let started = state.sessions.start(&user.id, &req.lab).await?;
    let source = match (started.resumed, started.from_pool) {
        (true, _) => "resumed",
        (false, true) => "pool",
        (false, false) => "cold",
    };
    state.metrics.session_started(&req.lab, source, began.elapsed());
    let status = if started.resumed { StatusCode::OK } else { StatusCode::CREATED };
    let workspace = match started.workspace {
        WorkspaceRestore::Nothing => "none".to_owned(),
        WorkspaceRestore::Restored => "restored".to_owned(),
        WorkspaceRestore::Failed(why) => format!("not restored: {why}"),
    };
    Ok((
        status,
        Json(StartedView { session: SessionView::of(&started.session, now()), resumed: started.resumed, from_pool: started.from_pool, workspace }),
    ))
}

/// The caller's sessions, newest first.
#[utoipa::path(get, path = "/sessions", tag = "sessions", responses((status = 200, body = [SessionView])))]
async fn list_mine(State(state): State<AppState>, Caller(user): Caller) -> Result<Json<Vec<SessionView>>, ApiError> {
    let mine = state.sessions.store().sessions_of(&user.id, false).await.map_err(crate::sessions::SessionError::from)?;
    let now = now();
    Ok(Json(mine.iter().map(|s| SessionView::of(s, now)).collect()))
}

/// One of the caller's sessions.
#[utoipa::path(get, path = "/sessions/{id}", tag = "sessions", responses((status = 200, body = SessionView), (status = 404)))]
async fn get_one(State(state): State<AppState>, Caller(user): Caller, Path(id): Path<String>) -> Result<Json<SessionView>, ApiError> {
    let s = state.sessions.get_owned(&id, &user.id).await?;
    Ok(Json(SessionView::of(&s, now())))
}

/// Gives the session more time, within its lab's bounds.
#[utoipa::path(post, path = "/sessions/{id}/extend", tag = "sessions",
    responses((status = 200, body = SessionView), (status = 404), (status = 409, description = "no more time, or not running")))]
async fn extend(State(state): State<AppState>, Caller(user): Caller, Path(id): Path<String>) -> Result<Json<SessionView>, ApiError> {
    let s = state.sessions.extend(&id, &user.id).await?;
    Ok(Json(SessionView::of(&s, now())))
}

/// Ends the session; its kept workspace (if the lab keeps one) is saved.
#[utoipa::path(delete, path = "/sessions/{id}", tag = "sessions", responses((status = 200, body = SessionView), (status = 404)))]
async fn end(State(state): State<AppState>, Caller(user): Caller, Path(id): Path<String>) -> Result<Json<SessionView>, ApiError> {
    let s = state.sessions.end_owned(&id, &user.id).await?;
    Ok(Json(SessionView::of(&s, now())))
}

/// The session routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(start, list_mine)).routes(routes!(get_one, end)).routes(routes!(extend))
}
