//! Ticket commentary: internal (staff only) or shared (the nominated
//! subcontractor sees it too). Edits keep the earlier text; admins soft-delete.
//!
//! Callers have already found the ticket through the user's scope
//! (`db::tickets::header`); `shared_only` hides internal comments from subcontractors.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::TenantTx;

/// Who may read a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Staff only.
    Internal,
    /// Staff and the nominated subcontractor.
    Shared,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Internal => "internal",
            Visibility::Shared => "shared",
        }
    }

    pub fn parse(value: &str) -> Option<Visibility> {
        match value {
            "internal" => Some(Visibility::Internal),
            "shared" => Some(Visibility::Shared),
            _ => None,
        }
    }

    pub fn is_shared(self) -> bool {
        self == Visibility::Shared
    }
}

/// One comment as the thread shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Comment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub author_user_id: Uuid,
    pub author_name: String,
    pub visibility: String,
    pub body: String,
    pub edited_at: Option<OffsetDateTime>,
    pub deleted_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl Comment {
    pub fn is_shared(&self) -> bool {
        self.visibility == Visibility::Shared.as_str()
    }
}

/// An earlier text of an edited comment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Revision {
    pub body: String,
    pub edited_by_name: String,
    pub edited_at: OffsetDateTime,
}

const COLUMNS: &str =
    "c.id, c.ticket_id, c.author_user_id, u.name AS author_name, c.visibility, c.body,
    c.edited_at, c.deleted_at, c.created_at";

/// The ticket's comments, oldest first.
pub async fn list(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    shared_only: bool,
) -> sqlx::Result<Vec<Comment>> {
    sqlx::query_as::<_, Comment>(&format!(
        "SELECT {COLUMNS}
           FROM ticket_comments c
           JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.author_user_id
          WHERE c.tenant_id = $1 AND c.ticket_id = $2 AND (NOT $3 OR c.visibility = 'shared')
          ORDER BY c.created_at, c.id"
    ))
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .bind(shared_only)
    .fetch_all(&mut **tx)
    .await
}

/// One comment of the ticket, if it exists and the reader may see it.
pub async fn find(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    comment_id: Uuid,
    shared_only: bool,
) -> sqlx::Result<Option<Comment>> {
    sqlx::query_as::<_, Comment>(&format!(
        "SELECT {COLUMNS}
           FROM ticket_comments c
           JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.author_user_id
          WHERE c.tenant_id = $1 AND c.ticket_id = $2 AND c.id = $3 AND (NOT $4 OR c.visibility = 'shared')"
    ))
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .bind(comment_id)
    .bind(shared_only)
    .fetch_optional(&mut **tx)
    .await
}

/// Adds a comment; returns its id.
pub async fn insert(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    author_user_id: Uuid,
    visibility: Visibility,
    body: &str,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO ticket_comments (tenant_id, id, ticket_id, author_user_id, visibility, body)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(ticket_id)
    .bind(author_user_id)
    .bind(visibility.as_str())
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Replaces a comment's text, keeping the previous text as a revision.
pub async fn edit(
    tx: &mut TenantTx,
    comment_id: Uuid,
    editor_user_id: Uuid,
    previous_body: &str,
    new_body: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO ticket_comment_revisions (tenant_id, id, comment_id, body, edited_by)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(tx.tenant_id())
    .bind(Uuid::now_v7())
    .bind(comment_id)
    .bind(previous_body)
    .bind(editor_user_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE ticket_comments SET body = $3, edited_at = now() WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
        .bind(tx.tenant_id())
        .bind(comment_id)
        .bind(new_body)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Marks a comment deleted (its text and history stay in the database).
pub async fn soft_delete(
    tx: &mut TenantTx,
    comment_id: Uuid,
    deleted_by: Uuid,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE ticket_comments SET deleted_at = now(), deleted_by = $3
          WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(comment_id)
    .bind(deleted_by)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The earlier texts of a comment, oldest first.
pub async fn revisions(tx: &mut TenantTx, comment_id: Uuid) -> sqlx::Result<Vec<Revision>> {
    sqlx::query_as::<_, Revision>(
        "SELECT r.body, u.name AS edited_by_name, r.edited_at
           FROM ticket_comment_revisions r
           JOIN users u ON u.tenant_id = r.tenant_id AND u.id = r.edited_by
          WHERE r.tenant_id = $1 AND r.comment_id = $2
          ORDER BY r.edited_at, r.id",
    )
    .bind(tx.tenant_id())
    .bind(comment_id)
    .fetch_all(&mut **tx)
    .await
}
