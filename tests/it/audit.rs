//! The admin's audit trail page: filters, pages, and only the tenant's own events.

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

fn rows(body: &str, action: &str) -> usize {
    body.matches(&format!("<code>{action}</code>")).count()
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
    assert!(first.contains("status: open → closed"));
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
    assert!(everything.contains("ticket.reopened"));
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
