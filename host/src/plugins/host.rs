//! The host side of the `environment` imports, for one plugin call.
//!
//! Every call passes the lab's grants (an ungranted capability answers
//! `denied`), counts against the call's capability-call and capability-byte
//! limits (a breach traps, naming the limit), and is bounded by its own
//! timeout, since epoch interruption cannot stop time spent in host code.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::{
    bindings::{environment, types as wit},
    limits::{CallLimiter, Limit, LimitExceeded, Limits},
    output::PluginOutput,
};
use crate::capabilities::{self as caps, Capability, CapabilityError, Environment, Grants};

/// Default cap on each output stream of a command when the plugin names none.
const DEFAULT_COMMAND_OUTPUT: u32 = 1 << 20;

/// Everything a plugin call's store holds.
pub(crate) struct CallState {
    pub wasi: WasiCtx,
    pub table: ResourceTable,
    pub limiter: CallLimiter,
    pub gate: Gate,
    pub output: PluginOutput,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Grants, counts and bounds the capability calls of one plugin call.
pub(crate) struct Gate {
    env: Arc<dyn Environment>,
    grants: Grants,
    limits: Limits,
    deadline: Instant,
    pub calls: u32,
    bytes: u64,
    /// Containers started and not yet stopped: stopped when the call ends.
    containers: Vec<String>,
    /// The first limit broken in host code; kept because a trap's error may
    /// reach the host wrapped in wasmtime's context.
    pub breach: Option<LimitExceeded>,
}

impl Gate {
    pub fn new(env: Arc<dyn Environment>, grants: Grants, limits: Limits) -> Gate {
        Gate {
            env,
            grants,
            deadline: Instant::now() + limits.wall_time,
            limits,
            calls: 0,
            bytes: 0,
            containers: Vec::new(),
            breach: None,
        }
    }

    fn trip(&mut self, breach: LimitExceeded) -> wasmtime::Error {
        self.breach.get_or_insert_with(|| breach.clone());
        breach.into()
    }

    /// Counts `n` capability calls.
    fn count(&mut self, n: usize) -> wasmtime::Result<()> {
        self.calls = self.calls.saturating_add(n as u32);
        if self.calls > self.limits.capability_calls {
            let detail = format!("{} capability calls; the cap is {}", self.calls, self.limits.capability_calls);
            return Err(self.trip(LimitExceeded::new(Limit::CapabilityCalls, detail)));
        }
        Ok(())
    }

    /// Counts bytes handed to the plugin.
    fn receive(&mut self, n: usize) -> wasmtime::Result<()> {
        self.bytes = self.bytes.saturating_add(n as u64);
        if self.bytes > self.limits.capability_bytes {
            let detail = format!(
                "capability answers reached {} bytes; the cap is {}",
                self.bytes, self.limits.capability_bytes
            );
            return Err(self.trip(LimitExceeded::new(Limit::CapabilityBytes, detail)));
        }
        Ok(())
    }

    /// The time a capability call may take: what the plugin asked for (or
    /// the default), never past the call's own deadline.
    fn timeout(&self, asked: Option<Duration>) -> Duration {
        let left = self.deadline.saturating_duration_since(Instant::now());
        asked.unwrap_or(self.limits.capability_timeout).min(left)
    }

    /// Bytes the plugin may still receive, as a cap for one answer.
    fn bytes_left(&self) -> u32 {
        self.limits.capability_bytes.saturating_sub(self.bytes).min(u32::MAX as u64) as u32
    }

    /// Runs `f` against the environment if `cap` is granted, within `timeout`.
    async fn call<T, F>(&self, cap: Capability, timeout: Duration, f: F) -> Result<T, CapabilityError>
    where
        F: Future<Output = Result<T, CapabilityError>>,
    {
        self.grants.require(cap)?;
        // A little grace so the environment's own timeout, which knows what
        // it was doing, usually answers first.
        match tokio::time::timeout(timeout + Duration::from_millis(250), f).await {
            Ok(result) => result,
            Err(_) => Err(CapabilityError::TimedOut(format!(
                "{cap} took longer than {} ms",
                timeout.as_millis()
            ))),
        }
    }

    /// Runs a granted call and hands its answer to the guest, counting the
    /// answer's `size` against the bytes the plugin may receive.
    async fn answer<T, W: From<T>>(
        &mut self,
        cap: Capability,
        timeout: Duration,
        call: impl Future<Output = Result<T, CapabilityError>>,
        size: impl FnOnce(&T) -> usize,
    ) -> wasmtime::Result<Result<W, wit::CapabilityError>> {
        let result = self.call(cap, timeout, call).await;
        if let Ok(answer) = &result {
            self.receive(size(answer))?;
        }
        Ok(result.map(W::from).map_err(Into::into))
    }

    fn prepare_command(&self, c: wit::Command) -> caps::Command {
        let mut cmd = caps::Command::from(c);
        cmd.timeout = Some(self.timeout(cmd.timeout));
        cmd.max_output_bytes = Some(
            cmd.max_output_bytes.unwrap_or(DEFAULT_COMMAND_OUTPUT).min(self.bytes_left()),
        );
        cmd
    }

    /// Stops the containers the plugin left running. Called when the plugin
    /// call ends, however it ended.
    pub async fn stop_leftovers(&mut self) {
        for handle in std::mem::take(&mut self.containers) {
            if let Err(e) = self.env.stop_container(&handle).await {
                tracing::warn!(%handle, error = %e, "could not stop a container a plugin left running");
            }
        }
    }
}

fn output_bytes(o: &caps::CommandOutput) -> usize {
    o.stdout.0.len() + o.stderr.0.len()
}

impl wit::Host for CallState {}

impl environment::Host for CallState {
    async fn run(
        &mut self,
        cmd: wit::Command,
    ) -> wasmtime::Result<Result<wit::CommandOutput, wit::CapabilityError>> {
        self.gate.count(1)?;
        let cmd = self.gate.prepare_command(cmd);
        let timeout = cmd.timeout.unwrap_or_default();
        let env = self.gate.env.clone();
        self.gate.answer(Capability::Exec, timeout, env.exec(&cmd), output_bytes).await
    }

    async fn run_all(
        &mut self,
        cmds: Vec<wit::Command>,
    ) -> wasmtime::Result<Vec<Result<wit::CommandOutput, wit::CapabilityError>>> {
        self.gate.count(cmds.len())?;
        let cmds: Vec<caps::Command> = cmds.into_iter().map(|c| self.gate.prepare_command(c)).collect();
        let env = self.gate.env.clone();
        let timeout = cmds.iter().filter_map(|c| c.timeout).max().unwrap_or_default();
        let results = match self.gate.call(Capability::Exec, timeout, async { Ok(env.exec_all(&cmds).await) }).await {
            Ok(results) => results,
            // Denied or out of time: the same answer for every command.
            Err(e) => cmds.iter().map(|_| Err(e.clone())).collect(),
        };
        let received: usize = results.iter().flatten().map(output_bytes).sum();
        self.gate.receive(received)?;
        Ok(results.into_iter().map(|r| r.map(Into::into).map_err(Into::into)).collect())
    }

    async fn read_file(
        &mut self,
        machine: String,
        path: String,
        max_bytes: u32,
    ) -> wasmtime::Result<Result<wit::FileContent, wit::CapabilityError>> {
        self.gate.count(1)?;
        let req = caps::ReadFile { machine, path, max_bytes: max_bytes.min(self.gate.bytes_left()) };
        let env = self.gate.env.clone();
        let timeout = self.gate.timeout(None);
        self.gate.answer(Capability::ReadFile, timeout, env.read_file(&req), |f| f.data.0.len()).await
    }

    async fn build_image(
        &mut self,
        req: wit::BuildRequest,
    ) -> wasmtime::Result<Result<wit::BuildReport, wit::CapabilityError>> {
        self.gate.count(1)?;
        let mut req = caps::BuildRequest::from(req);
        let timeout = self.gate.timeout(req.timeout);
        req.timeout = Some(timeout);
        let env = self.gate.env.clone();
        self.gate.answer(Capability::BuildImage, timeout, env.build_image(&req), |r| r.log.len()).await
    }

    async fn run_image(
        &mut self,
        req: wit::RunRequest,
    ) -> wasmtime::Result<Result<wit::Container, wit::CapabilityError>> {
        self.gate.count(1)?;
        let req = caps::RunRequest::from(req);
        let env = self.gate.env.clone();
        let timeout = self.gate.timeout(None);
        let result = self.gate.call(Capability::RunImage, timeout, env.run_image(&req)).await;
        if let Ok(container) = &result {
            self.gate.containers.push(container.handle.clone());
        }
        Ok(result.map(Into::into).map_err(Into::into))
    }

    async fn http_get(
        &mut self,
        req: wit::HttpRequest,
    ) -> wasmtime::Result<Result<wit::HttpResponse, wit::CapabilityError>> {
        self.gate.count(1)?;
        let mut req = caps::HttpRequest::from(req);
        let timeout = self.gate.timeout(req.timeout);
        req.timeout = Some(timeout);
        if let Err(e) = self.gate.grants.require(Capability::RunImage) {
            return Ok(Err(e.into()));
        }
        if !self.gate.containers.contains(&req.container) {
            return Ok(Err(not_started(&req.container).into()));
        }
        let env = self.gate.env.clone();
        self.gate.answer(Capability::RunImage, timeout, env.http_get(&req), |r| r.body.0.len()).await
    }

    async fn stop_container(
        &mut self,
        handle: String,
    ) -> wasmtime::Result<Result<(), wit::CapabilityError>> {
        self.gate.count(1)?;
        if let Err(e) = self.gate.grants.require(Capability::RunImage) {
            return Ok(Err(e.into()));
        }
        if !self.gate.containers.contains(&handle) {
            return Ok(Err(not_started(&handle).into()));
        }
        let env = self.gate.env.clone();
        let timeout = self.gate.timeout(None);
        let result = self.gate.call(Capability::RunImage, timeout, env.stop_container(&handle)).await;
        if result.is_ok() {
            self.gate.containers.retain(|h| h != &handle);
        }
        Ok(result.map_err(Into::into))
    }

    async fn log(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        let level = match level {
            wit::LogLevel::Debug => "debug",
            wit::LogLevel::Info => "info",
            wit::LogLevel::Warn => "warn",
            wit::LogLevel::Error => "error",
        };
        tracing::debug!(target: "proctor::plugin", level, %message, "plugin log");
        if let Err(breach) = self.output.log(format!("{level}: {message}")) {
            return Err(self.gate.trip(breach));
        }
        Ok(())
    }
}

fn not_started(handle: &str) -> CapabilityError {
    CapabilityError::NotFound(format!("no container `{handle}` was started by this plugin call"))
}

// Conversions between the guest's records and the host's capability types.

impl From<wit::Command> for caps::Command {
    fn from(c: wit::Command) -> Self {
        caps::Command {
            machine: c.machine,
            argv: c.argv,
            stdin: c.stdin.map(caps::Bytes),
            env: c.env,
            workdir: c.workdir,
            timeout: c.timeout_ms.map(|ms| Duration::from_millis(ms.into())),
            max_output_bytes: c.max_output_bytes,
        }
    }
}

impl From<caps::CommandOutput> for wit::CommandOutput {
    fn from(o: caps::CommandOutput) -> Self {
        wit::CommandOutput {
            exit_code: o.exit_code,
            stdout: o.stdout.0,
            stderr: o.stderr.0,
            stdout_truncated: o.stdout_truncated,
            stderr_truncated: o.stderr_truncated,
            duration_ms: o.duration_ms,
        }
    }
}

impl From<caps::FileContent> for wit::FileContent {
    fn from(f: caps::FileContent) -> Self {
        wit::FileContent { data: f.data.0, size: f.size, truncated: f.truncated }
    }
}

impl From<wit::BuildRequest> for caps::BuildRequest {
    fn from(b: wit::BuildRequest) -> Self {
        caps::BuildRequest {
            machine: b.machine,
            context_dir: b.context_dir,
            dockerfile: b.dockerfile,
            build_args: b.build_args,
            timeout: b.timeout_ms.map(|ms| Duration::from_millis(ms.into())),
        }
    }
}

impl From<caps::BuildReport> for wit::BuildReport {
    fn from(b: caps::BuildReport) -> Self {
        wit::BuildReport {
            image: b.image,
            size_bytes: b.size_bytes,
            duration_ms: b.duration_ms,
            log: b.log,
            log_truncated: b.log_truncated,
            error: b.error,
        }
    }
}

impl From<wit::RunRequest> for caps::RunRequest {
    fn from(r: wit::RunRequest) -> Self {
        caps::RunRequest { image: r.image, ports: r.ports, env: r.env, command: r.command }
    }
}

impl From<caps::Container> for wit::Container {
    fn from(c: caps::Container) -> Self {
        wit::Container { handle: c.handle, address: c.address }
    }
}

impl From<wit::HttpRequest> for caps::HttpRequest {
    fn from(h: wit::HttpRequest) -> Self {
        caps::HttpRequest {
            container: h.container,
            port: h.port,
            path: h.path,
            timeout: h.timeout_ms.map(|ms| Duration::from_millis(ms.into())),
        }
    }
}

impl From<caps::HttpResponse> for wit::HttpResponse {
    fn from(h: caps::HttpResponse) -> Self {
        wit::HttpResponse { status: h.status, body: h.body.0, truncated: h.truncated }
    }
}

impl From<CapabilityError> for wit::CapabilityError {
    fn from(e: CapabilityError) -> Self {
        match e {
            CapabilityError::Denied(m) => wit::CapabilityError::Denied(m),
            CapabilityError::TimedOut(m) => wit::CapabilityError::TimedOut(m),
            CapabilityError::TooLarge(m) => wit::CapabilityError::TooLarge(m),
            CapabilityError::NotFound(m) => wit::CapabilityError::NotFound(m),
            CapabilityError::Unsupported(m) => wit::CapabilityError::Unsupported(m),
            CapabilityError::Failed(m) => wit::CapabilityError::Failed(m),
        }
    }
}
