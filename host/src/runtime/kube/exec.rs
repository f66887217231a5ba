//! Commands and terminals on pod machines, through the API server's exec
//! subresource: a WebSocket speaking the channel protocol (stdin, stdout,
//! stderr, the exit status, terminal resizes).

use std::{pin::Pin, sync::Arc};

use futures::{SinkExt, StreamExt};
use k8s_openapi::{api::core::v1::Pod, apimachinery::pkg::apis::meta::v1::Status};
use kube::api::{Api, AttachParams, AttachedProcess, TerminalSize as KubeSize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::{api_error, manifests::MACHINE_CONTAINER};
use crate::{
    capabilities::{Command, CommandOutput},
    runtime::{
        RuntimeError, Terminal, TerminalResizer, TerminalSize,
        command::{DEFAULT_EXEC_TIMEOUT, DEFAULT_OUTPUT_CAP, keep, shell_line, within},
    },
};

/// A container machine: a pod of the session's namespace.
#[derive(Clone)]
pub struct PodMachine {
    /// The namespace's pods.
    pub pods: Api<Pod>,
    /// The pod (the machine's name).
    pub name: String,
}

/// The exec subresource runs a program, not a shell line: the working
/// directory and environment are set by a small `sh` wrapper when asked for.
fn argv(cmd: &Command) -> Vec<String> {
    if cmd.workdir.is_none() && cmd.env.is_empty() {
        return cmd.argv.clone();
    }
    vec!["sh".to_owned(), "-c".to_owned(), shell_line(cmd)]
}

/// The exit code a finished exec's status carries: `Success` is 0, a
/// `NonZeroExitCode` failure names the code among its causes.
pub fn exit_code(status: Option<&Status>) -> Result<i32, RuntimeError> {
    let Some(status) = status else { return Err(RuntimeError::Engine("the exec ended without an exit status".into())) };
    if status.status.as_deref() == Some("Success") {
        return Ok(0);
    }
    let code = status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .and_then(|causes| causes.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
        .and_then(|c| c.message.as_deref()?.parse().ok());
    match (status.reason.as_deref(), code) {
        (Some("NonZeroExitCode"), Some(code)) => Ok(code),
        _ => Err(RuntimeError::Engine(format!("the exec failed: {}", status.message.as_deref().unwrap_or("no reason given")))),
    }
}

/// Reads `from` to its end, keeping at most `cap` bytes.
async fn capped(mut from: impl AsyncRead + Unpin, cap: usize) -> std::io::Result<(Vec<u8>, bool)> {
    let (mut kept, mut truncated, mut buf) = (Vec::new(), false, vec![0u8; 16 * 1024]);
    loop {
        let n = from.read(&mut buf).await?;
        if n == 0 {
            return Ok((kept, truncated));
        }
        truncated |= keep(&mut kept, &buf[..n], cap);
    }
}

impl PodMachine {
    async fn attach(&self, argv: Vec<String>, params: &AttachParams) -> Result<AttachedProcess, RuntimeError> {
        self.pods.exec(&self.name, argv, params).await.map_err(|e| api_error(&format!("exec in machine {}", self.name), e))
    }

    /// Runs a command to completion within its timeout and output caps.
    pub async fn exec(&self, cmd: &Command) -> Result<CommandOutput, RuntimeError> {
        if cmd.argv.is_empty() {
            return Err(RuntimeError::Invalid("a command needs a program".into()));
        }
        let timeout = cmd.timeout.unwrap_or(DEFAULT_EXEC_TIMEOUT);
        let params = AttachParams::default().container(MACHINE_CONTAINER).stdin(cmd.stdin.is_some()).stdout(true).stderr(true);
        let mut process = self.attach(argv(cmd), &params).await?;
        let cap = cmd.max_output_bytes.unwrap_or(DEFAULT_OUTPUT_CAP) as usize;
        let (stdout, stderr) = (process.stdout().expect("stdout was asked for"), process.stderr().expect("stderr was asked for"));
        let status = process.take_status().expect("the status is taken once");
        let stdin = process.stdin();
        let input = cmd.stdin.clone();
        let run = async move {
            let feed = async move {
                if let (Some(mut writer), Some(data)) = (stdin, input) {
                    writer.write_all(&data.0).await.map_err(|e| RuntimeError::Unreachable(format!("write stdin: {e}")))?;
                    // Closing stdin is the program's end of input.
                    writer.shutdown().await.ok();
                }
                Ok::<(), RuntimeError>(())
            };
            let (fed, out, err, status) = tokio::join!(feed, capped(stdout, cap), capped(stderr, cap), status);
            fed?;
            let read = |e: std::io::Error| RuntimeError::Unreachable(format!("read exec output: {e}"));
            let ((stdout, stdout_truncated), (stderr, stderr_truncated)) = (out.map_err(read)?, err.map_err(read)?);
            Ok::<_, RuntimeError>(CommandOutput {
                exit_code: exit_code(status.as_ref())?,
                stdout: stdout.into(),
                stderr: stderr.into(),
                stdout_truncated,
                stderr_truncated,
                duration_ms: 0,
            })
        };
        match within(timeout, run).await {
            Some(done) => done,
            // The API server has no call to stop an exec: closing the stream
            // hangs up on the program, which ends with its machine otherwise.
            None => {
                process.abort();
                Err(RuntimeError::TimedOut(timeout.as_millis()))
            }
        }
    }

    /// Opens an interactive shell with a terminal of `size`.
    pub async fn terminal(&self, size: TerminalSize) -> Result<Terminal, RuntimeError> {
        let params = AttachParams::interactive_tty().container(MACHINE_CONTAINER);
        let shell = r#"if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh -l; fi"#;
        let mut process = self.attach(vec!["sh".into(), "-c".into(), shell.into()], &params).await?;
        let input = process.stdin().ok_or_else(|| RuntimeError::Engine("the terminal has no input".into()))?;
        let output = process.stdout().ok_or_else(|| RuntimeError::Engine("the terminal has no output".into()))?;
        let sizes = process.terminal_size().ok_or_else(|| RuntimeError::Engine("the terminal cannot be resized".into()))?;
        let resizer = Arc::new(PodTerminal { sizes: tokio::sync::Mutex::new(sizes), process: tokio::sync::Mutex::new(Some(process)) });
        resizer.resize(size).await?;
        let output = tokio_util::io::ReaderStream::new(output).map(|chunk| chunk.map_err(|e| RuntimeError::Unreachable(format!("terminal output: {e}"))));
        Ok(Terminal { input: Box::pin(input) as Pin<Box<dyn tokio::io::AsyncWrite + Send>>, output: output.boxed(), resizer })
    }
}

/// A pod terminal's control side.
struct PodTerminal {
    sizes: tokio::sync::Mutex<futures::channel::mpsc::Sender<KubeSize>>,
    process: tokio::sync::Mutex<Option<AttachedProcess>>,
}

#[async_trait::async_trait]
impl TerminalResizer for PodTerminal {
    async fn resize(&self, size: TerminalSize) -> Result<(), RuntimeError> {
        self.sizes.lock().await.send(KubeSize { width: size.cols, height: size.rows }).await.map_err(|_| RuntimeError::NotFound("the terminal ended".into()))
    }

    async fn terminate(&self) -> Result<(), RuntimeError> {
        if let Some(process) = self.process.lock().await.take() {
            process.abort();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{StatusCause, StatusDetails};

    #[test]
    fn the_exit_code_comes_from_the_status_and_the_wrapper_keeps_arguments_apart() {
        assert_eq!(exit_code(Some(&Status { status: Some("Success".into()), ..Default::default() })).unwrap(), 0);
        let failed = Status {
            status: Some("Failure".into()),
            reason: Some("NonZeroExitCode".into()),
            details: Some(StatusDetails { causes: Some(vec![StatusCause { reason: Some("ExitCode".into()), message: Some("3".into()), ..Default::default() }]), ..Default::default() }),
            ..Default::default()
        };
        assert_eq!(exit_code(Some(&failed)).unwrap(), 3);
        let broken = Status { status: Some("Failure".into()), message: Some("container not found".into()), ..Default::default() };
        assert!(exit_code(Some(&broken)).unwrap_err().to_string().contains("container not found"));
        assert!(exit_code(None).is_err());

        let plain = Command { argv: vec!["ls".into()], ..Command::default() };
        assert_eq!(argv(&plain), ["ls"]);
        let placed = Command { argv: vec!["echo".into(), "$HOME; rm".into()], workdir: Some("/w d".into()), env: vec![("A".into(), "1 2".into())], ..Command::default() };
        assert_eq!(argv(&placed), ["sh", "-c", r#"cd -- '/w d' && exec env 'A=1 2' 'echo' '$HOME; rm'"#]);
    }
}
