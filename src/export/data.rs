//! The data export: one workbook per record type in one zip, streamed to the
//! media store. The async side reads keyset batches and reports progress; a
//! blocking thread writes the workbooks (constant-memory mode) into the zip.

use std::io::Write;

use anyhow::Context as _;
use rust_xlsxwriter::Workbook;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use uuid::Uuid;
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

use super::{
    Resources, Settings,
    manifest::{FileEntry, Manifest, SheetCount, TenantInfo, readme_workbook},
    send_keeping_alive,
    stream::{ChannelWriter, HashingWriter, Upload, start_upload},
    workbook::{Formats, SheetWriter},
};
use crate::{
    auth::TenantTx,
    db::exports::{self as db, Cell, Column, ExportPart, SheetSpec},
    media::MediaKey,
};

pub(super) enum Msg {
    Begin(usize),
    Rows(Vec<(Uuid, Vec<Cell>)>),
    End,
    Finish,
}

/// The record types to export and their row counts.
pub async fn plan(tx: &mut TenantTx) -> sqlx::Result<(Vec<SheetSpec>, Vec<i64>)> {
    let with_inspections = db::table_exists(tx, "inspections").await?;
    let sheets = db::data_sheets(with_inspections);
    let counts = db::count_rows(tx, &sheets).await?;
    Ok((sheets, counts))
}

/// Writes the zip; returns the produced file (not yet recorded) and the rows written.
pub async fn produce(
    tx: &mut TenantTx,
    res: &Resources,
    settings: &Settings,
    progress: &super::Progress,
    sheets: Vec<SheetSpec>,
    tenant: TenantInfo,
) -> anyhow::Result<(ExportPart, i64)> {
    let made_at = OffsetDateTime::now_utc();
    let file_name = format!("plotcare-data-{}-{}.zip", tenant.slug, made_at.date());
    let key = MediaKey::new(tenant.id, "exports");
    let (writer, upload) = start_upload(&res.media, key.clone(), "application/zip");
    let aborter = writer.aborter();
    let (msg_tx, msg_rx) = mpsc::channel::<Msg>(2);
    let layout: Vec<(&'static str, &'static str, Vec<Column>)> = sheets
        .iter()
        .map(|s| (s.file, s.title, s.columns.clone()))
        .collect();
    let manifest = Manifest {
        kind: "data",
        made_at,
        tenant,
        files: Vec::new(),
    };
    let max_rows = settings.max_sheet_rows;
    let writer_task =
        tokio::task::spawn_blocking(move || write_zip(writer, msg_rx, layout, manifest, max_rows));

    let read = async {
        let mut rows_done = 0i64;
        for (i, sheet) in sheets.iter().enumerate() {
            send_keeping_alive(tx, &msg_tx, Msg::Begin(i)).await?;
            let mut after = Uuid::nil();
            loop {
                let batch = db::fetch_batch(tx, sheet, after, settings.batch_rows).await?;
                let n = batch.len() as i64;
                if let Some((last, _)) = batch.last() {
                    after = *last;
                }
                if n > 0 {
                    send_keeping_alive(tx, &msg_tx, Msg::Rows(batch)).await?;
                    rows_done += n;
                    progress.report(rows_done).await?;
                }
                if n < settings.batch_rows {
                    break;
                }
            }
            send_keeping_alive(tx, &msg_tx, Msg::End).await?;
        }
        send_keeping_alive(tx, &msg_tx, Msg::Finish).await?;
        anyhow::Ok(rows_done)
    };
    let read_result = read.await;
    drop(msg_tx);
    let written = writer_task.await.context("the zip writer stopped")?;
    let outcome = match (read_result, written) {
        (Ok(rows), Ok((sha256, _))) => Ok((sha256, rows)),
        (Err(e), _) | (Ok(_), Err(e)) => Err(e),
    };
    match outcome {
        Ok((sha256, rows)) => {
            drop(aborter);
            let size = finish_upload(upload).await?;
            Ok((
                ExportPart {
                    key: key.as_str().to_owned(),
                    file_name,
                    size_bytes: size,
                    sha256,
                },
                rows,
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

/// Waits for an upload to be stored; its size.
pub(super) async fn finish_upload(upload: Upload) -> anyhow::Result<u64> {
    Ok(upload.task.await.context("the upload stopped")??)
}

type Zip = ZipWriter<zip::write::StreamWriter<HashingWriter<ChannelWriter>>>;

/// The blocking side: workbooks into the zip as the batches arrive. Returns the zip's SHA-256 and size.
fn write_zip(
    writer: ChannelWriter,
    mut rx: mpsc::Receiver<Msg>,
    layout: Vec<(&'static str, &'static str, Vec<Column>)>,
    mut manifest: Manifest,
    max_rows: u32,
) -> anyhow::Result<(String, u64)> {
    let mut zip: Zip = ZipWriter::new_stream(HashingWriter::new(writer));
    let formats = Formats::new();
    let stored = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .large_file(true);
    let mut current: Option<(usize, Workbook, SheetWriter)> = None;
    loop {
        let Some(msg) = rx.blocking_recv() else {
            anyhow::bail!("the export stopped before it was complete");
        };
        match msg {
            Msg::Begin(i) => {
                let (_, title, columns) = &layout[i];
                let mut workbook = Workbook::new();
                let sheet =
                    SheetWriter::new(&mut workbook, &formats, title, columns.clone(), max_rows)?;
                current = Some((i, workbook, sheet));
            }
            Msg::Rows(rows) => {
                let (_, workbook, sheet) = current.as_mut().context("rows before their sheet")?;
                for (_, cells) in &rows {
                    sheet.write_row(workbook, &formats, cells)?;
                }
            }
            Msg::End => {
                let (i, mut workbook, sheet) = current.take().context("end before its sheet")?;
                let counts = sheet.finish(&mut workbook)?;
                let file = layout[i].0;
                zip.start_file(file, stored)?;
                let mut hashing = HashingWriter::new(&mut zip);
                workbook.save_to_writer(&mut hashing)?;
                hashing.flush()?;
                let (_, sha256, size) = hashing.finish();
                manifest.files.push(FileEntry {
                    name: file.to_owned(),
                    size_bytes: size,
                    sha256,
                    sheets: counts
                        .into_iter()
                        .map(|(name, rows)| SheetCount { name, rows })
                        .collect(),
                });
            }
            Msg::Finish => break,
        }
    }
    // The README workbook, then the manifest that also holds the README's SHA-256.
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
    let (writer, sha256, size) = zip.finish()?.into_inner().finish();
    writer.finish()?;
    Ok((sha256, size))
}
