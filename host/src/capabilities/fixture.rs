//! Fixtures: recorded capability answers that let a judge run offline.
//!
//! A fixture is a JSON file of [`Exchange`]s, written by hand or by a
//! recording. [`Replay`] answers each call with the first unused exchange whose
//! request matches; limits such as timeouts and caps do not take part in the
//! match, so a hand-written fixture need not repeat them. A call the fixture
//! does not answer fails with a message naming it, and is listed afterwards.

use std::{path::Path, sync::Mutex};

use serde::{Deserialize, Serialize};

use super::{
    Answer, BuildReport, BuildRequest, Capability, CapabilityError, Command, CommandOutput,
    Container, Exchange, FileContent, HttpRequest, HttpResponse, ReadFile, Request, RunRequest,
    wrong_shape,
};

/// A fixture file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// The session's machines, first is the default; `["main"]` when absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub machines: Vec<String>,
    /// Task parameters passed to the plugin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<(String, String)>,
    /// Capabilities granted during the run; all of them when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<Capability>>,
    /// The recorded calls.
    #[serde(default)]
    pub calls: Vec<Exchange>,
}

/// Why a fixture could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file could not be read.
    #[error("cannot read fixture {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a valid fixture.
    #[error("fixture {path} is not valid: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl Fixture {
    /// Reads and checks a fixture file.
    pub fn load(path: &Path) -> Result<Fixture, FixtureError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|source| FixtureError::Io { path: shown.clone(), source })?;
        let fixture: Fixture = serde_json::from_str(&text)
            .map_err(|e| FixtureError::Invalid { path: shown.clone(), message: e.to_string() })?;
        for call in &fixture.calls {
            if let Err(message) = call.outcome() {
                return Err(FixtureError::Invalid { path: shown, message });
            }
        }
        Ok(fixture)
    }
}

/// Strips what does not identify a request: limits and caps.
fn match_key(request: &Request) -> Request {
    let mut key = request.clone();
    match &mut key {
        Request::Exec(c) => {
            c.timeout = None;
            c.max_output_bytes = None;
        }
        Request::ReadFile(r) => r.max_bytes = 0,
        Request::BuildImage(b) => b.timeout = None,
        Request::HttpGet(h) => h.timeout = None,
        Request::RunImage(_) | Request::StopContainer { .. } => {}
    }
    key
}

/// An environment that answers from a fixture.
#[derive(Debug)]
pub struct Replay {
    calls: Vec<(Request, Result<Answer, CapabilityError>)>,
    state: Mutex<ReplayState>,
}

#[derive(Debug, Default)]
struct ReplayState {
    used: Vec<bool>,
    unanswered: Vec<Request>,
}

impl Replay {
    /// Prepares to replay `fixture`.
    pub fn new(fixture: &Fixture) -> Result<Replay, String> {
        let calls = fixture
            .calls
            .iter()
            .map(|ex| Ok((match_key(&ex.request), ex.outcome()?)))
            .collect::<Result<Vec<_>, String>>()?;
        let used = vec![false; calls.len()];
        Ok(Replay { calls, state: Mutex::new(ReplayState { used, ..Default::default() }) })
    }

    /// Requests the fixture had no answer for.
    pub fn unanswered(&self) -> Vec<Request> {
        self.state.lock().expect("replay state").unanswered.clone()
    }

    /// How many recorded calls were never asked for.
    pub fn unused(&self) -> usize {
        self.state.lock().expect("replay state").used.iter().filter(|u| !**u).count()
    }

    async fn dispatch(&self, request: Request) -> Result<Answer, CapabilityError> {
        let key = match_key(&request);
        let mut state = self.state.lock().expect("replay state");
        let found = (0..self.calls.len()).find(|&i| !state.used[i] && self.calls[i].0 == key);
        // A request asked more often than recorded gets the last recorded answer
        // again: polling loops in judges replay without listing every poll.
        let found = found.or_else(|| (0..self.calls.len()).rev().find(|&i| self.calls[i].0 == key));
        match found {
            Some(i) => {
                state.used[i] = true;
                self.calls[i].1.clone()
            }
            None => {
                let message = format!("the fixture has no answer for {}", request.describe());
                state.unanswered.push(request);
                Err(CapabilityError::Failed(message))
            }
        }
    }
}

environment_via_dispatch!(Replay);
