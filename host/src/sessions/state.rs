//! The session lifecycle as data: a [`Session`] record, the [`Event`]s that
//! move it, and [`apply`], a pure function from one to the next.
//!
//! Everything with side effects (the runtime, the store, clocks) lives in
//! the manager; here a transition can be tested without any of them, and a
//! transition the lifecycle does not allow is refused the same way whether
//! it comes from a learner, the reaper or a second server replica.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch: how the store keeps instants.
pub type Millis = i64;

/// Where a session is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Its environment is being created.
    Starting,
    /// A ready environment in a lab's warm pool, waiting for a learner.
    Pooled,
    /// A learner's session, ready.
    Running,
    /// Its environment is being saved and removed.
    Ending,
    /// Gone, cleanly.
    Ended,
    /// Could not be started, or lost.
    Failed,
}

impl Phase {
    /// Every phase, in lifecycle order.
    pub const ALL: [Phase; 6] = [Phase::Starting, Phase::Pooled, Phase::Running, Phase::Ending, Phase::Ended, Phase::Failed];

    /// The phase's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Pooled => "pooled",
            Phase::Running => "running",
            Phase::Ending => "ending",
            Phase::Ended => "ended",
            Phase::Failed => "failed",
        }
    }

    /// The coarser status learners see: `starting`, `running`, `ended`
    /// or `failed`.
    pub fn status(self) -> &'static str {
        match self {
            Phase::Starting | Phase::Pooled => "starting",
            Phase::Running => "running",
            Phase::Ending | Phase::Ended => "ended",
            Phase::Failed => "failed",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// Whether the session still holds (or is about to hold) an environment.
    pub fn is_live(self) -> bool {
        !matches!(self, Phase::Ended | Phase::Failed)
    }
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The learner ended it.
    Learner,
    /// Its time ran out.
    Expired,
    /// Nobody used it for the idle timeout.
    Idle,
    /// An administrator ended it.
    Admin,
    /// Its workshop ended, or the instructor freed its seat.
    Workshop,
    /// Its environment disappeared (found missing at reconcile).
    Lost,
}

impl EndReason {
    /// The reason's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Learner => "learner",
            EndReason::Expired => "expired",
            EndReason::Idle => "idle",
            EndReason::Admin => "admin",
            EndReason::Workshop => "workshop",
            EndReason::Lost => "lost",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<EndReason> {
        [EndReason::Learner, EndReason::Expired, EndReason::Idle, EndReason::Admin, EndReason::Workshop, EndReason::Lost]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// One session as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Id: letters, digits and `-`; also names its runtime objects.
    pub id: String,
    /// The lab it runs.
    pub lab: String,
    /// The learner; `None` while it waits in a warm pool.
    pub owner: Option<String>,
    /// Where it is in its life.
    pub phase: Phase,
    /// When it was asked for.
    pub created_at: Millis,
    /// When a learner got it ready.
    pub started_at: Option<Millis>,
    /// When it ends unless extended.
    pub expires_at: Option<Millis>,
    /// The learner's last terminal input, file write or check.
    pub last_activity_at: Millis,
    /// How many times it was extended.
    pub extensions: u32,
    /// When it ended or failed.
    pub ended_at: Option<Millis>,
    /// Why it ended.
    pub end_reason: Option<EndReason>,
    /// Why it failed.
    pub error: Option<String>,
    /// Bumped by every transition; the store updates a row only from the
    /// version it was read at, so concurrent transitions cannot both win.
    pub version: i64,
}

impl Session {
    /// A session asked for at `at`, its environment not yet created; a
    /// warm-pool entry has no `owner`.
    pub fn starting(id: String, lab: String, owner: Option<String>, at: Millis) -> Session {
        Session {
            id,
            lab,
            owner,
            phase: Phase::Starting,
            created_at: at,
            started_at: None,
            expires_at: None,
            last_activity_at: at,
            extensions: 0,
            ended_at: None,
            end_reason: None,
            error: None,
            version: 0,
        }
    }
}

/// Bounds on a session's lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetime {
    /// Time given at start.
    pub ttl: Duration,
    /// Time each extension adds.
    pub extend_by: Duration,
    /// Extensions allowed.
    pub max_extensions: u32,
    /// Longest total life from start, extensions included.
    pub max_total: Duration,
}

/// Something that happens to a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Its environment is ready: a learner's session starts running, a pool
    /// entry waits.
    Ready {
        /// When.
        at: Millis,
        /// Time given.
        ttl: Duration,
    },
    /// A learner takes a pooled environment.
    Claimed {
        /// The learner.
        owner: String,
        /// When.
        at: Millis,
        /// Time given.
        ttl: Duration,
    },
    /// The learner did something.
    Activity {
        /// When.
        at: Millis,
    },
    /// The learner asks for more time.
    Extend {
        /// When.
        at: Millis,
        /// The lab's bounds.
        lifetime: Lifetime,
    },
    /// The session is to end.
    End {
        /// When.
        at: Millis,
        /// Why.
        reason: EndReason,
    },
    /// Its environment is gone.
    Removed {
        /// When.
        at: Millis,
    },
    /// Its environment was found gone (at reconcile).
    Vanished {
        /// When.
        at: Millis,
    },
    /// It could not be started or kept.
    Fail {
        /// When.
        at: Millis,
        /// Why.
        error: String,
    },
}

/// A transition the lifecycle does not allow.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The event does not apply in this phase.
    #[error("the session is {phase}: it cannot {event}")]
    NotNow {
        /// The phase.
        phase: &'static str,
        /// The event, in words.
        event: &'static str,
    },
    /// No extension is left.
    #[error("this session cannot be extended further ({used} of {allowed} extensions used, at most {max_total_minutes} minutes in all)")]
    NoMoreTime {
        /// Extensions used.
        used: u32,
        /// Extensions allowed.
        allowed: u32,
        /// The cap on total life, in minutes.
        max_total_minutes: u64,
    },
}

fn ms(d: Duration) -> Millis {
    d.as_millis().min(i64::MAX as u128) as Millis
}

fn event_name(e: &Event) -> &'static str {
    match e {
        Event::Ready { .. } => "become ready",
        Event::Claimed { .. } => "be claimed from the pool",
        Event::Activity { .. } => "record activity",
        Event::Extend { .. } => "be extended",
        Event::End { .. } => "end",
        Event::Removed { .. } => "be marked removed",
        Event::Vanished { .. } => "be marked lost",
        Event::Fail { .. } => "fail",
    }
}

/// The session after `event`, or why the event does not apply.
pub fn apply(session: &Session, event: Event) -> Result<Session, TransitionError> {
    let refuse = || TransitionError::NotNow { phase: session.phase.as_str(), event: event_name(&event) };
    let mut next = session.clone();
    next.version += 1;
    match (&session.phase, &event) {
        (Phase::Starting, Event::Ready { at, ttl }) => {
            if session.owner.is_some() {
                next.phase = Phase::Running;
                next.started_at = Some(*at);
                next.expires_at = Some(at + ms(*ttl));
            } else {
                next.phase = Phase::Pooled;
            }
            next.last_activity_at = *at;
        }
        (Phase::Pooled, Event::Claimed { owner, at, ttl }) => {
            next.phase = Phase::Running;
            next.owner = Some(owner.clone());
            next.started_at = Some(*at);
            next.expires_at = Some(at + ms(*ttl));
            next.last_activity_at = *at;
        }
        (Phase::Running, Event::Activity { at }) => next.last_activity_at = next.last_activity_at.max(*at),
        (Phase::Running, Event::Extend { at, lifetime }) => {
            let started = session.started_at.unwrap_or(session.created_at);
            let expires = session.expires_at.unwrap_or(*at);
            let cap = started + ms(lifetime.max_total);
            let no_more = TransitionError::NoMoreTime {
                used: session.extensions,
                allowed: lifetime.max_extensions,
                max_total_minutes: lifetime.max_total.as_secs() / 60,
            };
            if session.extensions >= lifetime.max_extensions || expires >= cap {
                return Err(no_more);
            }
            next.expires_at = Some((expires + ms(lifetime.extend_by)).min(cap));
            next.extensions += 1;
            next.last_activity_at = next.last_activity_at.max(*at);
        }
        (Phase::Starting | Phase::Pooled | Phase::Running, Event::End { at, reason }) => {
            next.phase = Phase::Ending;
            next.end_reason = Some(*reason);
            next.ended_at = Some(*at);
        }
        (Phase::Ending, Event::Removed { at }) => {
            next.phase = Phase::Ended;
            next.ended_at = Some(next.ended_at.unwrap_or(*at));
        }
        (Phase::Pooled | Phase::Running | Phase::Ending, Event::Vanished { at }) => {
            next.phase = Phase::Ended;
            next.end_reason = Some(next.end_reason.unwrap_or(EndReason::Lost));
            next.ended_at = Some(next.ended_at.unwrap_or(*at));
        }
        (Phase::Starting | Phase::Pooled | Phase::Running | Phase::Ending, Event::Fail { at, error }) => {
            next.phase = Phase::Failed;
            next.error = Some(error.clone());
            next.ended_at = Some(*at);
        }
        _ => return Err(refuse()),
    }
    Ok(next)
}

/// What the reaper should do with a running session at `now`, if anything.
pub fn due_to_end(session: &Session, now: Millis, idle_timeout: Duration) -> Option<EndReason> {
    if session.phase != Phase::Running {
        return None;
    }
    if session.expires_at.is_some_and(|e| e <= now) {
        return Some(EndReason::Expired);
    }
    (session.last_activity_at + ms(idle_timeout) <= now).then_some(EndReason::Idle)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Millis = 60_000;

    fn lifetime() -> Lifetime {
        Lifetime {
            ttl: Duration::from_secs(30 * 60),
            extend_by: Duration::from_secs(15 * 60),
            max_extensions: 2,
            max_total: Duration::from_secs(50 * 60),
        }
    }

    fn starting(owner: Option<&str>) -> Session {
        Session::starting("s1".into(), "lab".into(), owner.map(str::to_owned), 0)
    }

    fn running() -> Session {
        apply(&starting(Some("ann")), Event::Ready { at: 0, ttl: lifetime().ttl }).unwrap()
    }

    #[test]
    fn a_learners_session_runs_when_ready_and_a_pool_entry_waits() {
        let s = running();
        assert_eq!((s.phase, s.started_at, s.expires_at, s.version), (Phase::Running, Some(0), Some(30 * MIN), 1));
        let pooled = apply(&starting(None), Event::Ready { at: 5, ttl: lifetime().ttl }).unwrap();
        assert_eq!((pooled.phase, pooled.expires_at), (Phase::Pooled, None));
        let claimed = apply(&pooled, Event::Claimed { owner: "bo".into(), at: 9, ttl: lifetime().ttl }).unwrap();
        assert_eq!((claimed.phase, claimed.owner.as_deref(), claimed.expires_at), (Phase::Running, Some("bo"), Some(9 + 30 * MIN)));
        assert!(apply(&claimed, Event::Claimed { owner: "cy".into(), at: 10, ttl: lifetime().ttl }).is_err(), "claimed once");
    }

    #[test]
    fn extensions_are_bounded_by_count_and_total_life() {
        let once = apply(&running(), Event::Extend { at: 1, lifetime: lifetime() }).unwrap();
        assert_eq!(once.expires_at, Some(45 * MIN));
        // The second extension is cut at 50 minutes of total life.
        let twice = apply(&once, Event::Extend { at: 2, lifetime: lifetime() }).unwrap();
        assert_eq!((twice.expires_at, twice.extensions), (Some(50 * MIN), 2));
        let err = apply(&twice, Event::Extend { at: 3, lifetime: lifetime() }).unwrap_err();
        assert!(matches!(err, TransitionError::NoMoreTime { used: 2, allowed: 2, max_total_minutes: 50 }), "{err}");
        let capped = Lifetime { max_extensions: 9, ..lifetime() };
        assert!(apply(&twice, Event::Extend { at: 3, lifetime: capped }).is_err(), "total life caps even with extensions left");
    }

    #[test]
    fn ending_goes_through_ending_and_cannot_be_undone() {
        let ending = apply(&running(), Event::End { at: 7, reason: EndReason::Learner }).unwrap();
        assert_eq!((ending.phase, ending.end_reason), (Phase::Ending, Some(EndReason::Learner)));
        let ended = apply(&ending, Event::Removed { at: 8 }).unwrap();
        assert_eq!((ended.phase, ended.ended_at), (Phase::Ended, Some(7)));
        for e in [Event::Activity { at: 9 }, Event::End { at: 9, reason: EndReason::Idle }, Event::Ready { at: 9, ttl: Duration::ZERO }] {
            assert!(apply(&ended, e).is_err());
        }
        let lost = apply(&running(), Event::Vanished { at: 9 }).unwrap();
        assert_eq!((lost.phase, lost.end_reason), (Phase::Ended, Some(EndReason::Lost)));
        let err = apply(&ending, Event::Extend { at: 9, lifetime: lifetime() }).unwrap_err();
        assert_eq!(err.to_string(), "the session is ending: it cannot be extended");
    }

    #[test]
    fn the_reaper_ends_expired_and_idle_sessions_only() {
        let s = running();
        let idle = Duration::from_secs(10 * 60);
        assert_eq!(due_to_end(&s, 9 * MIN, idle), None);
        assert_eq!(due_to_end(&s, 10 * MIN, idle), Some(EndReason::Idle));
        let busy = apply(&s, Event::Activity { at: 25 * MIN }).unwrap();
        assert_eq!(due_to_end(&busy, 30 * MIN, idle), Some(EndReason::Expired));
        assert_eq!(due_to_end(&starting(Some("ann")), 99 * MIN, idle), None);
    }

    #[test]
    fn names_round_trip() {
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.as_str()), Some(p));
        }
        assert_eq!(EndReason::parse("idle"), Some(EndReason::Idle));
    }
}
