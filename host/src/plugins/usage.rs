//! How much a loaded plugin version is used: calls, failed calls, and the
//! median latency of its recent calls, for the admin listing.

use std::{
    collections::VecDeque,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// Latencies kept for the median: enough to be stable, small enough that
/// sorting a copy on every listing costs nothing.
const RECENT: usize = 512;

/// Counters of one plugin version.
#[derive(Debug, Default)]
pub struct Usage {
    calls: AtomicU64,
    errors: AtomicU64,
    recent_us: Mutex<VecDeque<u64>>,
}

/// A reading of [`Usage`].
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct UsageSnapshot {
    /// Checks and hints answered.
    pub calls: u64,
    /// Calls that ended in an error (a crash, a breached limit).
    pub errors: u64,
    /// Median latency of the recent calls, in milliseconds.
    pub p50_ms: Option<f64>,
}

impl Usage {
    /// Counts one call.
    pub fn record(&self, took: Duration, failed: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let mut recent = self.recent_us.lock().expect("usage lock");
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(took.as_micros() as u64);
    }

    /// The counters now.
    pub fn snapshot(&self) -> UsageSnapshot {
        let mut recent: Vec<u64> = self.recent_us.lock().expect("usage lock").iter().copied().collect();
        recent.sort_unstable();
        let p50_ms = (!recent.is_empty()).then(|| recent[(recent.len() - 1) / 2] as f64 / 1000.0);
        UsageSnapshot { calls: self.calls.load(Ordering::Relaxed), errors: self.errors.load(Ordering::Relaxed), p50_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_errors_and_the_median_of_recent_calls() {
        let usage = Usage::default();
        assert_eq!(usage.snapshot(), UsageSnapshot::default());
        for ms in [5, 1, 9] {
            usage.record(Duration::from_millis(ms), false);
        }
        usage.record(Duration::from_millis(3), true);
        assert_eq!(usage.snapshot(), UsageSnapshot { calls: 4, errors: 1, p50_ms: Some(3.0) });
        for _ in 0..RECENT {
            usage.record(Duration::from_millis(20), false);
        }
        assert_eq!(usage.snapshot().p50_ms, Some(20.0), "old calls leave the window");
    }
}
