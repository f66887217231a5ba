//! Building a verdict, and hints.

use crate::bindings::types as wit;

/// A judge's answer for one task: checks, and optionally a score, metrics
/// and log lines.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    not_gradable: Option<String>,
    checks: Vec<Check>,
    score: Option<(f64, f64)>,
    metrics: Vec<(String, Metric)>,
    log: Vec<String>,
}

impl Default for Verdict {
    fn default() -> Self {
        Verdict::new()
    }
}

impl Verdict {
    /// An empty verdict; add checks to it.
    pub fn new() -> Self {
        Verdict { not_gradable: None, checks: Vec::new(), score: None, metrics: Vec::new(), log: Vec::new() }
    }

    /// A verdict saying the environment is broken and the task cannot be
    /// graded; the learner is not at fault.
    pub fn not_gradable(reason: impl Into<String>) -> Self {
        Verdict { not_gradable: Some(reason.into()), ..Verdict::new() }
    }

    /// Adds a check and returns it, to add a hint or hide its details.
    pub fn check(&mut self, id: impl Into<String>, passed: bool, message: impl Into<String>) -> &mut Check {
        self.checks.push(Check { id: id.into(), passed, message: message.into(), hint: None, details_hidden: false });
        self.checks.last_mut().expect("just pushed")
    }

    /// Adds a passing check.
    pub fn pass(&mut self, id: impl Into<String>, message: impl Into<String>) -> &mut Check {
        self.check(id, true, message)
    }

    /// Adds a failing check.
    pub fn fail(&mut self, id: impl Into<String>, message: impl Into<String>) -> &mut Check {
        self.check(id, false, message)
    }

    /// Sets the score.
    pub fn score(&mut self, points: f64, max: f64) -> &mut Self {
        self.score = Some((points, max));
        self
    }

    /// Adds a metric (a number or a text).
    pub fn metric(&mut self, name: impl Into<String>, value: impl Into<Metric>) -> &mut Self {
        self.metrics.push((name.into(), value.into()));
        self
    }

    /// Adds a line to the verdict's log.
    pub fn log(&mut self, line: impl Into<String>) -> &mut Self {
        self.log.push(line.into());
        self
    }

    /// The checks so far.
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// Whether every check passed (and there is at least one).
    pub fn passed(&self) -> bool {
        self.not_gradable.is_none() && !self.checks.is_empty() && self.checks.iter().all(|c| c.passed)
    }

    /// The first failed check, if any.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.passed)
    }

    /// Why the task could not be graded, if it could not.
    pub fn not_gradable_reason(&self) -> Option<&str> {
        self.not_gradable.as_deref()
    }
}

/// One check of a verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Stable identifier, e.g. `file_missing`.
    pub id: String,
    /// Whether it passed.
    pub passed: bool,
    /// What was found.
    pub message: String,
    /// What to try next.
    pub hint: Option<String>,
    /// Whether learners see only the outcome.
    pub details_hidden: bool,
}

impl Check {
    /// Adds a hint for the learner.
    pub fn hint(&mut self, hint: impl Into<String>) -> &mut Self {
        self.hint = Some(hint.into());
        self
    }

    /// Shows learners only whether this check passed, not its message or
    /// hint (for checks that would give the answer away).
    pub fn hide_details(&mut self) -> &mut Self {
        self.details_hidden = true;
        self
    }
}

/// A metric value.
#[derive(Clone, Debug, PartialEq)]
pub enum Metric {
    /// A number.
    Number(f64),
    /// A text.
    Text(String),
}

impl From<f64> for Metric {
    fn from(n: f64) -> Self {
        Metric::Number(n)
    }
}

impl From<u64> for Metric {
    fn from(n: u64) -> Self {
        Metric::Number(n as f64)
    }
}

impl From<&str> for Metric {
    fn from(t: &str) -> Self {
        Metric::Text(t.to_owned())
    }
}

impl From<String> for Metric {
    fn from(t: String) -> Self {
        Metric::Text(t)
    }
}

/// A hint for a learner who is stuck.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hint {
    /// The text (Markdown).
    pub text: String,
    /// How specific it is, from 1 (a nudge).
    pub level: u32,
}

impl Hint {
    /// A hint at `level`.
    pub fn new(level: u32, text: impl Into<String>) -> Self {
        Hint { text: text.into(), level }
    }

    /// Picks from hints ordered from vague to specific: one more step with
    /// each failed attempt, staying on the last.
    pub fn ladder(steps: &[&str], attempts: u32) -> Option<Hint> {
        let index = (attempts.saturating_sub(1) as usize).min(steps.len().checked_sub(1)?);
        Some(Hint::new(index as u32 + 1, steps[index]))
    }
}

impl From<Verdict> for wit::Verdict {
    fn from(v: Verdict) -> Self {
        wit::Verdict {
            grading: match v.not_gradable {
                Some(reason) => wit::Grading::NotGradable(reason),
                None => wit::Grading::Graded,
            },
            checks: v
                .checks
                .into_iter()
                .map(|c| wit::Check {
                    id: c.id,
                    passed: c.passed,
                    message: c.message,
                    hint: c.hint,
                    visibility: if c.details_hidden { wit::Visibility::OutcomeOnly } else { wit::Visibility::Details },
                })
                .collect(),
            score: v.score.map(|(points, max)| wit::Score { points, max }),
            metrics: v
                .metrics
                .into_iter()
                .map(|(name, value)| wit::Metric {
                    name,
                    value: match value {
                        Metric::Number(n) => wit::MetricValue::Number(n),
                        Metric::Text(t) => wit::MetricValue::Text(t),
                    },
                })
                .collect(),
            log: v.log,
        }
    }
}

impl From<wit::Verdict> for Verdict {
    fn from(v: wit::Verdict) -> Self {
        Verdict {
            not_gradable: match v.grading {
                wit::Grading::NotGradable(reason) => Some(reason),
                wit::Grading::Graded => None,
            },
            checks: v
                .checks
                .into_iter()
                .map(|c| Check {
                    id: c.id,
                    passed: c.passed,
                    message: c.message,
                    hint: c.hint,
                    details_hidden: c.visibility == wit::Visibility::OutcomeOnly,
                })
                .collect(),
            score: v.score.map(|s| (s.points, s.max)),
            metrics: v
                .metrics
                .into_iter()
                .map(|m| {
                    let value = match m.value {
                        wit::MetricValue::Number(n) => Metric::Number(n),
                        wit::MetricValue::Text(t) => Metric::Text(t),
                    };
                    (m.name, value)
                })
                .collect(),
            log: v.log,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ladder_gets_more_specific_and_stays_on_the_last_step() {
        let steps = ["nudge", "closer", "answer"];
        assert_eq!(Hint::ladder(&steps, 0), Some(Hint::new(1, "nudge")));
        assert_eq!(Hint::ladder(&steps, 1), Some(Hint::new(1, "nudge")));
        assert_eq!(Hint::ladder(&steps, 2), Some(Hint::new(2, "closer")));
        assert_eq!(Hint::ladder(&steps, 9), Some(Hint::new(3, "answer")));
        assert_eq!(Hint::ladder(&[], 3), None);
    }

    #[test]
    fn a_verdict_passes_only_with_checks_all_passing() {
        let mut v = Verdict::new();
        assert!(!v.passed(), "no checks is not a pass");
        v.pass("a", "ok");
        assert!(v.passed());
        v.fail("b", "missing").hint("create it");
        assert!(!v.passed());
        assert_eq!(v.first_failure().map(|c| c.id.as_str()), Some("b"));
        let round: Verdict = wit::Verdict::from(v.clone()).into();
        assert_eq!(round, v);
    }
}
