//! `/api/v1/admin/users`: accounts, for administrators. List them, create
//! one (its one-time password is shown once), change a role, disable or
//! enable, set a learner's own session cap, reset a password.

use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Admin, audit};
use crate::{
    api::{ApiError, extract::Json as JsonBody},
    auth::{Role, accounts},
    server::AppState,
    sessions::{Clock, SystemClock},
    store::{AccountChange, AccountRow, StoreError},
};

/// An account as administrators see it.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Login.
    pub login: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// learner, author or admin.
    #[schema(value_type = String)]
    pub role: Role,
    /// `account`, or `oidc` for single sign-on.
    pub kind: String,
    /// Whether it is disabled (its tokens stop working).
    pub disabled: bool,
    /// Its own session cap (`null`: the server's).
    pub max_sessions: Option<u32>,
    /// Created (ms since the epoch).
    pub created_at: i64,
    /// Whether a one-time password waits to be changed.
    pub must_change_password: bool,
}

impl From<AccountRow> for UserView {
    fn from(a: AccountRow) -> UserView {
        let u = a.user;
        UserView {
            id: u.id,
            login: u.login,
            name: u.name,
            role: u.role,
            kind: u.kind,
            disabled: a.disabled,
            max_sessions: a.max_sessions,
            created_at: u.created_at,
            must_change_password: u.must_change_password,
        }
    }
}

fn store_failed(e: StoreError) -> ApiError {
    ApiError::internal("the database failed", &e)
}

fn unknown_user(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "unknown_user", format!("there is no user `{id}`")).hint("list them at /api/v1/admin/users")
}

/// Every account.
#[utoipa::path(get, path = "/admin/users", tag = "admin", responses((status = 200, body = [UserView]), (status = 403)))]
async fn list(State(state): State<AppState>, Admin(_): Admin) -> Result<Json<Vec<UserView>>, ApiError> {
    let accounts = state.sessions.store().accounts().await.map_err(store_failed)?;
    Ok(Json(accounts.into_iter().map(UserView::from).collect()))
}

/// A new account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login: 2-64 letters, digits and `. _ - @`.
    pub login: String,
    /// learner, author or admin.
    #[schema(value_type = String)]
    pub role: Role,
    /// A display name.
    pub name: Option<String>,
}

/// An account with the password to hand over.
#[derive(Serialize, ToSchema)]
pub struct WithPassword {
    /// The account.
    pub user: UserView,
    /// Shown once; it must be changed at the first login.
    pub one_time_password: String,
}

/// Creates an account with a one-time password.
#[utoipa::path(post, path = "/admin/users", tag = "admin", request_body = NewUser,
    responses((status = 201, body = WithPassword), (status = 400), (status = 409, description = "the login is taken")))]
async fn create(State(state): State<AppState>, Admin(admin): Admin, JsonBody(req): JsonBody<NewUser>) -> Result<(StatusCode, Json<WithPassword>), ApiError> {
    let store = state.sessions.store();
    let name = req.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if name.is_some_and(|n| n.chars().count() > 80) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_name", "names are limited to 80 characters"));
    }
    let (user, otp) = accounts::create(store, &req.login, req.role, None, SystemClock.now()).await?;
    if let Some(name) = name {
        store.set_user_name(&user.id, name).await.map_err(store_failed)?;
    }
    let row = store.user_row(&user.id).await.map_err(store_failed)?.ok_or_else(|| unknown_user(&user.id))?;
    audit(&state, &admin, "user.create", req.login.clone(), Some(format!("role {}", req.role.as_str()))).await;
    let one_time_password = otp.expect("an account created without a password gets a one-time one");
    Ok((StatusCode::CREATED, Json(WithPassword { user: row.into(), one_time_password })))
}

/// A change to an account; fields left out stay.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    /// A new role.
    #[schema(value_type = Option<String>)]
    pub role: Option<Role>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// Its own session cap; `null` returns to the server's.
    #[serde(default, deserialize_with = "crate::settings::nullable")]
    #[schema(value_type = Option<u32>)]
    pub max_sessions: Option<Option<u32>>,
}

/// Changes an account. The last enabled administrator can be neither
/// demoted nor disabled, so the server always has one.
#[utoipa::path(patch, path = "/admin/users/{id}", tag = "admin", request_body = UserChange,
    responses((status = 200, body = UserView), (status = 404), (status = 409, description = "it is the last administrator")))]
async fn change(State(state): State<AppState>, Admin(admin): Admin, Path(id): Path<String>, JsonBody(req): JsonBody<UserChange>) -> Result<Json<UserView>, ApiError> {
    let store = state.sessions.store();
    let before = store.user_row(&id).await.map_err(store_failed)?.ok_or_else(|| unknown_user(&id))?;
    if req.max_sessions.flatten() == Some(0) || req.max_sessions.flatten().is_some_and(|c| c > 100) {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_settings", "max_sessions must be between 1 and 100, or null"));
    }
    let loses_admin = before.user.role == Role::Admin
        && !before.disabled
        && (req.role.is_some_and(|r| r != Role::Admin) || req.disabled == Some(true));
    if loses_admin && store.count_enabled_admins().await.map_err(store_failed)? <= 1 {
        return Err(ApiError::new(StatusCode::CONFLICT, "last_admin", "this is the last enabled administrator")
            .hint("make another account an administrator first"));
    }
    let change = AccountChange { role: req.role, disabled: req.disabled, max_sessions: req.max_sessions };
    store.change_account(&id, &change, SystemClock.now()).await.map_err(store_failed)?;
    let after = store.user_row(&id).await.map_err(store_failed)?.ok_or_else(|| unknown_user(&id))?;
    let detail = format!(
        "role {} -> {}, disabled {} -> {}, max_sessions {:?} -> {:?}",
        before.user.role.as_str(),
        after.user.role.as_str(),
        before.disabled,
        after.disabled,
        before.max_sessions,
        after.max_sessions
    );
    let target = after.user.login.clone().unwrap_or_else(|| id.clone());
    audit(&state, &admin, "user.change", target, Some(detail)).await;
    Ok(Json(after.into()))
}

/// A new one-time password.
#[derive(Serialize, ToSchema)]
pub struct NewPassword {
    /// Shown once; it must be changed at the next login.
    pub one_time_password: String,
}

/// Replaces an account's password with a one-time password, signs it out
/// everywhere and lifts its login lock.
#[utoipa::path(post, path = "/admin/users/{id}/password", tag = "admin", responses((status = 200, body = NewPassword), (status = 404)))]
async fn reset_password(State(state): State<AppState>, Admin(admin): Admin, Path(id): Path<String>) -> Result<Json<NewPassword>, ApiError> {
    let store = state.sessions.store();
    let row = store.user_row(&id).await.map_err(store_failed)?.ok_or_else(|| unknown_user(&id))?;
    let one_time_password = accounts::reset_password(store, &row.user, SystemClock.now()).await?;
    audit(&state, &admin, "user.reset_password", row.user.login.clone().unwrap_or(id), None).await;
    Ok(Json(NewPassword { one_time_password }))
}

/// The user routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(change)).routes(routes!(reset_password))
}
