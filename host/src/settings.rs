//! Settings administrators change at run time: the session limits and the
//! disabled labs. They are kept in the store, so they survive a restart and
//! every replica applies them (each re-reads them every few seconds); the
//! server's configuration file gives the values until an administrator
//! changes them.

use std::{collections::HashSet, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{
    api::rate::RateLimiter,
    sessions::Sessions,
    store::{Store, StoreError},
};

const LIMITS: &str = "limits";
const DISABLED_LABS: &str = "disabled_labs";

/// The limits an administrator sets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Limits {
    /// Learners' sessions running at once on the server.
    pub max_sessions: u32,
    /// Sessions one learner may run at once (an account may have its own cap).
    pub max_per_learner: u32,
    /// Seconds without activity before a session ends.
    pub idle_timeout_seconds: u64,
    /// Hints a session may ask for per minute.
    pub hints_per_minute: u32,
    /// The most minutes a session is given at start, whatever its lab asks
    /// (`null`: each lab's own).
    pub max_ttl_minutes: Option<u64>,
}

/// A change to some limits; absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LimitsChange {
    /// Learners' sessions running at once.
    pub max_sessions: Option<u32>,
    /// Sessions per learner.
    pub max_per_learner: Option<u32>,
    /// Idle timeout in seconds.
    pub idle_timeout_seconds: Option<u64>,
    /// Hints per session per minute.
    pub hints_per_minute: Option<u32>,
    /// TTL cap in minutes; `null` removes the cap.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u64>)]
    pub max_ttl_minutes: Option<Option<u64>>,
}

/// Tells a field given as `null` (`Some(None)`) from an absent one (`None`,
/// with `#[serde(default)]`), for changes where `null` clears a value.
pub fn nullable<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Why a settings change was refused.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The values cannot work.
    #[error("{0}")]
    Invalid(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Limits {
    /// The limits in force on this server.
    pub fn current(sessions: &Sessions, hints: &RateLimiter) -> Limits {
        let policy = sessions.policy();
        Limits {
            max_sessions: policy.max_sessions,
            max_per_learner: policy.max_per_learner,
            idle_timeout_seconds: policy.idle_timeout.as_secs(),
            hints_per_minute: hints.limit(),
            max_ttl_minutes: policy.max_ttl.map(|d| d.as_secs() / 60),
        }
    }

    fn changed(mut self, c: &LimitsChange) -> Limits {
        self.max_sessions = c.max_sessions.unwrap_or(self.max_sessions);
        self.max_per_learner = c.max_per_learner.unwrap_or(self.max_per_learner);
        self.idle_timeout_seconds = c.idle_timeout_seconds.unwrap_or(self.idle_timeout_seconds);
        self.hints_per_minute = c.hints_per_minute.unwrap_or(self.hints_per_minute);
        self.max_ttl_minutes = c.max_ttl_minutes.unwrap_or(self.max_ttl_minutes);
        self
    }

    fn validate(&self) -> Result<(), SettingsError> {
        let bad = |m: &str| Err(SettingsError::Invalid(m.to_owned()));
        if !(1..=100_000).contains(&self.max_sessions) {
            return bad("max_sessions must be between 1 and 100000");
        }
        if !(1..=100).contains(&self.max_per_learner) {
            return bad("max_per_learner must be between 1 and 100");
        }
        if !(60..=7 * 24 * 3600).contains(&self.idle_timeout_seconds) {
            return bad("idle_timeout_seconds must be between 60 and 604800");
        }
        if !(1..=600).contains(&self.hints_per_minute) {
            return bad("hints_per_minute must be between 1 and 600");
        }
        if self.max_ttl_minutes.is_some_and(|m| !(1..=24 * 60).contains(&m)) {
            return bad("max_ttl_minutes must be between 1 and 1440, or null");
        }
        Ok(())
    }

    fn apply(&self, sessions: &Sessions, hints: &RateLimiter) {
        let mut policy = sessions.policy();
        policy.max_sessions = self.max_sessions;
        policy.max_per_learner = self.max_per_learner;
        policy.idle_timeout = Duration::from_secs(self.idle_timeout_seconds);
        policy.max_ttl = self.max_ttl_minutes.map(|m| Duration::from_secs(m * 60));
        sessions.set_policy(policy);
        hints.set_limit(self.hints_per_minute);
    }
}

/// What the settings act on.
#[derive(Clone)]
pub struct Settings {
    /// Where they are kept.
    pub store: Store,
    /// The session manager they limit.
    pub sessions: Sessions,
    /// The hint limiter.
    pub hints: Arc<RateLimiter>,
}

impl Settings {
    /// Changes some limits, keeps them and puts them in force.
    pub async fn change_limits(&self, change: &LimitsChange, now: i64) -> Result<Limits, SettingsError> {
        let limits = Limits::current(&self.sessions, &self.hints).changed(change);
        limits.validate()?;
        let json = serde_json::to_string(&limits).expect("limits serialize");
        self.store.put_setting(LIMITS, &json, now).await?;
        limits.apply(&self.sessions, &self.hints);
        Ok(limits)
    }

    /// Disables or enables a lab, on every replica.
    pub async fn set_lab_disabled(&self, lab: &str, disabled: bool, now: i64) -> Result<(), SettingsError> {
        let mut labs = self.disabled_labs().await?;
        if disabled { labs.insert(lab.to_owned()) } else { labs.remove(lab) };
        let mut sorted: Vec<&String> = labs.iter().collect();
        sorted.sort();
        self.store.put_setting(DISABLED_LABS, &serde_json::to_string(&sorted).expect("labs serialize"), now).await?;
        self.sessions.set_disabled_labs(labs);
        Ok(())
    }

    async fn disabled_labs(&self) -> Result<HashSet<String>, StoreError> {
        let Some(json) = self.store.setting(DISABLED_LABS).await? else { return Ok(HashSet::new()) };
        serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("setting {DISABLED_LABS}: {e}")))
    }

    /// Puts in force what the store holds (another replica's changes).
    pub async fn refresh(&self) -> Result<(), StoreError> {
        if let Some(json) = self.store.setting(LIMITS).await? {
            let limits: Limits = serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("setting {LIMITS}: {e}")))?;
            limits.apply(&self.sessions, &self.hints);
        }
        self.sessions.set_disabled_labs(self.disabled_labs().await?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_keeps_what_it_does_not_name_and_null_clears_the_cap() {
        let now = Limits { max_sessions: 50, max_per_learner: 2, idle_timeout_seconds: 1800, hints_per_minute: 5, max_ttl_minutes: Some(30) };
        let change: LimitsChange = serde_json::from_str(r#"{"max_sessions": 10}"#).unwrap();
        assert_eq!(now.clone().changed(&change), Limits { max_sessions: 10, ..now.clone() });
        let clear: LimitsChange = serde_json::from_str(r#"{"max_ttl_minutes": null}"#).unwrap();
        assert_eq!(now.clone().changed(&clear).max_ttl_minutes, None);
        assert!(Limits { max_per_learner: 0, ..now.clone() }.validate().is_err());
        assert!(Limits { idle_timeout_seconds: 5, ..now.clone() }.validate().is_err());
        assert!(now.validate().is_ok());
        assert!(serde_json::from_str::<LimitsChange>(r#"{"max_session": 1}"#).is_err(), "a misspelt field is refused");
    }
}
