//! The HTTP API under `/api/v1`: one module per resource, one error type.

pub mod error;

pub use error::ApiError;
