//! The subcontractor portal: one company's jobs with only the fields a
//! subcontractor may see (never costs, homeowners' emails or notes), the
//! company's answers to a nomination, marking work complete, and the
//! company's summary. Every query is limited to the tenant and the company.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    db::TenantTx,
    domain::{Category, Priority, Status, clock},
};

/// A job as the subcontractor sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub id: Uuid,
    pub number: i64,
    pub title: String,
    pub description: String,
    pub category: Category,
    pub location: String,
    pub priority: Priority,
    pub status: Status,
    pub reported_at: OffsetDateTime,
    pub due_at: Option<OffsetDateTime>,
    pub on_hold_since: Option<OffsetDateTime>,
    pub plot_number: String,
    pub scheme_name: String,
    pub address_line1: String,
    pub address_line2: String,
    pub town: String,
    pub postcode: String,
    pub access_notes: String,
    /// The current homeowners' names, e.g. "Ann Smith, Bob Smith".
    pub homeowner_names: Option<String>,
    /// Their phone numbers, comma separated.
    pub homeowner_phones: Option<String>,
    /// The company's current nomination.
    pub nomination_id: Option<Uuid>,
    /// "pending", "accepted" (or "declined").
    pub response: Option<String>,
    pub responded_at: Option<OffsetDateTime>,
}

/// `$TODAY` stands for the UK date's parameter, numbered by each query.
const JOB_SELECT: &str = "SELECT t.id, t.number, t.title, t.description, t.category, t.location, t.priority, t.status,
        t.reported_at, t.due_at, t.on_hold_since, p.plot_number, s.name AS scheme_name,
        p.address_line1, p.address_line2, p.town, p.postcode, p.access_notes,
        ho.names AS homeowner_names, ho.phones AS homeowner_phones,
        n.id AS nomination_id, n.response, n.responded_at
   FROM tickets t
   JOIN plots p ON p.tenant_id = t.tenant_id AND p.id = t.plot_id
   JOIN schemes s ON s.tenant_id = t.tenant_id AND s.id = t.scheme_id
   LEFT JOIN LATERAL (
        SELECT string_agg(c.name, ', ' ORDER BY lower(c.name), c.id) AS names,
               string_agg(array_to_string(c.phones, ', '), ', ' ORDER BY lower(c.name), c.id)
                   FILTER (WHERE cardinality(c.phones) > 0) AS phones
          FROM plot_homeowners h
          JOIN contacts c ON c.tenant_id = h.tenant_id AND c.id = h.contact_id
         WHERE h.tenant_id = t.tenant_id AND h.plot_id = t.plot_id
           AND (h.from_date IS NULL OR h.from_date <= $TODAY)
           AND (h.to_date IS NULL OR h.to_date >= $TODAY)
   ) ho ON true
   LEFT JOIN LATERAL (
        SELECT id, response, responded_at FROM nominations
         WHERE tenant_id = t.tenant_id AND ticket_id = t.id AND company_id = t.nominated_company_id AND ended_at IS NULL
         ORDER BY nominated_at DESC, id DESC
         LIMIT 1
   ) n ON true";

/// The company's open jobs (not closed or abortive), soonest due first, then those without a deadline.
pub async fn open_jobs(tx: &mut TenantTx, company: Uuid) -> sqlx::Result<Vec<Job>> {
    sqlx::query_as::<_, Job>(&format!(
        "{}
          WHERE t.tenant_id = $1 AND t.nominated_company_id = $2
            AND t.status NOT IN ('closed', 'abortive_visit')
          ORDER BY t.due_at ASC NULLS LAST, t.number
          LIMIT 500",
        JOB_SELECT.replace("$TODAY", "$3")
    ))
    .bind(tx.tenant_id())
    .bind(company)
    .bind(clock::today())
    .fetch_all(&mut **tx)
    .await
}

/// One job of the company, if it is nominated to them.
pub async fn job(tx: &mut TenantTx, company: Uuid, id: Uuid) -> sqlx::Result<Option<Job>> {
    sqlx::query_as::<_, Job>(&format!(
        "{}
          WHERE t.tenant_id = $1 AND t.nominated_company_id = $2 AND t.id = $3",
        JOB_SELECT.replace("$TODAY", "$4")
    ))
    .bind(tx.tenant_id())
    .bind(company)
    .bind(id)
    .bind(clock::today())
    .fetch_optional(&mut **tx)
    .await
}

/// The company's name.
pub async fn company_name(tx: &mut TenantTx, company: Uuid) -> sqlx::Result<String> {
    sqlx::query_scalar("SELECT name FROM contacts WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant_id())
        .bind(company)
        .fetch_one(&mut **tx)
        .await
}

/// Accepts a pending nomination. False when it was not pending (already answered or ended).
pub async fn accept(tx: &mut TenantTx, nomination_id: Uuid) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE nominations SET response = 'accepted', responded_at = now()
          WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL AND response = 'pending'",
    )
    .bind(tx.tenant_id())
    .bind(nomination_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Someone to email.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Recipient {
    pub name: String,
    pub email: String,
}

/// The (enabled) user who made the nomination.
pub async fn nominator(tx: &mut TenantTx, nomination_id: Uuid) -> sqlx::Result<Option<Recipient>> {
    sqlx::query_as::<_, Recipient>(
        "SELECT u.name, u.email
           FROM nominations n
           JOIN users u ON u.tenant_id = n.tenant_id AND u.id = n.nominated_by
          WHERE n.tenant_id = $1 AND n.id = $2 AND u.disabled_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(nomination_id)
    .fetch_optional(&mut **tx)
    .await
}

/// The tenant's enabled admins, for when the nominating user is gone.
pub async fn admins(tx: &mut TenantTx) -> sqlx::Result<Vec<Recipient>> {
    sqlx::query_as::<_, Recipient>(
        "SELECT name, email FROM users
          WHERE tenant_id = $1 AND role = 'admin' AND disabled_at IS NULL
          ORDER BY email",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

/// The latest "work complete" report on a ticket.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Completion {
    pub note: Option<String>,
    pub by_name: Option<String>,
    pub occurred_at: OffsetDateTime,
}

pub async fn latest_completion(
    tx: &mut TenantTx,
    ticket_id: Uuid,
) -> sqlx::Result<Option<Completion>> {
    sqlx::query_as::<_, Completion>(
        "SELECT e.data->>'note' AS note, u.name AS by_name, e.occurred_at
           FROM ticket_events e
           LEFT JOIN users u ON u.tenant_id = e.tenant_id AND u.id = e.actor_user_id
          WHERE e.tenant_id = $1 AND e.ticket_id = $2 AND e.kind = 'work_completed'
          ORDER BY e.occurred_at DESC, e.id DESC
          LIMIT 1",
    )
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .fetch_optional(&mut **tx)
    .await
}

/// A company's work at a glance.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Summary {
    /// Not closed or abortive (what My jobs lists).
    pub open_jobs: i64,
    /// Of those, completed and awaiting sign-off.
    pub awaiting_sign_off: i64,
    /// Open or in progress, not on hold, past due.
    pub overdue_jobs: i64,
    /// Jobs completed in the last 90 days.
    pub completed_recently: i64,
    /// From nomination to completion, on average, over those jobs.
    pub average_days: Option<f64>,
}

/// The summary for `company`. A job's completion is when the company marked it
/// complete (or, failing that, when it was closed); it counts from the company's
/// latest nomination before then.
pub async fn summary(tx: &mut TenantTx, company: Uuid) -> sqlx::Result<Summary> {
    sqlx::query_as::<_, Summary>(
        "WITH mine AS (
             SELECT t.* FROM tickets t WHERE t.tenant_id = $1 AND t.nominated_company_id = $2
         ), finished AS (
             SELECT done.at AS done_at,
                    (SELECT max(n.nominated_at) FROM nominations n
                      WHERE n.tenant_id = m.tenant_id AND n.ticket_id = m.id AND n.company_id = $2
                        AND n.nominated_at <= done.at) AS nominated_at
               FROM mine m
              CROSS JOIN LATERAL (
                    SELECT coalesce(
                        (SELECT max(e.occurred_at) FROM ticket_events e
                          WHERE e.tenant_id = m.tenant_id AND e.ticket_id = m.id AND e.kind = 'work_completed'
                            AND e.data->>'company_id' = $2::text),
                        m.closed_at) AS at
              ) done
              WHERE m.status IN ('completed', 'closed') AND done.at >= now() - interval '90 days'
         )
         SELECT (SELECT count(*) FROM mine WHERE status NOT IN ('closed', 'abortive_visit')) AS open_jobs,
                (SELECT count(*) FROM mine WHERE status = 'completed') AS awaiting_sign_off,
                (SELECT count(*) FROM mine
                  WHERE status IN ('open', 'in_progress') AND on_hold_since IS NULL AND due_at < now()) AS overdue_jobs,
                (SELECT count(*) FROM finished WHERE nominated_at IS NOT NULL) AS completed_recently,
                (SELECT avg(extract(epoch FROM done_at - nominated_at) / 86400.0)::float8
                   FROM finished WHERE nominated_at IS NOT NULL) AS average_days",
    )
    .bind(tx.tenant_id())
    .bind(company)
    .fetch_one(&mut **tx)
    .await
}
