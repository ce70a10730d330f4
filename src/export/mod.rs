//! Data returns: all of a tenant's data as Excel workbooks in one zip, and
//! its media files in zip parts, made by a job and kept for 7 days.
//!
//! - [`request`] records an export and enqueues its job in the caller's transaction.
//! - [`job`] is the job handler (`export.run`); [`run`] does the same for a given state (tests, tools).
//! - [`data`] and [`media`] write the zips: the async side reads keyset batches in the job's
//!   transaction and reports progress on its own connection; a blocking thread writes
//!   the workbooks (rust_xlsxwriter, constant memory) into a zip that streams, through a
//!   bounded channel, into the media store's multipart upload.
//! - A rerun after a crash (the job's lease ran out) takes the export over with a new
//!   attempt id and writes fresh objects; only the attempt that is still current when it
//!   finishes records its files, so there is exactly one complete export.
//! - [`expire`] deletes the files of exports past their 7 days.

pub mod copy_text;
pub mod data;
pub mod manifest;
pub mod media;
pub mod stream;
pub mod workbook;

use std::{sync::atomic::Ordering::Relaxed, time::Duration};

use anyhow::Context as _;
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{
    AppState,
    auth::{TenantId, TenantTx},
    config::Config,
    db::{
        self,
        audit::{self, Actor, Changes},
        exports::ExportRow,
        jobs::Job,
    },
    media::{MediaKey, MediaStore},
};

/// The job that makes an export (its kind, data or media, is on the export).
pub const JOB_KIND: &str = "export.run";
/// How long an export's files are kept.
pub const KEPT_FOR_DAYS: i64 = 7;

/// How exports are made. [`Settings::from_config`] in production; tests use small sizes.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Rows read per query.
    pub batch_rows: i64,
    /// Media files read per query.
    pub media_batch: i64,
    /// A media zip part is closed once it holds this many bytes (EXPORT_MEDIA_PART_MB, default 1024).
    pub media_part_bytes: u64,
    /// Rows per sheet before it continues on "Name (2)": Excel's limit.
    pub max_sheet_rows: u32,
    /// Workbooks written side by side, each reading on its own connection (EXPORT_LANES, default 2).
    pub lanes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch_rows: 10_000,
            media_batch: 500,
            media_part_bytes: 1024 * 1024 * 1024,
            max_sheet_rows: workbook::EXCEL_MAX_ROWS,
            lanes: 2,
        }
    }
}

impl Settings {
    /// The sizes the configuration gives (EXPORT_MEDIA_PART_MB, EXPORT_BATCH_ROWS).
    pub fn from_config(config: &Config) -> Self {
        Settings {
            media_part_bytes: config.export_media_part_bytes,
            batch_rows: config.export_batch_rows,
            lanes: config.export_lanes,
            ..Settings::default()
        }
    }
}

/// What an export run needs beyond the job's transaction.
#[derive(Clone)]
pub struct Resources {
    pub pool: PgPool,
    pub media: MediaStore,
}

impl From<&AppState> for Resources {
    fn from(state: &AppState) -> Self {
        Resources {
            pool: state.db.clone(),
            media: state.media.clone(),
        }
    }
}

/// Records a request for an export and enqueues its job, in the caller's transaction.
pub async fn request(
    tx: &mut TenantTx,
    actor: &Actor,
    kind: &str,
    requested_by: Uuid,
) -> anyhow::Result<Uuid> {
    anyhow::ensure!(matches!(kind, "data" | "media"), "unknown export kind");
    let id = Uuid::now_v7();
    db::exports::insert(tx, id, kind, requested_by).await?;
    audit::record(
        tx,
        actor,
        "export.requested",
        "export",
        Some(id),
        Changes::new().set("kind", kind),
    )
    .await?;
    db::jobs::enqueue(tx, JOB_KIND, json!({ "export_id": id })).await?;
    Ok(id)
}

/// Puts a failed export back in the queue. False unless it had failed.
pub async fn retry(tx: &mut TenantTx, actor: &Actor, id: Uuid) -> anyhow::Result<bool> {
    if !db::exports::requeue(tx, id).await? {
        return Ok(false);
    }
    audit::record(
        tx,
        actor,
        "export.retried",
        "export",
        Some(id),
        Changes::new(),
    )
    .await?;
    db::jobs::enqueue(tx, JOB_KIND, json!({ "export_id": id })).await?;
    Ok(true)
}

/// The job handler for [`JOB_KIND`].
/// Registered by [`crate::jobs::handler`]; this module does not depend on the runner.
pub async fn job(
    tx: &mut TenantTx,
    job: &Job,
    resources: &Resources,
    settings: &Settings,
) -> anyhow::Result<()> {
    let export_id: Uuid = serde_json::from_value(job.payload["export_id"].clone())
        .context("export job without an export id")?;
    execute(tx, resources, settings, export_id).await
}

/// Makes the export now, with the given state (what the job does, without the queue).
pub async fn run(
    state: &AppState,
    tenant: TenantId,
    export_id: Uuid,
    settings: &Settings,
) -> anyhow::Result<()> {
    let mut tx = TenantTx::begin(&state.db, tenant).await?;
    execute(&mut tx, &Resources::from(state), settings, export_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Progress of one attempt, written on its own connection so the page sees it at once.
///
/// It counts what is written (rows into the workbooks, files into the zip), never what
/// is only read, and stops one short of the total until the export is complete (the
/// zip is still being finished and uploaded): only a finished export shows all done.
pub struct Progress {
    pool: PgPool,
    tenant: TenantId,
    export_id: Uuid,
    attempt_id: Uuid,
    total: std::sync::atomic::AtomicI64,
    /// Rows or files written so far, counted by the writer threads.
    pub written: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Progress {
    /// What records this attempt's uploads.
    pub fn tracker(&self) -> stream::Tracker {
        stream::Tracker {
            pool: self.pool.clone(),
            tenant: self.tenant,
            export_id: self.export_id,
            attempt_id: self.attempt_id,
        }
    }

    /// Records what the writers have written so far.
    pub async fn report(&self) -> sqlx::Result<()> {
        use std::sync::atomic::Ordering::Relaxed;
        let written = self.written.load(Relaxed);
        let shown = written.min((self.total.load(Relaxed) - 1).max(0));
        let mut tx = TenantTx::begin(&self.pool, self.tenant).await?;
        db::exports::set_progress(&mut tx, self.export_id, self.attempt_id, shown).await?;
        tx.commit().await
    }

    /// Waits for `work`, reporting progress twice a second meanwhile. A failed report
    /// (a busy pool) is skipped: the next one catches up.
    pub async fn while_running<F: std::future::Future>(&self, work: F) -> F::Output {
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {
                    if let Err(e) = self.report().await {
                        tracing::debug!(error = %e, "could not record an export's progress");
                    }
                }
            }
        }
    }
}

/// Runs one attempt of an export. A failure is recorded on the export (shown with a Retry
/// button) rather than retried by the queue; a crash is retried by the queue.
pub async fn execute(
    tx: &mut TenantTx,
    res: &Resources,
    settings: &Settings,
    export_id: Uuid,
) -> anyhow::Result<()> {
    let tenant = tx.tenant();
    expire(tx.tenant(), res).await?;
    let Some(export) = db::exports::find(tx, export_id).await? else {
        return Ok(());
    };
    if !matches!(export.status.as_str(), "queued" | "running") {
        return Ok(());
    }
    // A dead attempt (its worker crashed) may have left an unfinished upload, a
    // half-written file or an unrecorded object: remove them before writing anew.
    clear_leftovers(res, tenant, export_id, None).await?;
    let attempt_id = Uuid::now_v7();
    let (name, slug) = db::exports::tenant_identity(tx).await?;
    let info = manifest::TenantInfo {
        id: tenant.uuid(),
        name,
        slug,
    };
    let progress = Progress {
        pool: res.pool.clone(),
        tenant,
        export_id,
        attempt_id,
        total: Default::default(),
        written: Default::default(),
    };

    enum Planned {
        Media,
        Data(Vec<db::exports::SheetSpec>, Vec<i64>),
    }
    let (planned, total) = if export.kind == "media" {
        (Planned::Media, media::plan(tx).await?)
    } else {
        let (sheets, counts) = data::plan(tx).await?;
        let total = counts.iter().sum();
        (Planned::Data(sheets, counts), total)
    };
    progress.total.store(total, Relaxed);
    if !start(res, tenant, export_id, attempt_id, total).await? {
        return Ok(());
    }
    // The writing runs in its own tasks and threads: a panic there comes back as an error
    // ("the zip writer stopped", "the upload stopped") and fails the export like any other.
    let produced = match planned {
        Planned::Media => media::produce(tx, res, settings, &progress, info).await,
        Planned::Data(sheets, counts) => {
            data::produce(tx, res, settings, &progress, sheets, counts, info)
                .await
                .map(|(part, rows)| (vec![part], rows))
        }
    };

    // The writers' buffers are freed by now; hand the memory back to the system, so a
    // worker's resident memory after an export is what it was before it.
    give_memory_back();
    let mut own = TenantTx::begin(&res.pool, tenant).await?;
    match produced {
        Ok((parts, rows)) => {
            if db::exports::complete(&mut own, export_id, attempt_id, &parts, rows).await? {
                own.commit().await?;
            } else {
                // Another run took this export over: keep only its files.
                drop(own);
                delete_parts(res, &parts).await;
                clear_leftovers(res, tenant, export_id, Some(attempt_id)).await?;
            }
        }
        Err(e) => {
            tracing::warn!(export_id = %export_id, error = %format!("{e:#}"), "export failed");
            db::exports::fail(
                &mut own,
                export_id,
                attempt_id,
                &format!("The export could not be finished: {e}"),
            )
            .await?;
            own.commit().await?;
            // Its uploads were aborted as they failed; make sure, and forget them.
            clear_leftovers(res, tenant, export_id, Some(attempt_id)).await?;
        }
    }
    Ok(())
}

/// Removes from the media store what attempts at an export left (all attempts', or only
/// `attempt`'s): unfinished multipart uploads are aborted, half-written local files and
/// objects never recorded as the export's files deleted. Each record is forgotten only once
/// its object is gone; one that could not be removed stays for the next attempt. No
/// transaction is open while the store is asked.
pub async fn clear_leftovers(
    res: &Resources,
    tenant: TenantId,
    export_id: Uuid,
    attempt: Option<Uuid>,
) -> anyhow::Result<usize> {
    let mut tx = TenantTx::begin(&res.pool, tenant).await?;
    let left = db::exports::uploads_of(&mut tx, export_id, attempt).await?;
    tx.commit().await?;
    if left.is_empty() {
        return Ok(0);
    }
    let mut cleared = Vec::new();
    for upload in &left {
        let removed = match MediaKey::parse(&upload.key) {
            Some(key) => res.media.discard(&key, upload.upload_id.as_deref()).await,
            None => Ok(()),
        };
        match removed {
            Ok(()) => cleared.push(upload.id),
            Err(e) => {
                tracing::warn!(export_id = %export_id, error = %e, "could not remove what an export attempt left; will try again")
            }
        }
    }
    let mut tx = TenantTx::begin(&res.pool, tenant).await?;
    db::exports::forget_uploads(&mut tx, &cleared).await?;
    tx.commit().await?;
    tracing::info!(export_id = %export_id, removed = cleared.len(), "removed what earlier export attempts left");
    Ok(cleared.len())
}

/// Returns freed heap memory to the system (glibc keeps it otherwise, and a worker's
/// resident memory would grow by each export's peak). Elsewhere, nothing to do.
pub fn give_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's malloc_trim takes no pointers and may be called from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}

async fn start(
    res: &Resources,
    tenant: TenantId,
    export_id: Uuid,
    attempt_id: Uuid,
    total: i64,
) -> anyhow::Result<bool> {
    let mut own = TenantTx::begin(&res.pool, tenant).await?;
    let started = db::exports::start_attempt(&mut own, export_id, attempt_id, total).await?;
    own.commit().await?;
    Ok(started)
}

async fn delete_parts(res: &Resources, parts: &[db::exports::ExportPart]) {
    for part in parts {
        if let Some(key) = MediaKey::parse(&part.key) {
            let _ = res.media.delete(&key).await;
        }
    }
}

/// What one pass of [`expire`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Expiry {
    /// Exports whose files are gone, now marked expired.
    pub expired: usize,
    /// Exports past their expiry whose files could not all be deleted: left unmarked
    /// (still refused for download), to be tried again.
    pub kept: usize,
}

/// Deletes the files of the tenant's exports past their 7 days, and marks an export
/// expired (with an audit record) only once every one of its files is really gone.
pub async fn expire(tenant: TenantId, res: &Resources) -> anyhow::Result<Expiry> {
    let mut tx = TenantTx::begin(&res.pool, tenant).await?;
    let due = db::exports::due_for_expiry(&mut tx).await?;
    let mut outcome = Expiry::default();
    for (id, parts) in &due {
        let parts: Vec<db::exports::ExportPart> =
            serde_json::from_value(parts.clone()).unwrap_or_default();
        let mut all_gone = true;
        for part in &parts {
            if let Some(key) = MediaKey::parse(&part.key)
                && let Err(e) = res.media.delete(&key).await
            {
                tracing::warn!(export_id = %id, error = %e, "could not delete an expired export's file; will try again");
                all_gone = false;
            }
        }
        if !all_gone {
            outcome.kept += 1;
            continue;
        }
        db::exports::mark_expired(&mut tx, *id).await?;
        audit::record(
            &mut tx,
            &Actor {
                user_id: None,
                token_id: None,
                ip: None,
                request_id: None,
            },
            "export.expired",
            "export",
            Some(*id),
            Changes::new().set("files_deleted", parts.len()),
        )
        .await?;
        outcome.expired += 1;
    }
    tx.commit().await?;
    Ok(outcome)
}

/// The job that expires a tenant's old exports ([`expire_job`]); the worker enqueues one
/// for every tenant when it starts and once a day ([`crate::jobs::Runner::run`]).
pub const EXPIRE_JOB_KIND: &str = "export.expire";

/// The job handler for [`EXPIRE_JOB_KIND`]: a file that could not be deleted fails the
/// job, so the queue tries again after its backoff.
pub async fn expire_job(tx: &mut TenantTx, res: &Resources) -> anyhow::Result<()> {
    let outcome = expire(tx.tenant(), res).await?;
    anyhow::ensure!(
        outcome.kept == 0,
        "the files of {} expired export(s) could not be deleted; will try again",
        outcome.kept
    );
    Ok(())
}

/// Whether an export's files may still be downloaded.
pub fn downloadable(export: &ExportRow) -> bool {
    export.status == "done" && !export.expired
}

/// Waits for `work` (other connections reading, a thread writing) while keeping `tx`
/// from idling out.
async fn until_done_keeping_alive<F: std::future::Future>(
    tx: &mut TenantTx,
    work: F,
) -> anyhow::Result<F::Output> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return Ok(out),
            _ = tokio::time::sleep(Duration::from_secs(20)) => db::exports::keep_alive(tx).await?,
        }
    }
}

/// Sends a message to the writer thread; while it is busy, keeps the transaction from idling out.
async fn send_keeping_alive<T>(
    tx: &mut TenantTx,
    sender: &mpsc::Sender<T>,
    msg: T,
) -> anyhow::Result<()> {
    let mut msg = Some(msg);
    loop {
        match tokio::time::timeout(Duration::from_secs(20), sender.reserve()).await {
            Ok(Ok(permit)) => {
                permit.send(msg.take().expect("sent once"));
                return Ok(());
            }
            Ok(Err(_)) => anyhow::bail!("the zip writer stopped"),
            Err(_) => db::exports::keep_alive(tx).await?,
        }
    }
}
