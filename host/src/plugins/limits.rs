//! The limits that bound one plugin call, and how a breach is named.
//!
//! A lab sets its limits within the server's ceilings ([`Limits::within`]).
//! Every breach stops the call and becomes an `error` verdict that names the
//! [`Limit`]; nothing else in the host is affected.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The limits of one plugin call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall time of the whole call, capability calls included (milliseconds).
    #[serde(rename = "wall_time_ms", with = "millis")]
    pub wall_time: Duration,
    /// Instruction budget (wasmtime fuel; about one unit per wasm instruction).
    pub fuel: u64,
    /// Largest linear memory, in bytes.
    pub memory_bytes: u64,
    /// Number of capability calls (each command of `run-all` counts).
    pub capability_calls: u32,
    /// Bytes that capability answers may hand to the plugin, in total.
    pub capability_bytes: u64,
    /// Bytes the plugin may write: stdout, stderr, log lines and its verdict.
    pub output_bytes: u64,
    /// Default time limit of one capability call when the plugin names none
    /// (milliseconds); a plugin may ask for more, up to the wall time.
    #[serde(rename = "capability_timeout_ms", with = "millis")]
    pub capability_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall_time: Duration::from_secs(30),
            fuel: 2_000_000_000,
            memory_bytes: 64 << 20,
            capability_calls: 1_000,
            capability_bytes: 32 << 20,
            output_bytes: 256 << 10,
            capability_timeout: Duration::from_secs(10),
        }
    }
}

impl Limits {
    /// These limits, each lowered to the server's ceiling where it is above it.
    pub fn within(&self, ceiling: &Limits) -> Limits {
        Limits {
            wall_time: self.wall_time.min(ceiling.wall_time),
            fuel: self.fuel.min(ceiling.fuel),
            memory_bytes: self.memory_bytes.min(ceiling.memory_bytes),
            capability_calls: self.capability_calls.min(ceiling.capability_calls),
            capability_bytes: self.capability_bytes.min(ceiling.capability_bytes),
            output_bytes: self.output_bytes.min(ceiling.output_bytes),
            capability_timeout: self.capability_timeout.min(ceiling.capability_timeout),
        }
    }
}

/// A limit, as named in error verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    /// The call took longer than its wall time.
    WallTime,
    /// The plugin used up its instruction budget.
    Fuel,
    /// The plugin tried to grow a linear memory past its cap.
    Memory,
    /// The plugin's call stack overflowed (for example, runaway recursion).
    Stack,
    /// The plugin made more capability calls than allowed.
    CapabilityCalls,
    /// Capability answers exceeded the bytes a plugin may receive.
    CapabilityBytes,
    /// The plugin wrote more output (stdout, stderr, log, verdict) than allowed.
    Output,
}

impl Limit {
    /// The limit's name as it appears in verdicts and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Limit::WallTime => "wall-time",
            Limit::Fuel => "fuel",
            Limit::Memory => "memory",
            Limit::Stack => "stack",
            Limit::CapabilityCalls => "capability-calls",
            Limit::CapabilityBytes => "capability-bytes",
            Limit::Output => "output",
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The error a call is stopped with when it breaches a limit. Raised as a
/// trap from host code, and recognised again when the call returns.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{limit} limit exceeded: {detail}")]
pub struct LimitExceeded {
    /// Which limit.
    pub limit: Limit,
    /// What happened, with numbers.
    pub detail: String,
}

impl LimitExceeded {
    /// A breach of `limit`.
    pub fn new(limit: Limit, detail: impl Into<String>) -> Self {
        LimitExceeded { limit, detail: detail.into() }
    }
}

/// Refuses memory and table growth past the call's caps, naming the limit.
///
/// Failing the growth quietly would let the guest's allocator abort with an
/// anonymous `unreachable`; trapping here keeps the cause.
#[derive(Debug)]
pub(crate) struct CallLimiter {
    pub max_memory: usize,
}

/// Most table elements a plugin may have; generous for Rust guests.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl wasmtime::ResourceLimiter for CallLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            return Err(LimitExceeded::new(
                Limit::Memory,
                format!(
                    "linear memory would grow from {current} to {desired} bytes; the cap is {}",
                    self.max_memory
                ),
            )
            .into());
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// Durations as whole milliseconds in configuration files.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_limits_are_lowered_to_the_ceiling() {
        let lab = Limits { fuel: u64::MAX, memory_bytes: 1 << 20, ..Limits::default() };
        let ceiling = Limits { fuel: 10, ..Limits::default() };
        let effective = lab.within(&ceiling);
        assert_eq!(effective.fuel, 10);
        assert_eq!(effective.memory_bytes, 1 << 20);
    }

    #[test]
    fn limits_read_from_toml_with_defaults() {
        let limits: Limits = toml::from_str("wall_time_ms = 1500\nfuel = 7").unwrap();
        assert_eq!(limits.wall_time, Duration::from_millis(1500));
        assert_eq!(limits.fuel, 7);
        assert_eq!(limits.memory_bytes, Limits::default().memory_bytes);
        assert!(toml::from_str::<Limits>("fuel_budget = 1").is_err());
    }
}
