//! A person's account: their one credential across Plotcare (password, second factor,
//! recovery codes), reached only through these functions.
//!
//! Each runs inside the caller's [`TenantTx`], so the change and its audit record commit
//! together, and names the person by their membership (`users.id`) in that transaction's
//! tenant: the account is found through the membership (which row-level security keeps to
//! the tenant), so a tenant reaches only its own members' accounts. The cross-tenant
//! switch is on only around the statements on `accounts` (and, where one person's
//! memberships must all change, on `users`).

use uuid::Uuid;

use super::super::{
    TenantId, TenantTx, mfa,
    revoke::{self, Because, Ended},
    tokens,
};
use crate::{
    AppError,
    db::{
        audit::{self, Actor, Changes},
        users::{self, NewUser},
    },
    domain::Email,
};

/// Turns the cross-tenant switch on or off for the rest of the transaction.
pub(super) async fn cross(tx: &mut TenantTx, on: bool) -> sqlx::Result<()> {
    sqlx::query("SELECT set_config('app.cross_tenant', $1, true)")
        .bind(if on { "on" } else { "" })
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The account of a member of this transaction's tenant.
async fn account_of(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT account_id FROM users WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant_id())
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await
}

/// A new account for `email` with this password hash (None: set later from an
/// invitation). None if the email already has an account.
pub async fn new_account(
    tx: &mut TenantTx,
    email: &Email,
    password_hash: Option<&str>,
) -> sqlx::Result<Option<Uuid>> {
    cross(tx, true).await?;
    let id: Option<Uuid> = sqlx::query_scalar(
        "INSERT INTO accounts (id, email, password_hash, password_changed_at)
         VALUES ($1, $2, $3, CASE WHEN $3::text IS NULL THEN NULL ELSE now() END)
         ON CONFLICT (email) DO NOTHING RETURNING id",
    )
    .bind(Uuid::now_v7())
    .bind(email.as_str())
    .bind(password_hash)
    .fetch_optional(&mut **tx)
    .await?;
    cross(tx, false).await?;
    Ok(id)
}

/// The account an invitation to `email` joins: the person's own if they have one
/// (nothing about it is told to the inviter), or a new one without a password.
pub async fn account_for_invitation(tx: &mut TenantTx, email: &Email) -> sqlx::Result<Uuid> {
    cross(tx, true).await?;
    let id: Uuid = sqlx::query_scalar(
        "WITH made AS (
             INSERT INTO accounts (id, email) VALUES ($1, $2)
             ON CONFLICT (email) DO NOTHING RETURNING id)
         SELECT id FROM made UNION ALL SELECT id FROM accounts WHERE email = $2 LIMIT 1",
    )
    .bind(Uuid::now_v7())
    .bind(email.as_str())
    .fetch_one(&mut **tx)
    .await?;
    cross(tx, false).await?;
    Ok(id)
}

/// The member's stored password hash (None for an invited person who has not set one).
pub async fn password_hash(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<Option<String>> {
    let Some(account) = account_of(tx, user_id).await? else {
        return Ok(None);
    };
    cross(tx, true).await?;
    let hash: Option<Option<String>> =
        sqlx::query_scalar("SELECT password_hash FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_optional(&mut **tx)
            .await?;
    cross(tx, false).await?;
    Ok(hash.flatten())
}

/// Stores the member's new password hash (for every tenant they belong to).
pub async fn set_password(
    tx: &mut TenantTx,
    user_id: Uuid,
    password_hash: &str,
) -> sqlx::Result<()> {
    let Some(account) = account_of(tx, user_id).await? else {
        return Ok(());
    };
    cross(tx, true).await?;
    sqlx::query(
        "UPDATE accounts SET password_hash = $2, password_changed_at = now() WHERE id = $1",
    )
    .bind(account)
    .bind(password_hash)
    .execute(&mut **tx)
    .await?;
    cross(tx, false).await
}

/// The membership is accepted: the person has joined the tenant (set a password from its
/// invitation, or signed in and chose it). Its pages may now show whether they use a
/// second factor. False if it was accepted already.
pub async fn accept_membership(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<bool> {
    let Some(account) = account_of(tx, user_id).await? else {
        return Ok(false);
    };
    cross(tx, true).await?;
    let mfa_enabled_at: Option<time::OffsetDateTime> =
        sqlx::query_scalar("SELECT mfa_enabled_at FROM accounts WHERE id = $1")
            .bind(account)
            .fetch_one(&mut **tx)
            .await?;
    cross(tx, false).await?;
    let done = sqlx::query(
        "UPDATE users SET accepted_at = now(), mfa_enabled_at = $3
          WHERE tenant_id = $1 AND id = $2 AND accepted_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(user_id)
    .bind(mfa_enabled_at)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The person's memberships in other tenants than this transaction's: (tenant, user).
async fn elsewhere(tx: &mut TenantTx, account: Uuid) -> sqlx::Result<Vec<(Uuid, Uuid)>> {
    let home = tx.tenant_id();
    cross(tx, true).await?;
    let others =
        sqlx::query_as("SELECT tenant_id, id FROM users WHERE account_id = $1 AND tenant_id <> $2")
            .bind(account)
            .bind(home)
            .fetch_all(&mut **tx)
            .await?;
    cross(tx, false).await?;
    Ok(others)
}

/// Writes `action` about the person into each other tenant's audit trail they belong to
/// (a change to their one sign-in shows in every tenant's record of them): as done by
/// them there when `by_them`, else by no one of that tenant. `actor` gives the address
/// and request.
async fn record_elsewhere(
    tx: &mut TenantTx,
    account: Uuid,
    actor: &Actor,
    by_them: bool,
    action: &str,
    changes: Changes,
) -> sqlx::Result<()> {
    let home = tx.tenant();
    for (tenant, member) in elsewhere(tx, account).await? {
        tx.switch_tenant(TenantId::trusted(tenant)).await?;
        let there = Actor {
            user_id: by_them.then_some(member),
            token_id: None,
            ip: actor.ip,
            request_id: actor.request_id.clone(),
        };
        audit::record(tx, &there, action, "user", Some(member), changes.clone()).await?;
    }
    tx.switch_tenant(home).await
}

/// Shows every accepted membership of the account the same second-factor state.
async fn copy_mfa_to_memberships(tx: &mut TenantTx, account: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users u SET mfa_enabled_at = a.mfa_enabled_at
           FROM accounts a
          WHERE a.id = $1 AND u.account_id = a.id
            AND (u.accepted_at IS NOT NULL OR a.mfa_enabled_at IS NULL)",
    )
    .bind(account)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Turns MFA on with a confirmed secret; `step` is the step of the code that confirmed it,
/// so that code cannot be used again. False if the account was already enrolled. The
/// person's other tenants record it too (the caller records it in this one).
pub async fn enrol_mfa(
    tx: &mut TenantTx,
    actor: &Actor,
    user_id: Uuid,
    secret: &str,
    step: i64,
) -> sqlx::Result<bool> {
    let Some(account) = account_of(tx, user_id).await? else {
        return Ok(false);
    };
    cross(tx, true).await?;
    let done = sqlx::query(
        "UPDATE accounts SET mfa_secret = $2, mfa_enabled_at = now(), mfa_last_step = $3
          WHERE id = $1 AND mfa_enabled_at IS NULL",
    )
    .bind(account)
    .bind(secret)
    .bind(step)
    .execute(&mut **tx)
    .await?;
    copy_mfa_to_memberships(tx, account).await?;
    cross(tx, false).await?;
    let enrolled = done.rows_affected() == 1;
    if enrolled {
        let changes = Changes::new().field("mfa_enabled", false, true);
        record_elsewhere(tx, account, actor, true, "mfa.enrolled", changes).await?;
    }
    Ok(enrolled)
}

/// Removes the member's second factor (an admin's reset): their authenticator secret and
/// recovery codes. It is their account's, so every tenant they belong to sees it gone,
/// and records it ("by an admin of another organisation": which one is not theirs to
/// know); the caller records it in this tenant.
pub async fn reset_mfa(tx: &mut TenantTx, actor: &Actor, user_id: Uuid) -> sqlx::Result<()> {
    let Some(account) = account_of(tx, user_id).await? else {
        return Ok(());
    };
    cross(tx, true).await?;
    sqlx::query(
        "UPDATE accounts SET mfa_secret = NULL, mfa_enabled_at = NULL, mfa_last_step = NULL WHERE id = $1",
    )
    .bind(account)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM account_recovery_codes WHERE account_id = $1")
        .bind(account)
        .execute(&mut **tx)
        .await?;
    copy_mfa_to_memberships(tx, account).await?;
    cross(tx, false).await?;
    let changes = Changes::new()
        .field("mfa_enrolled", true, false)
        .note("by", "an admin of another organisation");
    record_elsewhere(tx, account, actor, false, "user.mfa_reset", changes).await
}

/// Accepts a current TOTP code of `account` once (its step must be later than the last
/// accepted) and uses it up. The cross-tenant switch must be on.
async fn use_totp(
    tx: &mut sqlx::PgConnection,
    account: Uuid,
    code: &str,
) -> Result<bool, AppError> {
    let row: Option<(Option<String>, Option<i64>)> = sqlx::query_as(
        "SELECT mfa_secret, mfa_last_step FROM accounts
          WHERE id = $1 AND mfa_enabled_at IS NOT NULL FOR UPDATE",
    )
    .bind(account)
    .fetch_optional(&mut *tx)
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
    sqlx::query("UPDATE accounts SET mfa_last_step = $2 WHERE id = $1")
        .bind(account)
        .bind(step)
        .execute(&mut *tx)
        .await?;
    Ok(true)
}

/// Accepts the member's current TOTP code once.
pub async fn consume_totp(tx: &mut TenantTx, user_id: Uuid, code: &str) -> Result<bool, AppError> {
    let Some(account) = account_of(tx, user_id).await? else {
        return Ok(false);
    };
    cross(tx, true).await?;
    let ok = use_totp(tx, account, code).await?;
    cross(tx, false).await?;
    Ok(ok)
}

/// How a second factor was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactor {
    Totp,
    RecoveryCode,
}

/// At sign-in, before a tenant is chosen: accepts a TOTP code (once) or an unused
/// recovery code of the account, and uses it up.
pub async fn consume_second_factor(
    pool: &sqlx::PgPool,
    account: Uuid,
    code: &str,
) -> Result<Option<SecondFactor>, AppError> {
    let mut tx = super::begin(pool).await?;
    if use_totp(&mut tx, account, code).await? {
        tx.commit().await?;
        return Ok(Some(SecondFactor::Totp));
    }
    let normalised = code.trim().to_lowercase();
    let used = sqlx::query(
        "UPDATE account_recovery_codes SET used_at = now()
          WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL",
    )
    .bind(account)
    .bind(tokens::hash(&normalised))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((used.rows_affected() == 1).then_some(SecondFactor::RecoveryCode))
}

/// Replaces all of the member's recovery codes with these hashes.
pub async fn replace_recovery_codes(
    tx: &mut TenantTx,
    user_id: Uuid,
    code_hashes: &[Vec<u8>],
) -> sqlx::Result<()> {
    let Some(account) = account_of(tx, user_id).await? else {
        return Ok(());
    };
    cross(tx, true).await?;
    sqlx::query("DELETE FROM account_recovery_codes WHERE account_id = $1")
        .bind(account)
        .execute(&mut **tx)
        .await?;
    let ids: Vec<Uuid> = code_hashes.iter().map(|_| Uuid::now_v7()).collect();
    sqlx::query(
        "INSERT INTO account_recovery_codes (account_id, id, code_hash)
         SELECT $1, id, hash FROM unnest($2::uuid[], $3::bytea[]) AS c (id, hash)",
    )
    .bind(account)
    .bind(&ids)
    .bind(code_hashes)
    .execute(&mut **tx)
    .await?;
    cross(tx, false).await
}

/// How many of the member's recovery codes are still unused.
pub async fn unused_recovery_codes(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<i64> {
    let Some(account) = account_of(tx, user_id).await? else {
        return Ok(0);
    };
    cross(tx, true).await?;
    let n = sqlx::query_scalar(
        "SELECT count(*) FROM account_recovery_codes WHERE account_id = $1 AND used_at IS NULL",
    )
    .bind(account)
    .fetch_one(&mut **tx)
    .await?;
    cross(tx, false).await?;
    Ok(n)
}

/// After the person's password changed or was reset: ends every session (but `keep`, in
/// this tenant) and revokes every API token of every one of their memberships, each
/// tenant's with an audit record in that tenant. Returns what ended, in all.
pub async fn sign_out_everywhere(
    tx: &mut TenantTx,
    actor: &Actor,
    user_id: Uuid,
    keep: Option<Uuid>,
    because: Because,
) -> sqlx::Result<Ended> {
    let mut ended = revoke::sign_out_everywhere(tx, actor, user_id, keep, because).await?;
    let Some(account) = account_of(tx, user_id).await? else {
        return Ok(ended);
    };
    let home = tx.tenant();
    for (tenant, member) in elsewhere(tx, account).await? {
        tx.switch_tenant(TenantId::trusted(tenant)).await?;
        // The same person, as their membership there.
        let there = Actor {
            user_id: Some(member),
            token_id: None,
            ip: actor.ip,
            request_id: actor.request_id.clone(),
        };
        let here = revoke::sign_out_everywhere(tx, &there, member, None, because).await?;
        if here.sessions > 0 || here.tokens > 0 {
            audit::record(
                tx,
                &there,
                "user.signed_out_everywhere",
                "user",
                Some(member),
                Changes::new()
                    .note("reason", because.as_str())
                    .note("sessions_ended", here.sessions)
                    .note("api_tokens_revoked", here.tokens),
            )
            .await?;
        }
        ended.sessions += here.sessions;
        ended.tokens += here.tokens;
    }
    tx.switch_tenant(home).await?;
    Ok(ended)
}

/// A new person: a new account with this password (None: they set it from an invitation)
/// and their membership here, accepted when the password is given. `Ok(None)` if the
/// email already has an account (for the demo, the generator and tests; people are
/// invited with [`invite_person`]).
pub async fn add_person(tx: &mut TenantTx, user: &NewUser<'_>) -> sqlx::Result<Option<Uuid>> {
    let Some(account) = new_account(tx, user.email, user.password_hash).await? else {
        return Ok(None);
    };
    users::insert_membership(tx, account, user, user.password_hash.is_some()).await
}

/// Invites a person to this tenant: a membership (not yet accepted) of their account,
/// which is theirs if they already sign in to Plotcare elsewhere, or a new one. Nothing
/// tells the two apart. `Ok(None)` if someone in this tenant already uses the email.
pub async fn invite_person(tx: &mut TenantTx, user: &NewUser<'_>) -> sqlx::Result<Option<Uuid>> {
    if users::email_taken(tx, user.email).await? {
        return Ok(None);
    }
    let account = account_for_invitation(tx, user.email).await?;
    users::insert_membership(tx, account, user, false).await
}
