//! The only paths that act across tenants. Review every change here.
//!
//! Each runs in its own transaction with `app.cross_tenant = on`
//! (transaction-local), which only the `tenants`, `users`, `api_tokens` and
//! `password_links` policies honour. Nothing else in the application sets it.
//!
//! 1. Sign-in: find the account for an email (the email is unique across Plotcare).
//! 2. API tokens: find the token for a presented secret's hash.
//! 3. Password links: find the link for a presented secret's hash.
//! 4. The tenant commands: create and list tenants.
//! 5. The job runner: claim ready jobs of every tenant ([`claim_jobs`]); each
//!    job then runs in a [`TenantTx`](super::TenantTx) of its own tenant.

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::tenancy::TenantId;
use crate::domain::{Email, Role};

async fn begin(pool: &PgPool) -> sqlx::Result<Transaction<'static, Postgres>> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('app.cross_tenant', 'on', true)")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// What sign-in needs to know about the owner of an email.
#[derive(Debug, sqlx::FromRow)]
pub struct SignInAccount {
    pub tenant_id: Uuid,
    pub user_id: Uuid,
    pub password_hash: Option<String>,
    pub mfa_enabled: bool,
    pub role: String,
    /// Neither the user is disabled nor the tenant terminated.
    pub active: bool,
    /// The tenant's `mfa_required` policy.
    pub mfa_policy: String,
}

impl SignInAccount {
    pub fn tenant(&self) -> TenantId {
        TenantId::trusted(self.tenant_id)
    }

    /// Must set up a second factor before anything else.
    pub fn must_set_up_mfa(&self) -> bool {
        let policy = super::mfa::MfaPolicy::parse(&self.mfa_policy)
            .unwrap_or(super::mfa::MfaPolicy::Everyone);
        let role = self.role.parse().unwrap_or(Role::Emergency);
        !self.mfa_enabled && policy.requires(role)
    }
}

/// 1. Sign-in lookup by email.
pub async fn account_for_sign_in(
    pool: &PgPool,
    email: &Email,
) -> sqlx::Result<Option<SignInAccount>> {
    let mut tx = begin(pool).await?;
    let account = sqlx::query_as::<_, SignInAccount>(
        "SELECT u.tenant_id, u.id AS user_id, u.password_hash,
                u.mfa_enabled_at IS NOT NULL AS mfa_enabled, u.role,
                (u.disabled_at IS NULL AND t.status = 'active') AS active,
                t.mfa_required AS mfa_policy
           FROM users u JOIN tenants t ON t.id = u.tenant_id
          WHERE u.email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(account)
}

/// A live API token: whose it is, in which tenant, and what it may do.
#[derive(Debug)]
pub struct TokenOwner {
    pub tenant: TenantId,
    pub token_id: Uuid,
    pub user_id: Uuid,
    pub scopes: super::tokens::Scopes,
}

/// 2. The owner of an API token, if the token is live: not revoked, not expired, its
///    user enabled and its tenant active. Also notes its use (at most once a minute).
pub async fn api_token_owner(pool: &PgPool, token_hash: &[u8]) -> sqlx::Result<Option<TokenOwner>> {
    let mut tx = begin(pool).await?;
    let row: Option<(Uuid, Uuid, Uuid, Vec<String>)> = sqlx::query_as(
        "UPDATE api_tokens k
            SET last_used_at = CASE WHEN k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute'
                                    THEN now() ELSE k.last_used_at END
           FROM users u, tenants t
          WHERE k.token_hash = $1 AND k.revoked_at IS NULL
            AND (k.expires_at IS NULL OR k.expires_at > now())
            AND u.tenant_id = k.tenant_id AND u.id = k.user_id AND u.disabled_at IS NULL
            AND t.id = k.tenant_id AND t.status = 'active'
      RETURNING k.tenant_id, k.id, k.user_id, k.scopes",
    )
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|(tenant, token_id, user_id, scopes)| TokenOwner {
        tenant: TenantId::trusted(tenant),
        token_id,
        user_id,
        scopes: super::tokens::Scopes::from_words(&scopes),
    }))
}

/// 3. A usable password link: unused, unexpired, for an enabled user of an active tenant.
pub async fn password_link(
    pool: &PgPool,
    token_hash: &[u8],
) -> sqlx::Result<Option<(TenantId, Uuid, Uuid)>> {
    let mut tx = begin(pool).await?;
    let row: Option<(Uuid, Uuid, Uuid)> = sqlx::query_as(
        "SELECT l.tenant_id, l.id, l.user_id
           FROM password_links l
           JOIN users u ON u.tenant_id = l.tenant_id AND u.id = l.user_id
           JOIN tenants t ON t.id = l.tenant_id
          WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > now()
            AND u.disabled_at IS NULL AND t.status = 'active'",
    )
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(|(tenant, link, user)| (TenantId::trusted(tenant), link, user)))
}

#[derive(Debug, sqlx::FromRow)]
pub struct TenantSummary {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub status: String,
    pub data_region: String,
    pub created_at: time::OffsetDateTime,
    pub users: i64,
}

/// 4a. Every tenant, for `plotcare tenant list`.
pub async fn list_tenants(pool: &PgPool) -> sqlx::Result<Vec<TenantSummary>> {
    let mut tx = begin(pool).await?;
    let rows = sqlx::query_as::<_, TenantSummary>(
        "SELECT t.id, t.slug, t.name, t.status, t.data_region, t.created_at,
                (SELECT count(*) FROM users u WHERE u.tenant_id = t.id) AS users
           FROM tenants t ORDER BY t.slug",
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows)
}

/// 4b. The tenant with this slug, for commands that act on one tenant.
pub async fn tenant_by_slug(pool: &PgPool, slug: &str) -> sqlx::Result<Option<TenantId>> {
    let mut tx = begin(pool).await?;
    let id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = $1")
        .bind(slug)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(id.map(TenantId::trusted))
}

/// 4c. A new tenant and its first admin, in one transaction with the audit record.
pub async fn create_tenant(
    pool: &PgPool,
    slug: &crate::domain::Slug,
    name: &str,
    admin_email: &Email,
    admin_name: &str,
    password_hash: &str,
) -> sqlx::Result<(TenantId, Uuid)> {
    let tenant_id = Uuid::now_v7();
    let user_id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    // The new tenant's own id, not the cross-tenant switch: the rows written are all its own.
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant_id.to_string())
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO tenants (id, slug, name) VALUES ($1, $2, $3)")
        .bind(tenant_id)
        .bind(slug.as_str())
        .bind(name)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO users (tenant_id, id, email, name, role, password_hash, password_changed_at)
         VALUES ($1, $2, $3, $4, $5, $6, now())",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(admin_email.as_str())
    .bind(admin_name)
    .bind(Role::Admin.as_str())
    .bind(password_hash)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO audit_events (tenant_id, id, action, record_type, record_id, changes)
         VALUES ($1, $2, 'tenant.created', 'tenant', $1, $3),
                ($1, $4, 'user.created', 'user', $5, $6)",
    )
    .bind(tenant_id)
    .bind(Uuid::now_v7())
    .bind(serde_json::json!({ "slug": { "after": slug.as_str() }, "name": { "after": name }, "via": "plotcare tenant create" }))
    .bind(Uuid::now_v7())
    .bind(user_id)
    .bind(serde_json::json!({ "email": { "after": admin_email.as_str() }, "role": { "after": "admin" } }))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((TenantId::trusted(tenant_id), user_id))
}

/// 5. The job runner's claim.
///
///    Up to `limit` ready jobs of any tenant, leased to `worker` for `lease`
///    (a worker that dies lets go when the lease ends).
///    `FOR UPDATE SKIP LOCKED` means two workers never claim the same job; the
///    lease (`locked_until`) keeps it theirs after this transaction commits.
///    Only the claim crosses tenants: each job then runs in its own tenant's
///    transaction, and finishing it checks that this worker's claim still holds.
pub async fn claim_jobs(
    pool: &PgPool,
    worker: &str,
    lease: std::time::Duration,
    limit: i64,
) -> sqlx::Result<Vec<(TenantId, crate::db::jobs::Job)>> {
    let mut tx = begin(pool).await?;
    let jobs = sqlx::query_as::<_, crate::db::jobs::Job>(
        "WITH ready AS MATERIALIZED (
             SELECT tenant_id, id FROM jobs
              WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= now()
                AND (locked_until IS NULL OR locked_until < now())
              ORDER BY run_at
              LIMIT $3
                FOR UPDATE SKIP LOCKED)
         UPDATE jobs j
            SET locked_until = now() + make_interval(secs => $2), locked_by = $1, attempts = j.attempts + 1
           FROM ready
          WHERE j.tenant_id = ready.tenant_id AND j.id = ready.id
      RETURNING j.tenant_id, j.id, j.kind, j.payload, j.attempts, j.max_attempts",
    )
    .bind(worker)
    .bind(lease.as_secs_f64())
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(jobs
        .into_iter()
        .map(|job| (TenantId::trusted(job.tenant_id), job))
        .collect())
}
