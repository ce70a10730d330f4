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
