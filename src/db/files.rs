//! Photos and documents on tickets. The bytes live in the media store; a row
//! here records where, what they are (by content) and who may see them.
//!
//! Callers have already found the ticket through the user's scope
//! (`db::tickets::header`); `subcontractor_view` hides files not marked visible to the subcontractor.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::TenantTx;

/// One file as the ticket page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MediaFile {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub comment_id: Option<Uuid>,
    pub storage_key: String,
    pub thumbnail_key: Option<String>,
    pub original_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub visible_to_subcontractor: bool,
    pub uploaded_by_name: Option<String>,
    pub created_at: OffsetDateTime,
}

/// A file just stored, to be recorded.
#[derive(Debug)]
pub struct NewFile<'a> {
    pub ticket_id: Uuid,
    pub comment_id: Option<Uuid>,
    pub storage_key: &'a str,
    pub thumbnail_key: Option<&'a str>,
    pub original_name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub visible_to_subcontractor: bool,
    pub uploaded_by: Uuid,
}

const COLUMNS: &str = "f.id, f.ticket_id, f.comment_id, f.storage_key, f.thumbnail_key, f.original_name, f.content_type,
    f.size_bytes, f.visible_to_subcontractor, u.name AS uploaded_by_name, f.created_at";

/// The ticket's files, oldest first.
pub async fn list(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    subcontractor_view: bool,
) -> sqlx::Result<Vec<MediaFile>> {
    sqlx::query_as::<_, MediaFile>(&format!(
        "SELECT {COLUMNS}
           FROM media_files f
           LEFT JOIN users u ON u.tenant_id = f.tenant_id AND u.id = f.uploaded_by
          WHERE f.tenant_id = $1 AND f.ticket_id = $2 AND (NOT $3 OR f.visible_to_subcontractor)
          ORDER BY f.created_at, f.id"
    ))
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .bind(subcontractor_view)
    .fetch_all(&mut **tx)
    .await
}

/// One file of the ticket, if it exists and the reader may see it.
pub async fn find(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    file_id: Uuid,
    subcontractor_view: bool,
) -> sqlx::Result<Option<MediaFile>> {
    sqlx::query_as::<_, MediaFile>(&format!(
        "SELECT {COLUMNS}
           FROM media_files f
           LEFT JOIN users u ON u.tenant_id = f.tenant_id AND u.id = f.uploaded_by
          WHERE f.tenant_id = $1 AND f.ticket_id = $2 AND f.id = $3 AND (NOT $4 OR f.visible_to_subcontractor)"
    ))
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .bind(file_id)
    .bind(subcontractor_view)
    .fetch_optional(&mut **tx)
    .await
}

/// Records a stored file; returns its id.
pub async fn insert(tx: &mut TenantTx, file: &NewFile<'_>) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO media_files (tenant_id, id, ticket_id, comment_id, storage_key, thumbnail_key, original_name,
                                  content_type, size_bytes, visible_to_subcontractor, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(file.ticket_id)
    .bind(file.comment_id)
    .bind(file.storage_key)
    .bind(file.thumbnail_key)
    .bind(file.original_name)
    .bind(file.content_type)
    .bind(file.size_bytes)
    .bind(file.visible_to_subcontractor)
    .bind(file.uploaded_by)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Shows or hides a file from the nominated subcontractor.
pub async fn set_visibility(tx: &mut TenantTx, file_id: Uuid, visible: bool) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE media_files SET visible_to_subcontractor = $3 WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(file_id)
    .bind(visible)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
