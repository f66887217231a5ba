//! What a plugin writes: stdout, stderr and log lines, under one byte budget.
//!
//! The budget is shared with the plugin's verdict. Writing past it stops the
//! call with the `output` limit rather than silently cutting, so a plugin
//! that floods its output is reported, quickly, as doing so.

use std::{
    io,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi_io::{
    bytes::Bytes,
    poll::Pollable,
    streams::{OutputStream, StreamError, StreamResult},
};

use super::limits::{Limit, LimitExceeded};

/// How many bytes of stdout and stderr are kept for the log and crash
/// reports; what the budget allows beyond this is counted but not kept.
const KEPT_BYTES: usize = 16 << 10;

/// The plugin's output for one call, shared by its streams.
#[derive(Clone, Debug)]
pub(crate) struct PluginOutput {
    inner: Arc<Mutex<OutputState>>,
}

#[derive(Debug)]
struct OutputState {
    budget: u64,
    used: u64,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    log: Vec<String>,
    breach: Option<LimitExceeded>,
}

/// Which stream a write went to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl PluginOutput {
    pub fn new(budget: u64) -> Self {
        PluginOutput {
            inner: Arc::new(Mutex::new(OutputState {
                budget,
                used: 0,
                stdout: Vec::new(),
                stderr: Vec::new(),
                log: Vec::new(),
                breach: None,
            })),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, OutputState> {
        self.inner.lock().expect("plugin output lock")
    }

    /// Counts `n` bytes against the budget.
    pub fn charge(&self, n: usize, what: &str) -> Result<(), LimitExceeded> {
        let mut state = self.state();
        state.used = state.used.saturating_add(n as u64);
        if state.used > state.budget {
            let breach = LimitExceeded::new(
                Limit::Output,
                format!("{what} brought the plugin's output to {} bytes; the cap is {}", state.used, state.budget),
            );
            state.breach.get_or_insert_with(|| breach.clone());
            return Err(breach);
        }
        Ok(())
    }

    /// Adds a log line, counted against the budget.
    pub fn log(&self, line: String) -> Result<(), LimitExceeded> {
        self.charge(line.len(), "a log line")?;
        self.state().log.push(line);
        Ok(())
    }

    fn write(&self, stream: Stream, bytes: &[u8]) -> Result<(), LimitExceeded> {
        self.charge(bytes.len(), "a write to stdout/stderr")?;
        let mut state = self.state();
        let kept = match stream {
            Stream::Stdout => &mut state.stdout,
            Stream::Stderr => &mut state.stderr,
        };
        let room = KEPT_BYTES.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
        Ok(())
    }

    /// The first breach, if any: a plugin may swallow a write error, but the
    /// breach still ends its call.
    pub fn breach(&self) -> Option<LimitExceeded> {
        self.state().breach.clone()
    }

    /// Log lines, then stdout and stderr lines, for the verdict's log.
    pub fn lines(&self) -> Vec<String> {
        let state = self.state();
        let mut lines = state.log.clone();
        for (name, bytes) in [("stdout", &state.stdout), ("stderr", &state.stderr)] {
            lines.extend(String::from_utf8_lossy(bytes).lines().map(|l| format!("{name}: {l}")));
        }
        lines
    }

    /// The last lines of stderr, where a panicking Rust plugin says why.
    pub fn stderr_tail(&self) -> String {
        let state = self.state();
        let text = String::from_utf8_lossy(&state.stderr);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }

    /// A WASI stream that writes into this output.
    pub fn stream(&self, stream: Stream) -> PluginStream {
        PluginStream { output: self.clone(), stream }
    }
}

/// One of the plugin's WASI output streams.
#[derive(Clone, Debug)]
pub(crate) struct PluginStream {
    output: PluginOutput,
    stream: Stream,
}

/// How much a plugin may write in one go; the budget is checked on write.
const WRITE_PERMIT: usize = 64 << 10;

#[async_trait::async_trait]
impl OutputStream for PluginStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.output
            .write(self.stream, &bytes)
            .map_err(|breach| StreamError::Trap(breach.into()))
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

#[async_trait::async_trait]
impl Pollable for PluginStream {
    async fn ready(&mut self) {}
}

impl AsyncWrite for PluginStream {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(
            self.output
                .write(self.stream, buf)
                .map(|()| buf.len())
                .map_err(io::Error::other),
        )
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for PluginStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for PluginStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}
