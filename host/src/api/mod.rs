//! The HTTP API under `/api/v1`: one module per resource, one error type,
//! and an OpenAPI document generated from the handlers.

pub mod admin;
pub mod auth;
pub mod error;
pub mod extract;
pub mod files;
pub mod guests;
pub mod identity;
pub mod labs;
pub mod oidc;
pub mod progress;
pub mod rate;
pub mod sessions;
pub mod tasks;
pub mod terminals;
pub mod workshops;

use axum::{Json, Router, routing::get};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use error::ApiError;

use crate::server::AppState;

#[derive(OpenApi)]
#[openapi(info(title = "Proctor API", description = "Hands-on technical labs: sessions, tasks, checks and hints."))]
struct ApiDoc;

/// The `/api/v1` routes, with `/api/v1/openapi.json` describing them.
pub fn router() -> Router<AppState> {
    let (routes, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(guests::router())
        .merge(admin::router())
        .merge(auth::router())
        .merge(files::router())
        .merge(labs::router())
        .merge(oidc::router())
        .merge(progress::router())
        .merge(sessions::router())
        .merge(tasks::router())
        .merge(terminals::router())
        .merge(workshops::router())
        .split_for_parts();
    doc.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    let doc = std::sync::Arc::new(doc);
    routes.route("/openapi.json", get(move || async move { Json(doc.as_ref().clone()) }))
        .fallback(extract::no_route)
        .method_not_allowed_fallback(extract::wrong_method)
}
