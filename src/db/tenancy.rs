//! The tenant a request acts for, and the transaction that is bound to it.
//!
//! A [`TenantId`] can only be made by the auth extractor and the reviewed
//! paths in [`crate::auth::cross_tenant`]; every `db` function takes a
//! [`TenantTx`], so a query that forgets its tenant does not compile. The
//! transaction also sets `app.tenant_id` (transaction-local), so PostgreSQL's
//! row-level security hides every other tenant's rows even from a query
//! that forgot its `WHERE tenant_id = $1`.

use std::{
    fmt,
    ops::{Deref, DerefMut},
};

use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

/// A tenant id that came from a trusted source (the session, an API token, or a reviewed command).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantId(Uuid);

impl TenantId {
    /// Only for the auth extractor and `cross_tenant`: never from request input.
    pub(crate) fn trusted(id: Uuid) -> Self {
        TenantId(id)
    }
    pub fn uuid(self) -> Uuid {
        self.0
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A transaction acting for one tenant. Commit it, or it rolls back when dropped.
pub struct TenantTx {
    tx: Transaction<'static, Postgres>,
    tenant: TenantId,
}

impl TenantTx {
    /// Each statement is planned for its own values: list filters are optional, and a
    /// plan made once for any values would ignore the indexes they could use.
    pub async fn begin(pool: &PgPool, tenant: TenantId) -> sqlx::Result<Self> {
        Self::begin_setting(
            pool,
            tenant,
            "SET LOCAL plan_cache_mode = force_custom_plan",
        )
        .await
    }

    /// Like [`TenantTx::begin`], for statements whose values never change how they are
    /// best run (no optional filters, no search words): PostgreSQL may then plan each one
    /// once per connection and reuse the plan (its default, `plan_cache_mode = auto`),
    /// instead of planning it again for every request.
    pub async fn begin_reusing_plans(pool: &PgPool, tenant: TenantId) -> sqlx::Result<Self> {
        Self::begin_setting(pool, tenant, "").await
    }

    /// One round trip: BEGIN, the tenant and `settings`. The tenant id is a parsed UUID
    /// (hex and hyphens only), so it is safe to write into the statement; it lasts until
    /// this transaction ends.
    async fn begin_setting(pool: &PgPool, tenant: TenantId, settings: &str) -> sqlx::Result<Self> {
        let tx = crate::db::begin(
            pool,
            Some(format!(
                "BEGIN; SET LOCAL app.tenant_id = '{}'; {settings}",
                tenant.0.hyphenated()
            )),
        )
        .await?;
        Ok(TenantTx { tx, tenant })
    }

    /// A read-only transaction that sees the snapshot another transaction exported
    /// (`pg_export_snapshot()`), so several connections read one consistent moment.
    /// It is for long reads (a data export): its statements have no time limit, sort up
    /// to 64 MB in memory (fewer passes on disk when a sheet is sorted), are not JIT-compiled
    /// (compiling costs more than it saves on a streamed read) and use no parallel
    /// workers (the export already reads on several connections). Random page reads are
    /// costed as on an SSD, so a sheet's id range is read by its primary key, not by
    /// scanning the whole table.
    pub async fn begin_in_snapshot(
        pool: &PgPool,
        tenant: TenantId,
        snapshot: &str,
    ) -> sqlx::Result<Self> {
        // Snapshot ids are hex digits and hyphens; anything else is refused, not quoted.
        if snapshot.is_empty() || !snapshot.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(sqlx::Error::Protocol(format!(
                "not a snapshot id: {snapshot:?}"
            )));
        }
        // BEGIN alone first: were the settings sent with it and one of them failed (a
        // snapshot no longer there), the connection would go back to the pool inside an
        // aborted transaction. Sent after it, a failure rolls back with the transaction.
        let mut tx = crate::db::begin(
            pool,
            Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY".into()),
        )
        .await?;
        let settings = format!(
            "SET TRANSACTION SNAPSHOT '{snapshot}'; \
             SET LOCAL statement_timeout = 0; \
             SET LOCAL plan_cache_mode = force_custom_plan; \
             SET LOCAL jit = off; \
             SET LOCAL work_mem = '64MB'; \
             SET LOCAL max_parallel_workers_per_gather = 0; \
             SET LOCAL random_page_cost = 1.1; \
             SET LOCAL app.tenant_id = '{}'",
            tenant.0.hyphenated()
        );
        sqlx::Executor::execute(&mut *tx, settings.as_str()).await?;
        Ok(TenantTx { tx, tenant })
    }

    /// Lifts the statement time limit for the rest of this transaction: for bulk work
    /// (the data generator), never for a request.
    pub async fn allow_long_statements(&mut self) -> sqlx::Result<()> {
        sqlx::query("SET LOCAL statement_timeout = 0")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Acts for `tenant` from here on, in the same transaction: only for the reviewed
    /// cross-tenant paths that change one person's memberships in several tenants at
    /// once (a password change ends their sessions in each). They switch back before
    /// returning; on an error the transaction is rolled back anyway.
    pub(crate) async fn switch_tenant(&mut self, tenant: TenantId) -> sqlx::Result<()> {
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(tenant.0.hyphenated().to_string())
            .execute(&mut *self.tx)
            .await?;
        self.tenant = tenant;
        Ok(())
    }

    /// The tenant every query in this transaction must be scoped to.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The tenant's id, for binding as `$1`.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant.0
    }

    /// Commits; from then on the request answers as the change succeeded, whatever saving
    /// its session says ([`crate::outage`]).
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await?;
        crate::outage::mark_committed();
        Ok(())
    }
}

impl Deref for TenantTx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl DerefMut for TenantTx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}
