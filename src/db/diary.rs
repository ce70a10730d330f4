//! The diary: appointments over a day or a week, the jobs accepted but not booked,
//! and the visits whose outcome is still to be recorded. Every query takes the
//! user's ticket scope (the schemes a restricted staff user works on, or a
//! subcontractor's company) as well as the tenant.

use time::{Date, OffsetDateTime, Time};
use uuid::Uuid;

use crate::db::{TenantTx, scope::TicketScope, users::Choice};

/// What the diary is narrowed to, besides the days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiaryFilter {
    pub scheme: Option<Uuid>,
    /// The company the ticket is nominated to.
    pub company: Option<Uuid>,
    /// The appointment's "with whom", exactly.
    pub engineer: Option<String>,
}

/// An appointment as the diary shows it, with its ticket and plot.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DiaryVisit {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub ticket_number: i64,
    pub ticket_title: String,
    pub ticket_status: String,
    pub day: Date,
    pub window_start: Time,
    pub window_end: Time,
    pub with_whom: String,
    pub status: String,
    pub plot_number: String,
    pub address_line1: String,
    pub town: String,
    pub postcode: String,
    pub scheme_name: String,
    pub company_name: Option<String>,
}

/// "12 Acacia Avenue, Leeds, LS1 1AA", or "Plot 12, Meadow View" when the plot has no address yet.
fn address(line1: &str, town: &str, postcode: &str, plot: &str, scheme: &str) -> String {
    let parts: Vec<&str> = [line1, town, postcode]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        format!("Plot {plot}, {scheme}")
    } else {
        parts.join(", ")
    }
}

impl DiaryVisit {
    /// "T-00042"
    pub fn reference(&self) -> String {
        format!("T-{:05}", self.ticket_number)
    }

    pub fn address(&self) -> String {
        address(
            &self.address_line1,
            &self.town,
            &self.postcode,
            &self.plot_number,
            &self.scheme_name,
        )
    }
}

const VISIT_COLUMNS: &str = "a.id, a.ticket_id, t.number AS ticket_number, t.title AS ticket_title,
    t.status AS ticket_status, a.day, a.window_start, a.window_end, a.with_whom, a.status,
    p.plot_number, p.address_line1, p.town, p.postcode, s.name AS scheme_name, c.name AS company_name";

const VISIT_JOINS: &str = "FROM appointments a
    JOIN tickets t ON t.tenant_id = a.tenant_id AND t.id = a.ticket_id
    JOIN plots p ON p.tenant_id = a.tenant_id AND p.id = a.plot_id
    JOIN schemes s ON s.tenant_id = t.tenant_id AND s.id = t.scheme_id
    LEFT JOIN contacts c ON c.tenant_id = t.tenant_id AND c.id = t.nominated_company_id";

/// The scope ($2 schemes, $3 company) and the filter ($4 scheme, $5 company, $6 engineer).
const VISIT_WHERE: &str = "WHERE a.tenant_id = $1
    AND ($2::uuid[] IS NULL OR t.scheme_id = ANY($2))
    AND ($3::uuid IS NULL OR t.nominated_company_id = $3)
    AND ($4::uuid IS NULL OR t.scheme_id = $4)
    AND ($5::uuid IS NULL OR t.nominated_company_id = $5)
    AND ($6::text IS NULL OR a.with_whom = $6)";

/// The appointments from `from` to `to` (both included), by day and window.
/// Cancelled ones are included: the page shows them struck through.
pub async fn visits(
    tx: &mut TenantTx,
    scope: &TicketScope,
    filter: &DiaryFilter,
    from: Date,
    to: Date,
) -> sqlx::Result<Vec<DiaryVisit>> {
    let (schemes, company) = scope.filters();
    sqlx::query_as::<_, DiaryVisit>(&format!(
        "SELECT {VISIT_COLUMNS} {VISIT_JOINS} {VISIT_WHERE}
            AND a.day BETWEEN $7 AND $8
          ORDER BY a.day, a.window_start, a.window_end, t.number, a.id"
    ))
    .bind(tx.tenant_id())
    .bind(schemes.map(<[Uuid]>::to_vec))
    .bind(company)
    .bind(filter.scheme)
    .bind(filter.company)
    .bind(filter.engineer.as_deref())
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await
}

/// The names appointments from `from` to `to` are booked with (for the engineer filter),
/// under the scope and the scheme and company chosen, alphabetically.
pub async fn engineers(
    tx: &mut TenantTx,
    scope: &TicketScope,
    filter: &DiaryFilter,
    from: Date,
    to: Date,
) -> sqlx::Result<Vec<String>> {
    let (schemes, company) = scope.filters();
    sqlx::query_scalar(&format!(
        "SELECT DISTINCT a.with_whom {VISIT_JOINS} {VISIT_WHERE}
            AND a.day BETWEEN $7 AND $8 AND a.with_whom <> ''
          ORDER BY a.with_whom"
    ))
    .bind(tx.tenant_id())
    .bind(schemes.map(<[Uuid]>::to_vec))
    .bind(company)
    .bind(filter.scheme)
    .bind(filter.company)
    .bind(None::<&str>)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await
}

/// Visits on or before `today` still booked: nobody has said whether they were
/// attended or found no access. Oldest first, at most `limit`.
pub async fn without_outcome(
    tx: &mut TenantTx,
    scope: &TicketScope,
    filter: &DiaryFilter,
    today: Date,
    limit: i64,
) -> sqlx::Result<Vec<DiaryVisit>> {
    let (schemes, company) = scope.filters();
    sqlx::query_as::<_, DiaryVisit>(&format!(
        "SELECT {VISIT_COLUMNS} {VISIT_JOINS} {VISIT_WHERE}
            AND a.status = 'booked' AND a.day <= $7
          ORDER BY a.day, a.window_start, a.window_end, t.number, a.id
          LIMIT $8"
    ))
    .bind(tx.tenant_id())
    .bind(schemes.map(<[Uuid]>::to_vec))
    .bind(company)
    .bind(filter.scheme)
    .bind(filter.company)
    .bind(filter.engineer.as_deref())
    .bind(today)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// A job its company has accepted and nobody has booked a visit for.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnbookedJob {
    pub ticket_id: Uuid,
    pub ticket_number: i64,
    pub ticket_title: String,
    pub ticket_status: String,
    pub reported_at: OffsetDateTime,
    pub accepted_at: Option<OffsetDateTime>,
    pub plot_number: String,
    pub address_line1: String,
    pub town: String,
    pub postcode: String,
    pub scheme_name: String,
    pub company_name: String,
    /// How many such jobs there are in all (the list is capped).
    pub total: i64,
}

impl UnbookedJob {
    /// "T-00042"
    pub fn reference(&self) -> String {
        format!("T-{:05}", self.ticket_number)
    }

    pub fn address(&self) -> String {
        address(
            &self.address_line1,
            &self.town,
            &self.postcode,
            &self.plot_number,
            &self.scheme_name,
        )
    }
}

/// Tickets whose current nomination a company has accepted, not finished with
/// (completed, closed or an abortive visit), with no visit booked on or after
/// `today`: oldest reported first, at most `limit`, each row carrying the full count.
pub async fn unbooked(
    tx: &mut TenantTx,
    scope: &TicketScope,
    filter: &DiaryFilter,
    today: Date,
    limit: i64,
) -> sqlx::Result<Vec<UnbookedJob>> {
    let (schemes, company) = scope.filters();
    sqlx::query_as::<_, UnbookedJob>(
        "SELECT t.id AS ticket_id, t.number AS ticket_number, t.title AS ticket_title,
                t.status AS ticket_status, t.reported_at, n.responded_at AS accepted_at,
                p.plot_number, p.address_line1, p.town, p.postcode,
                s.name AS scheme_name, c.name AS company_name, count(*) OVER () AS total
           FROM tickets t
           JOIN nominations n ON n.tenant_id = t.tenant_id AND n.ticket_id = t.id
                AND n.ended_at IS NULL AND n.response = 'accepted' AND n.company_id = t.nominated_company_id
           JOIN plots p ON p.tenant_id = t.tenant_id AND p.id = t.plot_id
           JOIN schemes s ON s.tenant_id = t.tenant_id AND s.id = t.scheme_id
           JOIN contacts c ON c.tenant_id = t.tenant_id AND c.id = t.nominated_company_id
          WHERE t.tenant_id = $1
            AND ($2::uuid[] IS NULL OR t.scheme_id = ANY($2))
            AND ($3::uuid IS NULL OR t.nominated_company_id = $3)
            AND ($4::uuid IS NULL OR t.scheme_id = $4)
            AND ($5::uuid IS NULL OR t.nominated_company_id = $5)
            AND t.status NOT IN ('completed', 'closed', 'abortive_visit')
            AND NOT EXISTS (
                SELECT 1 FROM appointments a
                 WHERE a.tenant_id = t.tenant_id AND a.ticket_id = t.id
                   AND a.status = 'booked' AND a.day >= $6)
          ORDER BY t.reported_at, t.number
          LIMIT $7",
    )
    .bind(tx.tenant_id())
    .bind(schemes.map(<[Uuid]>::to_vec))
    .bind(company)
    .bind(filter.scheme)
    .bind(filter.company)
    .bind(today)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// The schemes the scope reaches, by name, for the scheme filter.
pub async fn schemes(tx: &mut TenantTx, scope: &TicketScope) -> sqlx::Result<Vec<Choice>> {
    let schemes = match scope {
        TicketScope::Schemes(s) => s.as_filter().map(<[Uuid]>::to_vec),
        // A subcontractor's diary has no scheme or company menus.
        TicketScope::Company(_) => return Ok(Vec::new()),
    };
    sqlx::query_as::<_, Choice>(
        "SELECT id, name FROM schemes
          WHERE tenant_id = $1 AND ($2::uuid[] IS NULL OR id = ANY($2))
          ORDER BY lower(name), id",
    )
    .bind(tx.tenant_id())
    .bind(schemes)
    .fetch_all(&mut **tx)
    .await
}

/// The tenant's subcontractor companies, by name, for the company filter.
pub async fn companies(tx: &mut TenantTx, scope: &TicketScope) -> sqlx::Result<Vec<Choice>> {
    if scope.is_subcontractor() {
        return Ok(Vec::new());
    }
    sqlx::query_as::<_, Choice>(
        "SELECT id, name FROM contacts
          WHERE tenant_id = $1 AND kind = 'subcontractor_company'
          ORDER BY lower(name), id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}
