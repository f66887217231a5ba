//! Runtimes: where learners' environments live.
//!
//! A [`Runtime`] creates an environment (one or more machines on a private
//! network) for a session, runs commands in it, reads and writes its files,
//! destroys it, and lists what it owns by label so the server can reconcile
//! after a restart. Docker is the single-machine runtime.
//!
//! Not yet here (issue 3 continues): interactive terminals, building and
//! running images from a machine's files, building machine images from a
//! lab's Dockerfile.

pub mod batch;
pub mod docker;
pub mod session_env;
pub mod subnets;
pub mod unavailable;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::capabilities::{Command, CommandOutput, FileContent};

/// Labels every runtime object carries.
pub mod labels {
    /// Marks objects this server manages.
    pub const MANAGED: &str = "dev.proctor.managed";
    /// The session an object belongs to.
    pub const SESSION: &str = "dev.proctor.session";
    /// The lab the session runs.
    pub const LAB: &str = "dev.proctor.lab";
    /// The learner who owns the session.
    pub const OWNER: &str = "dev.proctor.owner";
    /// The machine's name within the session.
    pub const MACHINE: &str = "dev.proctor.machine";
}

/// Resource limits of one machine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Resources {
    /// Memory, in bytes.
    pub memory_bytes: u64,
    /// CPUs (fractions allowed).
    pub cpus: f64,
    /// Processes and threads.
    pub pids: u32,
}

impl Default for Resources {
    fn default() -> Self {
        Resources { memory_bytes: 512 << 20, cpus: 1.0, pids: 256 }
    }
}

/// One machine of an environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MachineSpec {
    /// Name, unique within the session; also its host name on the network.
    pub name: String,
    /// Image reference.
    pub image: String,
    /// Limits.
    pub resources: Resources,
    /// Working directory of commands.
    pub workdir: String,
}

/// What to create for a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentSpec {
    /// Session id (letters, digits and `-`).
    pub session: String,
    /// Lab id.
    pub lab: String,
    /// The learner.
    pub owner: String,
    /// The machines; the first is the default.
    pub machines: Vec<MachineSpec>,
}

/// An environment found by label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedEnvironment {
    /// Session id.
    pub session: String,
    /// Lab id.
    pub lab: String,
    /// The learner.
    pub owner: String,
    /// Names of its machines.
    pub machines: Vec<String>,
}

/// Why a runtime operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuntimeError {
    /// The engine cannot be reached, or went away during the call.
    #[error("the container engine is unreachable: {0}")]
    Unreachable(String),
    /// The session, machine or file does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The image is not on the engine and could not be pulled.
    #[error("image {image} is not available: {reason}")]
    ImageMissing {
        /// The image.
        image: String,
        /// Why it could not be had.
        reason: String,
    },
    /// The operation ran out of time.
    #[error("timed out after {0} ms")]
    TimedOut(u128),
    /// A path was refused.
    #[error("invalid path {0:?}: paths must be absolute and free of `..`")]
    InvalidPath(String),
    /// The request was refused as invalid.
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The engine refused or failed the operation.
    #[error("the container engine failed: {0}")]
    Engine(String),
}

/// Where sessions' environments live.
#[async_trait]
pub trait Runtime: Send + Sync {
    /// Creates and starts the environment of a session.
    async fn create(&self, spec: &EnvironmentSpec) -> Result<(), RuntimeError>;

    /// Runs a command to completion, with its timeout and output caps.
    async fn exec(&self, session: &str, cmd: &Command) -> Result<CommandOutput, RuntimeError>;

    /// Runs several commands, concurrently where the runtime can, and
    /// returns their results in order. A runtime whose round trips are dear
    /// runs them as one batch (see [`batch`]).
    async fn exec_batch(&self, session: &str, cmds: &[Command]) -> Vec<Result<CommandOutput, RuntimeError>> {
        exec_each(self, session, cmds).await
    }

    /// Reads at most `max_bytes` of a file.
    async fn read_file(&self, session: &str, machine: &str, path: &str, max_bytes: u32) -> Result<FileContent, RuntimeError>;

    /// Writes a file (creating or replacing it) with the given mode.
    async fn write_file(&self, session: &str, machine: &str, path: &str, data: &[u8], mode: u32) -> Result<(), RuntimeError>;

    /// A tar of the contents of directory `path`, refused when larger than
    /// `max_bytes`.
    async fn archive_dir(&self, session: &str, machine: &str, path: &str, max_bytes: u64) -> Result<Vec<u8>, RuntimeError> {
        let _ = (session, machine, path, max_bytes);
        Err(RuntimeError::Invalid("this runtime cannot archive directories".into()))
    }

    /// Unpacks a tar made by [`Runtime::archive_dir`] into directory `path`.
    async fn restore_dir(&self, session: &str, machine: &str, path: &str, tar: &[u8]) -> Result<(), RuntimeError> {
        let _ = (session, machine, path, tar);
        Err(RuntimeError::Invalid("this runtime cannot restore directories".into()))
    }

    /// Removes everything of a session. Removing what is already gone succeeds.
    async fn destroy(&self, session: &str) -> Result<(), RuntimeError>;

    /// The environments this runtime's engine holds for the server.
    async fn list_owned(&self) -> Result<Vec<OwnedEnvironment>, RuntimeError>;
}

/// Runs `cmds` as one exec each, concurrently, results in order: what a
/// batch falls back to.
pub async fn exec_each<R: Runtime + ?Sized>(
    runtime: &R,
    session: &str,
    cmds: &[Command],
) -> Vec<Result<CommandOutput, RuntimeError>> {
    futures::future::join_all(cmds.iter().map(|c| runtime.exec(session, c))).await
}

/// Checks that a path is absolute and has no `..` component.
pub fn checked_path(path: &str) -> Result<&str, RuntimeError> {
    let p = std::path::Path::new(path);
    if !p.is_absolute() || p.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(RuntimeError::InvalidPath(path.to_owned()));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_paths_without_parent_steps_pass() {
        assert!(checked_path("/workspace/a.txt").is_ok());
        assert!(checked_path("workspace/a.txt").is_err());
        assert!(checked_path("/workspace/../etc/shadow").is_err());
    }
}
