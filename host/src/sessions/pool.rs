//! Warm pools: per lab, environments created ahead of time so a start can
//! hand one over at once. Pool entries are sessions without an owner; a
//! claim is an ordinary versioned transition, so two servers cannot hand
//! the same environment to two learners.

use super::{
    LabEnvironment, SessionError, Sessions, new_session_id,
    state::{Event, Millis, Phase, Session, apply},
};

impl Sessions {
    /// Takes a ready environment from `lab`'s pool for `owner`, if one waits.
    pub(super) async fn claim_pooled(&self, lab: &LabEnvironment, owner: &str, now: Millis) -> Result<Option<Session>, SessionError> {
        for entry in self.inner.store.pooled(&lab.lab).await? {
            if entry.phase != Phase::Pooled {
                continue;
            }
            let claimed = apply(&entry, Event::Claimed { owner: owner.to_owned(), at: now, ttl: self.start_ttl(lab) })?;
            if self.inner.store.update_session(&claimed).await? {
                return Ok(Some(claimed));
            }
        }
        Ok(None)
    }

    /// Brings `lab`'s pool up to its size; returns how many environments it
    /// created. A fill already under way for the lab makes this a no-op.
    pub async fn fill_pool(&self, lab: &str) -> Result<u32, SessionError> {
        let lab = self.lab(lab)?;
        if lab.warm_pool == 0 || !self.inner.filling.lock().expect("pool lock").insert(lab.lab.clone()) {
            return Ok(0);
        }
        let result = self.fill(&lab).await;
        self.inner.filling.lock().expect("pool lock").remove(&lab.lab);
        result
    }

    async fn fill(&self, lab: &LabEnvironment) -> Result<u32, SessionError> {
        let have = self.inner.store.pooled(&lab.lab).await?.len() as u32;
        let mut created = 0;
        for _ in have..lab.warm_pool {
            let entry = Session::starting(new_session_id(), lab.lab.clone(), None, self.now());
            self.inner.store.insert_session(&entry).await?;
            self.create_environment(entry, lab).await?;
            created += 1;
        }
        Ok(created)
    }

    /// Ends ready pool entries beyond their lab's pool size, or of labs no
    /// longer served (newest first, so the longest-waiting stay).
    pub(super) async fn trim_pools(&self) -> Result<Vec<String>, SessionError> {
        let mut per_lab: std::collections::HashMap<String, Vec<Session>> = std::collections::HashMap::new();
        for s in self.inner.store.live_sessions().await? {
            if s.phase == Phase::Pooled {
                per_lab.entry(s.lab.clone()).or_default().push(s);
            }
        }
        let mut trimmed = Vec::new();
        for (lab, mut entries) in per_lab {
            let keep = self.lab(&lab).map_or(0, |l| l.warm_pool) as usize;
            while entries.len() > keep {
                let extra = entries.pop().expect("longer than keep");
                self.end(&extra.id, super::EndReason::Admin).await?;
                trimmed.push(extra.id);
            }
        }
        Ok(trimmed)
    }

    /// Refills `lab`'s pool in the background after a start took from it.
    pub(super) fn refill_pool_later(&self, lab: &LabEnvironment) {
        if lab.warm_pool == 0 {
            return;
        }
        let sessions = self.clone();
        let lab = lab.lab.clone();
        tokio::spawn(async move {
            if let Err(e) = sessions.fill_pool(&lab).await {
                tracing::warn!(%lab, error = %e, "could not refill the warm pool");
            }
        });
    }
}
