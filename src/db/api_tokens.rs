//! Personal API tokens. Only the SHA-256 of a token is stored; the token itself is shown once.
//! A token works only on the API, within its scopes, until it expires or is revoked.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{db::TenantTx, domain::access::Scopes};

/// One token, with its owner's name (for the admin page).
#[derive(Debug, sqlx::FromRow)]
pub struct TokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub owner_name: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
    pub revoked_reason: Option<String>,
}

impl TokenRow {
    pub fn scopes(&self) -> Scopes {
        Scopes::from_words(&self.scopes)
    }
}

const COLUMNS: &str = "k.id, k.user_id, u.name AS owner_name, k.name, k.scopes, k.created_at,
    k.expires_at, k.last_used_at, k.revoked_at, k.revoked_reason";

/// What it takes to make a token.
#[derive(Debug)]
pub struct NewToken<'a> {
    pub user_id: Uuid,
    pub name: &'a str,
    pub scopes: Scopes,
    /// None: until revoked.
    pub expires_at: Option<OffsetDateTime>,
}

/// Stores a new token's hash. Returns its id.
pub async fn insert(
    tx: &mut TenantTx,
    token: &NewToken<'_>,
    token_hash: &[u8],
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO api_tokens (tenant_id, id, user_id, name, token_hash, scopes, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(token.user_id)
    .bind(token.name)
    .bind(token_hash)
    .bind(token.scopes.words())
    .bind(token.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// A user's tokens: live ones first, newest first.
pub async fn for_user(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as::<_, TokenRow>(&format!(
        "SELECT {COLUMNS} FROM api_tokens k JOIN users u ON u.tenant_id = k.tenant_id AND u.id = k.user_id
          WHERE k.tenant_id = $1 AND k.user_id = $2
          ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC, k.id DESC"
    ))
    .bind(tx.tenant_id())
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await
}

/// Every token in the tenant: live ones first, newest first.
pub async fn all(tx: &mut TenantTx) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as::<_, TokenRow>(&format!(
        "SELECT {COLUMNS} FROM api_tokens k JOIN users u ON u.tenant_id = k.tenant_id AND u.id = k.user_id
          WHERE k.tenant_id = $1
          ORDER BY k.revoked_at IS NOT NULL, k.created_at DESC, k.id DESC"
    ))
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<TokenRow>> {
    sqlx::query_as::<_, TokenRow>(&format!(
        "SELECT {COLUMNS} FROM api_tokens k JOIN users u ON u.tenant_id = k.tenant_id AND u.id = k.user_id
          WHERE k.tenant_id = $1 AND k.id = $2"
    ))
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// Revokes a token: it stops working on its next request. False if it was already revoked.
pub async fn revoke(tx: &mut TenantTx, id: Uuid, by: Uuid, reason: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = now(), revoked_by = $3, revoked_reason = $4
          WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(by)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A token that [`revoke_all_for_user`] revoked.
#[derive(Debug, sqlx::FromRow)]
pub struct Revoked {
    pub id: Uuid,
    pub name: String,
}

/// Revokes every live token of a user (their password changed or was reset, an admin
/// ended their sessions, they were disabled). `by` is who did it (None: the user).
/// Returns the tokens revoked, for the audit trail.
pub async fn revoke_all_for_user(
    tx: &mut TenantTx,
    user_id: Uuid,
    by: Option<Uuid>,
    reason: &str,
) -> sqlx::Result<Vec<Revoked>> {
    sqlx::query_as::<_, Revoked>(
        "UPDATE api_tokens SET revoked_at = now(), revoked_by = coalesce($3, user_id), revoked_reason = $4
          WHERE tenant_id = $1 AND user_id = $2 AND revoked_at IS NULL
      RETURNING id, name",
    )
    .bind(tx.tenant_id())
    .bind(user_id)
    .bind(by)
    .bind(reason)
    .fetch_all(&mut **tx)
    .await
}
