//! Judge and hint provider for the `dockerfile-ignore` lab: a
//! `.dockerignore` that keeps `node_modules` and `venv` out of the build
//! context, and an image that builds and answers `GET /health` on 8080.

use std::time::Duration;

use proctor_sdk::{
    Error, Hint, HintProvider, Judge, Task, Verdict,
    dockerfile::{build_and_probe, ignores},
    export,
};

const APP: &str = "/workspace/app";
/// The directories the build context must leave out.
const HEAVY: [&str; 2] = ["node_modules", "venv"];

struct IgnoreJudge;

impl Judge for IgnoreJudge {
    fn check(task: &Task) -> Result<Verdict, Error> {
        let m = task.machine();
        match task.id() {
            "dockerignore" => {
                Ok(grade_dockerignore(m.read_optional(&format!("{APP}/.dockerignore"))?.as_deref()))
            }
            "healthy-image" => {
                if !m.file_exists(&format!("{APP}/Dockerfile"))? {
                    let mut v = Verdict::new();
                    v.fail("dockerfile_missing", format!("{APP}/Dockerfile does not exist")).hint("Create it in the editor, starting with `FROM proctor/base:bookworm`.");
                    return Ok(v);
                }
                let mut v = Verdict::new();
                build_and_probe(&m, APP, 8080, "/health", Duration::from_secs(10))?.grade(&mut v, 8080, "/health");
                Ok(v)
            }
            other => Ok(Verdict::not_gradable(format!("the dockerfile-ignore judge has no task `{other}`"))),
        }
    }
}

/// Grades the `.dockerignore` text (`None`: no file).
pub fn grade_dockerignore(text: Option<&str>) -> Verdict {
    let mut v = Verdict::new();
    let Some(text) = text else {
        v.fail("dockerignore_missing", format!("{APP}/.dockerignore does not exist")).hint("Create it: one pattern per line.");
        return v;
    };
    let missing: Vec<&str> = HEAVY.iter().copied().filter(|d| !ignores(text, d)).collect();
    let message = if missing.is_empty() { "node_modules and venv stay out of the build context".to_owned() } else { format!("the build context still takes in {}", missing.join(" and ")) };
    v.check("dockerignore_missing_entries", missing.is_empty(), message).hint("Add a line for each directory: `node_modules` and `venv`.");
    v
}

struct IgnoreHints;

impl HintProvider for IgnoreHints {
    fn hint(task: &Task, attempts: u32, last: Option<&Verdict>) -> Option<Hint> {
        let failing = last.and_then(Verdict::first_failure).map(|c| c.id.as_str());
        let steps: &[&str] = match (task.id(), failing) {
            ("dockerignore", _) => &[
                "A .dockerignore works like a .gitignore: patterns of paths the build leaves out.",
                "Two lines are enough, one per directory.",
                "Run: `printf 'node_modules\\nvenv\\n' > /workspace/app/.dockerignore`",
            ],
            ("healthy-image", Some("build_failed")) => &["Each Dockerfile line is an instruction; the build log names the one that failed.", "Only `proctor/base:bookworm` is available as a base here."],
            ("healthy-image", Some("health_check_failed")) => &[
                "The image builds; does the container start the service?",
                "`CMD [\"python3\", \"app.py\"]` runs it; the files must be where WORKDIR points.",
            ],
            ("healthy-image", _) => &[
                "Four instructions: FROM, WORKDIR, COPY, CMD.",
                "`FROM proctor/base:bookworm`, `WORKDIR /app`, `COPY . .`, `CMD [\"python3\", \"app.py\"]`.",
            ],
            _ => return None,
        };
        Hint::ladder(steps, attempts)
    }
}

export!(judge: IgnoreJudge, hints: IgnoreHints);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directories_must_be_ignored() {
        assert_eq!(grade_dockerignore(None).first_failure().map(|c| c.id.as_str()), Some("dockerignore_missing"));
        let v = grade_dockerignore(Some("node_modules\n"));
        assert_eq!(v.first_failure().map(|c| c.message.as_str()), Some("the build context still takes in venv"));
        assert!(grade_dockerignore(Some("**/node_modules\nvenv/\n.git\n")).passed());
    }
}
