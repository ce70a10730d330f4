//! S3 multipart uploads: bodies cut into parts of exactly the part size, and uploads
//! aborted when they do not complete.

use std::{io, pin::Pin};

use aws_sdk_s3::{
    Client,
    primitives::ByteStream as S3ByteStream,
    types::{CompletedMultipartUpload, CompletedPart},
};
use bytes::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use super::{MediaError, MediaKey, s3_error};

/// Cuts a body into parts of exactly `part_size` bytes (the last one smaller, possibly
/// empty). The body is fused and never polled again once it ended.
pub(super) struct PartReader<S> {
    body: Pin<Box<futures_util::stream::Fuse<S>>>,
    pub(super) part_size: usize,
    /// Bytes read beyond the last part (a chunk that straddled the boundary).
    carry: Bytes,
    /// The body has ended: what is left is `carry`.
    ended: bool,
}

impl<S> PartReader<S>
where
    S: Stream<Item = io::Result<Bytes>> + Send,
{
    pub(super) fn new(body: S, part_size: usize) -> Self {
        PartReader {
            body: Box::pin(body.fuse()),
            part_size,
            carry: Bytes::new(),
            ended: false,
        }
    }

    /// The next part: `part_size` bytes, or fewer when the body ended.
    pub(super) async fn next_part(&mut self) -> io::Result<Bytes> {
        let mut part = BytesMut::with_capacity(self.part_size);
        let take = self.carry.len().min(self.part_size);
        part.extend_from_slice(&self.carry.split_to(take));
        while part.len() < self.part_size && !self.ended {
            match self.body.next().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    let need = self.part_size - part.len();
                    if chunk.len() > need {
                        part.extend_from_slice(&chunk[..need]);
                        self.carry = chunk.slice(need..);
                    } else {
                        part.extend_from_slice(&chunk);
                    }
                }
                None => self.ended = true,
            }
        }
        Ok(part.freeze())
    }

    /// Nothing more will come: the body ended and no bytes are carried over.
    pub(super) fn is_done(&self) -> bool {
        self.ended && self.carry.is_empty()
    }
}

/// Aborts a multipart upload when dropped while armed (the upload future was dropped or panicked).
pub(super) struct AbortOnDrop {
    pub(super) client: Client,
    pub(super) bucket: String,
    pub(super) key: String,
    pub(super) upload_id: String,
    pub(super) armed: bool,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let (client, bucket, key, upload_id) = (
            self.client.clone(),
            std::mem::take(&mut self.bucket),
            std::mem::take(&mut self.key),
            std::mem::take(&mut self.upload_id),
        );
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move { abort_upload(&client, &bucket, &key, &upload_id).await });
            }
            Err(_) => {
                tracing::warn!(upload_id = %upload_id, "a multipart upload was dropped outside the runtime and not aborted");
            }
        }
    }
}

pub(super) async fn abort_upload(client: &Client, bucket: &str, key: &str, upload_id: &str) {
    if let Err(e) = client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
    {
        tracing::warn!(upload_id = %upload_id, error = %s3_error(e), "could not abort a multipart upload");
    }
}

pub(super) async fn upload_parts<S>(
    client: &Client,
    bucket: &str,
    key: &MediaKey,
    upload_id: &str,
    first: Bytes,
    parts_in: &mut PartReader<S>,
) -> Result<u64, MediaError>
where
    S: Stream<Item = io::Result<Bytes>> + Send,
{
    let mut parts = Vec::new();
    let mut size = 0u64;
    let mut next = first;
    let mut number = 1;
    loop {
        let last = next.len() < parts_in.part_size || parts_in.is_done();
        size += next.len() as u64;
        let uploaded = client
            .upload_part()
            .bucket(bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .part_number(number)
            .body(S3ByteStream::from(next))
            .send()
            .await
            .map_err(s3_error)?;
        parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(uploaded.e_tag().map(str::to_owned))
                .build(),
        );
        if last {
            break;
        }
        next = parts_in.next_part().await?;
        if next.is_empty() {
            break;
        }
        number += 1;
    }
    client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key.as_str())
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .map_err(s3_error)?;
    Ok(size)
}
