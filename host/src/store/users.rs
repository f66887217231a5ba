//! Users and the digests of their tokens.

use sqlx::Row;

use super::{Store, StoreError};
use crate::auth::{Role, User};

/// A token's last use is written at most this often.
const LAST_USED_RESOLUTION_MS: i64 = 60_000;

/// The columns a [`User`] is read from (table alias `u`).
const USER_COLUMNS: &str = "u.id, u.kind, u.role, u.name, u.created_at, u.login, u.must_change_password";

fn user_from(row: &sqlx::any::AnyRow) -> Result<User, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(User {
        id: row.try_get("id")?,
        kind: row.try_get("kind")?,
        role: Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role `{role}`")))?,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        login: row.try_get("login")?,
        must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
    })
}

impl Store {
    /// Records a new user.
    pub async fn insert_user(&self, u: &User) -> Result<(), StoreError> {
        self.insert_account(u, None).await
    }

    /// Records a new user with a password hash (an account).
    pub async fn insert_account(&self, u: &User, password_hash: Option<&str>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, kind, role, name, created_at, login, password_hash, must_change_password) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&u.id)
        .bind(&u.kind)
        .bind(u.role.as_str())
        .bind(&u.name)
        .bind(u.created_at)
        .bind(&u.login)
        .bind(password_hash)
        .bind(i64::from(u.must_change_password))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The account called `login` and its password hash.
    pub async fn account(&self, login: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.login = $1 AND u.disabled_at IS NULL"))
            .bind(login)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let hash: Option<String> = row.try_get("password_hash")?;
        hash.map(|h| user_from(&row).map(|u| (u, h))).transpose()
    }

    /// Whether any account has `role`.
    pub async fn has_account_with_role(&self, role: crate::auth::Role) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = $1 AND login IS NOT NULL").bind(role.as_str()).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Sets a user's password hash and whether it must be changed.
    pub async fn set_password(&self, user_id: &str, password_hash: &str, must_change: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1, must_change_password = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(i64::from(must_change))
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a failed login under `key` (an account or an address).
    pub async fn record_login_failure(&self, key: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)").bind(key).bind(now).execute(&self.pool).await?;
        Ok(())
    }

    /// The failures under `key` since `since`, oldest first.
    pub async fn login_failures(&self, key: &str, since: i64) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query("SELECT at FROM login_failures WHERE key = $1 AND at >= $2 ORDER BY at").bind(key).bind(since).fetch_all(&self.pool).await?;
        rows.iter().map(|r| r.try_get("at").map_err(StoreError::from)).collect()
    }

    /// Forgets the failures under `key` (after a good login), and every
    /// failure older than `before`.
    pub async fn clear_login_failures(&self, key: &str, before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1 OR at < $2").bind(key).bind(before).execute(&self.pool).await?;
        Ok(())
    }

    /// Revokes every live token of `user_id` but `keep` (a password change
    /// signs out the other devices).
    pub async fn revoke_tokens_of(&self, user_id: &str, keep: Option<&str>, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL AND digest <> $3")
            .bind(now)
            .bind(user_id)
            .bind(keep.unwrap_or(""))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Records a token (by digest) for `user_id`.
    pub async fn insert_token(&self, digest: &str, user_id: &str, kind: &str, now: i64, expires_at: Option<i64>) -> Result<(), StoreError> {
        self.insert_labelled_token(digest, user_id, kind, "", now, expires_at).await
    }

    /// Records a token with a label saying what it is for.
    pub async fn insert_labelled_token(&self, digest: &str, user_id: &str, kind: &str, label: &str, now: i64, expires_at: Option<i64>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tokens (digest, user_id, kind, created_at, last_used_at, expires_at, label) VALUES ($1, $2, $3, $4, $4, $5, $6)",
        )
        .bind(digest)
        .bind(user_id)
        .bind(kind)
        .bind(now)
        .bind(expires_at)
        .bind((!label.is_empty()).then_some(label))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user whose live token has `digest`, noting the use.
    pub async fn user_by_token(&self, digest: &str, now: i64) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, t.last_used_at FROM tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.digest = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.disabled_at IS NULL"
        ))
        .bind(digest)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let last_used: i64 = row.try_get("last_used_at")?;
        if now - last_used > LAST_USED_RESOLUTION_MS {
            sqlx::query("UPDATE tokens SET last_used_at = $1 WHERE digest = $2").bind(now).bind(digest).execute(&self.pool).await?;
        }
        Ok(Some(user_from(&row)?))
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
