//! Who is asking: users, their roles, and the bearer tokens they present.
//!
//! Until accounts exist, a learner is a *guest*: the server issues a token
//! their browser keeps, and the token is who they are. Accounts (issue 6)
//! are more rows in the same `users` table with other ways to get a token,
//! so everything keyed by user id carries over.

pub mod accounts;
pub mod oidc;
pub mod password;

use sha2::{Digest, Sha256};

use crate::store::{Store, StoreError};

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Takes labs.
    Learner,
    /// Writes labs and judges.
    Author,
    /// Runs the server.
    Admin,
}

impl Role {
    /// The role's name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Learner => "learner",
            Role::Author => "author",
            Role::Admin => "admin",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        [Role::Learner, Role::Author, Role::Admin].into_iter().find(|r| r.as_str() == s)
    }
}

/// A user.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// Id: `u` and 16 hex digits.
    pub id: String,
    /// `guest` (known by a browser's token only) or an account kind.
    pub kind: String,
    /// What they may do.
    pub role: Role,
    /// Display name, if any.
    pub name: Option<String>,
    /// When they were created (ms since the epoch).
    pub created_at: i64,
    /// The account's login (`None` for guests).
    pub login: Option<String>,
    /// Whether they must choose a new password before anything else.
    pub must_change_password: bool,
}

/// A new secret token: `pt_` and 43 URL-safe characters (256 random bits).
pub(crate) fn new_token() -> String {
    use base64::Engine as _;
    let bytes: [u8; 32] = rand::random();
    format!("pt_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What the store keeps of a token: its SHA-256, never the token.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a guest learner and the browser token that identifies them.
pub async fn issue_guest(store: &Store, now: i64) -> Result<(User, String), StoreError> {
    issue_named_guest(store, None, now).await
}

/// Creates a guest learner known by `name` (a workshop's participant).
pub async fn issue_named_guest(store: &Store, name: Option<&str>, now: i64) -> Result<(User, String), StoreError> {
    let user = User {
        id: format!("u{:016x}", rand::random::<u64>()),
        kind: "guest".into(),
        role: Role::Learner,
        name: name.map(str::to_owned),
        created_at: now,
        login: None,
        must_change_password: false,
    };
    store.insert_user(&user).await?;
    let token = new_token();
    store.insert_token(&token_digest(&token), &user.id, "browser", now, None).await?;
    Ok((user, token))
}

/// The user `token` identifies, if it is known, unexpired and not revoked.
pub async fn authenticate(store: &Store, token: &str, now: i64) -> Result<Option<User>, StoreError> {
    if !token.starts_with("pt_") || token.len() > 128 {
        return Ok(None);
    }
    store.user_by_token(&token_digest(token), now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_stored_only_as_digests() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 43);
        assert_eq!(token_digest(&a).len(), 64);
        assert!(!token_digest(&a).contains(&a[3..]));
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
    }
}
