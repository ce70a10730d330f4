//! Two-factor authentication as a requirement: an admin (and, when the tenant asks for
//! it, every staff user) who has not set it up reaches only the set-up page and sign-out.

use plotcare::domain::Role;
use reqwest::StatusCode;

use crate::common::{TestApp, TestClient, TestTenant};

/// Signs in with a password only (no second factor set up yet).
async fn sign_in_without_mfa(app: &TestApp, email: &str, password: &str) -> TestClient {
    let client = app.client();
    let response = client.sign_in(email, password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    client
}

/// Every page and action a user might try: each must send them to set up MFA.
async fn assert_only_enrolment_is_open(app: &TestApp, tenant: &TestTenant, client: &TestClient) {
    let ticket = crate::comments::create_ticket(app, tenant, None).await;
    for path in [
        "/tickets".to_owned(),
        format!("/tickets/{ticket}"),
        "/plots".into(),
        "/schemes".into(),
        "/contacts".into(),
        "/inspections".into(),
        "/users".into(),
        "/admin/audit".into(),
        "/admin/audit/download".into(),
        "/admin/security".into(),
        "/account".into(),
        "/account/tokens".into(),
        "/account/sessions".into(),
    ] {
        let response = client.get(&path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()["location"], "/account/mfa", "{path}");
    }
    let api = client.get("/api/v1/me").await;
    assert_eq!(api.status(), StatusCode::FORBIDDEN);
    let created = client
        .post_form("/schemes/new", &[("name", "Sneaky Meadows")])
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    assert_eq!(created.headers()["location"], "/account/mfa");
    assert_eq!(
        app.count("SELECT count(*) FROM schemes WHERE name = 'Sneaky Meadows'")
            .await,
        0
    );
    let (status, page) = client.page("/account/mfa").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Set up two-factor authentication"));
}

#[tokio::test]
async fn an_admin_who_has_not_set_up_mfa_reaches_only_the_set_up_page_and_sign_out() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let admin = sign_in_without_mfa(&app, &acme.admin.email, &acme.admin.password).await;

    assert_only_enrolment_is_open(&app, &acme, &admin).await;

    let out = admin.post_form("/sign-out", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(out.headers()["location"], "/sign-in");
}

#[tokio::test]
async fn an_admin_reaches_records_once_mfa_is_set_up() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let admin = sign_in_without_mfa(&app, &acme.admin.email, &acme.admin.password).await;
    assert_eq!(admin.get("/tickets").await.status(), StatusCode::SEE_OTHER);

    crate::account::enrol(&admin).await;

    assert_eq!(admin.get("/tickets").await.status(), StatusCode::OK);
    assert_eq!(admin.get("/admin/security").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_admin_whose_mfa_is_reset_is_sent_to_set_it_up_again_on_the_next_request() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ann = app.create_user(&acme, Role::Admin, None, false).await;
    let ann_client = app.sign_in_admin(&ann).await;
    assert_eq!(ann_client.get("/tickets").await.status(), StatusCode::OK);

    let admin = app.sign_in_admin(&acme.admin).await;
    let reset = admin
        .post_form(&format!("/users/{}/reset-mfa", ann.id), &[])
        .await;
    assert_eq!(reset.status(), StatusCode::SEE_OTHER);

    let response = ann_client.get("/tickets").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/account/mfa");
}

#[tokio::test]
async fn a_tenant_can_require_mfa_for_every_staff_user() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let pipes = app.create_company(&acme, "Pipes Ltd").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let emergency = app.create_user(&acme, Role::Emergency, None, false).await;
    let sub = app
        .create_user(&acme, Role::Subcontractor, Some(pipes), false)
        .await;
    let signed_in_staff = app.sign_in(&staff).await;
    assert_eq!(
        signed_in_staff.get("/tickets").await.status(),
        StatusCode::OK
    );

    // Staff cannot change the setting; an admin can, and it is audited.
    assert_eq!(
        signed_in_staff.get("/admin/security").await.status(),
        StatusCode::FORBIDDEN
    );
    let admin = app.sign_in_admin(&acme.admin).await;
    let (status, page) = admin.page("/admin/security").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("name=\"mfa_required\""), "{page}");
    let saved = admin
        .post_form("/admin/security", &[("mfa_required", "staff")])
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'tenant.mfa_policy_changed'")
            .await,
        1
    );

    // Staff already signed in are sent to set it up on their next request; so are new sign-ins.
    let response = signed_in_staff.get("/tickets").await;
    assert_eq!(response.headers()["location"], "/account/mfa");
    let out_of_hours = sign_in_without_mfa(&app, &emergency.email, &emergency.password).await;
    assert_only_enrolment_is_open(&app, &acme, &out_of_hours).await;
    let (_, page) = out_of_hours.page("/account/mfa").await;
    assert!(page.contains("Your organisation requires"), "{page}");

    // Subcontractors are another company's people: not unless the tenant asks for everyone.
    let subcontractor = app.sign_in(&sub).await;
    assert_eq!(subcontractor.get("/jobs").await.status(), StatusCode::OK);
    admin
        .post_form("/admin/security", &[("mfa_required", "everyone")])
        .await;
    assert_eq!(
        subcontractor.get("/jobs").await.headers()["location"],
        "/account/mfa"
    );

    // A value that is not a choice changes nothing.
    let refused = admin
        .post_form("/admin/security", &[("mfa_required", "nobody")])
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let policy: String = sqlx::query_scalar("SELECT mfa_required FROM tenants")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(policy, "everyone");
}
