//! Who is calling: the `Caller` extractor reads a bearer token from the
//! `Authorization` header or, for browsers (whose WebSockets cannot set
//! headers), from the `proctor_token` cookie.

use axum::{
    extract::FromRequestParts,
    http::{StatusCode, header, request::Parts},
};

use super::ApiError;
use crate::{auth::User, server::AppState, sessions::Clock};

/// The cookie a browser keeps its token in.
pub const TOKEN_COOKIE: &str = "proctor_token";

/// What a user who must change their password may still reach.
const PASSWORD_CHANGE_PATHS: [&str; 3] = ["/auth/password", "/auth/me", "/auth/logout"];

/// The token the request presents (header or cookie), for the endpoints
/// that act on it: logout revokes it, a password change keeps it.
#[derive(Clone, Debug)]
pub struct PresentedToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PresentedToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        bearer(parts)
            .or_else(|| cookie(parts))
            .map(|t| PresentedToken(t.to_owned()))
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "this request needs a token"))
    }
}

/// Where the request came from (the peer's address), for per-address
/// limits; `unknown` when the server was not told.
#[derive(Clone, Debug)]
pub struct PeerAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip().to_string());
        Ok(PeerAddress(peer.unwrap_or_else(|| "unknown".into())))
    }
}

/// The authenticated user making the request.
#[derive(Clone, Debug)]
pub struct Caller(pub User);

fn bearer(parts: &Parts) -> Option<&str> {
    let auth = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    auth.strip_prefix("Bearer ").map(str::trim)
}

fn cookie(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(name, value)| (name == TOKEN_COOKIE).then_some(value))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthenticated = |message: &str| {
            ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
                .hint("get a learner token with POST /api/v1/guests and send it as `Authorization: Bearer <token>`")
        };
        let Some(token) = bearer(parts).or_else(|| cookie(parts)) else {
            return Err(unauthenticated("this request needs a token"));
        };
        let now = crate::sessions::SystemClock.now();
        match crate::auth::authenticate(state.sessions.store(), token, now).await {
            // A one-time password must be replaced before anything else.
            Ok(Some(user)) if user.must_change_password && !PASSWORD_CHANGE_PATHS.iter().any(|p| parts.uri.path().ends_with(p)) => {
                Err(ApiError::new(StatusCode::FORBIDDEN, "password_change_required", "choose a new password first")
                    .hint("POST /api/v1/auth/password with the current and the new password"))
            }
            Ok(Some(user)) => Ok(Caller(user)),
            Ok(None) => Err(unauthenticated("this token is unknown, expired or revoked")),
            Err(e) => Err(ApiError::internal("could not check the token", &e)),
        }
    }
}

/// The caller when the request carries a live token, `None` when it
/// carries none (or an unknown one): for endpoints anyone may call, that
/// answer those they know differently (joining a workshop again).
pub struct MaybeCaller(pub Option<User>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match Caller::from_request_parts(parts, state).await {
            Ok(Caller(user)) => Ok(MaybeCaller(Some(user))),
            Err(e) if e.code == "unauthenticated" => Ok(MaybeCaller(None)),
            Err(e) => Err(e),
        }
    }
}

/// Sets the browser's token cookie on `response` (HttpOnly, SameSite=Strict,
/// for `max_age` seconds); `None` clears it.
pub fn with_token_cookie(mut response: axum::response::Response, token: Option<&str>, max_age: u64) -> axum::response::Response {
    let cookie = match token {
        Some(token) => format!("{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}"),
        None => format!("{TOKEN_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
        response.headers_mut().append(axum::http::header::SET_COOKIE, value);
    }
    response
}
