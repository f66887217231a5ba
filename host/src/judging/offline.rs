//! Offline grading: a judge against a fixture of recorded capability answers,
//! exactly as `proctor judge run` does it.

use std::sync::Arc;

use crate::{
    capabilities::{
        Grants, Request,
        fixture::{Fixture, Replay},
    },
    plugins::{CallContext, Limits, Plugin, PluginEngine, Task, Verdict},
};

/// The outcome of an offline run.
#[derive(Debug)]
pub struct OfflineRun {
    /// The verdict.
    pub verdict: Verdict,
    /// Calls the fixture had no answer for.
    pub unanswered: Vec<Request>,
    /// Recorded calls that were never asked for.
    pub unused: usize,
}

/// The task an offline run grades: the fixture supplies machines and params.
pub fn offline_task(lab: &str, task: &str, fixture: &Fixture) -> Task {
    let machines = if fixture.machines.is_empty() { vec!["main".to_owned()] } else { fixture.machines.clone() };
    Task { lab: lab.into(), task: task.into(), session: "offline".into(), machines, params: fixture.params.clone() }
}

/// Checks `task` with `plugin`, answering its capability calls from `fixture`.
/// The fixture's grants apply (all capabilities when it names none).
pub async fn check_with_fixture(
    engine: &PluginEngine,
    plugin: &Plugin,
    task: &Task,
    fixture: &Fixture,
    limits: Limits,
) -> Result<OfflineRun, String> {
    let replay = Arc::new(Replay::new(fixture)?);
    let grants = fixture.grants.clone().map_or_else(Grants::all, |g| g.into_iter().collect());
    let verdict = engine.check(plugin, task, CallContext { env: replay.clone(), grants, limits }).await;
    Ok(OfflineRun { verdict, unanswered: replay.unanswered(), unused: replay.unused() })
}
