//! The queue of learners waiting for capacity: one place per learner, kept
//! while they keep asking, in the order they first asked.

use super::{Store, StoreError};

/// A learner's place in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueuePlace {
    /// 1 for the head of the queue.
    pub position: u32,
    /// Learners waiting in all.
    pub waiting: u32,
}

impl Store {
    /// Puts `owner` in the queue for `lab` (keeping their place if they are
    /// already in it) and returns that place.
    pub async fn enqueue(&self, owner: &str, lab: &str, now: i64) -> Result<QueuePlace, StoreError> {
        let seen = sqlx::query("UPDATE session_queue SET last_seen_at = $1, lab = $2 WHERE owner = $3")
            .bind(now)
            .bind(lab)
            .bind(owner)
            .execute(&self.pool)
            .await?;
        if seen.rows_affected() == 0 {
            // Two replicas may race to add the same learner; the key keeps one.
            sqlx::query(
                "INSERT INTO session_queue (owner, lab, enqueued_at, last_seen_at) VALUES ($1, $2, $3, $3) \
                 ON CONFLICT (owner) DO NOTHING",
            )
            .bind(owner)
            .bind(lab)
            .bind(now)
            .execute(&self.pool)
            .await?;
        }
        Ok(self.queue_place(owner).await?.unwrap_or(QueuePlace { position: 1, waiting: 1 }))
    }

    /// Where `owner` stands, if queued.
    pub async fn queue_place(&self, owner: &str) -> Result<Option<QueuePlace>, StoreError> {
        let mine: Option<i64> = sqlx::query_scalar("SELECT enqueued_at FROM session_queue WHERE owner = $1")
            .bind(owner)
            .fetch_optional(&self.pool)
            .await?;
        let Some(mine) = mine else { return Ok(None) };
        let ahead: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM session_queue WHERE enqueued_at < $1 OR (enqueued_at = $1 AND owner < $2)",
        )
        .bind(mine)
        .bind(owner)
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(QueuePlace { position: ahead as u32 + 1, waiting: self.queue_length().await? }))
    }

    /// Learners waiting.
    pub async fn queue_length(&self) -> Result<u32, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM session_queue").fetch_one(&self.pool).await?;
        Ok(n.max(0) as u32)
    }

    /// Takes `owner` out of the queue.
    pub async fn dequeue(&self, owner: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM session_queue WHERE owner = $1").bind(owner).execute(&self.pool).await?;
        Ok(())
    }

    /// Drops learners who stopped asking before `seen_before`; returns how many.
    pub async fn prune_queue(&self, seen_before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM session_queue WHERE last_seen_at < $1").bind(seen_before).execute(&self.pool).await?;
        Ok(done.rows_affected())
    }
}
