//! Portal passwords: Argon2id (RFC 9106) with the argon2 crate's default cost (19 MiB, 2
//! passes, 1 lane: OWASP's recommendation), a 16-byte salt from the OS CSPRNG, stored as a PHC
//! string in mimamori.toml. The password itself is never stored, logged or echoed.

use anyhow::{Result, anyhow, bail};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The shortest password accepted (characters).
pub const MIN_LENGTH: usize = 12;

/// Refuses a password too short or made of one repeated character.
pub fn check_strength(password: &str) -> Result<()> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        bail!("the password needs at least {MIN_LENGTH} characters (it has {n})");
    }
    let mut chars = password.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        bail!("the password is one character repeated; choose another");
    }
    Ok(())
}

/// The Argon2id PHC string of `password` under a fresh random salt.
pub fn hash(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow!("the OS random source failed: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow!("cannot encode the salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow!("cannot hash the password: {e}"))?
        .to_string())
}

/// Whether `password` matches `phc` (constant time in the password; a malformed hash never
/// matches).
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() -> Result<()> {
        let h = hash("correct horse battery")?;
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("correct horse batterY", &h));
        assert!(!verify("correct horse battery", "$argon2id$garbage"));
        // a fresh salt each time: the same password never gives the same string
        assert_ne!(h, hash("correct horse battery")?);
        Ok(())
    }

    #[test]
    fn weak_passwords_are_refused() {
        assert!(check_strength("short").is_err());
        assert!(check_strength("aaaaaaaaaaaaaaa").is_err());
        assert!(check_strength("みまもり市の担当者です").is_err()); // 11 characters
        assert!(check_strength("みまもり市の地区担当者です").is_ok());
    }
}
