//! `proctor bench`: measured figures for the budgets in the design, taken on
//! the machine at hand. Benchmarks report; they never pass or fail.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::plugins::{CallContext, Plugin, PluginEngine, Status, Task};

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
    for _ in 0..runs.min(1_000) {
        let v = engine.check(plugin, &task, CallContext::detached()).await;
        if v.status == Status::Error {
            return Err(format!("the plugin failed during warm-up: {}", v.reason.unwrap_or_default()));
        }
    }
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = Instant::now();
        let v = engine.check(plugin, &task, CallContext::detached()).await;
        samples.push(started.elapsed());
        if v.status == Status::Error {
            return Err(format!("the plugin failed: {}", v.reason.unwrap_or_default()));
        }
    }
    Ok(Percentiles::of(samples))
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
