//! `/api/v1/auth/providers` and `/api/v1/auth/oidc/…`: single sign-on. The
//! browser is sent to the issuer from `start` and comes back to `callback`,
//! which logs it in (the token cookie) and sends it on; a failure sends it
//! to the login page with the reason.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiError, extract::Query, identity::with_token_cookie, sessions::now};
use crate::{
    auth::{accounts::LOGIN_TTL, oidc::OidcError},
    server::AppState,
};

/// A single sign-on provider.
#[derive(Serialize, ToSchema)]
pub struct Provider {
    /// What the sign-in button says.
    pub name: String,
    /// Where the button leads.
    pub start: String,
}

/// The ways to log in besides a password.
#[derive(Serialize, ToSchema)]
pub struct Providers {
    /// OpenID Connect, when configured.
    pub oidc: Option<Provider>,
}

/// The ways to log in besides a password.
#[utoipa::path(get, path = "/auth/providers", tag = "identity", responses((status = 200, body = Providers)))]
async fn providers(State(state): State<AppState>) -> Json<Providers> {
    Json(Providers { oidc: state.oidc.as_ref().map(|o| Provider { name: o.name().to_owned(), start: "/api/v1/auth/oidc/start".into() }) })
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_owned())]).into_response()
}

fn not_configured() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "sso_not_configured", "single sign-on is not configured on this server").hint("log in with a password")
}

/// Where to go after the login.
#[derive(Deserialize, IntoParams)]
pub struct StartQuery {
    /// A path on this server (default `/`).
    pub return_to: Option<String>,
}

/// Sends the browser to the issuer.
#[utoipa::path(get, path = "/auth/oidc/start", tag = "identity", params(StartQuery),
    responses((status = 302, description = "to the issuer"), (status = 404, description = "not configured"), (status = 502, description = "the issuer cannot be reached")))]
async fn start(State(state): State<AppState>, Query(q): Query<StartQuery>) -> Result<Response, ApiError> {
    let oidc = state.oidc.as_ref().ok_or_else(not_configured)?;
    match oidc.start(state.sessions.store(), q.return_to.as_deref(), now()).await {
        Ok(url) => Ok(redirect(&url)),
        Err(OidcError::Store(e)) => Err(ApiError::internal("the database failed", &e)),
        Err(e) => Err(ApiError::new(StatusCode::BAD_GATEWAY, "sso_unavailable", e.to_string())),
    }
}

/// What the issuer sends back.
#[derive(Deserialize, IntoParams)]
pub struct Callback {
    /// The authorization code.
    pub code: Option<String>,
    /// The state sent at the start.
    pub state: Option<String>,
    /// The issuer's error, when it refused.
    pub error: Option<String>,
    /// Its explanation.
    pub error_description: Option<String>,
}

/// Finishes the login and sends the browser on, logged in; on a failure,
/// to `/login?sso_error=…`.
#[utoipa::path(get, path = "/auth/oidc/callback", tag = "identity", params(Callback), responses((status = 302, description = "logged in, or to the login page with the reason")))]
async fn callback(State(state): State<AppState>, Query(q): Query<Callback>) -> Result<Response, ApiError> {
    let oidc = state.oidc.as_ref().ok_or_else(not_configured)?;
    let failed = |why: String| {
        tracing::warn!(reason = %why, "a single sign-on failed");
        let query: String = url::form_urlencoded::Serializer::new(String::new()).append_pair("sso_error", &why).finish();
        Ok(redirect(&format!("/login?{query}")))
    };
    if let Some(error) = q.error {
        return failed(OidcError::Refused(q.error_description.unwrap_or(error)).to_string());
    }
    let (Some(code), Some(login_state)) = (q.code, q.state) else { return failed(OidcError::UnknownState.to_string()) };
    match oidc.finish(state.sessions.store(), &code, &login_state, now()).await {
        Ok((_, token, return_to)) => Ok(with_token_cookie(redirect(&return_to), Some(&token), LOGIN_TTL.as_secs())),
        Err(OidcError::Store(e)) => Err(ApiError::internal("the database failed", &e)),
        Err(e) => failed(e.to_string()),
    }
}

/// The single sign-on routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(providers)).routes(routes!(start)).routes(routes!(callback))
}
