//! The host's side of `http-get`: one HTTP/1.1 GET to a container a judge
//! started, with a deadline and a cap on the body.
//!
//! A server that was just started needs a moment before it listens, so the
//! connection is retried until the deadline while the container is alive.
//! hyper does the protocol (lengths, chunked bodies); this file only bounds it.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::RuntimeError;
use crate::capabilities::{Bytes, HttpResponse};

/// How long to wait between attempts to connect to a port not yet open.
const RETRY_EVERY: Duration = Duration::from_millis(50);

fn timed_out(started: Instant) -> RuntimeError {
    RuntimeError::TimedOut(started.elapsed().as_millis())
}

/// Connects to `addr`, retrying until `deadline` while `alive` says the
/// server can still come up (it answers an error once it cannot).
pub async fn connect_when_ready<F, A>(addr: SocketAddr, deadline: Instant, mut alive: A) -> Result<TcpStream, RuntimeError>
where
    // A plain closure returning a future, not an async closure: the latter's
    // future is not known to be `Send` across the trait's boxed futures.
    A: FnMut() -> F,
    F: Future<Output = Result<(), RuntimeError>>,
{
    let started = Instant::now();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Err(_) => return Err(timed_out(started)),
            Ok(Err(e)) => {
                tracing::trace!(%addr, error = %e, "not accepting yet");
                alive().await?;
                if Instant::now() + RETRY_EVERY >= deadline {
                    return Err(RuntimeError::TimedOut(started.elapsed().as_millis()));
                }
                tokio::time::sleep(RETRY_EVERY).await;
            }
        }
    }
}

/// Sends `GET path` on `stream`, naming `authority` as the host, and reads
/// at most `max_body` bytes of the answer, all before `deadline`.
pub async fn get(
    stream: TcpStream,
    authority: &str,
    path: &str,
    deadline: Instant,
    max_body: usize,
) -> Result<HttpResponse, RuntimeError> {
    let started = Instant::now();
    let path: http::uri::PathAndQuery =
        path.parse().map_err(|e| RuntimeError::Invalid(format!("the path {path:?} is not a valid request target: {e}")))?;
    if !path.path().starts_with('/') {
        return Err(RuntimeError::Invalid(format!("the path {path:?} must start with `/`")));
    }
    let request = http::Request::get(path.as_str())
        .header(http::header::HOST, authority)
        .header(http::header::USER_AGENT, "proctor-judge")
        .header(http::header::CONNECTION, "close")
        .body(Empty::<bytes::Bytes>::new())
        .map_err(|e| RuntimeError::Invalid(e.to_string()))?;
    let exchange = async {
        let failed = |e: hyper::Error| RuntimeError::Http(format!("{authority}: {e}"));
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(failed)?;
        // The connection is driven beside the exchange and dropped with it.
        let driver = tokio::spawn(connection);
        let response = sender.send_request(request).await.map_err(failed)?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut data = Vec::new();
        let mut truncated = false;
        while let Some(frame) = body.frame().await {
            let Ok(chunk) = frame.map_err(failed)?.into_data() else { continue };
            let room = max_body.saturating_sub(data.len());
            data.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if chunk.len() > room {
                truncated = true;
                break;
            }
        }
        driver.abort();
        Ok(HttpResponse { status, body: Bytes(data), truncated })
    };
    let left = deadline.saturating_duration_since(Instant::now());
    tokio::time::timeout(left, exchange).await.map_err(|_| timed_out(started))?
}
