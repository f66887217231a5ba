//! `proctor bench`: measured figures for the budgets in the design, taken on
//! the machine at hand. Benchmarks report; they never pass or fail.

pub mod sessions;
pub mod terminals;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;

use crate::{
    capabilities::{Command, Grants},
    plugins::{CallContext, Limits, Plugin, PluginEngine, Status, Task},
    runtime::{EnvironmentSpec, MachineSpec, Resources, Runtime, session_env::SessionEnvironment},
};

/// Latency percentiles of a series of runs.
#[derive(Clone, Debug, Serialize)]
pub struct Percentiles {
    /// Runs measured.
    pub runs: usize,
    /// Median, microseconds.
    pub p50_us: f64,
    /// 99th percentile, microseconds.
    pub p99_us: f64,
    /// Mean, microseconds.
    pub mean_us: f64,
    /// Fastest, microseconds.
    pub min_us: f64,
    /// Slowest, microseconds.
    pub max_us: f64,
}

impl Percentiles {
    /// Summarises samples (in any order).
    pub fn of(mut samples: Vec<Duration>) -> Percentiles {
        samples.sort();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let at = |q: f64| us(samples[((samples.len() - 1) as f64 * q).round() as usize]);
        let n = samples.len().max(1);
        Percentiles {
            runs: samples.len(),
            p50_us: at(0.50),
            p99_us: at(0.99),
            mean_us: samples.iter().map(|d| us(*d)).sum::<f64>() / n as f64,
            min_us: at(0.0),
            max_us: at(1.0),
        }
    }
}

/// Instantiate + check with no capability call, `runs` times after a warm-up,
/// one call at a time: the plugin call overhead a grading always pays.
pub async fn plugin_call_overhead(engine: &PluginEngine, plugin: &Plugin, runs: usize) -> Result<Percentiles, String> {
    let task = Task { lab: "bench".into(), task: "trivial".into(), machines: vec!["main".into()], ..Task::default() };
    sample(runs.min(1_000), runs, || async {
        let v = engine.check(plugin, &task, CallContext::detached()).await;
        if v.status == Status::Error { Err(format!("the plugin failed: {}", v.reason.unwrap_or_default())) } else { Ok(()) }
    })
    .await
}

/// The five checks of the exec benchmark, as one shell script would do them.
pub const FIVE_CHECKS_SCRIPT: &str =
    "test -f /etc/passwd && test -d /workspace && id -u root && command -v python3 && test -x /bin/bash";

/// Grading through a judge versus the shell script it replaces.
#[derive(Clone, Debug, Serialize)]
pub struct JudgeVsScript {
    /// One `docker exec` of a script doing the five checks.
    pub script_one_exec: Percentiles,
    /// The five checks as five `docker exec`s, one after another.
    pub five_execs_in_turn: Percentiles,
    /// A judge making the five checks with one `run-all`.
    pub judge_run_all: Percentiles,
    /// Judge p50 over script p50 (budget ≤ 1.5).
    pub ratio_p50: f64,
}

/// Runs `f` `warmup` times unmeasured, then `runs` times measured.
async fn sample<F, Fut>(warmup: usize, runs: usize, mut f: F) -> Result<Percentiles, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    for _ in 0..warmup {
        f().await?;
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        f().await?;
        samples.push(started.elapsed());
    }
    Ok(Percentiles::of(samples))
}

/// Runs the five checks `runs` times each way in a fresh session of `image`;
/// `plugin` must answer task `five-checks` (the test suite's probe judge).
pub async fn judge_vs_script(
    engine: &PluginEngine,
    plugin: &Plugin,
    runtime: Arc<dyn Runtime>,
    image: &str,
    runs: usize,
) -> Result<JudgeVsScript, String> {
    let session = format!("bench-{}", std::process::id());
    let spec = EnvironmentSpec {
        session: session.clone(),
        lab: "bench".into(),
        owner: "bench".into(),
        machines: vec![MachineSpec {
            name: "main".into(),
            image: image.into(),
            resources: Resources::default(),
            workdir: "/workspace".into(),
        }],
        egress: vec![],
    };
    runtime.create(&spec).await.map_err(|e| e.to_string())?;
    let result = async {
        let sh = |script: &str| Command {
            machine: "main".into(),
            argv: vec!["sh".into(), "-c".into(), script.into()],
            ..Command::default()
        };
        let exec_ok = |cmd: Command| {
            let (runtime, session) = (runtime.clone(), session.clone());
            async move {
                let out = runtime.exec(&session, &cmd).await.map_err(|e| e.to_string())?;
                if out.exit_code == 0 { Ok(()) } else { Err(format!("{:?} failed: {out:?}", cmd.argv)) }
            }
        };
        let script_one_exec = sample(runs.div_ceil(10), runs, || exec_ok(sh(FIVE_CHECKS_SCRIPT))).await?;
        let five_execs_in_turn = sample(runs.div_ceil(10), runs, || async {
            for check in FIVE_CHECKS_SCRIPT.split(" && ") {
                exec_ok(sh(check)).await?;
            }
            Ok(())
        })
        .await?;
        let task = Task { lab: "bench".into(), task: "five-checks".into(), session: session.clone(), machines: vec!["main".into()], params: vec![] };
        let judge_run_all = sample(runs.div_ceil(10), runs, || async {
            let ctx = CallContext {
                env: Arc::new(SessionEnvironment::new(runtime.clone(), session.clone())),
                grants: Grants::all(),
                limits: Limits::default(),
            };
            let v = engine.check(plugin, &task, ctx).await;
            if v.status == Status::Passed { Ok(()) } else { Err(format!("the judge did not pass: {v:?}")) }
        })
        .await?;
        let ratio_p50 = judge_run_all.p50_us / script_one_exec.p50_us;
        Ok(JudgeVsScript { script_one_exec, five_execs_in_turn, judge_run_all, ratio_p50 })
    }
    .await;
    if let Err(e) = runtime.destroy(&session).await {
        tracing::warn!(error = %e, %session, "could not remove the benchmark session");
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_right_samples() {
        let samples: Vec<Duration> = (1..=100).rev().map(Duration::from_micros).collect();
        let p = Percentiles::of(samples);
        assert_eq!(p.runs, 100);
        assert_eq!(p.min_us, 1.0);
        assert_eq!(p.max_us, 100.0);
        assert!((p.p50_us - 50.0).abs() <= 1.0, "{}", p.p50_us);
        assert!((p.p99_us - 99.0).abs() <= 1.0, "{}", p.p99_us);
        assert!((p.mean_us - 50.5).abs() < 1e-9);
    }
}
