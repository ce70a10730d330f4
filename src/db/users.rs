//! Users of a tenant: each a person's membership here (their account, the one credential
//! across Plotcare, is in `auth::cross_tenant::accounts`, which also adds people). Users are disabled, never
//! deleted, so the record of who did what stays.

use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    db::TenantTx,
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

/// The person's membership of this tenant, for `account` (see `auth::cross_tenant::accounts`).
pub async fn insert_membership(
    tx: &mut TenantTx,
    account: Uuid,
    user: &NewUser<'_>,
    accepted: bool,
) -> sqlx::Result<Option<Uuid>> {
    let id = Uuid::now_v7();
    let result = sqlx::query(
        "INSERT INTO users (tenant_id, id, account_id, email, name, role, subcontractor_company_id,
                            is_subcontractor_admin, accepted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $9 THEN now() END)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(account)
    .bind(user.email.as_str())
    .bind(user.name)
    .bind(user.role.as_str())
    .bind(user.company_id)
    .bind(user.is_company_admin)
    .bind(accepted)
    .execute(&mut **tx)
    .await;
    match result {
        Ok(_) => Ok(Some(id)),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("users_tenant_email_key") => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Whether someone in this tenant already uses `email`.
pub async fn email_taken(tx: &mut TenantTx, email: &Email) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = $1 AND email = $2)")
        .bind(tx.tenant_id())
        .bind(email.as_str())
        .fetch_one(&mut **tx)
        .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub subcontractor_company_id: Option<Uuid>,
    pub company_name: Option<String>,
    pub is_subcontractor_admin: bool,
    pub scheme_restricted: bool,
    /// The person has joined (set their password, or signed in and chose this tenant).
    pub accepted: bool,
    pub mfa_enrolled: bool,
    pub disabled_at: Option<OffsetDateTime>,
    pub created_at: OffsetDateTime,
}

impl UserRecord {
    pub fn role(&self) -> Role {
        self.role
    }
}

const COLUMNS: &str =
    "u.id, u.email, u.name, u.role, u.subcontractor_company_id, c.name AS company_name,
    u.is_subcontractor_admin, u.scheme_restricted, u.accepted_at IS NOT NULL AS accepted,
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

/// A record offered in a form's list: a company or a scheme.
#[derive(Debug, Clone, sqlx::FromRow, serde::Deserialize)]
pub struct Choice {
    pub id: Uuid,
    pub name: String,
}

/// The tenant's subcontractor companies, which subcontractor users belong to.
pub async fn companies(tx: &mut TenantTx) -> sqlx::Result<Vec<Choice>> {
    sqlx::query_as::<_, Choice>(
        "SELECT id, name FROM contacts WHERE tenant_id = $1 AND kind = 'subcontractor_company' ORDER BY lower(name), id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

/// Whether `id` is one of the tenant's subcontractor companies.
pub async fn company_exists(tx: &mut TenantTx, id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM contacts WHERE tenant_id = $1 AND id = $2 AND kind = 'subcontractor_company')",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .fetch_one(&mut **tx)
    .await
}

/// The tenant's schemes, by name.
pub async fn schemes(tx: &mut TenantTx) -> sqlx::Result<Vec<Choice>> {
    sqlx::query_as::<_, Choice>(
        "SELECT id, name FROM schemes WHERE tenant_id = $1 ORDER BY lower(name), id",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

/// The schemes a staff user is restricted to (when `scheme_restricted`), by name.
pub async fn user_schemes(tx: &mut TenantTx, user_id: Uuid) -> sqlx::Result<Vec<Choice>> {
    sqlx::query_as::<_, Choice>(
        "SELECT s.id, s.name FROM user_schemes us
           JOIN schemes s ON s.tenant_id = us.tenant_id AND s.id = us.scheme_id
          WHERE us.tenant_id = $1 AND us.user_id = $2
          ORDER BY lower(s.name), s.id",
    )
    .bind(tx.tenant_id())
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await
}

/// Sets a user's role and company. Scheme restriction only applies to staff, so it ends with another role.
pub async fn set_role(
    tx: &mut TenantTx,
    id: Uuid,
    role: Role,
    company_id: Option<Uuid>,
    is_company_admin: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET role = $3, subcontractor_company_id = $4, is_subcontractor_admin = $5,
                scheme_restricted = scheme_restricted AND $3 = 'staff'
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(role.as_str())
    .bind(company_id)
    .bind(is_company_admin)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Restricts a staff user to `scheme_ids` (ids not of this tenant's schemes are ignored), or lifts the restriction.
pub async fn set_schemes(
    tx: &mut TenantTx,
    id: Uuid,
    restricted: bool,
    scheme_ids: &[Uuid],
) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET scheme_restricted = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .bind(restricted)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM user_schemes WHERE tenant_id = $1 AND user_id = $2")
        .bind(tx.tenant_id())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO user_schemes (tenant_id, user_id, scheme_id)
         SELECT $1, $2, s.id FROM schemes s WHERE s.tenant_id = $1 AND s.id = ANY($3)",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(scheme_ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Disables (or enables again) a user. Ending their sessions is the caller's job, in the same transaction.
pub async fn set_disabled(tx: &mut TenantTx, id: Uuid, disabled: bool) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET disabled_at = CASE WHEN $3 THEN coalesce(disabled_at, now()) ELSE NULL END
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tx.tenant_id())
    .bind(id)
    .bind(disabled)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A new set-password link (its hash only), valid for `ttl`. Earlier unused links of the user stop working.
/// Returns when it expires.
pub async fn create_password_link(
    tx: &mut TenantTx,
    user_id: Uuid,
    token_hash: &[u8],
    ttl: time::Duration,
    purpose: LinkPurpose,
) -> sqlx::Result<OffsetDateTime> {
    sqlx::query(
        "UPDATE password_links SET expires_at = now()
          WHERE tenant_id = $1 AND user_id = $2 AND used_at IS NULL AND expires_at > now()",
    )
    .bind(tx.tenant_id())
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query_scalar(
        "INSERT INTO password_links (tenant_id, id, user_id, token_hash, expires_at, purpose)
         VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6)
         RETURNING expires_at",
    )
    .bind(tx.tenant_id())
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(token_hash)
    .bind(ttl.as_seconds_f64())
    .bind(purpose.as_str())
    .fetch_one(&mut **tx)
    .await
}

/// Uses up a set-password link. False if it was used or expired meanwhile.
pub async fn use_password_link(
    tx: &mut TenantTx,
    link_id: Uuid,
    user_id: Uuid,
) -> sqlx::Result<bool> {
    let used = sqlx::query(
        "UPDATE password_links SET used_at = now()
          WHERE tenant_id = $1 AND id = $2 AND user_id = $3 AND used_at IS NULL AND expires_at > now()",
    )
    .bind(tx.tenant_id())
    .bind(link_id)
    .bind(user_id)
    .execute(&mut **tx)
    .await?;
    Ok(used.rows_affected() == 1)
}

/// What a set-password link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Joining the tenant: sets the first password of a new account; for someone who
    /// already signs in to Plotcare it only says how to join.
    Invitation,
    /// A new password for someone who has one.
    Reset,
}

impl LinkPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Invitation => "invitation",
            LinkPurpose::Reset => "reset",
        }
    }
}
