//! An interactive terminal on a machine, as a runtime hands it out: a byte
//! stream each way and a way to resize it.
//!
//! A [`Terminal`] belongs to one holder. Sharing it between viewers, keeping
//! scrollback and surviving a browser going away is the job of
//! [`crate::terminals`], which is the same for every runtime.

use std::{pin::Pin, sync::Arc};

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWrite;

use super::RuntimeError;

/// A terminal's size in character cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSize {
    /// Columns.
    pub cols: u16,
    /// Rows.
    pub rows: u16,
}

impl Default for TerminalSize {
    fn default() -> Self {
        TerminalSize { cols: 80, rows: 24 }
    }
}

/// An open interactive shell.
pub struct Terminal {
    /// What the learner types.
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
    /// What the shell prints; the stream ends when the shell exits.
    pub output: BoxStream<'static, Result<bytes::Bytes, RuntimeError>>,
    /// Resizes (and ends) the shell.
    pub resizer: Arc<dyn TerminalResizer>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal").finish_non_exhaustive()
    }
}

/// The control side of a terminal.
#[async_trait]
pub trait TerminalResizer: Send + Sync {
    /// Tells the shell its window has a new size.
    async fn resize(&self, size: TerminalSize) -> Result<(), RuntimeError>;

    /// The shell's exit code, once it has exited and the runtime knows it.
    async fn exit_code(&self) -> Option<i64> {
        None
    }

    /// Ends the shell and everything it started. Closing the streams alone
    /// need not do that: an engine may keep a detached shell running.
    async fn terminate(&self) -> Result<(), RuntimeError> {
        Ok(())
    }
}
