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

    /// The id of the user with `login`, whatever their state.
    pub async fn user_id_by_login(&self, login: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT id FROM users WHERE login = $1").bind(login).fetch_optional(&self.pool).await?;
        row.map(|r| r.try_get("id").map_err(StoreError::from)).transpose()
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

/// What an administrator may change of an account; `None` leaves a field.
#[derive(Clone, Debug, Default)]
pub struct AccountChange {
    /// A new role.
    pub role: Option<Role>,
    /// Disable (`Some(true)`) or enable the account.
    pub disabled: Option<bool>,
    /// Its own session cap (`Some(None)` clears it).
    pub max_sessions: Option<Option<u32>>,
}

/// An account as administrators list it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRow {
    /// The user.
    pub user: User,
    /// Whether it is disabled.
    pub disabled: bool,
    /// Its own session cap, over the server's default.
    pub max_sessions: Option<u32>,
}

impl Store {
    /// Every account (users with a login or a single sign-on identity), by login.
    pub async fn accounts(&self) -> Result<Vec<AccountRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {USER_COLUMNS}, u.disabled_at, u.max_sessions FROM users u WHERE u.kind <> 'guest' ORDER BY u.login, u.id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(account_from).collect()
    }

    /// One user, account or guest, whatever their state.
    pub async fn user_row(&self, id: &str) -> Result<Option<AccountRow>, StoreError> {
        let row = sqlx::query(&format!("SELECT {USER_COLUMNS}, u.disabled_at, u.max_sessions FROM users u WHERE u.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(account_from).transpose()
    }

    /// Applies `change` to user `id`; whether the user exists.
    pub async fn change_account(&self, id: &str, change: &AccountChange, now: i64) -> Result<bool, StoreError> {
        let mut found = self.user_row(id).await?.is_some();
        if let Some(role) = change.role {
            found &= sqlx::query("UPDATE users SET role = $1 WHERE id = $2").bind(role.as_str()).bind(id).execute(&self.pool).await?.rows_affected() == 1;
        }
        if let Some(disabled) = change.disabled {
            sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2").bind(disabled.then_some(now)).bind(id).execute(&self.pool).await?;
        }
        if let Some(cap) = change.max_sessions {
            sqlx::query("UPDATE users SET max_sessions = $1 WHERE id = $2").bind(cap.map(i64::from)).bind(id).execute(&self.pool).await?;
        }
        Ok(found)
    }

    /// Sets a user's display name.
    pub async fn set_user_name(&self, id: &str, name: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET name = $1 WHERE id = $2").bind(name).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    /// A learner's own session cap, if an administrator set one.
    pub async fn user_session_cap(&self, id: &str) -> Result<Option<u32>, StoreError> {
        let row = sqlx::query("SELECT max_sessions FROM users WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        let cap: Option<i64> = match row {
            Some(r) => r.try_get("max_sessions")?,
            None => None,
        };
        Ok(cap.map(|c| c.clamp(0, i64::from(u32::MAX)) as u32))
    }

    /// How many enabled administrators there are (the last one may not be
    /// demoted or disabled).
    pub async fn count_enabled_admins(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled_at IS NULL AND kind <> 'guest'").fetch_one(&self.pool).await?;
        Ok(row.try_get("n")?)
    }
}

fn account_from(row: &sqlx::any::AnyRow) -> Result<AccountRow, StoreError> {
    let disabled_at: Option<i64> = row.try_get("disabled_at")?;
    let cap: Option<i64> = row.try_get("max_sessions")?;
    Ok(AccountRow { user: user_from(row)?, disabled: disabled_at.is_some(), max_sessions: cap.map(|c| c.clamp(0, i64::from(u32::MAX)) as u32) })
}
