//! `/api/v1/admin/plugins`: judges and hint providers. List them with
//! every loaded version and its counters, upload a new version (validated
//! before it can serve: size, a valid component, the contract version, its
//! exports, and a dry run against the recorded cases of the labs it
//! judges), promote, roll back, disable or enable one, without a restart.
//! Authors and administrators may.

use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Staff, audit};
use crate::{
    api::{
        ApiError,
        extract::{Json as JsonBody, Query},
    },
    judging::dry_run::{CaseOutcome, dry_run},
    api::sessions::now,
    plugins::{RegistryError, registry::PluginInfo, shared::SharingError},
    server::AppState,
};

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> ApiError {
        let message = e.to_string();
        match e {
            RegistryError::Load(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_plugin", message)
                .hint("build it with proctor-sdk for wasm32-wasip2 (`proctor judge build`)"),
            RegistryError::VersionConflict { .. } => ApiError::new(StatusCode::CONFLICT, "version_conflict", message),
            RegistryError::UnknownPlugin(_) | RegistryError::UnknownVersion { .. } => ApiError::new(StatusCode::NOT_FOUND, "unknown_plugin", message),
            RegistryError::NothingToRollBack(_) => ApiError::new(StatusCode::CONFLICT, "nothing_to_roll_back", message),
            RegistryError::Disabled(_) => ApiError::new(StatusCode::CONFLICT, "plugin_disabled", message),
            RegistryError::Io { .. } => ApiError::internal("the plugin could not be read", &e),
        }
    }
}

impl From<SharingError> for ApiError {
    fn from(e: SharingError) -> ApiError {
        match e {
            SharingError::Registry(e) => e.into(),
            SharingError::Store(e) => ApiError::internal("the change could not be kept", &e),
        }
    }
}

/// A plugin as listed.
#[derive(Serialize, ToSchema)]
pub struct PluginView {
    /// Its name.
    pub name: String,
    /// The serving version.
    pub serving: Option<String>,
    /// Whether it is disabled.
    pub disabled: bool,
    /// Checks and hints the serving version answered.
    pub calls: u64,
    /// Those that ended in an error.
    pub errors: u64,
    /// The serving version's median latency over its recent calls (ms).
    pub p50_ms: Option<f64>,
    /// Every loaded version, oldest first, with the same counters and its
    /// digest, contract version, size and load time.
    #[schema(value_type = Vec<Object>)]
    pub versions: serde_json::Value,
}

impl From<PluginInfo> for PluginView {
    fn from(p: PluginInfo) -> PluginView {
        PluginView {
            versions: serde_json::to_value(&p.versions).unwrap_or_default(),
            name: p.name,
            serving: p.serving,
            disabled: p.disabled,
            calls: p.usage.calls,
            errors: p.usage.errors,
            p50_ms: p.usage.p50_ms,
        }
    }
}

/// Every judge and hint provider with its versions.
#[utoipa::path(get, path = "/admin/plugins", tag = "admin", responses((status = 200, body = [PluginView]), (status = 403)))]
async fn list(State(state): State<AppState>, Staff(_): Staff) -> Json<Vec<PluginView>> {
    Json(state.registry.list().into_iter().map(PluginView::from).collect())
}

/// Upload options.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Serve it at once (default true); false only loads it.
    #[serde(default = "yes")]
    pub promote: bool,
}

fn yes() -> bool {
    true
}

/// A version loaded.
#[derive(Serialize, ToSchema)]
pub struct Uploaded {
    /// Plugin name.
    pub name: String,
    /// Version.
    pub version: String,
    /// SHA-256 of the component.
    pub digest: String,
    /// Whether it serves now.
    pub serving: bool,
    /// The recorded cases of the labs it judges, graded before it was
    /// accepted (empty when they record none).
    pub dry_run: Vec<CaseOutcome>,
}

/// Uploads a component (the body, as is) and, unless `promote=false`,
/// serves it from the next call on; calls under way finish on the version
/// they started with. It is refused, and the serving version untouched,
/// when it is too large, not a component, built for another contract,
/// missing its exports, or when it grades a recorded case of a lab it
/// judges otherwise than the lab expects (the dry run).
#[utoipa::path(post, path = "/admin/plugins", tag = "admin", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/wasm"),
    responses((status = 201, body = Uploaded), (status = 409, description = "this version exists with other content"),
              (status = 413, description = "too large"), (status = 422, description = "not a valid plugin, or the dry run failed")))]
async fn upload(State(state): State<AppState>, Staff(user): Staff, Query(q): Query<UploadQuery>, body: Body) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    let max = state.config.plugins.max_plugin_bytes;
    let wasm = axum::body::to_bytes(body, max).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "plugin_too_large", format!("plugins are limited to {max} bytes"))
    })?;
    let refused = async |e: ApiError, what: String| {
        audit(&state, &user, "plugin.refused", what, Some(e.message.clone())).await;
        e
    };
    let loaded = match state.registry.engine().load(&wasm).await {
        Ok(p) => p,
        Err(e) => return Err(refused(RegistryError::from(e).into(), format!("{} bytes", wasm.len())).await),
    };
    let label = format!("{} {}", loaded.name, loaded.version);
    let dry_run = dry_run(state.registry.engine(), &loaded, &state.labs.current().labs).await;
    if let Some(bad) = dry_run.iter().find(|c| !c.ok()) {
        let message = format!(
            "the dry run failed: {} on lab {} task {} ({}): {}",
            label, bad.lab, bad.task, bad.fixture, bad.problem.as_deref().unwrap_or_default()
        );
        let e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "dry_run_failed", message)
            .hint("grade the lab's recorded cases offline with `proctor judge run --fixture` and fix the judge");
        return Err(refused(e, label).await);
    }
    let plugin = match state.plugins.add_upload(loaded, &wasm, q.promote, user.login.as_deref().unwrap_or(&user.id), now()).await {
        Ok(p) => p,
        Err(e) => return Err(refused(e.into(), label).await),
    };
    let detail = format!("{}; dry run: {} case(s) as expected", plugin.digest, dry_run.len());
    audit(&state, &user, if q.promote { "plugin.upload_and_serve" } else { "plugin.upload" }, label, Some(detail)).await;
    let done = Uploaded { name: plugin.name.clone(), version: plugin.version.clone(), digest: plugin.digest.clone(), serving: q.promote, dry_run };
    Ok((StatusCode::CREATED, Json(done)))
}

/// Serves a loaded version.
#[utoipa::path(post, path = "/admin/plugins/{name}/versions/{version}/promote", tag = "admin", responses((status = 200, body = PluginView), (status = 404)))]
async fn promote(State(state): State<AppState>, Staff(user): Staff, Path((name, version)): Path<(String, String)>) -> Result<Json<PluginView>, ApiError> {
    state.plugins.promote(&name, &version, now()).await?;
    audit(&state, &user, "plugin.promote", format!("{name} {version}"), None).await;
    Ok(Json(view(&state, &name)?))
}

/// Serves the version that served before again.
#[utoipa::path(post, path = "/admin/plugins/{name}/rollback", tag = "admin", responses((status = 200, body = PluginView), (status = 404), (status = 409)))]
async fn rollback(State(state): State<AppState>, Staff(user): Staff, Path(name): Path<String>) -> Result<Json<PluginView>, ApiError> {
    let back = state.plugins.rollback(&name, now()).await?;
    audit(&state, &user, "plugin.rollback", format!("{name} {}", back.version), None).await;
    Ok(Json(view(&state, &name)?))
}

/// Whether a plugin serves.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Disabled {
    /// true stops serving it; its labs' checks answer "judge unavailable".
    pub disabled: bool,
}

/// Disables or enables a plugin.
#[utoipa::path(put, path = "/admin/plugins/{name}/disabled", tag = "admin", request_body = Disabled, responses((status = 200, body = PluginView), (status = 404)))]
async fn set_disabled(State(state): State<AppState>, Staff(user): Staff, Path(name): Path<String>, JsonBody(req): JsonBody<Disabled>) -> Result<Json<PluginView>, ApiError> {
    state.plugins.set_disabled(&name, req.disabled, now()).await?;
    audit(&state, &user, if req.disabled { "plugin.disable" } else { "plugin.enable" }, name.clone(), None).await;
    Ok(Json(view(&state, &name)?))
}

fn view(state: &AppState, name: &str) -> Result<PluginView, ApiError> {
    state.registry.list().into_iter().find(|p| p.name == name).map(PluginView::from).ok_or_else(|| RegistryError::UnknownPlugin(name.to_owned()).into())
}

/// The plugin routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, upload)).routes(routes!(promote)).routes(routes!(rollback)).routes(routes!(set_disabled))
}
