//! Users of a tenant. Users are disabled, never deleted, so the record of who did what stays.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    auth::TenantTx,
    domain::{Email, Role},
};

/// What it takes to make a user.
#[derive(Debug)]
pub struct NewUser<'a> {
    pub email: &'a Email,
    pub name: &'a str,
    pub role: Role,
    pub company_id: Option<Uuid>,
    pub is_company_admin: bool,
    /// An argon2id hash, or None for an invited user who will set their own.
    pub password_hash: Option<&'a str>,
}

/// Inserts a user. A clash on the email (unique across Plotcare) answers `Ok(None)`.
pub async fn insert(tx: &mut TenantTx, user: &NewUser<'_>) -> sqlx::Result<Option<Uuid>> {
    let id = Uuid::now_v7();
    let result = sqlx::query(
        "INSERT INTO users (tenant_id, id, email, name, role, subcontractor_company_id, is_subcontractor_admin,
                            password_hash, password_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $8 IS NULL THEN NULL ELSE now() END)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(user.email.as_str())
    .bind(user.name)
    .bind(user.role.as_str())
    .bind(user.company_id)
    .bind(user.is_company_admin)
    .bind(user.password_hash)
    .execute(&mut **tx)
    .await;
    match result {
        Ok(_) => Ok(Some(id)),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("users_email_key") => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub subcontractor_company_id: Option<Uuid>,
    pub company_name: Option<String>,
    pub is_subcontractor_admin: bool,
    pub scheme_restricted: bool,
    pub has_password: bool,
    pub mfa_enrolled: bool,
    pub disabled_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl UserRecord {
    pub fn role(&self) -> Role {
        self.role.parse().unwrap_or(Role::Emergency)
    }
}

const COLUMNS: &str = "u.id, u.email, u.name, u.role, u.subcontractor_company_id, c.name AS company_name,
    u.is_subcontractor_admin, u.scheme_restricted, u.password_hash IS NOT NULL AS has_password,
    u.mfa_enabled_at IS NOT NULL AS mfa_enrolled, u.disabled_at, u.created_at";

pub async fn find(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<Option<UserRecord>> {
    sqlx::query_as::<_, UserRecord>(&format!(
        "SELECT {COLUMNS} FROM users u
           LEFT JOIN contacts c ON c.tenant_id = u.tenant_id AND c.id = u.subcontractor_company_id
          WHERE u.tenant_id = $1 AND u.id = $2"
    ))
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// The tenant's users (or one company's), by name.
pub async fn list(tx: &mut TenantTx, company: Option<Uuid>) -> sqlx::Result<Vec<UserRecord>> {
    sqlx::query_as::<_, UserRecord>(&format!(
        "SELECT {COLUMNS} FROM users u
           LEFT JOIN contacts c ON c.tenant_id = u.tenant_id AND c.id = u.subcontractor_company_id
          WHERE u.tenant_id = $1 AND ($2::uuid IS NULL OR u.subcontractor_company_id = $2)
          ORDER BY u.disabled_at IS NOT NULL, lower(u.name), u.id"
    ))
    .bind(tx.tenant_id())
    .bind(company)
    .fetch_all(&mut **tx)
    .await
}
