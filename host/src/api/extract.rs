//! Request extractors whose failures answer in the API's error shape: a
//! malformed JSON body, a bad query string or an ill-formed path segment
//! gets `{ "error": { "code", "message", "hint" } }` like every other error,
//! never the framework's plain-text rejection.

use axum::{
    extract::{FromRequest, FromRequestParts, Request, rejection::JsonRejection},
    http::{StatusCode, request::Parts},
};
use serde::de::DeserializeOwned;

use super::ApiError;

/// A JSON request body.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Json(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON",
            )
            .hint("send the header Content-Type: application/json")),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", e.body_text())
                .hint("see the request's schema in /api/v1/openapi.json")),
            Err(e) => Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.body_text()).hint("send a well-formed JSON document")),
        }
    }
}

/// A query string.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))
    }
}

/// The answer for a path no route serves.
pub async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_such_endpoint", "no endpoint has this path and method")
        .hint("the endpoints are listed in /api/v1/openapi.json")
}

/// The answer for a known path asked with a method it does not serve.
pub async fn wrong_method() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this endpoint does not answer this method")
        .hint("the endpoints and their methods are listed in /api/v1/openapi.json")
}
