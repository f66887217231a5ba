//! Judge and hint provider for the `dockerfile-multistage` lab: a named
//! builder stage, a final stage that copies the artefact from it, a final
//! image within 10 MB of the base image, and a healthy container.
//!
//! The budget is relative to the base image, measured on the same engine
//! by building a one-line Dockerfile (`FROM` the base), so it holds
//! whatever the base weighs on a given server.

use std::time::Duration;

use proctor_sdk::{
    Error, Hint, HintProvider, Judge, Task, Verdict,
    dockerfile::{Dockerfile, build_and_probe},
    export,
};

const APP: &str = "/workspace/app";
/// A directory holding `FROM proctor/base:bookworm` alone (set up by the lab).
const BASE_CONTEXT: &str = "/opt/lab/base";
/// How much the final image may add to the base image.
pub const BUDGET_BYTES: u64 = 10_000_000;

struct MultiStageJudge;

impl Judge for MultiStageJudge {
    fn check(task: &Task) -> Result<Verdict, Error> {
        if task.id() != "multi-stage" {
            return Ok(Verdict::not_gradable(format!("the dockerfile-multistage judge has no task `{}`", task.id())));
        }
        let m = task.machine();
        let Some(text) = m.read_optional(&format!("{APP}/Dockerfile"))? else {
            let mut v = Verdict::new();
            v.fail("dockerfile_missing", format!("{APP}/Dockerfile does not exist")).hint("Write it again, in two stages.");
            return Ok(v);
        };
        let mut v = grade_stages(&Dockerfile::parse(&text));
        let probe = build_and_probe(&m, APP, 8080, "/health", Duration::from_secs(10))?;
        if probe.grade(&mut v, 8080, "/health") {
            let base = m.build_image(BASE_CONTEXT).run()?;
            if base.image.is_none() {
                return Ok(Verdict::not_gradable(format!("the base image could not be measured: {}", base.error.unwrap_or_default())));
            }
            grade_size(&mut v, probe.build.size_bytes, base.size_bytes);
        }
        Ok(v)
    }
}

/// The stages: a `builder` stage, and a final stage copying from it.
pub fn grade_stages(d: &Dockerfile) -> Verdict {
    let mut v = Verdict::new();
    let stages = d.stages();
    let builder = stages.iter().find(|(_, _, name)| name.as_deref() == Some("builder"));
    let message = match (stages.len(), builder) {
        (_, Some(_)) => "a stage is named builder".to_owned(),
        (1, None) => "the Dockerfile has one stage: the build and what ships are the same image".to_owned(),
        (n, None) => format!("none of the {n} stages is named builder"),
    };
    v.check("builder_stage_missing", builder.is_some(), message).hint("Name the first stage: `FROM proctor/base:bookworm AS builder`.");
    let final_start = stages.last().map_or(0, |(at, _, _)| *at);
    let copies = d.all("COPY").any(|(at, i)| at > final_start && i.flag("from") == Some("builder"));
    let message = if copies {
        "the final stage copies from the builder".to_owned()
    } else if stages.len() < 2 {
        "there is no final stage to copy the artefact into".to_owned()
    } else {
        "the final stage does not copy anything from the builder".to_owned()
    };
    v.check("copy_from_builder_missing", copies, message).hint("In the final stage: `COPY --from=builder /build/app.pyz /app/app.pyz`.");
    v
}

/// The final image against the base plus the budget.
pub fn grade_size(v: &mut Verdict, image: u64, base: u64) {
    let added = image.saturating_sub(base);
    let mb = |b: u64| b as f64 / 1e6;
    v.metric("added_mb", mb(added));
    v.check(
        "image_too_large",
        added <= BUDGET_BYTES,
        format!("the image adds {:.1} MB to the base image (budget {:.0} MB)", mb(added), mb(BUDGET_BYTES)),
    )
    .hint("Only app.pyz belongs in the final stage: the toolchain cache stays in the builder.");
}

struct MultiStageHints;

impl HintProvider for MultiStageHints {
    fn hint(task: &Task, attempts: u32, last: Option<&Verdict>) -> Option<Hint> {
        if task.id() != "multi-stage" {
            return None;
        }
        let failing = last.and_then(Verdict::first_failure).map(|c| c.id.as_str());
        let steps: &[&str] = match failing {
            Some("image_too_large") => &["Something large still reaches the final stage.", "A `COPY . .` in the final stage brings the cache along; copy app.pyz alone from the builder."],
            Some("health_check_failed") => &["The final stage must run the artefact where you copied it.", "`CMD [\"python3\", \"/app/app.pyz\"]` if you copied it to /app/app.pyz."],
            Some("build_failed") => &["The build log's last lines name the failing instruction.", "`COPY --from=builder` takes a path inside the builder: /build/app.pyz."],
            _ => &[
                "A Dockerfile may have several FROM lines; each starts a stage, and only the last one ships.",
                "Name the first stage `AS builder`, build there, then start a second `FROM` and copy app.pyz from the builder.",
                "Stage 1: `FROM proctor/base:bookworm AS builder` / `WORKDIR /build` / `COPY . .` / `RUN ./build.sh`. Stage 2: `FROM proctor/base:bookworm` / `COPY --from=builder /build/app.pyz /app/app.pyz` / `CMD [\"python3\", \"/app/app.pyz\"]`.",
            ],
        };
        Hint::ladder(steps, attempts)
    }
}

export!(judge: MultiStageJudge, hints: MultiStageHints);

#[cfg(test)]
mod tests {
    use super::*;

    fn failing(v: &Verdict) -> Vec<&str> {
        v.checks().iter().filter(|c| !c.passed).map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn stages_and_the_copy_from_the_builder_are_checked() {
        let good = "FROM base AS builder\nRUN ./build.sh\nFROM base\nCOPY --from=builder /build/app.pyz /app/app.pyz\n";
        assert!(grade_stages(&Dockerfile::parse(good)).passed());
        let single = "FROM base\nCOPY . .\nRUN ./build.sh\n";
        assert_eq!(failing(&grade_stages(&Dockerfile::parse(single))), ["builder_stage_missing", "copy_from_builder_missing"]);
        let unnamed = "FROM base AS build\nRUN x\nFROM base\nCOPY --from=build /a /a\n";
        assert_eq!(failing(&grade_stages(&Dockerfile::parse(unnamed))), ["builder_stage_missing", "copy_from_builder_missing"]);
    }

    #[test]
    fn the_budget_is_relative_to_the_base_image() {
        let mut v = Verdict::new();
        grade_size(&mut v, 306_000_000 + 9_000_000, 306_000_000);
        assert!(v.passed());
        let mut v = Verdict::new();
        grade_size(&mut v, 306_000_000 + 61_000_000, 306_000_000);
        assert_eq!(v.first_failure().map(|c| c.message.as_str()), Some("the image adds 61.0 MB to the base image (budget 10 MB)"));
    }
}
