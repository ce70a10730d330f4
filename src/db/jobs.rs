//! The durable job queue's rows (see [`crate::jobs`] for the runner).
//!
//! Jobs are enqueued and finished inside a tenant's transaction; only the
//! claim looks across tenants, in [`crate::auth::cross_tenant::claim_jobs`].

use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

use crate::db::TenantTx;

/// A claimed job, as the runner hands it to a handler.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Job {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub kind: String,
    pub payload: Value,
    /// Counting this run: the first run is attempt 1.
    pub attempts: i32,
    pub max_attempts: i32,
}

impl Job {
    /// Whether a failure now would be final.
    pub fn is_last_attempt(&self) -> bool {
        self.attempts >= self.max_attempts
    }
}

/// Adds a job to run as soon as a worker is free, in the caller's transaction:
/// if the caller rolls back, the job was never there.
pub async fn enqueue(tx: &mut TenantTx, kind: &str, payload: Value) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO jobs (tenant_id, id, kind, payload) VALUES ($1, $2, $3, $4)")
        .bind(tx.tenant_id())
        .bind(id)
        .bind(kind)
        .bind(payload)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Marks the job done, if this worker's claim still holds it. `false` means the
/// lease was lost (another worker has it now): the caller must roll back.
pub async fn complete(tx: &mut TenantTx, job: &Job, worker: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET done_at = now(), locked_until = NULL, locked_by = NULL, last_error = NULL
          WHERE tenant_id = $1 AND id = $2 AND locked_by = $3 AND attempts = $4 AND done_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(job.id)
    .bind(worker)
    .bind(job.attempts)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a failed run: it runs again after `retry_in`, or never (failed) when `None`.
pub async fn fail(
    tx: &mut TenantTx,
    job: &Job,
    worker: &str,
    error: &str,
    retry_in: Option<Duration>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE jobs
            SET last_error = $5, locked_until = NULL, locked_by = NULL,
                run_at = CASE WHEN $6::float8 IS NULL THEN run_at ELSE now() + make_interval(secs => $6) END,
                failed_at = CASE WHEN $6::float8 IS NULL THEN now() END
          WHERE tenant_id = $1 AND id = $2 AND locked_by = $3 AND attempts = $4 AND done_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(job.id)
    .bind(worker)
    .bind(job.attempts)
    .bind(error.chars().take(2000).collect::<String>())
    .bind(retry_in.map(|d| d.as_secs_f64()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Lengthens this worker's claim on a job that needs longer than the standard lease (a data export).
pub async fn extend_lease(
    tx: &mut TenantTx,
    job: &Job,
    worker: &str,
    lease: Duration,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE jobs SET locked_until = now() + make_interval(secs => $5)
          WHERE tenant_id = $1 AND id = $2 AND locked_by = $3 AND attempts = $4 AND done_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(job.id)
    .bind(worker)
    .bind(job.attempts)
    .bind(lease.as_secs_f64())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
