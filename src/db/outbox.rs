//! Outgoing emails. Written by [`crate::email::queue`], sent (or logged) by the
//! `send_email` job, and read by admins on the outbox page.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxEmail {
    pub id: Uuid,
    /// One address, or several separated by commas.
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub ticket_id: Option<Uuid>,
    pub status: String,
    pub error: Option<String>,
    pub sent_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

const COLUMNS: &str =
    "id, to_address, subject, body_text, ticket_id, status, error, sent_at, created_at";

pub async fn insert(
    tx: &mut TenantTx,
    to: &str,
    subject: &str,
    body: &str,
    ticket_id: Option<Uuid>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO outbox_emails (tenant_id, id, to_address, subject, body_text, ticket_id)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(to)
    .bind(subject)
    .bind(body)
    .bind(ticket_id)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<OutboxEmail>> {
    sqlx::query_as::<_, OutboxEmail>(&format!(
        "SELECT {COLUMNS} FROM outbox_emails WHERE tenant_id = $1 AND id = $2"
    ))
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// Records the outcome: `sent`, `logged` or `failed` (with a reason).
pub async fn mark(
    tx: &mut TenantTx,
    id: Uuid,
    status: &str,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE outbox_emails
            SET status = $3, error = $4, sent_at = CASE WHEN $3 IN ('sent', 'logged') THEN now() END
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(status)
    .bind(error)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The newest emails first.
pub async fn recent(tx: &mut TenantTx, limit: i64) -> sqlx::Result<Vec<OutboxEmail>> {
    sqlx::query_as::<_, OutboxEmail>(&format!(
        "SELECT {COLUMNS} FROM outbox_emails WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    ))
    .bind(tx.tenant_id())
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}
