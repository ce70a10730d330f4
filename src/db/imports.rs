//! Bulk writes for imports, the demo and the generator: set-based inserts
//! (one statement per table, rows passed as arrays and UNNESTed), and the
//! import batches kept between an upload's preview and its confirmation.

use std::collections::HashSet;

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::{db::TenantTx, import::KnownScheme};

/// A plot to insert.
#[derive(Debug, Clone, Default)]
pub struct NewPlot {
    pub id: Uuid,
    pub scheme_id: Uuid,
    pub contract_id: Uuid,
    pub plot_number: String,
    pub address_line1: String,
    pub address_line2: String,
    pub town: String,
    pub postcode: String,
    pub house_type: String,
    pub bedrooms: Option<i32>,
    pub reservation_date: Option<Date>,
    pub completion_date: Option<Date>,
}

/// A contact to insert. Emails and phones hold no new lines (they are validated).
#[derive(Debug, Clone, Default)]
pub struct NewContact {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub company_name: String,
    pub company_id: Option<Uuid>,
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub address: String,
    pub notes: String,
    pub preferred_contact_method: String,
    pub trades: Vec<String>,
}

/// A homeowner of a plot, from a date.
#[derive(Debug, Clone)]
pub struct NewHomeowner {
    pub id: Uuid,
    pub plot_id: Uuid,
    pub contact_id: Uuid,
    pub from_date: Option<Date>,
}

/// Rows per statement: large enough to be fast, small enough that no statement runs long.
const CHUNK: usize = 2_000;

fn column<T, U>(rows: &[T], f: impl Fn(&T) -> U) -> Vec<U> {
    rows.iter().map(f).collect()
}

/// Inserts plots in one statement.
pub async fn insert_plots(tx: &mut TenantTx, rows: &[NewPlot]) -> sqlx::Result<u64> {
    let mut done = 0;
    for chunk in rows.chunks(CHUNK) {
        done += insert_plots_chunk(tx, chunk).await?;
    }
    Ok(done)
}

async fn insert_plots_chunk(tx: &mut TenantTx, rows: &[NewPlot]) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "INSERT INTO plots (tenant_id, id, scheme_id, contract_id, plot_number, address_line1, address_line2, town, postcode,
                            house_type, bedrooms, reservation_date, completion_date)
         SELECT $1, u.* FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
                                    $10::text[], $11::int4[], $12::date[], $13::date[]) AS u",
    )
    .bind(tx.tenant_id())
    .bind(column(rows, |r| r.id))
    .bind(column(rows, |r| r.scheme_id))
    .bind(column(rows, |r| r.contract_id))
    .bind(column(rows, |r| r.plot_number.clone()))
    .bind(column(rows, |r| r.address_line1.clone()))
    .bind(column(rows, |r| r.address_line2.clone()))
    .bind(column(rows, |r| r.town.clone()))
    .bind(column(rows, |r| r.postcode.clone()))
    .bind(column(rows, |r| r.house_type.clone()))
    .bind(column(rows, |r| r.bedrooms))
    .bind(column(rows, |r| r.reservation_date))
    .bind(column(rows, |r| r.completion_date))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Inserts contacts in one statement. A person's company must be inserted by an earlier call.
pub async fn insert_contacts(tx: &mut TenantTx, rows: &[NewContact]) -> sqlx::Result<u64> {
    let mut done = 0;
    for chunk in rows.chunks(CHUNK) {
        done += insert_contacts_chunk(tx, chunk).await?;
    }
    Ok(done)
}

async fn insert_contacts_chunk(tx: &mut TenantTx, rows: &[NewContact]) -> sqlx::Result<u64> {
    // Arrays of arrays cannot be UNNESTed row by row: lists travel as one line each, split again here.
    let done = sqlx::query(
        "INSERT INTO contacts (tenant_id, id, kind, name, company_name, company_id, emails, phones, address, notes,
                               preferred_contact_method, trades)
         SELECT $1, u.id, u.kind, u.name, u.company_name, u.company_id,
                string_to_array(u.emails, E'\\n'), string_to_array(u.phones, E'\\n'), u.address, u.notes, u.method,
                string_to_array(u.trades, E'\\n')
           FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::text[], $9::text[],
                       $10::text[], $11::text[], $12::text[])
                AS u(id, kind, name, company_name, company_id, emails, phones, address, notes, method, trades)",
    )
    .bind(tx.tenant_id())
    .bind(column(rows, |r| r.id))
    .bind(column(rows, |r| r.kind.clone()))
    .bind(column(rows, |r| r.name.clone()))
    .bind(column(rows, |r| r.company_name.clone()))
    .bind(column(rows, |r| r.company_id))
    .bind(column(rows, |r| r.emails.join("\n")))
    .bind(column(rows, |r| r.phones.join("\n")))
    .bind(column(rows, |r| r.address.clone()))
    .bind(column(rows, |r| r.notes.clone()))
    .bind(column(rows, |r| if r.preferred_contact_method.is_empty() { "phone".to_owned() } else { r.preferred_contact_method.clone() }))
    .bind(column(rows, |r| r.trades.join("\n")))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Links homeowners to plots in one statement.
pub async fn insert_homeowners(tx: &mut TenantTx, rows: &[NewHomeowner]) -> sqlx::Result<u64> {
    let mut done = 0;
    for chunk in rows.chunks(CHUNK) {
        done += insert_homeowners_chunk(tx, chunk).await?;
    }
    Ok(done)
}

async fn insert_homeowners_chunk(tx: &mut TenantTx, rows: &[NewHomeowner]) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "INSERT INTO plot_homeowners (tenant_id, id, plot_id, contact_id, from_date)
         SELECT $1, u.* FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::date[]) AS u",
    )
    .bind(tx.tenant_id())
    .bind(column(rows, |r| r.id))
    .bind(column(rows, |r| r.plot_id))
    .bind(column(rows, |r| r.contact_id))
    .bind(column(rows, |r| r.from_date))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// The schemes (within the user's scope) with their contracts, for finding an import row's scheme and contract.
pub async fn schemes_with_contracts(
    tx: &mut TenantTx,
    schemes: Option<&[Uuid]>,
) -> sqlx::Result<Vec<KnownScheme>> {
    let rows: Vec<(Uuid, String, Option<Uuid>, Option<String>)> = sqlx::query_as(
        "SELECT s.id, s.name, c.id, c.name
           FROM schemes s
           LEFT JOIN contracts c ON c.tenant_id = s.tenant_id AND c.scheme_id = s.id AND c.archived_at IS NULL
          WHERE s.tenant_id = $1 AND s.status = 'active' AND ($2::uuid[] IS NULL OR s.id = ANY($2))
          ORDER BY s.id, c.id",
    )
    .bind(tx.tenant_id())
    .bind(schemes)
    .fetch_all(&mut **tx)
    .await?;
    let mut out: Vec<KnownScheme> = Vec::new();
    for (id, name, contract_id, contract_name) in rows {
        if out.last().is_none_or(|s| s.id != id) {
            out.push(KnownScheme {
                id,
                name,
                contracts: Vec::new(),
            });
        }
        if let (Some(cid), Some(cname), Some(last)) = (contract_id, contract_name, out.last_mut()) {
            last.contracts.push((cid, cname));
        }
    }
    Ok(out)
}

/// Which of these (scheme, plot number) pairs already exist.
pub async fn taken_plot_numbers(
    tx: &mut TenantTx,
    keys: &[(Uuid, String)],
) -> sqlx::Result<HashSet<(Uuid, String)>> {
    if keys.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<(Uuid, String)> = sqlx::query_as(
        "SELECT p.scheme_id, p.plot_number
           FROM plots p
           JOIN unnest($2::uuid[], $3::text[]) AS k(scheme_id, plot_number)
             ON p.scheme_id = k.scheme_id AND p.plot_number = k.plot_number
          WHERE p.tenant_id = $1",
    )
    .bind(tx.tenant_id())
    .bind(column(keys, |k| k.0))
    .bind(column(keys, |k| k.1.clone()))
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Subcontractor companies (not archived), for finding a person's company by name.
pub async fn company_names(tx: &mut TenantTx) -> sqlx::Result<Vec<(Uuid, String)>> {
    sqlx::query_as(
        "SELECT id, name FROM contacts WHERE tenant_id = $1 AND kind = 'subcontractor_company' AND archived_at IS NULL ORDER BY id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

/// An upload's parsed rows, waiting for confirmation.
#[derive(Debug, sqlx::FromRow)]
pub struct Batch {
    pub id: Uuid,
    pub kind: String,
    pub file_name: String,
    pub row_count: i32,
    pub rows: serde_json::Value,
    pub created_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
}

/// How long an upload waits for confirmation.
const BATCH_HOURS: i32 = 24;

/// Keeps an upload's parsed rows; clears the tenant's uploads that were never confirmed and have expired.
pub async fn create_batch(
    tx: &mut TenantTx,
    kind: &str,
    file_name: &str,
    row_count: usize,
    rows: serde_json::Value,
    created_by: Uuid,
) -> sqlx::Result<Uuid> {
    sqlx::query(
        "DELETE FROM import_batches WHERE tenant_id = $1 AND completed_at IS NULL AND created_at < now() - make_interval(hours => $2)",
    )
    .bind(tx.tenant_id())
    .bind(BATCH_HOURS)
    .execute(&mut **tx)
    .await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO import_batches (tenant_id, id, kind, file_name, row_count, rows, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(kind)
    .bind(file_name)
    .bind(i32::try_from(row_count).unwrap_or(i32::MAX))
    .bind(rows)
    .bind(created_by)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// The user's own upload, unexpired, locked for confirmation (two clicks cannot both import it).
pub async fn find_batch_for_update(
    tx: &mut TenantTx,
    id: Uuid,
    created_by: Uuid,
) -> sqlx::Result<Option<Batch>> {
    sqlx::query_as::<_, Batch>(
        "SELECT id, kind, file_name, row_count, rows, created_at, completed_at
           FROM import_batches
          WHERE tenant_id = $1 AND id = $2 AND created_by = $3 AND created_at > now() - make_interval(hours => $4)
          FOR UPDATE",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(created_by)
    .bind(BATCH_HOURS)
    .fetch_optional(&mut **tx)
    .await
}

/// Marks an upload imported.
pub async fn complete_batch(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("UPDATE import_batches SET completed_at = now() WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A scheme to insert (for the demo and the generator).
#[derive(Debug, Clone, Default)]
pub struct NewScheme {
    pub id: Uuid,
    pub name: String,
    pub reference_code: String,
    pub address: String,
    pub region: String,
    pub site_manager: String,
    pub warranty_provider: String,
}

/// A contract to insert (for the demo and the generator).
#[derive(Debug, Clone, Default)]
pub struct NewContract {
    pub id: Uuid,
    pub scheme_id: Uuid,
    pub name: String,
    pub contract_type: String,
    pub client_contact_id: Option<Uuid>,
    pub defects_period_months: Option<i32>,
    pub start_date: Option<Date>,
}

/// Inserts schemes in one statement.
pub async fn insert_schemes(tx: &mut TenantTx, rows: &[NewScheme]) -> sqlx::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "INSERT INTO schemes (tenant_id, id, name, reference_code, address, region, site_manager, warranty_provider)
         SELECT $1, u.* FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS u",
    )
    .bind(tx.tenant_id())
    .bind(column(rows, |r| r.id))
    .bind(column(rows, |r| r.name.clone()))
    .bind(column(rows, |r| r.reference_code.clone()))
    .bind(column(rows, |r| r.address.clone()))
    .bind(column(rows, |r| r.region.clone()))
    .bind(column(rows, |r| r.site_manager.clone()))
    .bind(column(rows, |r| r.warranty_provider.clone()))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// The scheme called `name` given these details: the existing one (its details filled in) or a new one.
pub async fn upsert_scheme_by_name(tx: &mut TenantTx, scheme: &NewScheme) -> sqlx::Result<Uuid> {
    let existing: Option<Uuid> = sqlx::query_scalar(
        "SELECT id FROM schemes WHERE tenant_id = $1 AND name = $2 ORDER BY id LIMIT 1",
    )
    .bind(tx.tenant_id())
    .bind(&scheme.name)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(id) = existing else {
        insert_schemes(tx, std::slice::from_ref(scheme)).await?;
        return Ok(scheme.id);
    };
    sqlx::query(
        "UPDATE schemes SET reference_code = $3, address = $4, region = $5, site_manager = $6, warranty_provider = $7
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(&scheme.reference_code)
    .bind(&scheme.address)
    .bind(&scheme.region)
    .bind(&scheme.site_manager)
    .bind(&scheme.warranty_provider)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Inserts contracts in one statement.
pub async fn insert_contracts(tx: &mut TenantTx, rows: &[NewContract]) -> sqlx::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let done = sqlx::query(
        "INSERT INTO contracts (tenant_id, id, scheme_id, name, contract_type, client_contact_id, defects_period_months, start_date)
         SELECT $1, u.* FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::uuid[], $7::int4[], $8::date[]) AS u",
    )
    .bind(tx.tenant_id())
    .bind(column(rows, |r| r.id))
    .bind(column(rows, |r| r.scheme_id))
    .bind(column(rows, |r| r.name.clone()))
    .bind(column(rows, |r| r.contract_type.clone()))
    .bind(column(rows, |r| r.client_contact_id))
    .bind(column(rows, |r| r.defects_period_months))
    .bind(column(rows, |r| r.start_date))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Whether the tenant has any contract yet (the demo grows its records once).
pub async fn has_contracts(tx: &mut TenantTx) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM contracts WHERE tenant_id = $1)")
        .bind(tx.tenant_id())
        .fetch_one(&mut **tx)
        .await
}

/// The contact of this kind called `name`, if any (the demo finds the company it made before).
pub async fn contact_by_name(
    tx: &mut TenantTx,
    kind: &str,
    name: &str,
) -> sqlx::Result<Option<Uuid>> {
    sqlx::query_scalar("SELECT id FROM contacts WHERE tenant_id = $1 AND kind = $2 AND name = $3 ORDER BY id LIMIT 1")
        .bind(tx.tenant_id())
        .bind(kind)
        .bind(name)
        .fetch_optional(&mut **tx)
        .await
}

/// Fills in a company's details and trades (the demo's first company predates them).
pub async fn set_company_details(
    tx: &mut TenantTx,
    id: Uuid,
    emails: &[String],
    phones: &[String],
    address: &str,
    trades: &[String],
) -> sqlx::Result<()> {
    sqlx::query("UPDATE contacts SET emails = $3, phones = $4, address = $5, trades = $6 WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .bind(emails)
        .bind(phones)
        .bind(address)
        .bind(trades)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
