//! Schemes (developments): archived, never deleted.

use time::OffsetDateTime;
use uuid::Uuid;

use super::scope::SchemeScope;
use crate::db::TenantTx;

/// Who backs the structural warranty of a scheme's homes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarrantyProvider {
    Nhbc,
    PremierGuarantee,
    LabcWarranty,
    Other,
}

impl WarrantyProvider {
    pub const ALL: [WarrantyProvider; 4] = [
        WarrantyProvider::Nhbc,
        WarrantyProvider::PremierGuarantee,
        WarrantyProvider::LabcWarranty,
        WarrantyProvider::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WarrantyProvider::Nhbc => "nhbc",
            WarrantyProvider::PremierGuarantee => "premier_guarantee",
            WarrantyProvider::LabcWarranty => "labc_warranty",
            WarrantyProvider::Other => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            WarrantyProvider::Nhbc => "NHBC",
            WarrantyProvider::PremierGuarantee => "Premier Guarantee",
            WarrantyProvider::LabcWarranty => "LABC Warranty",
            WarrantyProvider::Other => "Other",
        }
    }

    pub fn parse(value: &str) -> Option<WarrantyProvider> {
        WarrantyProvider::ALL
            .into_iter()
            .find(|p| p.as_str() == value)
    }

    /// The label of a stored value.
    pub fn label_of(value: &str) -> &'static str {
        WarrantyProvider::parse(value).map_or("Other", WarrantyProvider::label)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Scheme {
    pub id: Uuid,
    pub name: String,
    pub reference_code: Option<String>,
    pub address: String,
    pub region: String,
    /// "active" or "archived".
    pub status: String,
    pub warranty_provider: String,
    pub warranty_months: i32,
    pub sla_enabled: bool,
    pub site_manager: String,
    pub created_at: OffsetDateTime,
}

impl Scheme {
    pub fn is_archived(&self) -> bool {
        self.status == "archived"
    }
}

/// The fields of the scheme form, checked.
#[derive(Debug, Clone)]
pub struct SchemeInput {
    pub name: String,
    pub reference_code: Option<String>,
    pub address: String,
    pub region: String,
    pub warranty_provider: WarrantyProvider,
    pub warranty_months: i32,
    pub sla_enabled: bool,
    pub site_manager: String,
}

const COLUMNS: &str =
    "s.id, s.name, s.reference_code, s.address, s.region, s.status, s.warranty_provider,
    s.warranty_months, s.sla_enabled, s.site_manager, s.created_at";

const REFERENCE_CLASH: &str = "schemes_reference";

/// Inserts a scheme. A reference code already used in the tenant answers `Ok(None)`.
pub async fn insert(tx: &mut TenantTx, input: &SchemeInput) -> sqlx::Result<Option<Uuid>> {
    let id = Uuid::now_v7();
    let result = sqlx::query(
        "INSERT INTO schemes (tenant_id, id, name, reference_code, address, region, warranty_provider,
                              warranty_months, sla_enabled, site_manager)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(&input.name)
    .bind(input.reference_code.as_deref())
    .bind(&input.address)
    .bind(&input.region)
    .bind(input.warranty_provider.as_str())
    .bind(input.warranty_months)
    .bind(input.sla_enabled)
    .bind(&input.site_manager)
    .execute(&mut **tx)
    .await;
    match result {
        Ok(_) => Ok(Some(id)),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some(REFERENCE_CLASH) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Saves the form's fields. A reference code already used answers `Ok(false)`.
pub async fn update(tx: &mut TenantTx, id: Uuid, input: &SchemeInput) -> sqlx::Result<bool> {
    let result = sqlx::query(
        "UPDATE schemes SET name = $3, reference_code = $4, address = $5, region = $6, warranty_provider = $7,
                warranty_months = $8, sla_enabled = $9, site_manager = $10
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(&input.name)
    .bind(input.reference_code.as_deref())
    .bind(&input.address)
    .bind(&input.region)
    .bind(input.warranty_provider.as_str())
    .bind(input.warranty_months)
    .bind(input.sla_enabled)
    .bind(&input.site_manager)
    .execute(&mut **tx)
    .await;
    match result {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some(REFERENCE_CLASH) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A scheme the user's scope reaches.
pub async fn find(
    tx: &mut TenantTx,
    scope: &SchemeScope,
    id: Uuid,
) -> sqlx::Result<Option<Scheme>> {
    sqlx::query_as::<_, Scheme>(&format!(
        "SELECT {COLUMNS} FROM schemes s
          WHERE s.tenant_id = $1 AND s.id = $2 AND ($3::uuid[] IS NULL OR s.id = ANY($3))"
    ))
    .bind(tx.tenant_id())
    .bind(id)
    .bind(scope.as_filter())
    .fetch_optional(&mut **tx)
    .await
}

/// Archives ("archived") or restores ("active") a scheme.
pub async fn set_status(tx: &mut TenantTx, id: Uuid, status: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE schemes SET status = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .bind(status)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The order of the scheme list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchemeSort {
    #[default]
    Name,
    Reference,
    Region,
}

impl SchemeSort {
    pub const ALL: [SchemeSort; 3] = [SchemeSort::Name, SchemeSort::Reference, SchemeSort::Region];

    pub fn as_str(self) -> &'static str {
        match self {
            SchemeSort::Name => "name",
            SchemeSort::Reference => "reference",
            SchemeSort::Region => "region",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SchemeSort::Name => "Name",
            SchemeSort::Reference => "Reference",
            SchemeSort::Region => "Region",
        }
    }

    pub fn parse(value: &str) -> SchemeSort {
        SchemeSort::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
            .unwrap_or_default()
    }

    /// The text the list is ordered by (then the id); `Name` matches the `schemes_name` index.
    fn key(self) -> &'static str {
        match self {
            SchemeSort::Name => "lower(s.name)",
            SchemeSort::Reference => "lower(coalesce(s.reference_code, ''))",
            SchemeSort::Region => "lower(s.region) || '|' || lower(s.name)",
        }
    }
}

/// The scheme list's search, filters, order and page.
#[derive(Debug, Clone, Default)]
pub struct SchemeFilter {
    /// Part of the name or reference code.
    pub search: Option<String>,
    /// "active", "archived", or None for both.
    pub status: Option<String>,
    pub region: Option<String>,
    pub sort: SchemeSort,
    /// Keyset: rows after this (sort key, id).
    pub after: Option<(String, Uuid)>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SchemeRow {
    pub id: Uuid,
    pub name: String,
    pub reference_code: Option<String>,
    pub region: String,
    pub status: String,
    pub warranty_provider: String,
    pub contract_count: i64,
    pub plot_count: i64,
    pub sort_key: String,
}

/// One page of schemes (`limit` rows at most), in `filter.sort` order.
pub async fn list(
    tx: &mut TenantTx,
    scope: &SchemeScope,
    filter: &SchemeFilter,
    limit: i64,
) -> sqlx::Result<Vec<SchemeRow>> {
    let key = filter.sort.key();
    sqlx::query_as::<_, SchemeRow>(&format!(
        "SELECT s.id, s.name, s.reference_code, s.region, s.status, s.warranty_provider,
                (SELECT count(*) FROM contracts c WHERE c.tenant_id = $1 AND c.scheme_id = s.id) AS contract_count,
                (SELECT count(*) FROM plots p WHERE p.tenant_id = $1 AND p.scheme_id = s.id) AS plot_count,
                {key} AS sort_key
           FROM schemes s
          WHERE s.tenant_id = $1
            AND ($2::uuid[] IS NULL OR s.id = ANY($2))
            AND ($3::text IS NULL OR s.name ILIKE $3 OR s.reference_code ILIKE $3)
            AND ($4::text IS NULL OR s.status = $4)
            AND ($5::text IS NULL OR s.region = $5)
            AND ($6::text IS NULL OR ({key}, s.id) > ($6, $7::uuid))
          ORDER BY {key}, s.id
          LIMIT $8"
    ))
    .bind(tx.tenant_id())
    .bind(scope.as_filter())
    .bind(filter.search.as_deref().map(contains_pattern))
    .bind(filter.status.as_deref())
    .bind(filter.region.as_deref())
    .bind(filter.after.as_ref().map(|a| a.0.as_str()))
    .bind(filter.after.as_ref().map(|a| a.1))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// The regions in use, for the list's filter.
pub async fn regions(tx: &mut TenantTx, scope: &SchemeScope) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT DISTINCT region FROM schemes
          WHERE tenant_id = $1 AND region <> '' AND ($2::uuid[] IS NULL OR id = ANY($2))
          ORDER BY region",
    )
    .bind(tx.tenant_id())
    .bind(scope.as_filter())
    .fetch_all(&mut **tx)
    .await
}

/// Every scheme the scope reaches, by name (for filters).
pub async fn choices(
    tx: &mut TenantTx,
    scope: &SchemeScope,
) -> sqlx::Result<Vec<super::users::Choice>> {
    sqlx::query_as::<_, super::users::Choice>(
        "SELECT id, name FROM schemes
          WHERE tenant_id = $1 AND ($2::uuid[] IS NULL OR id = ANY($2))
          ORDER BY lower(name), id",
    )
    .bind(tx.tenant_id())
    .bind(scope.as_filter())
    .fetch_all(&mut **tx)
    .await
}

/// `%text%` for ILIKE, with the user's `%`, `_` and `\` taken literally.
pub fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_patterns_take_wildcards_literally() {
        assert_eq!(contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }

    #[test]
    fn providers_have_friendly_labels() {
        assert_eq!(
            WarrantyProvider::label_of("premier_guarantee"),
            "Premier Guarantee"
        );
        assert_eq!(
            WarrantyProvider::parse("labc_warranty"),
            Some(WarrantyProvider::LabcWarranty)
        );
        assert_eq!(WarrantyProvider::parse("bogus"), None);
    }
}
