//! The API's one error type: a status code and a JSON body
//! `{ "error": { "code", "message", "hint" } }`. Server-side failures are
//! logged in full and answered without their details.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{runtime::RuntimeError, sessions::SessionError};

/// The code of an error answer, kept on the response for middleware (the
/// metrics count limit breaches by it).
#[derive(Clone, Copy, Debug)]
pub struct ErrorCode(pub &'static str);

/// The codes that mean a limit turned the request away.
pub const LIMIT_CODES: [&str; 6] = ["capacity_full", "learner_limit", "hint_rate", "file_too_large", "login_locked", "no_capacity"];

/// An error answered to an API client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Seconds after which asking again makes sense (`Retry-After`).
    pub retry_after: Option<u64>,
    /// The learner's place in the capacity queue.
    pub queue_position: Option<u32>,
}

impl ApiError {
    /// An error with no hint.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), hint: None, retry_after: None, queue_position: None }
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> ApiError {
        self.hint = Some(hint.into());
        self
    }

    /// A failure on the server's side: logged in full, answered briefly.
    pub fn internal(what: &str, cause: &dyn std::fmt::Display) -> ApiError {
        tracing::error!(error = %cause, "{what}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("{what}; the details are in the server's log"))
    }
}

impl From<SessionError> for ApiError {
    fn from(e: SessionError) -> ApiError {
        let message = e.to_string();
        match e {
            SessionError::UnknownLab(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "unknown_lab", message).hint("list the labs at /api/v1/labs")
            }
            SessionError::LabDisabled(_) => ApiError::new(StatusCode::CONFLICT, "lab_disabled", message).hint("an administrator disabled it; choose another lab"),
            SessionError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "session_not_found", message),
            SessionError::Full { position, retry_after, .. } => ApiError {
                retry_after: Some(retry_after.as_secs()),
                queue_position: Some(position),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "capacity_full", message)
                    .hint("ask again after Retry-After seconds to keep your place")
            },
            SessionError::LearnerLimit { .. } => ApiError::new(StatusCode::TOO_MANY_REQUESTS, "learner_limit", message)
                .hint("end a running session with DELETE /api/v1/sessions/{id}"),
            SessionError::Transition(_) => ApiError::new(StatusCode::CONFLICT, "session_state", message),
            SessionError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", message).hint("retry the request"),
            SessionError::Runtime(RuntimeError::Unreachable(_)) => {
                tracing::error!(error = %message, "runtime unreachable");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "runtime_unavailable", "the lab environment service is unreachable")
                    .hint("try again shortly; an administrator has been told in the log")
            }
            SessionError::Runtime(RuntimeError::ImageMissing { image, .. } | RuntimeError::ImageBuild { image, .. }) => {
                tracing::error!(error = %message, "a lab's image is not available");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "lab_unavailable", format!("this lab's machine image {image} is not available yet"))
                    .hint("try again in a few minutes; the server's log says what an administrator must do")
            }
            SessionError::Runtime(RuntimeError::Capacity(_)) => {
                tracing::warn!(error = %message, "the cluster refused a session");
                ApiError { retry_after: Some(60), ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_capacity", message).hint("try again in a minute; an administrator can raise the cluster's quota") }
            }
            SessionError::Runtime(RuntimeError::Unsupported(_)) => ApiError::new(StatusCode::NOT_IMPLEMENTED, "unsupported", message),
            SessionError::Runtime(e) => ApiError::internal("the lab environment failed", &e),
            SessionError::Store(e) => ApiError::internal("the database failed", &e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message, "hint": self.hint });
        if let Some(position) = self.queue_position {
            error["queue_position"] = json!(position);
            error["retry_after_seconds"] = json!(self.retry_after);
        }
        let mut response = (self.status, Json(json!({ "error": error }))).into_response();
        response.extensions_mut().insert(ErrorCode(self.code));
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_full_server_answers_429_with_retry_after_and_the_queue_place() {
        let full = SessionError::Full { capacity: 2, position: 3, waiting: 4, retry_after: Duration::from_secs(20) };
        let response = ApiError::from(full).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "20");
        let api = ApiError::from(SessionError::Full { capacity: 2, position: 3, waiting: 4, retry_after: Duration::from_secs(20) });
        assert_eq!((api.code, api.queue_position), ("capacity_full", Some(3)));
        assert!(api.message.contains("number 3 of 4 in the queue"), "{}", api.message);
    }

    #[test]
    fn server_side_details_are_not_sent() {
        let api = ApiError::from(SessionError::Runtime(RuntimeError::Engine("secret engine detail".into())));
        assert_eq!(api.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!api.message.contains("secret"), "{}", api.message);
        let down = ApiError::from(SessionError::Runtime(RuntimeError::Unreachable("socket gone".into())));
        assert_eq!((down.status, down.code), (StatusCode::SERVICE_UNAVAILABLE, "runtime_unavailable"));
    }
}
