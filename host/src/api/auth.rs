//! `/api/v1/auth`: accounts. Log in (a token, also set as the browser's
//! cookie), log out (the token is revoked), who am I, change the password
//! (required after a one-time password), and API tokens for the CLI.

use axum::{
    Json,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{
    ApiError,
    extract::Json as Body,
    identity::{Caller, PeerAddress, PresentedToken, with_token_cookie},
};
use crate::{
    auth::{
        Role, User,
        accounts::{self, AccountError, LOGIN_TTL, LoginLimits},
        new_token, token_digest,
    },
    server::AppState,
    sessions::{Clock, SystemClock},
};

/// Who is logged in.
#[derive(Serialize, ToSchema)]
pub struct Me {
    /// User id.
    pub id: String,
    /// The account's login (none for guests).
    pub login: Option<String>,
    /// learner, author or admin.
    #[schema(value_type = String)]
    pub role: Role,
    /// `guest` or `account`.
    pub kind: String,
    /// Whether a new password must be chosen before anything else.
    pub must_change_password: bool,
}

impl From<&User> for Me {
    fn from(u: &User) -> Me {
        Me { id: u.id.clone(), login: u.login.clone(), role: u.role, kind: u.kind.clone(), must_change_password: u.must_change_password }
    }
}

/// Credentials.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// The account's login.
    pub login: String,
    /// Its password.
    pub password: String,
}

/// A login's answer.
#[derive(Serialize, ToSchema)]
pub struct LoggedIn {
    /// Who.
    pub user: Me,
    /// The bearer token (also set as the `proctor_token` cookie).
    pub token: String,
}

/// A password change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub current: String,
    /// The new one.
    pub new: String,
}

/// An API token to make.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What it is for ("laptop CLI").
    pub label: String,
    /// Days it lasts (default 90, at most 365).
    pub days: Option<u32>,
}

/// An API token, shown once.
#[derive(Serialize, ToSchema)]
pub struct TokenCreated {
    /// The bearer token.
    pub token: String,
    /// Its label.
    pub label: String,
    /// When it expires (ms since the epoch).
    pub expires_at: i64,
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> ApiError {
        let message = e.to_string();
        match e {
            AccountError::BadCredentials => ApiError::new(StatusCode::UNAUTHORIZED, "bad_credentials", message),
            AccountError::Locked { retry_after } => ApiError {
                retry_after: Some(retry_after.as_secs().max(1)),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "login_locked", message).hint("wait, or ask an administrator to reset the password")
            },
            AccountError::WeakPassword(_) => ApiError::new(StatusCode::BAD_REQUEST, "weak_password", message),
            AccountError::BadLogin(_) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_login", message),
            AccountError::Taken(_) => ApiError::new(StatusCode::CONFLICT, "login_taken", message).hint("choose another login"),
            AccountError::Store(e) => ApiError::internal("the database failed", &e),
        }
    }
}

/// Logs in with a login and a password. Five failures per account, or
/// twenty per address, within 15 minutes lock further tries for the rest
/// of the window (429 with `Retry-After`).
#[utoipa::path(post, path = "/auth/login", tag = "identity", request_body = Login,
    responses((status = 200, body = LoggedIn), (status = 401, description = "wrong login or password"), (status = 429, description = "locked for a while")))]
async fn login(State(state): State<AppState>, PeerAddress(address): PeerAddress, Body(req): Body<Login>) -> Result<Response, ApiError> {
    let now = SystemClock.now();
    let (user, token) = accounts::login(state.sessions.store(), &req.login, &req.password, &address, now, LoginLimits::default()).await?;
    let response = Json(LoggedIn { user: Me::from(&user), token: token.clone() }).into_response();
    Ok(with_token_cookie(response, Some(&token), LOGIN_TTL.as_secs()))
}

/// Logs out: the token presented is revoked and the cookie cleared.
#[utoipa::path(post, path = "/auth/logout", tag = "identity", responses((status = 204)))]
async fn logout(State(state): State<AppState>, Caller(_): Caller, PresentedToken(token): PresentedToken) -> Result<Response, ApiError> {
    state.sessions.store().revoke_token(&token_digest(&token), SystemClock.now()).await.map_err(|e| ApiError::internal("could not revoke the token", &e))?;
    Ok(with_token_cookie(StatusCode::NO_CONTENT.into_response(), None, 0))
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/auth/me", tag = "identity", responses((status = 200, body = Me), (status = 401)))]
async fn me(Caller(user): Caller) -> Json<Me> {
    Json(Me::from(&user))
}

/// Changes the caller's password; their other tokens are revoked.
#[utoipa::path(post, path = "/auth/password", tag = "identity", request_body = PasswordChange,
    responses((status = 204), (status = 400, description = "too weak"), (status = 401, description = "the current password is wrong")))]
async fn change_password(
    State(state): State<AppState>,
    Caller(user): Caller,
    PresentedToken(token): PresentedToken,
    Body(req): Body<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    accounts::change_password(state.sessions.store(), &user, &req.current, &req.new, &token, SystemClock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Makes an API token for the CLI (accounts only). Shown once.
#[utoipa::path(post, path = "/auth/tokens", tag = "identity", request_body = NewToken,
    responses((status = 201, body = TokenCreated), (status = 403, description = "guests have no API tokens")))]
async fn create_token(State(state): State<AppState>, Caller(user): Caller, Body(req): Body<NewToken>) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    if user.login.is_none() {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "account_required", "API tokens belong to accounts").hint("log in with POST /api/v1/auth/login"));
    }
    let label = req.label.trim();
    if label.is_empty() || label.len() > 100 {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_label", "give the token a label of 1-100 characters"));
    }
    let now = SystemClock.now();
    let expires_at = now + i64::from(req.days.unwrap_or(90).clamp(1, 365)) * 86_400_000;
    let token = new_token();
    state
        .sessions
        .store()
        .insert_labelled_token(&token_digest(&token), &user.id, "api", label, now, Some(expires_at))
        .await
        .map_err(|e| ApiError::internal("could not store the token", &e))?;
    Ok((StatusCode::CREATED, Json(TokenCreated { token, label: label.to_owned(), expires_at })))
}

/// The account routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(logout)).routes(routes!(me)).routes(routes!(change_password)).routes(routes!(create_token))
}
