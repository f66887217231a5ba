//! The runtime a server runs with when its engine could not be reached at
//! start-up: every call fails with the reason, so the server still serves
//! (health, catalog, readiness saying what is wrong) instead of exiting.

use async_trait::async_trait;

use super::{EnvironmentSpec, OwnedEnvironment, Runtime, RuntimeError, Terminal, TerminalSize};
use crate::capabilities::{
    BuildReport, BuildRequest, Command, CommandOutput, Container, FileContent, HttpRequest, HttpResponse, RunRequest,
};

/// A runtime that cannot run anything, and says why.
#[derive(Clone, Debug)]
pub struct Unavailable {
    reason: String,
}

impl Unavailable {
    /// A runtime failing every call with why connecting failed.
    pub fn new(failed: &RuntimeError) -> Unavailable {
        let reason = match failed {
            RuntimeError::Unreachable(why) => why.clone(),
            other => other.to_string(),
        };
        Unavailable { reason }
    }

    fn error(&self) -> RuntimeError {
        RuntimeError::Unreachable(format!("{} (restart the server once it answers)", self.reason))
    }
}

#[async_trait]
impl Runtime for Unavailable {
    async fn create(&self, _spec: &EnvironmentSpec) -> Result<(), RuntimeError> {
        Err(self.error())
    }

    async fn exec(&self, _session: &str, _cmd: &Command) -> Result<CommandOutput, RuntimeError> {
        Err(self.error())
    }

    async fn read_file(&self, _session: &str, _machine: &str, _path: &str, _max: u32) -> Result<FileContent, RuntimeError> {
        Err(self.error())
    }

    async fn write_file(&self, _session: &str, _machine: &str, _path: &str, _data: &[u8], _mode: u32) -> Result<(), RuntimeError> {
        Err(self.error())
    }

    async fn destroy(&self, _session: &str) -> Result<(), RuntimeError> {
        Err(self.error())
    }

    async fn list_owned(&self) -> Result<Vec<OwnedEnvironment>, RuntimeError> {
        Err(self.error())
    }

    async fn open_terminal(&self, _session: &str, _machine: &str, _size: TerminalSize) -> Result<Terminal, RuntimeError> {
        Err(self.error())
    }

    async fn build_image(&self, _session: &str, _req: &BuildRequest) -> Result<BuildReport, RuntimeError> {
        Err(self.error())
    }

    async fn run_image(&self, _session: &str, _req: &RunRequest) -> Result<Container, RuntimeError> {
        Err(self.error())
    }

    async fn http_get(&self, _session: &str, _req: &HttpRequest) -> Result<HttpResponse, RuntimeError> {
        Err(self.error())
    }

    async fn stop_container(&self, _session: &str, _handle: &str) -> Result<(), RuntimeError> {
        Err(self.error())
    }

    async fn archive_dir(&self, _session: &str, _machine: &str, _path: &str, _max: u64) -> Result<Vec<u8>, RuntimeError> {
        Err(self.error())
    }

    async fn restore_dir(&self, _session: &str, _machine: &str, _path: &str, _tar: &[u8]) -> Result<(), RuntimeError> {
        Err(self.error())
    }
}
