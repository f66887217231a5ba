//! Host capabilities: the only way a plugin reaches a learner's environment.
//!
//! A plugin call sees one [`Environment`] (a live session, a fixture being
//! replayed, or a recorder wrapped around either) through a [`Gate`] that
//! enforces the lab's grants. The limits on call counts, sizes and time are
//! enforced in `plugins::host`, next to the plugin they protect the host from.

/// Implements [`Environment`] for a type that answers every call through one
/// inherent `async fn dispatch(&self, Request) -> Result<Answer, CapabilityError>`.
macro_rules! environment_via_dispatch {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl $crate::capabilities::Environment for $ty {
            async fn exec(&self, c: &Command) -> Result<CommandOutput, CapabilityError> {
                match self.dispatch(Request::Exec(c.clone())).await? {
                    Answer::Exec(a) => Ok(a),
                    other => Err(wrong_shape(&other)),
                }
            }
            async fn read_file(&self, r: &ReadFile) -> Result<FileContent, CapabilityError> {
                match self.dispatch(Request::ReadFile(r.clone())).await? {
                    Answer::ReadFile(a) => Ok(a.capped(r.max_bytes)),
                    other => Err(wrong_shape(&other)),
                }
            }
            async fn build_image(&self, b: &BuildRequest) -> Result<BuildReport, CapabilityError> {
                match self.dispatch(Request::BuildImage(b.clone())).await? {
                    Answer::BuildImage(a) => Ok(a),
                    other => Err(wrong_shape(&other)),
                }
            }
            async fn run_image(&self, r: &RunRequest) -> Result<Container, CapabilityError> {
                match self.dispatch(Request::RunImage(r.clone())).await? {
                    Answer::RunImage(a) => Ok(a),
                    other => Err(wrong_shape(&other)),
                }
            }
            async fn http_get(&self, h: &HttpRequest) -> Result<HttpResponse, CapabilityError> {
                match self.dispatch(Request::HttpGet(h.clone())).await? {
                    Answer::HttpGet(a) => Ok(a),
                    other => Err(wrong_shape(&other)),
                }
            }
            async fn stop_container(&self, handle: &str) -> Result<(), CapabilityError> {
                self.dispatch(Request::StopContainer { handle: handle.to_owned() }).await.map(|_| ())
            }
        }
    };
}

pub mod fixture;
pub mod record;
pub mod types;

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use types::{
    BuildReport, BuildRequest, Bytes, Capability, CapabilityError, Command, CommandOutput,
    Container, FileContent, HttpRequest, HttpResponse, ReadFile, RunRequest,
};

/// A learner's environment as plugins may use it.
///
/// Implemented by the session runtimes, by [`fixture::Replay`] for offline
/// runs and by [`record::Recorder`] to capture a grading. Every method has a
/// default that answers `unsupported`, so an environment implements only what
/// it can do.
#[async_trait]
pub trait Environment: Send + Sync {
    /// Runs one command.
    async fn exec(&self, cmd: &Command) -> Result<CommandOutput, CapabilityError> {
        let _ = cmd;
        Err(unsupported("exec"))
    }

    /// Runs several commands and returns their results in order. By default
    /// they run concurrently; a session runs them as one batch.
    async fn exec_all(&self, cmds: &[Command]) -> Vec<Result<CommandOutput, CapabilityError>> {
        futures::future::join_all(cmds.iter().map(|c| self.exec(c))).await
    }

    /// Reads the start of a file.
    async fn read_file(&self, req: &ReadFile) -> Result<FileContent, CapabilityError> {
        let _ = req;
        Err(unsupported("read-file"))
    }

    /// Builds an image.
    async fn build_image(&self, req: &BuildRequest) -> Result<BuildReport, CapabilityError> {
        let _ = req;
        Err(unsupported("build-image"))
    }

    /// Runs a built image.
    async fn run_image(&self, req: &RunRequest) -> Result<Container, CapabilityError> {
        let _ = req;
        Err(unsupported("run-image"))
    }

    /// Sends an HTTP GET to a started container.
    async fn http_get(&self, req: &HttpRequest) -> Result<HttpResponse, CapabilityError> {
        let _ = req;
        Err(unsupported("http-get"))
    }

    /// Stops a started container.
    async fn stop_container(&self, handle: &str) -> Result<(), CapabilityError> {
        let _ = handle;
        Err(unsupported("stop-container"))
    }
}

/// The error for an answer that does not fit its request (a fixture written
/// for another call).
fn wrong_shape(answer: &Answer) -> CapabilityError {
    CapabilityError::Failed(format!("the recorded answer has the wrong shape: {answer:?}"))
}

fn unsupported(what: &str) -> CapabilityError {
    CapabilityError::Unsupported(format!("this environment cannot {what}"))
}

/// An environment with nothing in it: every call is `unsupported`. Used to
/// read a plugin's identity at load time and for plugins that need no
/// capability.
#[derive(Debug, Default)]
pub struct Detached;

impl Environment for Detached {}

/// The set of capabilities a lab grants its plugins.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grants(BTreeSet<Capability>);

impl Grants {
    /// Grants nothing.
    pub fn none() -> Self {
        Grants::default()
    }

    /// Grants every capability (offline runs against a fixture).
    pub fn all() -> Self {
        Grants(Capability::ALL.into_iter().collect())
    }

    /// Whether `cap` is granted.
    pub fn allows(&self, cap: Capability) -> bool {
        self.0.contains(&cap)
    }

    /// Checks `cap`, answering `denied` with a message that says how to grant it.
    pub fn require(&self, cap: Capability) -> Result<(), CapabilityError> {
        if self.allows(cap) {
            Ok(())
        } else {
            Err(CapabilityError::Denied(format!(
                "the lab does not grant the `{cap}` capability to its plugins \
                 (add it to `capabilities` in lab.toml)"
            )))
        }
    }

    /// The granted capabilities.
    pub fn iter(&self) -> impl Iterator<Item = Capability> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Capability> for Grants {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        Grants(iter.into_iter().collect())
    }
}

/// One capability call, as recorded and replayed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "capability", rename_all = "kebab-case")]
pub enum Request {
    /// `run` or one command of `run-all`.
    Exec(Command),
    /// `read-file`.
    ReadFile(ReadFile),
    /// `build-image`.
    BuildImage(BuildRequest),
    /// `run-image`.
    RunImage(RunRequest),
    /// `http-get`.
    HttpGet(HttpRequest),
    /// `stop-container`.
    StopContainer {
        /// The container's handle.
        handle: String,
    },
}

impl Request {
    /// The capability a lab must grant for this request.
    pub fn capability(&self) -> Capability {
        match self {
            Request::Exec(_) => Capability::Exec,
            Request::ReadFile(_) => Capability::ReadFile,
            Request::BuildImage(_) => Capability::BuildImage,
            Request::RunImage(_) | Request::HttpGet(_) | Request::StopContainer { .. } => {
                Capability::RunImage
            }
        }
    }

    /// A short description for messages, e.g. `exec ["ls", "-l"] on main`.
    pub fn describe(&self) -> String {
        match self {
            Request::Exec(c) => format!("exec {:?} on {}", c.argv, c.machine),
            Request::ReadFile(r) => format!("read-file {} on {}", r.path, r.machine),
            Request::BuildImage(b) => format!("build-image {} on {}", b.context_dir, b.machine),
            Request::RunImage(r) => format!("run-image {}", r.image),
            Request::HttpGet(h) => format!("http-get {}:{}{}", h.container, h.port, h.path),
            Request::StopContainer { handle } => format!("stop-container {handle}"),
        }
    }

    /// Sends this request to `env` and returns the answer as JSON.
    pub async fn send(&self, env: &dyn Environment) -> Result<Answer, CapabilityError> {
        Ok(match self {
            Request::Exec(c) => Answer::Exec(env.exec(c).await?),
            Request::ReadFile(r) => Answer::ReadFile(env.read_file(r).await?),
            Request::BuildImage(b) => Answer::BuildImage(env.build_image(b).await?),
            Request::RunImage(r) => Answer::RunImage(env.run_image(r).await?),
            Request::HttpGet(h) => Answer::HttpGet(env.http_get(h).await?),
            Request::StopContainer { handle } => {
                env.stop_container(handle).await?;
                Answer::StopContainer
            }
        })
    }
}

/// A successful answer to a [`Request`]. Its JSON form carries no tag: the
/// request it answers says which kind it is (see [`Answer::decode`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// Answer to `exec`.
    Exec(CommandOutput),
    /// Answer to `read-file`.
    ReadFile(FileContent),
    /// Answer to `build-image`.
    BuildImage(BuildReport),
    /// Answer to `run-image`.
    RunImage(Container),
    /// Answer to `http-get`.
    HttpGet(HttpResponse),
    /// Answer to `stop-container`.
    StopContainer,
}

impl Answer {
    /// Reads the JSON answer to `request`.
    pub fn decode(request: &Request, json: serde_json::Value) -> Result<Answer, serde_json::Error> {
        use serde_json::from_value as from;
        Ok(match request {
            Request::Exec(_) => Answer::Exec(from(json)?),
            Request::ReadFile(_) => Answer::ReadFile(from(json)?),
            Request::BuildImage(_) => Answer::BuildImage(from(json)?),
            Request::RunImage(_) => Answer::RunImage(from(json)?),
            Request::HttpGet(_) => Answer::HttpGet(from(json)?),
            Request::StopContainer { .. } => Answer::StopContainer,
        })
    }
}

/// One capability call and what it answered: the unit of fixtures and
/// recordings. Exactly one of `ok` and `error` is present.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    /// What the plugin asked.
    pub request: Request,
    /// The answer, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<serde_json::Value>,
    /// The error, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<CapabilityError>,
}

impl Exchange {
    /// Records a request and its outcome.
    pub fn new(request: Request, outcome: &Result<Answer, CapabilityError>) -> Exchange {
        match outcome {
            Ok(answer) => Exchange {
                request,
                ok: Some(serde_json::to_value(answer).unwrap_or_default()),
                error: None,
            },
            Err(e) => Exchange { request, ok: None, error: Some(e.clone()) },
        }
    }

    /// The recorded outcome, typed for its request.
    pub fn outcome(&self) -> Result<Result<Answer, CapabilityError>, String> {
        match (&self.ok, &self.error) {
            (Some(json), None) => Answer::decode(&self.request, json.clone())
                .map(Ok)
                .map_err(|e| format!("answer to {} is malformed: {e}", self.request.describe())),
            (None, Some(err)) => Ok(Err(err.clone())),
            _ => Err(format!(
                "call {} needs exactly one of `ok` and `error`",
                self.request.describe()
            )),
        }
    }
}
