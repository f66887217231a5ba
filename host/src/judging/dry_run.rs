//! The dry run an uploaded judge passes before it may serve: every recorded
//! case (`[[judge.fixtures]]`) of every lab it judges is graded offline, and
//! each must get the verdict the lab expects.

use serde::Serialize;

use super::offline::{check_with_fixture, offline_task};
use crate::{
    capabilities::fixture::Fixture,
    labs::Lab,
    plugins::{Plugin, PluginEngine},
};

/// One case graded.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CaseOutcome {
    /// The lab.
    pub lab: String,
    /// The task.
    pub task: String,
    /// The fixture file, relative to the lab.
    pub fixture: String,
    /// The verdict the lab expects.
    pub expect: String,
    /// The verdict given (`passed`, `failed`, `not-gradable`, `error`).
    pub status: String,
    /// What went wrong, when the case did not go as expected.
    pub problem: Option<String>,
}

impl CaseOutcome {
    /// Whether the judge graded the case as the lab expects.
    pub fn ok(&self) -> bool {
        self.problem.is_none()
    }
}

/// Grades every recorded case of the labs `plugin` judges. Labs that judge
/// with another plugin, or that record no case, add nothing.
pub async fn dry_run(engine: &PluginEngine, plugin: &Plugin, labs: &[std::sync::Arc<Lab>]) -> Vec<CaseOutcome> {
    let mut outcomes = Vec::new();
    for lab in labs {
        let Some(judge) = lab.judge.as_ref().filter(|j| j.plugin == plugin.name) else { continue };
        for case in &judge.fixtures {
            let shown = case.file.strip_prefix(&lab.dir).unwrap_or(&case.file).display().to_string();
            let mut outcome =
                CaseOutcome { lab: lab.id.clone(), task: case.task.clone(), fixture: shown, expect: case.expect.clone(), status: "error".into(), problem: None };
            match Fixture::load(&case.file) {
                Err(e) => outcome.problem = Some(e.to_string()),
                Ok(fixture) => match check_with_fixture(engine, plugin, &offline_task(&lab.id, &case.task, &fixture), &fixture, judge.limits.clone()).await {
                    Err(e) => outcome.problem = Some(e),
                    Ok(run) => {
                        outcome.status = serde_json::to_value(run.verdict.status).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
                        if outcome.status != case.expect {
                            let said = run.verdict.reason.clone().or_else(|| run.verdict.checks.iter().find(|c| !c.passed).map(|c| c.message.clone()));
                            let said = said.map(|s| format!(": {s}")).unwrap_or_default();
                            outcome.problem = Some(format!("expected {}, got {}{said}", case.expect, outcome.status));
                        } else if !run.unanswered.is_empty() {
                            // The new version asks what the recording never saw:
                            // its verdict rests on guesses, not on the case.
                            outcome.problem = Some(format!("{} call(s) the recording cannot answer", run.unanswered.len()));
                        }
                    }
                },
            }
            outcomes.push(outcome);
        }
    }
    outcomes
}
