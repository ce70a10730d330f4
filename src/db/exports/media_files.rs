//! The media return: which objects, read in batches.

use super::*;

// ---------------------------------------------------------------------------
// Media

/// One media file with what it belongs to, for the media export.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MediaEntry {
    pub id: Uuid,
    pub storage_key: String,
    pub original_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub created_at: OffsetDateTime,
    pub uploaded_by: Option<String>,
    pub ticket_number: Option<i64>,
    pub comment_id: Option<Uuid>,
    /// For an inspection photo: "Inspection 2025-01-31 pre_completion 0191a2b3".
    pub inspection: Option<String>,
    pub scheme_name: Option<String>,
    pub scheme_code: Option<String>,
    pub plot_number: Option<String>,
}

/// Files and their total bytes, inspection photos included.
pub async fn count_media(tx: &mut TenantTx) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as::<_, (i64, i64)>(
        "SELECT count(*), coalesce(sum(size_bytes), 0)::int8 FROM (
            SELECT size_bytes FROM media_files WHERE tenant_id = $1
            UNION ALL SELECT size_bytes FROM inspection_photos WHERE tenant_id = $1) f",
    )
    .bind(tx.tenant_id())
    .fetch_one(&mut **tx)
    .await
}

/// Up to `limit` media files after `after` (by id), with their ticket or inspection, plot and scheme.
pub async fn media_batch(
    tx: &mut TenantTx,
    after: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<MediaEntry>> {
    let photos = "UNION ALL
         SELECT y.id, y.storage_key, y.original_name, y.content_type, y.size_bytes, y.created_at, ub.email,
                NULL::int8, NULL::uuid,
                'Inspection ' || i.scheduled_on::text || ' ' || i.kind || ' ' || left(i.id::text, 8),
                s.name, s.reference_code, p.plot_number
           FROM (SELECT * FROM inspection_photos WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3) y
           LEFT JOIN inspections i ON i.tenant_id = y.tenant_id AND i.id = y.inspection_id
           LEFT JOIN plots p ON p.tenant_id = i.tenant_id AND p.id = i.plot_id
           LEFT JOIN schemes s ON s.tenant_id = i.tenant_id AND s.id = i.scheme_id
           LEFT JOIN users ub ON ub.tenant_id = y.tenant_id AND ub.id = y.uploaded_by";
    sqlx::query_as::<_, MediaEntry>(&format!(
        "SELECT * FROM (
         SELECT x.id, x.storage_key, x.original_name, x.content_type, x.size_bytes, x.created_at, ub.email AS uploaded_by,
                t.number AS ticket_number, x.comment_id, NULL::text AS inspection, s.name AS scheme_name,
                s.reference_code AS scheme_code, p.plot_number
           FROM (SELECT * FROM media_files WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3) x
           LEFT JOIN ticket_comments cm ON cm.tenant_id = x.tenant_id AND cm.id = x.comment_id
           LEFT JOIN tickets t ON t.tenant_id = x.tenant_id AND t.id = coalesce(x.ticket_id, cm.ticket_id)
           LEFT JOIN plots p ON p.tenant_id = t.tenant_id AND p.id = t.plot_id
           LEFT JOIN schemes s ON s.tenant_id = t.tenant_id AND s.id = t.scheme_id
           LEFT JOIN users ub ON ub.tenant_id = x.tenant_id AND ub.id = x.uploaded_by
         {photos}
         ) f ORDER BY id LIMIT $3"
    ))
    .bind(tx.tenant_id())
    .bind(after)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Keeps the transaction from idling out while the writer catches up.
/// Exports this transaction's snapshot, so other connections read the same moment
/// (see [`TenantTx::begin_in_snapshot`]). Valid while this transaction stays open.
pub async fn export_snapshot(tx: &mut TenantTx) -> sqlx::Result<String> {
    sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut **tx)
        .await
}

pub async fn keep_alive(tx: &mut TenantTx) -> sqlx::Result<()> {
    sqlx::query("SELECT $1::uuid")
        .bind(tx.tenant_id())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
