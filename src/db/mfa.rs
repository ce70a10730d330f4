//! A user's own credentials: their password, their TOTP enrolment and their recovery codes.

use uuid::Uuid;

use crate::{
    AppError,
    auth::{TenantTx, mfa},
};

/// The user's stored password hash (None for an invited user who has not set one).
pub async fn password_hash(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT password_hash FROM users WHERE tenant_id = $1 AND id = $2")
            .bind(tx.tenant_id())
            .bind(user_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.and_then(|(hash,)| hash))
}

/// Stores a new password hash and when it changed.
pub async fn set_password(
    tx: &mut TenantTx,
    user_id: Uuid,
    password_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET password_hash = $3, password_changed_at = now() WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant_id())
        .bind(user_id)
        .bind(password_hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Turns MFA on with a confirmed secret; `step` is the step of the code that confirmed it,
/// so that code cannot be used again. False if the user was already enrolled.
pub async fn enrol(
    tx: &mut TenantTx,
    user_id: Uuid,
    secret: &str,
    step: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET mfa_secret = $3, mfa_enabled_at = now(), mfa_last_step = $4
          WHERE tenant_id = $1 AND id = $2 AND mfa_enabled_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(user_id)
    .bind(secret)
    .bind(step)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Accepts a current TOTP code once (its step must be later than the last accepted) and uses it up.
pub async fn consume_totp(tx: &mut TenantTx, user_id: Uuid, code: &str) -> Result<bool, AppError> {
    let row: Option<(Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT mfa_secret, mfa_last_step FROM users
          WHERE tenant_id = $1 AND id = $2 AND mfa_enabled_at IS NOT NULL FOR UPDATE",
    )
    .bind(tx.tenant_id())
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((Some(secret), last_step)) = row else {
        return Ok(false);
    };
    let Some(step) = mfa::matching_step(&secret, code)? else {
        return Ok(false);
    };
    if last_step.is_some_and(|last| step <= last) {
        return Ok(false);
    }
    sqlx::query("UPDATE users SET mfa_last_step = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant_id())
        .bind(user_id)
        .bind(step)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

/// Replaces all of a user's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    tx: &mut TenantTx,
    user_id: Uuid,
    code_hashes: &[Vec<u8>],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2")
        .bind(tx.tenant_id())
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for hash in code_hashes {
        sqlx::query("INSERT INTO mfa_recovery_codes (tenant_id, id, user_id, code_hash) VALUES ($1, $2, $3, $4)")
            .bind(tx.tenant_id())
            .bind(Uuid::now_v7())
            .bind(user_id)
            .bind(hash)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// How many of the user's recovery codes are still unused.
pub async fn unused_recovery_codes(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT count(*) FROM mfa_recovery_codes WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL")
        .bind(tx.tenant_id())
        .bind(user_id)
        .fetch_one(&mut **tx)
        .await
}
