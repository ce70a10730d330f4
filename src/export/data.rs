//! The data export: one workbook per record type in one zip, streamed to the
//! media store.
//!
//! Every workbook reads the same moment of the database: the job's transaction
//! exports its snapshot and each reading lane imports it. A record type's rows are
//! cut into sheets of at most Excel's row limit, by id ranges read in the snapshot.
//! The lanes (two by default, [`super::Settings::lanes`]) take the sheets biggest
//! first; each streams its sheet's rows with one COPY statement on its own connection
//! to that sheet's writer thread (rust_xlsxwriter, constant-memory mode), so the
//! sheets of one big record type are written side by side. When a record type's
//! sheets are written, its workbook is saved to a temporary file, and one more thread
//! lays it into the zip while the others are still being written; the README workbook
//! and manifest.json come last, and the zip streams to the media store.

use std::{
    collections::VecDeque,
    fs::File,
    io::{BufWriter, Seek, SeekFrom, Write},
    sync::{
        Mutex,
        atomic::{AtomicI64, Ordering},
    },
};

use anyhow::Context as _;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use rust_xlsxwriter::{Workbook, Worksheet};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

use super::{
    Resources, Settings, copy_text,
    manifest::{FileEntry, Manifest, SheetCount, TenantInfo, readme_workbook},
    send_keeping_alive,
    stream::{ChannelWriter, HashingWriter, start_upload},
    until_done_keeping_alive,
    workbook::{self, EXCEL_MAX_ROWS, Formats, LONG_TEXT_SHEET, SheetWriter, long_text_columns},
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
    let sheets = db::data_sheets();
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

/// What a reading lane sends a sheet's writer.
enum Part {
    /// Whole lines of the sheet's COPY output.
    Rows(Bytes),
    End,
}

/// A reading lane found its sheet's writer gone (the writer's error says why).
#[derive(Debug, thiserror::Error)]
#[error("the workbook writer stopped")]
struct WriterStopped;

/// A workbook writer found the zip writer gone (the zip writer's error says why).
#[derive(Debug, thiserror::Error)]
#[error("the zip writer stopped")]
struct ZipStopped;

/// One sheet's rows for a reading lane to send: a record type's rows from `from`
/// (inclusive) until `until` (exclusive), or all of them.
struct SheetRows {
    record_type: usize,
    from: Option<uuid::Uuid>,
    until: Option<uuid::Uuid>,
    /// Its sheet's place in the workbook: 0 for the first.
    part: usize,
    /// The record type's rows times columns, roughly.
    weight: i64,
    to_writer: mpsc::Sender<Part>,
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

    // Past Excel's row limit a record type continues on further sheets of its workbook,
    // each written by its own thread. Where each further sheet starts is read in the
    // snapshot, so every sheet holds exactly what fits.
    // Each workbook, once saved, goes to the zip writer.
    let (finished_tx, finished) = std::sync::mpsc::channel::<(usize, Written)>();
    let per_sheet = i64::from(settings.max_sheet_rows.clamp(2, EXCEL_MAX_ROWS) - 1);
    let mut work = Vec::new();
    let mut writers = Vec::new();
    for (i, sheet) in sheets.iter().enumerate() {
        let planned = counts.get(i).copied().unwrap_or(0);
        // Counted a moment before the snapshot: a record type within 10% of the limit is
        // cut where the snapshot says. (A sheet that still gets too many rows fails the
        // export with a message, and a retry counts again.)
        let starts = if planned * 10 >= per_sheet * 9 {
            db::sheet_starts(&mut lanes[0], sheet, per_sheet).await?
        } else {
            Vec::new()
        };
        let mut bounds: Vec<Option<uuid::Uuid>> = vec![None];
        bounds.extend(starts.into_iter().map(Some));
        let mut receivers = Vec::new();
        for (n, from) in bounds.iter().enumerate() {
            let (to_writer, rx) = mpsc::channel::<Part>(2);
            receivers.push(rx);
            work.push(SheetRows {
                record_type: i,
                part: n,
                from: *from,
                until: bounds.get(n + 1).copied().flatten(),
                weight: planned.max(1) * sheet.columns.len() as i64,
                to_writer,
            });
        }
        let (title, columns, max_rows) =
            (sheet.title, sheet.columns.clone(), settings.max_sheet_rows);
        let finished = finished_tx.clone();
        let rows_written = progress.written.clone();
        writers.push(tokio::task::spawn_blocking(move || {
            let written = write_workbook(receivers, title, columns, max_rows, &rows_written)?;
            finished
                .send((i, written))
                .map_err(|_| anyhow::Error::from(ZipStopped))
        }));
    }
    drop(finished_tx);

    // The zip is written while the workbooks are: each is laid into it as soon as it is
    // saved, streaming to the media store.
    let file_name = format!("plotcare-data-{}-{}.zip", tenant.slug, made_at.date());
    let key = MediaKey::new(tenant.id, "exports");
    let (writer, upload) = start_upload(
        &res.media,
        &progress.tracker(),
        key.clone(),
        "application/zip",
    );
    let aborter = writer.aborter();
    let manifest = Manifest {
        kind: "data",
        made_at,
        tenant,
        files: Vec::new(),
    };
    let names: Vec<&'static str> = sheets.iter().map(|sheet| sheet.file).collect();
    let zipping = tokio::task::spawn_blocking(move || write_zip(writer, finished, names, manifest));
    // The biggest record types first (a workbook is saved once all its sheets are
    // written, so its sheets are best read together), each in sheet order.
    work.sort_by_key(|w| (std::cmp::Reverse(w.weight), w.record_type, w.part));
    let queue = Mutex::new(VecDeque::from(work));
    let rows_done = AtomicI64::new(0);

    let reading = async {
        let read = futures_util::future::try_join_all(
            lanes
                .into_iter()
                .map(|lane| read_lane(lane, &sheets, &queue, &rows_done, settings)),
        )
        .await;
        // After a failure, the sheets not yet read end too (their writers stop waiting).
        queue.lock().expect("the queue lock").clear();
        read
    };
    let writing = futures_util::future::join_all(writers);
    let zipping = async {
        zipping
            .await
            .context("the zip writer stopped")
            .and_then(|r| r)
    };
    let outcome = until_done_keeping_alive(
        tx,
        progress.while_running(futures_util::future::join3(reading, writing, zipping)),
    )
    .await
    .and_then(|(read, written, zipped)| first_cause(read, written, zipped));
    match outcome {
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

/// The export's outcome, reporting the first cause of a failure: the zip writer's
/// error, when a workbook writer stopped because it did; a workbook writer's own error,
/// when the reading stopped because a writer did; else the reading's.
fn first_cause(
    read: anyhow::Result<Vec<()>>,
    written: Vec<Result<anyhow::Result<()>, tokio::task::JoinError>>,
    zipped: anyhow::Result<String>,
) -> anyhow::Result<String> {
    let written = written
        .into_iter()
        .map(|w| w.context("the workbook writer stopped")?)
        .collect::<anyhow::Result<Vec<()>>>();
    match (read, written, zipped) {
        (Ok(_), Ok(_), zipped) => zipped,
        (_, Err(w), Err(z)) if w.chain().any(|c| c.is::<ZipStopped>()) => Err(z),
        (Err(e), Err(w), _) if e.chain().any(|c| c.is::<WriterStopped>()) => Err(w),
        (Err(e), _, _) => Err(e),
        (Ok(_), Err(w), _) => Err(w),
    }
}

/// One reading lane: takes sheets off the queue until it is empty.
async fn read_lane(
    mut tx: TenantTx,
    sheets: &[SheetSpec],
    queue: &Mutex<VecDeque<SheetRows>>,
    rows_done: &AtomicI64,
    settings: &Settings,
) -> anyhow::Result<()> {
    loop {
        let next = queue.lock().expect("the queue lock").pop_front();
        let Some(work) = next else { break };
        let sheet = &sheets[work.record_type];
        read_sheet(&mut tx, sheet, work, settings, rows_done)
            .await
            .with_context(|| format!("reading {}", sheet.file))?;
    }
    tx.commit().await?;
    Ok(())
}

/// Streams one sheet's rows to its writer in batches of whole lines.
async fn read_sheet(
    tx: &mut TenantTx,
    sheet: &SheetSpec,
    work: SheetRows,
    settings: &Settings,
    rows_done: &AtomicI64,
) -> anyhow::Result<()> {
    let parts = work.to_writer;
    // One COPY statement streams the rows, one line per message. While it runs the
    // connection is busy, not idle, so it needs no keeping alive.
    {
        let mut lines = db::copy_rows(tx, sheet, work.from, work.until).await?;
        let mut batch = BytesMut::new();
        let mut in_batch = 0i64;
        loop {
            let line = lines.next().await.transpose()?;
            let end = line.is_none();
            if let Some(line) = line {
                batch.extend_from_slice(&line);
                in_batch += 1;
            }
            if in_batch >= settings.batch_rows || (end && in_batch > 0) {
                let n = std::mem::take(&mut in_batch);
                if parts
                    .send(Part::Rows(batch.split().freeze()))
                    .await
                    .is_err()
                {
                    return Err(WriterStopped.into());
                }
                rows_done.fetch_add(n, Ordering::Relaxed);
            }
            if end {
                break;
            }
        }
    }
    send_keeping_alive(tx, &parts, Part::End).await
}

/// The blocking side of one record type: a thread per sheet writes its rows into the
/// workbook (constant-memory mode); long texts are kept aside and then written to the
/// Long text sheet; the workbook is saved to a temporary file.
fn write_workbook(
    parts: Vec<mpsc::Receiver<Part>>,
    title: &'static str,
    columns: Vec<Column>,
    max_rows: u32,
    rows_written: &AtomicI64,
) -> anyhow::Result<Written> {
    let formats = Formats::new();
    let mut workbook = Workbook::new();
    workbook.set_zip_compression_level(WORKBOOK_ZIP_LEVEL);
    let names: Vec<String> = (0..parts.len())
        .map(|n| match n {
            0 => title.to_owned(),
            n => format!("{title} ({})", n + 1),
        })
        .collect();
    for name in &names {
        workbook::add_sheet(&mut workbook, &formats, name, &columns)?;
    }
    let per_sheet = max_rows.clamp(2, EXCEL_MAX_ROWS) - 1;
    let written: Vec<SheetWritten> = std::thread::scope(|scope| {
        let threads: Vec<_> = workbook
            .worksheets_mut()
            .iter_mut()
            .zip(parts)
            .zip(&names)
            .map(|((sheet, rx), name)| {
                let columns = &columns;
                scope.spawn(move || write_sheet(sheet, rx, name, columns, per_sheet, rows_written))
            })
            .collect();
        threads
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| anyhow::bail!("a sheet writer failed"))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;

    let last_col = columns.len().saturating_sub(1) as u16;
    let mut sheets = Vec::new();
    for (index, (name, w)) in names.into_iter().zip(&written).enumerate() {
        workbook
            .worksheet_from_index(index)?
            .autofilter(0, 0, w.rows, last_col)?;
        sheets.push((name, w.rows));
    }
    // The Long text sheet, when some text did not fit its cell.
    let mut long: Option<SheetWriter> = None;
    for w in written {
        let Some(file) = w.long_texts else { continue };
        if long.is_none() {
            long = Some(SheetWriter::new(
                &mut workbook,
                &formats,
                LONG_TEXT_SHEET,
                long_text_columns(),
                max_rows,
            )?);
        }
        let long = long.as_mut().expect("made above");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(file);
        for record in reader.records() {
            let record = record?;
            let number = |i: usize| record[i].parse::<i64>().map(Cell::Int);
            long.write_row(
                &mut workbook,
                &formats,
                &[
                    Cell::Text(record[0].into()),
                    number(1)?,
                    Cell::Text(record[2].into()),
                    number(3)?,
                    Cell::Text(record[4].into()),
                ],
            )?;
        }
    }
    if let Some(long) = long {
        sheets.extend(long.finish(&mut workbook)?);
    }

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

/// One sheet's rows, and its long texts' further parts (sheet, row, column, part, text)
/// kept aside in a temporary file.
struct SheetWritten {
    rows: u32,
    long_texts: Option<File>,
}

/// Writes the rows a lane sends into one sheet, from row 2 (under the header).
fn write_sheet(
    sheet: &mut Worksheet,
    mut rx: mpsc::Receiver<Part>,
    name: &str,
    columns: &[Column],
    per_sheet: u32,
    rows_written: &AtomicI64,
) -> anyhow::Result<SheetWritten> {
    let mut rows = 0u32;
    let mut long_texts: Option<csv::Writer<File>> = None;
    loop {
        match rx.blocking_recv() {
            Some(Part::Rows(lines)) => {
                let lines = lines
                    .strip_suffix(b"\n")
                    .context("the COPY output ended inside a row")?;
                for line in lines.split(|&b| b == b'\n') {
                    anyhow::ensure!(rows < per_sheet, "more rows arrived than fit on {name}");
                    rows += 1;
                    let cells = copy_text::cells(line, columns, u64::from(rows))?;
                    let overflow = workbook::write_cells(sheet, rows, &cells)?;
                    for (col, text) in overflow {
                        let (first, rest) = workbook::split_long_text(text);
                        sheet.write_string(rows, col, &first)?;
                        if long_texts.is_none() {
                            long_texts = Some(csv::Writer::from_writer(tempfile::tempfile()?));
                        }
                        let out = long_texts.as_mut().expect("made above");
                        for (n, part) in rest.iter().enumerate() {
                            let (row, number) = ((rows + 1).to_string(), (n + 2).to_string());
                            let header = columns[usize::from(col)].header;
                            out.write_record([name, &row, header, &number, part])?;
                        }
                    }
                    rows_written.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(Part::End) => break,
            None => anyhow::bail!("the export stopped before it was complete"),
        }
    }
    let long_texts = match long_texts {
        Some(out) => {
            let mut file = out.into_inner().map_err(|e| e.into_error())?;
            file.seek(SeekFrom::Start(0))?;
            Some(file)
        }
        None => None,
    };
    Ok(SheetWritten { rows, long_texts })
}

type Zip = ZipWriter<zip::write::StreamWriter<HashingWriter<ChannelWriter>>>;

/// The blocking side of the zip: each workbook as it is finished (`names` gives each
/// record type's file name), then the README workbook and the manifest that also holds
/// the README's SHA-256. Returns the zip's SHA-256.
fn write_zip(
    writer: ChannelWriter,
    finished: std::sync::mpsc::Receiver<(usize, Written)>,
    names: Vec<&'static str>,
    mut manifest: Manifest,
) -> anyhow::Result<String> {
    let mut zip: Zip = ZipWriter::new_stream(HashingWriter::new(writer));
    // Workbooks are zips already: stored as they are.
    let stored = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(true);
    let mut entries: Vec<Option<FileEntry>> = names.iter().map(|_| None).collect();
    for _ in 0..names.len() {
        // Every writer gone before all workbooks came: the export failed elsewhere.
        let (index, mut w) = finished
            .recv()
            .context("the export stopped before every workbook was written")?;
        let name = names[index];
        zip.start_file(name, stored)?;
        std::io::copy(&mut w.file, &mut zip)?;
        entries[index] = Some(FileEntry {
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
    // The manifest lists the workbooks in their fixed order, whatever order they came in.
    manifest.files.extend(entries.into_iter().flatten());
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
