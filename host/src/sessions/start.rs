//! Starting a session: admission under the caps (with the queue), then a
//! warm-pool environment or a new one (with the lab's setup script run),
//! then the learner's saved workspace.

use std::time::Duration;

use super::{
    LabEnvironment, SessionError, Sessions, new_session_id,
    state::{Event, Millis, Phase, Session, apply},
};
use crate::{
    capabilities::Command,
    runtime::{RuntimeError, SCRIPT_RUNNER},
};

/// The longest a lab's setup script may run.
const SETUP_TIMEOUT: Duration = Duration::from_secs(300);

/// A session handed to a learner.
#[derive(Clone, Debug, PartialEq)]
pub struct Started {
    /// The session, running.
    pub session: Session,
    /// It was already running: starting a lab one already runs resumes it.
    pub resumed: bool,
    /// It came ready from the lab's warm pool.
    pub from_pool: bool,
    /// What became of the learner's saved workspace.
    pub workspace: WorkspaceRestore,
}

/// What became of a learner's saved workspace at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WorkspaceRestore {
    /// The lab keeps no workspace, or none was saved.
    Nothing,
    /// The saved workspace is back in place.
    Restored,
    /// It could not be put back; it stays saved for the next start.
    Failed(String),
}

impl Sessions {
    /// Starts `lab` for `owner`, or resumes their running session of it.
    #[tracing::instrument(skip(self))]
    pub async fn start(&self, owner: &str, lab: &str) -> Result<Started, SessionError> {
        if self.lab_disabled(lab) {
            return Err(SessionError::LabDisabled(lab.to_owned()));
        }
        let lab = self.lab(lab)?;
        let admitted = {
            let _one_at_a_time = self.inner.admission.lock().await;
            self.admit(owner, &lab).await?
        };
        let started = match admitted {
            Admitted::Resumed(session) => {
                return Ok(Started { session, resumed: true, from_pool: false, workspace: WorkspaceRestore::Nothing });
            }
            Admitted::FromPool(session) => {
                let workspace = self.restore_workspace(&session, &lab).await;
                Started { session, resumed: false, from_pool: true, workspace }
            }
            Admitted::New(session) => {
                let session = self.create_environment(session, &lab).await?;
                let workspace = self.restore_workspace(&session, &lab).await;
                Started { session, resumed: false, from_pool: false, workspace }
            }
        };
        self.refill_pool_later(&lab);
        Ok(started)
    }

    /// Decides, under the admission lock, whether `owner` gets a session
    /// now; a new one is recorded before the lock is released so the next
    /// admission counts it.
    async fn admit(&self, owner: &str, lab: &LabEnvironment) -> Result<Admitted, SessionError> {
        let store = &self.inner.store;
        let policy = self.policy();
        let now = self.now();
        let mine = store.sessions_of(owner, true).await?;
        // A second click while it starts, or a return to a running lab.
        if let Some(same) = mine.iter().find(|s| s.lab == lab.lab && matches!(s.phase, Phase::Running | Phase::Starting)) {
            store.dequeue(owner).await?;
            return Ok(Admitted::Resumed(same.clone()));
        }
        let cap = store.user_session_cap(owner).await?.unwrap_or(policy.max_per_learner);
        if mine.len() as u32 >= cap {
            return Err(SessionError::LearnerLimit {
                limit: cap,
                running: mine.into_iter().map(|s| s.id).collect(),
            });
        }
        // Learners who queued earlier go first: a seat is free for this
        // learner only if fewer are ahead of them than seats are free.
        let free = policy.max_sessions.saturating_sub(store.count_learner_sessions().await?);
        let ahead = match store.queue_place(owner).await? {
            Some(place) => place.position - 1,
            None => store.queue_length().await?,
        };
        if free == 0 || ahead >= free {
            let place = store.enqueue(owner, &lab.lab, now).await?;
            return Err(SessionError::Full {
                capacity: policy.max_sessions,
                position: place.position,
                waiting: place.waiting,
                retry_after: self.retry_after(now).await?,
            });
        }
        store.dequeue(owner).await?;
        if let Some(session) = self.claim_pooled(lab, owner, now).await? {
            return Ok(Admitted::FromPool(session));
        }
        let session = Session::starting(new_session_id(), lab.lab.clone(), Some(owner.to_owned()), now);
        store.insert_session(&session).await?;
        Ok(Admitted::New(session))
    }

    /// When a full server is likely to have a seat: when the next session
    /// expires, within 5 to 60 seconds so clients neither hammer nor doze.
    async fn retry_after(&self, now: Millis) -> Result<Duration, SessionError> {
        let next = self.inner.store.next_expiry().await?;
        let wait_ms = next.map_or(15_000, |at| (at - now).max(0));
        Ok(Duration::from_millis(wait_ms as u64).clamp(Duration::from_secs(5), Duration::from_secs(60)))
    }

    /// Creates the environment of a `Starting` session and moves it on:
    /// to running (or pooled), or to failed with nothing left behind.
    pub(super) async fn create_environment(&self, session: Session, lab: &LabEnvironment) -> Result<Session, SessionError> {
        let spec = lab.spec(&session.id, session.owner.as_deref());
        let created = match self.inner.runtime.create(&spec).await {
            Ok(()) => self.run_setup(&session.id, lab).await,
            Err(e) => Err(e),
        };
        match created {
            Ok(()) => {
                let ready = apply(&session, Event::Ready { at: self.now(), ttl: self.start_ttl(lab) })?;
                if let Err(e) = self.save(&ready).await {
                    // Ended meanwhile (the reaper gave up on it): its
                    // environment must not outlive the row.
                    let _ = self.inner.runtime.destroy(&session.id).await;
                    return Err(e);
                }
                Ok(ready)
            }
            Err(e) => {
                tracing::warn!(session = %session.id, error = %e, "could not create an environment");
                // A half-made environment (its setup failed) must not stay.
                let _ = self.inner.runtime.destroy(&session.id).await;
                if let Ok(failed) = apply(&session, Event::Fail { at: self.now(), error: e.to_string() }) {
                    let _ = self.save(&failed).await;
                }
                Err(e.into())
            }
        }
    }

    /// Runs the lab's setup script in its first machine; a script that
    /// fails fails the start, since the lab would not be as its steps say.
    async fn run_setup(&self, session: &str, lab: &LabEnvironment) -> Result<(), RuntimeError> {
        let (Some(script), Some(machine)) = (&lab.setup, lab.machines.first()) else { return Ok(()) };
        let cmd = Command {
            machine: machine.name.clone(),
            argv: ["sh", "-c", SCRIPT_RUNNER, "setup.sh", script].map(str::to_owned).to_vec(),
            timeout: Some(SETUP_TIMEOUT),
            max_output_bytes: Some(64 * 1024),
            ..Command::default()
        };
        let out = self.inner.runtime.exec(session, &cmd).await?;
        if out.exit_code == 0 {
            return Ok(());
        }
        Err(RuntimeError::Invalid(format!("the lab's setup.sh exited {}: {}", out.exit_code, out.said_tail(5))))
    }

    /// Puts `session`'s owner's saved workspace back, if the lab keeps one.
    async fn restore_workspace(&self, session: &Session, lab: &LabEnvironment) -> WorkspaceRestore {
        let (Some(keep), Some(owner)) = (&lab.workspace, &session.owner) else { return WorkspaceRestore::Nothing };
        let archive = match self.inner.store.workspace(owner, &lab.lab).await {
            Ok(Some(a)) => a,
            Ok(None) => return WorkspaceRestore::Nothing,
            Err(e) => return WorkspaceRestore::Failed(e.to_string()),
        };
        match self.inner.runtime.restore_dir(&session.id, &keep.machine, &keep.path, &archive).await {
            Ok(()) => WorkspaceRestore::Restored,
            Err(e) => {
                tracing::warn!(session = %session.id, error = %e, "could not restore a saved workspace");
                WorkspaceRestore::Failed(e.to_string())
            }
        }
    }
}

/// The outcome of admission.
enum Admitted {
    Resumed(Session),
    FromPool(Session),
    New(Session),
}
