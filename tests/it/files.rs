//! Photos and documents on tickets: upload limits, checks by content, both
//! media backends, thumbnails, downloads through an access check, visibility
//! to subcontractors, and another tenant's attempts.

use std::io::Cursor;

use plotcare::domain::Role;
use reqwest::{StatusCode, header};
use uuid::Uuid;

use crate::{
    comments::{add_comment, create_ticket},
    common::{Options, TestApp, TestClient, s3::S3Server},
};

/// A real PNG of the given size.
fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

pub fn pdf() -> Vec<u8> {
    let mut data = b"%PDF-1.4\n% Plotcare test document\n".to_vec();
    data.extend((0..50_000u32).map(|i| (i % 251) as u8));
    data
}

/// A multipart/form-data body as a browser sends the upload form.
fn form_body(file_name: &str, claimed_type: &str, data: &[u8], visible: bool) -> (String, Vec<u8>) {
    let boundary = format!("----plotcare{}", Uuid::new_v4().simple());
    let mut body = Vec::new();
    if visible {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"visible_to_subcontractor\"\r\n\r\non\r\n").bytes());
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"comment_id\"\r\n\r\n\r\n")
            .bytes(),
    );
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {claimed_type}\r\n\r\n")
            .bytes(),
    );
    body.extend_from_slice(data);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub async fn upload(
    client: &TestClient,
    ticket: Uuid,
    file_name: &str,
    claimed_type: &str,
    data: &[u8],
    visible: bool,
) -> reqwest::Response {
    let token = client.csrf_token().await;
    let (content_type, body) = form_body(file_name, claimed_type, data, visible);
    client
        .http
        .post(client.url(&format!("/tickets/{ticket}/files?csrf_token={token}")))
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The id of the ticket's newest file.
pub async fn newest_file(app: &TestApp, ticket: Uuid) -> Uuid {
    sqlx::query_scalar(
        "SELECT id FROM media_files WHERE ticket_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(ticket)
    .fetch_one(&app.admin_pool)
    .await
    .unwrap()
}

/// Follows a download redirect (a local signed link or a pre-signed S3 URL).
async fn follow(app: &TestApp, client: &TestClient, path: &str) -> reqwest::Response {
    let response = client.get(path).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{path} should redirect to a download link"
    );
    let location = response.headers()[header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    let url = if location.starts_with('/') {
        app.url(&location)
    } else {
        location
    };
    let download = reqwest::get(&url).await.unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    download
}

fn files_in(dir: &std::path::Path) -> usize {
    let mut count = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            count += if path.is_dir() { files_in(&path) } else { 1 };
        }
    }
    count
}

#[tokio::test]
async fn a_file_over_the_limit_gets_a_clear_413_and_nothing_is_kept() {
    // Arrange: a 1 MB limit.
    let app = TestApp::spawn_with(Options {
        env: vec![("MAX_UPLOAD_MB", "1".into())],
        ..Default::default()
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    let mut big = png(8, 8);
    big.resize(1_500_000, 0);

    // Act
    let response = upload(&staff, ticket, "big photo.png", "image/png", &big, false).await;

    // Assert
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("That file is larger than the 1 MB limit.")
    );
    assert_eq!(app.count("SELECT count(*) FROM media_files").await, 0);
    assert_eq!(
        files_in(app.media_dir.path()),
        0,
        "a partial upload was left in the media store"
    );

    // Twice the limit: refused too, nothing kept.
    let mut bigger = png(8, 8);
    bigger.resize(2 * 1024 * 1024, 0);
    let response = upload(&staff, ticket, "bigger.png", "image/png", &bigger, false).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.count("SELECT count(*) FROM media_files").await, 0);
    assert_eq!(files_in(app.media_dir.path()), 0);

    // Just under the limit is fine.
    let mut fits = png(8, 8);
    fits.resize(1024 * 1024 - 1000, 0);
    assert_eq!(
        upload(&staff, ticket, "fits.png", "image/png", &fits, false)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.count("SELECT count(*) FROM media_files").await, 1);
}

#[tokio::test]
async fn a_file_is_judged_by_its_content_not_its_name() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;

    // Act + Assert: a .jpg that is really HTML is refused.
    let html = b"<!doctype html><html><script>alert(document.cookie)</script></html>";
    let response = upload(&staff, ticket, "photo.jpg", "image/jpeg", html, false).await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("That file type isn")
            && body.contains("a PDF, an MP4 video or an Office document.")
    );
    assert_eq!(app.count("SELECT count(*) FROM media_files").await, 0);
    assert_eq!(files_in(app.media_dir.path()), 0);

    // A real PNG named .txt is accepted, as a PNG.
    let response = upload(
        &staff,
        ticket,
        "notes.txt",
        "text/plain",
        &png(40, 30),
        false,
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()[header::LOCATION],
        format!("/tickets/{ticket}#files").as_str()
    );
    let stored: (String, String) =
        sqlx::query_as("SELECT content_type, original_name FROM media_files WHERE ticket_id = $1")
            .bind(ticket)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(stored, ("image/png".to_owned(), "notes.txt".to_owned()));
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'file.uploaded'")
            .await,
        1
    );
    assert_eq!(app.count(&format!("SELECT count(*) FROM ticket_events WHERE ticket_id = '{ticket}' AND kind = 'file_added'")).await, 1);
}

#[tokio::test]
async fn the_refusal_message_is_shown_on_the_files_page() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;

    let response = upload(
        &staff,
        ticket,
        "invoice.exe",
        "application/octet-stream",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff",
        false,
    )
    .await;

    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body = response.text().await.unwrap();
    assert!(body.contains("That file type isn"), "{body}");
    assert!(body.contains(
        "upload a photo (JPEG, PNG, HEIC, WebP), a PDF, an MP4 video or an Office document (.docx, .xlsx, .pptx)."
    ));
    assert!(
        body.contains("id=\"upload-form\""),
        "the form is shown again"
    );
}

/// Uploads a PDF and a PNG, then downloads both through the redirect.
async fn upload_and_download_round_trip(app: &TestApp) {
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(app, &acme, None).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;

    // A document downloads as an attachment, byte for byte.
    let document = pdf();
    assert_eq!(
        upload(
            &staff,
            ticket,
            "Survey report.pdf",
            "application/pdf",
            &document,
            false
        )
        .await
        .status(),
        StatusCode::SEE_OTHER
    );
    let file = newest_file(app, ticket).await;
    let download = follow(app, &staff, &format!("/tickets/{ticket}/files/{file}")).await;
    assert_eq!(
        download.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"Survey report.pdf\""
    );
    assert_eq!(download.headers()[header::CONTENT_TYPE], "application/pdf");
    assert!(
        download.bytes().await.unwrap() == document,
        "the downloaded document differs"
    );

    // A photo shows inline.
    let photo = png(64, 48);
    assert_eq!(
        upload(&staff, ticket, "Leak.png", "image/png", &photo, false)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let file = newest_file(app, ticket).await;
    let download = follow(app, &staff, &format!("/tickets/{ticket}/files/{file}")).await;
    assert_eq!(
        download.headers()[header::CONTENT_DISPOSITION],
        "inline; filename=\"Leak.png\""
    );
    assert!(download.bytes().await.unwrap() == photo);

    // The list shows both, with the photo's thumbnail route.
    let (_, page) = staff.page(&format!("/tickets/{ticket}/files")).await;
    assert!(page.contains("Survey report.pdf") && page.contains("Leak.png"));
    assert!(page.contains(&format!("/tickets/{ticket}/files/{file}/thumbnail")));
    assert!(page.contains(">PDF<"));
}

#[tokio::test]
async fn local_an_upload_downloads_again_through_the_redirect() {
    let app = TestApp::spawn().await;
    upload_and_download_round_trip(&app).await;
}

#[tokio::test]
async fn s3_an_upload_downloads_again_through_the_redirect() {
    let s3 = S3Server::start().await;
    let app = TestApp::spawn_with(Options {
        media: Some(s3.store.clone()),
        ..Default::default()
    })
    .await;
    upload_and_download_round_trip(&app).await;
    let listed = s3
        .client
        .list_objects_v2()
        .bucket(&s3.bucket)
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.contents().len(),
        3,
        "two originals and one thumbnail are in the bucket"
    );
}

#[tokio::test]
async fn a_photo_gets_a_small_thumbnail_made_once() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;

    // Act
    upload(
        &staff,
        ticket,
        "ceiling crack.png",
        "image/png",
        &png(1200, 900),
        false,
    )
    .await;

    // Assert
    let file = newest_file(&app, ticket).await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM media_files WHERE id = '{file}' AND thumbnail_key IS NOT NULL"
        ))
        .await,
        1
    );
    let thumb = follow(
        &app,
        &staff,
        &format!("/tickets/{ticket}/files/{file}/thumbnail"),
    )
    .await;
    assert_eq!(thumb.headers()[header::CONTENT_TYPE], "image/jpeg");
    assert!(
        thumb.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("inline")
    );
    let decoded = image::load_from_memory(&thumb.bytes().await.unwrap()).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (320, 240));

    // A PDF has none.
    upload(
        &staff,
        ticket,
        "report.pdf",
        "application/pdf",
        &pdf(),
        false,
    )
    .await;
    let document = newest_file(&app, ticket).await;
    assert_eq!(
        staff
            .get(&format!("/tickets/{ticket}/files/{document}/thumbnail"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn subcontractors_see_only_files_made_visible_to_them() {
    // Arrange: one hidden and one visible file on a ticket nominated to Pipes Ltd.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let pipes = app.create_company(&acme, "Pipes Ltd").await;
    let ticket = create_ticket(&app, &acme, Some(pipes)).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    upload(
        &staff,
        ticket,
        "internal costing.pdf",
        "application/pdf",
        &pdf(),
        false,
    )
    .await;
    let hidden = newest_file(&app, ticket).await;
    upload(
        &staff,
        ticket,
        "leak under sink.png",
        "image/png",
        &png(50, 50),
        true,
    )
    .await;
    let visible = newest_file(&app, ticket).await;
    let sub = app
        .sign_in(
            &app.create_user(&acme, Role::Subcontractor, Some(pipes), false)
                .await,
        )
        .await;

    // Act + Assert
    let (status, page) = sub.page(&format!("/tickets/{ticket}/files")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("leak under sink.png"));
    assert!(!page.contains("internal costing"));
    assert!(
        !page.contains("Visible to the subcontractor</label>"),
        "subcontractors do not choose visibility"
    );
    assert_eq!(
        sub.get(&format!("/tickets/{ticket}/files/{hidden}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        sub.get(&format!("/tickets/{ticket}/files/{visible}"))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        sub.get(&format!("/tickets/{ticket}/files/{visible}/thumbnail"))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // They cannot switch visibility either.
    let response = sub
        .post_form(
            &format!("/tickets/{ticket}/files/{visible}/visibility"),
            &[("visible", "false")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // Staff show the hidden file: now the subcontractor reaches it, and the change is audited.
    let response = staff
        .post_form(
            &format!("/tickets/{ticket}/files/{hidden}/visibility"),
            &[("visible", "true")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        sub.get(&format!("/tickets/{ticket}/files/{hidden}"))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.count(&format!("SELECT count(*) FROM audit_events WHERE action = 'file.visibility_changed' AND record_id = '{hidden}'")).await, 1);

    // A subcontractor's own upload is visible to them, whatever the form says.
    assert_eq!(
        upload(
            &sub,
            ticket,
            "after repair.png",
            "image/png",
            &png(20, 20),
            false
        )
        .await
        .status(),
        StatusCode::SEE_OTHER
    );
    let theirs = newest_file(&app, ticket).await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM media_files WHERE id = '{theirs}' AND visible_to_subcontractor"
        ))
        .await,
        1
    );

    // The out-of-hours role reads but does not switch visibility.
    let emergency = app
        .sign_in(&app.create_user(&acme, Role::Emergency, None, false).await)
        .await;
    let response = emergency
        .post_form(
            &format!("/tickets/{ticket}/files/{visible}/visibility"),
            &[("visible", "false")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn another_tenants_admin_gets_404_on_every_comment_and_file_route() {
    // Arrange: tenant A's ticket with a comment and a photo.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let a_admin = app.sign_in_admin(&acme.admin).await;
    let comment = add_comment(&app, &a_admin, ticket, "Acme's private note", "internal").await;
    upload(
        &a_admin,
        ticket,
        "acme photo.png",
        "image/png",
        &png(30, 30),
        false,
    )
    .await;
    let file = newest_file(&app, ticket).await;
    let before: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM ticket_comments), (SELECT count(*) FROM ticket_comment_revisions),
                (SELECT count(*) FROM media_files WHERE visible_to_subcontractor), (SELECT count(*) FROM ticket_comments WHERE deleted_at IS NOT NULL)",
    )
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    let objects_before = files_in(app.media_dir.path());

    // Act: tenant B's admin tries every route with A's ids.
    let beta = app.create_tenant("beta").await;
    let b_admin = app.sign_in_admin(&beta.admin).await;
    let t = format!("/tickets/{ticket}");
    for path in [
        format!("{t}/comments"),
        format!("{t}/comments/{comment}/edit"),
        format!("{t}/comments/{comment}/history"),
        format!("{t}/files"),
        format!("{t}/files/{file}"),
        format!("{t}/files/{file}/thumbnail"),
    ] {
        let (status, body) = b_admin.page(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}");
        assert!(!body.contains("Acme's private note") && !body.contains("acme photo"));
    }
    let posts: [(String, &[(&str, &str)]); 4] = [
        (
            format!("{t}/comments"),
            &[("body", "Beta was here"), ("visibility", "shared")],
        ),
        (
            format!("{t}/comments/{comment}/edit"),
            &[("body", "Beta was here")],
        ),
        (format!("{t}/comments/{comment}/delete"), &[]),
        (
            format!("{t}/files/{file}/visibility"),
            &[("visible", "true")],
        ),
    ];
    for (path, fields) in posts {
        assert_eq!(
            b_admin.post_form(&path, fields).await.status(),
            StatusCode::NOT_FOUND,
            "POST {path}"
        );
    }
    let response = upload(
        &b_admin,
        ticket,
        "beta.png",
        "image/png",
        &png(10, 10),
        true,
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "upload");

    // Assert: A's data is unchanged.
    let after: (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM ticket_comments), (SELECT count(*) FROM ticket_comment_revisions),
                (SELECT count(*) FROM media_files WHERE visible_to_subcontractor), (SELECT count(*) FROM ticket_comments WHERE deleted_at IS NOT NULL)",
    )
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!(before, after);
    assert_eq!(app.count("SELECT count(*) FROM media_files").await, 1);
    assert_eq!(
        files_in(app.media_dir.path()),
        objects_before,
        "nothing new reached the media store"
    );
    let body: String = sqlx::query_scalar("SELECT body FROM ticket_comments WHERE id = $1")
        .bind(comment)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(body, "Acme's private note");
}
