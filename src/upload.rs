//! The one upload path: a photo or document from a form's file field into the
//! media store, used by ticket files (and the photos attached to comments or
//! sent from the subcontractor portal) and inspection photos.
//!
//! 1. The caller checks what it can first (the record the file goes on, the
//!    fields the browser sent before the file) in a short transaction, and
//!    commits it: no transaction is open while a file streams.
//! 2. [`receive`] judges the file by its content ([`crate::domain::file_type`]),
//!    counts it against the upload limit and streams it to the store. A zip is
//!    spooled to a temporary file first, so that its parts can be checked
//!    before anything is stored; a photo gets its thumbnail.
//! 3. The caller records it in one short transaction, then calls
//!    [`Upload::recorded`].
//!
//! Until it is recorded, what was stored belongs to the [`Upload`]: when a
//! later field is refused, the record fails, or the request is cancelled or
//! times out, the upload is dropped and its objects are removed.

use std::io::{self, Seek, SeekFrom};

use axum::{
    extract::{
        Multipart,
        multipart::{Field, MultipartError},
    },
    http::StatusCode,
};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt, stream};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};
use tokio_util::io::ReaderStream;
use uuid::Uuid;

use crate::{
    AppError, AppState, Result,
    domain::file_type::{self, FileType, Head, SNIFF_LEN},
    media::{MediaError, MediaKey, MediaStore},
    thumbnails,
};

/// The longest original file name kept.
const MAX_NAME: usize = 255;
/// Where thumbnails are kept.
const THUMBNAIL_FOLDER: &str = "thumbnails";

/// What a form's file field takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Photos, PDFs, videos and Office documents.
    Documents,
    /// Photos only.
    Photos,
}

/// Where an upload goes and what it takes.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The media store folder, a fixed word (see [`MediaKey::new`]).
    pub folder: &'static str,
    pub accept: Accept,
    /// Whether photos get a thumbnail.
    pub thumbnails: bool,
}

/// Why a file was refused; the caller shows the message by the file field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No file was chosen (or it was empty).
    Empty,
    TooLarge,
    /// Not a kind this field takes: the message says which kinds are.
    WrongType(&'static str),
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::WrongType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::Empty => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    pub fn message(&self, limit_bytes: usize) -> String {
        match self {
            Refusal::TooLarge => format!(
                "That file is larger than the {} MB limit.",
                limit_bytes / (1024 * 1024)
            ),
            Refusal::WrongType(why) => (*why).to_owned(),
            Refusal::Empty => "Choose a photo or document to upload.".to_owned(),
        }
    }
}

/// A file in the media store that no row records yet. Dropped before
/// [`Upload::recorded`], it removes what it stored.
pub struct Upload {
    /// The name the browser gave, cleaned (shown in lists; downloads take the type's extension).
    pub name: String,
    pub kind: FileType,
    pub size: u64,
    pub key: MediaKey,
    pub thumbnail_key: Option<MediaKey>,
    unrecorded: Unrecorded,
}

impl Upload {
    pub fn content_type(&self) -> &'static str {
        self.kind.content_type()
    }

    /// The row is committed: the objects are no longer this upload's to remove.
    pub fn recorded(mut self) {
        self.unrecorded.keys.clear();
    }

    /// Removes the stored objects now (rather than from the drop).
    pub async fn discard(mut self) {
        self.unrecorded.remove_now().await;
    }
}

/// A copy of a stored object for another record (a ticket raised from an inspection
/// takes the item's photos). Removed when dropped, unless the record was committed.
pub struct StoredCopy {
    pub key: MediaKey,
    pub size: u64,
    unrecorded: Unrecorded,
}

impl StoredCopy {
    /// The row referring to the copy is committed.
    pub fn recorded(mut self) {
        self.unrecorded.keys.clear();
    }
}

/// Copies `source` (streamed) to a new key in `folder`.
pub async fn copy(
    media: &MediaStore,
    source: &MediaKey,
    tenant: Uuid,
    folder: &'static str,
    content_type: &str,
) -> Result<StoredCopy> {
    let mut unrecorded = Unrecorded::new(media);
    let key = MediaKey::new(tenant, folder);
    unrecorded.keys.push(key.clone());
    let object = media.get(source).await?;
    match media.put(&key, content_type, object.body).await {
        Ok(size) => Ok(StoredCopy {
            key,
            size,
            unrecorded,
        }),
        Err(e) => {
            unrecorded.remove_now().await;
            Err(e.into())
        }
    }
}

/// Objects stored for a request that has not recorded them. Removed when dropped.
struct Unrecorded {
    media: MediaStore,
    keys: Vec<MediaKey>,
}

impl Unrecorded {
    fn new(media: &MediaStore) -> Self {
        Unrecorded {
            media: media.clone(),
            keys: Vec::new(),
        }
    }

    async fn remove_now(&mut self) {
        remove(&self.media, std::mem::take(&mut self.keys)).await;
    }
}

impl Drop for Unrecorded {
    fn drop(&mut self) {
        if self.keys.is_empty() {
            return;
        }
        let keys = std::mem::take(&mut self.keys);
        let media = self.media.clone();
        match tokio::runtime::Handle::try_current() {
            // A cancelled request cannot await: the removal runs on its own.
            Ok(runtime) => {
                runtime.spawn(async move { remove(&media, keys).await });
            }
            Err(_) => {
                for key in &keys {
                    tracing::warn!(
                        key = key.as_str(),
                        "an unrecorded upload was left in the media store"
                    );
                }
            }
        }
    }
}

async fn remove(media: &MediaStore, keys: Vec<MediaKey>) {
    for key in keys {
        if let Err(e) = media.delete(&key).await {
            tracing::warn!(error = %e, key = key.as_str(), "could not remove an unrecorded upload");
        }
    }
}

/// Receives one file field: judged by its content, limited, stored (outside any transaction).
/// A refusal leaves nothing stored; the caller shows it and [`drain`]s the rest of the form.
pub async fn receive(
    state: &AppState,
    tenant: Uuid,
    rules: Rules,
    mut field: Field<'_>,
) -> Result<std::result::Result<Upload, Refusal>> {
    let name = clean_name(field.file_name().unwrap_or_default());
    let mut head = BytesMut::new();
    while head.len() < SNIFF_LEN {
        match field.chunk().await.map_err(field_error)? {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => break,
        }
    }
    if head.is_empty() {
        return Ok(Err(Refusal::Empty));
    }
    let wrong_type = Refusal::WrongType(match rules.accept {
        Accept::Documents => file_type::REFUSED,
        Accept::Photos => file_type::REFUSED_NOT_PHOTO,
    });
    let limit = state.config.max_upload_bytes as u64;
    let body = limited(head.freeze(), field, limit);
    let head_kind = file_type::identify(body.head());
    let (kind, body): (FileType, BodySource) = match (head_kind, rules.accept) {
        (Head::Known(kind), Accept::Photos) if !kind.is_image() => return Ok(Err(wrong_type)),
        (Head::Known(kind), _) => (kind, BodySource::Stream(body)),
        (Head::Zip, Accept::Documents) => match spool_office_document(body).await? {
            Ok((kind, file)) => (kind, BodySource::File(file)),
            Err(refusal) => return Ok(Err(refusal.unwrap_or(wrong_type))),
        },
        (Head::CompoundFile, Accept::Documents) => {
            return Ok(Err(Refusal::WrongType(file_type::REFUSED_COMPOUND)));
        }
        _ => return Ok(Err(wrong_type)),
    };

    let mut unrecorded = Unrecorded::new(&state.media);
    let key = MediaKey::new(tenant, rules.folder);
    unrecorded.keys.push(key.clone());
    let stored = match body {
        BodySource::Stream(body) => {
            state
                .media
                .put(&key, kind.content_type(), body.stream)
                .await
        }
        BodySource::File(file) => {
            state
                .media
                .put(&key, kind.content_type(), ReaderStream::new(file))
                .await
        }
    };
    let size = match stored {
        Ok(size) => size,
        Err(e) => {
            unrecorded.remove_now().await;
            return match e {
                MediaError::Io(io) if io.kind() == io::ErrorKind::FileTooLarge => {
                    Ok(Err(Refusal::TooLarge))
                }
                MediaError::Io(io) if io.kind() == io::ErrorKind::ConnectionAborted => {
                    Err(broken_upload())
                }
                other => Err(other.into()),
            };
        }
    };
    let thumbnail_key = if rules.thumbnails && kind.has_thumbnail() {
        let thumbnail = MediaKey::new(tenant, THUMBNAIL_FOLDER);
        unrecorded.keys.push(thumbnail.clone());
        make_thumbnail(&state.media, &key, &thumbnail, kind)
            .await
            .then_some(thumbnail)
    } else {
        None
    };
    Ok(Ok(Upload {
        name,
        kind,
        size,
        key,
        thumbnail_key,
        unrecorded,
    }))
}

/// Where the stored bytes come from: the form itself, or the temporary file a zip was checked in.
enum BodySource<'a> {
    Stream(Limited<'a>),
    File(tokio::fs::File),
}

type BodyStream<'a> = std::pin::Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send + 'a>>;

/// The file field's bytes (the sniffed head first), failing once they pass the limit.
struct Limited<'a> {
    head: Bytes,
    stream: BodyStream<'a>,
}

impl Limited<'_> {
    fn head(&self) -> &[u8] {
        &self.head
    }
}

fn limited(head: Bytes, field: Field<'_>, limit: u64) -> Limited<'_> {
    let mut seen = 0u64;
    let first = head.clone();
    let stream = stream::once(async move { Ok::<Bytes, MultipartError>(first) })
        .chain(field)
        .map(move |chunk| {
            let chunk = chunk.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    io::Error::new(io::ErrorKind::FileTooLarge, e)
                } else {
                    // The browser's upload broke off: its problem, not the store's.
                    io::Error::new(io::ErrorKind::ConnectionAborted, e)
                }
            })?;
            seen += chunk.len() as u64;
            if seen > limit {
                return Err(io::Error::new(
                    io::ErrorKind::FileTooLarge,
                    "the upload is larger than the limit",
                ));
            }
            Ok(chunk)
        });
    Limited {
        head,
        stream: Box::pin(stream),
    }
}

/// Spools a zip to a temporary file (bounded by the upload limit) and checks it is a real
/// Office document. `Err(None)` means not an Office document; `Err(Some(_))` another refusal.
async fn spool_office_document(
    mut body: Limited<'_>,
) -> Result<std::result::Result<(FileType, tokio::fs::File), Option<Refusal>>> {
    let internal =
        |e: io::Error| AppError::Internal(anyhow::Error::new(e).context("spooling an upload"));
    let spool = tempfile::tempfile().map_err(internal)?;
    let mut file = tokio::fs::File::from_std(spool.try_clone().map_err(internal)?);
    while let Some(chunk) = body.stream.next().await {
        match chunk {
            Ok(chunk) => file.write_all(&chunk).await.map_err(internal)?,
            Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
                return Ok(Err(Some(Refusal::TooLarge)));
            }
            Err(_) => return Err(broken_upload()),
        }
    }
    file.flush().await.map_err(internal)?;
    let kind = tokio::task::spawn_blocking(move || {
        let mut spool = spool;
        spool.seek(SeekFrom::Start(0))?;
        Ok::<_, io::Error>(file_type::office_document(io::BufReader::new(&mut spool)))
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(internal)?;
    let Some(kind) = kind else {
        return Ok(Err(None));
    };
    file.seek(SeekFrom::Start(0)).await.map_err(internal)?;
    Ok(Ok((kind, file)))
}

/// Makes and stores a photo's thumbnail under `thumbnail`. A photo that cannot be decoded just has none.
async fn make_thumbnail(
    media: &MediaStore,
    original: &MediaKey,
    thumbnail: &MediaKey,
    kind: FileType,
) -> bool {
    let result: anyhow::Result<bool> = async {
        // A place to decode is taken before the photo is read into memory.
        let slot = thumbnails::decode_slot().await;
        let object = media.get(original).await?;
        let mut body = object.body;
        let mut bytes = Vec::with_capacity(object.size.unwrap_or(0).try_into().unwrap_or(0));
        while let Some(chunk) = body.next().await {
            bytes.extend_from_slice(&chunk?);
        }
        let Some(jpeg) = thumbnails::make_bounded(slot, bytes, kind).await? else {
            return Ok(false);
        };
        media
            .put(
                thumbnail,
                thumbnails::CONTENT_TYPE,
                stream::once(async move { Ok(Bytes::from(jpeg)) }),
            )
            .await?;
        Ok(true)
    }
    .await;
    result.unwrap_or_else(|e| {
        tracing::warn!(error = %e, key = original.as_str(), "no thumbnail for this photo");
        false
    })
}

/// Reads the rest of a refused request (bounded by the body limit), so the browser gets the answer.
pub async fn drain(multipart: &mut Multipart) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

/// A short text field of a multipart form, of at most `max` bytes.
pub async fn small_text(field: &mut Field<'_>, max: usize) -> Result<String> {
    let mut bytes = BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(field_error)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > max {
            return Err(AppError::BadRequest(
                "A field of the form is longer than the form allows.".into(),
            ));
        }
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|_| AppError::BadRequest("The form held text that is not UTF-8.".into()))
}

/// How a broken multipart body is answered.
pub fn field_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::PayloadTooLarge("That upload is too large.".into())
    } else {
        broken_upload()
    }
}

fn broken_upload() -> AppError {
    AppError::BadRequest("The upload did not arrive complete. Please try again.".into())
}

/// The name the browser gave, without any folder, control characters or excess length.
pub fn clean_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = base
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    let name = name.trim();
    if name.is_empty() {
        "upload".to_owned()
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_folders_and_control_characters() {
        assert_eq!(clean_name("C:\\Users\\ann\\IMG 1.jpg"), "IMG 1.jpg");
        assert_eq!(clean_name("../../etc/pass\0wd"), "passwd");
        assert_eq!(clean_name(" \u{7} "), "upload");
        assert_eq!(clean_name(&"a".repeat(300)).len(), MAX_NAME);
    }
}
