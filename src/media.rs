//! The media store: photos and documents, in S3 in production or in a local
//! directory on a bare machine. Both backends stream: an upload to S3 is sent
//! in parts of exactly the part size (S3_PART_MB, default 8, at least 5; the
//! last part is smaller) and a download is read chunk by chunk, so memory never
//! grows with the size of a file. A multipart upload that does not complete (an
//! error, a panic, or the upload being dropped) is aborted, so nothing is left.
//!
//! Keys are made here, never from a user-supplied name:
//! `tenants/{tenant_id}/{folder}/{uuid}`.

use std::{
    io,
    path::{Path, PathBuf},
    pin::Pin,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use aws_sdk_s3::{Client, presigning::PresigningConfig, primitives::ByteStream as S3ByteStream};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;
use uuid::Uuid;

use crate::config::{MediaConfig, Secret};

mod s3;
use s3::{AbortOnDrop, PartReader, abort_upload, upload_parts};

/// The default S3 part size: 8 MiB keeps requests few and memory small.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// S3's smallest multipart part (all but the last part must be at least this).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

pub type BodyStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("no such object")]
    NotFound,
    #[error("media i/o: {0}")]
    Io(#[from] io::Error),
    #[error("s3: {0}")]
    S3(String),
}

/// A missing object is not found; any other failure means the store cannot be reached or
/// written (S3 down or stalled, a full or read-only disk): the styled 503, "try again".
impl From<MediaError> for crate::error::AppError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::NotFound => crate::error::AppError::NotFound,
            other => {
                tracing::warn!(error = %other, "the media store is unavailable");
                crate::error::AppError::Unavailable
            }
        }
    }
}

fn s3_error(e: impl std::error::Error + Send + Sync + 'static) -> MediaError {
    // The SDK's Display is terse; the source chain says what actually failed.
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    MediaError::S3(message)
}

/// Where an object lives. Only the server makes keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaKey(String);

impl MediaKey {
    /// A fresh key under the tenant's prefix. `folder` is a fixed word chosen by the code, e.g. "tickets".
    pub fn new(tenant_id: Uuid, folder: &'static str) -> Self {
        debug_assert!(folder.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'));
        MediaKey(format!("tenants/{tenant_id}/{folder}/{}", Uuid::new_v4()))
    }

    /// Accepts only keys of the shape [`MediaKey::new`] makes (for keys read back from the database or a signed link).
    pub fn parse(key: &str) -> Option<Self> {
        let mut parts = key.split('/');
        let ok = parts.next() == Some("tenants")
            && parts.next().and_then(|t| Uuid::parse_str(t).ok()).is_some()
            && parts.next().is_some_and(|f| {
                !f.is_empty() && f.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
            })
            && parts
                .next()
                .and_then(|id| Uuid::parse_str(id).ok())
                .is_some()
            && parts.next().is_none();
        ok.then(|| MediaKey(key.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tenant the key belongs to.
    pub fn tenant_id(&self) -> Uuid {
        Uuid::parse_str(self.0.split('/').nth(1).expect("checked shape")).expect("checked shape")
    }
}

/// An object being read back.
pub struct StoredObject {
    pub size: Option<u64>,
    pub body: BodyStream,
}

/// How a download link presents the file.
#[derive(Debug, Clone)]
pub struct Download<'a> {
    /// Shown to the user's browser as the file name; never used as a path.
    pub filename: &'a str,
    pub content_type: &'a str,
    /// Images show in the page; everything else is an attachment.
    pub inline: bool,
}

impl Download<'_> {
    fn content_disposition(&self) -> String {
        let safe: String = self
            .filename
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || ".-_ ()".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let kind = if self.inline && shows_inline(self.content_type) {
            "inline"
        } else {
            "attachment"
        };
        format!("{kind}; filename=\"{safe}\"")
    }
}

/// The only types a browser is asked to show in the page: raster images, PDF and video.
/// Anything else (HTML, SVG, scripts) is downloaded, whatever a link asks for, so uploaded
/// bytes never run as a page of the app's origin.
pub fn shows_inline(content_type: &str) -> bool {
    const INLINE: [&str; 9] = [
        "image/jpeg",
        "image/png",
        "image/webp",
        "image/gif",
        "image/heic",
        "application/pdf",
        "video/mp4",
        "video/quicktime",
        "video/webm",
    ];
    INLINE
        .iter()
        .any(|t| t.eq_ignore_ascii_case(content_type.trim()))
}

#[derive(Clone)]
pub enum MediaStore {
    S3 {
        client: Client,
        bucket: String,
        /// Bytes per multipart part (from S3_PART_MB); at least [`MIN_PART_SIZE`].
        part_size: usize,
    },
    Local {
        dir: PathBuf,
        signing_key: Secret,
    },
}

impl MediaStore {
    /// Builds the store the configuration asks for. S3 credentials come from the standard AWS chain.
    pub async fn from_config(media: &MediaConfig, signing_key: &Secret) -> io::Result<Self> {
        match media {
            MediaConfig::S3 {
                bucket,
                region,
                endpoint_url,
                force_path_style,
                part_size,
            } => {
                let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .region(aws_config::Region::new(region.clone()))
                    .load()
                    .await;
                let mut builder =
                    aws_sdk_s3::config::Builder::from(&shared).force_path_style(*force_path_style);
                if let Some(url) = endpoint_url {
                    builder = builder.endpoint_url(url);
                }
                Ok(MediaStore::S3 {
                    client: Client::from_conf(builder.build()),
                    bucket: bucket.clone(),
                    part_size: (*part_size).max(MIN_PART_SIZE),
                })
            }
            MediaConfig::Local { dir } => Self::local(dir, signing_key.clone()).await,
        }
    }

    pub async fn local(dir: &Path, signing_key: Secret) -> io::Result<Self> {
        tokio::fs::create_dir_all(dir).await?;
        Ok(MediaStore::Local {
            dir: dir.to_path_buf(),
            signing_key,
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            MediaStore::S3 { .. } => "s3",
            MediaStore::Local { .. } => "local",
        }
    }

    /// Stores `body` under `key`, returning its size in bytes. Memory use is bounded by the part size.
    /// The body is never polled after it ended.
    pub async fn put<S>(
        &self,
        key: &MediaKey,
        content_type: &str,
        body: S,
    ) -> Result<u64, MediaError>
    where
        S: Stream<Item = io::Result<Bytes>> + Send,
    {
        self.put_noting(key, content_type, body, |_| async {}).await
    }

    /// [`put`](Self::put), telling `on_multipart` the id of an S3 multipart upload as soon as
    /// it exists (and before any part goes up), so a caller that may die mid-upload can
    /// record it and have [`discard`](Self::discard) abort it later.
    pub async fn put_noting<S, F, Fut>(
        &self,
        key: &MediaKey,
        content_type: &str,
        body: S,
        on_multipart: F,
    ) -> Result<u64, MediaError>
    where
        S: Stream<Item = io::Result<Bytes>> + Send,
        F: FnOnce(String) -> Fut + Send,
        Fut: std::future::Future<Output = ()> + Send,
    {
        match self {
            MediaStore::Local { dir, .. } => {
                let mut body = std::pin::pin!(body);
                let path = dir.join(key.as_str());
                let parent = path.parent().expect("keys have folders");
                tokio::fs::create_dir_all(parent).await?;
                // Write beside the target and rename, so a reader never sees half a file.
                let partial = partial_path(&path);
                // Removed unless renamed into place: on an error, and when the upload is dropped.
                let mut unfinished = PartialFile(Some(partial.clone()));
                let result = async {
                    let mut file = tokio::fs::File::create(&partial).await?;
                    let mut size = 0u64;
                    while let Some(chunk) = body.next().await {
                        let chunk = chunk?;
                        size += chunk.len() as u64;
                        file.write_all(&chunk).await?;
                    }
                    file.sync_all().await?;
                    tokio::fs::rename(&partial, &path).await?;
                    Ok::<_, io::Error>(size)
                }
                .await;
                if result.is_ok() {
                    unfinished.0 = None;
                }
                Ok(result?)
            }
            MediaStore::S3 {
                client,
                bucket,
                part_size,
            } => {
                let mut parts = PartReader::new(body, *part_size);
                let first = parts.next_part().await?;
                if first.len() < *part_size {
                    let size = first.len() as u64;
                    client
                        .put_object()
                        .bucket(bucket)
                        .key(key.as_str())
                        .content_type(content_type)
                        .body(S3ByteStream::from(first))
                        .send()
                        .await
                        .map_err(s3_error)?;
                    return Ok(size);
                }
                let upload = client
                    .create_multipart_upload()
                    .bucket(bucket)
                    .key(key.as_str())
                    .content_type(content_type)
                    .send()
                    .await
                    .map_err(s3_error)?;
                let upload_id = upload.upload_id().unwrap_or_default().to_owned();
                // Aborts the upload if this future is dropped or a panic unwinds through it.
                let mut guard = AbortOnDrop {
                    client: client.clone(),
                    bucket: bucket.clone(),
                    key: key.as_str().to_owned(),
                    upload_id: upload_id.clone(),
                    armed: true,
                };
                on_multipart(upload_id.clone()).await;
                let result = upload_parts(client, bucket, key, &upload_id, first, &mut parts).await;
                guard.armed = false;
                if result.is_err() {
                    abort_upload(client, bucket, key.as_str(), &upload_id).await;
                }
                result
            }
        }
    }

    /// Reads an object back as a stream.
    pub async fn get(&self, key: &MediaKey) -> Result<StoredObject, MediaError> {
        match self {
            MediaStore::Local { dir, .. } => {
                let file = match tokio::fs::File::open(dir.join(key.as_str())).await {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        return Err(MediaError::NotFound);
                    }
                    Err(e) => return Err(e.into()),
                };
                let size = file.metadata().await?.len();
                Ok(StoredObject {
                    size: Some(size),
                    body: Box::pin(ReaderStream::new(file)),
                })
            }
            MediaStore::S3 { client, bucket, .. } => {
                let output = match client
                    .get_object()
                    .bucket(bucket)
                    .key(key.as_str())
                    .send()
                    .await
                {
                    Ok(o) => o,
                    Err(e) => {
                        let service = e.into_service_error();
                        if service.is_no_such_key() {
                            return Err(MediaError::NotFound);
                        }
                        return Err(s3_error(service));
                    }
                };
                let size = output.content_length().and_then(|n| u64::try_from(n).ok());
                let reader = output.body.into_async_read();
                Ok(StoredObject {
                    size,
                    body: Box::pin(ReaderStream::new(reader)),
                })
            }
        }
    }

    /// Removes an object. Removing a missing object is not an error.
    pub async fn delete(&self, key: &MediaKey) -> Result<(), MediaError> {
        match self {
            MediaStore::Local { dir, .. } => {
                match tokio::fs::remove_file(dir.join(key.as_str())).await {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
                    _ => Ok(()),
                }
            }
            MediaStore::S3 { client, bucket, .. } => {
                client
                    .delete_object()
                    .bucket(bucket)
                    .key(key.as_str())
                    .send()
                    .await
                    .map_err(s3_error)?;
                Ok(())
            }
        }
    }

    /// Removes whatever an upload to `key` that may have died left: its unfinished S3
    /// multipart upload `upload_id` (aborted), a half-written local file, and the object
    /// itself if it was finished. Whatever is already gone counts as removed.
    pub async fn discard(&self, key: &MediaKey, upload_id: Option<&str>) -> Result<(), MediaError> {
        match self {
            MediaStore::Local { dir, .. } => {
                match tokio::fs::remove_file(partial_path(&dir.join(key.as_str()))).await {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
            MediaStore::S3 { client, bucket, .. } => {
                if let Some(upload_id) = upload_id {
                    let aborted = client
                        .abort_multipart_upload()
                        .bucket(bucket)
                        .key(key.as_str())
                        .upload_id(upload_id)
                        .send()
                        .await;
                    if let Err(e) = aborted {
                        let gone = e.as_service_error().is_some_and(|e| e.is_no_such_upload());
                        if !gone {
                            return Err(s3_error(e));
                        }
                    }
                }
            }
        }
        self.delete(key).await
    }

    /// A short-lived link that downloads the object. Call only after an access check.
    ///
    /// S3 gives a pre-signed GET URL; the local store gives a link to
    /// `/media/...` signed with the secret key, served by `web::media`.
    pub async fn download_url(
        &self,
        key: &MediaKey,
        download: &Download<'_>,
        ttl: Duration,
    ) -> Result<String, MediaError> {
        match self {
            MediaStore::S3 { client, bucket, .. } => {
                let presigning = PresigningConfig::expires_in(ttl).map_err(s3_error)?;
                let request = client
                    .get_object()
                    .bucket(bucket)
                    .key(key.as_str())
                    .response_content_disposition(download.content_disposition())
                    .response_content_type(download.content_type)
                    .presigned(presigning)
                    .await
                    .map_err(s3_error)?;
                Ok(request.uri().to_string())
            }
            MediaStore::Local { signing_key, .. } => {
                let expires = unix_now() + ttl.as_secs();
                let link = LocalLink {
                    key: key.clone(),
                    expires,
                    filename: download.filename.to_owned(),
                    content_type: download.content_type.to_owned(),
                    inline: download.inline,
                };
                Ok(link.to_url(signing_key))
            }
        }
    }

    /// Checks a local download link and opens the file it names.
    pub async fn open_local_link(
        &self,
        link: &LocalLink,
        signature: &str,
    ) -> Result<(StoredObject, String), MediaError> {
        let MediaStore::Local { signing_key, .. } = self else {
            return Err(MediaError::NotFound);
        };
        let expected = link.signature(signing_key);
        let valid: bool =
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), signature.as_bytes()).into();
        if !valid || link.expires < unix_now() {
            return Err(MediaError::NotFound);
        }
        let disposition = Download {
            filename: &link.filename,
            content_type: &link.content_type,
            inline: link.inline,
        }
        .content_disposition();
        Ok((self.get(&link.key).await?, disposition))
    }
}

/// Where the local store writes `path` before renaming it into place: a hidden file
/// beside it, named after it, so a later run can find what a dead one left.
fn partial_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.partial"))
}

/// A half-written local file, removed when dropped unless it was renamed into place.
struct PartialFile(Option<PathBuf>);

impl Drop for PartialFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The fields of a signed local download link.
#[derive(Debug, Clone)]
pub struct LocalLink {
    pub key: MediaKey,
    pub expires: u64,
    pub filename: String,
    pub content_type: String,
    pub inline: bool,
}

impl LocalLink {
    fn signature(&self, secret: &Secret) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("any key length");
        for part in [
            self.key.as_str(),
            &self.expires.to_string(),
            &self.filename,
            &self.content_type,
            if self.inline { "1" } else { "0" },
        ] {
            mac.update(part.as_bytes());
            mac.update(&[0]);
        }
        hex::encode(mac.finalize().into_bytes())
    }

    fn to_url(&self, secret: &Secret) -> String {
        let query = serde_urlencoded_pairs(&[
            ("key", self.key.as_str()),
            ("expires", &self.expires.to_string()),
            ("filename", &self.filename),
            ("content_type", &self.content_type),
            ("inline", if self.inline { "true" } else { "false" }),
            ("signature", &self.signature(secret)),
        ]);
        format!("/media/download?{query}")
    }
}

fn serde_urlencoded_pairs(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_made_under_the_tenant_prefix() {
        let tenant = Uuid::new_v4();
        let key = MediaKey::new(tenant, "tickets");
        assert!(
            key.as_str()
                .starts_with(&format!("tenants/{tenant}/tickets/"))
        );
        assert_eq!(key.tenant_id(), tenant);
        assert_eq!(MediaKey::parse(key.as_str()), Some(key));
    }

    #[test]
    fn user_supplied_paths_are_not_keys() {
        let t = Uuid::new_v4();
        for bad in [
            "../etc/passwd".to_string(),
            format!("tenants/{t}/tickets/../../x"),
            format!("tenants/{t}/Tickets/{}", Uuid::new_v4()),
            format!("tenants/{t}/tickets/{}/x", Uuid::new_v4()),
            format!("/tenants/{t}/tickets/{}", Uuid::new_v4()),
        ] {
            assert!(MediaKey::parse(&bad).is_none(), "{bad}");
        }
    }

    /// A body that panics if polled after its end (as `stream::unfold` does).
    fn strict_body(total: usize, chunk: usize) -> impl Stream<Item = io::Result<Bytes>> + Send {
        futures_util::stream::unfold(0usize, move |sent| async move {
            (sent < total).then(|| {
                let n = chunk.min(total - sent);
                (Ok(Bytes::from(vec![(sent % 251) as u8; n])), sent + n)
            })
        })
    }

    async fn part_sizes(total: usize, chunk: usize, part: usize) -> Vec<usize> {
        let mut reader = PartReader::new(strict_body(total, chunk), part);
        let mut sizes = Vec::new();
        loop {
            let next = reader.next_part().await.unwrap();
            let short = next.len() < part;
            if !next.is_empty() {
                sizes.push(next.len());
            }
            if short || reader.is_done() {
                break;
            }
        }
        sizes
    }

    #[tokio::test]
    async fn parts_are_exactly_the_part_size_and_the_body_is_not_polled_after_its_end() {
        // Chunks that straddle part boundaries.
        assert_eq!(
            part_sizes(3 * 1000 + 1, 333, 1000).await,
            [1000, 1000, 1000, 1]
        );
        // An exact multiple, with chunks that divide it and chunks that do not.
        assert_eq!(part_sizes(3000, 250, 1000).await, [1000, 1000, 1000]);
        assert_eq!(part_sizes(3000, 700, 1000).await, [1000, 1000, 1000]);
        // One chunk larger than several parts.
        assert_eq!(part_sizes(2500, 5000, 1000).await, [1000, 1000, 500]);
        assert!(part_sizes(0, 10, 1000).await.is_empty());
    }

    #[test]
    fn only_images_pdf_and_video_show_inline() {
        let disposition = |content_type| {
            Download {
                filename: "f",
                content_type,
                inline: true,
            }
            .content_disposition()
        };
        for shown in ["image/jpeg", "application/pdf", "video/mp4", "IMAGE/PNG"] {
            assert!(disposition(shown).starts_with("inline;"), "{shown}");
        }
        for downloaded in [
            "text/html",
            "image/svg+xml",
            "application/javascript",
            "image/png, text/html",
            "",
        ] {
            assert!(
                disposition(downloaded).starts_with("attachment;"),
                "{downloaded}"
            );
        }
    }

    #[test]
    fn file_names_in_headers_are_made_safe() {
        let d = Download {
            filename: "a\"b\r\n.pdf",
            content_type: "application/pdf",
            inline: false,
        };
        assert_eq!(
            d.content_disposition(),
            "attachment; filename=\"a_b__.pdf\""
        );
    }
}
