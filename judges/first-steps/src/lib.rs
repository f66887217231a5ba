//! Judge and hint provider for the `first-steps` lab: write a file, then a
//! script that prints it. The grading rules are plain functions over what
//! the machine answered, so they are tested natively; the glue at the bottom
//! asks the machine.

use std::time::Duration;

use proctor_sdk::{Error, Hint, HintProvider, Judge, Output, Task, Verdict, export, run_all};

/// What the learner's file and script must say.
pub const GREETING: &str = "Hello, Proctor";
const FILE: &str = "/workspace/hello.txt";
const SCRIPT: &str = "/workspace/greet.sh";

struct FirstSteps;

impl Judge for FirstSteps {
    fn check(task: &Task) -> Result<Verdict, Error> {
        let m = task.machine();
        match task.id() {
            "create-file" => {
                let content = match m.read_file(FILE, 4096) {
                    Ok(f) => Some(String::from_utf8_lossy(&f.data).into_owned()),
                    Err(e) if e.is_not_found() => None,
                    Err(e) => return Err(e),
                };
                Ok(grade_file(content.as_deref()))
            }
            "write-script" => {
                // Both commands in one round trip.
                let mut out = run_all([
                    m.command(["test", "-x", SCRIPT]),
                    m.command([SCRIPT]).workdir("/workspace").timeout(Duration::from_secs(5)),
                ]);
                let ran = out.pop().expect("two results");
                let executable = out.pop().expect("two results")?.success();
                Ok(grade_script(executable, ran.ok().as_ref()))
            }
            other => Ok(Verdict::not_gradable(format!("the first-steps judge has no task `{other}`"))),
        }
    }
}

/// Grades the file task from the file's content (`None`: no such file).
pub fn grade_file(content: Option<&str>) -> Verdict {
    let mut v = Verdict::new();
    let Some(text) = content else {
        v.fail("file_missing", format!("{FILE} does not exist"))
            .hint(format!("Create it: `echo '{GREETING}' > {FILE}`"));
        return v;
    };
    v.pass("file_exists", format!("{FILE} exists"));
    let said = text.trim();
    v.check("greeting", said == GREETING, format!("it says {said:?}"))
        .hint(format!("The file must say exactly `{GREETING}`."));
    v
}

/// Grades the script task from `test -x` and the script's run (`None`:
/// it could not be started).
pub fn grade_script(executable: bool, ran: Option<&Output>) -> Verdict {
    let mut v = Verdict::new();
    v.check("script_executable", executable, if executable { "greet.sh is executable" } else { "greet.sh is missing or not executable" })
        .hint(format!("Make it executable: `chmod +x {SCRIPT}`"));
    match ran {
        Some(o) if o.success() && o.stdout_text() == GREETING => {
            v.pass("script_output", format!("greet.sh prints {GREETING:?}"));
            v.metric("script_ms", o.duration.as_millis() as u64);
        }
        Some(o) => {
            v.fail("script_output", format!("greet.sh exited {} and printed {:?}", o.exit_code, o.stdout_text()))
                .hint(format!("The script should print the file: `cat {FILE}`."));
        }
        None => {
            v.fail("script_output", "greet.sh could not be run").hint("Start the script with a line `#!/bin/sh`.");
        }
    }
    v
}

struct FirstStepsHints;

impl HintProvider for FirstStepsHints {
    fn hint(task: &Task, attempts: u32, last: Option<&Verdict>) -> Option<Hint> {
        let failing = last.and_then(Verdict::first_failure).map(|c| c.id.as_str());
        let steps: &[&str] = match (task.id(), failing) {
            ("create-file", Some("greeting")) => &[
                "The file exists; look at what it says with `cat`.",
                "Overwrite it with `>` (not `>>`, which appends).",
            ],
            ("create-file", _) => &[
                "Shells write files with redirection: `>` sends a command's output to a file.",
                "`echo` prints its arguments; combine it with `>`.",
                "Run: `echo 'Hello, Proctor' > /workspace/hello.txt`",
            ],
            ("write-script", Some("script_executable")) => &[
                "A script needs the execute permission to run as `./greet.sh`.",
                "Run: `chmod +x /workspace/greet.sh`",
            ],
            ("write-script", _) => &[
                "A script is a text file of commands, starting with `#!/bin/sh`.",
                "The script's one command can print the file you made with `cat`.",
                "Run: `printf '#!/bin/sh\\ncat /workspace/hello.txt\\n' > /workspace/greet.sh && chmod +x /workspace/greet.sh`",
            ],
            _ => return None,
        };
        Hint::ladder(steps, attempts)
    }
}

export!(judge: FirstSteps, hints: FirstStepsHints);

#[cfg(test)]
mod tests {
    use super::*;

    fn output(exit_code: i32, stdout: &str) -> Output {
        Output {
            exit_code,
            stdout: stdout.as_bytes().to_vec(),
            stderr: Vec::new(),
            stdout_truncated: false,
            stderr_truncated: false,
            duration: Duration::from_millis(3),
        }
    }

    #[test]
    fn a_missing_file_fails_with_a_hint() {
        let v = grade_file(None);
        assert!(!v.passed());
        assert_eq!(v.checks()[0].id, "file_missing");
        assert!(v.checks()[0].hint.as_deref().unwrap().contains("echo"));
    }

    #[test]
    fn the_greeting_must_match_exactly() {
        assert!(grade_file(Some("Hello, Proctor\n")).passed());
        let v = grade_file(Some("hello"));
        assert_eq!(v.first_failure().map(|c| c.id.as_str()), Some("greeting"));
    }

    #[test]
    fn the_script_must_be_executable_and_print_the_greeting() {
        assert!(grade_script(true, Some(&output(0, "Hello, Proctor\n"))).passed());
        assert!(!grade_script(false, Some(&output(0, "Hello, Proctor"))).passed());
        let v = grade_script(true, Some(&output(1, "")));
        assert_eq!(v.first_failure().map(|c| c.id.as_str()), Some("script_output"));
        assert!(!grade_script(true, None).passed());
    }
}
