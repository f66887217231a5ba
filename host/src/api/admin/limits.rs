//! `/api/v1/admin/limits`: session caps, idle timeout, TTL cap and hint
//! rate, changed at run time by administrators.

use axum::{Json, extract::State};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Admin, audit};
use crate::{
    api::{ApiError, extract::Json as JsonBody},
    server::AppState,
    sessions::{Clock, SystemClock},
    settings::{Limits, LimitsChange},
};

/// The limits in force.
#[utoipa::path(get, path = "/admin/limits", tag = "admin", responses((status = 200, body = Limits), (status = 403)))]
async fn get_limits(State(state): State<AppState>, Admin(_): Admin) -> Json<Limits> {
    Json(Limits::current(&state.sessions, &state.hint_limiter))
}

/// Changes some limits, on every replica; fields left out stay. Running
/// sessions keep the time they were given.
#[utoipa::path(put, path = "/admin/limits", tag = "admin", request_body = LimitsChange,
    responses((status = 200, body = Limits), (status = 403), (status = 422, description = "a value out of range")))]
async fn put_limits(State(state): State<AppState>, Admin(user): Admin, JsonBody(change): JsonBody<LimitsChange>) -> Result<Json<Limits>, ApiError> {
    let before = Limits::current(&state.sessions, &state.hint_limiter);
    let after = state.settings().change_limits(&change, SystemClock.now()).await?;
    let detail = serde_json::json!({ "before": before, "after": after }).to_string();
    audit(&state, &user, "limits.change", "limits".into(), Some(detail)).await;
    Ok(Json(after))
}

/// The limit routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_limits, put_limits))
}
