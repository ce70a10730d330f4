//! Inspections on plots: the list, the inspection with its answers, photos and
//! commentary, sign-off, and tickets raised from failed items. Every query
//! that reaches an inspection by id takes the user's [`SchemeScope`].

use sqlx::types::Json;
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::users::Choice;
use crate::{
    db::TenantTx,
    db::scope::SchemeScope,
    domain::inspection::{AnswerKind, Item, Outcome, Section, Status, Structure, TemplateKind},
};

mod demo;
pub use demo::*;

/// An inspection with what its pages show about it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Inspection {
    pub id: Uuid,
    pub plot_id: Uuid,
    pub contract_id: Uuid,
    pub plot_number: String,
    pub plot_address: String,
    pub plot_postcode: String,
    pub scheme_id: Uuid,
    pub scheme_name: String,
    pub template_name: String,
    pub template_version: i32,
    pub kind: TemplateKind,
    pub scheduled_on: Date,
    pub inspector_user_id: Option<Uuid>,
    pub inspector_contact_id: Option<Uuid>,
    pub inspector_name: Option<String>,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub completed_at: Option<OffsetDateTime>,
    pub signed_by_name: Option<String>,
    pub signed_on: Option<Date>,
    pub structure: Json<Structure>,
}

const INSPECTION_COLUMNS: &str = "i.id, i.plot_id, p.contract_id, p.plot_number,
    concat_ws(', ', nullif(p.address_line1, ''), nullif(p.town, '')) AS plot_address, p.postcode AS plot_postcode,
    i.scheme_id, s.name AS scheme_name, v.name AS template_name, v.version AS template_version, i.kind,
    i.scheduled_on, i.inspector_user_id, i.inspector_contact_id, coalesce(u.name, c.name) AS inspector_name,
    i.status, i.outcome, i.completed_at, i.signed_by_name, i.signed_on, v.structure";

const INSPECTION_JOINS: &str = "FROM inspections i
    JOIN plots p ON p.tenant_id = i.tenant_id AND p.id = i.plot_id
    JOIN schemes s ON s.tenant_id = i.tenant_id AND s.id = i.scheme_id
    JOIN inspection_template_versions v ON v.tenant_id = i.tenant_id AND v.id = i.template_version_id
    LEFT JOIN users u ON u.tenant_id = i.tenant_id AND u.id = i.inspector_user_id
    LEFT JOIN contacts c ON c.tenant_id = i.tenant_id AND c.id = i.inspector_contact_id";

/// The inspection, if the scope reaches its scheme.
pub async fn find(
    tx: &mut TenantTx,
    scope: &SchemeScope,
    id: Uuid,
) -> sqlx::Result<Option<Inspection>> {
    sqlx::query_as::<_, Inspection>(&format!(
        "SELECT {INSPECTION_COLUMNS} {INSPECTION_JOINS}
          WHERE i.tenant_id = $1 AND i.id = $2 AND ($3::uuid[] IS NULL OR i.scheme_id = ANY($3))"
    ))
    .bind(tx.tenant_id())
    .bind(id)
    .bind(scope.as_filter())
    .fetch_optional(&mut **tx)
    .await
}

/// Filters of the list. All optional.
#[derive(Debug, Clone, Default)]
pub struct InspectionFilter {
    pub scheme_id: Option<Uuid>,
    pub kind: Option<String>,
    pub status: Option<String>,
    pub from: Option<Date>,
    pub until: Option<Date>,
    pub inspector_user_id: Option<Uuid>,
    pub inspector_contact_id: Option<Uuid>,
    /// Keyset: rows after this (scheduled_on, id), newest first.
    pub after: Option<(Date, Uuid)>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListRow {
    pub id: Uuid,
    pub scheduled_on: Date,
    pub kind: TemplateKind,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub plot_id: Uuid,
    pub plot_number: String,
    pub scheme_name: String,
    pub template_name: String,
    pub inspector_name: Option<String>,
    pub failed: i64,
}

const LIST_COLUMNS: &str =
    "i.id, i.scheduled_on, i.kind, i.status, i.outcome, i.plot_id, p.plot_number,
    s.name AS scheme_name, v.name AS template_name, coalesce(u.name, c.name) AS inspector_name,
    (SELECT count(*) FROM inspection_results r
      WHERE r.tenant_id = i.tenant_id AND r.inspection_id = i.id AND r.answer = 'fail') AS failed";

/// Newest scheduled date first, `limit` rows at most.
pub async fn list(
    tx: &mut TenantTx,
    scope: &SchemeScope,
    f: &InspectionFilter,
    limit: i64,
) -> sqlx::Result<Vec<ListRow>> {
    sqlx::query_as::<_, ListRow>(&format!(
        "SELECT {LIST_COLUMNS} {INSPECTION_JOINS}
          WHERE i.tenant_id = $1
            AND ($2::uuid[] IS NULL OR i.scheme_id = ANY($2))
            AND ($3::uuid IS NULL OR i.scheme_id = $3)
            AND ($4::text IS NULL OR i.kind = $4)
            AND ($5::text IS NULL OR i.status = $5)
            AND ($6::date IS NULL OR i.scheduled_on >= $6)
            AND ($7::date IS NULL OR i.scheduled_on <= $7)
            AND ($8::uuid IS NULL OR i.inspector_user_id = $8)
            AND ($9::uuid IS NULL OR i.inspector_contact_id = $9)
            AND ($10::date IS NULL OR (i.scheduled_on, i.id) < ($10, $11))
          ORDER BY i.scheduled_on DESC, i.id DESC
          LIMIT $12"
    ))
    .bind(tx.tenant_id())
    .bind(scope.as_filter())
    .bind(f.scheme_id)
    .bind(f.kind.as_deref())
    .bind(f.status.as_deref())
    .bind(f.from)
    .bind(f.until)
    .bind(f.inspector_user_id)
    .bind(f.inspector_contact_id)
    .bind(f.after.map(|a| a.0))
    .bind(f.after.map(|a| a.1))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// The inspections of a plot, for the plot page: newest first.
pub async fn for_plot(
    tx: &mut TenantTx,
    scope: &SchemeScope,
    plot_id: Uuid,
) -> sqlx::Result<Vec<ListRow>> {
    sqlx::query_as::<_, ListRow>(&format!(
        "SELECT {LIST_COLUMNS} {INSPECTION_JOINS}
          WHERE i.tenant_id = $1 AND i.plot_id = $2 AND ($3::uuid[] IS NULL OR i.scheme_id = ANY($3))
          ORDER BY i.scheduled_on DESC, i.id DESC"
    ))
    .bind(tx.tenant_id())
    .bind(plot_id)
    .bind(scope.as_filter())
    .fetch_all(&mut **tx)
    .await
}

/// Staff who may inspect: admins and staff, not disabled.
pub async fn staff_inspectors(tx: &mut TenantTx) -> sqlx::Result<Vec<Choice>> {
    sqlx::query_as::<_, Choice>(
        "SELECT id, name FROM users
          WHERE tenant_id = $1 AND role IN ('admin', 'staff') AND disabled_at IS NULL
          ORDER BY lower(name), id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

/// External contacts who may inspect (consultants, companies, clients…): every contact but homeowners.
pub async fn contact_inspectors(tx: &mut TenantTx) -> sqlx::Result<Vec<Choice>> {
    sqlx::query_as::<_, Choice>(
        "SELECT id, name FROM contacts
          WHERE tenant_id = $1 AND kind <> 'homeowner' AND archived_at IS NULL
          ORDER BY lower(name), id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

/// The current version of a live template, for scheduling: (version id, kind).
pub async fn live_version(
    tx: &mut TenantTx,
    version_id: Uuid,
) -> sqlx::Result<Option<(Uuid, String)>> {
    sqlx::query_as(
        "SELECT v.id, v.kind FROM inspection_template_versions v
           JOIN inspection_templates t ON t.tenant_id = v.tenant_id AND t.id = v.template_id
          WHERE v.tenant_id = $1 AND v.id = $2 AND t.archived_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(version_id)
    .fetch_optional(&mut **tx)
    .await
}

pub struct NewInspection {
    pub plot_id: Uuid,
    pub scheme_id: Uuid,
    pub template_version_id: Uuid,
    pub kind: String,
    pub scheduled_on: Date,
    pub inspector_user_id: Option<Uuid>,
    pub inspector_contact_id: Option<Uuid>,
    pub created_by: Option<Uuid>,
}

pub async fn create(tx: &mut TenantTx, n: &NewInspection) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO inspections (tenant_id, id, plot_id, scheme_id, template_version_id, kind, scheduled_on,
                                  inspector_user_id, inspector_contact_id, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(n.plot_id)
    .bind(n.scheme_id)
    .bind(n.template_version_id)
    .bind(&n.kind)
    .bind(n.scheduled_on)
    .bind(n.inspector_user_id)
    .bind(n.inspector_contact_id)
    .bind(n.created_by)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Whether the user is an active admin or staff member of the tenant.
pub async fn is_staff_inspector(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 AND role IN ('admin', 'staff') AND disabled_at IS NULL)",
    )
    .bind(tx.tenant_id())
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await
}

/// Whether the contact may be named as an external inspector.
pub async fn is_contact_inspector(tx: &mut TenantTx, contact_id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM contacts WHERE tenant_id = $1 AND id = $2 AND kind <> 'homeowner' AND archived_at IS NULL)",
    )
    .bind(tx.tenant_id())
    .bind(contact_id)
    .fetch_one(&mut **tx)
    .await
}

// ---------------------------------------------------------------- answers

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResultRow {
    pub item_key: String,
    pub answer: Option<String>,
    pub notes: String,
}

pub async fn results(tx: &mut TenantTx, inspection_id: Uuid) -> sqlx::Result<Vec<ResultRow>> {
    sqlx::query_as::<_, ResultRow>(
        "SELECT item_key, answer, notes FROM inspection_results WHERE tenant_id = $1 AND inspection_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(inspection_id)
    .fetch_all(&mut **tx)
    .await
}

pub async fn result(
    tx: &mut TenantTx,
    inspection_id: Uuid,
    item_key: &str,
) -> sqlx::Result<Option<ResultRow>> {
    sqlx::query_as::<_, ResultRow>(
        "SELECT item_key, answer, notes FROM inspection_results WHERE tenant_id = $1 AND inspection_id = $2 AND item_key = $3",
    )
    .bind(tx.tenant_id())
    .bind(inspection_id)
    .bind(item_key)
    .fetch_optional(&mut **tx)
    .await
}

/// Saves one answer (insert or replace). Returns the answer before, if it changed anything;
/// `None` when the same answer was sent again.
pub async fn save_result(
    tx: &mut TenantTx,
    inspection_id: Uuid,
    item_key: &str,
    answer: Option<&str>,
    notes: &str,
    by: Uuid,
) -> sqlx::Result<Option<Option<ResultRow>>> {
    let before = result(tx, inspection_id, item_key).await?;
    if let Some(b) = &before
        && b.answer.as_deref() == answer
        && b.notes == notes
    {
        return Ok(None);
    }
    sqlx::query(
        "INSERT INTO inspection_results (tenant_id, id, inspection_id, item_key, answer, notes, answered_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant_id, inspection_id, item_key)
         DO UPDATE SET answer = EXCLUDED.answer, notes = EXCLUDED.notes, answered_by = EXCLUDED.answered_by",
    )
    .bind(tx.tenant_id())
    .bind(Uuid::now_v7())
    .bind(inspection_id)
    .bind(item_key)
    .bind(answer)
    .bind(notes)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(Some(before))
}

/// A scheduled inspection becomes in progress with its first answer. Returns whether it changed.
pub async fn mark_started(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "UPDATE inspections SET status = 'in_progress', started_at = now()
          WHERE tenant_id = $1 AND id = $2 AND status = 'scheduled'",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() > 0)
}

pub async fn complete(tx: &mut TenantTx, id: Uuid, outcome: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE inspections SET status = 'completed', outcome = $3, completed_at = now(), started_at = coalesce(started_at, now())
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(outcome)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn sign_off(tx: &mut TenantTx, id: Uuid, name: &str, on: Date) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE inspections SET status = 'signed_off', signed_by_name = $3, signed_on = $4
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(name)
    .bind(on)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

// ---------------------------------------------------------------- photos

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Photo {
    pub id: Uuid,
    pub item_key: String,
    pub storage_key: String,
    pub original_name: String,
    pub content_type: String,
    pub size_bytes: i64,
}

pub async fn photos(tx: &mut TenantTx, inspection_id: Uuid) -> sqlx::Result<Vec<Photo>> {
    sqlx::query_as::<_, Photo>(
        "SELECT id, item_key, storage_key, original_name, content_type, size_bytes FROM inspection_photos
          WHERE tenant_id = $1 AND inspection_id = $2 ORDER BY created_at, id",
    )
    .bind(tx.tenant_id())
    .bind(inspection_id)
    .fetch_all(&mut **tx)
    .await
}

pub async fn photo(
    tx: &mut TenantTx,
    inspection_id: Uuid,
    photo_id: Uuid,
) -> sqlx::Result<Option<Photo>> {
    sqlx::query_as::<_, Photo>(
        "SELECT id, item_key, storage_key, original_name, content_type, size_bytes FROM inspection_photos
          WHERE tenant_id = $1 AND inspection_id = $2 AND id = $3",
    )
    .bind(tx.tenant_id())
    .bind(inspection_id)
    .bind(photo_id)
    .fetch_optional(&mut **tx)
    .await
}

pub struct NewPhoto<'a> {
    pub inspection_id: Uuid,
    pub item_key: &'a str,
    pub storage_key: &'a str,
    pub original_name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub uploaded_by: Uuid,
}

pub async fn add_photo(tx: &mut TenantTx, p: &NewPhoto<'_>) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO inspection_photos (tenant_id, id, inspection_id, item_key, storage_key, original_name, content_type, size_bytes, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(p.inspection_id)
    .bind(p.item_key)
    .bind(p.storage_key)
    .bind(p.original_name)
    .bind(p.content_type)
    .bind(p.size_bytes)
    .bind(p.uploaded_by)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

// ---------------------------------------------------------------- commentary

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Comment {
    pub id: Uuid,
    pub visibility: String,
    pub body: String,
    pub author_name: String,
    pub created_at: OffsetDateTime,
}

pub async fn comments(tx: &mut TenantTx, inspection_id: Uuid) -> sqlx::Result<Vec<Comment>> {
    sqlx::query_as::<_, Comment>(
        "SELECT c.id, c.visibility, c.body, u.name AS author_name, c.created_at
           FROM inspection_comments c JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.author_user_id
          WHERE c.tenant_id = $1 AND c.inspection_id = $2 ORDER BY c.created_at, c.id",
    )
    .bind(tx.tenant_id())
    .bind(inspection_id)
    .fetch_all(&mut **tx)
    .await
}

pub async fn add_comment(
    tx: &mut TenantTx,
    inspection_id: Uuid,
    author: Uuid,
    visibility: &str,
    body: &str,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO inspection_comments (tenant_id, id, inspection_id, author_user_id, visibility, body)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(inspection_id)
    .bind(author)
    .bind(visibility)
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

// ---------------------------------------------------------------- tickets raised from items

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RaisedTicket {
    pub item_key: String,
    pub ticket_id: Uuid,
    pub number: i64,
}

impl RaisedTicket {
    /// "T-00042"
    pub fn reference(&self) -> String {
        format!("T-{:05}", self.number)
    }
}

pub async fn raised_tickets(
    tx: &mut TenantTx,
    inspection_id: Uuid,
) -> sqlx::Result<Vec<RaisedTicket>> {
    sqlx::query_as::<_, RaisedTicket>(
        "SELECT l.item_key, l.ticket_id, t.number
           FROM inspection_tickets l JOIN tickets t ON t.tenant_id = l.tenant_id AND t.id = l.ticket_id
          WHERE l.tenant_id = $1 AND l.inspection_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(inspection_id)
    .fetch_all(&mut **tx)
    .await
}

/// Where a ticket came from, for the ticket page: "Raised from inspection …".
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketSource {
    pub inspection_id: Uuid,
    pub item_key: String,
    pub template_name: String,
    pub kind: String,
    pub scheduled_on: Date,
    pub structure: Json<Structure>,
}

impl TicketSource {
    /// "Pre-completion quality check on 3 March 2025"
    pub fn title(&self) -> String {
        format!(
            "{} on {}",
            self.template_name,
            crate::domain::long_date(self.scheduled_on)
        )
    }

    /// The link to the inspection.
    pub fn href(&self) -> String {
        format!("/inspections/{}", self.inspection_id)
    }

    /// "Kitchen: Worktops sealed"
    pub fn item_label(&self) -> String {
        self.structure
            .item(&self.item_key)
            .map(|(s, i)| format!("{}: {}", s.title, i.label))
            .unwrap_or_default()
    }

    pub fn kind_label(&self) -> &'static str {
        TemplateKind::label_of(&self.kind)
    }
}

/// The inspection a ticket was raised from, if any. Call after the ticket's own access check.
pub async fn for_ticket(tx: &mut TenantTx, ticket_id: Uuid) -> sqlx::Result<Option<TicketSource>> {
    sqlx::query_as::<_, TicketSource>(
        "SELECT l.inspection_id, l.item_key, v.name AS template_name, i.kind, i.scheduled_on, v.structure
           FROM inspection_tickets l
           JOIN inspections i ON i.tenant_id = l.tenant_id AND i.id = l.inspection_id
           JOIN inspection_template_versions v ON v.tenant_id = i.tenant_id AND v.id = i.template_version_id
          WHERE l.tenant_id = $1 AND l.ticket_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Links a ticket to the failed item that raised it.
pub async fn link_ticket(
    tx: &mut TenantTx,
    inspection_id: Uuid,
    item_key: &str,
    ticket_id: Uuid,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO inspection_tickets (tenant_id, id, inspection_id, item_key, ticket_id) VALUES ($1, $2, $3, $4, $5)")
        .bind(tx.tenant_id())
        .bind(Uuid::now_v7())
        .bind(inspection_id)
        .bind(item_key)
        .bind(ticket_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Attaches a copy of an item's photo to a ticket (a `media_files` row for the copied object).
pub async fn attach_ticket_photo(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    storage_key: &str,
    original_name: &str,
    content_type: &str,
    size_bytes: i64,
    by: Uuid,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO media_files (tenant_id, id, ticket_id, storage_key, original_name, content_type, size_bytes, uploaded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(tx.tenant_id())
    .bind(Uuid::now_v7())
    .bind(ticket_id)
    .bind(storage_key)
    .bind(original_name)
    .bind(content_type)
    .bind(size_bytes)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
