//! `/api/v1/admin`: staff operations. Judges and hint providers: list them
//! with every loaded version, upload a new version (validated before it can
//! serve: size, a valid component, the contract version, its exports), and
//! promote, roll back, disable or enable one, without a restart. Authors
//! and administrators may manage plugins. Administrators also see, extend
//! and end any learner's session, and read the audit log of every staff
//! action.

use axum::{
    Json,
    body::Body,
    extract::{FromRequestParts, Path, State},
    http::{StatusCode, request::Parts},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    ApiError,
    sessions::{SessionView, now as sessions_now},
    extract::{Json as JsonBody, Query},
    identity::Caller,
};
use crate::{
    auth::{Role, User},
    plugins::{RegistryError, registry::PluginInfo},
    server::AppState,
    sessions::{Clock, SystemClock},
    store::AuditEntry,
};

/// A caller who is an author or an administrator.
pub struct Staff(pub User);

/// A caller who is an administrator.
pub struct Admin(pub User);

fn forbidden(what: &str) -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", format!("this needs {what}")).hint("log in with an account that has that role")
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(user) = Caller::from_request_parts(parts, state).await?;
        if matches!(user.role, Role::Author | Role::Admin) { Ok(Staff(user)) } else { Err(forbidden("an author or an administrator")) }
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(user) = Caller::from_request_parts(parts, state).await?;
        if user.role == Role::Admin { Ok(Admin(user)) } else { Err(forbidden("an administrator")) }
    }
}

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

/// Records a staff action; a failure to record is logged, not fatal, so
/// the action that already happened is still answered truthfully.
async fn audit(state: &AppState, actor: &User, action: &str, target: String, detail: Option<String>) {
    let entry = AuditEntry { at: SystemClock.now(), actor: actor.login.clone().unwrap_or_else(|| actor.id.clone()), action: action.to_owned(), target, detail };
    if let Err(e) = state.sessions.store().record_audit(&entry).await {
        tracing::error!(error = %e, ?entry, "could not record an audit entry");
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
    /// Every loaded version.
    #[schema(value_type = Vec<Object>)]
    pub versions: serde_json::Value,
}

impl From<PluginInfo> for PluginView {
    fn from(p: PluginInfo) -> PluginView {
        PluginView { versions: serde_json::to_value(&p.versions).unwrap_or_default(), name: p.name, serving: p.serving, disabled: p.disabled }
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
}

/// Uploads a component (the body, as is) and, unless `promote=false`,
/// serves it from the next call on; calls under way finish on the version
/// they started with. A component that is too large, not a component, built
/// for another contract or missing its exports is refused, and the serving
/// version is untouched.
#[utoipa::path(post, path = "/admin/plugins", tag = "admin", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/wasm"),
    responses((status = 201, body = Uploaded), (status = 409, description = "this version exists with other content"),
              (status = 413, description = "too large"), (status = 422, description = "not a valid plugin")))]
async fn upload(State(state): State<AppState>, Staff(user): Staff, Query(q): Query<UploadQuery>, body: Body) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    let max = state.config.plugins.max_plugin_bytes;
    let wasm = axum::body::to_bytes(body, max).await.map_err(|_| {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "plugin_too_large", format!("plugins are limited to {max} bytes"))
    })?;
    let plugin = match state.registry.add(&wasm).await {
        Ok(p) => p,
        Err(e) => {
            audit(&state, &user, "plugin.refused", format!("{} bytes", wasm.len()), Some(e.to_string())).await;
            return Err(e.into());
        }
    };
    if q.promote {
        state.registry.promote(&plugin.name, &plugin.version)?;
    }
    let target = format!("{} {}", plugin.name, plugin.version);
    audit(&state, &user, if q.promote { "plugin.upload_and_serve" } else { "plugin.upload" }, target, Some(plugin.digest.clone())).await;
    Ok((StatusCode::CREATED, Json(Uploaded { name: plugin.name.clone(), version: plugin.version.clone(), digest: plugin.digest.clone(), serving: q.promote })))
}

/// Serves a loaded version.
#[utoipa::path(post, path = "/admin/plugins/{name}/versions/{version}/promote", tag = "admin", responses((status = 200, body = PluginView), (status = 404)))]
async fn promote(State(state): State<AppState>, Staff(user): Staff, Path((name, version)): Path<(String, String)>) -> Result<Json<PluginView>, ApiError> {
    state.registry.promote(&name, &version)?;
    audit(&state, &user, "plugin.promote", format!("{name} {version}"), None).await;
    Ok(Json(view(&state, &name)?))
}

/// Serves the version that served before again.
#[utoipa::path(post, path = "/admin/plugins/{name}/rollback", tag = "admin", responses((status = 200, body = PluginView), (status = 404), (status = 409)))]
async fn rollback(State(state): State<AppState>, Staff(user): Staff, Path(name): Path<String>) -> Result<Json<PluginView>, ApiError> {
    let back = state.registry.rollback(&name)?;
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
    state.registry.set_disabled(&name, req.disabled)?;
    audit(&state, &user, if req.disabled { "plugin.disable" } else { "plugin.enable" }, name.clone(), None).await;
    Ok(Json(view(&state, &name)?))
}

fn view(state: &AppState, name: &str) -> Result<PluginView, ApiError> {
    state.registry.list().into_iter().find(|p| p.name == name).map(PluginView::from).ok_or_else(|| RegistryError::UnknownPlugin(name.to_owned()).into())
}

/// The newest staff actions, newest first.
#[utoipa::path(get, path = "/admin/audit", tag = "admin", responses((status = 200, body = [AuditEntry]), (status = 403)))]
async fn audit_log(State(state): State<AppState>, Admin(_): Admin) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let entries = state.sessions.store().audit_log(200).await.map_err(|e| ApiError::internal("could not read the audit log", &e))?;
    Ok(Json(entries))
}

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

/// The admin routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, upload))
        .routes(routes!(promote))
        .routes(routes!(rollback))
        .routes(routes!(set_disabled))
        .routes(routes!(audit_log))
        .routes(routes!(sessions_list))
        .routes(routes!(session_get, session_end))
        .routes(routes!(session_extend))
}
