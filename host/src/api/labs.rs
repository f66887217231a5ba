//! `/api/v1/labs`: the catalog, filterable, and each lab with its steps.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiError, extract::Query};
use crate::{labs::Lab, server::AppState};

/// A lab in the catalog.
#[derive(Serialize, ToSchema)]
pub struct LabSummary {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description (Markdown).
    pub description: String,
    /// `beginner`, `intermediate` or `advanced`.
    #[schema(value_type = String)]
    pub difficulty: crate::labs::Difficulty,
    /// Estimated minutes.
    pub duration_minutes: u32,
    /// Topics.
    pub topics: Vec<String>,
    /// Number of tasks.
    pub tasks: usize,
    /// `docker` or `kubevirt`.
    #[schema(value_type = String)]
    pub runtime: crate::labs::RuntimeKind,
    /// Whether this server can start it now.
    pub startable: bool,
}

/// A step of a lab.
#[derive(Serialize, ToSchema)]
pub struct StepView {
    /// The task's id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Instructions (Markdown).
    pub instructions: String,
}

/// A lab with its steps.
#[derive(Serialize, ToSchema)]
pub struct LabDetail {
    /// The summary.
    #[serde(flatten)]
    pub summary: LabSummary,
    /// Steps, in order.
    pub steps: Vec<StepView>,
    /// Machine names; the first is the default.
    pub machines: Vec<String>,
}

/// Catalog filters.
#[derive(Deserialize, IntoParams)]
pub struct LabFilter {
    /// Only labs with this topic.
    pub topic: Option<String>,
    /// Only labs of this difficulty.
    pub difficulty: Option<crate::labs::Difficulty>,
    /// Words to find in the title or description.
    pub q: Option<String>,
}

fn summary(state: &AppState, lab: &Lab) -> LabSummary {
    LabSummary {
        id: lab.id.clone(),
        title: lab.title.clone(),
        description: lab.description.clone(),
        difficulty: lab.difficulty,
        duration_minutes: lab.duration_minutes,
        topics: lab.topics.clone(),
        tasks: lab.tasks.len(),
        runtime: lab.runtime,
        startable: state.sessions.labs().iter().any(|l| l.lab == lab.id),
    }
}

/// The catalog.
#[utoipa::path(get, path = "/labs", tag = "labs", params(LabFilter), responses((status = 200, body = [LabSummary])))]
async fn list(State(state): State<AppState>, Query(filter): Query<LabFilter>) -> Json<Vec<LabSummary>> {
    let q = filter.q.as_deref().map(str::to_lowercase);
    let labs = state
        .labs
        .current()
        .labs
        .iter()
        .filter(|l| !state.sessions.lab_disabled(&l.id))
        .filter(|l| filter.topic.as_ref().is_none_or(|t| l.topics.iter().any(|x| x == t)))
        .filter(|l| filter.difficulty.is_none_or(|d| l.difficulty == d))
        .filter(|l| q.as_ref().is_none_or(|q| l.title.to_lowercase().contains(q) || l.description.to_lowercase().contains(q)))
        .map(|l| summary(&state, l))
        .collect();
    Json(labs)
}

/// One lab with its steps.
#[utoipa::path(get, path = "/labs/{id}", tag = "labs", responses((status = 200, body = LabDetail), (status = 404)))]
async fn detail(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<LabDetail>, ApiError> {
    let lab = state.labs.get(&id).ok_or_else(|| unknown_lab(&id))?;
    let lab = lab.as_ref();
    Ok(Json(LabDetail {
        summary: summary(&state, lab),
        steps: lab.tasks.iter().map(|t| StepView { id: t.id.clone(), title: t.title.clone(), instructions: t.instructions.clone() }).collect(),
        machines: lab.machines.iter().map(|m| m.name.clone()).collect(),
    }))
}

/// The error for a lab id the catalog lacks.
pub fn unknown_lab(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_lab", format!("there is no lab `{id}`")).hint("list the labs at /api/v1/labs")
}

/// The lab routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(detail))
}
