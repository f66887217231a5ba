//! Commands on machines: one exec each, or a batch as one exec; bounded in
//! time and output, and stopped with everything they started when they run
//! out of time.

use std::time::{Duration, Instant};

use bollard::{exec::StartExecResults, models::ExecConfig};
use futures::StreamExt;

use super::{DockerRuntime, engine_error, machine_container};
use crate::{
    capabilities::{Command, CommandOutput},
    runtime::{
        RuntimeError, batch,
        command::{DEFAULT_EXEC_TIMEOUT, DEFAULT_OUTPUT_CAP, keep},
        exec_each,
    },
};

impl DockerRuntime {
    /// Runs one command on its machine.
    pub(super) async fn exec_one(&self, session: &str, cmd: &Command) -> Result<CommandOutput, RuntimeError> {
        if cmd.argv.is_empty() {
            return Err(RuntimeError::Invalid("a command needs a program".into()));
        }
        let timeout = cmd.timeout.unwrap_or(DEFAULT_EXEC_TIMEOUT);
        self.run_exec(&machine_container(session, &cmd.machine)?, cmd, timeout).await
    }

    /// Runs commands on one machine as one exec of a generated script when
    /// they allow it, else one exec each.
    pub(super) async fn exec_as_batch(&self, session: &str, cmds: &[Command]) -> Vec<Result<CommandOutput, RuntimeError>> {
        let one_machine = cmds.windows(2).all(|w| w[0].machine == w[1].machine);
        if !one_machine || !batch::batchable(cmds) {
            return exec_each(self, session, cmds).await;
        }
        let timeout = cmds.iter().map(|c| c.timeout.unwrap_or(DEFAULT_EXEC_TIMEOUT)).max().unwrap_or(DEFAULT_EXEC_TIMEOUT);
        let framed_cap: u64 = cmds
            .iter()
            .map(|c| 2 * u64::from(c.max_output_bytes.unwrap_or(DEFAULT_OUTPUT_CAP)) + 128)
            .sum();
        let script = Command {
            machine: cmds[0].machine.clone(),
            argv: vec!["sh".into(), "-c".into(), batch::script(cmds, DEFAULT_OUTPUT_CAP)],
            max_output_bytes: Some(framed_cap.min(u32::MAX.into()) as u32),
            ..Command::default()
        };
        let container = match machine_container(session, &script.machine) {
            Ok(c) => c,
            Err(e) => return cmds.iter().map(|_| Err(e.clone())).collect(),
        };
        match self.run_exec(&container, &script, timeout).await {
            // No POSIX shell in this image: nothing ran, so one exec each.
            Ok(out) if matches!(out.exit_code, 126 | 127) && !batch::started(&out.stdout.0) => {
                exec_each(self, session, cmds).await
            }
            Ok(out) => match batch::parse(&out.stdout.0, cmds, DEFAULT_OUTPUT_CAP, out.duration_ms) {
                Some(results) => results.into_iter().map(Ok).collect(),
                // The commands ran; running them again could repeat their effects.
                None => {
                    let why = format!(
                        "the batch's output could not be read (exit {}): {}",
                        out.exit_code,
                        String::from_utf8_lossy(&out.stderr.0)
                    );
                    cmds.iter().map(|_| Err(RuntimeError::Engine(why.clone()))).collect()
                }
            },
            Err(e) => cmds.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    /// Runs `cmd` and collects its output, within `timeout`.
    pub(super) async fn run_exec(&self, container: &str, cmd: &Command, timeout: Duration) -> Result<CommandOutput, RuntimeError> {
        let started = Instant::now();
        let config = ExecConfig {
            cmd: Some(cmd.argv.clone()),
            env: Some(cmd.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            working_dir: cmd.workdir.clone(),
            attach_stdin: Some(cmd.stdin.is_some()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = self.docker.create_exec(container, config).await.map_err(|e| engine_error("create exec", e))?;
        let StartExecResults::Attached { mut output, mut input } =
            self.docker.start_exec(&exec.id, None).await.map_err(|e| engine_error("start exec", e))?
        else {
            return Err(RuntimeError::Engine("the exec did not attach".into()));
        };
        if let Some(stdin) = &cmd.stdin {
            use tokio::io::AsyncWriteExt;
            input.write_all(&stdin.0).await.map_err(|e| RuntimeError::Unreachable(format!("write stdin: {e}")))?;
            input.shutdown().await.ok();
        }
        drop(input);
        let cap = cmd.max_output_bytes.unwrap_or(DEFAULT_OUTPUT_CAP) as usize;
        let mut out = CommandOutput::default();
        let collect = async {
            while let Some(chunk) = output.next().await {
                let (buf, truncated, bytes) = match chunk.map_err(|e| engine_error("read exec output", e))? {
                    bollard::container::LogOutput::StdOut { message } => (&mut out.stdout, &mut out.stdout_truncated, message),
                    bollard::container::LogOutput::StdErr { message } => (&mut out.stderr, &mut out.stderr_truncated, message),
                    _ => continue,
                };
                *truncated |= keep(&mut buf.0, &bytes, cap);
            }
            Ok::<(), RuntimeError>(())
        };
        match tokio::time::timeout(timeout, collect).await {
            Ok(result) => result?,
            Err(_) => {
                self.kill_exec(&exec.id).await;
                return Err(RuntimeError::TimedOut(timeout.as_millis()));
            }
        }
        let inspect = self.docker.inspect_exec(&exec.id).await.map_err(|e| engine_error("inspect exec", e))?;
        out.exit_code = inspect.exit_code.unwrap_or(-1) as i32;
        out.duration_ms = started.elapsed().as_millis().min(u32::MAX as u128) as u32;
        Ok(out)
    }

    /// Stops a command that ran out of time, with every process it started.
    /// The engine has no call for it, so the processes are signalled by their
    /// host PIDs; where the server does not share the engine's PID namespace
    /// they end with their machine instead.
    pub(super) async fn kill_exec(&self, exec_id: &str) {
        let Ok(inspect) = self.docker.inspect_exec(exec_id).await else { return };
        let Some(root) = inspect.pid.filter(|p| *p > 0) else { return };
        for pid in process_tree(root as i32) {
            if let Some(pid) = rustix::process::Pid::from_raw(pid)
                && let Err(e) = rustix::process::kill_process(pid, rustix::process::Signal::KILL)
            {
                tracing::debug!(pid = pid.as_raw_nonzero().get(), error = %e, "could not stop a timed-out process");
            }
        }
    }
}

/// `root` and all its descendants, parents first, read from `/proc`.
fn process_tree(root: i32) -> Vec<i32> {
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() && tree.len() < 10_000 {
        let pid = tree[i];
        let children = std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
            .flat_map(|list| list.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<i32>>());
        tree.extend(children);
        i += 1;
    }
    tree
}
