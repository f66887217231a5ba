//! The registry of open terminals, keyed by session and terminal id, and
//! the pump that carries each terminal's output to its scrollback and its
//! viewers.
//!
//! Locks: the registry and each terminal's state are plain mutexes, never
//! held across an await. Taking the scrollback and subscribing happen under
//! the same lock as publishing, so a viewer neither misses nor repeats a byte
//! between its replay and its live feed.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use futures::{StreamExt, stream::BoxStream};
use tokio::{
    io::{AsyncWrite, AsyncWriteExt},
    sync::broadcast,
};

use super::{TerminalError, scrollback::Scrollback};
use crate::runtime::{Runtime, RuntimeError, Terminal, TerminalResizer, TerminalSize};

/// Called with the session id whenever a learner types into a terminal.
pub type OnInput = Arc<dyn Fn(&str) + Send + Sync>;

/// What a viewer receives after the scrollback.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TerminalEvent {
    /// Output of the shell.
    Output(bytes::Bytes),
    /// The terminal ended, and why; nothing follows.
    Ended(String),
}

/// Bounds on terminals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalLimits {
    /// Terminals one session may have open at once.
    pub per_session: usize,
    /// Bytes of output kept for replay, per terminal.
    pub scrollback_bytes: usize,
    /// Output chunks a viewer may fall behind before it misses some
    /// (its receiver reports `Lagged`; attaching again resynchronises).
    pub viewer_backlog: usize,
}

impl Default for TerminalLimits {
    fn default() -> Self {
        TerminalLimits { per_session: 8, scrollback_bytes: 64 << 10, viewer_backlog: 1024 }
    }
}

/// An open terminal as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalInfo {
    /// Its id within the session.
    pub id: String,
    /// The machine it runs on.
    pub machine: String,
    /// Viewers attached now.
    pub viewers: usize,
}

/// A viewer of a terminal. Dropping it detaches; the shell goes on.
#[derive(Debug)]
pub struct Attachment {
    /// Output from before the viewer attached, to show first.
    pub scrollback: bytes::Bytes,
    /// Output from then on, and the end.
    pub events: broadcast::Receiver<TerminalEvent>,
    /// Where the viewer's keystrokes and window size go.
    pub input: TerminalInput,
}

/// Writes to and resizes one terminal; cheap to clone, e.g. into the task
/// that reads a viewer's socket.
#[derive(Clone)]
pub struct TerminalInput {
    terminal: Arc<Shared>,
    hub: Arc<Hub>,
}

impl std::fmt::Debug for TerminalInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalInput").field("session", &self.terminal.session).field("id", &self.terminal.id).finish()
    }
}

impl TerminalInput {
    /// Types `data` into the shell and records the session as active.
    pub async fn write(&self, data: &[u8]) -> Result<(), TerminalError> {
        self.hub.record_input(&self.terminal.session);
        let mut input = self.terminal.input.lock().await;
        let writer = input.as_mut().ok_or_else(|| self.terminal.ended_error())?;
        let written = async {
            writer.write_all(data).await?;
            writer.flush().await
        };
        written.await.map_err(|e| TerminalError::Runtime(RuntimeError::Unreachable(format!("terminal input: {e}"))))
    }

    /// Tells the shell its window's new size.
    pub async fn resize(&self, size: TerminalSize) -> Result<(), TerminalError> {
        if self.terminal.state().ended.is_some() {
            return Err(self.terminal.ended_error());
        }
        Ok(self.terminal.resizer.resize(size).await?)
    }
}

/// One terminal and everything its viewers share.
struct Shared {
    session: String,
    id: String,
    machine: String,
    state: Mutex<State>,
    /// `None` once the terminal ended.
    input: tokio::sync::Mutex<Option<Pin<Box<dyn AsyncWrite + Send>>>>,
    resizer: Arc<dyn TerminalResizer>,
    pump: Mutex<Option<tokio::task::AbortHandle>>,
}

struct State {
    scrollback: Scrollback,
    events: broadcast::Sender<TerminalEvent>,
    ended: Option<String>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the state half-written: every
        // update is one push or one assignment.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ended_error(&self) -> TerminalError {
        TerminalError::Ended(self.state().ended.clone().unwrap_or_else(|| "closed".into()))
    }

    fn publish(&self, bytes: bytes::Bytes) {
        let mut state = self.state();
        if state.ended.is_none() {
            state.scrollback.push(&bytes);
            // No viewer is fine: the scrollback keeps it.
            let _ = state.events.send(TerminalEvent::Output(bytes));
        }
    }

    /// Marks the end once; says whether this call did.
    fn end(&self, reason: String) -> bool {
        let mut state = self.state();
        if state.ended.is_some() {
            return false;
        }
        let _ = state.events.send(TerminalEvent::Ended(reason.clone()));
        state.ended = Some(reason);
        true
    }
}

/// The state behind [`Terminals`].
struct Hub {
    limits: TerminalLimits,
    open: Mutex<HashMap<String, HashMap<String, Arc<Shared>>>>,
    last_input: Mutex<HashMap<String, Instant>>,
    on_input: Option<OnInput>,
    next_id: AtomicU64,
}

impl Hub {
    fn open(&self) -> MutexGuard<'_, HashMap<String, HashMap<String, Arc<Shared>>>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, session: &str) -> usize {
        self.open().get(session).map_or(0, HashMap::len)
    }

    fn record_input(&self, session: &str) {
        self.last_input.lock().unwrap_or_else(|p| p.into_inner()).insert(session.to_owned(), Instant::now());
        if let Some(on_input) = &self.on_input {
            on_input(session);
        }
    }

    fn forget(&self, session: &str, id: &str) {
        let mut open = self.open();
        if let Some(terminals) = open.get_mut(session) {
            terminals.remove(id);
            if terminals.is_empty() {
                open.remove(session);
            }
        }
    }
}

/// The server's open terminals. Cheap to clone: clones share them.
#[derive(Clone)]
pub struct Terminals {
    hub: Arc<Hub>,
}

impl std::fmt::Debug for Terminals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminals").field("limits", &self.hub.limits).finish_non_exhaustive()
    }
}

impl Default for Terminals {
    fn default() -> Self {
        Terminals::new(TerminalLimits::default())
    }
}

impl Terminals {
    /// No terminals yet, within `limits`.
    pub fn new(limits: TerminalLimits) -> Terminals {
        Terminals {
            hub: Arc::new(Hub {
                limits,
                open: Mutex::default(),
                last_input: Mutex::default(),
                on_input: None,
                next_id: AtomicU64::new(1),
            }),
        }
    }

    /// Like [`Terminals::new`], calling `on_input` with the session id
    /// whenever a learner types (for idle reaping). Call before sharing.
    pub fn with_activity(limits: TerminalLimits, on_input: OnInput) -> Terminals {
        let mut terminals = Terminals::new(limits);
        if let Some(hub) = Arc::get_mut(&mut terminals.hub) {
            hub.on_input = Some(on_input);
        }
        terminals
    }

    /// Opens a shell on a machine of the session through `runtime` and
    /// keeps it; returns its id.
    pub async fn open(
        &self,
        runtime: &dyn Runtime,
        session: &str,
        machine: &str,
        size: TerminalSize,
    ) -> Result<String, TerminalError> {
        let max = self.hub.limits.per_session;
        let too_many = || TerminalError::TooMany { session: session.to_owned(), max };
        // Checked before opening (no exec for nothing) and again when
        // adding (two opens may have raced past the first check).
        if self.hub.count(session) >= max {
            return Err(too_many());
        }
        let terminal = runtime.open_terminal(session, machine, size).await?;
        self.adopt(session, machine, terminal).await
    }

    /// Keeps a terminal the caller opened; returns its id.
    pub async fn adopt(&self, session: &str, machine: &str, terminal: Terminal) -> Result<String, TerminalError> {
        let Terminal { input, output, resizer } = terminal;
        let id = self.hub.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let shared = Arc::new(Shared {
            session: session.to_owned(),
            id: id.clone(),
            machine: machine.to_owned(),
            state: Mutex::new(State {
                scrollback: Scrollback::new(self.hub.limits.scrollback_bytes),
                events: broadcast::channel(self.hub.limits.viewer_backlog.max(1)).0,
                ended: None,
            }),
            input: tokio::sync::Mutex::new(Some(input)),
            resizer: resizer.clone(),
            pump: Mutex::new(None),
        });
        let added = {
            let mut open = self.hub.open();
            let terminals = open.entry(session.to_owned()).or_default();
            terminals.len() < self.hub.limits.per_session && terminals.insert(id.clone(), shared.clone()).is_none()
        };
        if !added {
            let _ = resizer.terminate().await;
            return Err(TerminalError::TooMany { session: session.to_owned(), max: self.hub.limits.per_session });
        }
        let task = tokio::spawn(pump(self.hub.clone(), shared.clone(), output));
        *shared.pump.lock().unwrap_or_else(|p| p.into_inner()) = Some(task.abort_handle());
        tracing::debug!(%session, %machine, %id, "terminal opened");
        Ok(id)
    }

    /// Attaches a viewer to a terminal: its scrollback, then its output.
    pub fn attach(&self, session: &str, id: &str) -> Result<Attachment, TerminalError> {
        let terminal = self.find(session, id)?;
        let (scrollback, events) = {
            let state = terminal.state();
            if let Some(reason) = &state.ended {
                return Err(TerminalError::Ended(reason.clone()));
            }
            (state.scrollback.replay(), state.events.subscribe())
        };
        Ok(Attachment { scrollback, events, input: TerminalInput { terminal, hub: self.hub.clone() } })
    }

    fn find(&self, session: &str, id: &str) -> Result<Arc<Shared>, TerminalError> {
        let open = self.hub.open();
        open.get(session)
            .and_then(|t| t.get(id))
            .cloned()
            .ok_or_else(|| TerminalError::NotFound { session: session.to_owned(), id: id.to_owned() })
    }

    /// The session's open terminals, oldest first.
    pub fn list(&self, session: &str) -> Vec<TerminalInfo> {
        let open = self.hub.open();
        let mut list: Vec<TerminalInfo> = open
            .get(session)
            .into_iter()
            .flat_map(|t| t.values())
            .map(|t| TerminalInfo { id: t.id.clone(), machine: t.machine.clone(), viewers: t.state().events.receiver_count() })
            .collect();
        list.sort_by_key(|t| t.id.parse::<u64>().unwrap_or(u64::MAX));
        list
    }

    /// When a learner last typed into any terminal of the session.
    pub fn last_input(&self, session: &str) -> Option<Instant> {
        self.hub.last_input.lock().unwrap_or_else(|p| p.into_inner()).get(session).copied()
    }

    /// Ends one terminal: its shell and what it started.
    pub async fn close_terminal(&self, session: &str, id: &str) -> Result<(), TerminalError> {
        let terminal = self.find(session, id)?;
        self.hub.forget(session, id);
        shut(&terminal, "the terminal was closed").await;
        Ok(())
    }

    /// Ends every terminal of a session (when it ends).
    pub async fn close(&self, session: &str) {
        let terminals = self.hub.open().remove(session).unwrap_or_default();
        for terminal in terminals.values() {
            shut(terminal, "the session ended").await;
        }
        self.hub.last_input.lock().unwrap_or_else(|p| p.into_inner()).remove(session);
    }
}

/// Ends a terminal from the server's side: viewers hear why, the output
/// pump stops, input closes, and the runtime ends the shell.
async fn shut(terminal: &Shared, reason: &str) {
    terminal.end(reason.to_owned());
    if let Some(pump) = terminal.pump.lock().unwrap_or_else(|p| p.into_inner()).take() {
        pump.abort();
    }
    terminal.input.lock().await.take();
    if let Err(e) = terminal.resizer.terminate().await {
        tracing::warn!(session = %terminal.session, id = %terminal.id, error = %e, "could not end a terminal's shell");
    }
}

/// Carries a terminal's output to its scrollback and viewers until the
/// shell ends, then tells them why and forgets the terminal.
async fn pump(hub: Arc<Hub>, terminal: Arc<Shared>, mut output: BoxStream<'static, Result<bytes::Bytes, RuntimeError>>) {
    let reason = loop {
        match output.next().await {
            Some(Ok(bytes)) => terminal.publish(bytes),
            Some(Err(e)) => break format!("the terminal failed: {e}"),
            None => {
                break match terminal.resizer.exit_code().await {
                    Some(code) => format!("the shell exited with status {code}"),
                    None => "the shell exited".to_owned(),
                };
            }
        }
    };
    if terminal.end(reason) {
        tracing::debug!(session = %terminal.session, id = %terminal.id, "terminal ended");
    }
    terminal.input.lock().await.take();
    hub.forget(&terminal.session, &terminal.id);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_trait::async_trait;
    use tokio::io::AsyncReadExt;

    use super::*;

    /// A terminal whose "shell" echoes its input upper-cased, and exits on `q`.
    fn echo_terminal() -> Terminal {
        let (ours, theirs) = tokio::io::duplex(1024);
        let (mut from_viewer, to_viewer) = tokio::io::split(theirs);
        let (tx, rx) = futures::channel::mpsc::unbounded();
        tokio::spawn(async move {
            let mut buf = [0u8; 256];
            while let Ok(n) = from_viewer.read(&mut buf).await {
                if n == 0 || buf[..n].contains(&b'q') {
                    break;
                }
                let _ = tx.unbounded_send(Ok(bytes::Bytes::copy_from_slice(&buf[..n].to_ascii_uppercase())));
            }
        });
        drop(to_viewer);
        let (_, input) = tokio::io::split(ours);
        Terminal { input: Box::pin(input), output: rx.boxed(), resizer: Arc::new(Sizes::default()) }
    }

    #[derive(Default)]
    struct Sizes(Mutex<Vec<TerminalSize>>);

    #[async_trait]
    impl TerminalResizer for Sizes {
        async fn resize(&self, size: TerminalSize) -> Result<(), RuntimeError> {
            self.0.lock().unwrap().push(size);
            Ok(())
        }
    }

    async fn next(events: &mut broadcast::Receiver<TerminalEvent>) -> TerminalEvent {
        tokio::time::timeout(Duration::from_secs(5), events.recv()).await.expect("an event in time").expect("open")
    }

    #[tokio::test]
    async fn viewers_share_a_terminal_replay_its_past_and_hear_its_end() {
        let terminals = Terminals::default();
        let id = terminals.adopt("s1", "main", echo_terminal()).await.unwrap();
        let mut first = terminals.attach("s1", &id).unwrap();
        assert!(first.scrollback.is_empty());
        assert!(terminals.last_input("s1").is_none());
        first.input.write(b"hello").await.unwrap();
        assert_eq!(next(&mut first.events).await, TerminalEvent::Output("HELLO".into()));
        assert!(terminals.last_input("s1").is_some());

        drop(first); // detached: the terminal goes on
        let mut second = terminals.attach("s1", &id).unwrap();
        let mut third = terminals.attach("s1", &id).unwrap();
        assert_eq!(&second.scrollback[..], b"HELLO");
        assert_eq!(terminals.list("s1")[0].viewers, 2);
        third.input.write(b"again").await.unwrap();
        assert_eq!(next(&mut second.events).await, TerminalEvent::Output("AGAIN".into()));
        assert_eq!(next(&mut third.events).await, TerminalEvent::Output("AGAIN".into()));

        second.input.write(b"q").await.unwrap();
        assert!(matches!(next(&mut second.events).await, TerminalEvent::Ended(r) if r.contains("exited")));
        assert!(matches!(next(&mut third.events).await, TerminalEvent::Ended(_)));
    }

    #[tokio::test]
    async fn a_session_has_a_bounded_number_of_terminals_and_closing_ends_them() {
        let limits = TerminalLimits { per_session: 2, ..TerminalLimits::default() };
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let terminals = Terminals::with_activity(limits, Arc::new(move |s: &str| log.lock().unwrap().push(s.to_owned())));
        let a = terminals.adopt("s1", "main", echo_terminal()).await.unwrap();
        terminals.adopt("s1", "main", echo_terminal()).await.unwrap();
        let err = terminals.adopt("s1", "main", echo_terminal()).await.unwrap_err();
        assert!(matches!(err, TerminalError::TooMany { max: 2, .. }), "{err}");
        terminals.adopt("s2", "main", echo_terminal()).await.expect("another session has its own bound");

        let mut viewer = terminals.attach("s1", &a).unwrap();
        viewer.input.write(b"x").await.unwrap();
        viewer.input.resize(TerminalSize { cols: 100, rows: 30 }).await.unwrap();
        assert_eq!(*seen.lock().unwrap(), ["s1"]);
        terminals.close("s1").await;
        let mut ended = false;
        while let Ok(Ok(event)) = tokio::time::timeout(Duration::from_secs(5), viewer.events.recv()).await {
            if let TerminalEvent::Ended(reason) = event {
                assert_eq!(reason, "the session ended");
                ended = true;
                break;
            }
        }
        assert!(ended);
        assert!(matches!(viewer.input.write(b"y").await, Err(TerminalError::Ended(_))));
        assert!(terminals.list("s1").is_empty() && terminals.list("s2").len() == 1);
        assert!(matches!(terminals.attach("s1", &a), Err(TerminalError::NotFound { .. })));
    }
}
