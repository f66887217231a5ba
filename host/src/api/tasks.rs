//! `/api/v1/sessions/{id}/tasks` and `/attempts`: a learner's tasks with
//! their status, Check (a recorded attempt), Hint (rate-limited), and the
//! history of attempts.

use std::time::Instant;

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiError, extract::Query, identity::Caller, labs::unknown_lab};
use crate::{
    judging::live::{self, JudgingError},
    labs::Lab,
    plugins::Verdict,
    server::AppState,
    sessions::Session,
    store::AttemptRow,
};

/// A task and how the learner stands on it.
#[derive(Serialize, ToSchema)]
pub struct TaskView {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// `not-attempted`, or the last attempt's status (`passed`, `failed`,
    /// `not-gradable`, `error`).
    pub status: String,
    /// Checks run.
    pub attempts: usize,
}

/// A check's outcome as the learner sees it.
#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    /// Attempt id.
    pub id: String,
    /// The task.
    pub task: String,
    /// The verdict's status.
    pub status: String,
    /// When (ms since the epoch).
    pub created_at: i64,
    /// The verdict: checks (id, passed, message, hint), score, metrics.
    #[schema(value_type = Object)]
    pub verdict: serde_json::Value,
}

/// A hint, or none.
#[derive(Serialize, ToSchema)]
pub struct HintView {
    /// The hint (Markdown), if the provider has one.
    pub text: Option<String>,
    /// How specific it is, from 1.
    pub level: Option<u32>,
}

/// Attempt filters.
#[derive(Deserialize, IntoParams)]
pub struct AttemptFilter {
    /// Only this task's attempts.
    pub task: Option<String>,
}

impl From<JudgingError> for ApiError {
    fn from(e: JudgingError) -> ApiError {
        let message = e.to_string();
        match e {
            JudgingError::UnknownTask { .. } => ApiError::new(StatusCode::NOT_FOUND, "unknown_task", message),
            JudgingError::NotRunning(_) => {
                ApiError::new(StatusCode::CONFLICT, "session_not_running", message).hint("start the lab again to get a new session")
            }
            JudgingError::JudgeUnavailable(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "judge_unavailable", message)
                .hint("an administrator needs to load this lab's judge"),
            JudgingError::Session(e) => e.into(),
        }
    }
}

fn attempt_view(row: &AttemptRow) -> AttemptView {
    let verdict = serde_json::from_str::<Verdict>(&row.verdict)
        .map(|v| serde_json::to_value(v.for_learner()).unwrap_or_default())
        .unwrap_or_default();
    AttemptView { id: row.id.clone(), task: row.task.clone(), status: row.status.clone(), created_at: row.created_at, verdict }
}

/// The caller's session and its lab.
async fn session_and_lab(state: &AppState, id: &str, owner: &str) -> Result<(Session, std::sync::Arc<Lab>), ApiError> {
    let session = state.sessions.get_owned(id, owner).await?;
    let lab = state.labs.get(&session.lab).ok_or_else(|| unknown_lab(&session.lab))?;
    Ok((session, lab))
}

/// The session's tasks, in order, with their status.
#[utoipa::path(get, path = "/sessions/{id}/tasks", tag = "tasks", responses((status = 200, body = [TaskView]), (status = 404)))]
async fn list(State(state): State<AppState>, Caller(user): Caller, Path(id): Path<String>) -> Result<Json<Vec<TaskView>>, ApiError> {
    let (session, lab) = session_and_lab(&state, &id, &user.id).await?;
    let attempts = state.sessions.store().attempts(&session.id, None).await.map_err(crate::sessions::SessionError::from)?;
    Ok(Json(
        lab.tasks
            .iter()
            .map(|t| {
                let mine: Vec<&AttemptRow> = attempts.iter().filter(|a| a.task == t.id).collect();
                TaskView {
                    id: t.id.clone(),
                    title: t.title.clone(),
                    status: mine.last().map_or_else(|| "not-attempted".to_owned(), |a| a.status.clone()),
                    attempts: mine.len(),
                }
            })
            .collect(),
    ))
}

/// Checks a task now: runs the lab's judge against the session.
#[utoipa::path(post, path = "/sessions/{id}/tasks/{task}/check", tag = "tasks",
    responses((status = 200, body = AttemptView), (status = 404), (status = 409, description = "the session is not running")))]
async fn check(State(state): State<AppState>, Caller(user): Caller, Path((id, task)): Path<(String, String)>) -> Result<Json<AttemptView>, ApiError> {
    let (session, lab) = session_and_lab(&state, &id, &user.id).await?;
    let began = Instant::now();
    let attempt = live::check(&state.registry, &state.sessions, &lab, &session, &task).await?;
    let row = &attempt.row;
    let judge = (row.plugin.as_deref().unwrap_or("none"), row.plugin_version.as_deref().unwrap_or("none"));
    state.metrics.checked(&lab.id, judge.0, judge.1, &row.status, began.elapsed());
    if let Some(limit) = attempt.verdict.limit {
        state.metrics.breach(&format!("plugin_{}", limit.name()));
    }
    Ok(Json(attempt_view(row)))
}

/// A hint for a task, more specific as failed attempts add up. Limited per
/// session (`hints_per_minute`).
#[utoipa::path(post, path = "/sessions/{id}/tasks/{task}/hint", tag = "tasks",
    responses((status = 200, body = HintView), (status = 404), (status = 429, description = "too many hints")))]
async fn hint(State(state): State<AppState>, Caller(user): Caller, Path((id, task)): Path<(String, String)>) -> Result<Json<HintView>, ApiError> {
    let (session, lab) = session_and_lab(&state, &id, &user.id).await?;
    if let Err(wait) = state.hint_limiter.allow(&session.id, Instant::now()) {
        let seconds = wait.as_secs().max(1);
        return Err(ApiError {
            retry_after: Some(seconds),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "hint_rate", format!("too many hints for now: ask again in {seconds} s"))
                .hint("try the task yourself a little longer")
        });
    }
    let hint = live::hint(&state.registry, &state.sessions, &lab, &session, &task).await?;
    Ok(Json(HintView { text: hint.as_ref().map(|h| h.text.clone()), level: hint.map(|h| h.level) }))
}

/// The session's attempts, oldest first.
#[utoipa::path(get, path = "/sessions/{id}/attempts", tag = "tasks", params(AttemptFilter), responses((status = 200, body = [AttemptView]), (status = 404)))]
async fn attempts(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    Query(filter): Query<AttemptFilter>,
) -> Result<Json<Vec<AttemptView>>, ApiError> {
    let session = state.sessions.get_owned(&id, &user.id).await?;
    let rows = state.sessions.store().attempts(&session.id, filter.task.as_deref()).await.map_err(crate::sessions::SessionError::from)?;
    Ok(Json(rows.iter().map(attempt_view).collect()))
}

/// The task routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(check)).routes(routes!(hint)).routes(routes!(attempts))
}
