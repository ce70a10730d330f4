//! Who a ticket is nominated to, over time. Re-nominating ends the current
//! nomination and starts a new one, so the history stays.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::TenantTx;

/// Whom a ticket can be nominated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nominee {
    Company(Uuid),
    User(Uuid),
}

impl Nominee {
    /// From a select's value: "company:<id>" or "user:<id>".
    pub fn parse(value: &str) -> Option<Nominee> {
        let (kind, id) = value.trim().split_once(':')?;
        let id = Uuid::parse_str(id).ok()?;
        match kind {
            "company" => Some(Nominee::Company(id)),
            "user" => Some(Nominee::User(id)),
            _ => None,
        }
    }

    pub fn value(&self) -> String {
        match self {
            Nominee::Company(id) => format!("company:{id}"),
            Nominee::User(id) => format!("user:{id}"),
        }
    }
}

/// A subcontractor company for the nomination list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CompanyChoice {
    pub id: Uuid,
    pub name: String,
    /// Its trades include the ticket's category.
    pub covers: bool,
    pub emails: Vec<String>,
}

/// The tenant's live subcontractor companies: those covering `category` first, then the others, by name.
pub async fn companies(tx: &mut TenantTx, category: &str) -> sqlx::Result<Vec<CompanyChoice>> {
    sqlx::query_as::<_, CompanyChoice>(
        "SELECT id, name, $2 = ANY(trades) AS covers, emails
           FROM contacts
          WHERE tenant_id = $1 AND kind = 'subcontractor_company' AND archived_at IS NULL
          ORDER BY ($2 = ANY(trades)) DESC, lower(name), id",
    )
    .bind(tx.tenant_id())
    .bind(category)
    .fetch_all(&mut **tx)
    .await
}

/// One live subcontractor company.
pub async fn company(
    tx: &mut TenantTx,
    id: Uuid,
    category: &str,
) -> sqlx::Result<Option<CompanyChoice>> {
    sqlx::query_as::<_, CompanyChoice>(
        "SELECT id, name, $3 = ANY(trades) AS covers, emails
           FROM contacts
          WHERE tenant_id = $1 AND id = $2 AND kind = 'subcontractor_company' AND archived_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(category)
    .fetch_optional(&mut **tx)
    .await
}

/// A staff member a ticket can be nominated to (an enabled admin or staff user).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StaffChoice {
    pub id: Uuid,
    pub name: String,
    pub email: String,
}

pub async fn staff(tx: &mut TenantTx) -> sqlx::Result<Vec<StaffChoice>> {
    sqlx::query_as::<_, StaffChoice>(
        "SELECT id, name, email FROM users
          WHERE tenant_id = $1 AND role IN ('admin', 'staff') AND disabled_at IS NULL
          ORDER BY lower(name), id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

pub async fn staff_member(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<StaffChoice>> {
    sqlx::query_as::<_, StaffChoice>(
        "SELECT id, name, email FROM users
          WHERE tenant_id = $1 AND id = $2 AND role IN ('admin', 'staff') AND disabled_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// What a nomination email and the nomination list need to know about a ticket.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketFacts {
    pub title: String,
    pub category: String,
    pub priority: String,
    pub due_at: Option<OffsetDateTime>,
    pub plot_number: String,
    pub address_line1: String,
    pub town: String,
    pub postcode: String,
    pub scheme_name: String,
}

impl TicketFacts {
    /// "12 Acacia Avenue, Leeds, LS1 1AA", or "Plot 12, Meadow View" when the plot has no address yet.
    pub fn address(&self) -> String {
        let parts: Vec<&str> = [
            self.address_line1.as_str(),
            self.town.as_str(),
            self.postcode.as_str(),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
        if parts.is_empty() {
            format!("Plot {}, {}", self.plot_number, self.scheme_name)
        } else {
            parts.join(", ")
        }
    }
}

pub async fn ticket_facts(tx: &mut TenantTx, ticket_id: Uuid) -> sqlx::Result<TicketFacts> {
    sqlx::query_as::<_, TicketFacts>(
        "SELECT t.title, t.category, t.priority, t.due_at,
                p.plot_number, p.address_line1, p.town, p.postcode, s.name AS scheme_name
           FROM tickets t
           JOIN plots p ON p.tenant_id = t.tenant_id AND p.id = t.plot_id
           JOIN schemes s ON s.tenant_id = t.tenant_id AND s.id = t.scheme_id
          WHERE t.tenant_id = $1 AND t.id = $2",
    )
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .fetch_one(&mut **tx)
    .await
}

/// Ends the ticket's current nomination and starts one for `nominee`. Returns its id.
/// (The ticket itself is pointed at the nominee by the ticket service.)
pub async fn start(
    tx: &mut TenantTx,
    ticket_id: Uuid,
    nominee: Nominee,
    by: Uuid,
) -> sqlx::Result<Uuid> {
    let (company, user) = match nominee {
        Nominee::Company(id) => (Some(id), None),
        Nominee::User(id) => (None, Some(id)),
    };
    sqlx::query("UPDATE nominations SET ended_at = now() WHERE tenant_id = $1 AND ticket_id = $2 AND ended_at IS NULL")
        .bind(tx.tenant_id())
        .bind(ticket_id)
        .execute(&mut **tx)
        .await?;
    let nomination_id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO nominations (tenant_id, id, ticket_id, company_id, user_id, nominated_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tx.tenant_id())
    .bind(nomination_id)
    .bind(ticket_id)
    .bind(company)
    .bind(user)
    .bind(by)
    .execute(&mut **tx)
    .await?;
    Ok(nomination_id)
}

/// The company declines: its nomination ends with the reason.
pub async fn decline(tx: &mut TenantTx, nomination_id: Uuid, reason: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE nominations SET response = 'declined', responded_at = now(), decline_reason = $3, ended_at = now()
          WHERE tenant_id = $1 AND id = $2 AND ended_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(nomination_id)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One nomination in a ticket's history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NominationRow {
    pub id: Uuid,
    pub company_name: Option<String>,
    pub user_name: Option<String>,
    pub nominated_by_name: Option<String>,
    pub nominated_at: OffsetDateTime,
    pub response: String,
    pub responded_at: Option<OffsetDateTime>,
    pub decline_reason: Option<String>,
    pub ended_at: Option<OffsetDateTime>,
}

/// Every nomination of the ticket, newest first.
pub async fn history(tx: &mut TenantTx, ticket_id: Uuid) -> sqlx::Result<Vec<NominationRow>> {
    sqlx::query_as::<_, NominationRow>(
        "SELECT n.id, c.name AS company_name, u.name AS user_name, b.name AS nominated_by_name,
                n.nominated_at, n.response, n.responded_at, n.decline_reason, n.ended_at
           FROM nominations n
           LEFT JOIN contacts c ON c.tenant_id = n.tenant_id AND c.id = n.company_id
           LEFT JOIN users u ON u.tenant_id = n.tenant_id AND u.id = n.user_id
           LEFT JOIN users b ON b.tenant_id = n.tenant_id AND b.id = n.nominated_by
          WHERE n.tenant_id = $1 AND n.ticket_id = $2
          ORDER BY n.nominated_at DESC, n.id DESC",
    )
    .bind(tx.tenant_id())
    .bind(ticket_id)
    .fetch_all(&mut **tx)
    .await
}
