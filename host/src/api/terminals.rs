//! `/api/v1/sessions/{id}/terminals`: open, list and close a session's
//! shells, and `…/{tid}/ws`, the WebSocket a browser's terminal speaks.
//!
//! The socket protocol: the server sends the scrollback, then the shell's
//! output, as binary frames; the client sends keystrokes as binary (or
//! plain text) frames, and a window size as a text frame
//! `{"type":"resize","cols":120,"rows":40}`. When the shell ends the server
//! closes the socket with the reason. Closing the socket only detaches: the
//! shell goes on, and attaching again replays what it printed meanwhile.

use axum::{
    Json,
    extract::{
        Path, State,
        ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection},
    },
    http::StatusCode,
    response::Response,
};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiError, identity::Caller};
use crate::{
    runtime::TerminalSize,
    server::AppState,
    sessions::Phase,
    terminals::{Attachment, TerminalError, TerminalEvent},
};

/// What to open.
#[derive(Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
pub struct OpenTerminal {
    /// The machine (default: the lab's first).
    pub machine: Option<String>,
    /// Columns (default 80).
    pub cols: Option<u16>,
    /// Rows (default 24).
    pub rows: Option<u16>,
}

/// An open terminal.
#[derive(Serialize, ToSchema)]
pub struct TerminalView {
    /// Id within the session.
    pub id: String,
    /// The machine it runs on.
    pub machine: String,
    /// Viewers attached now.
    pub viewers: usize,
}

/// A control message from the client.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Control {
    Resize { cols: u16, rows: u16 },
}

impl From<TerminalError> for ApiError {
    fn from(e: TerminalError) -> ApiError {
        let message = e.to_string();
        match e {
            TerminalError::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, "terminal_not_found", message),
            TerminalError::TooMany { .. } => ApiError::new(StatusCode::CONFLICT, "too_many_terminals", message),
            TerminalError::Ended(_) => {
                ApiError::new(StatusCode::GONE, "terminal_ended", message).hint("open a new terminal")
            }
            TerminalError::Runtime(e) => crate::sessions::SessionError::Runtime(e).into(),
        }
    }
}

fn size(cols: Option<u16>, rows: Option<u16>) -> TerminalSize {
    TerminalSize { cols: cols.unwrap_or(80).clamp(10, 500), rows: rows.unwrap_or(24).clamp(4, 200) }
}

/// Opens a shell on a machine of the session.
#[utoipa::path(post, path = "/sessions/{id}/terminals", tag = "terminals", request_body = OpenTerminal,
    responses((status = 201, body = TerminalView), (status = 404), (status = 409, description = "not running, or too many terminals")))]
async fn open(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<TerminalView>), ApiError> {
    let session = state.sessions.get_owned(&id, &user.id).await?;
    if session.phase != Phase::Running {
        return Err(ApiError::new(StatusCode::CONFLICT, "session_not_running", "terminals need a running session"));
    }
    // An empty body asks for the defaults.
    let req: OpenTerminal = if body.iter().all(u8::is_ascii_whitespace) {
        OpenTerminal::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", format!("the body is not a valid request: {e}")))?
    };
    let machine = match req.machine {
        Some(m) => m,
        None => state.sessions.labs().iter().find(|l| l.lab == session.lab).and_then(|l| l.machines.first()).map(|m| m.name.clone()).unwrap_or_else(|| "main".into()),
    };
    let tid = state.terminals.open(state.sessions.runtime().as_ref(), &session.id, &machine, size(req.cols, req.rows)).await?;
    state.sessions.touch(&session.id).await?;
    Ok((StatusCode::CREATED, Json(TerminalView { id: tid, machine, viewers: 0 })))
}

/// The session's open terminals.
#[utoipa::path(get, path = "/sessions/{id}/terminals", tag = "terminals", responses((status = 200, body = [TerminalView]), (status = 404)))]
async fn list(State(state): State<AppState>, Caller(user): Caller, Path(id): Path<String>) -> Result<Json<Vec<TerminalView>>, ApiError> {
    let session = state.sessions.get_owned(&id, &user.id).await?;
    Ok(Json(
        state.terminals.list(&session.id).into_iter().map(|t| TerminalView { id: t.id, machine: t.machine, viewers: t.viewers }).collect(),
    ))
}

/// Ends a terminal and what runs in it.
#[utoipa::path(delete, path = "/sessions/{id}/terminals/{tid}", tag = "terminals", responses((status = 204), (status = 404)))]
async fn close(State(state): State<AppState>, Caller(user): Caller, Path((id, tid)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    let session = state.sessions.get_owned(&id, &user.id).await?;
    state.terminals.close_terminal(&session.id, &tid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Attaches to a terminal over a WebSocket.
async fn attach(
    State(state): State<AppState>,
    Caller(user): Caller,
    Path((id, tid)): Path<(String, String)>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let session = state.sessions.get_owned(&id, &user.id).await?;
    let attachment = state.terminals.attach(&session.id, &tid)?;
    Ok(websocket(upgrade)?.on_upgrade(move |socket| relay(socket, attachment, Viewer::Typist)))
}

/// The upgrade of a terminal request, checked only after the session and
/// terminal were found, so that a plain request learns whether they exist
/// (404) before being told it must be a WebSocket.
pub(crate) fn websocket(upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>) -> Result<WebSocketUpgrade, ApiError> {
    upgrade.map_err(|rejection| {
        ApiError::new(StatusCode::UPGRADE_REQUIRED, "websocket_required", format!("this endpoint speaks WebSocket only: {rejection}")).hint("connect with a WebSocket client")
    })
}

/// What a viewer may do.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Viewer {
    /// Types and resizes: the learner.
    Typist,
    /// Only watches: an instructor; what it sends is ignored.
    Watcher,
}

/// Carries one viewer's socket until either side ends.
pub(crate) async fn relay(mut socket: WebSocket, attachment: Attachment, viewer: Viewer) {
    let Attachment { scrollback, mut events, input } = attachment;
    if !scrollback.is_empty() && socket.send(Message::Binary(scrollback)).await.is_err() {
        return;
    }
    let reason = loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(TerminalEvent::Output(bytes)) => {
                    if socket.send(Message::Binary(bytes)).await.is_err() {
                        return;
                    }
                }
                Ok(TerminalEvent::Ended(reason)) => break reason,
                // A viewer that fell far behind skips ahead; attaching
                // again replays the scrollback in full.
                Err(RecvError::Lagged(missed)) => tracing::debug!(missed, "a terminal viewer fell behind"),
                Err(RecvError::Closed) => break "the terminal ended".to_owned(),
            },
            message = socket.recv() => match message {
                Some(Ok(Message::Binary(_) | Message::Text(_))) if viewer == Viewer::Watcher => {}
                Some(Ok(Message::Binary(bytes))) => {
                    if let Err(e) = input.write(&bytes).await {
                        break e.to_string();
                    }
                }
                Some(Ok(Message::Text(text))) => {
                    let result = match serde_json::from_str::<Control>(text.as_str()) {
                        Ok(Control::Resize { cols, rows }) => input.resize(size(Some(cols), Some(rows))).await,
                        Err(_) => input.write(text.as_bytes()).await,
                    };
                    if let Err(e) = result {
                        break e.to_string();
                    }
                }
                Some(Ok(_)) => {}
                // The viewer left: detach, the shell goes on.
                Some(Err(_)) | None => return,
            },
        }
    };
    let frame = CloseFrame { code: 1000, reason: reason.chars().take(120).collect::<String>().into() };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// The terminal routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(open, list))
        .routes(routes!(close))
        .route("/sessions/{id}/terminals/{tid}/ws", axum::routing::get(attach))
}
