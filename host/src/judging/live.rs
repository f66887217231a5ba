//! Live grading: a lab's judge checks a task in a learner's running
//! session. Every check is recorded as an attempt with the capability calls
//! it made, so the grade can be replayed exactly with `proctor judge run`.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use crate::{
    capabilities::{Environment, fixture::Fixture, record::Recorder},
    labs::Lab,
    plugins::{CallContext, Hint, Registry, Status, Task, Verdict},
    runtime::session_env::SessionEnvironment,
    sessions::{Clock, Phase, Session, SessionError, Sessions, SystemClock},
    store::AttemptRow,
};

/// Why a check or hint could not be run.
#[derive(Debug, thiserror::Error)]
pub enum JudgingError {
    /// The lab has no such task.
    #[error("lab `{lab}` has no task `{task}`")]
    UnknownTask {
        /// The lab.
        lab: String,
        /// The task asked for.
        task: String,
    },
    /// Checks need a running session.
    #[error("the session is {0}: checks need a running session")]
    NotRunning(&'static str),
    /// The lab has no judge, or its plugin is not loaded.
    #[error("this lab's judge is not available: {0}")]
    JudgeUnavailable(String),
    /// The session layer failed.
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// A recorded check.
#[derive(Clone, Debug)]
pub struct Attempt {
    /// The stored row.
    pub row: AttemptRow,
    /// The verdict as the judge gave it (the learner sees `for_learner()`).
    pub verdict: Verdict,
}

fn plugin_task(lab: &Lab, session: &Session, task: &str) -> Task {
    Task {
        lab: lab.id.clone(),
        task: task.to_owned(),
        session: session.id.clone(),
        machines: lab.machines.iter().map(|m| m.name.clone()).collect(),
        params: lab.task(task).map(|t| t.params.clone()).unwrap_or_default(),
    }
}

fn ready(lab: &Lab, session: &Session, task: &str) -> Result<(), JudgingError> {
    if lab.task(task).is_none() {
        return Err(JudgingError::UnknownTask { lab: lab.id.clone(), task: task.to_owned() });
    }
    match session.phase {
        Phase::Running => Ok(()),
        other => Err(JudgingError::NotRunning(if other == Phase::Starting { "starting" } else { "over" })),
    }
}

/// Checks `task` of `lab` in `session` with the lab's serving judge and
/// records the attempt.
#[tracing::instrument(skip_all, fields(session = %session.id, lab = %lab.id, task))]
pub async fn check(registry: &Registry, sessions: &Sessions, lab: &Lab, session: &Session, task: &str) -> Result<Attempt, JudgingError> {
    ready(lab, session, task)?;
    let judge = lab.judge.as_ref().ok_or_else(|| JudgingError::JudgeUnavailable("the lab names no judge".into()))?;
    let plugin = registry.serving(&judge.plugin).map_err(|e| JudgingError::JudgeUnavailable(e.to_string()))?;
    let live: Arc<dyn Environment> = Arc::new(SessionEnvironment::new(sessions.runtime().clone(), session.id.clone()));
    let recorder = Arc::new(Recorder::new(live));
    let ctx = CallContext { env: recorder.clone(), grants: judge.grants.clone(), limits: judge.limits.clone() };
    let plugin_task = plugin_task(lab, session, task);
    let verdict = registry.engine().check(&plugin, &plugin_task, ctx).await;
    plugin.usage.record(Duration::from_micros(verdict.stats.duration_us), verdict.status == Status::Error);
    let recording = Fixture {
        machines: lab.machines.iter().map(|m| m.name.clone()).collect(),
        params: plugin_task.params,
        grants: Some(judge.grants.iter().collect()),
        calls: recorder.exchanges(),
    };
    let row = AttemptRow {
        id: format!("a{:016x}", rand::random::<u64>()),
        session_id: session.id.clone(),
        owner: session.owner.clone().unwrap_or_default(),
        lab: lab.id.clone(),
        task: task.to_owned(),
        status: serde_json::to_value(verdict.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
        verdict: serde_json::to_string(&verdict).unwrap_or_default(),
        recording: serde_json::to_string(&recording).unwrap_or_default(),
        plugin: verdict.plugin.as_ref().map(|p| p.name.clone()),
        plugin_version: verdict.plugin.as_ref().map(|p| p.version.clone()),
        duration_us: verdict.stats.duration_us as i64,
        created_at: SystemClock.now(),
    };
    sessions.store().insert_attempt(&row).await.map_err(SessionError::from)?;
    sessions.touch(&session.id).await?;
    Ok(Attempt { row, verdict })
}

/// Asks the lab's hint provider for a hint on `task`, given the learner's
/// attempts at it so far. `None` when the lab has no hints or the provider
/// has nothing to say.
pub async fn hint(registry: &Registry, sessions: &Sessions, lab: &Lab, session: &Session, task: &str) -> Result<Option<Hint>, JudgingError> {
    ready(lab, session, task)?;
    let Some(judge) = &lab.judge else { return Ok(None) };
    let Some(name) = &judge.hints else { return Ok(None) };
    let plugin = registry.serving(name).map_err(|e| JudgingError::JudgeUnavailable(e.to_string()))?;
    let attempts = sessions.store().attempts(&session.id, Some(task)).await.map_err(SessionError::from)?;
    let last: Option<Verdict> = attempts.last().and_then(|a| serde_json::from_str(&a.verdict).ok());
    let env: Arc<dyn Environment> = Arc::new(SessionEnvironment::new(sessions.runtime().clone(), session.id.clone()));
    let ctx = CallContext { env, grants: judge.grants.clone(), limits: judge.limits.clone() };
    let failed = attempts.iter().filter(|a| a.status != "passed").count() as u32;
    sessions.touch(&session.id).await?;
    let began = Instant::now();
    let hint = registry.engine().hint(&plugin, &plugin_task(lab, session, task), failed, last.as_ref(), ctx).await;
    plugin.usage.record(began.elapsed(), hint.is_err());
    hint.map_err(|e| JudgingError::JudgeUnavailable(format!("the hint provider failed: {e}")))
}
