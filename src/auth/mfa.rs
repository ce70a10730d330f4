//! Multi-factor authentication: TOTP (RFC 6238, SHA-1, 6 digits, 30-second
//! steps, one step of clock skew), enrolled by QR code, with one-time
//! recovery codes. A code works once: the step it matched is stored and a
//! code for that step or an earlier one is refused.

use qrcode::{QrCode, render::svg};
use rand::RngCore;
use totp_rs::{Builder, Totp};

use crate::error::AppError;

pub use crate::domain::access::MfaPolicy;

/// A new random secret (160 bits, as RFC 4226 recommends), base32-encoded.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    base32::encode(base32::Alphabet::Rfc4648 { padding: false }, &bytes)
}

fn totp(secret_base32: &str, account: &str) -> Result<Totp, AppError> {
    let bytes = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, secret_base32)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("stored MFA secret is not base32")))?;
    Builder::new()
        .with_secret(bytes)
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some("Plotcare"))
        .build()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("TOTP setup: {e:?}")))
}

/// The otpauth:// link an authenticator app reads, and its QR code as an SVG data URI.
pub fn enrolment(secret_base32: &str, account: &str) -> Result<(String, String), AppError> {
    let url = totp(secret_base32, account)?
        .to_url()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("TOTP url: {e:?}")))?;
    let code = QrCode::new(url.as_bytes())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code: {e}")))?;
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let data_uri = format!(
        "data:image/svg+xml;base64,{}",
        base64_encode(svg.as_bytes())
    );
    Ok((url, data_uri))
}

/// The time step `code` matches now, if any. The caller must refuse a step
/// that is not later than the last one accepted.
pub fn matching_step(secret_base32: &str, code: &str) -> Result<Option<i64>, AppError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let totp = totp(secret_base32, "")?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    Ok(totp.check(&code, now).map(|step| step as i64))
}

/// The current code for a secret: for tests and the demo, never shown in the product.
pub fn current_code(secret_base32: &str) -> Result<String, AppError> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    Ok(totp(secret_base32, "")?.generate(now).to_string())
}

fn base64_encode(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        out.push(TABLE[(n >> 18) as usize & 63] as char);
        out.push(TABLE[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            TABLE[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            TABLE[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_current_code_matches_and_a_wrong_one_does_not() {
        let secret = new_secret();
        let code = current_code(&secret).unwrap();
        assert!(matching_step(&secret, &code).unwrap().is_some());
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        assert!(matching_step(&secret, &wrong).unwrap().is_none());
        assert!(matching_step(&secret, "abcdef").unwrap().is_none());
    }

    #[test]
    fn enrolment_gives_an_otpauth_link_and_a_qr_image() {
        let (url, qr) = enrolment(&new_secret(), "ann@acme.test").unwrap();
        assert!(url.starts_with("otpauth://totp/Plotcare:ann%40acme.test?"));
        assert!(qr.starts_with("data:image/svg+xml;base64,"));
    }

    #[test]
    fn base64_matches_the_standard() {
        assert_eq!(base64_encode(b"Man"), "TWFu");
        assert_eq!(base64_encode(b"Ma"), "TWE=");
        assert_eq!(base64_encode(b"M"), "TQ==");
    }
}
