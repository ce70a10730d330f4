//! SLA clocks and complaint clocks, as staff see them on the ticket page.

use reqwest::StatusCode;
use time::{Duration, OffsetDateTime, macros::datetime};
use uuid::Uuid;

use super::tickets::{log_ticket, site};
use crate::common::TestApp;

async fn due_at(app: &TestApp, id: Uuid) -> Option<OffsetDateTime> {
    sqlx::query_scalar("SELECT due_at FROM tickets WHERE id = $1")
        .bind(id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn each_priority_is_due_its_target_after_it_was_reported() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let admin = app.sign_in_admin(&a.admin).await;

    // 3 March 2025 09:00 UK time is 09:00 UTC (winter).
    let reported = datetime!(2025-03-03 09:00 UTC);
    for (priority, target) in [
        ("emergency", Duration::hours(12)),
        ("high", Duration::days(1)),
        ("medium", Duration::days(7)),
        ("low", Duration::days(28)),
    ] {
        let id = log_ticket(
            &admin,
            s.plot,
            &[("priority", priority), ("reported_at", "2025-03-03T09:00")],
        )
        .await;
        assert_eq!(
            due_at(&app, id).await,
            Some(reported + target),
            "{priority}"
        );
    }
    // Summer: 1 July 2025 09:00 UK time is 08:00 UTC.
    let id = log_ticket(
        &admin,
        s.plot,
        &[
            ("priority", "emergency"),
            ("reported_at", "2025-07-01T09:00"),
        ],
    )
    .await;
    assert_eq!(
        due_at(&app, id).await,
        Some(datetime!(2025-07-01 20:00 UTC))
    );
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("1 Jul 2025, 21:00"), "shown in UK time");
    assert!(page.contains("Overdue"));
}

#[tokio::test]
async fn on_hold_stops_the_clock_and_resuming_moves_the_due_time_by_the_time_held() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let admin = app.sign_in_admin(&a.admin).await;
    let now = OffsetDateTime::now_utc();
    let id = log_ticket(&admin, s.plot, &[("priority", "low")]).await;
    sqlx::query(
        "UPDATE tickets SET reported_at = $2, due_at = $2 + interval '28 days' WHERE id = $1",
    )
    .bind(id)
    .bind(now - Duration::days(1))
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let before = due_at(&app, id).await.unwrap();

    let response = admin
        .post_form(
            &format!("/tickets/{id}/status"),
            &[
                ("to", "on_hold"),
                ("hold_reason", "Waiting for a replacement part"),
                ("review_on", &plotcare::domain::clock::today().to_string()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("Clock paused"));
    // Pretend the hold began three days ago.
    sqlx::query(
        "UPDATE tickets SET on_hold_since = on_hold_since - interval '3 days' WHERE id = $1",
    )
    .bind(id)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let response = admin
        .post_form(&format!("/tickets/{id}/status"), &[("to", "in_progress")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let after = due_at(&app, id).await.unwrap();
    let moved = after - before;
    assert!(
        moved >= Duration::days(3) && moved < Duration::days(3) + Duration::minutes(1),
        "moved by {moved}"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM tickets WHERE id = '{id}' AND on_hold_since IS NULL"
        ))
        .await,
        1
    );
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("Clock restarted after 3 days on hold."));

    // Editing the priority later keeps the time held.
    let response = admin
        .post_form(
            &format!("/tickets/{id}/edit"),
            &[
                ("title", "Leaking kitchen tap"),
                ("description", "Drips constantly"),
                ("category", "plumbing"),
                ("location", "kitchen"),
                ("reported_via", "phone"),
                ("reported_at", &time_input(now - Duration::days(1))),
                ("priority", "medium"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let reported: OffsetDateTime =
        sqlx::query_scalar("SELECT reported_at FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    let edited = due_at(&app, id).await.unwrap();
    let held = edited - reported - Duration::days(7);
    assert!(
        held >= Duration::days(3) && held < Duration::days(3) + Duration::minutes(1),
        "held {held}"
    );
}

/// A datetime-local value in UK time, to the minute.
fn time_input(t: OffsetDateTime) -> String {
    let uk = plotcare::domain::clock::uk_time(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        uk.year(),
        u8::from(uk.month()),
        uk.day(),
        uk.hour(),
        uk.minute()
    )
}

#[tokio::test]
async fn a_scheme_with_sla_clocks_off_gives_no_due_time() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    sqlx::query("UPDATE schemes SET sla_enabled = false WHERE id = $1")
        .bind(s.scheme)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let admin = app.sign_in_admin(&a.admin).await;

    let id = log_ticket(&admin, s.plot, &[("priority", "emergency")]).await;

    assert_eq!(due_at(&app, id).await, None);
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("No SLA"));
    assert!(page.contains("No SLA clock on this scheme"));
}

#[tokio::test]
async fn complaint_stages_count_from_the_first_business_day_after_christmas() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let admin = app.sign_in_admin(&a.admin).await;

    // Friday 22 December 2023: then a weekend, Christmas Day and Boxing Day.
    let id = log_ticket(
        &admin,
        s.plot,
        &[
            ("reported_at", "2023-12-22T11:00"),
            ("is_complaint", "on"),
            ("complaint_received_on", "2023-12-22"),
        ],
    )
    .await;

    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("the clock starts 27 December 2023"));
    assert!(page.contains("Next: Written acknowledgement due 1 January 2024"));
    for due in ["6 January 2024", "26 January 2024", "21 February 2024"] {
        assert!(page.contains(due), "{due}");
    }

    let response = admin
        .post_form(
            &format!("/tickets/{id}/complaint-stages"),
            &[("stage", "acknowledgement"), ("done_on", "2023-12-28")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("Done 28 December 2023"));
    assert!(page.contains("Next: Path-to-resolution letter due 6 January 2024"));
    assert!(
        page.contains("Written acknowledgement done on 28 December 2023"),
        "in the timeline"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.complaint_stage_done'")
            .await,
        1
    );

    let response = admin
        .post_form(
            &format!("/tickets/{id}/complaint-stages"),
            &[("stage", "assessment"), ("done_on", "2999-01-01")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("cannot be in the future")
    );
}

#[tokio::test]
async fn admins_set_sla_targets_and_holidays_that_the_clocks_then_use() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let admin = app.sign_in_admin(&a.admin).await;

    let (status, page) = admin.page("/admin/sla").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Default 12 hours"));
    let targets = [
        ("emergency", "4"),
        ("emergency_unit", "hours"),
        ("high", "2"),
        ("high_unit", "days"),
        ("medium", "7"),
        ("medium_unit", "days"),
        ("low", "28"),
        ("low_unit", "days"),
    ];
    let response = admin.post_form("/admin/sla", &targets).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = admin
        .post_form(
            "/admin/sla",
            &[("emergency", "0"), ("emergency_unit", "hours")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let response = admin
        .post_form(
            "/admin/sla/holidays",
            &[("day", "2023-12-27"), ("name", "Office closed")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action LIKE 'sla.%'")
            .await,
        2
    );

    let id = log_ticket(
        &admin,
        s.plot,
        &[
            ("priority", "emergency"),
            ("reported_at", "2023-12-22T11:00"),
            ("is_complaint", "on"),
            ("complaint_received_on", "2023-12-22"),
        ],
    )
    .await;
    assert_eq!(
        due_at(&app, id).await,
        Some(datetime!(2023-12-22 15:00 UTC))
    );
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(
        page.contains("the clock starts 28 December 2023"),
        "the tenant's holiday is skipped"
    );

    let staff = app
        .create_user(&a, plotcare::domain::Role::Staff, None, false)
        .await;
    let client = app.sign_in(&staff).await;
    assert_eq!(client.page("/admin/sla").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        client.post_form("/admin/sla", &targets).await.status(),
        StatusCode::FORBIDDEN
    );
}
