//! The only statements that write `tickets` and `ticket_events`. Private to the
//! service: every change reaches them through an operation that has checked it.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    auth::TenantTx,
    db::tickets::{PlotPlace, TicketFields},
    domain::{Status, ticket_event::TicketEvent},
};

pub(super) async fn add_event(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    actor_user_id: Option<Uuid>,
    event: &TicketEvent,
) -> sqlx::Result<()> {
    let (kind, data) = event.to_row();
    sqlx::query(
        "INSERT INTO ticket_events (tenant_id, id, ticket_id, actor_user_id, kind, shared, data)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tx.tenant_id())
    .bind(Uuid::now_v7())
    .bind(ticket_id)
    .bind(actor_user_id)
    .bind(kind)
    .bind(event.shared())
    .bind(data)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Logs a ticket with the tenant's next number. Returns its id and number.
pub(super) async fn insert(
    tx: &mut TenantTx,
    place: PlotPlace,
    f: &TicketFields,
    due_at: Option<OffsetDateTime>,
    created_by: Uuid,
) -> sqlx::Result<(Uuid, i64)> {
    let number: i64 = sqlx::query_scalar(
        "INSERT INTO ticket_counters (tenant_id, last_number) VALUES ($1, 1)
         ON CONFLICT (tenant_id) DO UPDATE SET last_number = ticket_counters.last_number + 1
         RETURNING last_number",
    )
    .bind(tx.tenant_id())
    .fetch_one(&mut **tx)
    .await?;
    let id = Uuid::now_v7();
    let q = sqlx::query(
        "INSERT INTO tickets (tenant_id, id, number, plot_id, scheme_id, contract_id, title, description, category, location,
                              reported_by_contact_id, reported_via, reported_at, priority, is_complaint, complaint_received_on,
                              internal_cost, due_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17::numeric, $18, $19)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(number)
    .bind(place.plot_id)
    .bind(place.scheme_id)
    .bind(place.contract_id);
    bind_fields(q, f)
        .bind(due_at)
        .bind(created_by)
        .execute(&mut **tx)
        .await?;
    Ok((id, number))
}

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// Binds the typed-in fields, in the order both statements list their columns.
fn bind_fields<'q>(q: PgQuery<'q>, f: &'q TicketFields) -> PgQuery<'q> {
    q.bind(&f.title)
        .bind(&f.description)
        .bind(f.category.as_str())
        .bind(&f.location)
        .bind(f.reported_by_contact_id)
        .bind(&f.reported_via)
        .bind(f.reported_at)
        .bind(f.priority.as_str())
        .bind(f.is_complaint)
        .bind(f.complaint_received_on)
        .bind(f.internal_cost.as_deref())
}

/// Saves edited fields and the due time that follows from them.
pub(super) async fn update_fields(
    tx: &mut TenantTx,
    id: Uuid,
    f: &TicketFields,
    due_at: Option<OffsetDateTime>,
) -> sqlx::Result<()> {
    let q = sqlx::query(
        "UPDATE tickets SET title = $3, description = $4, category = $5, location = $6, reported_by_contact_id = $7,
                reported_via = $8, reported_at = $9, priority = $10, is_complaint = $11, complaint_received_on = $12,
                internal_cost = $13::numeric, due_at = $14
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id);
    bind_fields(q, f).bind(due_at).execute(&mut **tx).await?;
    Ok(())
}

/// What a ticket's state is now, locked for the change that follows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct Locked {
    pub id: Uuid,
    pub number: i64,
    pub plot_id: Uuid,
    pub status: Status,
    pub due_at: Option<OffsetDateTime>,
    pub on_hold_since: Option<OffsetDateTime>,
    pub nominated_company_id: Option<Uuid>,
    pub nominated_user_id: Option<Uuid>,
    pub is_complaint: bool,
}

impl Locked {
    pub fn reference(&self) -> String {
        format!("T-{:05}", self.number)
    }
}

/// Locks the ticket (in this tenant) for a change. None if there is no such ticket.
pub(super) async fn lock(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<Locked>> {
    sqlx::query_as::<_, Locked>(
        "SELECT id, number, plot_id, status, due_at, on_hold_since, nominated_company_id, nominated_user_id, is_complaint
           FROM tickets WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// A status change, already checked against the transition table.
#[derive(Debug, Clone)]
pub(super) struct StatusUpdate {
    pub status: Status,
    pub abortive_reason: Option<String>,
    pub abortive_note: Option<String>,
    pub resolution: Option<String>,
    pub due_at: Option<OffsetDateTime>,
    pub on_hold_since: Option<OffsetDateTime>,
    pub closed_at: Option<OffsetDateTime>,
    /// Why it is on hold and when to review it (None off hold).
    pub hold: Option<(String, time::Date)>,
}

pub(super) async fn set_status(tx: &mut TenantTx, id: Uuid, u: &StatusUpdate) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE tickets SET status = $3, abortive_reason = $4, abortive_note = $5, resolution = $6, due_at = $7,
                on_hold_since = $8, closed_at = $9, hold_reason = $10, hold_review_on = $11
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(u.status.as_str())
    .bind(u.abortive_reason.as_deref())
    .bind(u.abortive_note.as_deref())
    .bind(u.resolution.as_deref())
    .bind(u.due_at)
    .bind(u.on_hold_since)
    .bind(u.closed_at)
    .bind(u.hold.as_ref().map(|(reason, _)| reason.as_str()))
    .bind(u.hold.as_ref().map(|(_, on)| *on))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Points the ticket at a nominee (or at nobody).
pub(super) async fn set_nominee(
    tx: &mut TenantTx,
    id: Uuid,
    company: Option<Uuid>,
    user: Option<Uuid>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE tickets SET nominated_company_id = $3, nominated_user_id = $4
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(company)
    .bind(user)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
