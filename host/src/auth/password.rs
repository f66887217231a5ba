//! Passwords: argon2id hashes in the PHC string format (the parameters
//! travel with the hash, so they can be raised later without a migration),
//! and the rules a new password must meet.

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};

/// The shortest password accepted.
pub const MIN_LENGTH: usize = 10;

/// Hashes `password` with argon2id and a fresh salt.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 with default parameters hashes any input").to_string()
}

/// Whether `password` matches `phc`; a malformed hash matches nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// Why a new password is refused, if it is.
pub fn weakness(password: &str, login: &str) -> Option<String> {
    if password.chars().count() < MIN_LENGTH {
        return Some(format!("use at least {MIN_LENGTH} characters"));
    }
    if password.len() > 1024 {
        return Some("use at most 1024 bytes".into());
    }
    if password.to_lowercase().contains(&login.to_lowercase()) {
        return Some("do not put the login in the password".into());
    }
    None
}

/// A one-time password for a new account: 20 characters from an alphabet
/// without look-alikes, about 115 bits.
pub fn one_time() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..20).map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("anything", "not a hash"));
        assert_ne!(hash("same"), hash("same"), "salted");
    }

    #[test]
    fn weak_passwords_are_refused_with_a_reason() {
        assert!(weakness("short", "ann").is_some());
        assert!(weakness("ann-is-great-2026", "ann").is_some());
        assert!(weakness("violet kettle drum", "ann").is_none());
        let otp = one_time();
        assert_eq!(otp.len(), 20);
        assert_ne!(otp, one_time());
    }
}
