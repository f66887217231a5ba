//! Sessions: a learner's environment from request to removal.
//!
//! [`Sessions`] admits learners under a global and a per-learner cap (with a
//! fair queue when full), hands over a warm-pool environment or creates one,
//! extends and ends sessions, reaps expired and idle ones, and reconciles
//! the runtime with the store at start-up so a restart neither leaks
//! environments nor loses live sessions. Lifecycle rules are the pure
//! transitions of [`state`]; this module carries them out against the
//! runtime and the store.

mod end;
mod lab;
mod pool;
mod reaper;
mod reconcile;
mod start;
pub mod state;

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex, RwLock},
    time::Duration,
};

pub use lab::{LabEnvironment, WorkspacePersistence};
pub use reaper::ReapReport;
pub use reconcile::ReconcileReport;
pub use start::{Started, WorkspaceRestore};
pub use state::{EndReason, Lifetime, Millis, Phase, Session};

use crate::{runtime::Runtime, store::Store};

/// Server-wide session rules.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionPolicy {
    /// Learners' sessions that may hold an environment at once.
    pub max_sessions: u32,
    /// Sessions one learner may hold at once.
    pub max_per_learner: u32,
    /// A session nobody touches for this long ends.
    pub idle_timeout: Duration,
    /// A queued learner who stops asking for this long loses their place.
    pub queue_patience: Duration,
    /// A session still starting after this long is given up.
    pub start_timeout: Duration,
    /// The longest a session is given at start, whatever its lab asks
    /// (`None`: each lab's own).
    pub max_ttl: Option<Duration>,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            max_sessions: 50,
            max_per_learner: 2,
            idle_timeout: Duration::from_secs(30 * 60),
            queue_patience: Duration::from_secs(120),
            start_timeout: Duration::from_secs(5 * 60),
            max_ttl: None,
        }
    }
}

/// Why a session operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// No such lab.
    #[error("there is no lab `{0}`")]
    UnknownLab(String),
    /// An administrator disabled the lab.
    #[error("the lab `{0}` is disabled for now")]
    LabDisabled(String),
    /// No such session (or not the caller's).
    #[error("there is no session `{0}`")]
    NotFound(String),
    /// Every seat is taken; the learner holds a place in the queue.
    #[error("all {capacity} sessions are in use: you are number {position} of {waiting} in the queue; try again in {} s", retry_after.as_secs())]
    Full {
        /// The global cap.
        capacity: u32,
        /// The learner's place, 1 for the head.
        position: u32,
        /// Learners waiting.
        waiting: u32,
        /// When asking again makes sense.
        retry_after: Duration,
    },
    /// The learner already holds as many sessions as allowed.
    #[error("you already have {} running session(s), the most allowed: end one ({}) to start another", running.len(), running.join(", "))]
    LearnerLimit {
        /// The cap.
        limit: u32,
        /// Their live sessions.
        running: Vec<String>,
    },
    /// The lifecycle does not allow it now.
    #[error(transparent)]
    Transition(#[from] state::TransitionError),
    /// Another request changed the session at the same moment.
    #[error("session `{0}` changed while this request ran; try again")]
    Conflict(String),
    /// The runtime failed.
    #[error(transparent)]
    Runtime(#[from] crate::runtime::RuntimeError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// Where the current time comes from: the system clock in the server, a
/// hand-moved one in tests of TTLs and idleness.
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now(&self) -> Millis;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as Millis)
    }
}

/// Called with a session's id when it ends, so what hangs off it (open
/// terminals, say) goes with it.
pub type EndHook = Arc<dyn Fn(&str) + Send + Sync>;

/// The session manager; cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    runtime: Arc<dyn Runtime>,
    /// Administrators change it at run time.
    policy: RwLock<SessionPolicy>,
    clock: Arc<dyn Clock>,
    labs: RwLock<HashMap<String, Arc<LabEnvironment>>>,
    /// Labs an administrator disabled: they neither start nor pool.
    disabled_labs: RwLock<HashSet<String>>,
    /// Admission (count, then insert) is one step per server, so two
    /// starts cannot both take the last seat.
    admission: tokio::sync::Mutex<()>,
    /// Labs whose pool is being filled, so fills do not pile up.
    filling: Mutex<HashSet<String>>,
    /// When each session's activity was last written: keystrokes come
    /// fast, and the idle timeout needs only coarse times.
    activity_written: Mutex<HashMap<String, Millis>>,
    end_hooks: RwLock<Vec<EndHook>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").field("policy", &self.policy()).finish_non_exhaustive()
    }
}

impl Sessions {
    /// A manager over `store` and `runtime`, on the system clock.
    pub fn new(store: Store, runtime: Arc<dyn Runtime>, policy: SessionPolicy) -> Sessions {
        Sessions::with_clock(store, runtime, policy, Arc::new(SystemClock))
    }

    /// A manager reading time from `clock`.
    pub fn with_clock(store: Store, runtime: Arc<dyn Runtime>, policy: SessionPolicy, clock: Arc<dyn Clock>) -> Sessions {
        Sessions {
            inner: Arc::new(Inner {
                store,
                runtime,
                policy: RwLock::new(policy),
                clock,
                labs: RwLock::default(),
                disabled_labs: RwLock::default(),
                admission: tokio::sync::Mutex::new(()),
                filling: Mutex::default(),
                activity_written: Mutex::default(),
                end_hooks: RwLock::default(),
            }),
        }
    }

    /// Makes `lab` startable, replacing an earlier definition, when the
    /// runtime can run its machines; says whether it could.
    pub fn set_lab(&self, lab: LabEnvironment) -> bool {
        if let Some(m) = lab.machines.iter().find(|m| !self.inner.runtime.supports(&m.image)) {
            tracing::info!(lab = %lab.lab, machine = %m.name, "this runtime cannot run the lab's machines; it is listed but not startable");
            self.inner.labs.write().expect("labs lock").remove(&lab.lab);
            return false;
        }
        self.inner.labs.write().expect("labs lock").insert(lab.lab.clone(), Arc::new(lab));
        true
    }

    /// Forgets every lab but `keep` (labs gone from disk after a reload);
    /// their running sessions go on until they end.
    pub fn retain_labs(&self, keep: &HashSet<String>) {
        self.inner.labs.write().expect("labs lock").retain(|id, _| keep.contains(id));
    }

    /// The labs that can be started.
    pub fn labs(&self) -> Vec<Arc<LabEnvironment>> {
        let disabled = self.inner.disabled_labs.read().expect("labs lock");
        self.inner.labs.read().expect("labs lock").values().filter(|l| !disabled.contains(&l.lab)).cloned().collect()
    }

    /// The lab environments known, disabled ones included.
    pub fn all_labs(&self) -> Vec<Arc<LabEnvironment>> {
        self.inner.labs.read().expect("labs lock").values().cloned().collect()
    }

    /// Disables exactly the labs in `disabled`.
    pub fn set_disabled_labs(&self, disabled: HashSet<String>) {
        *self.inner.disabled_labs.write().expect("labs lock") = disabled;
    }

    /// Whether `lab` is disabled.
    pub fn lab_disabled(&self, lab: &str) -> bool {
        self.inner.disabled_labs.read().expect("labs lock").contains(lab)
    }

    /// Runs `hook` with the id of every session that ends from now on.
    pub fn on_end(&self, hook: EndHook) {
        self.inner.end_hooks.write().expect("hooks lock").push(hook);
    }

    /// The session store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The runtime sessions live on.
    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.inner.runtime
    }

    /// The rules in force.
    pub fn policy(&self) -> SessionPolicy {
        self.inner.policy.read().expect("policy lock").clone()
    }

    /// Puts new rules in force; sessions already running keep their time.
    pub fn set_policy(&self, policy: SessionPolicy) {
        *self.inner.policy.write().expect("policy lock") = policy;
    }

    /// The time a session of `lab` is given at start, under the cap.
    fn start_ttl(&self, lab: &LabEnvironment) -> Duration {
        self.policy().max_ttl.map_or(lab.lifetime.ttl, |cap| lab.lifetime.ttl.min(cap))
    }

    /// One session.
    pub async fn get(&self, id: &str) -> Result<Session, SessionError> {
        self.inner.store.session(id).await?.ok_or_else(|| SessionError::NotFound(id.to_owned()))
    }

    /// One of `owner`'s sessions; another learner's is reported as missing.
    pub async fn get_owned(&self, id: &str, owner: &str) -> Result<Session, SessionError> {
        let s = self.get(id).await?;
        if s.owner.as_deref() == Some(owner) { Ok(s) } else { Err(SessionError::NotFound(id.to_owned())) }
    }

    fn lab(&self, lab: &str) -> Result<Arc<LabEnvironment>, SessionError> {
        self.inner.labs.read().expect("labs lock").get(lab).cloned().ok_or_else(|| SessionError::UnknownLab(lab.to_owned()))
    }

    fn now(&self) -> Millis {
        self.inner.clock.now()
    }

    /// Stores `next` if the row is still where it was read; a lost race is
    /// a [`SessionError::Conflict`].
    async fn save(&self, next: &Session) -> Result<(), SessionError> {
        if self.inner.store.update_session(next).await? {
            Ok(())
        } else {
            Err(SessionError::Conflict(next.id.clone()))
        }
    }
}

/// A fresh session id: 64 random bits, safe as a runtime object name.
fn new_session_id() -> String {
    format!("s{:016x}", rand::random::<u64>())
}
