//! Throttling of failed sign-ins. The counts live in PostgreSQL so that every instance
//! sees the same ones (an in-memory limiter would let N instances allow N times the
//! attempts). Each failure is recorded with its account, address and device together.
//!
//! - A browser that signed in to the account before (a valid device cookie, see
//!   [`super::device`]) is limited by its own failures only: five in 15 minutes lock that
//!   browser. A stranger's guesses elsewhere never lock the owner out of their own device.
//! - Any other browser is limited by the account's failures from unknown devices (five in
//!   15 minutes lock the account for every unknown device, wherever it is) and by its
//!   address's failures (30 in 15 minutes, across accounts).
//!
//! A success clears that device's failures and its address's failures from unknown
//! devices, not a stranger's elsewhere.

use std::net::IpAddr;

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::device::KnownDevice;
use crate::error::AppError;

/// Failures allowed per account from unknown devices in the window; the next attempt is refused.
pub const ACCOUNT_LIMIT: i64 = 5;
/// Failures allowed from one known device of the account in the window.
pub const DEVICE_LIMIT: i64 = 5;
/// Failures allowed from one client IP in the window, across accounts.
pub const IP_LIMIT: i64 = 30;
const WINDOW: &str = "15 minutes";

/// The account's key: a hash, so the table holds no email addresses.
pub fn account_key(email: &str) -> Vec<u8> {
    Sha256::digest(email.trim().to_lowercase().as_bytes()).to_vec()
}

/// One attempt to prove who someone is: for which account, from where and from which device.
#[derive(Debug, Clone, Copy)]
pub struct Attempt<'a> {
    pub account: &'a [u8],
    pub ip: Option<IpAddr>,
    /// This browser's device for the account, when it holds a valid device cookie.
    pub device: Option<&'a KnownDevice>,
}

impl Attempt<'_> {
    fn device_key(&self) -> Option<&[u8]> {
        self.device.map(|d| d.key.as_slice())
    }

    fn ip(&self) -> Option<String> {
        self.ip.map(|i| i.to_string())
    }
}

/// Refuses the attempt if it has failed too often lately (see the module's rules).
pub async fn check(pool: &PgPool, attempt: &Attempt<'_>) -> Result<(), AppError> {
    let (unknown, this_device, by_ip): (i64, i64, i64) = sqlx::query_as(&format!(
        "SELECT (SELECT count(*) FROM sign_in_failures
                  WHERE account_key = $1 AND device IS NULL AND failed_at > now() - interval '{WINDOW}'),
                (SELECT count(*) FROM sign_in_failures
                  WHERE account_key = $1 AND device = $3 AND failed_at > now() - interval '{WINDOW}'),
                (SELECT count(*) FROM sign_in_failures
                  WHERE ip = $2::inet AND failed_at > now() - interval '{WINDOW}')"
    ))
    .bind(attempt.account)
    .bind(attempt.ip())
    .bind(attempt.device_key())
    .fetch_one(pool)
    .await?;
    if attempt.device.is_some() {
        if this_device >= DEVICE_LIMIT {
            return Err(AppError::TooManyRequests(
                "Too many failed sign-in attempts from this browser. Please wait 15 minutes and try again, or ask your admin to reset your password.".into(),
            ));
        }
        return Ok(());
    }
    if unknown >= ACCOUNT_LIMIT {
        return Err(AppError::TooManyRequests(
            "Too many failed sign-in attempts for this account. Please wait 15 minutes and try again, or ask your admin to reset your password.".into(),
        ));
    }
    if by_ip >= IP_LIMIT {
        return Err(AppError::TooManyRequests(
            "Too many failed sign-in attempts from your network. Please wait 15 minutes and try again.".into(),
        ));
    }
    Ok(())
}

pub async fn record_failure(pool: &PgPool, attempt: &Attempt<'_>) -> Result<(), AppError> {
    sqlx::query("INSERT INTO sign_in_failures (account_key, ip, device) VALUES ($1, $2::inet, $3)")
        .bind(attempt.account)
        .bind(attempt.ip())
        .bind(attempt.device_key())
        .execute(pool)
        .await?;
    // Keep the table small: old failures no longer count.
    sqlx::query("DELETE FROM sign_in_failures WHERE failed_at < now() - interval '1 day'")
        .execute(pool)
        .await?;
    Ok(())
}

/// A success clears this device's failures and this address's failures from unknown
/// devices; a stranger's failures elsewhere keep counting.
pub async fn clear(pool: &PgPool, attempt: &Attempt<'_>) -> Result<(), AppError> {
    sqlx::query(
        "DELETE FROM sign_in_failures
          WHERE account_key = $1
            AND (device = $3 OR (device IS NULL AND ip IS NOT DISTINCT FROM $2::inet))",
    )
    .bind(attempt.account)
    .bind(attempt.ip())
    .bind(attempt.device_key())
    .execute(pool)
    .await?;
    Ok(())
}
