//! The data export: one workbook per record type in one zip, streamed to the
//! media store.
//!
//! Every workbook reads the same moment of the database: the job's transaction
//! exports its snapshot and each reading lane imports it. The lanes (two by default,
//! [`super::Settings::lanes`]) take the record types biggest first; each reads keyset
//! batches on its own connection while a blocking thread writes that workbook
//! (constant-memory mode) into a temporary file. When every workbook is written,
//! one more thread lays them into the zip in a fixed order, with the README
//! workbook and manifest.json, and the zip streams to the media store.

use std::{
    collections::VecDeque,
    fs::File,
    io::{BufWriter, Seek, SeekFrom, Write},
    sync::{
        Mutex,
        atomic::{AtomicI64, Ordering},
    },
};

use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::StreamExt as _;
use rust_xlsxwriter::Workbook;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

use super::{
    Resources, Settings,
    manifest::{FileEntry, Manifest, SheetCount, TenantInfo, readme_workbook},
    send_keeping_alive,
    stream::{ChannelWriter, HashingWriter, start_upload},
    until_done_keeping_alive,
    workbook::{Formats, SheetWriter},
};
use crate::{
    auth::TenantTx,
    db::exports::{self as db, Cell, Column, ExportPart, SheetSpec},
    media::MediaKey,
};

/// Deflate level inside each workbook: 1 is several times faster than the default 6
/// and the files come out only a little larger.
const WORKBOOK_ZIP_LEVEL: u8 = 1;

/// The record types to export and their row counts.
pub async fn plan(tx: &mut TenantTx) -> sqlx::Result<(Vec<SheetSpec>, Vec<i64>)> {
    let with_inspections = db::table_exists(tx, "inspections").await?;
    let sheets = db::data_sheets(with_inspections);
    let counts = db::count_rows(tx, &sheets).await?;
    Ok((sheets, counts))
}

/// One record type's workbook, written to a temporary file.
struct Written {
    file: File,
    size_bytes: u64,
    sha256: String,
    sheets: Vec<(String, u32)>,
}

/// What a reading lane sends its workbook writer.
enum Part {
    Rows(Vec<(Uuid, Vec<Cell>)>),
    End,
}

/// Writes the zip; returns the produced file (not yet recorded) and the rows written.
pub async fn produce(
    tx: &mut TenantTx,
    res: &Resources,
    settings: &Settings,
    progress: &super::Progress,
    sheets: Vec<SheetSpec>,
    counts: Vec<i64>,
    tenant: TenantInfo,
) -> anyhow::Result<(ExportPart, i64)> {
    let made_at = OffsetDateTime::now_utc();

    // The lanes open while the job's transaction still holds the exported snapshot.
    let snapshot = db::export_snapshot(tx).await?;
    let mut lanes = Vec::new();
    for _ in 0..settings.lanes.max(1) {
        lanes.push(TenantTx::begin_in_snapshot(&res.pool, tx.tenant(), &snapshot).await?);
    }
    let mut biggest_first: Vec<usize> = (0..sheets.len()).collect();
    biggest_first.sort_by_key(|&i| std::cmp::Reverse(counts.get(i).copied().unwrap_or(0)));
    let queue = Mutex::new(VecDeque::from(biggest_first));
    let rows_done = AtomicI64::new(0);
    let work = futures_util::future::try_join_all(
        lanes
            .into_iter()
            .map(|lane| read_lane(lane, &sheets, &queue, &rows_done, settings, progress)),
    );
    let done = until_done_keeping_alive(tx, work).await??;
    let mut written: Vec<Option<Written>> = (0..sheets.len()).map(|_| None).collect();
    for (i, w) in done.into_iter().flatten() {
        written[i] = Some(w);
    }
    let files = sheets
        .iter()
        .zip(written)
        .map(|(sheet, w)| Ok((sheet.file, w.context("a workbook was not written")?)))
        .collect::<anyhow::Result<Vec<_>>>()?;

    // Lay the workbooks into the zip, streaming it to the media store.
    let file_name = format!("plotcare-data-{}-{}.zip", tenant.slug, made_at.date());
    let key = MediaKey::new(tenant.id, "exports");
    let (writer, upload) = start_upload(&res.media, key.clone(), "application/zip");
    let aborter = writer.aborter();
    let manifest = Manifest {
        kind: "data",
        made_at,
        tenant,
        files: Vec::new(),
    };
    let zipped = tokio::task::spawn_blocking(move || write_zip(writer, files, manifest))
        .await
        .context("the zip writer stopped")
        .and_then(|r| r);
    match zipped {
        Ok(sha256) => {
            drop(aborter);
            let size = finish_upload(upload).await?;
            Ok((
                ExportPart {
                    key: key.as_str().to_owned(),
                    file_name,
                    size_bytes: size,
                    sha256,
                },
                rows_done.load(Ordering::Relaxed),
            ))
        }
        Err(e) => {
            aborter.abort(&format!("{e:#}"));
            let _ = upload.task.await;
            let _ = res.media.delete(&key).await;
            Err(e)
        }
    }
}

/// One reading lane: takes record types off the queue until it is empty.
async fn read_lane(
    mut tx: TenantTx,
    sheets: &[SheetSpec],
    queue: &Mutex<VecDeque<usize>>,
    rows_done: &AtomicI64,
    settings: &Settings,
    progress: &super::Progress,
) -> anyhow::Result<Vec<(usize, Written)>> {
    let mut written = Vec::new();
    loop {
        let next = queue.lock().expect("the queue lock").pop_front();
        let Some(i) = next else { break };
        let sheet = &sheets[i];
        let w = write_sheet(&mut tx, sheet, settings, rows_done, progress)
            .await
            .with_context(|| format!("writing {}", sheet.file))?;
        written.push((i, w));
    }
    tx.commit().await?;
    Ok(written)
}

/// Reads one record type in keyset batches and has a blocking thread write its workbook.
async fn write_sheet(
    tx: &mut TenantTx,
    sheet: &SheetSpec,
    settings: &Settings,
    rows_done: &AtomicI64,
    progress: &super::Progress,
) -> anyhow::Result<Written> {
    let (parts, rx) = mpsc::channel::<Part>(2);
    let (title, columns, max_rows) = (sheet.title, sheet.columns.clone(), settings.max_sheet_rows);
    let writer = tokio::task::spawn_blocking(move || write_workbook(rx, title, columns, max_rows));
    // One statement streams the rows; they go to the writer in batches. While it runs the
    // connection is busy, not idle, so it needs no keeping alive.
    let mut reported = Instant::now();
    {
        let mut rows = db::stream_rows(tx, sheet);
        let mut batch = Vec::with_capacity(settings.batch_rows as usize);
        loop {
            let row = rows.next().await.transpose()?;
            let end = row.is_none();
            batch.extend(row);
            if batch.len() as i64 >= settings.batch_rows || (end && !batch.is_empty()) {
                let n = batch.len() as i64;
                let full =
                    std::mem::replace(&mut batch, Vec::with_capacity(settings.batch_rows as usize));
                if parts.send(Part::Rows(full)).await.is_err() {
                    anyhow::bail!("the workbook writer stopped");
                }
                let done = rows_done.fetch_add(n, Ordering::Relaxed) + n;
                // The progress bar needs a few updates a second, not one per batch.
                if end || reported.elapsed() >= Duration::from_millis(500) {
                    progress.report(done).await?;
                    reported = Instant::now();
                }
            }
            if end {
                break;
            }
        }
    }
    send_keeping_alive(tx, &parts, Part::End).await?;
    until_done_keeping_alive(tx, writer)
        .await?
        .context("the workbook writer stopped")?
}

/// The blocking side of one record type: its rows into a workbook, saved to a temporary file.
fn write_workbook(
    mut rx: mpsc::Receiver<Part>,
    title: &'static str,
    columns: Vec<Column>,
    max_rows: u32,
) -> anyhow::Result<Written> {
    let formats = Formats::new();
    let mut workbook = Workbook::new();
    workbook.set_zip_compression_level(WORKBOOK_ZIP_LEVEL);
    let mut sheet = SheetWriter::new(&mut workbook, &formats, title, columns, max_rows)?;
    loop {
        match rx.blocking_recv() {
            Some(Part::Rows(rows)) => {
                for (_, cells) in &rows {
                    sheet.write_row(&mut workbook, &formats, cells)?;
                }
            }
            Some(Part::End) => break,
            None => anyhow::bail!("the export stopped before it was complete"),
        }
    }
    let sheets = sheet.finish(&mut workbook)?;
    let mut hashing = HashingWriter::new(BufWriter::new(tempfile::tempfile()?));
    workbook.save_to_writer(&mut hashing)?;
    hashing.flush()?;
    let (buffered, sha256, size_bytes) = hashing.finish();
    let mut file = buffered.into_inner().map_err(|e| e.into_error())?;
    file.seek(SeekFrom::Start(0))?;
    Ok(Written {
        file,
        size_bytes,
        sha256,
        sheets,
    })
}

type Zip = ZipWriter<zip::write::StreamWriter<HashingWriter<ChannelWriter>>>;

/// The blocking side of the zip: the workbooks in order, then the README workbook and
/// the manifest that also holds the README's SHA-256. Returns the zip's SHA-256.
fn write_zip(
    writer: ChannelWriter,
    files: Vec<(&'static str, Written)>,
    mut manifest: Manifest,
) -> anyhow::Result<String> {
    let mut zip: Zip = ZipWriter::new_stream(HashingWriter::new(writer));
    // Workbooks are zips already: stored as they are.
    let stored = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(true);
    for (name, mut w) in files {
        zip.start_file(name, stored)?;
        std::io::copy(&mut w.file, &mut zip)?;
        manifest.files.push(FileEntry {
            name: name.to_owned(),
            size_bytes: w.size_bytes,
            sha256: w.sha256,
            sheets: w
                .sheets
                .into_iter()
                .map(|(name, rows)| SheetCount { name, rows })
                .collect(),
        });
    }
    let mut readme = readme_workbook(&manifest, "Plotcare data export")?;
    zip.start_file("README.xlsx", stored)?;
    let mut hashing = HashingWriter::new(&mut zip);
    readme.save_to_writer(&mut hashing)?;
    let (_, sha256, size) = hashing.finish();
    manifest.files.push(FileEntry {
        name: "README.xlsx".into(),
        size_bytes: size,
        sha256,
        sheets: Vec::new(),
    });
    zip.start_file(
        "manifest.json",
        SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
    )?;
    zip.write_all(&manifest.to_json())?;
    let (writer, sha256, _) = zip.finish()?.into_inner().finish();
    writer.finish()?;
    Ok(sha256)
}

/// Waits for an upload to be stored; its size.
pub(super) async fn finish_upload(upload: super::stream::Upload) -> anyhow::Result<u64> {
    Ok(upload.task.await.context("the upload stopped")??)
}
