//! The ticket page as a coordinator chases with it (issue 17): one next step for the
//! status, the other changes each behind its own small form, a hold with its reason and
//! review date, and appointment problems shown next to the booking fields on the ticket
//! page itself.

use plotcare::domain::{Role, clock};
use reqwest::StatusCode;
use time::Duration;

use crate::common::TestApp;
use crate::tickets::{log_ticket, site};

#[tokio::test]
async fn the_next_step_follows_the_status() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let company = app.create_company(&a, "Brightwater Plumbing").await;
    let admin = app.sign_in_admin(&a.admin).await;
    let id = log_ticket(&admin, s.plot, &[]).await;

    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(
        page.contains(r##"href="#nominations" id="next-nominate""##),
        "{page}"
    );
    // The other changes are closed until asked for: one form each.
    assert!(page.contains(r#"<details class="action-form" id="action-on_hold">"#));
    assert!(page.contains(r#"<details class="action-form" id="action-closed">"#));

    let r = admin
        .post_form(
            &format!("/tickets/{id}/nominate"),
            &[("nominee", &format!("company:{company}"))],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(
        page.contains(r##"href="#appointments" id="next-book""##),
        "{page}"
    );

    sqlx::query("UPDATE tickets SET status = 'completed' WHERE id = $1")
        .bind(id)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(page.contains(&format!(
        r#"href="/tickets/{id}/sign-off" id="next-sign-off""#
    )));
}

#[tokio::test]
async fn a_hold_needs_a_reason_and_a_review_date_and_shows_both() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let staff = app
        .sign_in(&app.create_user(&a, Role::Staff, None, false).await)
        .await;
    let id = log_ticket(&staff, s.plot, &[]).await;
    let path = format!("/tickets/{id}/status");

    // No reason: the ticket page again, the hold form open, the problem beside its field.
    let r = staff
        .post_form(&path, &[("to", "on_hold"), ("review_on", "2030-01-01")])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(body.contains(r#"id="action-on_hold" open"#), "{body}");
    assert!(body.contains(r#"id="hold_reason-error""#));
    // A review date in the past.
    let yesterday = (clock::today() - Duration::days(1)).to_string();
    let r = staff
        .post_form(
            &path,
            &[
                ("to", "on_hold"),
                ("hold_reason", "Waiting for parts"),
                ("review_on", &yesterday),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("cannot be in the past"));
    assert_eq!(
        app.count("SELECT count(*) FROM tickets WHERE status = 'on_hold'")
            .await,
        0
    );

    let today = clock::today().to_string();
    let r = staff
        .post_form(
            &path,
            &[
                ("to", "on_hold"),
                ("hold_reason", "Waiting for the homeowner to choose a tile"),
                ("review_on", &today),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = staff.page(&format!("/tickets/{id}")).await;
    assert!(
        page.contains("Waiting for the homeowner to choose a tile – review on"),
        "{page}"
    );
    assert!(page.contains(r#"id="hold-review-due""#), "due today");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE action = 'ticket.status_changed'
                AND changes->>'hold_reason' = 'Waiting for the homeowner to choose a tile'"
        )
        .await,
        1
    );

    // Leaving the hold clears it.
    let r = staff.post_form(&path, &[("to", "open")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM tickets WHERE hold_reason IS NOT NULL OR hold_review_on IS NOT NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn a_booking_in_the_past_is_refused_on_the_ticket_page_unless_it_records_a_visit() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let staff = app
        .sign_in(&app.create_user(&a, Role::Staff, None, false).await)
        .await;
    let id = log_ticket(&staff, s.plot, &[]).await;
    let path = format!("/tickets/{id}/appointments");
    let last_week = (clock::today() - Duration::days(7)).to_string();
    let booking = [
        ("day", last_week.as_str()),
        ("window_start", "08:00"),
        ("window_end", "12:00"),
        ("with_whom", "Ann Smith"),
    ];

    let r = staff.post_form(&path, &booking).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    // The ticket page itself, with the booking form open and the problem next to the day.
    assert!(body.contains(r#"id="ticket-facts""#), "the ticket page");
    assert!(body.contains(r#"<details id="book-appointment" open>"#));
    assert!(body.contains(r#"id="book-day-error""#));
    assert!(body.contains("cannot be in the past"));
    assert!(
        body.contains(r#"value="Ann Smith""#),
        "what was typed stays"
    );
    assert_eq!(app.count("SELECT count(*) FROM appointments").await, 0);

    let mut recorded = booking.to_vec();
    recorded.push(("past_visit", "yes"));
    let r = staff.post_form(&path, &recorded).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM appointments").await, 1);
}

// ---------------------------------------------------------------- bulk actions

async fn bulk(client: &crate::common::TestClient, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let r = client.post_form("/tickets/bulk", fields).await;
    let status = r.status();
    (status, r.text().await.unwrap())
}

#[tokio::test]
async fn bulk_nominating_three_tickets_writes_one_audit_record_each_and_says_what_was_done() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let company = app.create_company(&a, "Brightwater Plumbing").await;
    let staff = app
        .sign_in(&app.create_user(&a, Role::Staff, None, false).await)
        .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(log_ticket(&staff, s.plot, &[]).await.to_string());
    }
    // One is closed: nominating it is refused, the others go ahead.
    let closed = log_ticket(&staff, s.plot, &[]).await;
    sqlx::query("UPDATE tickets SET status = 'closed', closed_at = now(), resolution = 'Fixed' WHERE id = $1")
        .bind(closed)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let (_, list) = staff.page("/tickets").await;
    assert!(list.contains(r#"id="bulk-form""#));
    assert!(list.contains(&format!(r#"id="select-{}""#, ids[0])));

    let nominee = format!("company:{company}");
    let closed_id = closed.to_string();
    let mut fields = vec![("action", "nominate"), ("nominee", nominee.as_str())];
    for id in ids.iter().chain([&closed_id]) {
        fields.push(("ticket", id.as_str()));
    }
    let (status, page) = bulk(&staff, &fields).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Nominated: 3 done, 1 refused"), "{page}");
    assert!(
        page.contains("Reopen it before nominating someone"),
        "{page}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.nominated'")
            .await,
        3
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM tickets WHERE nominated_company_id = '{company}' AND status = 'in_progress'"
        ))
        .await,
        3
    );

    // Every ticket matching the filter: the three in progress, to high priority.
    let (status, page) = bulk(
        &staff,
        &[
            ("action", "priority"),
            ("priority", "high"),
            ("all_matching", "yes"),
            ("filter", "/tickets?status=in_progress"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Priority set to high: 3 done"), "{page}");
    assert_eq!(
        app.count("SELECT count(*) FROM tickets WHERE priority = 'high'")
            .await,
        3
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.updated'")
            .await,
        3
    );

    // A hold needs its reason; nothing chosen is a clear 400.
    let (status, _) = bulk(&staff, &[("action", "hold"), ("ticket", &ids[0])]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = bulk(&staff, &[("action", "duplicate")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let today = clock::today().to_string();
    let (_, page) = bulk(
        &staff,
        &[
            ("action", "hold"),
            ("hold_reason", "Waiting for the homeowner"),
            ("review_on", &today),
            ("ticket", &ids[0]),
            ("ticket", &ids[1]),
        ],
    )
    .await;
    assert!(page.contains("Put on hold: 2 done"), "{page}");
    let (_, page) = bulk(
        &staff,
        &[
            ("action", "duplicate"),
            ("duplicate_of", "T-00001"),
            ("ticket", &ids[2]),
        ],
    )
    .await;
    assert!(page.contains("Closed as a duplicate: 1 done"), "{page}");
    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets WHERE resolution = 'Closed as a duplicate of T-00001.'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_scheme_restricted_users_bulk_action_skips_and_reports_other_schemes_tickets() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let b = app.create_tenant("bravo").await;
    let mine = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let other = site(&app, &a, "River View", "3", "M1 1AA").await;
    let elsewhere = site(&app, &b, "Hill Top", "1", "YO1 7HH").await;
    let admin = app.sign_in_admin(&a.admin).await;
    let mine_ticket = log_ticket(&admin, mine.plot, &[]).await.to_string();
    let other_ticket = log_ticket(&admin, other.plot, &[]).await.to_string();
    let bravo = app.sign_in_admin(&b.admin).await;
    let foreign = log_ticket(&bravo, elsewhere.plot, &[]).await.to_string();
    let user = app.create_user(&a, Role::Staff, None, false).await;
    app.restrict_to_scheme(&a, &user, mine.scheme).await;
    let staff = app.sign_in(&user).await;

    let (status, page) = bulk(
        &staff,
        &[
            ("action", "priority"),
            ("priority", "low"),
            ("ticket", &mine_ticket),
            ("ticket", &other_ticket),
            ("ticket", &foreign),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("1 done, 2 refused"), "{page}");
    assert!(page.contains("not one you can reach"), "{page}");
    assert_eq!(
        app.count("SELECT count(*) FROM tickets WHERE priority = 'low'")
            .await,
        1
    );
    // Every matching ticket means every matching ticket the user reaches.
    let (_, page) = bulk(
        &staff,
        &[
            ("action", "priority"),
            ("priority", "high"),
            ("all_matching", "yes"),
            ("filter", "/tickets"),
        ],
    )
    .await;
    assert!(page.contains("Priority set to high: 1 done"), "{page}");
    assert!(!page.contains("refused"), "{page}");
}

// ---------------------------------------------------------------- quick find

#[tokio::test]
async fn quick_find_groups_tickets_plots_and_contacts_and_enter_opens_the_best_match() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let b = app.create_tenant("bravo").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let staff = app
        .sign_in(&app.create_user(&a, Role::Staff, None, false).await)
        .await;
    let r = staff
        .post_form(
            &format!("/plots/{}/homeowners", s.plot),
            &[
                ("contact_id", ""),
                ("new_name", "Grace Okafor"),
                ("new_phone", "07700 900123"),
                ("new_email", ""),
                ("from_date", "2024-03-01"),
                ("to_date", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let ticket = log_ticket(&staff, s.plot, &[("title", "Radiator cold")]).await;
    let number: i64 = sqlx::query_scalar("SELECT number FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    // Another tenant's look-alike never shows.
    let other = site(&app, &b, "Meadow Park", "12", "LS1 4AB").await;
    let bravo = app.sign_in_admin(&b.admin).await;
    log_ticket(&bravo, other.plot, &[("title", "Radiator cold")]).await;

    // Every staff page has the box.
    let (_, home) = staff.page("/tickets").await;
    assert!(home.contains(r#"id="quick-find""#));

    // By postcode: the plot and its ticket, grouped.
    let (status, page) = staff.page("/find?q=LS1+4AB").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="find-plots""#), "{page}");
    assert!(page.contains(&format!("/plots/{}", s.plot)));
    assert!(
        !page.contains(&format!("/plots/{}", other.plot)),
        "another tenant's plot"
    );
    // By phone: the homeowner.
    let (_, page) = staff.page("/find?q=07700900123").await;
    assert!(page.contains(r#"id="find-contacts""#), "{page}");
    assert!(page.contains("Grace Okafor"));
    // As you type: the results alone, no layout.
    let (status, partial) = staff.page("/find?q=okafor&partial=1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        partial.starts_with(r#"<div class="find-results""#),
        "{partial}"
    );
    assert!(partial.contains("Grace Okafor"));

    // Enter on a reference opens the ticket; on something with several matches, the results.
    let r = staff.get(&format!("/find?go=1&q=T-{number:05}")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("/tickets/{ticket}")
    );
    let (status, page) = staff.page("/find?go=1&q=nothing+like+this").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="find-nothing""#));

    // Subcontractors have My jobs instead.
    let company = app.create_company(&a, "Brightwater").await;
    let sub = app
        .sign_in(
            &app.create_user(&a, Role::Subcontractor, Some(company), false)
                .await,
        )
        .await;
    assert_eq!(sub.page("/find?q=LS1").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_ticket_list_shows_its_filters_as_removable_chips_and_days_open() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let staff = app
        .sign_in(&app.create_user(&a, Role::Staff, None, false).await)
        .await;
    let id = log_ticket(&staff, s.plot, &[("priority", "high")]).await;
    sqlx::query("UPDATE tickets SET reported_at = now() - interval '9 days 2 hours' WHERE id = $1")
        .bind(id)
        .execute(&app.admin_pool)
        .await
        .unwrap();

    let (status, page) = staff.page("/tickets?priority=high&status=open&q=tap").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"id="filter-chips""#), "{page}");
    assert!(page.contains("Priority: High"));
    assert!(page.contains("Status: Open"));
    assert!(page.contains("Search: tap"));
    // Each chip's link keeps the other filters and drops its own.
    assert!(
        page.contains(
            r#"href="/tickets?q=tap&#38;status=open" title="Remove this filter">Priority: High"#
        ),
        "{page}"
    );
    assert!(
        page.contains(r#"<td data-label="Days open" class="num">9</td>"#),
        "{page}"
    );
    let (_, plain) = staff.page("/tickets").await;
    assert!(!plain.contains(r#"id="filter-chips""#));
}

#[tokio::test]
async fn logging_a_ticket_on_a_plot_out_of_warranty_warns_with_the_end_date() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let staff = app
        .sign_in(&app.create_user(&a, Role::Staff, None, false).await)
        .await;
    let new = format!("/plots/{}/tickets/new", s.plot);
    let (_, page) = staff.page(&new).await;
    assert!(
        !page.contains(r#"id="warranty-warning""#),
        "no handover date: no warning"
    );

    // Handed over eleven years ago: a ten-year warranty has ended.
    sqlx::query(
        "UPDATE plots SET completion_date = now()::date - interval '11 years' WHERE id = $1",
    )
    .bind(s.plot)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let (_, page) = staff.page(&new).await;
    assert!(page.contains(r#"id="warranty-warning""#), "{page}");
    assert!(page.contains("The warranty on this plot ended on"));
}

#[tokio::test]
async fn the_list_sorts_oldest_first_and_shows_each_complaints_next_deadline() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let staff = app
        .sign_in(&app.create_user(&a, Role::Staff, None, false).await)
        .await;
    let older = log_ticket(&staff, s.plot, &[("title", "Sticking door")]).await;
    log_ticket(&staff, s.plot, &[("title", "Cracked tile")]).await;
    // Both were reported on 3 March 2025 (the form's value); this one earlier.
    sqlx::query("UPDATE tickets SET reported_at = reported_at - interval '40 days' WHERE id = $1")
        .bind(older)
        .execute(&app.admin_pool)
        .await
        .unwrap();

    let (_, page) = staff.page("/tickets?sort=oldest").await;
    let (o, n) = (
        page.find("Sticking door").unwrap(),
        page.find("Cracked tile").unwrap(),
    );
    assert!(o < n, "oldest first");
    assert!(page.contains(r#"<option value="oldest" selected>Oldest first</option>"#));
    let (_, page) = staff.page("/tickets?sort=reported").await;
    assert!(page.find("Cracked tile").unwrap() < page.find("Sticking door").unwrap());

    // A complaint received 30 days ago with its acknowledgement done: the path-to-resolution
    // letter is next, and overdue (10 days after the start).
    let received = (clock::today() - Duration::days(30)).to_string();
    let complaint = log_ticket(
        &staff,
        s.plot,
        &[
            ("title", "Damp in the bedroom"),
            ("is_complaint", "on"),
            ("complaint_received_on", &received),
        ],
    )
    .await;
    sqlx::query(
        "INSERT INTO complaint_stages (tenant_id, ticket_id, stage, done_on) VALUES ($1, $2, 'acknowledgement', now()::date)",
    )
    .bind(a.id)
    .bind(complaint)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let (_, page) = staff.page("/tickets").await;
    assert!(page.contains("<th>Next complaint deadline</th>"), "{page}");
    assert!(
        page.contains(r#"<span class="badge bad">Path-to-resolution letter by "#),
        "{page}"
    );
    assert!(
        !page.contains("Written acknowledgement by"),
        "the done stage is not next"
    );
}

#[tokio::test]
async fn a_hold_whose_review_date_has_come_shows_in_my_work_and_opens_the_list_filtered() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let staff = app
        .sign_in(&app.create_user(&a, Role::Staff, None, false).await)
        .await;
    let due = log_ticket(&staff, s.plot, &[("title", "Sticking door")]).await;
    let later = log_ticket(&staff, s.plot, &[("title", "Cracked tile")]).await;
    let next_week = (clock::today() + Duration::days(7)).to_string();
    for id in [due, later] {
        let r = staff
            .post_form(
                &format!("/tickets/{id}/status"),
                &[
                    ("to", "on_hold"),
                    ("hold_reason", "Waiting for the homeowner"),
                    ("review_on", &next_week),
                ],
            )
            .await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
    }
    // A week passes for one of them.
    sqlx::query("UPDATE tickets SET hold_review_on = now()::date - 1 WHERE id = $1")
        .bind(due)
        .execute(&app.admin_pool)
        .await
        .unwrap();

    let (_, home) = staff.page("/").await;
    assert!(home.contains(r#"id="my-work""#), "{home}");
    assert!(
        home.contains(r#"<a href="/tickets?review=due" id="hold-reviews-count">1</a>"#),
        "{home}"
    );
    assert!(home.contains("Sticking door") && home.contains("Waiting for the homeowner"));
    assert!(!home.contains("Cracked tile"), "its review is next week");

    // The count opens the list with the same filter, and the same tickets.
    let (status, list) = staff.page("/tickets?review=due").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.contains("Hold review due"),
        "the filter shows as a chip"
    );
    assert!(list.contains("Sticking door") && !list.contains("Cracked tile"));

    // Another tenant's staff see none of it.
    let b = app.create_tenant("bravo").await;
    let other = app
        .sign_in(&app.create_user(&b, Role::Staff, None, false).await)
        .await;
    let (_, home) = other.page("/").await;
    assert!(home.contains(r#"id="hold-reviews-count">0</a>"#), "{home}");
}

#[tokio::test]
async fn bulk_export_gives_the_ticked_tickets_a_user_reaches_as_a_workbook_of_words() {
    use calamine::{Reader, Xlsx};
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let mine = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let other = site(&app, &a, "River View", "3", "M1 1AA").await;
    let admin = app.sign_in_admin(&a.admin).await;
    let sneaky = log_ticket(&admin, mine.plot, &[("title", "=HYPERLINK(\"x\")")]).await;
    let plain = log_ticket(&admin, mine.plot, &[("title", "Cracked tile")]).await;
    let theirs = log_ticket(&admin, other.plot, &[("title", "Other scheme")]).await;
    let user = app.create_user(&a, Role::Staff, None, false).await;
    app.restrict_to_scheme(&a, &user, mine.scheme).await;
    let staff = app.sign_in(&user).await;

    let (s, p, t) = (sneaky.to_string(), plain.to_string(), theirs.to_string());
    let r = staff
        .post_form(
            "/tickets/bulk",
            &[
                ("action", "export"),
                ("ticket", &s),
                ("ticket", &p),
                ("ticket", &t),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".xlsx")
    );
    let bytes = r.bytes().await.unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheet = book.worksheet_range("Tickets").unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][0], "Reference");
    assert_eq!(
        rows.len(),
        3,
        "a heading and the two tickets the user reaches: {rows:?}"
    );
    assert!(rows.iter().all(|r| r[1] != "Other scheme"));
    // Words as the list shows them, and formula-looking text kept as text.
    assert_eq!(rows[1][1], "=HYPERLINK(\"x\")");
    assert_eq!(rows[1][5], "Open");
    assert_eq!(rows[1][6], "Medium");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'tickets.exported'")
            .await,
        1
    );
}
