//! The tenant a request acts for, and the transaction that is bound to it.
//!
//! A [`TenantId`] can only be made by the auth extractor and the reviewed
//! paths in [`super::cross_tenant`]; every `db` function takes a
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
    pub async fn begin(pool: &PgPool, tenant: TenantId) -> sqlx::Result<Self> {
        let mut tx = pool.begin().await?;
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(tenant.0.to_string())
            .execute(&mut *tx)
            .await?;
        Ok(TenantTx { tx, tenant })
    }

    /// The tenant every query in this transaction must be scoped to.
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// The tenant's id, for binding as `$1`.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant.0
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await
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
