//! The error a capability call can return.

use crate::bindings::types::CapabilityError;

/// Why a capability call produced no answer.
///
/// A judge usually propagates it with `?`: [`Judge::check`](crate::Judge::check)
/// turns an error into a `not-gradable` verdict that says what went wrong,
/// since a broken environment is not the learner's fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The lab does not grant this capability; add it to the lab's
    /// `capabilities` list.
    Denied(String),
    /// The call ran out of time.
    TimedOut(String),
    /// The request or its answer was too large.
    TooLarge(String),
    /// The machine, file or container does not exist.
    NotFound(String),
    /// The runtime cannot do this.
    Unsupported(String),
    /// Something else went wrong in the host.
    Failed(String),
}

impl Error {
    /// Whether the thing asked for does not exist (a missing file, say).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound(_))
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Denied(m) => write!(f, "denied: {m}"),
            Error::TimedOut(m) => write!(f, "timed out: {m}"),
            Error::TooLarge(m) => write!(f, "too large: {m}"),
            Error::NotFound(m) => write!(f, "not found: {m}"),
            Error::Unsupported(m) => write!(f, "unsupported: {m}"),
            Error::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<CapabilityError> for Error {
    fn from(e: CapabilityError) -> Self {
        match e {
            CapabilityError::Denied(m) => Error::Denied(m),
            CapabilityError::TimedOut(m) => Error::TimedOut(m),
            CapabilityError::TooLarge(m) => Error::TooLarge(m),
            CapabilityError::NotFound(m) => Error::NotFound(m),
            CapabilityError::Unsupported(m) => Error::Unsupported(m),
            CapabilityError::Failed(m) => Error::Failed(m),
        }
    }
}
