//! Tickets. Every query takes the tenant's transaction and the user's
//! [`TicketScope`], so a ticket outside the user's schemes or company is
//! simply not found.
//!
//! These are reads (and the complaint-stage dates). Tickets and their timeline
//! (`ticket_events`) are written only by the ticket service, `crate::tickets`.

use serde_json::Value;
use sqlx::{Postgres, QueryBuilder};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use super::users::Choice;
use crate::{
    db::TenantTx,
    db::scope::TicketScope,
    domain::{
        Category, ComplaintStage, Priority, ReportedVia, SearchWords, Status, TicketRef,
        ticket_event::TicketEvent,
    },
};
use sqlx::Row as _;

mod list;
pub use list::*;

/// What access checks need to know about a ticket.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketHeader {
    pub id: Uuid,
    pub number: i64,
    pub plot_id: Uuid,
    pub scheme_id: Uuid,
    pub status: Status,
    pub nominated_company_id: Option<Uuid>,
    pub nominated_user_id: Option<Uuid>,
}

impl TicketHeader {
    /// "T-00042"
    pub fn reference(&self) -> String {
        format!("T-{:05}", self.number)
    }
}

/// The ticket, if the scope reaches it.
pub async fn header(
    tx: &mut TenantTx,
    scope: &TicketScope,
    id: Uuid,
) -> sqlx::Result<Option<TicketHeader>> {
    let (schemes, company) = scope.filters();
    sqlx::query_as::<_, TicketHeader>(
        "SELECT id, number, plot_id, scheme_id, status, nominated_company_id, nominated_user_id
           FROM tickets t
          WHERE t.tenant_id = $1 AND t.id = $2
            AND ($3::uuid[] IS NULL OR t.scheme_id = ANY($3))
            AND ($4::uuid IS NULL OR t.nominated_company_id = $4)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(schemes)
    .bind(company)
    .fetch_optional(&mut **tx)
    .await
}

// ---------------------------------------------------------------- one ticket

/// The ticket page's record.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Ticket {
    pub id: Uuid,
    pub number: i64,
    pub plot_id: Uuid,
    pub plot_number: String,
    pub address_line1: String,
    pub address_line2: String,
    pub town: String,
    pub postcode: String,
    pub scheme_id: Uuid,
    pub scheme_name: String,
    pub sla_enabled: bool,
    pub contract_id: Uuid,
    pub contract_name: String,
    pub title: String,
    pub description: String,
    pub category: Category,
    pub location: String,
    pub reported_by_contact_id: Option<Uuid>,
    pub reported_by_name: Option<String>,
    pub reported_via: ReportedVia,
    pub reported_at: OffsetDateTime,
    pub priority: Priority,
    pub status: Status,
    pub abortive_reason: Option<String>,
    pub abortive_note: Option<String>,
    pub resolution: Option<String>,
    pub nominated_company_id: Option<Uuid>,
    pub nominated_company_name: Option<String>,
    pub nominated_user_id: Option<Uuid>,
    pub nominated_user_name: Option<String>,
    /// Text, e.g. "125.50"; never shown to subcontractors.
    pub internal_cost: Option<String>,
    pub is_complaint: bool,
    pub complaint_received_on: Option<Date>,
    pub due_at: Option<OffsetDateTime>,
    pub on_hold_since: Option<OffsetDateTime>,
    /// Why it is on hold, and when to review it.
    pub hold_reason: Option<String>,
    pub hold_review_on: Option<Date>,
    pub closed_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Ticket {
    pub fn reference(&self) -> String {
        TicketRef(self.number).to_string()
    }
    pub fn status(&self) -> Status {
        self.status
    }
    pub fn priority(&self) -> Priority {
        self.priority
    }
}

/// The whole ticket, if the scope reaches it.
pub async fn find(
    tx: &mut TenantTx,
    scope: &TicketScope,
    id: Uuid,
) -> sqlx::Result<Option<Ticket>> {
    let (schemes, company) = scope.filters();
    sqlx::query_as::<_, Ticket>(
        "SELECT t.id, t.number, t.plot_id, p.plot_number, p.address_line1, p.address_line2, p.town, p.postcode,
                t.scheme_id, s.name AS scheme_name, s.sla_enabled, t.contract_id, c.name AS contract_name,
                t.title, t.description, t.category, t.location, t.reported_by_contact_id, r.name AS reported_by_name,
                t.reported_via, t.reported_at, t.priority, t.status, t.abortive_reason, t.abortive_note, t.resolution,
                t.nominated_company_id, nc.name AS nominated_company_name, t.nominated_user_id, nu.name AS nominated_user_name,
                t.internal_cost::text AS internal_cost, t.is_complaint, t.complaint_received_on,
                t.due_at, t.on_hold_since, t.hold_reason, t.hold_review_on, t.closed_at, t.created_at, t.updated_at
           FROM tickets t
           JOIN plots p ON p.tenant_id = t.tenant_id AND p.id = t.plot_id
           JOIN schemes s ON s.tenant_id = t.tenant_id AND s.id = t.scheme_id
           JOIN contracts c ON c.tenant_id = t.tenant_id AND c.id = t.contract_id
           LEFT JOIN contacts r ON r.tenant_id = t.tenant_id AND r.id = t.reported_by_contact_id
           LEFT JOIN contacts nc ON nc.tenant_id = t.tenant_id AND nc.id = t.nominated_company_id
           LEFT JOIN users nu ON nu.tenant_id = t.tenant_id AND nu.id = t.nominated_user_id
          WHERE t.tenant_id = $1 AND t.id = $2
            AND ($3::uuid[] IS NULL OR t.scheme_id = ANY($3))
            AND ($4::uuid IS NULL OR t.nominated_company_id = $4)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(schemes)
    .bind(company)
    .fetch_optional(&mut **tx)
    .await
}

/// The fields staff type in when logging or editing a ticket (checked).
#[derive(Debug, Clone)]
pub struct TicketFields {
    pub title: String,
    pub description: String,
    pub category: Category,
    pub location: String,
    pub reported_by_contact_id: Option<Uuid>,
    pub reported_via: String,
    pub reported_at: OffsetDateTime,
    pub priority: Priority,
    pub is_complaint: bool,
    pub complaint_received_on: Option<Date>,
    /// Decimal text, e.g. "125.50".
    pub internal_cost: Option<String>,
}

impl TicketFields {
    /// The ticket's fields as they are now (to change one and save them back).
    pub fn of(t: &Ticket) -> TicketFields {
        TicketFields {
            title: t.title.clone(),
            description: t.description.clone(),
            category: t.category,
            location: t.location.clone(),
            reported_by_contact_id: t.reported_by_contact_id,
            reported_via: t.reported_via.as_str().to_owned(),
            reported_at: t.reported_at,
            priority: t.priority,
            is_complaint: t.is_complaint,
            complaint_received_on: t.complaint_received_on,
            internal_cost: t.internal_cost.clone(),
        }
    }
}

/// Where a new ticket goes: the plot and its scheme and contract.
#[derive(Debug, Clone, Copy)]
pub struct PlotPlace {
    pub plot_id: Uuid,
    pub scheme_id: Uuid,
    pub contract_id: Uuid,
}

/// The time a ticket has spent On Hold so far (finished holds only), from its timeline.
pub async fn held_so_far(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Duration> {
    let seconds: i64 = sqlx::query_scalar(
        "SELECT coalesce(sum((data->>'held_seconds')::bigint), 0)::bigint FROM ticket_events
          WHERE tenant_id = $1 AND ticket_id = $2 AND data ? 'held_seconds'",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Duration::seconds(seconds))
}

/// One entry of the timeline.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: Uuid,
    pub occurred_at: OffsetDateTime,
    pub actor_name: Option<String>,
    /// Whether the nominated subcontractor sees it.
    pub shared: bool,
    pub event: TicketEvent,
}

/// The timeline, oldest first; `shared_only` for subcontractors. An event of a kind the
/// code does not know is an error, not skipped.
pub async fn events(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    shared_only: bool,
) -> sqlx::Result<Vec<Event>> {
    type Row = (Uuid, OffsetDateTime, Option<String>, String, bool, Value);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT e.id, e.occurred_at, u.name AS actor_name, e.kind, e.shared, e.data
           FROM ticket_events e
           LEFT JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.actor_user_id
          WHERE e.tenant_id = $1 AND e.ticket_id = $2 AND (NOT $3 OR e.shared)
          ORDER BY e.occurred_at, e.id",
    )
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .bind(shared_only)
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|(id, occurred_at, actor_name, kind, shared, data)| {
            let event = TicketEvent::from_row(&kind, &data)
                .map_err(|e| sqlx::Error::Decode(format!("ticket event {kind}: {e}").into()))?;
            Ok(Event {
                id,
                occurred_at,
                actor_name,
                shared,
                event,
            })
        })
        .collect()
}

/// Complaint stages marked done, with their dates.
pub async fn complaint_stages(
    tx: &mut TenantTx,
    ticket_id: Uuid,
) -> sqlx::Result<Vec<(ComplaintStage, Date)>> {
    let rows: Vec<(String, Date)> = sqlx::query_as(
        "SELECT stage, done_on FROM complaint_stages WHERE tenant_id = $1 AND ticket_id = $2",
    )
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(s, d)| ComplaintStage::parse(&s).map(|s| (s, d)))
        .collect())
}

/// Marks a stage done on `done_on` (again: the date is corrected). Returns the earlier date, if any.
pub async fn mark_stage(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    stage: ComplaintStage,
    done_on: Date,
    by: Uuid,
) -> sqlx::Result<Option<Date>> {
    let before: Option<Date> =
        sqlx::query_scalar("SELECT done_on FROM complaint_stages WHERE tenant_id = $1 AND ticket_id = $2 AND stage = $3")
            .bind(tx.tenant_id())
            .bind(ticket_id)
            .bind(stage.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    sqlx::query(
        "INSERT INTO complaint_stages (tenant_id, ticket_id, stage, done_on, done_by) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (tenant_id, ticket_id, stage) DO UPDATE SET done_on = EXCLUDED.done_on, done_by = EXCLUDED.done_by",
    )
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .bind(stage.as_str())
    .bind(done_on)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(before)
}

/// A contact who may be recorded as reporting a defect on a plot.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Reporter {
    pub id: Uuid,
    pub name: String,
    pub is_homeowner: bool,
}

/// The plot's current homeowners first, then the tenant's other (non-homeowner) contacts, by name.
pub async fn reporters(tx: &mut TenantTx, plot_id: Uuid) -> sqlx::Result<Vec<Reporter>> {
    sqlx::query_as::<_, Reporter>(
        "(SELECT c.id, c.name, true AS is_homeowner
            FROM plot_homeowners ph JOIN contacts c ON c.tenant_id = ph.tenant_id AND c.id = ph.contact_id
           WHERE ph.tenant_id = $1 AND ph.plot_id = $2 AND ph.to_date IS NULL
           ORDER BY lower(c.name))
         UNION ALL
         (SELECT c.id, c.name, false
            FROM contacts c
           WHERE c.tenant_id = $1 AND c.kind <> 'homeowner' AND c.archived_at IS NULL
           ORDER BY lower(c.name), c.id
           LIMIT 500)",
    )
    .bind(tx.tenant_id())
    .bind(plot_id)
    .fetch_all(&mut **tx)
    .await
}

/// Whether `contact_id` may be the reporter of a defect on the plot (one of [`reporters`], or a past homeowner of it).
pub async fn reporter_allowed(
    tx: &mut TenantTx,
    plot_id: Uuid,
    contact_id: Uuid,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM plot_homeowners WHERE tenant_id = $1 AND plot_id = $2 AND contact_id = $3)
             OR EXISTS (SELECT 1 FROM contacts WHERE tenant_id = $1 AND id = $3 AND kind <> 'homeowner')",
    )
    .bind(tx.tenant_id())
    .bind(plot_id)
    .bind(contact_id)
    .fetch_one(&mut **tx)
    .await
}

/// Staff who can be nominated (admins and staff, not disabled).
pub async fn staff_choices(tx: &mut TenantTx) -> sqlx::Result<Vec<super::users::Choice>> {
    sqlx::query_as::<_, super::users::Choice>(
        "SELECT id, name FROM users
          WHERE tenant_id = $1 AND role IN ('admin', 'staff') AND disabled_at IS NULL
          ORDER BY lower(name), id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

/// The hold review date and reason of each of `ids` that is on hold with one.
pub async fn hold_reviews(
    tx: &mut TenantTx,
    ids: Vec<Uuid>,
) -> sqlx::Result<Vec<(Uuid, Date, String)>> {
    sqlx::query_as(
        "SELECT id, hold_review_on, coalesce(hold_reason, '') FROM tickets
         WHERE tenant_id = $1 AND id = ANY($2) AND hold_review_on IS NOT NULL",
    )
    .bind(tx.tenant_id())
    .bind(ids)
    .fetch_all(&mut **tx)
    .await
}
