//! Throttling of failed sign-ins, per account and per client IP. The counts
//! live in PostgreSQL so that every instance sees the same ones (an in-memory
//! limiter would let N instances allow N times the attempts).

use std::net::IpAddr;

use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::error::AppError;

/// Failures allowed per account in the window; the next attempt is refused.
pub const ACCOUNT_LIMIT: i64 = 5;
/// Failures allowed from one client IP in the window, across accounts.
pub const IP_LIMIT: i64 = 30;
const WINDOW: &str = "15 minutes";

/// The account's key: a hash, so the table holds no email addresses.
pub fn account_key(email: &str) -> Vec<u8> {
    Sha256::digest(email.trim().to_lowercase().as_bytes()).to_vec()
}

/// Refuses the attempt if the account or the IP has failed too often lately.
pub async fn check(pool: &PgPool, account: &[u8], ip: Option<IpAddr>) -> Result<(), AppError> {
    let (by_account, by_ip): (i64, i64) = sqlx::query_as(&format!(
        "SELECT (SELECT count(*) FROM sign_in_failures WHERE account_key = $1 AND failed_at > now() - interval '{WINDOW}'),
                (SELECT count(*) FROM sign_in_failures WHERE ip = $2::inet AND failed_at > now() - interval '{WINDOW}')"
    ))
    .bind(account)
    .bind(ip.map(|i| i.to_string()))
    .fetch_one(pool)
    .await?;
    if by_account >= ACCOUNT_LIMIT {
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

pub async fn record_failure(
    pool: &PgPool,
    account: &[u8],
    ip: Option<IpAddr>,
) -> Result<(), AppError> {
    sqlx::query("INSERT INTO sign_in_failures (account_key, ip) VALUES ($1, $2::inet)")
        .bind(account)
        .bind(ip.map(|i| i.to_string()))
        .execute(pool)
        .await?;
    // Keep the table small: old failures no longer count.
    sqlx::query("DELETE FROM sign_in_failures WHERE failed_at < now() - interval '1 day'")
        .execute(pool)
        .await?;
    Ok(())
}

/// A successful sign-in clears the account's failures.
pub async fn clear(pool: &PgPool, account: &[u8]) -> Result<(), AppError> {
    sqlx::query("DELETE FROM sign_in_failures WHERE account_key = $1")
        .bind(account)
        .execute(pool)
        .await?;
    Ok(())
}
