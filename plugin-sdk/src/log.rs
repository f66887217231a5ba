//! Lines for the grading log, which lab authors and admins read.

use crate::bindings::{environment, types::LogLevel};

/// Logs detail useful while writing the plugin.
pub fn debug(message: &str) {
    environment::log(LogLevel::Debug, message);
}

/// Logs normal progress.
pub fn info(message: &str) {
    environment::log(LogLevel::Info, message);
}

/// Logs something the lab author should look at.
pub fn warn(message: &str) {
    environment::log(LogLevel::Warn, message);
}

/// Logs something that went wrong.
pub fn error(message: &str) {
    environment::log(LogLevel::Error, message);
}
