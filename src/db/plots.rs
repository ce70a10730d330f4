//! Plots within a contract, and their homeowners over time.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::users::Choice;
use crate::{
    db::TenantTx,
    db::scope::SchemeScope,
    domain::{Postcode, SearchWords, WarrantyStatus},
};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Plot {
    pub id: Uuid,
    pub scheme_id: Uuid,
    pub scheme_name: String,
    pub contract_id: Uuid,
    pub contract_name: String,
    pub plot_number: String,
    pub address_line1: String,
    pub address_line2: String,
    pub town: String,
    pub postcode: String,
    pub house_type: String,
    pub bedrooms: Option<i32>,
    pub reservation_date: Option<Date>,
    pub completion_date: Option<Date>,
    pub access_notes: String,
    pub archived_at: Option<OffsetDateTime>,
    /// The contract's defects period, else the scheme's warranty period.
    pub warranty_months: i32,
}

/// The fields of the plot form, checked (the postcode already normalised).
#[derive(Debug, Clone, Default)]
pub struct PlotInput {
    pub plot_number: String,
    pub address_line1: String,
    pub address_line2: String,
    pub town: String,
    pub postcode: String,
    pub house_type: String,
    pub bedrooms: Option<i32>,
    pub reservation_date: Option<Date>,
    pub completion_date: Option<Date>,
    pub access_notes: String,
}

/// The plot number is already used in the scheme.
pub const NUMBER_CLASH: &str = "plots_number_unique_in_scheme";

fn is_number_clash(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.constraint() == Some(NUMBER_CLASH))
}

/// Inserts a plot in a contract (of `scheme_id`). A plot number already used in the scheme answers `Ok(None)`.
pub async fn insert(
    tx: &mut TenantTx,
    scheme_id: Uuid,
    contract_id: Uuid,
    input: &PlotInput,
) -> sqlx::Result<Option<Uuid>> {
    let id = Uuid::now_v7();
    let result = sqlx::query(
        "INSERT INTO plots (tenant_id, id, scheme_id, contract_id, plot_number, address_line1, address_line2, town,
                            postcode, house_type, bedrooms, reservation_date, completion_date, access_notes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(scheme_id)
    .bind(contract_id)
    .bind(&input.plot_number)
    .bind(&input.address_line1)
    .bind(&input.address_line2)
    .bind(&input.town)
    .bind(&input.postcode)
    .bind(&input.house_type)
    .bind(input.bedrooms)
    .bind(input.reservation_date)
    .bind(input.completion_date)
    .bind(&input.access_notes)
    .execute(&mut **tx)
    .await;
    match result {
        Ok(_) => Ok(Some(id)),
        Err(e) if is_number_clash(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Saves the form's fields. A plot number already used in the scheme answers `Ok(false)`.
pub async fn update(tx: &mut TenantTx, id: Uuid, input: &PlotInput) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE plots SET plot_number = $3, address_line1 = $4, address_line2 = $5, town = $6, postcode = $7,
                house_type = $8, bedrooms = $9, reservation_date = $10, completion_date = $11, access_notes = $12
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(&input.plot_number)
    .bind(&input.address_line1)
    .bind(&input.address_line2)
    .bind(&input.town)
    .bind(&input.postcode)
    .bind(&input.house_type)
    .bind(input.bedrooms)
    .bind(input.reservation_date)
    .bind(input.completion_date)
    .bind(&input.access_notes)
    .execute(&mut **tx)
    .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_number_clash(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A plot whose scheme the user's scope reaches.
pub async fn find(tx: &mut TenantTx, scope: &SchemeScope, id: Uuid) -> sqlx::Result<Option<Plot>> {
    sqlx::query_as::<_, Plot>(
        "SELECT p.id, p.scheme_id, s.name AS scheme_name, p.contract_id, c.name AS contract_name, p.plot_number,
                p.address_line1, p.address_line2, p.town, p.postcode, p.house_type, p.bedrooms,
                p.reservation_date, p.completion_date, p.access_notes, p.archived_at,
                coalesce(c.defects_period_months, s.warranty_months) AS warranty_months
           FROM plots p
           JOIN contracts c ON c.tenant_id = p.tenant_id AND c.id = p.contract_id
           JOIN schemes s ON s.tenant_id = p.tenant_id AND s.id = p.scheme_id
          WHERE p.tenant_id = $1 AND p.id = $2 AND ($3::uuid[] IS NULL OR p.scheme_id = ANY($3))",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(scope.as_filter())
    .fetch_optional(&mut **tx)
    .await
}

/// Archives (or restores) a plot.
pub async fn set_archived(tx: &mut TenantTx, id: Uuid, archived: bool) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE plots SET archived_at = CASE WHEN $3 THEN coalesce(archived_at, now()) ELSE NULL END
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(archived)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A plot as lists show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PlotRow {
    pub id: Uuid,
    pub plot_number: String,
    pub address_line1: String,
    pub town: String,
    pub postcode: String,
    pub completion_date: Option<Date>,
    pub archived_at: Option<OffsetDateTime>,
    pub scheme_id: Uuid,
    pub scheme_name: String,
    pub contract_id: Uuid,
    pub contract_name: String,
    pub warranty_months: i32,
    /// Current homeowners' names, comma-separated.
    pub homeowners: Option<String>,
    pub sort_key: String,
}

/// The order of the plot list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlotSort {
    #[default]
    PlotNumber,
    /// Earliest handover first; plots not handed over last.
    Completion,
}

impl PlotSort {
    pub const ALL: [PlotSort; 2] = [PlotSort::PlotNumber, PlotSort::Completion];

    pub fn as_str(self) -> &'static str {
        match self {
            PlotSort::PlotNumber => "plot_number",
            PlotSort::Completion => "completion",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            PlotSort::PlotNumber => "Plot number",
            PlotSort::Completion => "Completion date",
        }
    }

    pub fn parse(value: &str) -> PlotSort {
        PlotSort::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .unwrap_or_default()
    }

    fn key(self) -> &'static str {
        match self {
            PlotSort::PlotNumber => "p.plot_number",
            PlotSort::Completion => {
                "coalesce(to_char(p.completion_date, 'YYYY-MM-DD'), '9999-12-31')"
            }
        }
    }
}

/// Which plots by archive state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArchivedFilter {
    #[default]
    Current,
    Archived,
    All,
}

impl ArchivedFilter {
    pub const ALL: [ArchivedFilter; 3] = [
        ArchivedFilter::Current,
        ArchivedFilter::Archived,
        ArchivedFilter::All,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ArchivedFilter::Current => "current",
            ArchivedFilter::Archived => "archived",
            ArchivedFilter::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ArchivedFilter::Current => "Not archived",
            ArchivedFilter::Archived => "Archived",
            ArchivedFilter::All => "All",
        }
    }

    pub fn parse(value: &str) -> ArchivedFilter {
        ArchivedFilter::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .unwrap_or_default()
    }
}

/// The plot list's search, filters, order and page.
#[derive(Debug, Clone)]
pub struct PlotFilter {
    /// A plot number, postcode (any spacing or case), part of the address, or part of a homeowner's name.
    pub search: Option<String>,
    pub scheme_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub warranty: Option<WarrantyStatus>,
    pub archived: ArchivedFilter,
    pub sort: PlotSort,
    /// Keyset: rows after this (sort key, id).
    pub after: Option<(String, Uuid)>,
    /// The day warranty status is judged on.
    pub today: Date,
}

/// One page of plots (`limit` rows at most), in `filter.sort` order.
pub async fn list(
    tx: &mut TenantTx,
    scope: &SchemeScope,
    filter: &PlotFilter,
    limit: i64,
) -> sqlx::Result<Vec<PlotRow>> {
    let key = filter.sort.key();
    let search = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let postcode = search
        .and_then(|s| Postcode::parse("q", s).ok())
        .map(|p| p.as_str().to_owned());
    // A postcode is matched exactly, on its index. Other text is looked up word by word
    // (each as the start of a word) in plot_search_words: the plot's number, address,
    // postcode and homeowners' names (migrations/0012_search.sql).
    let words = search
        .filter(|_| postcode.is_none())
        .and_then(SearchWords::parse);
    let search = match (&postcode, &words) {
        (Some(_), _) => "p.postcode = $7::text".to_owned(),
        // One condition per word, each on the words table's index. The word and its bound
        // are elements of the parameter arrays: constants once the plan is made, so the
        // planner knows how many plots each word matches, and comparisons of constants are
        // leakproof, so row-level security lets the index answer them.
        (None, Some(words)) => (1..=words.words().len())
            .map(|i| {
                format!(
                    "p.id IN (SELECT w.plot_id FROM plot_search_words w WHERE w.tenant_id = $1
                        AND w.word >= ($9::text[])[{i}] COLLATE \"C\" AND w.word < ($13::text[])[{i}] COLLATE \"C\")"
                )
            })
            .collect::<Vec<_>>()
            .join(" AND "),
        (None, None) => "TRUE".to_owned(),
    };
    // The page of plots is chosen from the plots table alone; its scheme, contract and
    // homeowners are looked up for those rows only.
    let warranty_months = "coalesce(c.defects_period_months, s.warranty_months)";
    sqlx::query_as::<_, PlotRow>(&format!(
        "SELECT p.id, p.plot_number, p.address_line1, p.town, p.postcode, p.completion_date, p.archived_at,
                p.scheme_id, s.name AS scheme_name, p.contract_id, c.name AS contract_name,
                {warranty_months} AS warranty_months,
                (SELECT string_agg(h.name, ', ' ORDER BY ph.from_date NULLS FIRST, h.name)
                   FROM plot_homeowners ph
                   JOIN contacts h ON h.tenant_id = ph.tenant_id AND h.id = ph.contact_id
                  WHERE ph.tenant_id = $1 AND ph.plot_id = p.id AND (ph.to_date IS NULL OR ph.to_date > $8)) AS homeowners,
                p.sort_key
           FROM (SELECT p.id, p.plot_number, p.address_line1, p.town, p.postcode, p.completion_date,
                        p.archived_at, p.scheme_id, p.contract_id, {key} AS sort_key
                   FROM plots p
                  WHERE p.tenant_id = $1
                    AND ($2::uuid[] IS NULL OR p.scheme_id = ANY($2))
                    AND ($3::uuid IS NULL OR p.scheme_id = $3)
                    AND ($4::uuid IS NULL OR p.contract_id = $4)
                    AND ($5::text = 'all' OR ($5 = 'archived') = (p.archived_at IS NOT NULL))
                    AND ($6::text IS NULL
                         OR ($6 = 'not_handed_over' AND p.completion_date IS NULL)
                         OR ($6 <> 'not_handed_over' AND p.completion_date IS NOT NULL AND EXISTS (
                               SELECT 1 FROM contracts c
                               JOIN schemes s ON s.tenant_id = c.tenant_id AND s.id = c.scheme_id
                              WHERE c.tenant_id = $1 AND c.id = p.contract_id
                                AND ($6 = 'in_warranty') = ((p.completion_date + make_interval(months => {warranty_months}))::date > $8))))
                    AND {search}
                    AND ($10::text IS NULL OR ({key}, p.id) > ($10, $11::uuid))
                  ORDER BY {key}, p.id
                  LIMIT $12) p
           JOIN contracts c ON c.tenant_id = $1 AND c.id = p.contract_id
           JOIN schemes s ON s.tenant_id = $1 AND s.id = p.scheme_id
          ORDER BY p.sort_key, p.id"
    ))
    .bind(tx.tenant_id())
    .bind(scope.as_filter())
    .bind(filter.scheme_id)
    .bind(filter.contract_id)
    .bind(filter.archived.as_str())
    .bind(filter.warranty.map(WarrantyStatus::as_str))
    .bind(postcode)
    .bind(filter.today)
    .bind(words.as_ref().map(|w| w.words().to_vec()))
    .bind(filter.after.as_ref().map(|a| a.0.as_str()))
    .bind(filter.after.as_ref().map(|a| a.1))
    .bind(limit)
    .bind(words.as_ref().map(SearchWords::bounds))
    .fetch_all(&mut **tx)
    .await
}

/// A contract's plots in natural plot-number order ("2" before "10"), `limit` at most.
pub async fn for_contract(
    tx: &mut TenantTx,
    scope: &SchemeScope,
    contract_id: Uuid,
    today: Date,
    limit: i64,
) -> sqlx::Result<Vec<PlotRow>> {
    sqlx::query_as::<_, PlotRow>(
        "SELECT p.id, p.plot_number, p.address_line1, p.town, p.postcode, p.completion_date, p.archived_at,
                p.scheme_id, s.name AS scheme_name, p.contract_id, c.name AS contract_name,
                coalesce(c.defects_period_months, s.warranty_months) AS warranty_months,
                (SELECT string_agg(h.name, ', ' ORDER BY ph.from_date NULLS FIRST, h.name)
                   FROM plot_homeowners ph
                   JOIN contacts h ON h.tenant_id = ph.tenant_id AND h.id = ph.contact_id
                  WHERE ph.tenant_id = $1 AND ph.plot_id = p.id AND (ph.to_date IS NULL OR ph.to_date > $4)) AS homeowners,
                p.plot_number AS sort_key
           FROM plots p
           JOIN contracts c ON c.tenant_id = p.tenant_id AND c.id = p.contract_id
           JOIN schemes s ON s.tenant_id = p.tenant_id AND s.id = p.scheme_id
          WHERE p.tenant_id = $1 AND p.contract_id = $2 AND ($3::uuid[] IS NULL OR p.scheme_id = ANY($3))
          ORDER BY length(p.plot_number), p.plot_number, p.id
          LIMIT $5",
    )
    .bind(tx.tenant_id())
    .bind(contract_id)
    .bind(scope.as_filter())
    .bind(today)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// One homeowner of a plot, for a period.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Ownership {
    pub id: Uuid,
    pub contact_id: Uuid,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub from_date: Option<Date>,
    pub to_date: Option<Date>,
}

/// A plot's homeowners, latest first.
pub async fn homeowners(tx: &mut TenantTx, plot_id: Uuid) -> sqlx::Result<Vec<Ownership>> {
    sqlx::query_as::<_, Ownership>(
        "SELECT ph.id, ph.contact_id, h.name, h.phones[1] AS phone, h.emails[1] AS email, ph.from_date, ph.to_date
           FROM plot_homeowners ph
           JOIN contacts h ON h.tenant_id = ph.tenant_id AND h.id = ph.contact_id
          WHERE ph.tenant_id = $1 AND ph.plot_id = $2
          ORDER BY ph.to_date IS NULL DESC, ph.to_date DESC, ph.from_date DESC NULLS LAST, ph.created_at DESC",
    )
    .bind(tx.tenant_id())
    .bind(plot_id)
    .fetch_all(&mut **tx)
    .await
}

/// The tenant's homeowner contacts, by name (the first 1,000), to choose from.
pub async fn homeowner_choices(tx: &mut TenantTx) -> sqlx::Result<Vec<Choice>> {
    sqlx::query_as::<_, Choice>(
        "SELECT id, name FROM contacts
          WHERE tenant_id = $1 AND kind = 'homeowner' AND archived_at IS NULL
          ORDER BY lower(name), id
          LIMIT 1000",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

/// The name of one of the tenant's homeowner contacts.
pub async fn homeowner_name(tx: &mut TenantTx, contact_id: Uuid) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT name FROM contacts WHERE tenant_id = $1 AND id = $2 AND kind = 'homeowner'",
    )
    .bind(tx.tenant_id())
    .bind(contact_id)
    .fetch_optional(&mut **tx)
    .await
}

/// A new homeowner contact, made from the plot page.
pub async fn insert_homeowner_contact(
    tx: &mut TenantTx,
    name: &str,
    phone: Option<&str>,
    email: Option<&str>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO contacts (tenant_id, id, kind, name, phones, emails)
         VALUES ($1, $2, 'homeowner', $3, array_remove(ARRAY[$4::text], NULL), array_remove(ARRAY[$5::text], NULL))",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(name)
    .bind(phone)
    .bind(email)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Records `contact_id` as a homeowner of the plot from `from` (until `to`, if known).
pub async fn add_homeowner(
    tx: &mut TenantTx,
    plot_id: Uuid,
    contact_id: Uuid,
    from: Option<Date>,
    to: Option<Date>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO plot_homeowners (tenant_id, id, plot_id, contact_id, from_date, to_date)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(plot_id)
    .bind(contact_id)
    .bind(from)
    .bind(to)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Ends a homeownership on `to` (the row stays, so a resale keeps its history).
pub async fn end_ownership(
    tx: &mut TenantTx,
    plot_id: Uuid,
    id: Uuid,
    to: Date,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE plot_homeowners SET to_date = $4 WHERE tenant_id = $1 AND plot_id = $2 AND id = $3",
    )
    .bind(tx.tenant_id())
    .bind(plot_id)
    .bind(id)
    .bind(to)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Tickets on the plot that are not yet closed or abortive (a plot is archived only when there are none).
pub async fn open_ticket_count(tx: &mut TenantTx, plot_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT count(*) FROM tickets
          WHERE tenant_id = $1 AND plot_id = $2 AND status NOT IN ('closed', 'abortive_visit')",
    )
    .bind(tx.tenant_id())
    .bind(plot_id)
    .fetch_one(&mut **tx)
    .await
}
