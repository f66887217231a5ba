//! What `/metrics` tells a Prometheus server: sessions by state, how long
//! sessions take to start and checks take to answer, and how often a limit
//! turned something away. Counters and histograms are recorded where the
//! events happen; session counts are read from the store at scrape time, so
//! every replica reports the same totals.

use std::{sync::Arc, time::Duration};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

use crate::store::{Store, StoreError};

/// Why the metrics could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The session counts could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The text could not be written.
    #[error("encoding the metrics failed")]
    Encode(#[from] std::fmt::Error),
}

/// A session's start, by lab and where its environment came from.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StartLabels {
    lab: String,
    /// `cold`, `pool` or `resumed`.
    source: &'static str,
}

/// A check, by lab and the judge that answered.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    lab: String,
    judge: String,
    version: String,
    /// The verdict's status.
    status: String,
}

/// Sessions in one state of one lab.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    lab: String,
    state: &'static str,
}

/// Which limit turned a request away.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BreachLabels {
    limit: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Session starts take from milliseconds (warm pool) to minutes (an image
/// to build): 5 ms to about 5 min.
fn start_buckets() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.005, 2.0, 17))
}

/// Checks take from a millisecond to a minute (an image build): 1 ms to
/// about 65 s.
fn check_buckets() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.001, 2.0, 17))
}

/// The server's metrics.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    starts: Histograms<StartLabels>,
    checks: Histograms<CheckLabels>,
    sessions: Family<StateLabels, Gauge>,
    breaches: Family<BreachLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("proctor");
        let starts: Histograms<StartLabels> = Family::new_with_constructor(start_buckets);
        let checks: Histograms<CheckLabels> = Family::new_with_constructor(check_buckets);
        let sessions = Family::<StateLabels, Gauge>::default();
        let breaches = Family::<BreachLabels, Counter>::default();
        registry.register("session_start_seconds", "From a start request to a running session", starts.clone());
        registry.register("check_seconds", "How long a check took, judge included", checks.clone());
        registry.register("sessions", "Sessions by lab and state", sessions.clone());
        registry.register("limit_breaches", "Requests or calls a limit turned away, by limit", breaches.clone());
        Metrics { inner: Arc::new(Inner { registry, starts, checks, sessions, breaches }) }
    }
}

impl Metrics {
    /// A session of `lab` started in `took`; `source` is `cold`, `pool` or
    /// `resumed`.
    pub fn session_started(&self, lab: &str, source: &'static str, took: Duration) {
        self.inner.starts.get_or_create(&StartLabels { lab: lab.to_owned(), source }).observe(took.as_secs_f64());
    }

    /// A check of `lab` answered by `judge` at `version` with `status`.
    pub fn checked(&self, lab: &str, judge: &str, version: &str, status: &str, took: Duration) {
        let labels = CheckLabels { lab: lab.to_owned(), judge: judge.to_owned(), version: version.to_owned(), status: status.to_owned() };
        self.inner.checks.get_or_create(&labels).observe(took.as_secs_f64());
    }

    /// A limit turned something away: `capacity_full`, `learner_limit`,
    /// `hint_rate`, `file_too_large`, or a judge's `plugin_<limit>`.
    pub fn breach(&self, limit: &str) {
        self.inner.breaches.get_or_create(&BreachLabels { limit: limit.to_owned() }).inc();
    }

    /// The text exposition, with session counts read from `store` now.
    pub async fn render(&self, store: &Store) -> Result<String, MetricsError> {
        let counts = store.count_by_phase().await?;
        // A state that emptied reads 0 rather than keeping its last count.
        self.inner.sessions.clear();
        for (lab, phase, n) in counts {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            self.inner.sessions.get_or_create(&StateLabels { lab, state: phase.as_str() }).set(n);
        }
        let mut out = String::new();
        encode(&mut out, &self.inner.registry)?;
        Ok(out)
    }
}
