//! Personal API tokens. Only the SHA-256 of a token is stored; the token itself is shown once.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::auth::TenantTx;

/// One token, with its owner's name (for the admin page).
#[derive(Debug, sqlx::FromRow)]
pub struct TokenRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub owner_name: String,
    pub name: String,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

const COLUMNS: &str =
    "k.id, k.user_id, u.name AS owner_name, k.name, k.created_at, k.last_used_at, k.revoked_at";

/// Stores a new token's hash. Returns its id.
pub async fn insert(
    tx: &mut TenantTx,
    user_id: Uuid,
    name: &str,
    token_hash: &[u8],
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO api_tokens (tenant_id, id, user_id, name, token_hash) VALUES ($1, $2, $3, $4, $5)")
        .bind(tx.tenant_id())
        .bind(id)
        .bind(user_id)
        .bind(name)
        .bind(token_hash)
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
pub async fn revoke(tx: &mut TenantTx, id: Uuid, by: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE api_tokens SET revoked_at = now(), revoked_by = $3
          WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
