//! The reaper: ends sessions whose time is up or that sat idle, retries
//! removals that failed, gives up on starts that hung, and forgets queued
//! learners who stopped asking.

use std::time::Duration;

use super::{
    SessionError, Sessions,
    state::{EndReason, Event, Phase, apply, due_to_end},
};

/// What one pass of the reaper did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReapReport {
    /// Sessions ended, with why.
    pub ended: Vec<(String, EndReason)>,
    /// Removals retried and done.
    pub removed: Vec<String>,
    /// Starts given up on.
    pub abandoned: Vec<String>,
    /// Queued learners dropped.
    pub dropped_from_queue: u64,
    /// Pool entries of labs that are gone or whose pool shrank, ended.
    pub trimmed_from_pools: Vec<String>,
}

impl Sessions {
    /// One pass over the live sessions.
    pub async fn reap(&self) -> Result<ReapReport, SessionError> {
        let now = self.now();
        let policy = self.policy();
        let mut report = ReapReport::default();
        for session in self.inner.store.live_sessions().await? {
            match session.phase {
                Phase::Running => {
                    let Some(reason) = due_to_end(&session, now, policy.idle_timeout) else { continue };
                    match self.end(&session.id, reason).await {
                        Ok(_) => report.ended.push((session.id, reason)),
                        Err(e) => tracing::warn!(session = %session.id, error = %e, "could not end a session"),
                    }
                }
                Phase::Ending if self.finish(session.clone()).await.phase == Phase::Ended => {
                    report.removed.push(session.id);
                }
                Phase::Starting if now - session.created_at > policy.start_timeout.as_millis() as i64 => {
                    let failed = apply(&session, Event::Fail { at: now, error: "the environment took too long to start".into() })?;
                    if self.inner.store.update_session(&failed).await? {
                        let _ = self.inner.runtime.destroy(&session.id).await;
                        report.abandoned.push(session.id);
                    }
                }
                _ => {}
            }
        }
        report.trimmed_from_pools = self.trim_pools().await?;
        report.dropped_from_queue = self.inner.store.prune_queue(now - policy.queue_patience.as_millis() as i64).await?;
        Ok(report)
    }

    /// Reaps every `interval` until the process ends, and keeps the warm
    /// pools full.
    pub fn spawn_reaper(&self, interval: Duration) -> tokio::task::JoinHandle<()> {
        let sessions = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match sessions.reap().await {
                    Ok(report) if report != ReapReport::default() => tracing::info!(?report, "reaped"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "reaper pass failed"),
                }
                for lab in sessions.labs() {
                    if let Err(e) = sessions.fill_pool(&lab.lab).await {
                        tracing::warn!(lab = %lab.lab, error = %e, "could not fill the warm pool");
                    }
                }
            }
        })
    }
}
