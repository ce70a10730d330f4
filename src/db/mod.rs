//! Database access: the pool, migrations, and one module per aggregate.
//!
//! Every query on tenant-owned data runs inside a [`TenantTx`](crate::db::TenantTx),
//! which sets `app.tenant_id` for the transaction so PostgreSQL's row-level
//! security applies as well as the `WHERE tenant_id = $1` in each query.

use std::{str::FromStr, time::Duration};

use sqlx::{
    ConnectOptions, Executor, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

use crate::config::Config;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A pool that connects lazily, so the process starts (and `/healthz`
/// answers) even while the database is away; `/readyz` tells the difference.
pub fn pool(config: &Config) -> anyhow::Result<PgPool> {
    let statement_timeout = config.database_statement_timeout.as_millis();
    let idle_in_transaction = config.database_idle_in_transaction_timeout.as_millis();
    let options = PgConnectOptions::from_str(config.database_url.expose())?
        .application_name("plotcare")
        .log_statements(tracing::log::LevelFilter::Debug)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
    let pool = PgPoolOptions::new()
        .max_connections(config.database_pool_size)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        .idle_timeout(Duration::from_secs(300))
        // sqlx pings each connection when it goes back to the pool and closes one that fails,
        // so a connection broken mid-request is never reused. A second ping on every acquire
        // would add a round trip to each transaction (three per page) to catch only
        // connections broken while idle (a database restart), which fail one request instead.
        .test_before_acquire(false)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                // Plans: PostgreSQL's default here (statements outside a tenant's
                // transaction, such as the session store's look-up, keep one plan once it
                // proves as good); a tenant's transaction plans each statement for its own
                // values (`TenantTx::begin`).
                conn.execute(
                    format!(
                        "SET statement_timeout = {statement_timeout}; \
                         SET idle_in_transaction_session_timeout = {idle_in_transaction}; \
                         SET timezone = 'UTC'"
                    )
                    .as_str(),
                )
                .await?;
                Ok(())
            })
        })
        .connect_lazy_with(options);
    Ok(pool)
}

/// Begins a transaction (with `statement`, e.g. `BEGIN; SET LOCAL ...`, or a plain BEGIN) in
/// a task of its own, so that a request cancelled meanwhile (the client hung up, a time-out)
/// cannot leave the pooled connection inside a transaction. sqlx 0.8.6's `begin` is not
/// cancel-safe on PostgreSQL: dropped during the BEGIN round trip, it returns the connection
/// to the pool still in the transaction (transact-rs/sqlx#4393). The task always runs to its
/// end; a transaction nobody waits for any more is dropped there, which rolls it back before
/// its connection goes back to the pool.
pub async fn begin(
    pool: &PgPool,
    statement: Option<String>,
) -> sqlx::Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let pool = pool.clone();
    let task = tokio::spawn(async move {
        match statement {
            Some(statement) => pool.begin_with(statement).await,
            None => pool.begin().await,
        }
    });
    match task.await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only when the runtime shuts down.
        Err(_) => Err(sqlx::Error::PoolClosed),
    }
}

/// Applies migrations/ (the release phase also creates the session store's table:
/// [`crate::migrate`]).
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Whether the database answers, for `/readyz`.
pub async fn ping(pool: &PgPool) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_secs(3),
            sqlx::query("SELECT 1").execute(pool)
        )
        .await,
        Ok(Ok(_))
    )
}

pub mod tenancy;
pub use tenancy::{TenantId, TenantTx};
pub mod api_tokens;
pub mod appointments;
pub mod audit;
pub mod comments;
pub mod contacts;
pub mod contracts;
pub mod diary;
pub mod exports;
pub mod files;
pub mod form_keys;
pub mod imports;
pub mod inspection_templates;
pub mod inspections;
pub mod jobs;
pub mod nominations;
pub mod outbox;
pub mod plots;
pub mod portal;
pub mod role;
pub mod schemes;
pub mod scope;
pub mod sessions;
pub mod sla;
pub mod tenants;
pub mod tickets;
pub mod users;
