//! The plot page brings together what happens on a home: its tickets,
//! upcoming appointments and inspections.

use plotcare::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::{comments::create_ticket, common::TestApp};

async fn plot_of(app: &TestApp, ticket: Uuid) -> Uuid {
    sqlx::query_scalar("SELECT plot_id FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_plot_page_lists_its_tickets_and_upcoming_appointments() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let plot = plot_of(&app, ticket).await;
    sqlx::query(
        "INSERT INTO appointments (tenant_id, id, ticket_id, plot_id, day, window_start, window_end, with_whom)
         VALUES ($1, $2, $3, $4, current_date + 3, '09:00', '12:00', 'Brightwater Plumbing')",
    )
    .bind(acme.id)
    .bind(Uuid::now_v7())
    .bind(ticket)
    .bind(plot)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    let (status, body) = client.page(&format!("/plots/{plot}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("T-00001") && body.contains("Dripping kitchen tap"),
        "ticket listed"
    );
    assert!(body.contains(&format!("/tickets/{ticket}")));
    assert!(
        body.contains("09:00–12:00") && body.contains("with Brightwater Plumbing"),
        "appointment listed"
    );
    assert!(body.contains("Log a ticket"));
    assert!(body.contains("Schedule an inspection"));
}

#[tokio::test]
async fn a_plot_with_an_open_ticket_cannot_be_archived() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let plot = plot_of(&app, ticket).await;
    sqlx::query("UPDATE plots SET completion_date = current_date - 30 WHERE id = $1")
        .bind(plot)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    let response = client
        .post_form(&format!("/plots/{plot}/archive"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, body) = client.page(&format!("/plots/{plot}")).await;
    assert!(body.contains("while it has open tickets"));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM plots WHERE id = '{plot}' AND archived_at IS NULL"
        ))
        .await,
        1
    );

    // Once the ticket is closed, it can.
    sqlx::query("UPDATE tickets SET status = 'closed', resolution = 'Tap washer replaced', closed_at = now() WHERE id = $1")
        .bind(ticket)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    client
        .post_form(&format!("/plots/{plot}/archive"), &[])
        .await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM plots WHERE id = '{plot}' AND archived_at IS NOT NULL"
        ))
        .await,
        1
    );
}
