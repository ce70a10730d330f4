//! The one upload path as people meet it: files are accepted by their content
//! (an Office document by the parts inside its zip), downloads take the
//! extension of that content, nothing stored outlives a refused, failed,
//! cancelled or timed-out upload (checked object by object against the rows,
//! on the local store and on an S3-protocol server), and a media store that is
//! down, stalled or unwritable answers the styled 503 page.

use std::{
    io::{Cursor, Write},
    time::Duration,
};

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use plotcare::{domain::Role, media::MediaStore};
use reqwest::{StatusCode, header};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use uuid::Uuid;

use crate::{
    comments::create_ticket,
    common::{Options, TestApp, TestClient, TestTenant, s3, s3::S3Server},
    inspections,
};

// ---------------------------------------------------------------- files to upload

pub(crate) fn png() -> Vec<u8> {
    let image = image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    for (name, content) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

/// A minimal real Word document (what Word itself needs to open it).
fn docx() -> Vec<u8> {
    zip_of(&[
        (
            "[Content_Types].xml",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#,
        ),
        (
            "word/document.xml",
            br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Snagging list</w:t></w:r></w:p></w:body></w:document>"#,
        ),
    ])
}

/// A runnable Java archive: a zip with a manifest and a class.
fn jar() -> Vec<u8> {
    zip_of(&[
        (
            "META-INF/MANIFEST.MF",
            &b"Manifest-Version: 1.0\nMain-Class: Setup\n"[..],
        ),
        ("Setup.class", &[0xCA, 0xFE, 0xBA, 0xBE, 0, 0, 0, 52][..]),
    ])
}

/// The first sector of a compound file, as an .msi installer (or an old .doc) starts.
fn compound_file() -> Vec<u8> {
    let mut v = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    v.resize(4096, 0);
    v
}

// ---------------------------------------------------------------- posting forms

/// A multipart body of parts in the order given: (name, Some(filename), bytes) for files.
pub(crate) fn body_of(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = format!("----plotcare{}", Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (name, file, data) in parts {
        match file {
            Some(file) => body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n").bytes()),
            None => body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").bytes()),
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn post_parts(
    client: &TestClient,
    path: &str,
    parts: &[(&str, Option<&str>, &[u8])],
) -> reqwest::Response {
    let token = client.csrf_token().await;
    let (content_type, body) = body_of(parts);
    client
        .http
        .post(client.url(&format!("{path}?csrf_token={token}")))
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn upload_file(
    client: &TestClient,
    ticket: Uuid,
    name: &str,
    data: &[u8],
) -> reqwest::Response {
    post_parts(
        client,
        &format!("/tickets/{ticket}/files"),
        &[("file", Some(name), data)],
    )
    .await
}

// ---------------------------------------------------------------- the orphan check

/// Every object key in the store (and, on S3, every unfinished multipart upload).
async fn stored_keys(app: &TestApp, s3: Option<&S3Server>) -> (Vec<String>, usize) {
    match s3 {
        Some(s3) => {
            let listed = s3
                .client
                .list_objects_v2()
                .bucket(&s3.bucket)
                .send()
                .await
                .unwrap();
            let keys = listed
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect();
            // s3s-fs has no list_multipart_uploads: look at its directory.
            let uploads = s3.unfinished_uploads().len();
            (keys, uploads)
        }
        None => {
            fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
                for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        walk(&path, root, out);
                    } else {
                        out.push(path.strip_prefix(root).unwrap().display().to_string());
                    }
                }
            }
            let mut keys = Vec::new();
            walk(app.media_dir.path(), app.media_dir.path(), &mut keys);
            (keys, 0)
        }
    }
}

/// Every key a row records.
async fn recorded_keys(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT storage_key FROM media_files
         UNION ALL SELECT thumbnail_key FROM media_files WHERE thumbnail_key IS NOT NULL
         UNION ALL SELECT storage_key FROM inspection_photos",
    )
    .fetch_all(&app.admin_pool)
    .await
    .unwrap()
}

/// Waits (generously) until the store holds exactly the recorded objects and no unfinished upload.
pub(crate) async fn assert_no_orphans(app: &TestApp, s3: Option<&S3Server>, after: &str) {
    let mut last = (Vec::new(), Vec::new(), 0);
    for _ in 0..100 {
        let (mut stored, uploads) = stored_keys(app, s3).await;
        let mut recorded = recorded_keys(app).await;
        stored.sort();
        recorded.sort();
        if stored == recorded && uploads == 0 {
            return;
        }
        last = (stored, recorded, uploads);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "after {after}: stored {:?}, recorded {:?}, unfinished multipart uploads {}",
        last.0, last.1, last.2
    );
}

// ---------------------------------------------------------------- by content

#[tokio::test]
async fn only_real_office_documents_pass_as_office_files_and_downloads_take_the_real_extension() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let company = app.create_company(&acme, "Pipes Ltd").await;
    let ticket = create_ticket(&app, &acme, Some(company)).await;
    let sub = app
        .sign_in(
            &app.create_user(&acme, Role::Subcontractor, Some(company), false)
                .await,
        )
        .await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;

    // A subcontractor's .jar, .msi, .hta and a plain zip are refused, each saying why.
    let refusals = [
        (
            "photos.jar",
            jar(),
            "an Office document (.docx, .xlsx, .pptx)",
        ),
        (
            "setup.msi",
            compound_file(),
            "Older Office files (.doc, .xls, .ppt)",
        ),
        (
            "run.hta",
            b"<html><script>alert(1)</script></html>".to_vec(),
            "That file type isn",
        ),
        (
            "photos.zip",
            zip_of(&[("1.jpg", &png()[..])]),
            "That file type isn",
        ),
    ];
    for (name, data, message) in refusals {
        let response = upload_file(&sub, ticket, name, &data).await;
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{name}"
        );
        let body = response.text().await.unwrap();
        assert!(body.contains(message), "{name}: {body}");
    }
    assert_eq!(app.count("SELECT count(*) FROM media_files").await, 0);
    assert_no_orphans(&app, None, "the refused files").await;

    // A real Word document and a PNG named .jar are accepted, and download under their real type.
    for (name, data, stored_type, download) in [
        (
            "Snag list.docx",
            docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "attachment; filename=\"Snag list.docx\"",
        ),
        (
            "photos.jar",
            png(),
            "image/png",
            "inline; filename=\"photos.png\"",
        ),
    ] {
        let response = upload_file(&sub, ticket, name, &data).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{name}");
        let (id, content_type): (Uuid, String) = sqlx::query_as(
            "SELECT id, content_type FROM media_files ORDER BY created_at DESC, id DESC LIMIT 1",
        )
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
        assert_eq!(content_type, stored_type, "{name}");
        let link = staff.get(&format!("/tickets/{ticket}/files/{id}")).await;
        assert_eq!(link.status(), StatusCode::SEE_OTHER);
        let location = link.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .to_owned();
        let file = reqwest::get(app.url(&location)).await.unwrap();
        assert_eq!(file.status(), StatusCode::OK);
        assert_eq!(
            file.headers()[header::CONTENT_DISPOSITION],
            download,
            "{name}"
        );
        assert_eq!(file.bytes().await.unwrap().as_ref(), &data[..], "{name}");
    }
    assert_no_orphans(&app, None, "the accepted files").await;
}

// ---------------------------------------------------------------- no orphans

/// Every way an upload can be refused after (or while) its file is stored, on one store.
async fn refused_uploads_leave_nothing_stored(app: &TestApp, s3: Option<&S3Server>) {
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(app, &acme, None).await;
    let staff_user = app.create_user(&acme, Role::Staff, None, false).await;
    let staff = app.sign_in(&staff_user).await;
    let photo = png();
    let files = format!("/tickets/{ticket}/files");

    // A later field refused after the file was stored.
    let too_long = "x".repeat(500);
    let r = post_parts(
        &staff,
        &files,
        &[
            ("file", Some("tap.png"), &photo[..]),
            ("comment_id", None, too_long.as_bytes()),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_no_orphans(app, s3, "a later field refused").await;

    // A comment that does not exist, after the file (recording fails) and before it (nothing is stored).
    let missing = Uuid::now_v7().to_string();
    let r = post_parts(
        &staff,
        &files,
        &[
            ("file", Some("tap.png"), &photo[..]),
            ("comment_id", None, missing.as_bytes()),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_no_orphans(app, s3, "recording refused").await;
    let r = post_parts(
        &staff,
        &files,
        &[
            ("comment_id", None, missing.as_bytes()),
            ("file", Some("tap.png"), &photo[..]),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_no_orphans(app, s3, "a field before the file refused").await;

    // The wrong type, and a file past the limit (1 MB here).
    let r = upload_file(&staff, ticket, "notes.txt", b"just some text, not a photo").await;
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let mut big = photo.clone();
    big.resize(1_300_000, 7);
    let r = upload_file(&staff, ticket, "big.png", &big).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_no_orphans(app, s3, "the wrong type and too large").await;

    // An inspection's answers form: a photo, then an answer that is refused; and a photo that is not one.
    let place: (Uuid,) = sqlx::query_as("SELECT plot_id FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let (_, version) = inspections::template(app, &acme).await;
    let inspection = inspections::schedule(&staff, place.0, version, staff_user.id).await;
    let answers = format!("/inspections/{inspection}/answers");
    let r = post_parts(
        &staff,
        &answers,
        &[
            ("photo_1-1", Some("worktop.png"), &photo[..]),
            ("answer_1-1", None, &b"maybe"[..]),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = post_parts(
        &staff,
        &answers,
        &[
            ("photo_1-1", Some("worktop.png"), &photo[..]),
            ("photo_1-2", Some("doors.pdf"), &b"%PDF-1.7 not a photo"[..]),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = post_parts(
        &staff,
        &format!("/inspections/{inspection}/items/1-1/photos"),
        &[("photo", Some("doors.pdf"), &b"%PDF-1.7 not a photo"[..])],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_no_orphans(app, s3, "the inspection forms refused").await;
    assert_eq!(app.count("SELECT count(*) FROM inspection_photos").await, 0);

    // And what is accepted is all recorded.
    let r = upload_file(&staff, ticket, "tap.png", &photo[..]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post_parts(
        &staff,
        &answers,
        &[
            ("photo_1-1", Some("worktop.png"), &photo[..]),
            ("answer_1-1", None, b"fail"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM inspection_photos").await, 1);
    assert_no_orphans(app, s3, "the accepted uploads").await;
}

#[tokio::test]
async fn local_refused_uploads_leave_no_object_without_a_row() {
    let app = TestApp::spawn_with(Options {
        env: vec![("MAX_UPLOAD_MB", "1".into())],
        ..Default::default()
    })
    .await;
    refused_uploads_leave_nothing_stored(&app, None).await;
}

#[tokio::test]
async fn s3_refused_uploads_leave_no_object_without_a_row() {
    let s3 = S3Server::start().await;
    let app = TestApp::spawn_with(Options {
        env: vec![("MAX_UPLOAD_MB", "1".into())],
        media: Some(s3.store.clone()),
        ..Default::default()
    })
    .await;
    refused_uploads_leave_nothing_stored(&app, Some(&s3)).await;
}

/// Sends the start of an upload by hand (headers, then part of the file) and returns the socket.
async fn start_upload(app: &TestApp, client: &TestClient, path: &str) -> TcpStream {
    let token = client.csrf_token().await;
    let photo = png();
    let (content_type, body) = body_of(&[("file", Some("tap.png"), &photo[..])]);
    let host = app.addr.trim_start_matches("http://");
    let mut socket = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST {path}?csrf_token={token} HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\nOrigin: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        client.cookie_header(),
        app.addr,
        body.len() + 100_000
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&body[..body.len() - 40]).await.unwrap();
    socket
}

async fn cancelled_and_timed_out_uploads_leave_nothing(app: &TestApp, s3: Option<&S3Server>) {
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(app, &acme, None).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    let path = format!("/tickets/{ticket}/files");

    // The browser goes away mid-file.
    let socket = start_upload(app, &staff, &path).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(socket);
    assert_no_orphans(app, s3, "a cancelled upload").await;

    // The rest of the file never comes: the request times out (after 1 s here).
    let mut socket = start_upload(app, &staff, &path).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), socket.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 408") || answer.starts_with("HTTP/1.1 503"),
        "{answer}"
    );
    assert_no_orphans(app, s3, "a timed-out upload").await;
    assert_eq!(app.count("SELECT count(*) FROM media_files").await, 0);
}

#[tokio::test]
async fn local_a_cancelled_or_timed_out_upload_leaves_nothing_stored() {
    let app = TestApp::spawn_with(Options {
        env: vec![("REQUEST_TIMEOUT_SECS", "1".into())],
        ..Default::default()
    })
    .await;
    cancelled_and_timed_out_uploads_leave_nothing(&app, None).await;
}

#[tokio::test]
async fn s3_a_cancelled_or_timed_out_upload_leaves_nothing_stored() {
    let s3 = S3Server::start().await;
    let app = TestApp::spawn_with(Options {
        env: vec![("REQUEST_TIMEOUT_SECS", "1".into())],
        media: Some(s3.store.clone()),
        ..Default::default()
    })
    .await;
    cancelled_and_timed_out_uploads_leave_nothing(&app, Some(&s3)).await;
}

// ---------------------------------------------------------------- the store fails

/// A TCP relay to the S3 test server that can be cut (connections refused) or stalled (bytes held).
struct Relay {
    endpoint: String,
    mode: std::sync::Arc<std::sync::atomic::AtomicU8>,
    task: tokio::task::JoinHandle<()>,
}

const OPEN: u8 = 0;
const CUT: u8 = 1;
const STALLED: u8 = 2;

impl Relay {
    async fn to(target: &str) -> Relay {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let target = target.trim_start_matches("http://").to_owned();
        let mode = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(OPEN));
        let relay_mode = mode.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let mode = relay_mode.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    match mode.load(Ordering::SeqCst) {
                        CUT => drop(inbound),
                        STALLED => {
                            let mut sink = vec![0u8; 64 * 1024];
                            while let Ok(n) = inbound.read(&mut sink).await {
                                if n == 0 {
                                    break;
                                }
                            }
                        }
                        _ => {
                            if let Ok(mut outbound) = TcpStream::connect(&target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound)
                                    .await;
                            }
                        }
                    }
                });
            }
        });
        Relay {
            endpoint,
            mode,
            task,
        }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, std::sync::atomic::Ordering::SeqCst);
    }

    /// A media store that reaches the S3 server through this relay, on fresh connections.
    fn store(&self, s3: &S3Server) -> MediaStore {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .credentials_provider(Credentials::new(
                s3::ACCESS_KEY,
                s3::SECRET_KEY,
                None,
                None,
                "relay",
            ))
            .region(Region::new("eu-west-1"))
            .endpoint_url(&self.endpoint)
            .force_path_style(true)
            .build();
        MediaStore::S3 {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: s3.bucket.clone(),
            part_size: plotcare::media::MIN_PART_SIZE,
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn assert_busy_page(response: reqwest::Response, what: &str) {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
    assert!(
        body.contains("<html") && body.contains("try again"),
        "{what}: {body}"
    );
}

async fn ticket_and_staff(app: &TestApp) -> (TestTenant, Uuid, TestClient) {
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(app, &acme, None).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    (acme, ticket, staff)
}

#[tokio::test]
async fn s3_down_or_stalled_answers_the_busy_page_and_leaves_nothing_behind() {
    let s3 = S3Server::start().await;
    let relay = Relay::to(&s3.endpoint).await;
    let app = TestApp::spawn_with(Options {
        env: vec![("REQUEST_TIMEOUT_SECS", "8".into())],
        media: Some(relay.store(&s3)),
        ..Default::default()
    })
    .await;
    let (_, ticket, staff) = ticket_and_staff(&app).await;

    // Down: refused connections.
    relay.set(CUT);
    let r = upload_file(&staff, ticket, "tap.png", &png()).await;
    assert_busy_page(r, "S3 down").await;

    // Stalled: the upload outlives the request time-out; nothing is left once it is answered.
    relay.set(STALLED);
    let r = upload_file(&staff, ticket, "tap.png", &png()).await;
    assert!(
        matches!(
            r.status(),
            StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE
        ),
        "{}",
        r.status()
    );

    // Back again: it works, and the store holds exactly what is recorded.
    relay.set(OPEN);
    let r = upload_file(&staff, ticket, "tap.png", &png()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_no_orphans(&app, Some(&s3), "S3 down, stalled and back").await;
    assert_eq!(app.count("SELECT count(*) FROM media_files").await, 1);
}

#[tokio::test]
async fn a_broken_local_media_directory_answers_the_busy_page_and_records_nothing() {
    let app = TestApp::spawn().await;
    let (_, ticket, staff) = ticket_and_staff(&app).await;
    // The directory is replaced by a file: nothing can be written under it.
    let dir = app.media_dir.path();
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::write(dir, b"not a directory").unwrap();

    let r = upload_file(&staff, ticket, "tap.png", &png()).await;
    assert_busy_page(r, "the media directory gone").await;
    assert_eq!(app.count("SELECT count(*) FROM media_files").await, 0);

    std::fs::remove_file(dir).unwrap();
    std::fs::create_dir(dir).unwrap();
}

#[tokio::test]
async fn s3_a_ticket_file_of_several_parts_is_stored_and_downloads_intact() {
    let s3 = S3Server::start().await;
    let app = TestApp::spawn_with(Options {
        media: Some(s3.store.clone()),
        ..Default::default()
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let staff_user = app.create_user(&acme, Role::Staff, None, false).await;
    let staff = app.sign_in(&staff_user).await;
    // Three parts and a bit (the test store's part size is S3's minimum, 5 MiB).
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let mut x: u32 = 7;
    pdf.extend((0..3 * s3::PART_SIZE + 54_321).map(|_| {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (x >> 24) as u8
    }));
    let r = upload_file(&staff, ticket, "survey.pdf", &pdf).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let key: String = sqlx::query_scalar("SELECT storage_key FROM media_files")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let head = s3
        .client
        .head_object()
        .bucket(&s3.bucket)
        .key(&key)
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
    let object = app
        .state
        .media
        .get(&plotcare::media::MediaKey::parse(&key).unwrap())
        .await
        .unwrap();
    let mut body = object.body;
    let mut back = Vec::new();
    while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
        back.extend_from_slice(&chunk.unwrap());
    }
    assert!(
        back == pdf,
        "the file read back differs from the one uploaded"
    );
    assert_no_orphans(&app, Some(&s3), "a file of several parts").await;
}
