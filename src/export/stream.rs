//! The bridge from a blocking zip writer to the media store's streaming upload:
//! bytes go through a bounded channel in chunks, so memory stays a few
//! megabytes however large the zip grows.

use std::io::{self, Write};

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};
use tokio::{sync::mpsc, task::JoinHandle};

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    auth::{TenantId, TenantTx},
    db,
    media::{MediaError, MediaKey, MediaStore},
};

/// Bytes are sent in chunks of this size.
const CHUNK: usize = 256 * 1024;
/// Chunks in flight between the writer and the upload.
const CHANNEL_CHUNKS: usize = 8;

/// A `Write` that feeds a running upload. Call [`ChannelWriter::finish`] to end
/// the object, or [`ChannelWriter::abort`] so the upload fails and leaves nothing behind.
pub struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: BytesMut,
    written: u64,
}

/// An upload in progress: the object appears under `key` only if the stream ended cleanly.
pub struct Upload {
    pub key: MediaKey,
    pub task: JoinHandle<Result<u64, MediaError>>,
}

/// Records, on its own connection, what an export attempt writes to the media store
/// (`export_uploads`), so a rerun after a crash can remove what it left.
#[derive(Clone)]
pub struct Tracker {
    pub pool: PgPool,
    pub tenant: TenantId,
    pub export_id: Uuid,
    pub attempt_id: Uuid,
}

impl Tracker {
    async fn started(&self, key: &MediaKey) -> sqlx::Result<Uuid> {
        let mut tx = TenantTx::begin(&self.pool, self.tenant).await?;
        let id = db::exports::record_upload(&mut tx, self.export_id, self.attempt_id, key.as_str())
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn multipart(&self, row: Uuid, upload_id: &str) -> sqlx::Result<()> {
        let mut tx = TenantTx::begin(&self.pool, self.tenant).await?;
        db::exports::record_multipart(&mut tx, row, upload_id).await?;
        tx.commit().await
    }
}

/// Starts uploading a new object under `key`, recorded by `tracker` before any byte goes;
/// returns the writer that feeds it.
pub fn start_upload(
    media: &MediaStore,
    tracker: &Tracker,
    key: MediaKey,
    content_type: &'static str,
) -> (ChannelWriter, Upload) {
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_CHUNKS);
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let media = media.clone();
    let upload_key = key.clone();
    let tracker = tracker.clone();
    let task = tokio::spawn(async move {
        // Unrecorded, a crash would leave the object behind: refuse to write it.
        let row = tracker.started(&upload_key).await.map_err(|e| {
            MediaError::Io(io::Error::other(format!(
                "could not record the upload before starting it: {e}"
            )))
        })?;
        let note = |upload_id: String| async move {
            if let Err(e) = tracker.multipart(row, &upload_id).await {
                tracing::warn!(error = %e, "could not record an export's multipart upload");
            }
        };
        media
            .put_noting(&upload_key, content_type, body, note)
            .await
    });
    (
        ChannelWriter {
            tx,
            buf: BytesMut::with_capacity(CHUNK),
            written: 0,
        },
        Upload { key, task },
    )
}

impl ChannelWriter {
    fn send_buffer(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = self.buf.split().freeze();
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the upload to the media store stopped",
            )
        })
    }

    /// Sends what is buffered and ends the object.
    pub fn finish(mut self) -> io::Result<u64> {
        self.send_buffer()?;
        Ok(self.written)
    }

    /// A handle that can still fail the upload after this writer is gone. Drop it once the
    /// writer finished cleanly: the upload ends only when both are gone.
    pub fn aborter(&self) -> Aborter {
        Aborter(self.tx.clone())
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        self.written += data.len() as u64;
        if self.buf.len() >= CHUNK {
            self.send_buffer()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Fails an upload (from async code), so the media store keeps no partial object.
pub struct Aborter(mpsc::Sender<io::Result<Bytes>>);

impl Aborter {
    pub fn abort(self, why: &str) {
        let tx = self.0;
        let error = || io::Error::other(why.to_owned());
        // try_send never blocks; when the channel is full, a task delivers the error.
        if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(Err(error())) {
            let error = error();
            tokio::spawn(async move {
                let _ = tx.send(Err(error)).await;
            });
        }
    }
}

/// A `Write` that passes bytes on and keeps their SHA-256 and count.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    pub bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// The inner writer and the hex SHA-256 of everything written.
    pub fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.bytes)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.hasher.update(&data[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
