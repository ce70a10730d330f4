//! Password hashing with argon2id (m=19456 KiB, t=2, p=1: OWASP's
//! recommendation), always off the async runtime.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::domain::NewPassword;

/// Hashes a new password into a PHC string.
pub async fn hash(password: &NewPassword) -> anyhow::Result<String> {
    let password = password.expose().to_owned();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
    })
    .await?
}

/// A hash of a password nobody knows, checked when the email is unknown (or
/// has no password yet) so that the answer takes as long as a real check.
static DECOY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let unguessable = uuid::Uuid::new_v4().to_string();
    Argon2::default()
        .hash_password(unguessable.as_bytes())
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Checks a password against a stored hash (or the decoy, when there is none).
pub async fn verify(password: &str, stored: Option<&str>) -> bool {
    let password = password.to_owned();
    let (hash, real) = match stored {
        Some(h) => (h.to_owned(), true),
        None => (String::new(), false),
    };
    let matched = tokio::task::spawn_blocking(move || {
        let hash = if real { hash } else { DECOY_HASH.clone() };
        Argon2::default()
            .verify_password(password.as_bytes(), hash.as_str())
            .is_ok()
    })
    .await
    .unwrap_or(false);
    matched && real
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let pw = NewPassword::parse("password", "correct horse battery staple").unwrap();
        let hash = hash(&pw).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("correct horse battery staple", Some(&hash)).await);
        assert!(!verify("correct horse battery stapl", Some(&hash)).await);
    }

    #[tokio::test]
    async fn the_decoy_never_matches() {
        assert!(!verify("anything at all here", None).await);
    }
}
