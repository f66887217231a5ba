//! Shared terminals that outlive their viewers.
//!
//! A learner's shell belongs to the server, not to a browser tab: the server
//! holds the runtime's [`Terminal`](crate::runtime::Terminal) open, so the
//! shell and its jobs survive a closed tab or a dropped connection. Output is
//! kept in a bounded scrollback and broadcast live; a viewer that attaches
//! (again, or as a second viewer) replays the scrollback, then follows. Only
//! [`Terminals::close`] or the shell's own exit ends a terminal.
//!
//! This module is the same for every runtime; it sees only the runtime's
//! `open_terminal`.

mod hub;
mod scrollback;

pub use hub::{Attachment, OnInput, TerminalEvent, TerminalInfo, TerminalInput, TerminalLimits, Terminals};

use crate::runtime::RuntimeError;

/// Why a terminal operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TerminalError {
    /// No such terminal in the session (it may have ended).
    #[error("no terminal `{id}` in session `{session}`")]
    NotFound {
        /// The session.
        session: String,
        /// The terminal id asked for.
        id: String,
    },
    /// The session has as many terminals as it may.
    #[error("session `{session}` already has {max} terminals open; close one first")]
    TooMany {
        /// The session.
        session: String,
        /// The cap.
        max: usize,
    },
    /// The terminal has ended; input and resizes go nowhere.
    #[error("the terminal has ended: {0}")]
    Ended(String),
    /// The runtime could not open, resize or feed the terminal.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}
