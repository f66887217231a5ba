//! Settings changed at run time, shared by every replica: a key and its
//! JSON value.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// The value stored under `key`, if any.
    pub async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.pool).await?;
        row.map(|r| r.try_get("value").map_err(StoreError::from)).transpose()
    }

    /// Every setting whose key starts with `prefix`, by key.
    pub async fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        // Compared by position, not LIKE: a plugin name may hold `_`.
        let rows = sqlx::query("SELECT key, value FROM settings WHERE substr(key, 1, $1) = $2 ORDER BY key")
            .bind(i32::try_from(prefix.len()).unwrap_or(i32::MAX))
            .bind(prefix)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("key")?, r.try_get("value")?))).collect()
    }

    /// Stores `value` under `key`, replacing what was there.
    pub async fn put_setting(&self, key: &str, value: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(key)
        .bind(value)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
