//! The durable job queue: work that happens after a request, such as sending
//! an email, kept in PostgreSQL's `jobs` table.
//!
//! - [`enqueue`] adds a job in the caller's transaction: the job exists exactly
//!   when the change that caused it committed.
//! - A [`Runner`] claims a batch with `FOR UPDATE SKIP LOCKED` and a lease
//!   ([`cross_tenant::claim_jobs`], the one step that looks across tenants), then
//!   runs each job in a [`TenantTx`] of the job's own tenant, and marks it done
//!   in that same transaction, only if its claim still holds. So two runners
//!   never run one job, and a job whose worker died (or was restarted) is
//!   claimed again once its lease ends.
//! - A failure records the error and runs the job again after an exponential
//!   backoff with jitter (capped), or marks it failed after its last attempt.
//! - [`handler`] maps each kind to its handler function.
//! - `plotcare worker` runs only the runner; `plotcare serve` runs it too unless
//!   `RUN_WORKER=false`. On SIGTERM or Ctrl-C it finishes the batch in hand and stops.
//!
//! Why no crate: we looked at `underway` 0.2, `apalis-postgres` 1.0 and `sqlxmq` 0.6.
//! Each keeps its jobs in its own tables and schema (with its own migrations and
//! ids: ULIDs, chrono), none has a tenant id on a job, so under our forced
//! row-level security their worker would need a role that bypasses it, and
//! none runs a job inside a transaction bound to the job's tenant. `sqlxmq`
//! also pulls in native-tls and chrono by default and is barely maintained;
//! `apalis-postgres` enqueues through its own storage handle rather than the
//! caller's transaction. The queue we need is two queries and a loop.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use serde_json::Value;
use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;

use crate::{
    auth::{TenantId, TenantTx, cross_tenant},
    config::Config,
    db::{self, jobs::Job},
    email,
};

/// Adds a job to run as soon as a worker is free, in the caller's transaction.
pub async fn enqueue(tx: &mut TenantTx, kind: &str, payload: Value) -> sqlx::Result<Uuid> {
    db::jobs::enqueue(tx, kind, payload).await
}

/// What handlers share: how emails leave.
pub struct Context {
    pub mailer: email::Mailer,
    /// The pool and media store, for jobs that read beyond their own transaction (exports).
    pub export: crate::export::Resources,
    pub export_settings: crate::export::Settings,
}

/// The future a handler returns.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send + 'a>>;

/// A job handler: does the work in the job's tenant transaction (which the
/// runner commits, with the job marked done, only if the handler succeeds).
pub type Handler = for<'a> fn(&'a mut TenantTx, &'a Job, &'a Context) -> JobFuture<'a>;

/// Finds the handler for a kind of job.
pub type Registry = fn(&str) -> Option<Handler>;

/// The registry: every kind of job and its handler.
pub fn handler(kind: &str) -> Option<Handler> {
    match kind {
        email::SEND_EMAIL => Some(send_email),
        crate::export::JOB_KIND => Some(run_export),
        crate::export::EXPIRE_JOB_KIND => Some(expire_exports),
        _ => None,
    }
}

fn send_email<'a>(tx: &'a mut TenantTx, job: &'a Job, ctx: &'a Context) -> JobFuture<'a> {
    Box::pin(email::send_job(tx, job, &ctx.mailer))
}

fn run_export<'a>(tx: &'a mut TenantTx, job: &'a Job, ctx: &'a Context) -> JobFuture<'a> {
    Box::pin(crate::export::job(
        tx,
        job,
        &ctx.export,
        &ctx.export_settings,
    ))
}

fn expire_exports<'a>(tx: &'a mut TenantTx, _job: &'a Job, ctx: &'a Context) -> JobFuture<'a> {
    Box::pin(crate::export::expire_job(tx, &ctx.export))
}

/// How a runner works. The defaults suit production.
#[derive(Debug, Clone)]
pub struct Options {
    /// Jobs claimed (and run side by side) at once.
    pub batch: i64,
    /// How long a claim lasts; a job still unfinished after it may be claimed again.
    pub lease: Duration,
    /// A run taking longer fails (and retries). Shorter than the lease.
    pub job_timeout: Duration,
    /// How long to wait before looking again when there was nothing to do.
    pub idle_poll: Duration,
    /// While a job runs its lease is renewed this often, so a job that outlives its first
    /// lease stays claimed while its worker lives, and is taken over soon after it dies.
    pub heartbeat: Duration,
    /// An export's lease (renewed every `heartbeat`): a crashed export is taken over this long after its last renewal.
    pub export_lease: Duration,
    /// The delay after the first failure; it doubles with each further failure...
    pub backoff_base: Duration,
    /// ...up to this.
    pub backoff_cap: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            batch: 5,
            lease: Duration::from_secs(300),
            job_timeout: Duration::from_secs(120),
            idle_poll: Duration::from_secs(2),
            heartbeat: Duration::from_secs(30),
            export_lease: Duration::from_secs(120),
            backoff_base: Duration::from_secs(30),
            backoff_cap: Duration::from_secs(3600),
        }
    }
}

/// How often the daily jobs are scheduled.
const DAILY: Duration = Duration::from_secs(24 * 3600);

/// Kinds of job that run far longer than the rest: their time limit.
fn long_running(kind: &str) -> Option<Duration> {
    (kind == crate::export::JOB_KIND).then_some(Duration::from_secs(4 * 3600 - 300))
}

impl Options {
    /// The wait before the next attempt after `attempts` failed runs: doubling
    /// from the base, capped, then between half and all of that (jitter, so
    /// jobs that failed together do not retry together).
    pub fn backoff(&self, attempts: i32) -> Duration {
        let exponent = attempts.clamp(1, 30) as u32 - 1;
        let full = self
            .backoff_base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.backoff_cap);
        full.mul_f64(rand::random_range(0.5..=1.0))
    }
}

/// Connections one export holds at once: its job transaction, one per reading lane,
/// and one for its progress and its start and end.
pub fn connections_per_export(lanes: usize) -> u32 {
    lanes.max(1) as u32 + 2
}

/// How many exports a worker runs at once on a pool of `pool_size`: as many as fit,
/// keeping one connection for claiming jobs and recording their outcomes, and at least one.
pub fn exports_at_once(pool_size: u32, lanes: usize) -> usize {
    (pool_size.saturating_sub(1) / connections_per_export(lanes)).max(1) as usize
}

/// Claims and runs jobs.
pub struct Runner {
    pool: PgPool,
    ctx: Arc<Context>,
    worker: String,
    options: Options,
    registry: Registry,
    /// Exports wait for a permit, so together they never need more connections than the pool has.
    exports: Arc<tokio::sync::Semaphore>,
}

enum Outcome {
    Done,
    /// Another worker holds the job now; this run was rolled back.
    LeaseLost,
}

impl Runner {
    pub fn new(
        pool: PgPool,
        media: crate::media::MediaStore,
        config: &Config,
    ) -> anyhow::Result<Runner> {
        let suffix = Uuid::new_v4().simple().to_string();
        let at_once = exports_at_once(pool.options().get_max_connections(), config.export_lanes);
        Ok(Runner {
            exports: Arc::new(tokio::sync::Semaphore::new(at_once)),
            ctx: Arc::new(Context {
                mailer: email::Mailer::from_config(config)?,
                export: crate::export::Resources {
                    pool: pool.clone(),
                    media,
                },
                export_settings: crate::export::Settings::from_config(config),
            }),
            pool,
            worker: format!("worker-{}-{}", std::process::id(), &suffix[..8]),
            options: Options {
                export_lease: config.job_lease,
                heartbeat: config.job_heartbeat,
                ..Options::default()
            },
            registry: handler,
        })
    }

    pub fn with_options(mut self, options: Options) -> Runner {
        self.options = options;
        self
    }

    /// Uses another registry (tests add kinds of their own).
    pub fn with_registry(mut self, registry: Registry) -> Runner {
        self.registry = registry;
        self
    }

    /// The name this runner claims jobs under (`jobs.locked_by`).
    pub fn worker_id(&self) -> &str {
        &self.worker
    }

    /// Claims one batch of ready jobs and runs them; how many there were.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let claimed = cross_tenant::claim_jobs(
            &self.pool,
            &self.worker,
            self.options.lease,
            self.options.batch,
        )
        .await?;
        let count = claimed.len();
        futures_util::future::join_all(
            claimed
                .into_iter()
                .map(|(tenant, job)| self.run_job(tenant, job)),
        )
        .await;
        Ok(count)
    }

    /// Runs batches until `shutdown` completes, then finishes the batch in hand and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) {
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        tracing::info!(worker = %self.worker, "job worker started");
        // At start-up and then once a day: every tenant's old exports are expired.
        let mut next_daily = tokio::time::Instant::now();
        while !*stopped.borrow() {
            if tokio::time::Instant::now() >= next_daily {
                match cross_tenant::enqueue_for_every_tenant(
                    &self.pool,
                    crate::export::EXPIRE_JOB_KIND,
                )
                .await
                {
                    Ok(n) => {
                        tracing::info!(jobs = n, "scheduled the daily expiry of old exports");
                        next_daily += DAILY;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not schedule the expiry of old exports; will try again");
                        next_daily = tokio::time::Instant::now() + self.options.idle_poll * 30;
                    }
                }
            }
            let found = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim jobs");
                    0
                }
            };
            if found == 0 {
                tokio::select! {
                    _ = stopped.changed() => {}
                    _ = tokio::time::sleep(self.options.idle_poll) => {}
                }
            }
        }
        tracing::info!(worker = %self.worker, "job worker stopped");
    }

    async fn run_job(&self, tenant: TenantId, job: Job) {
        match self.attempt(tenant, &job).await {
            Ok(Outcome::Done) => {
                tracing::info!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, "job done")
            }
            Ok(Outcome::LeaseLost) => {
                tracing::warn!(job_id = %job.id, kind = %job.kind, "job's lease ran out before it finished; rolled back")
            }
            Err(e) => {
                let known = (self.registry)(&job.kind).is_some();
                let retry_in =
                    (known && !job.is_last_attempt()).then(|| self.options.backoff(job.attempts));
                match retry_in {
                    Some(wait) => {
                        tracing::warn!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, error = %e,
                        retry_in_secs = wait.as_secs(), "job failed; will retry")
                    }
                    None => {
                        tracing::error!(job_id = %job.id, kind = %job.kind, attempt = job.attempts, error = %e, "job failed for good")
                    }
                }
                if let Err(db_error) = self
                    .record_failure(tenant, &job, &format!("{e:#}"), retry_in)
                    .await
                {
                    // The lease runs out and the job is claimed again.
                    tracing::error!(job_id = %job.id, error = %db_error, "could not record the job's failure");
                }
            }
        }
    }

    async fn attempt(&self, tenant: TenantId, job: &Job) -> anyhow::Result<Outcome> {
        let handler = (self.registry)(&job.kind)
            .ok_or_else(|| anyhow::anyhow!("no handler for jobs of kind '{}'", job.kind))?;
        let mut timeout = self.options.job_timeout;
        // An export waits here for its turn (the others in hand hold the connections).
        let _turn = if job.kind == crate::export::JOB_KIND {
            Some(self.exports.clone().acquire_owned().await?)
        } else {
            None
        };
        let mut lease = self.options.lease;
        if let Some(limit) = long_running(&job.kind) {
            lease = self.options.export_lease;
            let mut claim = TenantTx::begin(&self.pool, tenant).await?;
            if !db::jobs::extend_lease(&mut claim, job, &self.worker, lease).await? {
                return Ok(Outcome::LeaseLost);
            }
            claim.commit().await?;
            timeout = limit;
        }
        let mut tx = TenantTx::begin(&self.pool, tenant).await?;
        // A panic in a handler is that job's failure, recorded like any other.
        let run = std::panic::AssertUnwindSafe(handler(&mut tx, job, &self.ctx));
        let run = tokio::time::timeout(timeout, futures_util::FutureExt::catch_unwind(run));
        let outcome = tokio::select! {
            outcome = run => outcome,
            lost = self.keep_lease(tenant, job, lease) => {
                // Another worker holds the job now: stop, and roll back.
                let () = lost;
                return Ok(Outcome::LeaseLost);
            }
        };
        outcome
            .map_err(|_| anyhow::anyhow!("took longer than {} seconds", timeout.as_secs()))?
            .map_err(|panic| anyhow::anyhow!("the job panicked: {}", panic_message(&panic)))??;
        if !db::jobs::complete(&mut tx, job, &self.worker).await? {
            return Ok(Outcome::LeaseLost);
        }
        tx.commit().await?;
        Ok(Outcome::Done)
    }

    /// Renews the job's lease every heartbeat; returns only once the lease was lost. A
    /// renewal that fails (a busy pool) is tried again at the next beat.
    async fn keep_lease(&self, tenant: TenantId, job: &Job, lease: Duration) {
        loop {
            tokio::time::sleep(self.options.heartbeat).await;
            let renewed: sqlx::Result<bool> = async {
                let mut tx = TenantTx::begin(&self.pool, tenant).await?;
                let held = db::jobs::extend_lease(&mut tx, job, &self.worker, lease).await?;
                tx.commit().await?;
                Ok(held)
            }
            .await;
            match renewed {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => {
                    tracing::warn!(job_id = %job.id, error = %e, "could not renew a job's lease")
                }
            }
        }
    }

    async fn record_failure(
        &self,
        tenant: TenantId,
        job: &Job,
        error: &str,
        retry_in: Option<Duration>,
    ) -> sqlx::Result<()> {
        let mut tx = TenantTx::begin(&self.pool, tenant).await?;
        db::jobs::fail(&mut tx, job, &self.worker, error, retry_in).await?;
        tx.commit().await
    }
}

/// What a panic said, when it said it with a string.
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let o = Options {
            backoff_base: Duration::from_secs(10),
            backoff_cap: Duration::from_secs(60),
            ..Options::default()
        };
        for _ in 0..50 {
            let first = o.backoff(1);
            assert!(
                first >= Duration::from_secs(5) && first <= Duration::from_secs(10),
                "{first:?}"
            );
            let second = o.backoff(2);
            assert!(
                second >= Duration::from_secs(10) && second <= Duration::from_secs(20),
                "{second:?}"
            );
            assert!(o.backoff(20) <= Duration::from_secs(60));
            assert!(o.backoff(20) >= Duration::from_secs(30));
        }
    }

    #[test]
    fn a_worker_runs_as_many_exports_as_its_pool_has_connections_for() {
        // Two lanes: four connections each, one kept for claiming.
        assert_eq!(exports_at_once(5, 2), 1);
        assert_eq!(exports_at_once(9, 2), 2);
        assert_eq!(exports_at_once(10, 2), 2);
        assert_eq!(exports_at_once(20, 2), 4);
        // However small the pool, one at a time.
        assert_eq!(exports_at_once(2, 2), 1);
        assert_eq!(exports_at_once(10, 1), 3);
    }

    #[test]
    fn the_registry_knows_its_kinds_and_nothing_else() {
        assert!(handler(email::SEND_EMAIL).is_some());
        assert!(handler(crate::export::EXPIRE_JOB_KIND).is_some());
        assert!(handler("no_such_job").is_none());
    }
}
