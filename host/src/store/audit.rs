//! The audit log: every staff action, who did it and when.

use sqlx::Row;

use super::{Store, StoreError};

/// One recorded action.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// When (ms since the epoch).
    pub at: i64,
    /// Who: the user's login (or id).
    pub actor: String,
    /// What, e.g. `plugin.upload`.
    pub action: String,
    /// To what, e.g. `judge-first-steps 1.1.0`.
    pub target: String,
    /// More, when there is more to say.
    pub detail: Option<String>,
}

impl Store {
    /// Records an action.
    pub async fn record_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit_log (id, at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(format!("e{:016x}", rand::random::<u64>()))
            .bind(e.at)
            .bind(&e.actor)
            .bind(&e.action)
            .bind(&e.target)
            .bind(&e.detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The newest `limit` actions, newest first.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query("SELECT at, actor, action, target, detail FROM audit_log ORDER BY at DESC, id LIMIT $1").bind(limit).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry { at: r.try_get("at")?, actor: r.try_get("actor")?, action: r.try_get("action")?, target: r.try_get("target")?, detail: r.try_get("detail")? })
            })
            .collect()
    }
}
