//! Single sign-on: logins under way, and the users an issuer vouches for.

use sqlx::Row;

use super::{Store, StoreError};

/// A single sign-on login under way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingLogin {
    /// Sent to the issuer and back: ties the callback to this login.
    pub state: String,
    /// The PKCE code verifier.
    pub verifier: String,
    /// Must come back inside the ID token.
    pub nonce: String,
    /// Where the browser goes once logged in.
    pub return_to: String,
    /// When it began.
    pub created_at: i64,
}

impl Store {
    /// Records a login under way (and forgets those older than `expired_before`).
    pub async fn insert_pending_login(&self, p: &PendingLogin, expired_before: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM oidc_logins WHERE created_at < $1").bind(expired_before).execute(&self.pool).await?;
        sqlx::query("INSERT INTO oidc_logins (state, verifier, nonce, return_to, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&p.state)
            .bind(&p.verifier)
            .bind(&p.nonce)
            .bind(&p.return_to)
            .bind(p.created_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes the login under way with `state`: it can be finished once.
    pub async fn take_pending_login(&self, state: &str) -> Result<Option<PendingLogin>, StoreError> {
        let row = sqlx::query("DELETE FROM oidc_logins WHERE state = $1 RETURNING state, verifier, nonce, return_to, created_at")
            .bind(state)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(PendingLogin {
            state: row.try_get("state")?,
            verifier: row.try_get("verifier")?,
            nonce: row.try_get("nonce")?,
            return_to: row.try_get("return_to")?,
            created_at: row.try_get("created_at")?,
        }))
    }

    /// The id of the user bound to an issuer's subject.
    pub async fn user_id_by_oidc_subject(&self, subject: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT id FROM users WHERE oidc_subject = $1").bind(subject).fetch_optional(&self.pool).await?;
        row.map(|r| r.try_get("id").map_err(StoreError::from)).transpose()
    }

    /// Binds a user to an issuer's subject.
    pub async fn set_oidc_subject(&self, user_id: &str, subject: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET oidc_subject = $1 WHERE id = $2").bind(subject).bind(user_id).execute(&self.pool).await?;
        Ok(())
    }

    /// Whether the user is disabled.
    pub async fn user_disabled(&self, user_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT disabled_at FROM users WHERE id = $1").bind(user_id).fetch_optional(&self.pool).await?;
        Ok(match row {
            Some(r) => r.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
            None => false,
        })
    }
}
