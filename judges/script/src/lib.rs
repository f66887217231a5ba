//! The generic script judge: a task passes when its verify script exits 0
//! on the learner's machine. Labs imported from Killercoda use it, and any
//! lab whose checks are easiest written as shell can too.
//!
//! A task names its script in `lab.toml` (`verify = "path"`); the host
//! hands the script's text to the judge as the task parameter `verify`, so
//! the learner never sees it in their machine. Optional parameters:
//! `machine` (where to run it; default the lab's first), `workdir`,
//! `timeout_seconds` (default 30), and `hint` (the author's hint, given
//! first).

use std::time::Duration;

use proctor_sdk::{Error, Hint, HintProvider, Judge, Output, Task, Verdict, export};

/// The longest a verify script may run unless the task says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Shell scripts arrive as text; this runs them with bash when the machine
/// has it (Killercoda's scripts are bash) and sh otherwise.
const RUNNER: &str = r#"if command -v bash >/dev/null 2>&1; then exec bash -c "$1"; else exec sh -c "$1"; fi"#;

struct ScriptJudge;

impl Judge for ScriptJudge {
    fn check(task: &Task) -> Result<Verdict, Error> {
        let Some(script) = task.param("verify") else {
            return Ok(Verdict::not_gradable(format!("task `{}` has no verify script; set `verify` in lab.toml", task.id())));
        };
        let machine = task.param("machine").map_or_else(|| task.machine(), |m| task.machine_named(m));
        let timeout = task.param("timeout_seconds").and_then(|s| s.parse().ok()).map_or(DEFAULT_TIMEOUT, Duration::from_secs);
        let mut cmd = machine.command(["sh", "-c", RUNNER, "verify", script]).timeout(timeout).max_output(16 * 1024);
        if let Some(dir) = task.param("workdir") {
            cmd = cmd.workdir(dir);
        }
        match cmd.run() {
            Ok(out) => Ok(grade(&out)),
            Err(Error::TimedOut(_)) => {
                let mut v = Verdict::new();
                v.fail("verify", format!("the check did not finish within {} s", timeout.as_secs()))
                    .hint("Something the check waits for may still be starting; try again in a moment.");
                Ok(v)
            }
            Err(e) => Err(e),
        }
    }
}

/// Grades a verify script's run: exit 0 passes; otherwise the last line
/// it printed (if any) tells the learner what is missing.
pub fn grade(out: &Output) -> Verdict {
    let mut v = Verdict::new();
    if out.success() {
        v.pass("verify", "the check passed");
    } else {
        let (stdout, stderr) = (out.stdout_text(), out.stderr_text());
        let message = match last_line(&stdout).or_else(|| last_line(&stderr)) {
            Some(line) => line.to_owned(),
            None => format!("not done yet (the check exited {})", out.exit_code),
        };
        v.fail("verify", message).hint("Re-read the step: every command and name in it matters.");
    }
    v.metric("verify_ms", out.duration.as_millis() as u64);
    v
}

/// The last non-empty line of `text`, cut to a readable length.
fn last_line(text: &str) -> Option<&str> {
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    let end = line.char_indices().nth(300).map_or(line.len(), |(i, _)| i);
    Some(&line[..end])
}

struct ScriptHints;

impl HintProvider for ScriptHints {
    fn hint(task: &Task, attempts: u32, last: Option<&Verdict>) -> Option<Hint> {
        let said = last.and_then(Verdict::first_failure).map(|c| c.message.clone());
        let mut steps: Vec<String> = Vec::new();
        if let Some(hint) = task.param("hint") {
            steps.push(hint.to_owned());
        }
        steps.push("Re-read the step's instructions: every command, name and path in them matters.".to_owned());
        if let Some(said) = said.filter(|s| !s.starts_with("not done yet")) {
            steps.push(format!("The check said: {said}"));
        }
        steps.push("Run the step's commands again one by one and look at what each prints; an error often shows what is missing.".to_owned());
        let steps: Vec<&str> = steps.iter().map(String::as_str).collect();
        Hint::ladder(&steps, attempts)
    }
}

export!(judge: ScriptJudge, hints: ScriptHints);

#[cfg(test)]
mod tests {
    use super::*;

    fn output(exit_code: i32, stdout: &str, stderr: &str) -> Output {
        Output {
            exit_code,
            stdout: stdout.as_bytes().to_vec(),
            stderr: stderr.as_bytes().to_vec(),
            stdout_truncated: false,
            stderr_truncated: false,
            duration: Duration::from_millis(4),
        }
    }

    #[test]
    fn exit_zero_passes_and_anything_else_fails_with_what_the_script_said() {
        assert!(grade(&output(0, "", "")).passed());
        let v = grade(&output(1, "checking...\nnginx is not running\n\n", ""));
        assert_eq!(v.first_failure().map(|c| c.message.as_str()), Some("nginx is not running"));
        let v = grade(&output(2, "", "cat: /root/x: No such file or directory\n"));
        assert_eq!(v.first_failure().map(|c| c.message.as_str()), Some("cat: /root/x: No such file or directory"));
        let v = grade(&output(3, "", ""));
        assert_eq!(v.first_failure().map(|c| c.message.as_str()), Some("not done yet (the check exited 3)"));
    }
}
