//! Session benchmarks on a real runtime: how long a learner waits for a
//! session (cold, and from a warm pool), a command's round trip, and the
//! server's memory with many idle sessions.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Serialize;

use super::{Percentiles, sample};
use crate::{
    capabilities::Command,
    runtime::{MachineSpec, Resources, Runtime},
    sessions::{EndReason, LabEnvironment, Lifetime, Phase, SessionPolicy, Sessions},
    store::Store,
};

/// What the session benchmarks measured.
#[derive(Clone, Debug, Serialize)]
pub struct SessionFigures {
    /// Request to running, creating the environment (budget p50 ≤ 1 s).
    pub ready_cold: Percentiles,
    /// Request to running, from the warm pool (budget p50 ≤ 50 ms).
    pub ready_warm: Percentiles,
    /// `true` run in a session's machine and its result read back.
    pub exec_round_trip: Percentiles,
    /// The server's memory with many idle sessions.
    pub idle: IdleMemory,
}

/// Resident memory of this process around many idle sessions.
#[derive(Clone, Debug, Serialize)]
pub struct IdleMemory {
    /// Sessions held at once.
    pub sessions: usize,
    /// Resident set before starting them, MiB.
    pub rss_before_mib: f64,
    /// Resident set with all of them running, MiB (budget ≤ 200 MiB).
    pub rss_with_sessions_mib: f64,
    /// Time to start them all, seconds.
    pub start_all_seconds: f64,
}

/// A one-machine lab of `image` for benchmarks.
pub(super) fn bench_lab(id: &str, image: &str, warm_pool: u32) -> LabEnvironment {
    let hour = Duration::from_secs(3600);
    LabEnvironment {
        lab: id.into(),
        machines: vec![MachineSpec {
            name: "main".into(),
            image: image.into(),
            resources: Resources { memory_bytes: 64 << 20, cpus: 0.5, pids: 64 },
            workdir: "/workspace".into(),
        }],
        lifetime: Lifetime { ttl: hour, extend_by: hour, max_extensions: 0, max_total: hour },
        warm_pool,
        workspace: None,
        setup: None,
        egress: vec![],
    }
}

/// This process's resident set, in MiB.
pub fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

/// Measures session start-up, exec round trips and idle memory on
/// `runtime`, keeping the sessions in `store`. `idle_sessions` sessions
/// are started at once for the memory figure.
pub async fn sessions(
    runtime: Arc<dyn Runtime>,
    store: Store,
    image: &str,
    runs: usize,
    idle_sessions: usize,
) -> Result<SessionFigures, String> {
    let policy = SessionPolicy { max_sessions: idle_sessions.max(runs) as u32 + 8, max_per_learner: 1, ..SessionPolicy::default() };
    let sessions = Sessions::new(store, runtime.clone(), policy);
    sessions.set_lab(bench_lab("bench-cold", image, 0));
    sessions.set_lab(bench_lab("bench-warm", image, 1));
    let e = |e: crate::sessions::SessionError| e.to_string();
    let mut learner = 0u64;
    let mut next_learner = || {
        learner += 1;
        format!("bench-{}-{learner}", std::process::id())
    };

    let mut cold = Vec::with_capacity(runs);
    let mut warm = Vec::with_capacity(runs);
    for _ in 0..runs {
        let who = next_learner();
        let t = Instant::now();
        let s = sessions.start(&who, "bench-cold").await.map_err(e)?;
        cold.push(t.elapsed());
        sessions.end(&s.session.id, EndReason::Admin).await.map_err(e)?;

        // A ready pool entry, as a server between starts would have.
        while !sessions.store().pooled("bench-warm").await.map_err(|e| e.to_string())?.iter().any(|p| p.phase == Phase::Pooled) {
            if sessions.fill_pool("bench-warm").await.map_err(e)? == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        let who = next_learner();
        let t = Instant::now();
        let s = sessions.start(&who, "bench-warm").await.map_err(e)?;
        warm.push(t.elapsed());
        if !s.from_pool {
            return Err("the warm start did not come from the pool".into());
        }
        sessions.end(&s.session.id, EndReason::Admin).await.map_err(e)?;
    }

    let probe = sessions.start(&next_learner(), "bench-cold").await.map_err(e)?.session;
    let cmd = Command { machine: "main".into(), argv: vec!["true".into()], ..Command::default() };
    let exec_round_trip = sample(10, runs.max(20) * 5, || async {
        let out = runtime.exec(&probe.id, &cmd).await.map_err(|e| e.to_string())?;
        if out.exit_code == 0 { Ok(()) } else { Err(format!("`true` exited {}", out.exit_code)) }
    })
    .await;
    sessions.end(&probe.id, EndReason::Admin).await.map_err(e)?;
    let exec_round_trip = exec_round_trip?;

    let idle = idle_memory(&sessions, idle_sessions, &mut next_learner).await;
    for lab in ["bench-cold", "bench-warm"] {
        for entry in sessions.store().pooled(lab).await.map_err(|e| e.to_string())? {
            sessions.end(&entry.id, EndReason::Admin).await.map_err(e)?;
        }
    }
    Ok(SessionFigures { ready_cold: Percentiles::of(cold), ready_warm: Percentiles::of(warm), exec_round_trip, idle: idle? })
}

/// Starts `count` sessions four at a time, reads the resident set, and
/// ends them all again, whatever happened.
async fn idle_memory(sessions: &Sessions, count: usize, next_learner: &mut impl FnMut() -> String) -> Result<IdleMemory, String> {
    use futures::StreamExt;
    let rss_before_mib = rss_mib();
    let learners: Vec<String> = (0..count).map(|_| next_learner()).collect();
    let t = Instant::now();
    let started: Vec<_> = futures::stream::iter(learners.iter().map(|who| sessions.start(who, "bench-cold")))
        .buffer_unordered(4)
        .collect()
        .await;
    let start_all_seconds = t.elapsed().as_secs_f64();
    let rss_with_sessions_mib = rss_mib();
    let mut first_error = None;
    let ids: Vec<String> = started
        .into_iter()
        .filter_map(|r| r.map_err(|e| first_error.get_or_insert(e.to_string()).clone()).ok())
        .map(|s| s.session.id)
        .collect();
    let ended: Vec<_> = futures::stream::iter(ids.iter().map(|id| sessions.end(id, EndReason::Admin))).buffer_unordered(8).collect().await;
    if let Some(e) = first_error {
        return Err(format!("{} of {count} sessions started; the first failure: {e}", ids.len()));
    }
    if let Some(Err(e)) = ended.into_iter().find(Result::is_err) {
        return Err(format!("could not end a benchmark session: {e}"));
    }
    Ok(IdleMemory { sessions: count, rss_before_mib, rss_with_sessions_mib, start_all_seconds })
}
