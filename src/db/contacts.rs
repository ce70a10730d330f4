//! Contacts: homeowners, subcontractor companies and their people, clients,
//! consultants and staff. Archived, never deleted.
//!
//! Staff restricted to some schemes see a homeowner only through a plot in
//! one of their schemes; every other kind of contact is tenant-wide.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::db::TenantTx;

/// The kinds of contact: value (as stored) and label.
pub const KINDS: [(&str, &str); 6] = [
    ("homeowner", "Homeowner"),
    ("subcontractor_company", "Subcontractor company"),
    ("subcontractor_person", "Person at a subcontractor"),
    ("client", "Housing association or client"),
    ("consultant", "Consultant"),
    ("staff", "Staff"),
];

/// The trades a subcontractor company covers.
pub const TRADES: [(&str, &str); 12] = [
    ("plumbing", "Plumbing"),
    ("electrical", "Electrical"),
    ("carpentry", "Carpentry"),
    ("roofing", "Roofing"),
    ("plastering", "Plastering"),
    ("decorating", "Decorating"),
    ("groundworks", "Groundworks"),
    ("heating", "Heating"),
    ("windows_doors", "Windows and doors"),
    ("kitchens", "Kitchens"),
    ("drainage", "Drainage"),
    ("general", "General"),
];

/// How a contact prefers to be reached.
pub const METHODS: [(&str, &str); 4] = [
    ("phone", "Phone"),
    ("email", "Email"),
    ("sms", "Text message"),
    ("post", "Post"),
];

fn label_of(list: &[(&'static str, &'static str)], value: &str) -> &'static str {
    list.iter()
        .find(|(v, _)| *v == value)
        .map(|(_, l)| *l)
        .unwrap_or("Other")
}

pub fn kind_label(kind: &str) -> &'static str {
    label_of(&KINDS, kind)
}

pub fn trade_label(trade: &str) -> &'static str {
    label_of(&TRADES, trade)
}

pub fn method_label(method: &str) -> &'static str {
    label_of(&METHODS, method)
}

/// One contact, as the detail and edit pages show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Contact {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub company_name: String,
    pub company_id: Option<Uuid>,
    /// The name of the company a subcontractor person belongs to.
    pub company: Option<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub address: String,
    pub notes: String,
    pub preferred_contact_method: String,
    pub consent_note: String,
    pub trades: Vec<String>,
    pub archived_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

/// The fields a create or edit form sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContactFields {
    pub kind: String,
    pub name: String,
    pub company_name: String,
    pub company_id: Option<Uuid>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub address: String,
    pub notes: String,
    pub preferred_contact_method: String,
    pub consent_note: String,
    pub trades: Vec<String>,
}

/// The order of the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    NameAsc,
    NameDesc,
    Newest,
}

impl Sort {
    pub const ALL: [Sort; 3] = [Sort::NameAsc, Sort::NameDesc, Sort::Newest];
    pub fn parse(value: &str) -> Sort {
        Sort::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .unwrap_or_default()
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::NameAsc => "name",
            Sort::NameDesc => "name_desc",
            Sort::Newest => "newest",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Sort::NameAsc => "Name, A to Z",
            Sort::NameDesc => "Name, Z to A",
            Sort::Newest => "Newest first",
        }
    }
    /// The keyset condition (rows after the cursor contact `$8`) and the order, on indexes leading with tenant_id.
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            Sort::NameAsc => (
                "(lower(c.name), c.id) > (SELECT lower(x.name), x.id FROM contacts x WHERE x.tenant_id = $1 AND x.id = $8)",
                "lower(c.name), c.id",
            ),
            Sort::NameDesc => (
                "(lower(c.name), c.id) < (SELECT lower(x.name), x.id FROM contacts x WHERE x.tenant_id = $1 AND x.id = $8)",
                "lower(c.name) DESC, c.id DESC",
            ),
            // Ids are UUIDv7: newest first is highest id first.
            Sort::Newest => ("c.id < $8", "c.id DESC"),
        }
    }
}

/// Which contacts a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Status {
    #[default]
    Active,
    Archived,
    All,
}

impl Status {
    pub fn parse(value: &str) -> Status {
        match value {
            "archived" => Status::Archived,
            "all" => Status::All,
            _ => Status::Active,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Archived => "archived",
            Status::All => "all",
        }
    }
}

/// The list's search, filters, order and page.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    pub q: Option<String>,
    pub kind: Option<String>,
    pub trade: Option<String>,
    pub status: Status,
    pub sort: Sort,
    /// Keyset: rows after this contact in `sort` order.
    pub after: Option<Uuid>,
}

/// One row of the list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContactSummary {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub company_name: String,
    pub company: Option<String>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub trades: Vec<String>,
    pub archived_at: Option<OffsetDateTime>,
}

/// `%text%` for ILIKE, with the user's own wildcards taken literally.
fn like_pattern(q: &str) -> String {
    let escaped = q
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// The digits of a search that looks like a phone number (at least 3 digits, nothing but phone characters).
fn phone_digits(q: &str) -> Option<String> {
    let digits: String = q.chars().filter(char::is_ascii_digit).collect();
    let phone_like = q.chars().all(|c| c.is_ascii_digit() || " +()-".contains(c));
    (digits.len() >= 3 && phone_like).then(|| format!("%{digits}%"))
}

/// The homeowner condition for staff restricted to schemes (`$n` is the scheme filter, NULL for all).
const HOMEOWNER_SCOPE: &str = "(c.kind <> 'homeowner' OR EXISTS (
        SELECT 1 FROM plot_homeowners ph JOIN plots p ON p.tenant_id = ph.tenant_id AND p.id = ph.plot_id
         WHERE ph.tenant_id = c.tenant_id AND ph.contact_id = c.id AND p.scheme_id = ANY(SCOPE)))";

fn homeowner_scope(param: &str) -> String {
    format!(
        "({param}::uuid[] IS NULL OR {})",
        HOMEOWNER_SCOPE.replace("SCOPE", param)
    )
}

/// A page of contacts: at most `limit` rows.
pub async fn list(
    tx: &mut TenantTx,
    filter: &ContactFilter,
    schemes: Option<&[Uuid]>,
    limit: i64,
) -> sqlx::Result<Vec<ContactSummary>> {
    let (after, order) = filter.sort.sql();
    let q = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let sql = format!(
        "SELECT c.id, c.kind, c.name, c.company_name, co.name AS company, c.emails, c.phones, c.trades, c.archived_at
           FROM contacts c
           LEFT JOIN contacts co ON co.tenant_id = c.tenant_id AND co.id = c.company_id
          WHERE c.tenant_id = $1
            AND ($2::text IS NULL OR c.name ILIKE $2 OR c.company_name ILIKE $2 OR co.name ILIKE $2
                 OR EXISTS (SELECT 1 FROM unnest(c.emails) e WHERE e ILIKE $2)
                 OR ($3::text IS NOT NULL AND EXISTS (SELECT 1 FROM unnest(c.phones) ph WHERE regexp_replace(ph, '[^0-9]', '', 'g') LIKE $3)))
            AND ($4::text IS NULL OR c.kind = $4)
            AND ($5::text IS NULL OR $5 = ANY(c.trades))
            AND ($6 = 'all' OR ($6 = 'archived') = (c.archived_at IS NOT NULL))
            AND {scope}
            AND ($8::uuid IS NULL OR {after})
          ORDER BY {order}
          LIMIT $9",
        scope = homeowner_scope("$7"),
    );
    sqlx::query_as::<_, ContactSummary>(&sql)
        .bind(tx.tenant_id())
        .bind(q.map(like_pattern))
        .bind(q.and_then(phone_digits))
        .bind(filter.kind.as_deref())
        .bind(filter.trade.as_deref())
        .bind(filter.status.as_str())
        .bind(schemes)
        .bind(filter.after)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await
}

/// One contact the user may see, or None.
pub async fn find(
    tx: &mut TenantTx,
    id: Uuid,
    schemes: Option<&[Uuid]>,
) -> sqlx::Result<Option<Contact>> {
    let sql = format!(
        "SELECT c.id, c.kind, c.name, c.company_name, c.company_id, co.name AS company, c.emails, c.phones, c.address,
                c.notes, c.preferred_contact_method, c.consent_note, c.trades, c.archived_at, c.created_at
           FROM contacts c
           LEFT JOIN contacts co ON co.tenant_id = c.tenant_id AND co.id = c.company_id
          WHERE c.tenant_id = $1 AND c.id = $2 AND {}",
        homeowner_scope("$3")
    );
    sqlx::query_as::<_, Contact>(&sql)
        .bind(tx.tenant_id())
        .bind(id)
        .bind(schemes)
        .fetch_optional(&mut **tx)
        .await
}

/// The people of a subcontractor company.
pub async fn people(tx: &mut TenantTx, company_id: Uuid) -> sqlx::Result<Vec<ContactSummary>> {
    sqlx::query_as::<_, ContactSummary>(
        "SELECT c.id, c.kind, c.name, c.company_name, NULL::text AS company, c.emails, c.phones, c.trades, c.archived_at
           FROM contacts c
          WHERE c.tenant_id = $1 AND c.company_id = $2
          ORDER BY c.archived_at IS NOT NULL, lower(c.name), c.id",
    )
    .bind(tx.tenant_id())
    .bind(company_id)
    .fetch_all(&mut **tx)
    .await
}

/// A plot a homeowner owns or owned.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OwnedPlot {
    pub plot_id: Uuid,
    pub plot_number: String,
    pub scheme_name: String,
    pub address_line1: String,
    pub town: String,
    pub postcode: String,
    pub from_date: Option<Date>,
    pub to_date: Option<Date>,
}

/// The plots of a homeowner, current first, within the user's schemes.
pub async fn owned_plots(
    tx: &mut TenantTx,
    contact_id: Uuid,
    schemes: Option<&[Uuid]>,
) -> sqlx::Result<Vec<OwnedPlot>> {
    sqlx::query_as::<_, OwnedPlot>(
        "SELECT p.id AS plot_id, p.plot_number, s.name AS scheme_name, p.address_line1, p.town, p.postcode, ph.from_date, ph.to_date
           FROM plot_homeowners ph
           JOIN plots p ON p.tenant_id = ph.tenant_id AND p.id = ph.plot_id
           JOIN schemes s ON s.tenant_id = p.tenant_id AND s.id = p.scheme_id
          WHERE ph.tenant_id = $1 AND ph.contact_id = $2 AND ($3::uuid[] IS NULL OR p.scheme_id = ANY($3))
          ORDER BY ph.to_date IS NOT NULL, ph.from_date DESC NULLS LAST, p.plot_number",
    )
    .bind(tx.tenant_id())
    .bind(contact_id)
    .bind(schemes)
    .fetch_all(&mut **tx)
    .await
}

/// A company to choose for a subcontractor person.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CompanyChoice {
    pub id: Uuid,
    pub name: String,
}

/// Subcontractor companies not archived, by name.
pub async fn companies(tx: &mut TenantTx) -> sqlx::Result<Vec<CompanyChoice>> {
    sqlx::query_as::<_, CompanyChoice>(
        "SELECT id, name FROM contacts WHERE tenant_id = $1 AND kind = 'subcontractor_company' AND archived_at IS NULL
          ORDER BY lower(name), id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

/// A new contact; returns its id.
pub async fn insert(tx: &mut TenantTx, f: &ContactFields) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO contacts (tenant_id, id, kind, name, company_name, company_id, emails, phones, address, notes,
                               preferred_contact_method, consent_note, trades)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(&f.kind)
    .bind(&f.name)
    .bind(&f.company_name)
    .bind(f.company_id)
    .bind(&f.emails)
    .bind(&f.phones)
    .bind(&f.address)
    .bind(&f.notes)
    .bind(&f.preferred_contact_method)
    .bind(&f.consent_note)
    .bind(&f.trades)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Saves an edit.
pub async fn update(tx: &mut TenantTx, id: Uuid, f: &ContactFields) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE contacts SET kind = $3, name = $4, company_name = $5, company_id = $6, emails = $7, phones = $8,
                address = $9, notes = $10, preferred_contact_method = $11, consent_note = $12, trades = $13
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(&f.kind)
    .bind(&f.name)
    .bind(&f.company_name)
    .bind(f.company_id)
    .bind(&f.emails)
    .bind(&f.phones)
    .bind(&f.address)
    .bind(&f.notes)
    .bind(&f.preferred_contact_method)
    .bind(&f.consent_note)
    .bind(&f.trades)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Archives a contact (or brings it back).
pub async fn set_archived(tx: &mut TenantTx, id: Uuid, archived: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE contacts SET archived_at = CASE WHEN $3 THEN now() ELSE NULL END WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .bind(archived)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_take_wildcards_literally_and_spot_phone_numbers() {
        assert_eq!(like_pattern("50%_off"), "%50\\%\\_off%");
        assert_eq!(phone_digits("07700 900"), Some("%07700900%".into()));
        assert_eq!(phone_digits("Brightwater"), None);
        assert_eq!(phone_digits("12"), None);
    }
}
