//! `POST /api/v1/guests`: a learner identity for a browser, before (or
//! without) accounts.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiError, identity::with_token_cookie};
use crate::{server::AppState, sessions::Clock};

/// A guest's browser keeps its token for a year.
pub const GUEST_COOKIE_AGE: u64 = 365 * 24 * 3600;

/// A new guest learner and their token.
#[derive(Serialize, ToSchema)]
pub struct GuestCreated {
    /// The learner's user id.
    pub user_id: String,
    /// The bearer token; also set as the `proctor_token` cookie.
    pub token: String,
}

/// Creates a guest learner. The token is returned once: keep it.
#[utoipa::path(post, path = "/guests", tag = "identity",
    responses((status = 201, description = "a new guest learner", body = GuestCreated)))]
async fn create_guest(State(state): State<AppState>) -> Result<Response, ApiError> {
    let now = crate::sessions::SystemClock.now();
    let (user, token) = crate::auth::issue_guest(state.sessions.store(), now)
        .await
        .map_err(|e| ApiError::internal("could not create a guest", &e))?;
    let response = (StatusCode::CREATED, Json(GuestCreated { user_id: user.id, token: token.clone() })).into_response();
    Ok(with_token_cookie(response, Some(&token), GUEST_COOKIE_AGE))
}

/// The identity routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_guest))
}
