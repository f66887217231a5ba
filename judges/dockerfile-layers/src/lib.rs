//! Judge and hint provider for the `dockerfile-layers` lab: the Dockerfile
//! copies `requirements.txt` alone, installs it with `--no-cache-dir`, and
//! only then copies the source; the image builds and stays healthy.

use std::time::Duration;

use proctor_sdk::{
    Error, Hint, HintProvider, Judge, Task, Verdict,
    dockerfile::{Dockerfile, build_and_probe},
    export,
};

const APP: &str = "/workspace/app";

struct LayersJudge;

impl Judge for LayersJudge {
    fn check(task: &Task) -> Result<Verdict, Error> {
        if task.id() != "layer-order" {
            return Ok(Verdict::not_gradable(format!("the dockerfile-layers judge has no task `{}`", task.id())));
        }
        let m = task.machine();
        let Some(text) = m.read_optional(&format!("{APP}/Dockerfile"))? else {
            let mut v = Verdict::new();
            v.fail("dockerfile_missing", format!("{APP}/Dockerfile does not exist")).hint("It was there at the start: write it again.");
            return Ok(v);
        };
        let mut v = grade_order(&Dockerfile::parse(&text));
        // Structure first: a build is only worth its time once the order is right.
        if v.passed() {
            build_and_probe(&m, APP, 8080, "/health", Duration::from_secs(10))?.grade(&mut v, 8080, "/health");
        }
        Ok(v)
    }
}

/// Where things happen in the Dockerfile: the install, the copy of the
/// requirements alone, and the copy of the whole source.
pub fn grade_order(d: &Dockerfile) -> Verdict {
    let mut v = Verdict::new();
    let install = d.all("RUN").find(|(_, i)| i.args.contains("pip install") || i.args.contains("pip3 install"));
    let Some((install_at, install)) = install else {
        v.fail("install_missing", "no RUN instruction installs the requirements with pip").hint("Add `RUN pip install --no-cache-dir -r requirements.txt`.");
        return v;
    };
    let copies_requirements = |args: &[&str]| args.len() >= 2 && args[..args.len() - 1].iter().all(|a| a.ends_with("requirements.txt"));
    let requirements = d.all("COPY").find(|(_, i)| copies_requirements(&i.operands()));
    let source = d.all("COPY").find(|(_, i)| i.operands().first().is_some_and(|s| *s == "." || *s == "./"));
    let first = requirements.is_some_and(|(at, _)| at < install_at);
    let message = match requirements {
        None => "requirements.txt is never copied on its own".to_owned(),
        Some((_, i)) if !first => format!("requirements.txt is copied on line {}, after the install on line {}", i.line, install.line),
        Some((_, i)) => format!("requirements.txt is copied alone on line {}, before the install", i.line),
    };
    v.check("requirements_copied_first", first, message).hint("Before the install: `COPY requirements.txt .`");
    let (ordered, message) = match source {
        None => (false, "the source is never copied (`COPY . .`)".to_owned()),
        Some((at, i)) if at < install_at => (false, format!("the whole source is copied on line {}, before the install on line {}: any code change reinstalls the requirements", i.line, install.line)),
        Some((_, i)) => (true, format!("the source is copied on line {}, after the install", i.line)),
    };
    v.check("layer_order_incorrect", ordered, message).hint("Move `COPY . .` below the `RUN pip install` line.");
    let no_cache = install.args.contains("--no-cache-dir");
    v.check("pip_cache_not_disabled", no_cache, if no_cache { "pip keeps no download cache in the image" } else { "pip keeps its download cache in the image" })
        .hint("Add `--no-cache-dir` to the `pip install`.");
    v
}

struct LayersHints;

impl HintProvider for LayersHints {
    fn hint(task: &Task, attempts: u32, last: Option<&Verdict>) -> Option<Hint> {
        if task.id() != "layer-order" {
            return None;
        }
        let failing = last.and_then(Verdict::first_failure).map(|c| c.id.as_str());
        let steps: &[&str] = match failing {
            Some("pip_cache_not_disabled") => &["pip caches what it downloads; in an image that cache is dead weight.", "`RUN pip install --no-cache-dir -r requirements.txt`"],
            Some("build_failed" | "health_check_failed") => &["The order is right; now read the build log or check the CMD.", "`CMD [\"python3\", \"app.py\"]` must still be there, after the source is copied."],
            _ => &[
                "The builder reuses layers until the first one whose inputs changed.",
                "Copy what changes rarely (requirements.txt) before what changes often (the code).",
                "The order: `COPY requirements.txt .`, `RUN pip install --no-cache-dir -r requirements.txt`, `COPY . .`.",
            ],
        };
        Hint::ladder(steps, attempts)
    }
}

export!(judge: LayersJudge, hints: LayersHints);

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(text: &str) -> Vec<String> {
        grade_order(&Dockerfile::parse(text)).checks().iter().filter(|c| !c.passed).map(|c| c.id.clone()).collect()
    }

    #[test]
    fn the_order_and_the_cache_flag_are_each_checked() {
        let good = "FROM b\nWORKDIR /app\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nCMD x\n";
        assert!(failing(good).is_empty());
        let starter = "FROM b\nWORKDIR /app\nCOPY . .\nRUN pip install -r requirements.txt\nCMD x\n";
        assert_eq!(failing(starter), ["requirements_copied_first", "layer_order_incorrect", "pip_cache_not_disabled"]);
        let late = "FROM b\nCOPY . .\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\n";
        assert_eq!(failing(late), ["layer_order_incorrect"]);
        assert_eq!(failing("FROM b\nCOPY . .\n"), ["install_missing"]);
    }
}
