//! Reconciling at start-up: the runtime's environments (found by label)
//! against the store's live sessions. A known environment is adopted, an
//! unknown one removed; a live session whose environment is gone is ended
//! as lost. A crash or restart thus leaks nothing and drops no session.

use super::{
    SessionError, Sessions,
    state::{Event, Phase, apply},
};

/// What reconciling found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Sessions whose environments were kept.
    pub adopted: Vec<String>,
    /// Environments removed because no live session owns them.
    pub removed_orphans: Vec<String>,
    /// Live sessions whose environment was gone, now ended.
    pub lost: Vec<String>,
}

impl Sessions {
    /// Makes the runtime and the store agree. Run it before serving.
    #[tracing::instrument(skip(self))]
    pub async fn reconcile(&self) -> Result<ReconcileReport, SessionError> {
        let owned = self.inner.runtime.list_owned().await?;
        let live = self.inner.store.live_sessions().await?;
        let mut report = ReconcileReport::default();
        for env in &owned {
            match live.iter().find(|s| s.id == env.session) {
                // Starting ones may be another replica's start in progress;
                // the reaper gives up on them after the start timeout.
                Some(s) if matches!(s.phase, Phase::Running | Phase::Pooled | Phase::Starting) => {
                    report.adopted.push(s.id.clone());
                }
                Some(s) => {
                    self.finish(s.clone()).await;
                }
                None => {
                    self.inner.runtime.destroy(&env.session).await?;
                    report.removed_orphans.push(env.session.clone());
                }
            }
        }
        for s in live.iter().filter(|s| !owned.iter().any(|env| env.session == s.id)) {
            if s.phase == Phase::Starting {
                continue;
            }
            let gone = apply(s, Event::Vanished { at: self.now() })?;
            if self.inner.store.update_session(&gone).await? {
                report.lost.push(s.id.clone());
            }
        }
        tracing::info!(?report, "reconciled");
        Ok(report)
    }
}
