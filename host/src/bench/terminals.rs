//! The terminal benchmark: keystroke-to-echo latency as a learner feels
//! it, through the whole path (WebSocket, the server's terminal hub, the
//! engine's exec stream, the shell's PTY, and back), with many terminals
//! open and typing at once.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use futures::{SinkExt, StreamExt};
use serde::Serialize;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use super::{Percentiles, sessions::bench_lab};
use crate::{
    auth,
    config::Config,
    labs::Catalog,
    plugins::{PluginEngine, Registry},
    runtime::{Runtime, TerminalSize},
    server::AppState,
    sessions::{Clock, EndReason, SessionPolicy, Sessions, SystemClock},
    store::Store,
};

/// How the terminal benchmark runs.
#[derive(Clone, Debug, Serialize)]
pub struct TerminalLoad {
    /// Terminals open at once.
    pub terminals: usize,
    /// Terminals per session.
    pub per_session: usize,
    /// Keystrokes each terminal types.
    pub keystrokes: usize,
    /// Pause between one terminal's keystrokes (a fast typist: 100–200 ms).
    pub interval: Duration,
}

/// What the terminal benchmark measured.
#[derive(Clone, Debug, Serialize)]
pub struct TerminalFigures {
    /// The load.
    pub load: TerminalLoad,
    /// Keystroke sent to its echo received (budget p99 ≤ 50 ms).
    pub echo: Percentiles,
    /// Sessions and terminals set up, seconds.
    pub setup_seconds: f64,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Serves a server of our own on loopback, starts the sessions, opens and
/// attaches the terminals, and has them all type at once. Everything it
/// started is ended, whatever happened.
pub async fn keystroke_echo(runtime: Arc<dyn Runtime>, store: Store, image: &str, load: TerminalLoad) -> Result<TerminalFigures, String> {
    let per_session = load.per_session.clamp(1, 8);
    let session_count = load.terminals.div_ceil(per_session);
    let policy = SessionPolicy { max_sessions: session_count as u32 + 4, max_per_learner: 1, ..SessionPolicy::default() };
    let sessions = Sessions::new(store.clone(), runtime, policy);
    sessions.set_lab(bench_lab("bench-terminals", image, 0));
    let engine = PluginEngine::new(Default::default()).map_err(|e| e.to_string())?;
    let state = AppState::new(Registry::new(engine), Config::default(), sessions.clone(), Catalog::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::serve_on(listener, state.clone(), async move {
        stopped.await.ok();
    }));

    let setup = Instant::now();
    let mut started = Vec::new();
    let result = async {
        let mut sockets = Vec::with_capacity(load.terminals);
        for _ in 0..session_count {
            let (user, token) = auth::issue_guest(&store, SystemClock.now()).await.map_err(|e| e.to_string())?;
            let session = sessions.start(&user.id, "bench-terminals").await.map_err(|e| e.to_string())?.session;
            started.push(session.id.clone());
            for _ in 0..per_session {
                if sockets.len() == load.terminals {
                    break;
                }
                let size = TerminalSize { cols: 120, rows: 40 };
                let tid = state.terminals.open(sessions.runtime().as_ref(), &session.id, "main", size).await.map_err(|e| e.to_string())?;
                let mut request = format!("ws://127.0.0.1:{port}/api/v1/sessions/{}/terminals/{tid}/ws", session.id)
                    .into_client_request()
                    .map_err(|e| e.to_string())?;
                request.headers_mut().insert("Authorization", format!("Bearer {token}").parse().map_err(|_| "bad token".to_owned())?);
                let (socket, _) = tokio_tungstenite::connect_async(request).await.map_err(|e| e.to_string())?;
                sockets.push(socket);
            }
        }
        let setup_seconds = setup.elapsed().as_secs_f64();
        let typing = sockets.into_iter().enumerate().map(|(i, socket)| type_into(socket, i, load.keystrokes, load.interval));
        let mut samples = Vec::with_capacity(load.terminals * load.keystrokes);
        for result in futures::future::join_all(typing).await {
            samples.extend(result?);
        }
        if samples.is_empty() {
            return Err("no keystroke was measured".to_owned());
        }
        Ok(TerminalFigures { load: load.clone(), echo: Percentiles::of(samples), setup_seconds })
    }
    .await;
    for id in started {
        if let Err(e) = sessions.end(&id, EndReason::Admin).await {
            tracing::warn!(session = %id, error = %e, "could not end a benchmark session");
        }
    }
    stop.send(()).ok();
    server.await.ok();
    result
}

/// Waits for the shell's prompt, then types `keystrokes` letters one at a
/// time, timing each until its echo comes back. The line is cleared now
/// and then (Ctrl-U) so it never wraps.
async fn type_into(mut socket: Socket, index: usize, keystrokes: usize, interval: Duration) -> Result<Vec<Duration>, String> {
    // The prompt (a replay or fresh output); then let the shell settle.
    read_until(&mut socket, |seen| seen.ends_with(b"# ") || seen.ends_with(b"$ "), Duration::from_secs(20)).await?;
    // Spread the terminals' keystrokes over the interval, as people would.
    tokio::time::sleep(interval.mul_f64((index % 16) as f64 / 16.0)).await;
    let mut samples = Vec::with_capacity(keystrokes);
    for n in 0..keystrokes {
        if n > 0 && n % 40 == 0 {
            socket.send(Message::Binary(vec![0x15].into())).await.map_err(|e| e.to_string())?;
            tokio::time::sleep(Duration::from_millis(50)).await;
            drain(&mut socket).await;
        }
        let key = b'a' + (n % 26) as u8;
        let sent = Instant::now();
        socket.send(Message::Binary(vec![key].into())).await.map_err(|e| e.to_string())?;
        read_until(&mut socket, |seen| seen.contains(&key), Duration::from_secs(10)).await?;
        samples.push(sent.elapsed());
        tokio::time::sleep(interval).await;
    }
    Ok(samples)
}

/// Reads output until `done` holds for what arrived.
async fn read_until(socket: &mut Socket, done: impl Fn(&[u8]) -> bool, limit: Duration) -> Result<(), String> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return Err(format!("the terminal did not answer within {limit:?}; it showed {:?}", String::from_utf8_lossy(&seen))),
            Ok(Some(Ok(Message::Binary(bytes)))) => {
                seen.extend_from_slice(&bytes);
                if done(&seen) {
                    return Ok(());
                }
            }
            Ok(Some(Ok(Message::Close(frame)))) => return Err(format!("the terminal closed: {frame:?}")),
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(None) => return Err("the terminal's socket ended".to_owned()),
        }
    }
}

/// Discards whatever output is waiting.
async fn drain(socket: &mut Socket) {
    while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_millis(20), socket.next()).await {}
}
