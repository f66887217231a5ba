//! Users and the digests of their tokens.

use sqlx::Row;

use super::{Store, StoreError};
use crate::auth::{Role, User};

/// A token's last use is written at most this often.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

impl Store {
    /// Records a new user.
    pub async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO users (id, kind, role, name, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&u.id)
            .bind(&u.kind)
            .bind(u.role.as_str())
            .bind(&u.name)
            .bind(u.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a token (by digest) for `user_id`.
    pub async fn insert_token(&self, digest: &str, user_id: &str, kind: &str, now: i64, expires_at: Option<i64>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tokens (digest, user_id, kind, created_at, last_used_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)",
        )
        .bind(digest)
        .bind(user_id)
        .bind(kind)
        .bind(now)
        .bind(expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user whose live token has `digest`, noting the use.
    pub async fn user_by_token(&self, digest: &str, now: i64) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(
            "SELECT u.id, u.kind, u.role, u.name, u.created_at, t.last_used_at FROM tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.digest = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2)",
        )
        .bind(digest)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        let last_used: i64 = row.try_get("last_used_at")?;
        if now - last_used > LAST_USED_RESOLUTION_MS {
            sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE digest = $2").bind(now).bind(digest).execute(&self.pool).await?;
        }
        Ok(Some(User {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role `{role}`")))?,
            name: row.try_get("name")?,
            created_at: row.try_get("created_at")?,
        }))
    }

    /// Revokes the token with `digest`; returns whether it was live.
    pub async fn revoke_token(&self, digest: &str, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE digest = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(digest)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
