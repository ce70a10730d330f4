//! What each export attempt is writing to the media store (`export_uploads`), so a rerun
//! after a crash can remove what the dead attempt left.

use uuid::Uuid;

use crate::db::TenantTx;

/// An object an attempt started writing, and its S3 multipart upload once there is one.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportUpload {
    pub id: Uuid,
    pub attempt_id: Uuid,
    pub key: String,
    pub upload_id: Option<String>,
}

/// Records that `attempt_id` starts writing `key`.
pub async fn record_upload(
    tx: &mut TenantTx,
    export_id: Uuid,
    attempt_id: Uuid,
    key: &str,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO export_uploads (tenant_id, id, export_id, attempt_id, key) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(export_id)
    .bind(attempt_id)
    .bind(key)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Records the S3 multipart upload that writes the object of row `id`.
pub async fn record_multipart(tx: &mut TenantTx, id: Uuid, upload_id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE export_uploads SET upload_id = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(upload_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The objects attempts at this export started writing (only `attempt_id`'s when given).
pub async fn uploads_of(
    tx: &mut TenantTx,
    export_id: Uuid,
    attempt_id: Option<Uuid>,
) -> sqlx::Result<Vec<ExportUpload>> {
    sqlx::query_as::<_, ExportUpload>(
        "SELECT id, attempt_id, key, upload_id FROM export_uploads
          WHERE tenant_id = $1 AND export_id = $2 AND ($3::uuid IS NULL OR attempt_id = $3)
          ORDER BY id",
    )
    .bind(tx.tenant_id())
    .bind(export_id)
    .bind(attempt_id)
    .fetch_all(&mut **tx)
    .await
}

/// Forgets rows whose objects are dealt with (recorded as the export's files, or removed).
pub async fn forget_uploads(tx: &mut TenantTx, ids: &[Uuid]) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM export_uploads WHERE tenant_id = $1 AND id = ANY($2)")
        .bind(tx.tenant_id())
        .bind(ids)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Forgets an attempt's rows: its files are now the export's.
pub async fn forget_attempt_uploads(
    tx: &mut TenantTx,
    export_id: Uuid,
    attempt_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM export_uploads WHERE tenant_id = $1 AND export_id = $2 AND attempt_id = $3",
    )
    .bind(tx.tenant_id())
    .bind(export_id)
    .bind(attempt_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
