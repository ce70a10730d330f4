//! The media export: every photo and document in its original format, in zip
//! parts of a configurable size, in folders scheme / plot / ticket or
//! inspection with safe file names, and an index workbook (in the last part)
//! that lists each file, its SHA-256 and what it belongs to.

use std::{collections::HashSet, io::Write};

use anyhow::Context as _;
use futures_util::StreamExt;
use rust_xlsxwriter::Workbook;
use time::OffsetDateTime;
use tokio::{runtime::Handle, sync::mpsc};
use uuid::Uuid;
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

use super::{
    Resources, Settings,
    manifest::{FileEntry, Manifest, SheetCount, TenantInfo, readme_workbook},
    send_keeping_alive,
    stream::{Aborter, ChannelWriter, HashingWriter, Upload, start_upload},
    workbook::{Formats, SheetWriter},
};
use crate::{
    auth::TenantTx,
    db::exports::{self as db, Cell, Column, ExportPart, Kind, MediaEntry},
    media::{MediaKey, MediaStore},
};

pub(super) enum Msg {
    Files(Vec<MediaEntry>),
    Finish,
}

/// Files and their total size.
pub async fn plan(tx: &mut TenantTx) -> sqlx::Result<i64> {
    let (count, _) = db::count_media(tx).await?;
    Ok(count)
}

/// A file or folder name that is safe on every system.
pub fn safe_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " .-_()+,&'".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    out = out.trim_matches(|c: char| c == '.' || c == ' ').to_owned();
    let stem = out
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    let reserved = [
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "LPT1", "LPT2", "LPT3",
    ];
    if out.is_empty() || reserved.contains(&stem.as_str()) {
        out = format!("_{out}");
    }
    out
}

/// The folder a file goes in: scheme / plot / ticket or inspection.
pub fn folder(entry: &MediaEntry) -> String {
    let scheme = match (&entry.scheme_name, &entry.scheme_code) {
        (Some(name), Some(code)) if !code.is_empty() => safe_name(&format!("{name} ({code})")),
        (Some(name), _) => safe_name(name),
        _ => "No scheme".to_owned(),
    };
    let plot = entry
        .plot_number
        .as_deref()
        .map(|p| safe_name(&format!("Plot {p}")))
        .unwrap_or_else(|| "No plot".into());
    let owner = match (&entry.ticket_number, &entry.inspection) {
        (Some(n), _) => ticket_ref(*n),
        (None, Some(i)) => safe_name(i),
        _ => "Unfiled".to_owned(),
    };
    format!("{scheme}/{plot}/{owner}")
}

fn ticket_ref(n: i64) -> String {
    format!("T-{n:05}")
}

/// `name` in `folder`, made unique among the names already used there.
fn unique_path(used: &mut HashSet<String>, folder: &str, name: &str) -> String {
    let name = safe_name(name);
    let (stem, ext) = match name.rfind('.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name.as_str(), ""),
    };
    let mut path = format!("{folder}/{name}");
    let mut n = 2;
    while !used.insert(path.to_lowercase()) {
        path = format!("{folder}/{stem} ({n}){ext}");
        n += 1;
    }
    path
}

fn index_columns() -> Vec<Column> {
    use Kind::*;
    let c = |header, kind, width| Column {
        header,
        kind,
        width,
    };
    vec![
        c("Zip part", Text, 34.0),
        c("Path in zip", Text, 60.0),
        c("Original file name", Text, 30.0),
        c("Content type", Text, 18.0),
        c("Size (bytes)", Int, 12.0),
        c("SHA-256", Text, 66.0),
        c("Scheme", Text, 26.0),
        c("Scheme code", Text, 12.0),
        c("Plot number", Text, 10.0),
        c("Ticket", Text, 10.0),
        c("Inspection", Text, 30.0),
        c("Comment id", Uuid, 38.0),
        c("Uploaded by", Text, 28.0),
        c("Uploaded at", DateTime, 19.0),
        c("File id", Uuid, 38.0),
        c("Note", Text, 30.0),
    ]
}

/// Writes the parts; returns them (not yet recorded) and the files written.
pub async fn produce(
    tx: &mut TenantTx,
    res: &Resources,
    settings: &Settings,
    progress: &super::Progress,
    tenant: TenantInfo,
) -> anyhow::Result<(Vec<ExportPart>, i64)> {
    let made_at = OffsetDateTime::now_utc();
    let (msg_tx, msg_rx) = mpsc::channel::<Msg>(2);
    let job = PartsJob {
        media: res.media.clone(),
        handle: Handle::current(),
        tenant: tenant.clone(),
        base_name: format!("plotcare-media-{}-{}", tenant.slug, made_at.date()),
        part_bytes: settings.media_part_bytes,
        max_rows: settings.max_sheet_rows,
        written: progress.written.clone(),
        tracker: progress.tracker(),
        manifest: Manifest {
            kind: "media",
            made_at,
            tenant,
            files: Vec::new(),
        },
    };
    let writer_task = tokio::task::spawn_blocking(move || job.run(msg_rx));

    let read = async {
        let mut done = 0i64;
        let mut after = Uuid::nil();
        loop {
            let batch = db::media_batch(tx, after, settings.media_batch).await?;
            let n = batch.len() as i64;
            if let Some(last) = batch.last() {
                after = last.id;
            }
            if n > 0 {
                send_keeping_alive(tx, &msg_tx, Msg::Files(batch)).await?;
                done += n;
            }
            if n < settings.media_batch {
                break;
            }
        }
        send_keeping_alive(tx, &msg_tx, Msg::Finish).await?;
        anyhow::Ok(done)
    };
    let read_result = progress.while_running(read).await;
    drop(msg_tx);
    let (written, uploads) = progress
        .while_running(writer_task)
        .await
        .context("the zip writer stopped")?;
    let outcome = match (read_result, written) {
        (Ok(files), Ok(parts)) => Ok((parts, files)),
        (Err(e), _) | (Ok(_), Err(e)) => Err(e),
    };
    let mut stored = Vec::new();
    let mut upload_error = None;
    for (upload, aborter) in uploads {
        if outcome.is_err() {
            aborter.abort("the media export failed");
        } else {
            drop(aborter);
        }
        let key = upload.key.clone();
        match upload
            .task
            .await
            .context("the upload stopped")
            .and_then(|r| Ok(r?))
        {
            Ok(size) => stored.push((key, size)),
            Err(e) => {
                let _ = res.media.delete(&key).await;
                upload_error.get_or_insert(e);
            }
        }
    }
    match (outcome, upload_error) {
        (Ok((mut parts, files)), None) => {
            for (part, (_, size)) in parts.iter_mut().zip(&stored) {
                part.size_bytes = *size;
            }
            Ok((parts, files))
        }
        (Err(e), _) | (Ok(_), Some(e)) => {
            for (key, _) in stored {
                let _ = res.media.delete(&key).await;
            }
            Err(e)
        }
    }
}

type Zip = ZipWriter<zip::write::StreamWriter<HashingWriter<ChannelWriter>>>;

struct OpenPart {
    zip: Zip,
    name: String,
    key: MediaKey,
    files: u32,
    /// Bytes of files copied in so far.
    bytes: u64,
}

struct PartsJob {
    media: MediaStore,
    handle: Handle,
    tenant: TenantInfo,
    base_name: String,
    part_bytes: u64,
    max_rows: u32,
    manifest: Manifest,
    /// Files copied into the zip so far (the export's progress).
    written: std::sync::Arc<std::sync::atomic::AtomicI64>,
    /// Records each part's upload before it starts.
    tracker: super::stream::Tracker,
}

impl PartsJob {
    /// The blocking side. Always returns the uploads it started, so the caller can finish or undo them.
    fn run(
        mut self,
        rx: mpsc::Receiver<Msg>,
    ) -> (anyhow::Result<Vec<ExportPart>>, Vec<(Upload, Aborter)>) {
        let mut uploads = Vec::new();
        let result = self.write(rx, &mut uploads);
        (result, uploads)
    }

    fn open_part(&self, number: usize, uploads: &mut Vec<(Upload, Aborter)>) -> OpenPart {
        let key = MediaKey::new(self.tenant.id, "exports");
        let (writer, upload) =
            start_upload(&self.media, &self.tracker, key.clone(), "application/zip");
        uploads.push((upload, writer.aborter()));
        OpenPart {
            zip: ZipWriter::new_stream(HashingWriter::new(writer)),
            name: format!("{}-part-{number:02}.zip", self.base_name),
            key,
            files: 0,
            bytes: 0,
        }
    }

    fn close_part(part: OpenPart) -> anyhow::Result<ExportPart> {
        let (writer, sha256, size) = part.zip.finish()?.into_inner().finish();
        writer.finish()?;
        Ok(ExportPart {
            key: part.key.as_str().to_owned(),
            file_name: part.name,
            size_bytes: size,
            sha256,
        })
    }

    fn write(
        &mut self,
        mut rx: mpsc::Receiver<Msg>,
        uploads: &mut Vec<(Upload, Aborter)>,
    ) -> anyhow::Result<Vec<ExportPart>> {
        let formats = Formats::new();
        let mut index = Workbook::new();
        let mut sheet = SheetWriter::new(
            &mut index,
            &formats,
            "Files",
            index_columns(),
            self.max_rows,
        )?;
        let mut parts = Vec::new();
        let mut part = self.open_part(1, uploads);
        // Paths already used, across all parts (so the parts unzip into one folder without clashes).
        let mut used = HashSet::new();
        loop {
            let Some(msg) = rx.blocking_recv() else {
                anyhow::bail!("the export stopped before it was complete");
            };
            let files = match msg {
                Msg::Files(files) => files,
                Msg::Finish => break,
            };
            for entry in files {
                if part.files > 0 && part.bytes >= self.part_bytes {
                    let next = self.open_part(parts.len() + 2, uploads);
                    parts.push(Self::close_part(std::mem::replace(&mut part, next))?);
                }
                let path = unique_path(&mut used, &folder(&entry), &entry.original_name);
                let (sha256, note) = self.copy_file(&mut part, &path, &entry)?;
                sheet.write_row(
                    &mut index,
                    &formats,
                    &[
                        Cell::Text(part.name.as_str().into()),
                        if note.is_some() {
                            Cell::Empty
                        } else {
                            Cell::Text(path.into())
                        },
                        Cell::Text(entry.original_name.as_str().into()),
                        Cell::Text(entry.content_type.as_str().into()),
                        Cell::Int(entry.size_bytes),
                        sha256.map(|s| Cell::Text(s.into())).unwrap_or(Cell::Empty),
                        opt(&entry.scheme_name),
                        opt(&entry.scheme_code),
                        opt(&entry.plot_number),
                        entry
                            .ticket_number
                            .map(|n| Cell::Text(ticket_ref(n).into()))
                            .unwrap_or(Cell::Empty),
                        opt(&entry.inspection),
                        entry
                            .comment_id
                            .map(|c| Cell::Text(c.to_string().into()))
                            .unwrap_or(Cell::Empty),
                        opt(&entry.uploaded_by),
                        Cell::DateTime(entry.created_at),
                        Cell::Text(entry.id.to_string().into()),
                        note.map(|n| Cell::Text(n.into())).unwrap_or(Cell::Empty),
                    ],
                )?;
                self.written
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        // The index workbook and the manifest go in the last part.
        let counts = sheet.finish(&mut index)?;
        let stored = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(true);
        part.zip.start_file("index.xlsx", stored)?;
        let mut hashing = HashingWriter::new(&mut part.zip);
        index.save_to_writer(&mut hashing)?;
        let (_, sha256, size) = hashing.finish();
        self.manifest.files.push(FileEntry {
            name: "index.xlsx".into(),
            size_bytes: size,
            sha256,
            sheets: counts
                .into_iter()
                .map(|(name, rows)| SheetCount { name, rows })
                .collect(),
        });
        for earlier in &parts {
            self.manifest.files.push(FileEntry {
                name: earlier.file_name.clone(),
                size_bytes: earlier.size_bytes,
                sha256: earlier.sha256.clone(),
                sheets: Vec::new(),
            });
        }
        let mut readme = readme_workbook(&self.manifest, "Plotcare media export")?;
        part.zip.start_file("README.xlsx", stored)?;
        readme.save_to_writer(&mut part.zip)?;
        part.zip.start_file(
            "manifest.json",
            SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
        )?;
        part.zip.write_all(&self.manifest.to_json())?;
        parts.push(Self::close_part(part)?);
        Ok(parts)
    }

    /// Copies one stored object into the part; its SHA-256, or a note why it is missing.
    fn copy_file(
        &self,
        part: &mut OpenPart,
        path: &str,
        entry: &MediaEntry,
    ) -> anyhow::Result<(Option<String>, Option<&'static str>)> {
        let Some(key) =
            MediaKey::parse(&entry.storage_key).filter(|k| k.tenant_id() == self.tenant.id)
        else {
            return Ok((None, Some("not in the media store")));
        };
        let object = match self.handle.block_on(self.media.get(&key)) {
            Ok(o) => o,
            Err(crate::media::MediaError::NotFound) => {
                return Ok((None, Some("not in the media store")));
            }
            Err(e) => return Err(e.into()),
        };
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(entry.size_bytes >= 0xFFFF_0000);
        part.zip.start_file(path, options)?;
        let mut hashing = HashingWriter::new(&mut part.zip);
        let mut body = object.body;
        while let Some(chunk) = self.handle.block_on(body.next()) {
            hashing.write_all(&chunk?)?;
        }
        let (_, sha256, size) = hashing.finish();
        part.files += 1;
        part.bytes += size;
        Ok((Some(sha256), None))
    }
}

fn opt(value: &Option<String>) -> Cell<'_> {
    value
        .as_deref()
        .map(|v| Cell::Text(v.into()))
        .unwrap_or(Cell::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_made_safe_and_unique() {
        assert_eq!(safe_name("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_name("con.txt"), "_con.txt");
        assert_eq!(safe_name("Bathroom tap 1.jpg"), "Bathroom tap 1.jpg");
        let mut used = HashSet::new();
        assert_eq!(unique_path(&mut used, "a", "x.jpg"), "a/x.jpg");
        assert_eq!(unique_path(&mut used, "a", "X.jpg"), "a/X (2).jpg");
        assert_eq!(unique_path(&mut used, "b", "x.jpg"), "b/x.jpg");
    }
}
