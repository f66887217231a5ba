//! What plugins are asked about and what they answer, as the host keeps it.
//!
//! The guest's `verdict` record becomes a [`Verdict`] with a status the host
//! derives (`passed`, `failed`, `not-gradable`) or assigns (`error`, when the
//! call broke a limit or the plugin crashed).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{bindings::types as wit, limits::Limit};

/// The task a plugin is asked about.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// The lab's id.
    pub lab: String,
    /// The task's id within the lab.
    pub task: String,
    /// The session's id.
    pub session: String,
    /// The session's machines; the first is the default.
    pub machines: Vec<String>,
    /// Parameters from the lab file.
    pub params: Vec<(String, String)>,
}

impl From<&Task> for wit::Task {
    fn from(t: &Task) -> Self {
        wit::Task {
            lab: t.lab.clone(),
            task: t.task.clone(),
            session: t.session.clone(),
            machines: t.machines.clone(),
            params: t.params.clone(),
        }
    }
}

/// The outcome of a check call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Every check passed.
    Passed,
    /// At least one check failed.
    Failed,
    /// The environment is broken; the learner is not at fault.
    NotGradable,
    /// The judge could not give an answer: it broke a limit or crashed.
    Error,
}

/// Whether the learner may see a check's details.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Visibility {
    /// Message and hint are shown.
    Details,
    /// Only the outcome is shown.
    OutcomeOnly,
}

/// One graded check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    /// Stable identifier.
    pub id: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was found.
    pub message: String,
    /// What to try next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// Who may see message and hint.
    pub visibility: Visibility,
}

/// A measured value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MetricValue {
    /// A number.
    Number(f64),
    /// A text.
    Text(String),
}

/// A score out of a maximum.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// Points earned.
    pub points: f64,
    /// Points available.
    pub max: f64,
}

/// Which plugin produced an answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRef {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// SHA-256 of the component.
    pub digest: String,
}

/// What a call cost.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStats {
    /// Wall time of the call, instantiation included, in microseconds.
    pub duration_us: u64,
    /// Fuel consumed. A call stopped by its wall time undercounts: wasm code
    /// keeps its running count in a register that the interrupt discards.
    pub fuel_used: u64,
    /// Capability calls made.
    pub capability_calls: u32,
}

/// A judge's answer, or the host's account of why there is none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Overall outcome.
    pub status: Status,
    /// Why the task is not gradable, or what went wrong for `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The limit that was broken, for `error` verdicts caused by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Limit>,
    /// The checks, in display order.
    pub checks: Vec<Check>,
    /// Optional score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    /// Measurements.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, MetricValue>,
    /// Log lines: the plugin's log calls, stdout and stderr, then the verdict's own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
    /// The plugin that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<PluginRef>,
    /// What the call cost.
    #[serde(default)]
    pub stats: CallStats,
}

impl Verdict {
    /// An `error` verdict, with the limit when one was broken.
    pub fn error(reason: impl Into<String>, limit: Option<Limit>) -> Verdict {
        Verdict {
            status: Status::Error,
            reason: Some(reason.into()),
            limit,
            checks: Vec::new(),
            score: None,
            metrics: BTreeMap::new(),
            log: Vec::new(),
            plugin: None,
            stats: CallStats::default(),
        }
    }

    /// The host's verdict from the guest's, with the status derived from the
    /// checks. A graded verdict without checks is a judge bug, not a pass.
    pub(crate) fn from_guest(v: wit::Verdict) -> Verdict {
        let checks: Vec<Check> = v.checks.into_iter().map(Check::from).collect();
        let (status, reason) = match v.grading {
            wit::Grading::NotGradable(why) => (Status::NotGradable, Some(why)),
            wit::Grading::Graded if checks.is_empty() => {
                (Status::Error, Some("the judge returned no checks".to_owned()))
            }
            wit::Grading::Graded if checks.iter().all(|c| c.passed) => (Status::Passed, None),
            wit::Grading::Graded => (Status::Failed, None),
        };
        Verdict {
            status,
            reason,
            limit: None,
            checks,
            score: v.score.map(|s| Score { points: s.points, max: s.max }),
            metrics: v
                .metrics
                .into_iter()
                .map(|m| {
                    let value = match m.value {
                        wit::MetricValue::Number(n) => MetricValue::Number(n),
                        wit::MetricValue::Text(t) => MetricValue::Text(t),
                    };
                    (m.name, value)
                })
                .collect(),
            log: v.log,
            plugin: None,
            stats: CallStats::default(),
        }
    }

    /// The verdict as a learner may see it: details of `outcome-only` checks
    /// and the plugin's log are removed.
    pub fn for_learner(&self) -> Verdict {
        let mut v = self.clone();
        for c in &mut v.checks {
            if c.visibility == Visibility::OutcomeOnly {
                c.message = if c.passed { "passed".into() } else { "failed".into() };
                c.hint = None;
            }
        }
        v.log.clear();
        v
    }
}

impl From<wit::Check> for Check {
    fn from(c: wit::Check) -> Self {
        Check {
            id: c.id,
            passed: c.passed,
            message: c.message,
            hint: c.hint,
            visibility: match c.visibility {
                wit::Visibility::Details => Visibility::Details,
                wit::Visibility::OutcomeOnly => Visibility::OutcomeOnly,
            },
        }
    }
}

impl From<&Verdict> for wit::Verdict {
    fn from(v: &Verdict) -> Self {
        wit::Verdict {
            grading: match (&v.status, &v.reason) {
                (Status::NotGradable, reason) => {
                    wit::Grading::NotGradable(reason.clone().unwrap_or_default())
                }
                _ => wit::Grading::Graded,
            },
            checks: v
                .checks
                .iter()
                .map(|c| wit::Check {
                    id: c.id.clone(),
                    passed: c.passed,
                    message: c.message.clone(),
                    hint: c.hint.clone(),
                    visibility: match c.visibility {
                        Visibility::Details => wit::Visibility::Details,
                        Visibility::OutcomeOnly => wit::Visibility::OutcomeOnly,
                    },
                })
                .collect(),
            score: v.score.map(|s| wit::Score { points: s.points, max: s.max }),
            metrics: v
                .metrics
                .iter()
                .map(|(name, value)| wit::Metric {
                    name: name.clone(),
                    value: match value {
                        MetricValue::Number(n) => wit::MetricValue::Number(*n),
                        MetricValue::Text(t) => wit::MetricValue::Text(t.clone()),
                    },
                })
                .collect(),
            log: Vec::new(),
        }
    }
}

/// A hint for a learner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hint {
    /// Hint text (Markdown).
    pub text: String,
    /// How specific it is, from 1.
    pub level: u32,
}

/// Why a plugin call gave no answer (for calls other than `check`, whose
/// failures become `error` verdicts).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{reason}")]
pub struct CallFailure {
    /// What went wrong.
    pub reason: String,
    /// The limit that was broken, if one was.
    pub limit: Option<Limit>,
}

/// Size of a guest value as the output budget counts it: the bytes of its
/// texts, which is what a flooding plugin inflates.
pub(crate) fn guest_verdict_bytes(v: &wit::Verdict) -> usize {
    let checks: usize = v
        .checks
        .iter()
        .map(|c| c.id.len() + c.message.len() + c.hint.as_ref().map_or(0, String::len))
        .sum();
    let metrics: usize = v
        .metrics
        .iter()
        .map(|m| m.name.len() + if let wit::MetricValue::Text(t) = &m.value { t.len() } else { 8 })
        .sum();
    let log: usize = v.log.iter().map(String::len).sum();
    checks + metrics + log
}
