//! `/api/v1/admin/labs`: the labs as staff see them, disabled ones and
//! invalid ones included; reload them from disk and disable or enable one,
//! without a restart.

use axum::{
    Json,
    extract::{Path, State},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Staff, audit};
use crate::{
    api::{ApiError, extract::Json as JsonBody, labs::unknown_lab},
    labs::{Catalog, Lab},
    server::AppState,
    sessions::{Clock, SystemClock},
    settings::SettingsError,
};

/// A lab as staff see it.
#[derive(Serialize, ToSchema)]
pub struct AdminLab {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// `docker` or `kubevirt`.
    #[schema(value_type = String)]
    pub runtime: crate::labs::RuntimeKind,
    /// Whether learners may start it (an administrator may disable it).
    pub enabled: bool,
    /// Whether this server can start it (its runtime is here).
    pub startable: bool,
    /// Number of tasks.
    pub tasks: usize,
    /// Its judge plugin.
    pub judge: Option<String>,
}

/// A lab directory that did not load.
#[derive(Serialize, ToSchema)]
pub struct InvalidLabView {
    /// The directory.
    pub dir: String,
    /// Every problem, with its place and fix.
    pub message: String,
}

/// The catalog as staff see it.
#[derive(Serialize, ToSchema)]
pub struct AdminCatalog {
    /// Valid labs.
    pub labs: Vec<AdminLab>,
    /// Directories that hold no valid lab.
    pub invalid: Vec<InvalidLabView>,
}

fn row(state: &AppState, lab: &Lab) -> AdminLab {
    AdminLab {
        id: lab.id.clone(),
        title: lab.title.clone(),
        runtime: lab.runtime,
        enabled: !state.sessions.lab_disabled(&lab.id),
        startable: state.sessions.all_labs().iter().any(|l| l.lab == lab.id),
        tasks: lab.tasks.len(),
        judge: lab.judge.as_ref().map(|j| j.plugin.clone()),
    }
}

fn view(state: &AppState, catalog: &Catalog) -> AdminCatalog {
    AdminCatalog {
        labs: catalog.labs.iter().map(|l| row(state, l)).collect(),
        invalid: catalog.invalid.iter().map(|i| InvalidLabView { dir: i.dir.display().to_string(), message: i.to_string() }).collect(),
    }
}

/// Every lab, enabled or not, and the directories that did not load.
#[utoipa::path(get, path = "/admin/labs", tag = "admin", responses((status = 200, body = AdminCatalog), (status = 403)))]
async fn list(State(state): State<AppState>, Staff(_): Staff) -> Json<AdminCatalog> {
    Json(view(&state, &state.labs.current()))
}

/// Reads the scenarios directory again: new and changed labs serve as now
/// written; running sessions go on as they started.
#[utoipa::path(post, path = "/admin/labs/reload", tag = "admin", responses((status = 200, body = AdminCatalog), (status = 403)))]
async fn reload(State(state): State<AppState>, Staff(user): Staff) -> Result<Json<AdminCatalog>, ApiError> {
    let catalog = state.labs.reload(&state.sessions).map_err(|e| ApiError::internal("the scenarios directory cannot be read", &e))?;
    let detail = format!("{} lab(s), {} invalid", catalog.labs.len(), catalog.invalid.len());
    audit(&state, &user, "labs.reload", state.config.scenarios_dir.display().to_string(), Some(detail)).await;
    Ok(Json(view(&state, &catalog)))
}

/// Whether learners may start a lab.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Enabled {
    /// false hides it from the catalog and refuses new sessions of it;
    /// running ones go on.
    pub enabled: bool,
}

impl From<SettingsError> for ApiError {
    fn from(e: SettingsError) -> ApiError {
        match e {
            SettingsError::Invalid(m) => ApiError::new(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_settings", m),
            SettingsError::Store(e) => ApiError::internal("the settings could not be saved", &e),
        }
    }
}

/// Enables or disables a lab on every replica.
#[utoipa::path(put, path = "/admin/labs/{id}/enabled", tag = "admin", request_body = Enabled, responses((status = 200, body = AdminLab), (status = 404)))]
async fn set_enabled(State(state): State<AppState>, Staff(user): Staff, Path(id): Path<String>, JsonBody(req): JsonBody<Enabled>) -> Result<Json<AdminLab>, ApiError> {
    let lab = state.labs.get(&id).ok_or_else(|| unknown_lab(&id))?;
    state.settings().set_lab_disabled(&id, !req.enabled, SystemClock.now()).await?;
    audit(&state, &user, if req.enabled { "lab.enable" } else { "lab.disable" }, id, None).await;
    Ok(Json(row(&state, &lab)))
}

/// The admin lab routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(reload)).routes(routes!(set_enabled))
}
