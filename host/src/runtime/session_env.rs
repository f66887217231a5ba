//! A session's environment as plugins see it: capability calls answered by
//! the session's runtime.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Runtime, RuntimeError};
use crate::capabilities::{
    BuildReport, BuildRequest, CapabilityError, Command, CommandOutput, Container, Environment, FileContent,
    HttpRequest, HttpResponse, ReadFile, RunRequest,
};

/// The capabilities of one session, served by its runtime.
pub struct SessionEnvironment {
    runtime: Arc<dyn Runtime>,
    session: String,
}

impl SessionEnvironment {
    /// The environment of `session` on `runtime`.
    pub fn new(runtime: Arc<dyn Runtime>, session: impl Into<String>) -> Self {
        SessionEnvironment { runtime, session: session.into() }
    }
}

impl From<RuntimeError> for CapabilityError {
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::NotFound(m) => CapabilityError::NotFound(m),
            RuntimeError::TimedOut(ms) => CapabilityError::TimedOut(format!("after {ms} ms")),
            RuntimeError::TooLarge(m) => CapabilityError::TooLarge(m),
            other => CapabilityError::Failed(other.to_string()),
        }
    }
}

#[async_trait]
impl Environment for SessionEnvironment {
    async fn exec(&self, cmd: &Command) -> Result<CommandOutput, CapabilityError> {
        Ok(self.runtime.exec(&self.session, cmd).await?)
    }

    async fn exec_all(&self, cmds: &[Command]) -> Vec<Result<CommandOutput, CapabilityError>> {
        let results = self.runtime.exec_batch(&self.session, cmds).await;
        results.into_iter().map(|r| r.map_err(CapabilityError::from)).collect()
    }

    async fn read_file(&self, req: &ReadFile) -> Result<FileContent, CapabilityError> {
        Ok(self.runtime.read_file(&self.session, &req.machine, &req.path, req.max_bytes).await?)
    }

    async fn build_image(&self, req: &BuildRequest) -> Result<BuildReport, CapabilityError> {
        Ok(self.runtime.build_image(&self.session, req).await?)
    }

    async fn run_image(&self, req: &RunRequest) -> Result<Container, CapabilityError> {
        Ok(self.runtime.run_image(&self.session, req).await?)
    }

    async fn http_get(&self, req: &HttpRequest) -> Result<HttpResponse, CapabilityError> {
        Ok(self.runtime.http_get(&self.session, req).await?)
    }

    async fn stop_container(&self, handle: &str) -> Result<(), CapabilityError> {
        Ok(self.runtime.stop_container(&self.session, handle).await?)
    }
}
