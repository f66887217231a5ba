//! Extending, touching and ending sessions. Ending saves the learner's
//! workspace (where the lab keeps it) before the environment is removed.

use super::{
    SessionError, Sessions,
    state::{EndReason, Event, Phase, Session, apply},
};

/// Activity is written at most this often per session.
const ACTIVITY_RESOLUTION_MS: i64 = 10_000;

impl Sessions {
    /// Gives `owner`'s session more time, within its lab's bounds.
    pub async fn extend(&self, id: &str, owner: &str) -> Result<Session, SessionError> {
        let session = self.get_owned(id, owner).await?;
        let lab = self.lab(&session.lab)?;
        let next = apply(&session, Event::Extend { at: self.now(), lifetime: lab.lifetime })?;
        self.save(&next).await?;
        Ok(next)
    }

    /// Notes that the learner used session `id` (terminal input, a file
    /// write, a check), which keeps it from being reaped as idle.
    pub async fn touch(&self, id: &str) -> Result<(), SessionError> {
        let now = self.now();
        {
            let mut written = self.inner.activity_written.lock().expect("activity lock");
            match written.get(id) {
                Some(at) if now - at < ACTIVITY_RESOLUTION_MS => return Ok(()),
                _ => written.insert(id.to_owned(), now),
            };
        }
        let session = self.get(id).await?;
        if session.phase != Phase::Running {
            return Ok(());
        }
        let next = apply(&session, Event::Activity { at: now })?;
        // Losing to a concurrent transition is fine: activity is advisory.
        self.inner.store.update_session(&next).await?;
        Ok(())
    }

    /// Ends `owner`'s session `id` at their request.
    pub async fn end_owned(&self, id: &str, owner: &str) -> Result<Session, SessionError> {
        self.get_owned(id, owner).await?;
        self.end(id, EndReason::Learner).await
    }

    /// Ends session `id`. Ending an ended session returns it unchanged;
    /// ending one stuck in `ending` tries its removal again.
    #[tracing::instrument(skip(self))]
    pub async fn end(&self, id: &str, reason: EndReason) -> Result<Session, SessionError> {
        let session = self.get(id).await?;
        match session.phase {
            Phase::Ended | Phase::Failed => Ok(session),
            Phase::Ending => Ok(self.finish(session).await),
            _ => {
                let ending = apply(&session, Event::End { at: self.now(), reason })?;
                self.save(&ending).await?;
                Ok(self.finish(ending).await)
            }
        }
    }

    /// Carries out the end of an `ending` session: hooks, workspace, then
    /// removal. When the runtime fails it stays `ending`, and the reaper
    /// tries again: nothing is leaked and nothing is marked gone early.
    pub(super) async fn finish(&self, session: Session) -> Session {
        let hooks = self.inner.end_hooks.read().expect("hooks lock").clone();
        for hook in hooks {
            hook(&session.id);
        }
        self.inner.activity_written.lock().expect("activity lock").remove(&session.id);
        self.save_workspace(&session).await;
        if let Err(e) = self.inner.runtime.destroy(&session.id).await {
            tracing::warn!(session = %session.id, error = %e, "could not remove an ended session's environment; will retry");
            return session;
        }
        let Ok(removed) = apply(&session, Event::Removed { at: self.now() }) else { return session };
        match self.save(&removed).await {
            Ok(()) => removed,
            Err(e) => {
                tracing::warn!(session = %session.id, error = %e, "could not record a session's removal");
                session
            }
        }
    }

    /// Saves the learner's workspace of an ending session, if its lab keeps
    /// one. A failure is logged: the session ends regardless, on time.
    async fn save_workspace(&self, session: &Session) {
        let (Some(owner), Ok(lab)) = (&session.owner, self.lab(&session.lab)) else { return };
        let Some(keep) = &lab.workspace else { return };
        if session.end_reason == Some(EndReason::Lost) {
            return;
        }
        let saved = async {
            let archive = self.inner.runtime.archive_dir(&session.id, &keep.machine, &keep.path, keep.max_bytes).await?;
            self.inner.store.save_workspace(owner, &lab.lab, &archive, self.now()).await?;
            Ok::<usize, SessionError>(archive.len())
        };
        match saved.await {
            Ok(bytes) => tracing::info!(session = %session.id, bytes, "workspace saved"),
            Err(e) => tracing::warn!(session = %session.id, error = %e, "could not save the workspace"),
        }
    }
}
