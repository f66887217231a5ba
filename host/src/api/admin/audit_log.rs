//! `/api/v1/admin/audit`: what staff did, for administrators.

use axum::{Json, extract::State};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::Admin;
use crate::{api::ApiError, server::AppState, store::AuditEntry};

/// The newest staff actions, newest first.
#[utoipa::path(get, path = "/admin/audit", tag = "admin", responses((status = 200, body = [AuditEntry]), (status = 403)))]
async fn audit_log(State(state): State<AppState>, Admin(_): Admin) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    let entries = state.sessions.store().audit_log(200).await.map_err(|e| ApiError::internal("could not read the audit log", &e))?;
    Ok(Json(entries))
}

/// The audit routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(audit_log))
}
