//! Appointments on a ticket: booking, changing, attended and no access, the
//! Abortive Visit offer, the plot page's list, and the scope of every route.

use plotcare::{auth::TenantTx, db, domain::Role};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::{
    common::{TestApp, TestClient},
    nominations::create_ticket,
};

fn tomorrow() -> String {
    (time::OffsetDateTime::now_utc().date() + time::Duration::days(1)).to_string()
}

async fn book(client: &TestClient, ticket: Uuid, start: &str, end: &str) -> reqwest::Response {
    let day = tomorrow();
    client
        .post_form(
            &format!("/tickets/{ticket}/appointments"),
            &[
                ("day", &day),
                ("window_start", start),
                ("window_end", end),
                ("with_whom", "Mrs Patel"),
                ("notes", "Ring the bell twice"),
            ],
        )
        .await
}

async fn only_appointment(app: &TestApp) -> Uuid {
    sqlx::query_scalar("SELECT id FROM appointments")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn booking_a_window_that_ends_before_it_starts_shows_the_message_next_to_the_field() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    let response = book(&client, ticket, "12:00", "08:00").await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    let field = &page[page.find("id=\"book-end\"").expect("the end field")..];
    assert!(
        field[..300].contains("The window must end after it starts."),
        "{field}"
    );
    assert!(
        page.contains("value=\"Mrs Patel\""),
        "what was typed is kept"
    );
    assert_eq!(app.count("SELECT count(*) FROM appointments").await, 0);

    let response = client
        .post_form(
            &format!("/tickets/{ticket}/appointments"),
            &[("day", "31/02/2025"), ("window_start", "9am")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("Enter a real date"));
    assert!(page.contains("Enter when the window starts"));
}

#[tokio::test]
async fn a_booked_appointment_shows_as_upcoming_and_can_be_changed() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    let response = book(&client, ticket, "08:00", "12:00").await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("/tickets/{ticket}#appointments").as_str()
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM appointments WHERE status = 'booked' AND with_whom = 'Mrs Patel'"
        )
        .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM ticket_events WHERE kind = 'appointment_booked' AND shared"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'appointment.booked'")
            .await,
        1
    );
    let (_, page) = client.page(&format!("/tickets/{ticket}")).await;
    assert!(page.contains("08:00–12:00"));
    assert!(page.contains("Upcoming"));

    let id = only_appointment(&app).await;
    let day = tomorrow();
    let changed = client
        .post_form(
            &format!("/tickets/{ticket}/appointments/{id}"),
            &[
                ("day", &day),
                ("window_start", "13:00"),
                ("window_end", "17:00"),
                ("with_whom", "Mr Patel"),
                ("notes", ""),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM appointments WHERE window_start = '13:00' AND with_whom = 'Mr Patel'").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'appointment.changed'")
            .await,
        1
    );

    // A bad change re-shows that appointment's form with the message.
    let bad = client
        .post_form(
            &format!("/tickets/{ticket}/appointments/{id}"),
            &[
                ("day", &day),
                ("window_start", "17:00"),
                ("window_end", "17:00"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.text()
            .await
            .unwrap()
            .contains("The window must end after it starts.")
    );

    // The plot page's list.
    let plot: Uuid = sqlx::query_scalar("SELECT plot_id FROM tickets")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    let upcoming =
        db::appointments::upcoming_for_plot(&mut tx, plot, plotcare::domain::clock::today(), 5)
            .await
            .unwrap();
    assert_eq!(upcoming.len(), 1);
    assert_eq!(upcoming[0].reference(), "T-00042");
}

#[tokio::test]
async fn no_access_offers_to_set_the_ticket_to_abortive_visit() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    book(&client, ticket, "08:00", "12:00").await;
    let id = only_appointment(&app).await;
    let (_, before) = client.page(&format!("/tickets/{ticket}")).await;
    assert!(!before.contains("Set ticket to Abortive Visit (no access)"));

    let response = client
        .post_form(
            &format!("/tickets/{ticket}/appointments/{id}/no-access"),
            &[],
        )
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM appointments WHERE status = 'no_access'")
            .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM ticket_events WHERE kind = 'appointment_no_access' AND shared"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'appointment.no_access'")
            .await,
        1
    );
    let (_, page) = client.page(&format!("/tickets/{ticket}")).await;
    let offer = &page[page.find("id=\"offer-abortive\"").expect("the offer")..];
    assert!(offer.contains(&format!("action=\"/tickets/{ticket}/status\"")));
    assert!(offer.contains("name=\"to\" value=\"abortive_visit\""));
    assert!(offer.contains("name=\"abortive_reason\" value=\"no_access\""));
    assert!(offer.contains("name=\"reason\" value=\"no_access\""));
    assert!(offer.contains("Set ticket to Abortive Visit (no access)"));

    // The one click works (the ticket page's status route), with the offer's fields.
    let token = client.csrf_token().await;
    let response = client
        .post_form_raw(
            &format!("/tickets/{ticket}/status"),
            &[
                ("to", "abortive_visit"),
                ("abortive_reason", "no_access"),
                ("reason", "no_access"),
                ("csrf_token", &token),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM tickets WHERE status = 'abortive_visit' AND abortive_reason = 'no_access'").await, 1);
}

#[tokio::test]
async fn attended_marks_the_appointment_and_makes_no_offer() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    book(&client, ticket, "08:00", "12:00").await;
    let id = only_appointment(&app).await;

    let response = client
        .post_form(
            &format!("/tickets/{ticket}/appointments/{id}/attended"),
            &[],
        )
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM appointments WHERE status = 'attended'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'appointment.attended'")
            .await,
        1
    );
    let (_, page) = client.page(&format!("/tickets/{ticket}")).await;
    assert!(page.contains("Attended"));
    assert!(!page.contains("Set ticket to Abortive Visit (no access)"));
}

#[tokio::test]
async fn every_appointment_route_answers_not_found_for_another_tenant() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let ticket = create_ticket(&app, &acme).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    book(&app.sign_in(&staff).await, ticket, "08:00", "12:00").await;
    let id = only_appointment(&app).await;
    let intruder = app.create_user(&globex, Role::Staff, None, false).await;
    let intruder = app.sign_in(&intruder).await;
    let day = tomorrow();
    let fields = [
        ("day", day.as_str()),
        ("window_start", "09:00"),
        ("window_end", "10:00"),
        ("with_whom", "x"),
        ("notes", ""),
    ];

    for path in [
        format!("/tickets/{ticket}/appointments"),
        format!("/tickets/{ticket}/appointments/{id}"),
        format!("/tickets/{ticket}/appointments/{id}/attended"),
        format!("/tickets/{ticket}/appointments/{id}/no-access"),
    ] {
        let response = intruder.post_form(&path, &fields).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    // Nor through a ticket of their own: an appointment id from another ticket is not found.
    let globex_ticket = create_ticket(&app, &globex).await;
    let response = intruder
        .post_form(
            &format!("/tickets/{globex_ticket}/appointments/{id}/attended"),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    assert_eq!(app.count("SELECT count(*) FROM appointments").await, 1);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM appointments WHERE status = 'booked' AND window_start = '08:00'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn out_of_hours_users_and_subcontractors_cannot_book() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme).await;
    let emergency = app.create_user(&acme, Role::Emergency, None, false).await;
    let response = book(&app.sign_in(&emergency).await, ticket, "08:00", "12:00").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let company = app.create_company(&acme, "Pipe Dreams Ltd").await;
    let sub = app
        .create_user(&acme, Role::Subcontractor, Some(company), false)
        .await;
    let response = book(&app.sign_in(&sub).await, ticket, "08:00", "12:00").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT count(*) FROM appointments").await, 0);
}
