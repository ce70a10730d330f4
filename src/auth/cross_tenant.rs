//! The only paths that act across tenants. Review every change here.
//!
//! Each runs in a transaction with `app.cross_tenant = on` (transaction-local), which
//! only the `tenants`, `users`, `api_tokens` and `password_links` policies honour, and
//! which alone reveals `accounts` and `account_recovery_codes` (platform-level tables).
//! Nothing else in the application sets it.
//!
//! 1. Sign-in: find the account for an email (an email is one account across Plotcare)
//!    and its memberships ([`memberships`]: the tenants the person belongs to).
//! 2. API tokens: find the token for a presented secret's hash.
//! 3. Password links: find the link for a presented secret's hash.
//! 4. The tenant commands: create and list tenants.
//! 5. The job runner: claim ready jobs of every tenant ([`claim_jobs`]); each
//!    job then runs in a [`TenantTx`](super::TenantTx) of its own tenant. Schedule a
//!    periodic job for every tenant ([`enqueue_for_every_tenant`]).
//! 6. [`accounts`]: a person's one credential (password, second factor, recovery codes),
//!    reached through their membership in the caller's tenant transaction.

pub mod accounts;

use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::{mfa::MfaPolicy, tenancy::TenantId};
use crate::domain::{Email, Role};

async fn begin(pool: &PgPool) -> sqlx::Result<Transaction<'static, Postgres>> {
    let mut tx = crate::db::begin(pool, None).await?;
    sqlx::query("SELECT set_config('app.cross_tenant', 'on', true)")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// What sign-in needs to know about the owner of an email.
#[derive(Debug, sqlx::FromRow)]
pub struct SignInAccount {
    pub account_id: Uuid,
    pub password_hash: Option<String>,
    pub mfa_enabled: bool,
}

/// One of a person's memberships: a tenant they belong to, with their role there.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Membership {
    pub tenant_id: Uuid,
    pub tenant_name: String,
    /// Their `users` row in that tenant.
    pub user_id: Uuid,
    pub role: Role,
    /// The membership is enabled and the tenant active: it can be signed in to.
    pub active: bool,
    /// The person has joined (not only been invited).
    pub accepted: bool,
    /// The tenant's `mfa_required` policy.
    pub mfa_policy: String,
}

impl Membership {
    pub fn tenant(&self) -> TenantId {
        TenantId::trusted(self.tenant_id)
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether the tenant requires this member to use a second factor.
    pub fn requires_mfa(&self) -> bool {
        MfaPolicy::parse(&self.mfa_policy)
            .unwrap_or(MfaPolicy::Everyone)
            .requires(self.role())
    }
}

/// 1a. Sign-in lookup by email: the account and its memberships.
pub async fn account_for_sign_in(
    pool: &PgPool,
    email: &Email,
) -> sqlx::Result<Option<(SignInAccount, Vec<Membership>)>> {
    let mut tx = begin(pool).await?;
    let account = sqlx::query_as::<_, SignInAccount>(
        "SELECT id AS account_id, password_hash, mfa_enabled_at IS NOT NULL AS mfa_enabled
           FROM accounts WHERE email = $1",
    )
    .bind(email.as_str())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(account) = account else {
        tx.commit().await?;
        return Ok(None);
    };
    let memberships = memberships_in(&mut tx, account.account_id).await?;
    tx.commit().await?;
    Ok(Some((account, memberships)))
}

async fn memberships_in(
    tx: &mut sqlx::PgConnection,
    account: Uuid,
) -> sqlx::Result<Vec<Membership>> {
    sqlx::query_as::<_, Membership>(
        "SELECT u.tenant_id, t.name AS tenant_name, u.id AS user_id, u.role,
                (u.disabled_at IS NULL AND t.status = 'active') AS active,
                u.accepted_at IS NOT NULL AS accepted, t.mfa_required AS mfa_policy
           FROM users u JOIN tenants t ON t.id = u.tenant_id
          WHERE u.account_id = $1
          ORDER BY lower(t.name), t.id",
    )
    .bind(account)
    .fetch_all(tx)
    .await
}

/// 1b. The memberships of an account (to choose or switch a tenant), by tenant name.
pub async fn memberships(pool: &PgPool, account: Uuid) -> sqlx::Result<Vec<Membership>> {
    let mut tx = begin(pool).await?;
    let memberships = memberships_in(&mut tx, account).await?;
    tx.commit().await?;
    Ok(memberships)
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

/// A usable set-password link: whose, in which tenant, what for.
#[derive(Debug, sqlx::FromRow)]
pub struct PasswordLink {
    pub tenant_id: Uuid,
    pub link_id: Uuid,
    pub user_id: Uuid,
    /// "invitation" or "reset".
    pub purpose: String,
    pub tenant_name: String,
    /// The person's account already has a password (an invitation then only says how to join).
    pub has_password: bool,
}

impl PasswordLink {
    pub fn tenant(&self) -> TenantId {
        TenantId::trusted(self.tenant_id)
    }

    /// An invitation for someone who already signs in to Plotcare: it sets no password.
    pub fn only_joins(&self) -> bool {
        self.purpose == "invitation" && self.has_password
    }
}

/// 3. A usable password link: unused, unexpired, for an enabled membership of an active tenant.
pub async fn password_link(pool: &PgPool, token_hash: &[u8]) -> sqlx::Result<Option<PasswordLink>> {
    let mut tx = begin(pool).await?;
    let row = sqlx::query_as::<_, PasswordLink>(
        "SELECT l.tenant_id, l.id AS link_id, l.user_id, l.purpose, t.name AS tenant_name,
                a.password_hash IS NOT NULL AS has_password
           FROM password_links l
           JOIN users u ON u.tenant_id = l.tenant_id AND u.id = l.user_id
           JOIN accounts a ON a.id = u.account_id
           JOIN tenants t ON t.id = l.tenant_id
          WHERE l.token_hash = $1 AND l.used_at IS NULL AND l.expires_at > now()
            AND u.disabled_at IS NULL AND t.status = 'active'",
    )
    .bind(token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row)
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
    let account_id = Uuid::now_v7();
    let mut tx = crate::db::begin(pool, None).await?;
    // The new admin's account is the one platform-level row: written with the switch on.
    // A clash on accounts_email_key means the email already signs in to Plotcare.
    sqlx::query("SELECT set_config('app.cross_tenant', 'on', true)")
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO accounts (id, email, password_hash, password_changed_at) VALUES ($1, $2, $3, now())",
    )
    .bind(account_id)
    .bind(admin_email.as_str())
    .bind(password_hash)
    .execute(&mut *tx)
    .await?;
    // Then the new tenant's own id, not the switch: the other rows written are all its own.
    sqlx::query(
        "SELECT set_config('app.cross_tenant', '', true), set_config('app.tenant_id', $1, true)",
    )
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
        "INSERT INTO users (tenant_id, id, account_id, email, name, role, accepted_at)
         VALUES ($1, $2, $3, $4, $5, $6, now())",
    )
    .bind(tenant_id)
    .bind(user_id)
    .bind(account_id)
    .bind(admin_email.as_str())
    .bind(admin_name)
    .bind(Role::Admin.as_str())
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

/// 5. The job runner's schedule.
///
///    Enqueues a job of `kind` (empty payload) for every tenant that has none of that
///    kind waiting or running: the periodic jobs (the expiry of old exports), one per
///    tenant so each runs in its own tenant's transaction. How many were added.
pub async fn enqueue_for_every_tenant(pool: &PgPool, kind: &str) -> sqlx::Result<u64> {
    let mut tx = begin(pool).await?;
    let tenants: Vec<Uuid> = sqlx::query_scalar(
        "SELECT t.id FROM tenants t
          WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.tenant_id = t.id AND j.kind = $1
                               AND j.done_at IS NULL AND j.failed_at IS NULL)
          ORDER BY t.id",
    )
    .bind(kind)
    .fetch_all(&mut *tx)
    .await?;
    let ids: Vec<Uuid> = tenants.iter().map(|_| Uuid::now_v7()).collect();
    let added = sqlx::query(
        "INSERT INTO jobs (tenant_id, id, kind, payload)
         SELECT t, i, $3, '{}'::jsonb FROM unnest($1::uuid[], $2::uuid[]) AS x(t, i)",
    )
    .bind(&tenants)
    .bind(&ids)
    .bind(kind)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(added)
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
