//! Interactive shells on machines: an exec with a TTY, its stream taken raw.
//!
//! bollard reads an attached exec's output through a decoder that guesses,
//! chunk by chunk, whether bytes are multiplexed frames; with a TTY a chunk
//! that happens to start with byte 0, 1 or 2 (a learner `cat`ing a binary)
//! is misread as a frame header and the terminal stalls while memory grows.
//! So the exec is started here with a hand-made upgrade request, and the TTY
//! stream is passed on as it is.

use std::{path::PathBuf, sync::Arc};

use async_trait::async_trait;
use bollard::{models::ExecConfig, query_parameters::ResizeExecOptions};
use futures::StreamExt;
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{DockerRuntime, engine_error, machine_container};
use crate::runtime::{RuntimeError, Terminal, TerminalResizer, TerminalSize};

/// The login shell: bash when the image has it, else sh.
const SHELL: &str = "if command -v bash >/dev/null 2>&1; then exec bash -l; else exec sh; fi";

/// Where the engine listens, for connections made without bollard.
#[derive(Clone, Debug)]
pub(super) enum Endpoint {
    /// A Unix socket.
    Unix(PathBuf),
    /// A plain TCP address, `host:port`.
    Tcp(String),
    /// Something this file cannot dial (TLS, SSH); why.
    Unsupported(String),
}

impl Endpoint {
    /// The endpoint `DOCKER_HOST` names, as bollard reads it.
    pub(super) fn from_env() -> Endpoint {
        match std::env::var("DOCKER_HOST") {
            Err(_) => Endpoint::Unix("/var/run/docker.sock".into()),
            Ok(host) => {
                if let Some(path) = host.strip_prefix("unix://") {
                    Endpoint::Unix(path.into())
                } else if let Some(addr) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://")) {
                    Endpoint::Tcp(addr.trim_end_matches('/').to_owned())
                } else {
                    Endpoint::Unsupported(format!("terminals cannot reach the engine at DOCKER_HOST={host}"))
                }
            }
        }
    }
}

fn stream_error(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Unreachable(format!("terminal stream: {e}"))
}

/// Sends the exec-start upgrade request on `io` and hands back the raw stream.
async fn upgrade<T>(io: T, request: http::Request<Full<bytes::Bytes>>) -> Result<hyper::upgrade::Upgraded, RuntimeError>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(stream_error)?;
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!(error = %e, "terminal connection ended");
        }
    });
    let response = sender.send_request(request).await.map_err(stream_error)?;
    if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        return Err(RuntimeError::Engine(format!("the engine would not start the terminal: {}", response.status())));
    }
    hyper::upgrade::on(response).await.map_err(stream_error)
}

impl DockerRuntime {
    /// Opens a login shell on a machine, in its working directory.
    pub(super) async fn open_shell(&self, session: &str, machine: &str, size: TerminalSize) -> Result<Terminal, RuntimeError> {
        let container = machine_container(session, machine)?;
        let config = ExecConfig {
            cmd: Some(vec!["sh".into(), "-c".into(), SHELL.into()]),
            env: Some(vec!["TERM=xterm-256color".into()]),
            tty: Some(true),
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = self.docker.create_exec(&container, config).await.map_err(|e| engine_error(&container, e))?;
        let raw = TokioIo::new(self.start_raw(&exec.id).await?);
        let (read, write) = tokio::io::split(raw);
        let control = Arc::new(DockerTerminal { runtime: self.clone(), exec_id: exec.id });
        control.resize(size).await?;
        let output = tokio_util::io::ReaderStream::new(read).map(|chunk| chunk.map_err(stream_error)).boxed();
        Ok(Terminal { input: Box::pin(write), output, resizer: control })
    }

    /// Starts an exec with a TTY and returns its stream, untouched.
    async fn start_raw(&self, exec_id: &str) -> Result<hyper::upgrade::Upgraded, RuntimeError> {
        let version = self.docker.client_version();
        let request = http::Request::post(format!("/v{}.{}/exec/{exec_id}/start", version.major_version, version.minor_version))
            .header(http::header::HOST, "docker")
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::CONNECTION, "Upgrade")
            .header(http::header::UPGRADE, "tcp")
            .body(Full::new(bytes::Bytes::from_static(br#"{"Detach":false,"Tty":true}"#)))
            .map_err(|e| RuntimeError::Engine(e.to_string()))?;
        match &self.endpoint {
            Endpoint::Unix(path) => upgrade(tokio::net::UnixStream::connect(path).await.map_err(stream_error)?, request).await,
            Endpoint::Tcp(addr) => upgrade(tokio::net::TcpStream::connect(addr).await.map_err(stream_error)?, request).await,
            Endpoint::Unsupported(why) => Err(RuntimeError::Unreachable(why.clone())),
        }
    }
}

/// Resizes and ends one shell through the engine.
struct DockerTerminal {
    runtime: DockerRuntime,
    exec_id: String,
}

#[async_trait]
impl TerminalResizer for DockerTerminal {
    async fn resize(&self, size: TerminalSize) -> Result<(), RuntimeError> {
        let options = ResizeExecOptions { h: size.rows.into(), w: size.cols.into() };
        self.runtime.docker.resize_exec(&self.exec_id, options).await.map_err(|e| engine_error("resize terminal", e))
    }

    async fn exit_code(&self) -> Option<i64> {
        // The engine may close the stream a moment before it records the
        // exit: a few looks, a few milliseconds apart.
        for _ in 0..20 {
            let inspect = self.runtime.docker.inspect_exec(&self.exec_id).await.ok()?;
            if inspect.running != Some(true) {
                return inspect.exit_code;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        None
    }

    async fn terminate(&self) -> Result<(), RuntimeError> {
        self.runtime.kill_exec(&self.exec_id).await;
        Ok(())
    }
}
