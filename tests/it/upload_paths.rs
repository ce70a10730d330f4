//! The upload path under strain, on the local store and on the S3-protocol server with
//! objects of several parts (a 13 MB photo in 5 MB parts):
//! - a phone upload slower than the database's idle-in-transaction limit still saves,
//!   because no transaction is open while the body streams (ticket files and inspection
//!   photos);
//! - a photo upload that fails after the object is stored (recording it is refused) answers
//!   the error page at once, records nothing and leaves no object behind (ticket files, a
//!   comment's photo, an inspection item's photo and the inspection answers form);
//! - a ticket raised from a failed inspection item copies the item's photos before its
//!   transaction; when recording them fails, the copies are removed and nothing is half-saved.

use std::time::Duration;

use plotcare::domain::Role;
use reqwest::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use uuid::Uuid;

use crate::{
    comments::{add_comment, create_ticket},
    common::{Options, TestApp, TestClient, corpus::huge_png, s3::S3Server},
    inspections,
    uploads::{assert_no_orphans, body_of, png, post_parts},
};

/// Posts `parts` by hand, the body trickling in over about `over`, and returns the status line.
async fn trickle(
    app: &TestApp,
    client: &TestClient,
    path: &str,
    parts: &[(&str, Option<&str>, &[u8])],
    over: Duration,
) -> String {
    let token = client.csrf_token().await;
    let (content_type, body) = body_of(parts);
    let host = app.addr.trim_start_matches("http://");
    let mut socket = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST {path}?csrf_token={token} HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\nOrigin: {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        client.cookie_header(),
        app.addr,
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let steps = 10;
    let chunk = body.len().div_ceil(steps);
    for piece in body.chunks(chunk) {
        socket.write_all(piece).await.unwrap();
        tokio::time::sleep(over / steps as u32).await;
    }
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), socket.read_to_end(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

async fn spawn(s3: Option<&S3Server>) -> TestApp {
    TestApp::spawn_with(Options {
        // A transaction idle for a second is ended by PostgreSQL; the uploads take three.
        env: vec![("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS", "1000".into())],
        media: s3.map(|s| s.store.clone()),
        ..Default::default()
    })
    .await
}

async fn slow_uploads_still_save(app: &TestApp, s3: Option<&S3Server>) {
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(app, &acme, None).await;
    let staff_user = app.create_user(&acme, Role::Staff, None, false).await;
    let staff = app.sign_in(&staff_user).await;
    let photo = huge_png(16_384);
    assert!(photo.len() > 10 * 1024 * 1024, "several 5 MB parts");

    let status = trickle(
        app,
        &staff,
        &format!("/tickets/{ticket}/files"),
        &[("file", Some("roof.png"), &photo[..])],
        Duration::from_secs(3),
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 303"), "{status}");
    let (status, page) = staff.page(&format!("/tickets/{ticket}/files")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("roof.png"), "{page}");
    let size: i64 = sqlx::query_scalar("SELECT size_bytes FROM media_files WHERE ticket_id = $1")
        .bind(ticket)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(size, photo.len() as i64);

    // An inspection item's photo, from a phone on site.
    let plot: Uuid = sqlx::query_scalar("SELECT plot_id FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let (_, version) = inspections::template(app, &acme).await;
    let inspection = inspections::schedule(&staff, plot, version, staff_user.id).await;
    let status = trickle(
        app,
        &staff,
        &format!("/inspections/{inspection}/items/1-1/photos"),
        &[("photo", Some("worktop.png"), &photo[..])],
        Duration::from_secs(3),
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 303"), "{status}");
    assert_eq!(app.count("SELECT count(*) FROM inspection_photos").await, 1);
    assert_no_orphans(app, s3, "the slow uploads").await;
}

#[tokio::test]
async fn local_an_upload_slower_than_the_idle_transaction_limit_still_saves() {
    let app = spawn(None).await;
    slow_uploads_still_save(&app, None).await;
}

#[tokio::test]
async fn s3_an_upload_slower_than_the_idle_transaction_limit_still_saves() {
    let s3 = S3Server::start().await;
    let app = spawn(Some(&s3)).await;
    slow_uploads_still_save(&app, Some(&s3)).await;
}

async fn a_raised_tickets_photos_are_removed_when_recording_fails(
    app: &TestApp,
    s3: Option<&S3Server>,
) {
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(app, &acme, None).await;
    let staff_user = app.create_user(&acme, Role::Staff, None, false).await;
    let staff = app.sign_in(&staff_user).await;
    let plot: Uuid = sqlx::query_scalar("SELECT plot_id FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let (_, version) = inspections::template(app, &acme).await;
    let inspection = inspections::schedule(&staff, plot, version, staff_user.id).await;
    let big = huge_png(16_384);
    let small = png();
    let r = post_parts(
        &staff,
        &format!("/inspections/{inspection}/answers"),
        &[
            ("photo_1-1", Some("worktop.png"), &big[..]),
            ("photo_1-1", Some("close-up.png"), &small[..]),
            ("answer_1-1", None, b"fail"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM inspection_photos").await, 2);

    // Recording the ticket's photos fails after the copies are stored.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_media_file() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'the test refuses media files'; END $$;
         CREATE TRIGGER refuse_media_file BEFORE INSERT ON media_files
           FOR EACH ROW EXECUTE FUNCTION refuse_media_file();",
    )
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let raise = format!("/inspections/{inspection}/items/1-1/ticket");
    let r = staff.post_form(&raise, &[("answer_1-1", "fail")]).await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.text().await.unwrap().contains("quote the reference"));
    assert_eq!(
        app.count("SELECT count(*) FROM tickets").await,
        1,
        "no half-saved ticket"
    );
    assert_no_orphans(app, s3, "recording the raised ticket's photos failed").await;

    // Once recording works, the ticket carries both photos, each an object of its own.
    sqlx::raw_sql("DROP TRIGGER refuse_media_file ON media_files")
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let r = staff.post_form(&raise, &[("answer_1-1", "fail")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM tickets").await, 2);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM media_files WHERE ticket_id <> '{ticket}'"
        ))
        .await,
        2
    );
    assert_no_orphans(app, s3, "the raised ticket's photos").await;
}

#[tokio::test]
async fn local_a_raised_ticket_whose_photos_cannot_be_recorded_leaves_no_copy() {
    let app = TestApp::spawn().await;
    a_raised_tickets_photos_are_removed_when_recording_fails(&app, None).await;
}

#[tokio::test]
async fn s3_a_raised_ticket_whose_photos_cannot_be_recorded_leaves_no_copy() {
    let s3 = S3Server::start().await;
    let app = TestApp::spawn_with(Options {
        media: Some(s3.store.clone()),
        ..Default::default()
    })
    .await;
    a_raised_tickets_photos_are_removed_when_recording_fails(&app, Some(&s3)).await;
}

/// Makes PostgreSQL refuse every new row of `table`, as a full disk or a lost connection would
/// once the object is already in the store.
async fn refuse_rows(app: &TestApp, table: &str) {
    sqlx::raw_sql(&format!(
        "CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'the test refuses {table}'; END $$;
         CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table}
           FOR EACH ROW EXECUTE FUNCTION refuse_{table}();"
    ))
    .execute(&app.admin_pool)
    .await
    .unwrap();
}

async fn accept_rows(app: &TestApp, table: &str) {
    sqlx::raw_sql(&format!("DROP TRIGGER refuse_{table} ON {table}"))
        .execute(&app.admin_pool)
        .await
        .unwrap();
}

/// Posts the form and expects the error page promptly (no hang).
async fn refused(
    client: &TestClient,
    path: &str,
    parts: &[(&str, Option<&str>, &[u8])],
    what: &str,
) {
    let r = tokio::time::timeout(Duration::from_secs(60), post_parts(client, path, parts))
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within a minute"));
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR, "{what}");
    let page = r.text().await.unwrap();
    assert!(page.contains("quote the reference"), "{what}: {page}");
    assert!(
        !page.contains("the test refuses"),
        "{what}: the cause is not shown"
    );
}

async fn failed_recording_leaves_no_object(app: &TestApp, s3: Option<&S3Server>) {
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(app, &acme, None).await;
    let staff_user = app.create_user(&acme, Role::Staff, None, false).await;
    let staff = app.sign_in(&staff_user).await;
    let comment = add_comment(app, &staff, ticket, "Leak under the sink", "internal")
        .await
        .to_string();
    let plot: Uuid = sqlx::query_scalar("SELECT plot_id FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let (_, version) = inspections::template(app, &acme).await;
    let inspection = inspections::schedule(&staff, plot, version, staff_user.id).await;
    let photo = huge_png(16_384);
    assert!(photo.len() > 10 * 1024 * 1024, "several 5 MB parts");
    let audit_before = app.count("SELECT count(*) FROM audit_events").await;
    let events_before = app.count("SELECT count(*) FROM ticket_events").await;

    // Ticket files, and a photo on a comment: the object is stored, then its row is refused.
    refuse_rows(app, "media_files").await;
    let files = format!("/tickets/{ticket}/files");
    refused(
        &staff,
        &files,
        &[("file", Some("roof.png"), &photo[..])],
        "a ticket file",
    )
    .await;
    refused(
        &staff,
        &files,
        &[
            ("comment_id", None, comment.as_bytes()),
            ("file", Some("sink.png"), &photo[..]),
        ],
        "a comment's photo",
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM media_files").await, 0);
    assert_no_orphans(app, s3, "recording a ticket file failed").await;

    // An inspection item's photo, alone and with the answers form.
    refuse_rows(app, "inspection_photos").await;
    refused(
        &staff,
        &format!("/inspections/{inspection}/items/1-1/photos"),
        &[("photo", Some("worktop.png"), &photo[..])],
        "an inspection item's photo",
    )
    .await;
    refused(
        &staff,
        &format!("/inspections/{inspection}/answers"),
        &[
            ("photo_1-1", Some("worktop.png"), &photo[..]),
            ("answer_1-1", None, b"fail"),
        ],
        "the inspection answers form",
    )
    .await;
    assert_eq!(app.count("SELECT count(*) FROM inspection_photos").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM inspection_results WHERE answer IS NOT NULL")
            .await,
        0,
        "the form's answer went with its photo"
    );
    assert_no_orphans(app, s3, "recording an inspection photo failed").await;

    // Nothing else was recorded either: no timeline entry, no audit record.
    assert_eq!(
        app.count("SELECT count(*) FROM ticket_events").await,
        events_before
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events").await,
        audit_before
    );

    // The refusals were the only cause: once rows are accepted, the same uploads save.
    accept_rows(app, "media_files").await;
    accept_rows(app, "inspection_photos").await;
    let r = post_parts(&staff, &files, &[("file", Some("roof.png"), &photo[..])]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = post_parts(
        &staff,
        &format!("/inspections/{inspection}/items/1-1/photos"),
        &[("photo", Some("worktop.png"), &photo[..])],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM media_files").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM inspection_photos").await, 1);
    assert_no_orphans(app, s3, "the uploads once recording works").await;
}

#[tokio::test]
async fn local_a_photo_upload_that_fails_after_the_object_is_stored_leaves_no_object() {
    let app = TestApp::spawn().await;
    failed_recording_leaves_no_object(&app, None).await;
}

#[tokio::test]
async fn s3_a_photo_upload_that_fails_after_the_object_is_stored_leaves_no_object() {
    let s3 = S3Server::start().await;
    let app = TestApp::spawn_with(Options {
        media: Some(s3.store.clone()),
        ..Default::default()
    })
    .await;
    failed_recording_leaves_no_object(&app, Some(&s3)).await;
}
