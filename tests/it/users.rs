//! User management and invitations, as admins, subcontractor admins and invitees meet them.

use plotcare::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{TestApp, TestClient};

/// The set-password link in the newest email to `to`: its path, e.g. "/set-password/psl_...".
/// (Links go only to the person: they are on no page.)
pub(crate) async fn emailed_link(app: &TestApp, to: &str) -> String {
    let body: String = sqlx::query_scalar(
        "SELECT body_text FROM outbox_emails WHERE to_address = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(to)
    .fetch_one(&app.admin_pool)
    .await
    .expect("an email to the invitee");
    let start = body
        .find("/set-password/psl_")
        .expect("a set-password link in the email");
    let end = body[start..]
        .find(|c: char| c.is_whitespace())
        .map_or(body.len(), |e| e + start);
    body[start..end].to_owned()
}

async fn user_id(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

pub(crate) async fn invite(
    client: &TestClient,
    name: &str,
    email: &str,
    role: &str,
    company: &str,
) -> reqwest::Response {
    client
        .post_form(
            "/users/new",
            &[
                ("name", name),
                ("email", email),
                ("role", role),
                ("company", company),
            ],
        )
        .await
}

#[tokio::test]
async fn an_invited_user_sets_a_password_with_the_link_shown_once_and_signs_in() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let admin = app.sign_in_admin(&acme.admin).await;

    let response = invite(&admin, "Nina New", "nina@acme.test", "staff", "").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    assert!(body.contains("We have emailed Nina New"), "{body}");
    assert!(
        !body.contains("/set-password/"),
        "the link goes to the invitee only"
    );
    let link = emailed_link(&app, "nina@acme.test").await;
    let token = link.trim_start_matches("/set-password/");

    // Listed as invited; the link is on no page (the outbox hides it) and in no audit record.
    let (_, list) = admin.page("/users").await;
    assert!(list.contains("Nina New") && list.contains("Invited"));
    let id = user_id(&app, "nina@acme.test").await;
    let (_, page) = admin.page(&format!("/users/{id}")).await;
    assert!(!page.contains(token));
    let (_, outbox) = admin.page("/admin/outbox").await;
    assert!(outbox.contains("invited to acme Homes"), "{outbox}");
    assert!(!outbox.contains(token));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM audit_events WHERE changes::text LIKE '%{token}%'"
        ))
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'user.created'")
            .await,
        2
    );

    // The invitee opens the link and chooses a password.
    let invitee = app.client();
    let (status, form) = invitee.page(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(form.contains("Set your password") && form.contains("nina@acme.test"));
    let short = invitee
        .post_form(
            &link,
            &[("new_password", "too short"), ("confirm", "too short")],
        )
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("id=\"new_password-error\"")
    );
    let password = "meadowbank plot nine kettle";
    let done = invitee
        .post_form(&link, &[("new_password", password), ("confirm", password)])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], "/sign-in");
    let (_, sign_in) = invitee.page("/sign-in").await;
    assert!(sign_in.contains("Your password is set"));

    let signed_in = invitee.sign_in("nina@acme.test", password).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(signed_in.headers()["location"], "/");
    let (_, list) = admin.page("/users").await;
    assert!(!list.contains("Invited"), "Nina has joined");

    // The link works once.
    let (status, again) = app.client().page(&link).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        again.contains(
            "This link has expired or has already been used. Ask your admin for a new one."
        )
    );
    let reuse = app
        .client()
        .post_form(
            &link,
            &[
                ("new_password", "another fine password"),
                ("confirm", "another fine password"),
            ],
        )
        .await;
    assert_eq!(reuse.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'user.password_set'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_email_already_used_in_the_tenant_is_refused_next_to_the_field_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let other = app.create_tenant("other").await;
    let admin = app.sign_in_admin(&acme.admin).await;
    let users_before = app.count("SELECT count(*) FROM users").await;

    let _ = &other;
    // Someone of this tenant: one membership per person.
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let users_before = users_before + 1;
    let response = invite(&admin, "Copy Cat", &staff.email.to_uppercase(), "staff", "").await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("id=\"email-error\">Someone in acme Homes already uses this email address"),
        "{body}"
    );
    assert!(body.contains("value=\"Copy Cat\""));
    assert_eq!(app.count("SELECT count(*) FROM users").await, users_before);
    assert_eq!(app.count("SELECT count(*) FROM password_links").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM outbox_emails").await, 0);
}

#[tokio::test]
async fn disabling_a_user_signs_them_out_and_enabling_lets_them_back_in() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let admin = app.sign_in_admin(&acme.admin).await;
    let staff_client = app.sign_in(&staff).await;
    assert_eq!(staff_client.get("/").await.status(), StatusCode::OK);

    let response = admin
        .post_form(&format!("/users/{}/disable", staff.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let next = staff_client.get("/users").await;
    assert_eq!(next.status(), StatusCode::SEE_OTHER);
    assert_eq!(next.headers()["location"], "/sign-in?next=%2Fusers");
    assert_eq!(
        app.client()
            .sign_in(&staff.email, &staff.password)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, page) = admin.page(&format!("/users/{}", staff.id)).await;
    assert!(page.contains("Disabled"));
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'user.disabled'")
            .await,
        1
    );

    let response = admin
        .post_form(&format!("/users/{}/enable", staff.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    app.sign_in(&staff).await;
}

#[tokio::test]
async fn an_admin_cannot_disable_themselves_or_drop_their_own_admin_role() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let admin = app.sign_in_admin(&acme.admin).await;

    let demote = admin
        .post_form(
            &format!("/users/{}/role", acme.admin.id),
            &[("role", "staff")],
        )
        .await;
    assert_eq!(demote.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        demote
            .text()
            .await
            .unwrap()
            .contains("remove your own admin role. Ask another admin")
    );
    let disable = admin
        .post_form(&format!("/users/{}/disable", acme.admin.id), &[])
        .await;
    assert_eq!(disable.status(), StatusCode::SEE_OTHER);
    let (status, page) = admin.page(&format!("/users/{}", acme.admin.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("disable your own account. Ask another admin"));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM users WHERE id = '{}' AND role = 'admin' AND disabled_at IS NULL",
            acme.admin.id
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn a_subcontractor_admin_manages_only_their_own_company() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let brick = app.create_company(&acme, "Brick Ltd").await;
    let pipes = app.create_company(&acme, "Pipes Ltd").await;
    let boss = app
        .create_user(&acme, Role::Subcontractor, Some(brick), true)
        .await;
    let mate = app
        .create_user(&acme, Role::Subcontractor, Some(brick), false)
        .await;
    let rival = app
        .create_user(&acme, Role::Subcontractor, Some(pipes), false)
        .await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&boss).await;

    let (status, list) = client.page("/users").await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains(&mate.email) && list.contains(&boss.email));
    assert!(
        !list.contains(&rival.email)
            && !list.contains(&staff.email)
            && !list.contains(&acme.admin.email)
    );
    assert_eq!(
        client.page(&format!("/users/{}", mate.id)).await.0,
        StatusCode::OK
    );
    assert_eq!(
        client.page(&format!("/users/{}", rival.id)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client.page(&format!("/users/{}", staff.id)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client
            .post_form(&format!("/users/{}/disable", rival.id), &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    // Staff is not theirs to give; a new subcontractor joins their company whatever the form says.
    let staff_try = invite(&client, "Not Allowed", "staffer@brick.test", "staff", "").await;
    assert_eq!(staff_try.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let pipes_text = pipes.to_string();
    let response = invite(
        &client,
        "New Mate",
        "newmate@brick.test",
        "subcontractor",
        &pipes_text,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        emailed_link(&app, "newmate@brick.test")
            .await
            .contains("/set-password/psl_")
    );
    let company: Option<Uuid> = sqlx::query_scalar(
        "SELECT subcontractor_company_id FROM users WHERE email = 'newmate@brick.test'",
    )
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!(company, Some(brick));
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'staffer@brick.test'")
            .await,
        0
    );

    // They may disable their own company's users, but not change roles.
    assert_eq!(
        client
            .post_form(&format!("/users/{}/disable", mate.id), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM users WHERE id = '{}' AND disabled_at IS NOT NULL",
            mate.id
        ))
        .await,
        1
    );
    let role = client
        .post_form(
            &format!("/users/{}/role", mate.id),
            &[("role", "subcontractor"), ("company_admin", "on")],
        )
        .await;
    assert_eq!(role.status(), StatusCode::FORBIDDEN);

    // Plain subcontractors and staff have no user management.
    assert_eq!(
        app.sign_in(&rival).await.page("/users").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.sign_in(&staff).await.page("/users").await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn another_tenants_admin_cannot_see_or_change_a_user() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let bolt = app.create_tenant("bolt").await;
    let target = app.create_user(&acme, Role::Staff, None, false).await;
    let target_client = app.sign_in(&target).await;
    let intruder = app.sign_in_admin(&bolt.admin).await;

    assert_eq!(
        intruder.page(&format!("/users/{}", target.id)).await.0,
        StatusCode::NOT_FOUND
    );
    let actions: [(&str, &[(&str, &str)]); 7] = [
        ("role", &[("role", "admin")]),
        ("schemes", &[("restricted", "on")]),
        ("disable", &[]),
        ("enable", &[]),
        ("end-sessions", &[]),
        ("reset-mfa", &[]),
        ("password-link", &[]),
    ];
    for (action, fields) in actions {
        let response = intruder
            .post_form(&format!("/users/{}/{action}", target.id), fields)
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{action}");
    }

    let unchanged = format!(
        "SELECT count(*) FROM users WHERE id = '{}' AND role = 'staff' AND disabled_at IS NULL AND NOT scheme_restricted",
        target.id
    );
    assert_eq!(app.count(&unchanged).await, 1);
    assert_eq!(app.count("SELECT count(*) FROM password_links").await, 0);
    assert_eq!(target_client.get("/").await.status(), StatusCode::OK);
    let (_, list) = intruder.page("/users").await;
    assert!(!list.contains(&target.email));
}

#[tokio::test]
async fn a_role_change_and_a_scheme_restriction_are_saved_and_audited() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let north = app.create_scheme(&acme, "Northfield Meadows").await;
    app.create_scheme(&acme, "Southbank Quay").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let admin = app.sign_in_admin(&acme.admin).await;

    let north_text = north.to_string();
    let response = admin
        .post_form(
            &format!("/users/{}/schemes", staff.id),
            &[("restricted", "on"), ("scheme", &north_text)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM users WHERE id = '{}' AND scheme_restricted",
            staff.id
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM user_schemes WHERE user_id = '{}' AND scheme_id = '{north}'",
            staff.id
        ))
        .await,
        1
    );
    let (_, page) = admin.page(&format!("/users/{}", staff.id)).await;
    assert!(page.contains("Only the schemes ticked below"));

    let response = admin
        .post_form(
            &format!("/users/{}/role", staff.id),
            &[("role", "emergency")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count(&format!("SELECT count(*) FROM users WHERE id = '{}' AND role = 'emergency' AND NOT scheme_restricted", staff.id)).await, 1);

    let (status, audit) = admin
        .page(&format!("/admin/audit?record_id={}", staff.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        audit.contains("Changed role")
            && audit.contains("Role: Customer care → Emergency (out of hours)"),
        "{audit}"
    );
    assert!(audit.contains("Changed schemes") && audit.contains("Limited to schemes: No → Yes"));
    assert!(audit.contains("Schemes: (none) → Northfield Meadows"));
}

#[tokio::test]
async fn a_subcontractor_needs_a_company() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let admin = app.sign_in_admin(&acme.admin).await;

    let response = invite(&admin, "Sam Sub", "sam@sub.test", "subcontractor", "").await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("id=\"company-error\">Choose the company they work for.")
    );
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'sam@sub.test'")
            .await,
        0
    );
}

/// An admin has a new set-password link emailed to `user_id`; returns its path.
pub(crate) async fn reset_link(app: &TestApp, admin: &TestClient, user_id: Uuid) -> String {
    let response = admin
        .post_form(&format!("/users/{user_id}/password-link"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    emailed_link(app, &email).await
}

#[tokio::test]
async fn an_emailed_link_points_at_the_app_base_url_whatever_the_host_header_says() {
    let app = TestApp::spawn_with(crate::common::Options {
        env: vec![("APP_BASE_URL", "https://plotcare.example".into())],
        ..Default::default()
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let admin = app.sign_in_admin(&acme.admin).await;
    let token = admin.csrf_token().await;
    let response = admin
        .http
        .post(admin.url("/users/new"))
        .header("host", "evil.example")
        .form(&[
            ("name", "Nina New"),
            ("email", "nina@acme.test"),
            ("role", "staff"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: String = sqlx::query_scalar(
        "SELECT body_text FROM outbox_emails WHERE to_address = 'nina@acme.test'",
    )
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    assert!(
        body.contains("https://plotcare.example/set-password/psl_"),
        "{body}"
    );
    assert!(!body.contains("evil.example"));
}
