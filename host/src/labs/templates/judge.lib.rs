//! Judge and hint provider for the `{{id}}` lab. The grading rule is a
//! plain function over what the machine answered, so it is tested natively
//! (`cargo test -p judge-{{id}}`); the glue asks the machine.

use proctor_sdk::{Error, Hint, HintProvider, Judge, Task, Verdict, export};

/// What the learner's file must say.
pub const GREETING: &str = "hello from {{id}}";
const FILE: &str = "/workspace/greeting.txt";

struct LabJudge;

impl Judge for LabJudge {
    fn check(task: &Task) -> Result<Verdict, Error> {
        match task.id() {
            "write-greeting" => {
                let content = match task.machine().read_file(FILE, 4096) {
                    Ok(f) => Some(String::from_utf8_lossy(&f.data).into_owned()),
                    Err(e) if e.is_not_found() => None,
                    Err(e) => return Err(e),
                };
                Ok(grade_greeting(content.as_deref()))
            }
            other => Ok(Verdict::not_gradable(format!("this judge has no task `{other}`"))),
        }
    }
}

/// Grades the file's content (`None`: there is no such file).
pub fn grade_greeting(content: Option<&str>) -> Verdict {
    let mut v = Verdict::new();
    let Some(text) = content else {
        v.fail("file_missing", format!("{FILE} does not exist")).hint("Create the file with `echo` and `>`.");
        return v;
    };
    v.pass("file_exists", format!("{FILE} exists"));
    let said = text.trim();
    v.check("greeting", said == GREETING, format!("it says {said:?}")).hint(format!("The file must say exactly `{GREETING}`."));
    v
}

struct LabHints;

impl HintProvider for LabHints {
    fn hint(task: &Task, attempts: u32, _last: Option<&Verdict>) -> Option<Hint> {
        let steps: &[&str] = match task.id() {
            "write-greeting" => &[
                "`echo` prints its arguments; `>` sends what a command prints into a file.",
                "Mind the exact words, in lower case.",
                "Run: `echo 'hello from {{id}}' > /workspace/greeting.txt`",
            ],
            _ => return None,
        };
        Hint::ladder(steps, attempts)
    }
}

export!(judge: LabJudge, hints: LabHints);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_greeting_must_exist_and_match() {
        assert_eq!(grade_greeting(None).first_failure().map(|c| c.id.as_str()), Some("file_missing"));
        assert_eq!(grade_greeting(Some("hi")).first_failure().map(|c| c.id.as_str()), Some("greeting"));
        assert!(grade_greeting(Some("hello from {{id}}\n")).passed());
    }
}
