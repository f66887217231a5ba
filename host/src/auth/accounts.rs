//! Accounts: users with a login and a password. The first start creates an
//! administrator with a one-time password; logging in issues a token the
//! browser keeps in a cookie (or the CLI sends as a bearer token); repeated
//! failures lock an account, and an address, for a while.

use std::{sync::LazyLock, time::Duration};

use super::{Role, User, new_token, password, token_digest};
use crate::store::{Store, StoreError};

/// How long a login lasts.
pub const LOGIN_TTL: Duration = Duration::from_secs(12 * 3600);

/// Brute-force protection: failures allowed per window, per account and
/// per address.
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    /// Failed logins to one account before it is locked for the window.
    pub per_account: usize,
    /// Failed logins from one address before it is locked for the window.
    pub per_address: usize,
    /// The window.
    pub window: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits { per_account: 5, per_address: 20, window: Duration::from_secs(15 * 60) }
    }
}

/// Why an account operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Wrong login or password (never which of the two).
    #[error("the login or the password is wrong")]
    BadCredentials,
    /// Too many failures: wait.
    #[error("too many failed logins; try again in {} s", .retry_after.as_secs().max(1))]
    Locked {
        /// When trying again makes sense.
        retry_after: Duration,
    },
    /// The new password is refused.
    #[error("the new password is too weak: {0}")]
    WeakPassword(String),
    /// The login is malformed.
    #[error("{0}")]
    BadLogin(String),
    /// Another account has this login.
    #[error("the login `{0}` is taken")]
    Taken(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A hash to verify against when the login is unknown, so an unknown login
/// takes as long as a wrong password.
static DECOY: LazyLock<String> = LazyLock::new(|| password::hash("decoy password for unknown logins"));

/// Whether `login` can be a login: 2-64 letters, digits and `. _ - @`.
pub fn valid_login(login: &str) -> bool {
    (2..=64).contains(&login.len()) && login.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
}

fn check_login(login: &str) -> Result<(), AccountError> {
    if valid_login(login) { Ok(()) } else { Err(AccountError::BadLogin(format!("`{login}` cannot be a login: 2-64 letters, digits and . _ - @"))) }
}

/// Creates an account. Without a password, a one-time password is made
/// (returned once) that must be changed at the first login.
pub async fn create(store: &Store, login: &str, role: Role, chosen: Option<&str>, now: i64) -> Result<(User, Option<String>), AccountError> {
    check_login(login)?;
    if store.user_id_by_login(login).await?.is_some() {
        return Err(AccountError::Taken(login.to_owned()));
    }
    let (secret, one_time) = match chosen {
        Some(p) => {
            if let Some(why) = password::weakness(p, login) {
                return Err(AccountError::WeakPassword(why));
            }
            (p.to_owned(), None)
        }
        None => {
            let otp = password::one_time();
            (otp.clone(), Some(otp))
        }
    };
    let user = User {
        id: format!("u{:016x}", rand::random::<u64>()),
        kind: "account".into(),
        role,
        name: None,
        created_at: now,
        login: Some(login.to_owned()),
        must_change_password: one_time.is_some(),
    };
    store.insert_account(&user, Some(&password::hash(&secret))).await?;
    Ok((user, one_time))
}

/// On a store without an administrator account, creates `admin` with a
/// one-time password and returns it, to be shown once.
pub async fn ensure_first_admin(store: &Store, now: i64) -> Result<Option<String>, AccountError> {
    if store.has_account_with_role(Role::Admin).await? {
        return Ok(None);
    }
    let (_, otp) = create(store, "admin", Role::Admin, None, now).await?;
    Ok(otp)
}

/// Logs in: the user and a new token, or why not. `address` is where the
/// request came from.
pub async fn login(store: &Store, login: &str, secret: &str, address: &str, now: i64, limits: LoginLimits) -> Result<(User, String), AccountError> {
    let window = limits.window.as_millis() as i64;
    let keys = [(format!("login:{}", login.to_lowercase()), limits.per_account), (format!("addr:{address}"), limits.per_address)];
    for (key, limit) in &keys {
        let failures = store.login_failures(key, now - window).await?;
        if failures.len() >= *limit {
            let oldest = failures[failures.len() - limit];
            return Err(AccountError::Locked { retry_after: Duration::from_millis((oldest + window - now).max(1000) as u64) });
        }
    }
    let account = store.account(login).await?;
    let hash = account.as_ref().map_or(DECOY.as_str(), |(_, h)| h.as_str());
    // Verified even for an unknown login, so timing does not tell.
    let good = password::verify(secret, hash) && account.is_some();
    let Some((user, _)) = account.filter(|_| good) else {
        for (key, _) in &keys {
            store.record_login_failure(key, now).await?;
        }
        return Err(AccountError::BadCredentials);
    };
    store.clear_login_failures(&keys[0].0, now - window).await?;
    let token = new_token();
    store.insert_token(&token_digest(&token), &user.id, "login", now, Some(now + LOGIN_TTL.as_millis() as i64)).await?;
    Ok((user, token))
}

/// Gives an account a new one-time password (returned once, to be changed
/// at the next login), signs it out everywhere and lifts its login lock:
/// what an administrator does for someone locked out.
pub async fn reset_password(store: &Store, user: &User, now: i64) -> Result<String, AccountError> {
    let login = user.login.as_deref().ok_or_else(|| AccountError::BadLogin("guests have no password".into()))?;
    let otp = password::one_time();
    store.set_password(&user.id, &password::hash(&otp), true).await?;
    store.revoke_tokens_of(&user.id, None, now).await?;
    store.clear_login_failures(&format!("login:{}", login.to_lowercase()), 0).await?;
    Ok(otp)
}

/// Changes `user`'s password after checking the current one; every other
/// token of theirs is revoked (the one making the change, `keep`, stays).
pub async fn change_password(store: &Store, user: &User, current: &str, new: &str, keep: &str, now: i64) -> Result<(), AccountError> {
    let login = user.login.as_deref().ok_or_else(|| AccountError::BadLogin("guests have no password".into()))?;
    let Some((_, hash)) = store.account(login).await? else { return Err(AccountError::BadCredentials) };
    if !password::verify(current, &hash) {
        return Err(AccountError::BadCredentials);
    }
    if current == new {
        return Err(AccountError::WeakPassword("choose a password other than the current one".into()));
    }
    if let Some(why) = password::weakness(new, login) {
        return Err(AccountError::WeakPassword(why));
    }
    store.set_password(&user.id, &password::hash(new), false).await?;
    store.revoke_tokens_of(&user.id, Some(&token_digest(keep)), now).await?;
    Ok(())
}
