//! `proctor lab test`: proves a lab's judge against a real session. For
//! each lab: start a session (its setup script runs), check every task and
//! require a failure, run the reference solution, check again and require
//! a pass, end the session. A check that passes before the solution cannot
//! tell right from wrong; one that fails after it rejects a correct answer;
//! both are deviations, and so is anything that keeps the steps from
//! running.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::live;
use crate::{
    capabilities::Command,
    labs::{Lab, RuntimeKind},
    plugins::{Registry, Status, Verdict},
    runtime::SCRIPT_RUNNER,
    sessions::{EndReason, Sessions},
};

/// The longest a reference solution may run.
const SOLVE_TIMEOUT: Duration = Duration::from_secs(600);

/// One task's two checks.
#[derive(Clone, Debug, Serialize)]
pub struct TaskOutcome {
    /// The task.
    pub task: String,
    /// The verdict before the solution (`failed` expected).
    pub before: Option<Status>,
    /// The verdict after it (`passed` expected).
    pub after: Option<Status>,
    /// The first check's time, milliseconds.
    pub before_ms: u64,
    /// The second check's time, milliseconds.
    pub after_ms: u64,
    /// What was not as expected.
    pub deviations: Vec<String>,
}

/// One lab's run.
#[derive(Clone, Debug, Serialize)]
pub struct LabOutcome {
    /// The lab.
    pub lab: String,
    /// Why it was not run, when it was not (not a deviation).
    pub skipped: Option<String>,
    /// Its tasks, in order.
    pub tasks: Vec<TaskOutcome>,
    /// Session start, setup included, milliseconds.
    pub start_ms: u64,
    /// The reference solution's run, milliseconds.
    pub solve_ms: u64,
    /// The whole run, milliseconds.
    pub total_ms: u64,
    /// What went wrong outside the tasks' checks.
    pub deviations: Vec<String>,
}

impl LabOutcome {
    /// Whether the lab behaved: every check failed before and passed after.
    pub fn passed(&self) -> bool {
        self.deviations.is_empty() && self.tasks.iter().all(|t| t.deviations.is_empty())
    }

    fn new(lab: &str) -> LabOutcome {
        LabOutcome { lab: lab.to_owned(), skipped: None, tasks: Vec::new(), start_ms: 0, solve_ms: 0, total_ms: 0, deviations: Vec::new() }
    }
}

fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

/// Runs the test of `lab` on `sessions`' runtime with `registry`'s judges.
/// A lab this runtime cannot run is skipped, not failed.
#[tracing::instrument(skip_all, fields(lab = %lab.id))]
pub async fn run(registry: &Registry, sessions: &Sessions, lab: &Lab) -> LabOutcome {
    if lab.runtime != RuntimeKind::Docker {
        return LabOutcome { skipped: Some("runs on KubeVirt virtual machines; this runtime runs containers".into()), ..LabOutcome::new(&lab.id) };
    }
    let began = Instant::now();
    let mut outcome = LabOutcome::new(&lab.id);
    let Some(solve) = &lab.solve else {
        outcome.deviations.push("the lab has no solve.sh: write the reference solution so its checks can be proved".into());
        return outcome;
    };
    let started = match sessions.start(&format!("lab-test-{}", std::process::id()), &lab.id).await {
        Ok(s) => s.session,
        Err(e) => {
            outcome.deviations.push(format!("the session did not start: {e}"));
            outcome.total_ms = ms(began);
            return outcome;
        }
    };
    outcome.start_ms = ms(began);

    outcome.tasks = lab.tasks.iter().map(|t| TaskOutcome { task: t.id.clone(), before: None, after: None, before_ms: 0, after_ms: 0, deviations: Vec::new() }).collect();
    for task in &mut outcome.tasks {
        let t = Instant::now();
        let verdict = live::check(registry, sessions, lab, &started, &task.task).await;
        task.before_ms = ms(t);
        task.before = judge(verdict, Status::Failed, "before solve.sh", &mut task.deviations);
    }

    let t = Instant::now();
    let machine = &lab.machines[0];
    let cmd = Command {
        machine: machine.name.clone(),
        argv: ["sh", "-c", SCRIPT_RUNNER, "solve.sh", solve].map(str::to_owned).to_vec(),
        workdir: Some(machine.workdir.clone()),
        timeout: Some(SOLVE_TIMEOUT),
        max_output_bytes: Some(64 * 1024),
        ..Command::default()
    };
    match sessions.runtime().exec(&started.id, &cmd).await {
        Ok(out) if out.exit_code == 0 => {}
        Ok(out) => {
            outcome.deviations.push(format!("solve.sh exited {}: {}", out.exit_code, out.said_tail(5)));
        }
        Err(e) => outcome.deviations.push(format!("solve.sh could not run: {e}")),
    }
    outcome.solve_ms = ms(t);

    if outcome.deviations.is_empty() {
        for task in &mut outcome.tasks {
            let t = Instant::now();
            let verdict = live::check(registry, sessions, lab, &started, &task.task).await;
            task.after_ms = ms(t);
            task.after = judge(verdict, Status::Passed, "after solve.sh", &mut task.deviations);
        }
    }
    if let Err(e) = sessions.end(&started.id, EndReason::Admin).await {
        outcome.deviations.push(format!("the session did not end cleanly: {e}"));
    }
    outcome.total_ms = ms(began);
    outcome
}

/// The verdict's status, with a deviation noted when it is not `wanted`.
fn judge(verdict: Result<live::Attempt, super::live::JudgingError>, wanted: Status, when: &str, deviations: &mut Vec<String>) -> Option<Status> {
    let verdict: Verdict = match verdict {
        Ok(attempt) => attempt.verdict,
        Err(e) => {
            deviations.push(format!("{when}: the check could not run: {e}"));
            return None;
        }
    };
    if verdict.status != wanted {
        let detail = match verdict.status {
            Status::Passed => "it passed, so it cannot tell an untouched machine from a solved one".to_owned(),
            Status::Failed => {
                let failing: Vec<String> = verdict.checks.iter().filter(|c| !c.passed).map(|c| format!("{} ({})", c.id, c.message)).collect();
                format!("it failed: {}", failing.join("; "))
            }
            Status::NotGradable | Status::Error => {
                format!("it was {}: {}", status_name(verdict.status), verdict.reason.as_deref().unwrap_or("no reason given"))
            }
        };
        deviations.push(format!("{when}: {detail}"));
    }
    Some(verdict.status)
}

/// The status as the API spells it.
pub fn status_name(status: Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::Failed => "failed",
        Status::NotGradable => "not-gradable",
        Status::Error => "error",
    }
}

/// The results as a table, one row per task, then a line per lab.
pub fn table(outcomes: &[LabOutcome]) -> String {
    let mut out = format!("{:<24} {:<28} {:<14} {:<14} {:>9} {:>9}\n", "LAB", "TASK", "BEFORE", "AFTER", "BEFORE ms", "AFTER ms");
    let shown = |s: Option<Status>| s.map_or("-", status_name);
    for lab in outcomes {
        if let Some(why) = &lab.skipped {
            out.push_str(&format!("{:<24} skipped: {why}\n", lab.lab));
            continue;
        }
        for t in &lab.tasks {
            let mark = if t.deviations.is_empty() { "" } else { "  ✗" };
            out.push_str(&format!(
                "{:<24} {:<28} {:<14} {:<14} {:>9} {:>9}{mark}\n",
                lab.lab,
                t.task,
                shown(t.before),
                shown(t.after),
                t.before_ms,
                t.after_ms
            ));
            for d in &t.deviations {
                out.push_str(&format!("{:<24}   ✗ {d}\n", ""));
            }
        }
        for d in &lab.deviations {
            out.push_str(&format!("{:<24}   ✗ {d}\n", lab.lab));
        }
        let verdict = if lab.passed() { "ok" } else { "FAILED" };
        out.push_str(&format!(
            "{:<24} {verdict}: start {} ms, solve {} ms, total {} ms\n",
            lab.lab, lab.start_ms, lab.solve_ms, lab.total_ms
        ));
    }
    out
}
