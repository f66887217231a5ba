//! Saved workspaces: the archive of a learner's workspace directory, kept
//! per learner and lab between sessions.

use super::{Store, StoreError};

impl Store {
    /// Saves (replacing) the workspace of `owner` in `lab`.
    pub async fn save_workspace(&self, owner: &str, lab: &str, archive: &[u8], now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO workspaces (owner, lab, archive, size_bytes, saved_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (owner, lab) DO UPDATE SET archive = excluded.archive, size_bytes = excluded.size_bytes, \
             saved_at = excluded.saved_at",
        )
        .bind(owner)
        .bind(lab)
        .bind(archive.to_vec())
        .bind(archive.len() as i64)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The saved workspace of `owner` in `lab`, if any.
    pub async fn workspace(&self, owner: &str, lab: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(sqlx::query_scalar("SELECT archive FROM workspaces WHERE owner = $1 AND lab = $2")
            .bind(owner)
            .bind(lab)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Forgets the saved workspace of `owner` in `lab`.
    pub async fn delete_workspace(&self, owner: &str, lab: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM workspaces WHERE owner = $1 AND lab = $2").bind(owner).bind(lab).execute(&self.pool).await?;
        Ok(())
    }
}
