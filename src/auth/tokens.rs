//! Random secrets given to people (API tokens, password links, recovery
//! codes). Each has 256 bits, is shown once, and is stored only as its SHA-256.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// API tokens start with this, so they are easy to spot (and to scan for in leaks).
pub const API_TOKEN_PREFIX: &str = "pct_";

/// A new secret: the text to show once, and the hash to store.
pub fn new_secret(prefix: &str) -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!("{prefix}{}", hex::encode(bytes));
    let hash = hash(&secret);
    (secret, hash)
}

pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.trim().as_bytes()).to_vec()
}

pub use crate::domain::access::{Scope, Scopes};

/// Recovery codes: shorter, typed by hand: 10 groups-of-5 codes like "k3f9a-2mx7q" (50 bits each, single use).
pub fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let mut pick = || ALPHABET[(rng.next_u32() as usize) % ALPHABET.len()] as char;
    let a: String = (0..5).map(|_| pick()).collect();
    let b: String = (0..5).map(|_| pick()).collect();
    format!("{a}-{b}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_hashed() {
        let (a, ha) = new_secret(API_TOKEN_PREFIX);
        let (b, _) = new_secret(API_TOKEN_PREFIX);
        assert_ne!(a, b);
        assert!(a.starts_with("pct_") && a.len() == 4 + 64);
        assert_eq!(ha, hash(&a));
        assert_eq!(ha.len(), 32);
    }

    #[test]
    fn scopes_round_trip_through_their_words_and_unknown_words_grant_nothing() {
        let rw = Scopes::of(&[Scope::Write, Scope::Read]);
        assert_eq!(rw.words(), ["read", "write"]);
        assert_eq!(Scopes::from_words(&rw.words()), rw);
        let read = Scopes::from_words(&["read", "admin"]);
        assert!(read.contains(Scope::Read) && !read.contains(Scope::Write));
        assert_eq!(read.label(), "Read only");
        assert_eq!(Scopes::from_words::<&str>(&[]).label(), "No access");
        assert_eq!(Scope::for_method(&axum::http::Method::GET), Scope::Read);
        assert_eq!(Scope::for_method(&axum::http::Method::DELETE), Scope::Write);
    }
}
