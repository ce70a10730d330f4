//! The admin's audit trail page: records by name with links, actions and fields in
//! words, UK times, filters as choices, pages, the download, and only the tenant's
//! own events.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use plotcare::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{TestApp, TestTenant, TestUser};

/// `n` events by `actor`, one a second into the past, written behind the app (as a superuser).
async fn events(app: &TestApp, tenant: &TestTenant, actor: &TestUser, action: &str, n: i64) {
    for i in 0..n {
        sqlx::query(
            "INSERT INTO audit_events (tenant_id, id, occurred_at, actor_user_id, action, record_type, record_id, changes)
             VALUES ($1, $2, now() - make_interval(secs => $3), $4, $5, 'ticket', $6, '{\"status\": {\"before\": \"open\", \"after\": \"closed\"}}')",
        )
        .bind(tenant.id)
        .bind(Uuid::now_v7())
        .bind((i + 10) as f64)
        .bind(actor.id)
        .bind(action)
        .bind(Uuid::now_v7())
        .execute(&app.admin_pool)
        .await
        .unwrap();
    }
}

/// The rows of the page whose action is `action` (its code is the cell's title).
fn rows(body: &str, action: &str) -> usize {
    body.matches(&format!("title=\"{action}\"")).count()
}

fn older_link(body: &str) -> Option<String> {
    let start = body.find("<a class=\"button\" href=\"/admin/audit?")?
        + "<a class=\"button\" href=\"".len();
    let rest = &body[start..];
    let end = rest.find('"')?;
    let link = rest[..end].replace("&#38;", "&").replace("&amp;", "&");
    rest[end..].starts_with("\" rel=\"next\"").then_some(link)
}

#[tokio::test]
async fn the_audit_trail_filters_by_user_and_action_and_pages_through_older_events() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let bolt = app.create_tenant("bolt").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    events(&app, &acme, &staff, "ticket.closed", 60).await;
    events(&app, &acme, &acme.admin, "ticket.reopened", 5).await;
    events(&app, &bolt, &bolt.admin, "ticket.bolt_secret", 5).await;
    let admin = app.sign_in_admin(&acme.admin).await;

    // Newest first, 50 to a page, then the rest.
    let (status, first) = admin.page("/admin/audit?action=ticket.closed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&first, "ticket.closed"), 50);
    assert!(first.contains("Status: Open → Closed"));
    let older = older_link(&first).expect("an Older link");
    assert!(older.contains("action=ticket.closed") && older.contains("before="));
    let (status, second) = admin.page(&older).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows(&second, "ticket.closed"), 10);
    assert!(older_link(&second).is_none());

    // By user: only that user's events.
    let (_, by_admin) = admin
        .page(&format!(
            "/admin/audit?user={}&action=ticket.",
            acme.admin.id
        ))
        .await;
    assert_eq!(rows(&by_admin, "ticket.reopened"), 5);
    assert_eq!(rows(&by_admin, "ticket.closed"), 0);

    // Another tenant's events never appear, on any page.
    let (_, everything) = admin.page("/admin/audit").await;
    assert!(everything.contains("Reopened ticket"));
    assert!(!everything.contains("bolt_secret"));
    let (_, searched) = admin.page("/admin/audit?action=ticket.bolt").await;
    assert_eq!(rows(&searched, "ticket.bolt_secret"), 0);
    assert!(searched.contains("No events match."));
}

#[tokio::test]
async fn bad_audit_filters_get_a_plain_message() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let admin = app.sign_in_admin(&acme.admin).await;

    for (query, message) in [
        ("from=31/01/2025", "must look like 2025-01-31"),
        ("user=someone", "Choose a user from the list."),
        ("before=yesterday", "That page link is not valid."),
        ("action=%27%20OR%201%3D1", "An action is made of"),
    ] {
        let (status, body) = admin.page(&format!("/admin/audit?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert!(body.contains(message), "{query}: {body}");
    }
    let (status, _) = admin
        .page("/admin/audit?from=2020-01-01&to=2100-12-31")
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn only_admins_with_two_factor_open_the_audit_trail() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;

    let (status, body) = app.sign_in(&staff).await.page("/admin/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("Only admins can open this page."));

    let admin_without_mfa = app.sign_in(&acme.admin).await;
    let response = admin_without_mfa.get("/admin/audit").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/account/mfa");
}

/// One event at `at` (UTC, as SQL reads it) on a record, written behind the app.
#[allow(clippy::too_many_arguments)]
async fn event_at(
    app: &TestApp,
    tenant: &TestTenant,
    actor: &TestUser,
    at: &str,
    action: &str,
    record_type: &str,
    record_id: Uuid,
    changes: &str,
) {
    sqlx::query(
        "INSERT INTO audit_events (tenant_id, id, occurred_at, actor_user_id, action, record_type, record_id, changes)
         VALUES ($1, $2, $3::timestamptz, $4, $5, $6, $7, $8::jsonb)",
    )
    .bind(tenant.id)
    .bind(Uuid::now_v7())
    .bind(at)
    .bind(actor.id)
    .bind(action)
    .bind(record_type)
    .bind(record_id)
    .bind(changes)
    .execute(&app.admin_pool)
    .await
    .unwrap();
}

async fn id_of(app: &TestApp, sql: &str, tenant: &TestTenant) -> Uuid {
    sqlx::query_scalar(sql)
        .bind(tenant.id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

/// The tenant's ticket T-00042 (on plot 12 of "Scheme acme") and its plot and scheme.
async fn records(app: &TestApp, t: &TestTenant) -> (Uuid, Uuid, Uuid) {
    let ticket = crate::exports::seed(app, t, &t.slug).await;
    let plot = id_of(app, "SELECT id FROM plots WHERE tenant_id = $1", t).await;
    let scheme = id_of(app, "SELECT id FROM schemes WHERE tenant_id = $1", t).await;
    (ticket, plot, scheme)
}

#[tokio::test]
async fn entries_name_their_records_with_links_in_words_and_in_uk_time() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let (ticket, plot, scheme) = records(&app, &acme).await;
    let gone = Uuid::now_v7();
    let gone_contact = Uuid::now_v7();
    // Summer: 12:00 UTC is 13:00 in London. Winter: 12:00 UTC is 12:00.
    event_at(&app, &acme, &staff, "2025-07-10 12:00:00+00", "ticket.status_changed", "ticket", ticket,
        r#"{"status": {"before": "in_progress", "after": "on_hold"}, "due_at": {"before": null, "after": "2025-07-12"}}"#).await;
    event_at(&app, &acme, &staff, "2025-01-10 12:00:00+00", "plot.updated", "plot", plot,
        r#"{"house_type": {"before": "", "after": "Detached"}, "nominated_company_id": {"before": null, "after": "x"}}"#).await;
    event_at(
        &app,
        &acme,
        &acme.admin,
        "2025-01-11 09:30:00+00",
        "user.role_changed",
        "user",
        staff.id,
        r#"{"role": {"before": "staff", "after": "emergency"}}"#,
    )
    .await;
    event_at(
        &app,
        &acme,
        &acme.admin,
        "2025-01-12 09:30:00+00",
        "scheme.updated",
        "scheme",
        scheme,
        "{}",
    )
    .await;
    event_at(
        &app,
        &acme,
        &acme.admin,
        "2025-01-13 09:30:00+00",
        "ticket.created",
        "ticket",
        gone,
        "{}",
    )
    .await;
    event_at(
        &app,
        &acme,
        &acme.admin,
        "2025-01-14 09:30:00+00",
        "contact.created",
        "contact",
        gone_contact,
        r#"{"name": {"after": "Gone Homeowner"}}"#,
    )
    .await;
    let admin = app.sign_in_admin(&acme.admin).await;

    let (status, body) = admin.page("/admin/audit").await;
    assert_eq!(status, StatusCode::OK);
    // Records by name, linked to their pages.
    assert!(
        body.contains(&format!(r#"<a href="/tickets/{ticket}">T-00042</a>"#)),
        "{body}"
    );
    assert!(body.contains(&format!(
        r#"<a href="/plots/{plot}">Plot 12, Scheme acme</a>"#
    )));
    assert!(body.contains(&format!(r#"<a href="/schemes/{scheme}">Scheme acme</a>"#)));
    assert!(body.contains(&format!(r#"<a href="/users/{}">"#, staff.id)));
    // A record that no longer exists: its name or id, in plain text.
    assert!(body.contains(&gone.to_string()));
    assert!(!body.contains(&format!("/tickets/{gone}")));
    assert!(body.contains("Gone Homeowner"));
    assert!(!body.contains(&format!("/contacts/{gone_contact}")));
    // Actions, fields and values in words.
    assert!(body.contains("Changed status"));
    assert!(body.contains("Status: In progress → On hold"));
    assert!(body.contains("Due: (none) → 2025-07-12"));
    assert!(body.contains("Edited plot"));
    assert!(body.contains("House type: (none) → Detached"));
    assert!(body.contains("Nominated company: (none) → x"));
    assert!(body.contains("Role: Customer care → Emergency (out of hours)"));
    assert!(!body.contains("ticket.status_changed<"));
    // UK time, summer time included.
    assert!(body.contains("10 Jul 2025, 13:00:00"), "{body}");
    assert!(body.contains("10 Jan 2025, 12:00:00"));
}

#[tokio::test]
async fn the_filters_are_choices_and_narrow_the_entries_by_uk_day() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let bolt = app.create_tenant("bolt").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let (ticket, plot, _) = records(&app, &acme).await;
    // 23:30 UTC on 10 July is 00:30 on 11 July in London.
    event_at(
        &app,
        &acme,
        &staff,
        "2025-07-10 23:30:00+00",
        "ticket.status_changed",
        "ticket",
        ticket,
        "{}",
    )
    .await;
    event_at(
        &app,
        &acme,
        &staff,
        "2025-07-10 12:00:00+00",
        "ticket.updated",
        "ticket",
        ticket,
        "{}",
    )
    .await;
    event_at(
        &app,
        &acme,
        &acme.admin,
        "2025-07-11 12:00:00+00",
        "plot.updated",
        "plot",
        plot,
        "{}",
    )
    .await;
    event_at(
        &app,
        &bolt,
        &bolt.admin,
        "2025-07-11 12:00:00+00",
        "sla.holiday_added",
        "tenant_holiday",
        Uuid::now_v7(),
        "{}",
    )
    .await;
    let admin = app.sign_in_admin(&acme.admin).await;

    let (_, body) = admin.page("/admin/audit").await;
    // The choices: the tenant's users, and the record types and actions in its trail (in words).
    assert!(body.contains(&format!(r#"<option value="{}">"#, staff.id)));
    assert!(body.contains(r#"<option value="plot">Plot</option>"#));
    assert!(body.contains(r#"<option value="ticket">Ticket</option>"#));
    assert!(body.contains(r#"<option value="ticket.status_changed">Changed status</option>"#));
    assert!(body.contains(r#"<option value="plot.updated">Edited plot</option>"#));
    // Another tenant's actions are never offered.
    assert!(!body.contains("sla.holiday_added"));
    assert!(!body.contains("tenant_holiday"));

    let (_, plots) = admin.page("/admin/audit?record_type=plot").await;
    assert_eq!(rows(&plots, "plot.updated"), 1);
    assert_eq!(
        rows(&plots, "ticket.updated") + rows(&plots, "ticket.status_changed"),
        0
    );
    assert!(plots.contains(r#"<option value="plot" selected>Plot</option>"#));

    let (_, by_staff) = admin.page(&format!("/admin/audit?user={}", staff.id)).await;
    assert_eq!(
        rows(&by_staff, "ticket.status_changed") + rows(&by_staff, "ticket.updated"),
        2
    );
    assert_eq!(rows(&by_staff, "plot.updated"), 0);

    let (_, action) = admin
        .page("/admin/audit?action=ticket.status_changed")
        .await;
    assert_eq!(rows(&action, "ticket.status_changed"), 1);
    assert_eq!(rows(&action, "ticket.updated"), 0);

    // 11 July in the UK: the 00:30 change and the plot, not the ticket edit at 13:00 on 10 July.
    let (_, day) = admin
        .page("/admin/audit?from=2025-07-11&to=2025-07-11")
        .await;
    assert_eq!(rows(&day, "ticket.status_changed"), 1);
    assert_eq!(rows(&day, "plot.updated"), 1);
    assert_eq!(rows(&day, "ticket.updated"), 0);
    assert!(day.contains("11 Jul 2025, 00:30:00"));
}

/// The download's sheets (the entries first), as text rows.
fn workbook(bytes: &[u8]) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).expect("an XLSX file");
    let names = book.sheet_names().to_vec();
    names
        .into_iter()
        .map(|n| {
            let rows = book
                .worksheet_range(&n)
                .unwrap()
                .rows()
                .map(|r| r.to_vec())
                .collect();
            (n, rows)
        })
        .collect()
}

fn cell(rows: &[Vec<Data>], row: usize, header: &str) -> String {
    let col = rows[0]
        .iter()
        .position(|h| *h == header)
        .unwrap_or_else(|| panic!("no column {header}"));
    rows[row][col].to_string()
}

#[tokio::test]
async fn the_download_holds_the_filtered_entries_in_words_and_is_itself_recorded() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let bolt = app.create_tenant("bolt").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let (ticket, plot, _) = records(&app, &acme).await;
    event_at(
        &app,
        &acme,
        &staff,
        "2025-07-10 12:00:00+00",
        "ticket.status_changed",
        "ticket",
        ticket,
        r#"{"status": {"before": "open", "after": "in_progress"}}"#,
    )
    .await;
    event_at(
        &app,
        &acme,
        &staff,
        "2025-07-09 12:00:00+00",
        "ticket.status_changed",
        "ticket",
        ticket,
        r#"{"status": {"before": "on_hold", "after": "open"}}"#,
    )
    .await;
    event_at(
        &app,
        &acme,
        &acme.admin,
        "2025-07-11 12:00:00+00",
        "plot.updated",
        "plot",
        plot,
        "{}",
    )
    .await;
    event_at(
        &app,
        &bolt,
        &bolt.admin,
        "2025-07-10 12:00:00+00",
        "ticket.status_changed",
        "ticket",
        Uuid::now_v7(),
        "{}",
    )
    .await;
    let admin = app.sign_in_admin(&acme.admin).await;

    // The page's link carries the filters.
    let (_, page) = admin
        .page("/admin/audit?action=ticket.status_changed&from=2025-07-01")
        .await;
    let link = crate::common::extract_attr(&page, r#"id="audit-download" href=""#)
        .expect("a download link")
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(link.starts_with("/admin/audit/download?"), "{link}");
    assert!(link.contains("action=ticket.status_changed") && link.contains("from=2025-07-01"));

    let response = admin.get(&link).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("audit-trail-")
    );
    let bytes = response.bytes().await.unwrap();
    let sheets = workbook(&bytes);
    assert_eq!(sheets[0].0, "Audit trail");
    let entries = &sheets[0].1;
    // Exactly acme's two status changes, newest first, in words with the codes beside them.
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(cell(entries, 1, "Action"), "Changed status");
    assert_eq!(cell(entries, 1, "Action code"), "ticket.status_changed");
    assert_eq!(cell(entries, 1, "Record"), "T-00042");
    assert_eq!(cell(entries, 1, "Record type"), "Ticket");
    assert_eq!(cell(entries, 1, "Record id"), ticket.to_string());
    assert_eq!(cell(entries, 1, "Changes"), "Status: Open → In progress");
    assert_eq!(cell(entries, 2, "Changes"), "Status: On hold → Open");
    assert_eq!(cell(entries, 1, "Who (email)"), staff.email);
    // 12:00 UTC in July is 13:00 UK time.
    match &entries[1][0] {
        // 2025-07-10 is day 45848 in Excel's count.
        Data::DateTime(d) => assert!((d.as_f64() - (45848.0 + 13.0 / 24.0)).abs() < 1e-6, "{d:?}"),
        other => panic!("the time is not a date-time: {other:?}"),
    }
    let about = &sheets
        .iter()
        .find(|(n, _)| n == "About")
        .expect("an About sheet")
        .1;
    assert!(about.iter().any(|r| r[1] == "Changed status"));
    assert!(!about.iter().any(|r| r[0] == "Cut"));

    // The download is recorded.
    let (_, after) = admin.page("/admin/audit?action=audit.downloaded").await;
    assert_eq!(rows(&after, "audit.downloaded"), 1);
    assert!(after.contains("Downloaded audit trail"));

    // Bad filters: a plain message, not a file.
    let (status, body) = admin.page("/admin/audit/download?from=31/01/2025").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("must look like 2025-01-31"));

    // Only admins.
    let (status, _) = app
        .sign_in(&staff)
        .await
        .page("/admin/audit/download")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
