//! `/api/v1/admin/sessions`: administrators see, extend and end any
//! learner's session.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Admin, audit};
use crate::{
    api::{
        ApiError,
        sessions::{SessionView, now as sessions_now},
    },
    server::AppState,
};

/// A session as administrators see it: whose, and how active.
#[derive(Serialize, ToSchema)]
pub struct AdminSessionView {
    /// The learner (`None` for a warm-pool entry).
    pub owner: Option<String>,
    /// The lifecycle phase, finer than `status` (`pooled`, `ending`, …).
    pub phase: &'static str,
    /// Last terminal input, file write or check (ms since the epoch).
    pub last_activity_at: i64,
    /// The session as its learner sees it.
    #[serde(flatten)]
    pub session: SessionView,
}

fn admin_view(s: &crate::sessions::Session) -> AdminSessionView {
    AdminSessionView { owner: s.owner.clone(), phase: s.phase.as_str(), last_activity_at: s.last_activity_at, session: SessionView::of(s, sessions_now()) }
}

/// Every live session (starting, pooled, running, ending).
#[utoipa::path(get, path = "/admin/sessions", tag = "admin", responses((status = 200, body = [AdminSessionView]), (status = 403)))]
async fn sessions_list(State(state): State<AppState>, Admin(_): Admin) -> Result<Json<Vec<AdminSessionView>>, ApiError> {
    let live = state.sessions.store().live_sessions().await.map_err(crate::sessions::SessionError::from)?;
    Ok(Json(live.iter().map(admin_view).collect()))
}

/// Any session.
#[utoipa::path(get, path = "/admin/sessions/{id}", tag = "admin", responses((status = 200, body = AdminSessionView), (status = 404)))]
async fn session_get(State(state): State<AppState>, Admin(_): Admin, Path(id): Path<String>) -> Result<Json<AdminSessionView>, ApiError> {
    Ok(Json(admin_view(&state.sessions.get(&id).await?)))
}

/// Gives any running session more time, within its lab's bounds.
#[utoipa::path(post, path = "/admin/sessions/{id}/extend", tag = "admin", responses((status = 200, body = AdminSessionView), (status = 404), (status = 409)))]
async fn session_extend(State(state): State<AppState>, Admin(user): Admin, Path(id): Path<String>) -> Result<Json<AdminSessionView>, ApiError> {
    let session = state.sessions.get(&id).await?;
    let owner = session.owner.clone().ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "session_state", "a warm-pool entry has no time to extend"))?;
    let extended = state.sessions.extend(&id, &owner).await?;
    audit(&state, &user, "session.extend", id, Some(format!("learner {owner}"))).await;
    Ok(Json(admin_view(&extended)))
}

/// Ends any session (its kept workspace, if any, is saved).
#[utoipa::path(delete, path = "/admin/sessions/{id}", tag = "admin", responses((status = 200, body = AdminSessionView), (status = 404)))]
async fn session_end(State(state): State<AppState>, Admin(user): Admin, Path(id): Path<String>) -> Result<Json<AdminSessionView>, ApiError> {
    let ended = state.sessions.end(&id, crate::sessions::EndReason::Admin).await?;
    audit(&state, &user, "session.end", id, ended.owner.clone().map(|o| format!("learner {o}"))).await;
    Ok(Json(admin_view(&ended)))
}

/// The admin session routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(sessions_list)).routes(routes!(session_get, session_end)).routes(routes!(session_extend))
}
