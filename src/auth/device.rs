//! Device cookies (OWASP's "Slow down online guessing attacks with device cookies"):
//! after someone signs in successfully, their browser keeps a signed cookie naming their
//! account and a random device id. Failed sign-ins from that browser count against that
//! device only, so a stranger guessing at an account from elsewhere cannot lock its owner
//! out of a device they have used before (see [`super::throttle`]).
//!
//! One cookie holds the devices of a few accounts (a shared office computer), each entry
//! `account:device:signature`, where the account is a hash of the email (as in the
//! throttle), the device 128 random bits and the signature an HMAC-SHA256 over both with
//! `SECRET_KEY`. An entry that does not verify is ignored: it counts as an unknown device.

use axum::http::{HeaderMap, HeaderValue, header};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::Config;

/// How many accounts' devices one browser remembers.
const MAX_ENTRIES: usize = 5;
/// How long a browser stays a known device without signing in again.
const MAX_AGE_DAYS: i64 = 180;

/// The cookie's name: with the `__Host-` prefix (and Secure) behind TLS.
pub fn cookie_name(config: &Config) -> &'static str {
    if config.behind_tls {
        "__Host-plotcare_device"
    } else {
        "plotcare_device"
    }
}

/// A device that signed in to the account before. Its key is what the throttle stores
/// (a hash of the device id, never the cookie itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    pub key: Vec<u8>,
}

struct Entry {
    account: String,
    device: String,
    signature: String,
}

fn signature(config: &Config, account: &str, device: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(config.secret_key.expose().as_bytes())
        .expect("HMAC takes a key of any length");
    mac.update(b"plotcare device cookie v1:");
    mac.update(account.as_bytes());
    mac.update(b":");
    mac.update(device.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The cookie's entries whose signatures verify.
fn entries(headers: &HeaderMap, config: &Config) -> Vec<Entry> {
    let name = cookie_name(config);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .flat_map(|(_, value)| value.split('~'))
        .filter_map(|entry| {
            let mut parts = entry.split(':');
            let (account, device, sig) = (parts.next()?, parts.next()?, parts.next()?);
            let expected = signature(config, account, device);
            bool::from(expected.as_bytes().ct_eq(sig.as_bytes())).then(|| Entry {
                account: account.to_owned(),
                device: device.to_owned(),
                signature: sig.to_owned(),
            })
        })
        .take(MAX_ENTRIES)
        .collect()
}

/// This browser's device for the account `account_key` (the throttle's key), if it holds a
/// valid one.
pub fn recognise(headers: &HeaderMap, config: &Config, account_key: &[u8]) -> Option<KnownDevice> {
    let account = hex::encode(account_key);
    entries(headers, config)
        .into_iter()
        .find(|e| e.account == account)
        .map(|e| KnownDevice {
            key: Sha256::digest(e.device.as_bytes()).to_vec(),
        })
}

/// The Set-Cookie that makes this browser a known device of `account_key` (a new device id
/// for it), keeping the other accounts it knows.
pub fn remember(headers: &HeaderMap, config: &Config, account_key: &[u8]) -> HeaderValue {
    let account = hex::encode(account_key);
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let device = hex::encode(bytes);
    let mine = Entry {
        signature: signature(config, &account, &device),
        account: account.clone(),
        device,
    };
    let kept: Vec<String> = std::iter::once(mine)
        .chain(
            entries(headers, config)
                .into_iter()
                .filter(|e| e.account != account),
        )
        .take(MAX_ENTRIES)
        .map(|e| format!("{}:{}:{}", e.account, e.device, e.signature))
        .collect();
    let secure = if config.behind_tls { "; Secure" } else { "" };
    let cookie = format!(
        "{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        cookie_name(config),
        kept.join("~"),
        MAX_AGE_DAYS * 24 * 60 * 60
    );
    HeaderValue::from_str(&cookie).expect("hex, colons and tildes only")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::from_lookup(|k| (k == "SECRET_KEY").then(|| "k".repeat(40))).unwrap()
    }

    fn with_cookie(set_cookie: &HeaderValue) -> HeaderMap {
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(pair).unwrap());
        headers
    }

    #[test]
    fn a_remembered_device_is_recognised_for_its_account_only() {
        let config = config();
        let set = remember(&HeaderMap::new(), &config, b"ann");
        let headers = with_cookie(&set);
        assert!(recognise(&headers, &config, b"ann").is_some());
        assert!(recognise(&headers, &config, b"bob").is_none());
        assert!(set.to_str().unwrap().contains("HttpOnly"));
    }

    #[test]
    fn a_tampered_entry_or_another_key_is_not_recognised() {
        let config = config();
        let set = remember(&HeaderMap::new(), &config, b"ann");
        let text = set.to_str().unwrap().split(';').next().unwrap().to_owned();
        let tampered = text.replacen(':', ":0", 1);
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&tampered).unwrap());
        assert!(recognise(&headers, &config, b"ann").is_none());
        let other = Config::from_lookup(|k| (k == "SECRET_KEY").then(|| "o".repeat(40))).unwrap();
        assert!(recognise(&with_cookie(&set), &other, b"ann").is_none());
    }

    #[test]
    fn one_browser_keeps_a_few_accounts_and_renews_its_own() {
        let config = config();
        let mut headers = HeaderMap::new();
        for name in ["a", "b", "c", "d", "e", "f"] {
            let set = remember(&headers, &config, name.as_bytes());
            headers = with_cookie(&set);
        }
        assert!(recognise(&headers, &config, b"f").is_some());
        assert!(recognise(&headers, &config, b"b").is_some());
        assert!(
            recognise(&headers, &config, b"a").is_none(),
            "the oldest is dropped"
        );
        let before = recognise(&headers, &config, b"c").unwrap();
        let headers = with_cookie(&remember(&headers, &config, b"c"));
        assert_ne!(recognise(&headers, &config, b"c").unwrap(), before);
    }
}
