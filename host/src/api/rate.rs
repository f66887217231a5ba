//! A sliding-window rate limiter keyed by string (a session, an account, an
//! address): at most `limit` events per `window`.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Mutex,
        atomic::{AtomicU32, Ordering},
    },
    time::{Duration, Instant},
};

/// Counts recent events per key.
#[derive(Debug)]
pub struct RateLimiter {
    /// Administrators change it at run time.
    limit: AtomicU32,
    window: Duration,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// At most `limit` events per `window` for each key.
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter { limit: AtomicU32::new(limit), window, events: Mutex::default() }
    }

    /// Events allowed per window.
    pub fn limit(&self) -> u32 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Allows `limit` events per window from now on.
    pub fn set_limit(&self, limit: u32) {
        self.limit.store(limit, Ordering::Relaxed);
    }

    /// Counts an event for `key` at `now` if the key has room; otherwise
    /// says how long until it has.
    pub fn allow(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut events = self.events.lock().expect("rate lock");
        // Forget keys whose events are all old, so the map stays small.
        if events.len() > 10_000 {
            events.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        let recent = events.entry(key.to_owned()).or_default();
        while recent.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
            recent.pop_front();
        }
        if recent.len() as u32 >= self.limit() {
            let oldest = *recent.front().expect("full, so not empty");
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        recent.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_slides() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(limiter.allow("s", t0).is_ok());
        assert!(limiter.allow("s", t0 + Duration::from_secs(10)).is_ok());
        assert_eq!(limiter.allow("s", t0 + Duration::from_secs(20)), Err(Duration::from_secs(40)));
        assert!(limiter.allow("other", t0 + Duration::from_secs(20)).is_ok(), "keys are apart");
        assert!(limiter.allow("s", t0 + Duration::from_secs(60)).is_ok(), "the first event left the window");
    }
}
