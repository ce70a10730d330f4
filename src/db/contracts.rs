//! Contracts within a scheme: a phase, or the affordable homes sold to a housing association.

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::scope::SchemeScope;
use super::users::Choice;
use crate::db::TenantTx;

/// How the homes of a contract are sold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractType {
    PrivateSale,
    Affordable,
    BuildToRent,
}

impl ContractType {
    pub const ALL: [ContractType; 3] = [
        ContractType::PrivateSale,
        ContractType::Affordable,
        ContractType::BuildToRent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContractType::PrivateSale => "private_sale",
            ContractType::Affordable => "affordable",
            ContractType::BuildToRent => "build_to_rent",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ContractType::PrivateSale => "Private sale",
            ContractType::Affordable => "Affordable or social",
            ContractType::BuildToRent => "Build to rent",
        }
    }

    pub fn parse(value: &str) -> Option<ContractType> {
        ContractType::ALL.into_iter().find(|t| t.as_str() == value)
    }

    pub fn label_of(value: &str) -> &'static str {
        ContractType::parse(value).map_or("Private sale", ContractType::label)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Contract {
    pub id: Uuid,
    pub scheme_id: Uuid,
    pub scheme_name: String,
    pub name: String,
    pub contract_type: String,
    pub client_contact_id: Option<Uuid>,
    pub client_name: Option<String>,
    pub defects_period_months: Option<i32>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
    pub archived_at: Option<OffsetDateTime>,
    pub scheme_warranty_months: i32,
}

/// The fields of the contract form, checked.
#[derive(Debug, Clone)]
pub struct ContractInput {
    pub name: String,
    pub contract_type: ContractType,
    pub client_contact_id: Option<Uuid>,
    pub defects_period_months: Option<i32>,
    pub start_date: Option<Date>,
    pub end_date: Option<Date>,
}

pub async fn insert(
    tx: &mut TenantTx,
    scheme_id: Uuid,
    input: &ContractInput,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO contracts (tenant_id, id, scheme_id, name, contract_type, client_contact_id,
                                defects_period_months, start_date, end_date)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(scheme_id)
    .bind(&input.name)
    .bind(input.contract_type.as_str())
    .bind(input.client_contact_id)
    .bind(input.defects_period_months)
    .bind(input.start_date)
    .bind(input.end_date)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

pub async fn update(tx: &mut TenantTx, id: Uuid, input: &ContractInput) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE contracts SET name = $3, contract_type = $4, client_contact_id = $5, defects_period_months = $6,
                start_date = $7, end_date = $8
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(&input.name)
    .bind(input.contract_type.as_str())
    .bind(input.client_contact_id)
    .bind(input.defects_period_months)
    .bind(input.start_date)
    .bind(input.end_date)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A contract whose scheme the user's scope reaches.
pub async fn find(
    tx: &mut TenantTx,
    scope: &SchemeScope,
    id: Uuid,
) -> sqlx::Result<Option<Contract>> {
    sqlx::query_as::<_, Contract>(
        "SELECT c.id, c.scheme_id, s.name AS scheme_name, c.name, c.contract_type, c.client_contact_id,
                cl.name AS client_name, c.defects_period_months, c.start_date, c.end_date, c.archived_at,
                s.warranty_months AS scheme_warranty_months
           FROM contracts c
           JOIN schemes s ON s.tenant_id = c.tenant_id AND s.id = c.scheme_id
           LEFT JOIN contacts cl ON cl.tenant_id = c.tenant_id AND cl.id = c.client_contact_id
          WHERE c.tenant_id = $1 AND c.id = $2 AND ($3::uuid[] IS NULL OR c.scheme_id = ANY($3))",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(scope.as_filter())
    .fetch_optional(&mut **tx)
    .await
}

/// A contract as its scheme's page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContractSummary {
    pub id: Uuid,
    pub name: String,
    pub contract_type: String,
    pub client_name: Option<String>,
    pub defects_period_months: Option<i32>,
    pub archived_at: Option<OffsetDateTime>,
    pub plot_count: i64,
}

/// A scheme's contracts, by name, with how many plots each has.
pub async fn for_scheme(
    tx: &mut TenantTx,
    scope: &SchemeScope,
    scheme_id: Uuid,
) -> sqlx::Result<Vec<ContractSummary>> {
    sqlx::query_as::<_, ContractSummary>(
        "SELECT c.id, c.name, c.contract_type, cl.name AS client_name, c.defects_period_months, c.archived_at,
                (SELECT count(*) FROM plots p WHERE p.tenant_id = $1 AND p.contract_id = c.id) AS plot_count
           FROM contracts c
           LEFT JOIN contacts cl ON cl.tenant_id = c.tenant_id AND cl.id = c.client_contact_id
          WHERE c.tenant_id = $1 AND c.scheme_id = $2 AND ($3::uuid[] IS NULL OR c.scheme_id = ANY($3))
          ORDER BY c.archived_at IS NOT NULL, lower(c.name), c.id",
    )
    .bind(tx.tenant_id())
    .bind(scheme_id)
    .bind(scope.as_filter())
    .fetch_all(&mut **tx)
    .await
}

/// Archives (or restores) a contract.
pub async fn set_archived(tx: &mut TenantTx, id: Uuid, archived: bool) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE contracts SET archived_at = CASE WHEN $3 THEN coalesce(archived_at, now()) ELSE NULL END
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(archived)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Housing associations and other clients, for the contract form.
pub async fn clients(tx: &mut TenantTx) -> sqlx::Result<Vec<Choice>> {
    sqlx::query_as::<_, Choice>(
        "SELECT id, name FROM contacts
          WHERE tenant_id = $1 AND kind = 'client' AND archived_at IS NULL
          ORDER BY lower(name), id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

/// Whether `id` is one of the tenant's client contacts.
pub async fn client_exists(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM contacts WHERE tenant_id = $1 AND id = $2 AND kind = 'client')")
        .bind(tx.tenant_id())
        .bind(id)
        .fetch_one(&mut **tx)
        .await
}

/// Every contract the scope reaches, "Scheme: Contract", for filters.
pub async fn choices(tx: &mut TenantTx, scope: &SchemeScope) -> sqlx::Result<Vec<Choice>> {
    sqlx::query_as::<_, Choice>(
        "SELECT c.id, s.name || ': ' || c.name AS name
           FROM contracts c
           JOIN schemes s ON s.tenant_id = c.tenant_id AND s.id = c.scheme_id
          WHERE c.tenant_id = $1 AND ($2::uuid[] IS NULL OR c.scheme_id = ANY($2))
          ORDER BY lower(s.name), lower(c.name), c.id",
    )
    .bind(tx.tenant_id())
    .bind(scope.as_filter())
    .fetch_all(&mut **tx)
    .await
}
