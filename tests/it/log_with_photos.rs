//! Logging a ticket with its photos in one step (issue 17): the photos travel with the
//! form, a mistake in the form stores nothing, a refused photo keeps what was typed and
//! stores nothing, and on the S3-protocol server a photo of several parts is stored, or
//! removed again when the ticket cannot be recorded.

use plotcare::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::{
    common::{Options, TestApp, TestClient, corpus::huge_png, s3::S3Server},
    files::pdf,
    tickets::site,
    uploads::{assert_no_orphans, png, post_parts},
};

/// The log form's fields as a browser sends them, the photos last.
fn form<'a>(
    title: &'a str,
    photos: &'a [(&'a str, &'a [u8])],
) -> Vec<(&'a str, Option<&'a str>, &'a [u8])> {
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![
        ("form_key", None, b""),
        ("title", None, title.as_bytes()),
        ("description", None, b"Water under the sink"),
        ("category", None, b"plumbing"),
        ("location", None, b"kitchen"),
        ("reported_by", None, b""),
        ("reported_via", None, b"phone"),
        ("reported_at", None, b"2025-03-03T09:00"),
        ("priority", None, b"high"),
        ("complaint_received_on", None, b""),
        ("internal_cost", None, b""),
    ];
    if photos.is_empty() {
        // A file field left empty, as a browser sends it.
        parts.push(("photos", Some(""), b""));
    }
    for (name, data) in photos {
        parts.push(("photos", Some(name), data));
    }
    parts.push(("photos_visible", None, b"on"));
    parts
}

async fn staff_on_a_plot(app: &TestApp) -> (TestClient, Uuid) {
    let a = app.create_tenant("acme").await;
    let s = site(app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let staff = app
        .sign_in(&app.create_user(&a, Role::Staff, None, false).await)
        .await;
    (staff, s.plot)
}

async fn log_with(
    client: &TestClient,
    plot: Uuid,
    parts: &[(&str, Option<&str>, &[u8])],
) -> reqwest::Response {
    post_parts(client, &format!("/plots/{plot}/tickets/new"), parts).await
}

fn ticket_of(r: &reqwest::Response) -> Uuid {
    let location = r.headers()["location"].to_str().unwrap();
    Uuid::parse_str(location.trim_start_matches("/tickets/")).unwrap()
}

#[tokio::test]
async fn the_log_form_takes_photos_and_they_show_on_the_new_ticket() {
    let app = TestApp::spawn().await;
    let (staff, plot) = staff_on_a_plot(&app).await;

    let (_, page) = staff.page(&format!("/plots/{plot}/tickets/new")).await;
    assert!(page.contains(r#"enctype="multipart/form-data""#), "{page}");
    assert!(
        page.contains(r#"<input type="file" id="photos" name="photos" accept="image/*" multiple>"#)
    );

    let photo = png();
    let r = log_with(
        &staff,
        plot,
        &form(
            "Leak under the sink",
            &[("sink.png", &photo), ("floor.png", &photo)],
        ),
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let id = ticket_of(&r);
    let (_, page) = staff.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("logged with 2 photos."), "{page}");
    assert!(page.contains("sink.png") && page.contains("floor.png"));

    let visible: Vec<bool> =
        sqlx::query_scalar("SELECT visible_to_subcontractor FROM media_files WHERE ticket_id = $1")
            .bind(id)
            .fetch_all(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(visible, vec![true, true]);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM audit_events WHERE action = 'file.uploaded' AND changes->'ticket_id'->>'after' = '{id}'"
        ))
        .await,
        2,
        "one audit record a photo"
    );
    assert_no_orphans(&app, None, "logging with photos").await;

    // Without photos the same form logs the ticket alone.
    let r = log_with(&staff, plot, &form("Cracked tile", &[])).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = staff.page(&format!("/tickets/{}", ticket_of(&r))).await;
    assert!(page.contains("logged."), "{page}");
}

#[tokio::test]
async fn a_mistake_in_the_form_or_a_photo_that_is_not_one_stores_nothing_and_keeps_the_text() {
    let app = TestApp::spawn().await;
    let (staff, plot) = staff_on_a_plot(&app).await;
    let photo = png();

    // No title: the form again, the problem by its field, no photo stored.
    let r = log_with(&staff, plot, &form("", &[("sink.png", &photo)])).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="title-error""#), "{page}");
    assert!(
        page.contains("Water under the sink"),
        "the description is kept"
    );

    // A PDF among the photos: refused by the photos field, nothing saved.
    let document = pdf();
    let r = log_with(
        &staff,
        plot,
        &form("Leak", &[("sink.png", &photo), ("invoice.pdf", &document)]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains(r#"id="photos-error""#), "{page}");
    assert!(page.contains("choose the photos again"), "{page}");
    assert!(page.contains(r#"value="Leak""#), "the title is kept");

    assert_eq!(app.count("SELECT count(*) FROM tickets").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM media_files").await, 0);
    assert_no_orphans(&app, None, "a refused log form").await;
}

#[tokio::test]
async fn another_tenants_plot_takes_no_ticket_and_no_photo() {
    let app = TestApp::spawn().await;
    let (_, plot) = staff_on_a_plot(&app).await;
    let other = app.create_tenant("other").await;
    let outsider = app
        .sign_in(&app.create_user(&other, Role::Staff, None, false).await)
        .await;
    let photo = png();
    let r = log_with(&outsider, plot, &form("Leak", &[("sink.png", &photo)])).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT count(*) FROM tickets").await, 0);
    assert_no_orphans(&app, None, "another tenant's plot").await;
}

#[tokio::test]
async fn s3_a_photo_of_several_parts_is_stored_with_the_ticket_or_removed_when_it_cannot_be() {
    let s3 = S3Server::start().await;
    let app = TestApp::spawn_with(Options {
        media: Some(s3.store.clone()),
        ..Default::default()
    })
    .await;
    let (staff, plot) = staff_on_a_plot(&app).await;
    let big = huge_png(16_384);
    assert!(big.len() > 10 * 1024 * 1024, "several 5 MB parts");
    let small = png();

    // Recording the photos is refused: no ticket, no object left in the bucket.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_files() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'the test refuses files'; END $$;
         CREATE TRIGGER refuse_files BEFORE INSERT ON media_files
           FOR EACH ROW EXECUTE FUNCTION refuse_files();",
    )
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let r = log_with(
        &staff,
        plot,
        &form("Roof leak", &[("roof.png", &big), ("hall.png", &small)]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        app.count("SELECT count(*) FROM tickets").await,
        0,
        "nothing half-saved"
    );
    assert_no_orphans(&app, Some(&s3), "recording the log form's photos failed").await;

    // Accepted: the ticket and both photos, in the bucket.
    sqlx::raw_sql("DROP TRIGGER refuse_files ON media_files")
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let r = log_with(
        &staff,
        plot,
        &form("Roof leak", &[("roof.png", &big), ("hall.png", &small)]),
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let id = ticket_of(&r);
    let sizes: Vec<i64> = sqlx::query_scalar(
        "SELECT size_bytes FROM media_files WHERE ticket_id = $1 ORDER BY size_bytes DESC",
    )
    .bind(id)
    .fetch_all(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!(sizes, vec![big.len() as i64, small.len() as i64]);
    assert_no_orphans(&app, Some(&s3), "logging with photos on S3").await;
    let (_, page) = staff.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("roof.png"), "{page}");
}
