//! Exports (data returns): the requests and their state, and the statements that
//! read a tenant's records sheet by sheet for the workbooks.

use std::borrow::Cow;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::TenantTx;

mod history;
mod labels;
mod sheets;
pub use sheets::*;
mod media_files;
pub use media_files::*;
mod uploads;
pub use uploads::*;

/// One export request, as the Exports page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportRow {
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub requested_by: Uuid,
    pub requested_by_name: String,
    pub requested_by_email: String,
    pub attempt_id: Option<Uuid>,
    pub rows_done: i64,
    pub rows_total: i64,
    pub size_bytes: Option<i64>,
    pub error: Option<String>,
    pub parts: Value,
    pub started_at: Option<OffsetDateTime>,
    pub finished_at: Option<OffsetDateTime>,
    pub expires_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    /// expires_at has passed.
    pub expired: bool,
}

/// One file an export produced.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExportPart {
    pub key: String,
    pub file_name: String,
    pub size_bytes: u64,
    pub sha256: String,
}

impl ExportRow {
    pub fn parts(&self) -> Vec<ExportPart> {
        serde_json::from_value(self.parts.clone()).unwrap_or_default()
    }
}

const EXPORT_COLUMNS: &str = "e.id, e.kind, e.status, e.requested_by, u.name AS requested_by_name, u.email AS requested_by_email,
    e.attempt_id, e.rows_done, e.rows_total, e.size_bytes, e.error, e.parts, e.started_at, e.finished_at, e.expires_at,
    e.created_at, coalesce(e.expires_at <= now(), false) AS expired";

pub async fn insert(
    tx: &mut TenantTx,
    id: Uuid,
    kind: &str,
    requested_by: Uuid,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO exports (tenant_id, id, kind, requested_by) VALUES ($1, $2, $3, $4)")
        .bind(tx.tenant_id())
        .bind(id)
        .bind(kind)
        .bind(requested_by)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The newest requests first.
pub async fn list(tx: &mut TenantTx, limit: i64) -> sqlx::Result<Vec<ExportRow>> {
    sqlx::query_as::<_, ExportRow>(&format!(
        "SELECT {EXPORT_COLUMNS} FROM exports e JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.requested_by
          WHERE e.tenant_id = $1 ORDER BY e.created_at DESC, e.id DESC LIMIT $2"
    ))
    .bind(tx.tenant_id())
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<ExportRow>> {
    sqlx::query_as::<_, ExportRow>(&format!(
        "SELECT {EXPORT_COLUMNS} FROM exports e JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.requested_by
          WHERE e.tenant_id = $1 AND e.id = $2"
    ))
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// Starts a run: the export becomes this attempt's, its counters restart. False when it is already done (or gone).
pub async fn start_attempt(
    tx: &mut TenantTx,
    id: Uuid,
    attempt_id: Uuid,
    rows_total: i64,
) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE exports SET status = 'running', attempt_id = $3, rows_done = 0, rows_total = $4, error = NULL,
                started_at = now(), finished_at = NULL
          WHERE tenant_id = $1 AND id = $2 AND status IN ('queued', 'running')",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(attempt_id)
    .bind(rows_total)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Progress of the current attempt (a stale attempt's progress is ignored).
pub async fn set_progress(
    tx: &mut TenantTx,
    id: Uuid,
    attempt_id: Uuid,
    rows_done: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE exports SET rows_done = GREATEST(rows_done, $4) WHERE tenant_id = $1 AND id = $2 AND attempt_id = $3 AND status = 'running'")
        .bind(tx.tenant_id())
        .bind(id)
        .bind(attempt_id)
        .bind(rows_done)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records the produced files, only if this attempt is still the current one. False: another run owns it.
pub async fn complete(
    tx: &mut TenantTx,
    id: Uuid,
    attempt_id: Uuid,
    parts: &[ExportPart],
    rows_done: i64,
) -> sqlx::Result<bool> {
    let size: u64 = parts.iter().map(|p| p.size_bytes).sum();
    let updated = sqlx::query(
        "UPDATE exports SET status = 'done', parts = $4, size_bytes = $5, rows_done = $6, finished_at = now(),
                expires_at = now() + interval '7 days', error = NULL
          WHERE tenant_id = $1 AND id = $2 AND attempt_id = $3 AND status = 'running'",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(attempt_id)
    .bind(serde_json::to_value(parts).unwrap_or(Value::Array(Vec::new())))
    .bind(i64::try_from(size).unwrap_or(i64::MAX))
    .bind(rows_done)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Ok(false);
    }
    forget_attempt_uploads(tx, id, attempt_id).await?;
    Ok(true)
}

/// Marks the current attempt failed, with a sentence saying why.
pub async fn fail(tx: &mut TenantTx, id: Uuid, attempt_id: Uuid, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE exports SET status = 'failed', error = $4, finished_at = now()
          WHERE tenant_id = $1 AND id = $2 AND attempt_id = $3 AND status = 'running'",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(attempt_id)
    .bind(error)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Puts a failed export back in the queue. False unless it had failed.
pub async fn requeue(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let updated = sqlx::query(
        "UPDATE exports SET status = 'queued', error = NULL, attempt_id = NULL, rows_done = 0, started_at = NULL, finished_at = NULL
          WHERE tenant_id = $1 AND id = $2 AND status = 'failed'",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// Done exports past their expiry, whose files are to be deleted (locked, so two cleaners never race).
pub async fn due_for_expiry(tx: &mut TenantTx) -> sqlx::Result<Vec<(Uuid, Value)>> {
    sqlx::query_as::<_, (Uuid, Value)>(
        "SELECT id, parts FROM exports WHERE tenant_id = $1 AND status = 'done' AND expires_at <= now()
          ORDER BY expires_at LIMIT 100 FOR UPDATE SKIP LOCKED",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

pub async fn mark_expired(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE exports SET status = 'expired', parts = '[]' WHERE tenant_id = $1 AND id = $2 AND status = 'done'")
        .bind(tx.tenant_id())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The tenant's name and slug, for the manifest.
pub async fn tenant_identity(tx: &mut TenantTx) -> sqlx::Result<(String, String)> {
    sqlx::query_as::<_, (String, String)>("SELECT name, slug FROM tenants WHERE id = $1")
        .bind(tx.tenant_id())
        .fetch_one(&mut **tx)
        .await
}
