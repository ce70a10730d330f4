//! The media store, on both backends: a local directory and a real
//! S3-protocol server. Each behaviour runs the same body against each.

use std::{io, time::Duration};

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use plotcare::{
    config::Secret,
    media::{Download, MediaError, MediaKey, MediaStore, PART_SIZE},
};
use reqwest::{StatusCode, header};
use uuid::Uuid;

use crate::common::{
    TestApp,
    s3::{PART_SIZE as S3_PART, S3Server},
};

/// A local store in its own temporary directory (kept alive by the returned guard).
async fn local_store() -> (MediaStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = MediaStore::local(
        dir.path(),
        Secret::new("a-test-signing-key-of-at-least-32-chars"),
    )
    .await
    .unwrap();
    (store, dir)
}

/// Bytes that differ from position to position, so a misplaced chunk shows.
fn sample(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

/// `data` as a stream of `chunk`-sized pieces, like an upload arriving.
fn chunks(data: &[u8], chunk: usize) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let pieces: Vec<io::Result<Bytes>> = data
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    stream::iter(pieces)
}

async fn read_back(
    store: &MediaStore,
    key: &MediaKey,
) -> Result<(Option<u64>, Vec<u8>), MediaError> {
    let object = store.get(key).await?;
    let mut body = object.body;
    let mut all = Vec::new();
    while let Some(chunk) = body.next().await {
        all.extend_from_slice(&chunk?);
    }
    Ok((object.size, all))
}

fn key() -> MediaKey {
    MediaKey::new(Uuid::new_v4(), "tickets")
}

// ---- shared bodies ----

async fn a_stored_file_reads_back_byte_for_byte(store: &MediaStore) {
    let data = sample(200_000);
    let key = key();
    let size = store
        .put(&key, "image/jpeg", chunks(&data, 7_000))
        .await
        .unwrap();
    assert_eq!(size, data.len() as u64);
    let (reported, back) = read_back(store, &key).await.unwrap();
    assert_eq!(reported, Some(data.len() as u64));
    assert!(
        back == data,
        "the file read back differs from the one stored"
    );
}

async fn a_deleted_or_never_stored_file_is_not_found(store: &MediaStore) {
    let key = key();
    store
        .put(&key, "text/plain", chunks(b"delete me", 4))
        .await
        .unwrap();
    store.delete(&key).await.unwrap();
    assert!(matches!(
        read_back(store, &key).await,
        Err(MediaError::NotFound)
    ));
    // Deleting again is not an error.
    store.delete(&key).await.unwrap();

    let never = MediaKey::new(Uuid::new_v4(), "documents");
    assert!(matches!(
        read_back(store, &never).await,
        Err(MediaError::NotFound)
    ));
}

/// Returns the key, so a backend's test can look closer.
async fn a_file_larger_than_one_part_round_trips_intact(store: &MediaStore) -> MediaKey {
    let data = sample(17 * 1024 * 1024);
    assert!(data.len() > 2 * PART_SIZE);
    let key = key();
    let size = store
        .put(&key, "application/pdf", chunks(&data, 64 * 1024))
        .await
        .unwrap();
    assert_eq!(size, data.len() as u64);
    let (reported, back) = read_back(store, &key).await.unwrap();
    assert_eq!(reported, Some(data.len() as u64));
    assert_eq!(back.len(), data.len());
    assert!(
        back == data,
        "the large file read back differs from the one stored"
    );
    key
}

// ---- local directory ----

#[tokio::test]
async fn local_a_stored_file_reads_back_byte_for_byte() {
    let (store, _dir) = local_store().await;
    a_stored_file_reads_back_byte_for_byte(&store).await;
}

#[tokio::test]
async fn local_a_deleted_or_never_stored_file_is_not_found() {
    let (store, _dir) = local_store().await;
    a_deleted_or_never_stored_file_is_not_found(&store).await;
}

#[tokio::test]
async fn local_a_file_larger_than_one_part_round_trips_intact() {
    let (store, _dir) = local_store().await;
    a_file_larger_than_one_part_round_trips_intact(&store).await;
}

// ---- S3 ----

#[tokio::test]
async fn s3_a_stored_file_reads_back_byte_for_byte() {
    let s3 = S3Server::start().await;
    a_stored_file_reads_back_byte_for_byte(&s3.store).await;
}

#[tokio::test]
async fn s3_a_deleted_or_never_stored_file_is_not_found() {
    let s3 = S3Server::start().await;
    a_deleted_or_never_stored_file_is_not_found(&s3.store).await;
}

#[tokio::test]
async fn s3_a_file_larger_than_one_part_round_trips_intact() {
    let s3 = S3Server::start().await;
    let key = a_file_larger_than_one_part_round_trips_intact(&s3.store).await;
    // It went up as a multipart upload of four parts (5 + 5 + 5 + 2 MiB), with its content type.
    let head = s3
        .client
        .head_object()
        .bucket(&s3.bucket)
        .key(key.as_str())
        .send()
        .await
        .unwrap();
    assert!(
        head.e_tag()
            .unwrap_or_default()
            .trim_matches('"')
            .ends_with("-4"),
        "{:?}",
        head.e_tag()
    );
    assert_eq!(head.content_type(), Some("application/pdf"));
}

/// A body like the export's: `stream::unfold`, which panics if polled after its end.
fn strict_chunks(data: Vec<u8>, chunk: usize) -> impl Stream<Item = io::Result<Bytes>> + Send {
    stream::unfold((data, 0usize), move |(data, at)| async move {
        if at >= data.len() {
            return None;
        }
        let end = (at + chunk).min(data.len());
        Some((Ok(Bytes::copy_from_slice(&data[at..end])), (data, end)))
    })
}

/// Stores `len` bytes on S3 from a strict body and checks the object: content, part count, nothing left over.
/// `expected_parts` is None for a single put.
async fn s3_round_trip(len: usize, chunk: usize, expected_parts: Option<usize>) {
    let s3 = S3Server::start().await;
    let data = sample(len);
    let key = key();
    let size = s3
        .store
        .put(&key, "application/zip", strict_chunks(data.clone(), chunk))
        .await
        .unwrap();
    assert_eq!(size, len as u64);
    let (reported, back) = read_back(&s3.store, &key).await.unwrap();
    assert_eq!(reported, Some(len as u64));
    assert!(
        back == data,
        "the object read back differs from the one stored"
    );
    let head = s3
        .client
        .head_object()
        .bucket(&s3.bucket)
        .key(key.as_str())
        .send()
        .await
        .unwrap();
    let etag = head
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned();
    if let Some(parts) = expected_parts {
        assert!(etag.ends_with(&format!("-{parts}")), "{etag}");
    } else {
        assert!(!etag.contains('-'), "{etag}");
    }
    assert!(
        s3.unfinished_uploads().is_empty(),
        "{:?}",
        s3.unfinished_uploads()
    );
    assert_eq!(s3.keys().await, [key.as_str().to_owned()]);
}

#[tokio::test]
async fn s3_an_object_of_three_parts_exactly_is_stored_in_three_parts() {
    s3_round_trip(3 * S3_PART, 64 * 1024, Some(3)).await;
}

#[tokio::test]
async fn s3_a_final_part_smaller_than_the_rest_is_stored_intact() {
    // Chunks that straddle the part boundaries.
    s3_round_trip(3 * S3_PART + 12_345, 100_003, Some(4)).await;
}

#[tokio::test]
async fn s3_an_object_of_one_part_exactly_is_stored() {
    s3_round_trip(S3_PART, 1_000_000, Some(1)).await;
}

#[tokio::test]
async fn s3_an_object_just_under_one_part_is_a_single_put() {
    s3_round_trip(S3_PART - 1, 1_000_000, None).await;
}

/// `good` bytes, then an error.
fn failing_after(good: usize) -> impl Stream<Item = io::Result<Bytes>> + Send {
    let data = sample(good);
    strict_chunks(data, 256 * 1024)
        .chain(stream::iter([Err(io::Error::other("the writer stopped"))]))
}

#[tokio::test]
async fn s3_a_body_that_fails_midway_leaves_no_object_and_no_unfinished_upload() {
    let s3 = S3Server::start().await;
    let key = key();
    let result = s3
        .store
        .put(
            &key,
            "application/zip",
            failing_after(2 * S3_PART + S3_PART / 2),
        )
        .await;
    assert!(result.is_err());
    assert!(
        s3.unfinished_uploads().is_empty(),
        "{:?}",
        s3.unfinished_uploads()
    );
    assert!(s3.keys().await.is_empty());
    assert!(matches!(
        read_back(&s3.store, &key).await,
        Err(MediaError::NotFound)
    ));
}

#[tokio::test]
async fn s3_an_upload_dropped_or_panicking_midway_is_aborted() {
    let s3 = S3Server::start().await;
    // Dropped: the body stalls after two parts' worth and the upload is cancelled.
    let stalled = strict_chunks(sample(2 * S3_PART + 1000), 256 * 1024).chain(stream::pending());
    let store = s3.store.clone();
    let task = tokio::spawn(async move { store.put(&key(), "application/zip", stalled).await });
    for _ in 0..100 {
        if s3.unfinished_uploads().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !s3.unfinished_uploads().is_empty(),
        "the upload never started"
    );
    task.abort();
    let _ = task.await;
    assert!(
        s3.wait_until_no_unfinished_uploads().await.is_empty(),
        "a dropped upload was left unfinished"
    );

    // Panicking: the body panics after a part and a half.
    let panicking =
        strict_chunks(sample(S3_PART + S3_PART / 2), 256 * 1024).chain(stream::poll_fn(
            |_| -> std::task::Poll<Option<io::Result<Bytes>>> { panic!("a body that panics") },
        ));
    let store = s3.store.clone();
    let outcome =
        tokio::spawn(async move { store.put(&key(), "application/zip", panicking).await }).await;
    assert!(outcome.unwrap_err().is_panic());
    assert!(
        s3.wait_until_no_unfinished_uploads().await.is_empty(),
        "a panicking upload was left unfinished"
    );
    assert!(s3.keys().await.is_empty());
}

// ---- download links ----

const REPORT: Download<'static> = Download {
    filename: "Plot 12 report.pdf",
    content_type: "application/pdf",
    inline: false,
};

#[tokio::test]
async fn s3_a_presigned_link_downloads_the_file_under_its_name() {
    let s3 = S3Server::start().await;
    let data = sample(300_000);
    let key = key();
    s3.store
        .put(&key, "application/pdf", chunks(&data, 50_000))
        .await
        .unwrap();

    let url = s3
        .store
        .download_url(&key, &REPORT, Duration::from_secs(300))
        .await
        .unwrap();
    assert!(url.starts_with(&s3.endpoint), "{url}");
    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"Plot 12 report.pdf\""
    );
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/pdf");
    assert!(response.bytes().await.unwrap() == data);

    // A link whose signature was altered is refused by the server.
    let tampered = tamper_signature(&url, "X-Amz-Signature");
    assert_eq!(
        reqwest::get(&tampered).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn local_a_signed_link_downloads_the_file_under_its_name() {
    let app = TestApp::spawn().await;
    let data = sample(300_000);
    let key = key();
    app.state
        .media
        .put(&key, "application/pdf", chunks(&data, 50_000))
        .await
        .unwrap();

    let link = app
        .state
        .media
        .download_url(&key, &REPORT, Duration::from_secs(300))
        .await
        .unwrap();
    assert!(link.starts_with("/media/download?"), "{link}");
    let response = reqwest::get(app.url(&link)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/pdf");
    assert_eq!(
        response.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"Plot 12 report.pdf\""
    );
    assert!(response.bytes().await.unwrap() == data);
}

#[tokio::test]
async fn local_a_tampered_or_expired_link_is_not_found() {
    let app = TestApp::spawn().await;
    let key = key();
    app.state
        .media
        .put(&key, "image/png", chunks(b"not really a png", 8))
        .await
        .unwrap();
    let image = Download {
        filename: "front door.png",
        content_type: "image/png",
        inline: true,
    };

    let link = app
        .state
        .media
        .download_url(&key, &image, Duration::from_secs(300))
        .await
        .unwrap();
    let tampered = tamper_signature(&link, "signature");
    let (status, body) = app.client().page(&tampered).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("not really a png"));
    // Changing what the link says (here the file name) breaks the signature too.
    let renamed = link.replace("filename=front+door.png", "filename=evil.html");
    assert_ne!(renamed, link);
    assert_eq!(
        app.client().get(&renamed).await.status(),
        StatusCode::NOT_FOUND
    );

    let expiring = app
        .state
        .media
        .download_url(&key, &image, Duration::ZERO)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        app.client().get(&expiring).await.status(),
        StatusCode::NOT_FOUND
    );
    // The untouched, unexpired link still works.
    assert_eq!(app.client().get(&link).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn with_media_in_s3_the_local_download_route_serves_nothing() {
    let s3 = S3Server::start().await;
    let app = TestApp::spawn_with(crate::common::Options {
        media: Some(s3.store.clone()),
        ..Default::default()
    })
    .await;
    assert_eq!(app.state.media.backend_name(), "s3");
    let key = key();
    app.state
        .media
        .put(&key, "text/plain", chunks(b"in the bucket", 5))
        .await
        .unwrap();
    let link = format!(
        "/media/download?key={}&expires=99999999999&filename=a.txt&content_type=text%2Fplain&inline=false&signature=00",
        key.as_str()
    );
    assert_eq!(
        app.client().get(&link).await.status(),
        StatusCode::NOT_FOUND
    );
}

/// `url` with the value of query parameter `name` changed in its last character.
fn tamper_signature(url: &str, name: &str) -> String {
    let marker = format!("{name}=");
    let start = url.find(&marker).expect("signature parameter") + marker.len();
    let end = url[start..].find('&').map_or(url.len(), |i| start + i);
    let mut signature = url[start..end].to_owned();
    let last = signature.pop().unwrap();
    signature.push(if last == '0' { '1' } else { '0' });
    format!("{}{}{}", &url[..start], signature, &url[end..])
}
