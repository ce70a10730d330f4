//! One-time keys of forms that create things, so a form sent twice creates its record once.

use uuid::Uuid;

use crate::db::TenantTx;

/// A form's one-time key, when it sent one (forms rendered before keys existed send none).
pub fn parse(raw: &str) -> Option<Uuid> {
    Uuid::try_parse(raw.trim()).ok()
}

/// For a handler about to commit what a form created: when the form (`raw`, its hidden
/// `form_key`) was sent before and stored then, where that first submission went. The
/// caller then drops the transaction (rolling this copy back) and redirects there.
pub async fn resubmitted(
    tx: &mut TenantTx,
    raw: &str,
    location: &str,
) -> sqlx::Result<Option<String>> {
    match parse(raw) {
        Some(key) => claim(tx, key, location).await,
        None => Ok(None),
    }
}

/// Claims `key` for the record this transaction creates, whose page is `location`.
/// Returns where an earlier submission of the same form went, if there was one: the caller
/// then rolls back (drops the transaction) and answers with that place instead. A twin
/// sent at the same moment waits here for the first to commit or roll back.
pub async fn claim(tx: &mut TenantTx, key: Uuid, location: &str) -> sqlx::Result<Option<String>> {
    let tenant = tx.tenant_id();
    let claimed = sqlx::query(
        "INSERT INTO form_keys (tenant_id, key, location) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, key) DO NOTHING",
    )
    .bind(tenant)
    .bind(key)
    .bind(location)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if claimed {
        return Ok(None);
    }
    sqlx::query_scalar("SELECT location FROM form_keys WHERE tenant_id = $1 AND key = $2")
        .bind(tenant)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await
}
