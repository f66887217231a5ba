//! Recording: capture every capability call of a grading and its answer, so
//! that the grading can be replayed exactly with [`super::fixture::Replay`].

use std::sync::{Arc, Mutex};

use super::{
    Answer, BuildReport, BuildRequest, CapabilityError, Command, CommandOutput, Container,
    Environment, Exchange, FileContent, HttpRequest, HttpResponse, ReadFile, Request, RunRequest,
    wrong_shape,
};

/// Wraps an environment and records each call that passes through it.
pub struct Recorder {
    inner: Arc<dyn Environment>,
    calls: Mutex<Vec<Exchange>>,
}

impl Recorder {
    /// Records calls made to `inner`.
    pub fn new(inner: Arc<dyn Environment>) -> Recorder {
        Recorder { inner, calls: Mutex::new(Vec::new()) }
    }

    /// The calls recorded so far, in the order they completed.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.calls.lock().expect("recorder").clone()
    }

    async fn dispatch(&self, request: Request) -> Result<Answer, CapabilityError> {
        let outcome = request.send(self.inner.as_ref()).await;
        self.calls.lock().expect("recorder").push(Exchange::new(request, &outcome));
        outcome
    }
}

environment_via_dispatch!(Recorder);
