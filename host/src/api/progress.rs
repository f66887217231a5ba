//! `/api/v1/progress`: what a learner has done in each lab, across all
//! their sessions (a lab taken again starts fresh, but the record stays).

use axum::{Json, extract::State};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiError, identity::Caller};
use crate::{labs::LiveCatalog, server::AppState, store::TaskRecord};

/// One task's record.
#[derive(Serialize, ToSchema)]
pub struct TaskProgress {
    /// The task.
    pub task: String,
    /// Its title (the id when the lab no longer has it).
    pub title: String,
    /// Whether it ever passed.
    pub passed: bool,
    /// When it first passed (ms since the epoch).
    pub passed_at: Option<i64>,
    /// Checks run.
    pub attempts: i64,
}

/// One lab's record.
#[derive(Serialize, ToSchema)]
pub struct LabProgress {
    /// The lab.
    pub lab: String,
    /// Its title.
    pub title: String,
    /// Tasks in the lab now.
    pub tasks_total: usize,
    /// Tasks that passed.
    pub tasks_passed: usize,
    /// Whether every task passed.
    pub completed: bool,
    /// The last check (ms since the epoch).
    pub last_attempt_at: i64,
    /// Every task, in the lab's order, checked or not.
    pub tasks: Vec<TaskProgress>,
}

/// Groups task records by lab, in the catalog's task order.
pub fn by_lab(records: &[TaskRecord], labs: &LiveCatalog) -> Vec<LabProgress> {
    let mut ids: Vec<&str> = records.iter().map(|r| r.lab.as_str()).collect();
    ids.dedup();
    ids.into_iter()
        .map(|id| {
            let mine: Vec<&TaskRecord> = records.iter().filter(|r| r.lab == id).collect();
            let lab = labs.get(id);
            let mut tasks: Vec<TaskProgress> = match &lab {
                Some(lab) => lab.tasks.iter().map(|t| progress(&t.id, &t.title, mine.iter().find(|r| r.task == t.id).copied())).collect(),
                None => Vec::new(),
            };
            // Tasks the lab no longer has keep their record.
            let gone: Vec<TaskProgress> =
                mine.iter().filter(|r| !tasks.iter().any(|t| t.task == r.task)).map(|r| progress(&r.task, &r.task, Some(r))).collect();
            tasks.extend(gone);
            let tasks_total = lab.as_ref().map_or(tasks.len(), |l| l.tasks.len());
            let tasks_passed = tasks.iter().filter(|t| t.passed).count();
            LabProgress {
                lab: id.to_owned(),
                title: lab.as_ref().map_or_else(|| id.to_owned(), |l| l.title.clone()),
                tasks_total,
                tasks_passed,
                completed: tasks_total > 0 && tasks_passed >= tasks_total,
                last_attempt_at: mine.iter().map(|r| r.last_attempt_at).max().unwrap_or(0),
                tasks,
            }
        })
        .collect()
}

fn progress(task: &str, title: &str, record: Option<&TaskRecord>) -> TaskProgress {
    TaskProgress {
        task: task.to_owned(),
        title: title.to_owned(),
        passed: record.is_some_and(|r| r.first_passed_at.is_some()),
        passed_at: record.and_then(|r| r.first_passed_at),
        attempts: record.map_or(0, |r| r.attempts),
    }
}

/// The caller's progress in every lab they checked a task of.
#[utoipa::path(get, path = "/progress", tag = "progress", responses((status = 200, body = [LabProgress]), (status = 401)))]
async fn mine(State(state): State<AppState>, Caller(user): Caller) -> Result<Json<Vec<LabProgress>>, ApiError> {
    let records = state.sessions.store().progress_of(&user.id).await.map_err(|e| ApiError::internal("the database failed", &e))?;
    Ok(Json(by_lab(&records, &state.labs)))
}

/// The progress routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(mine))
}
