//! Appointments on a ticket: a day, a time window, with whom, a status
//! (booked, attended, no access) and notes.

use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

use crate::db::TenantTx;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Appointment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub day: Date,
    pub window_start: Time,
    pub window_end: Time,
    pub with_whom: String,
    pub status: String,
    pub notes: String,
    pub updated_at: OffsetDateTime,
}

/// What a booking form gives, checked.
#[derive(Debug, Clone)]
pub struct AppointmentInput {
    pub day: Date,
    pub window_start: Time,
    pub window_end: Time,
    pub with_whom: String,
    pub notes: String,
}

const COLUMNS: &str =
    "id, ticket_id, day, window_start, window_end, with_whom, status, notes, updated_at";

/// The ticket's appointments: upcoming ones first (soonest first), then past ones (latest first).
pub async fn for_ticket(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    today: Date,
) -> sqlx::Result<Vec<Appointment>> {
    sqlx::query_as::<_, Appointment>(&format!(
        "SELECT {COLUMNS} FROM appointments
          WHERE tenant_id = $1 AND ticket_id = $2
          ORDER BY (day >= $3 AND status = 'booked') DESC,
                   CASE WHEN day >= $3 AND status = 'booked' THEN day END ASC,
                   CASE WHEN day >= $3 AND status = 'booked' THEN window_start END ASC,
                   day DESC, window_start DESC, id"
    ))
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .bind(today)
    .fetch_all(&mut **tx)
    .await
}

/// One appointment of the ticket.
pub async fn find(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    id: Uuid,
) -> sqlx::Result<Option<Appointment>> {
    sqlx::query_as::<_, Appointment>(&format!(
        "SELECT {COLUMNS} FROM appointments WHERE tenant_id = $1 AND ticket_id = $2 AND id = $3"
    ))
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn insert(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    plot_id: Uuid,
    input: &AppointmentInput,
    by: Uuid,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO appointments (tenant_id, id, ticket_id, plot_id, day, window_start, window_end, with_whom, notes, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(ticket_id)
    .bind(plot_id)
    .bind(input.day)
    .bind(input.window_start)
    .bind(input.window_end)
    .bind(&input.with_whom)
    .bind(&input.notes)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn update(tx: &mut TenantTx, id: Uuid, input: &AppointmentInput) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE appointments SET day = $3, window_start = $4, window_end = $5, with_whom = $6, notes = $7
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(input.day)
    .bind(input.window_start)
    .bind(input.window_end)
    .bind(&input.with_whom)
    .bind(&input.notes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Sets the status: `booked`, `attended` or `no_access`.
pub async fn set_status(tx: &mut TenantTx, id: Uuid, status: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE appointments SET status = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .bind(status)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An upcoming appointment on a plot, with its ticket, for the plot page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlotAppointment {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub ticket_number: i64,
    pub ticket_title: String,
    pub day: Date,
    pub window_start: Time,
    pub window_end: Time,
    pub with_whom: String,
}

impl PlotAppointment {
    /// "T-00042"
    pub fn reference(&self) -> String {
        format!("T-{:05}", self.ticket_number)
    }
}

/// The plot's booked appointments from today on, soonest first. The plot page
/// has already checked that the user may see the plot.
pub async fn upcoming_for_plot(
    tx: &mut TenantTx,
    plot_id: Uuid,
    today: Date,
    limit: i64,
) -> sqlx::Result<Vec<PlotAppointment>> {
    sqlx::query_as::<_, PlotAppointment>(
        "SELECT a.id, a.ticket_id, t.number AS ticket_number, t.title AS ticket_title,
                a.day, a.window_start, a.window_end, a.with_whom
           FROM appointments a
           JOIN tickets t ON t.tenant_id = a.tenant_id AND t.id = a.ticket_id
          WHERE a.tenant_id = $1 AND a.plot_id = $2 AND a.status = 'booked' AND a.day >= $3
          ORDER BY a.day, a.window_start, a.id
          LIMIT $4",
    )
    .bind(tx.tenant_id())
    .bind(plot_id)
    .bind(today)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}
