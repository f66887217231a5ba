//! `/api/v1/admin`: staff operations, one module per resource. Authors and
//! administrators manage judges and hint providers ([`plugins`]) and labs
//! ([`labs`]); administrators also manage sessions, limits and users, and
//! read the audit log, where every staff action is recorded.

mod audit_log;
mod labs;
mod limits;
mod plugins;
mod sessions;
mod users;

use axum::{
    extract::FromRequestParts,
    http::{StatusCode, request::Parts},
};
use utoipa_axum::router::OpenApiRouter;

use super::{ApiError, identity::Caller};
use crate::{
    auth::{Role, User},
    server::AppState,
    sessions::{Clock, SystemClock},
    store::AuditEntry,
};

pub use plugins::PluginView;

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

/// Records a staff action; a failure to record is logged, not fatal, so
/// the action that already happened is still answered truthfully.
pub(crate) async fn audit(state: &AppState, actor: &User, action: &str, target: String, detail: Option<String>) {
    let entry = AuditEntry { at: SystemClock.now(), actor: actor.login.clone().unwrap_or_else(|| actor.id.clone()), action: action.to_owned(), target, detail };
    if let Err(e) = state.sessions.store().record_audit(&entry).await {
        tracing::error!(error = %e, ?entry, "could not record an audit entry");
    }
}

/// The admin routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(plugins::router())
        .merge(labs::router())
        .merge(sessions::router())
        .merge(limits::router())
        .merge(users::router())
        .merge(audit_log::router())
}
