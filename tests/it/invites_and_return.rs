//! Invitation emails and resending them; sign-in returning to the page asked for; a
//! form sent after the session ended kept (not sent) for the person to send again.

use plotcare::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::{
    comments::create_ticket,
    common::{TestApp, TestClient, TestUser},
    users::{emailed_link, invite},
};

async fn user_id(app: &TestApp, email: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

/// Makes the newest invitation link of `user` look older than the resend limit.
async fn age_invitations(app: &TestApp, user: Uuid) {
    sqlx::query(
        "UPDATE password_links SET created_at = created_at - interval '2 minutes' WHERE user_id = $1",
    )
    .bind(user)
    .execute(&app.admin_pool)
    .await
    .unwrap();
}

async fn flash_of(client: &TestClient, path: &str) -> String {
    let (status, page) = client.page(path).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page
}

#[tokio::test]
async fn an_invitation_is_emailed_with_a_working_link_and_resending_replaces_it_once_a_minute() {
    let app = TestApp::spawn_with(crate::common::Options {
        env: vec![("APP_BASE_URL", "https://plotcare.example".into())],
        ..Default::default()
    })
    .await;
    let acme = app.create_tenant("acme").await;
    let admin = app.sign_in_admin(&acme.admin).await;

    let response = invite(&admin, "Ivy Invited", "ivy@acme.test", "staff", "").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: String = sqlx::query_scalar(
        "SELECT body_text FROM outbox_emails WHERE to_address = 'ivy@acme.test'",
    )
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    let first = emailed_link(&app, "ivy@acme.test").await;
    assert!(
        body.contains(&format!("https://plotcare.example{first}")),
        "an absolute link: {body}"
    );
    let (status, _) = app.client().page(&first).await;
    assert_eq!(status, StatusCode::OK, "the first link works");

    // The user's page offers to resend; within a minute of the invitation it is refused.
    let id = user_id(&app, "ivy@acme.test").await;
    let page = flash_of(&admin, &format!("/users/{id}")).await;
    assert!(page.contains("Resend invitation"), "{page}");
    let response = admin
        .post_form(&format!("/users/{id}/resend-invitation"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = flash_of(&admin, &format!("/users/{id}")).await;
    assert!(page.contains("less than a minute ago"), "{page}");
    let count = "SELECT count(*) FROM outbox_emails WHERE to_address = 'ivy@acme.test'";
    assert_eq!(app.count(count).await, 1);

    // A minute later: a new link, the old one stops working, an audit record.
    age_invitations(&app, id).await;
    let response = admin
        .post_form(&format!("/users/{id}/resend-invitation"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], format!("/users/{id}"));
    let page = flash_of(&admin, &format!("/users/{id}")).await;
    assert!(
        page.contains("We have emailed Ivy Invited a new invitation"),
        "{page}"
    );
    assert_eq!(app.count(count).await, 2);
    let second = emailed_link(&app, "ivy@acme.test").await;
    assert_ne!(first, second);
    let (status, old) = app.client().page(&first).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{old}");
    let (status, _) = app.client().page(&second).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM audit_events WHERE action = 'user.invitation_resent' AND record_id = '{id}'"
        ))
        .await,
        1
    );

    // And again at once: refused, nothing more emailed.
    let response = admin
        .post_form(&format!("/users/{id}/resend-invitation"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = flash_of(&admin, &format!("/users/{id}")).await;
    assert!(page.contains("less than a minute ago"), "{page}");
    assert_eq!(app.count(count).await, 2);

    // Someone who has joined has no invitation to resend.
    let joined = app.create_user(&acme, Role::Staff, None, false).await;
    let response = admin
        .post_form(&format!("/users/{}/resend-invitation", joined.id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = flash_of(&admin, &format!("/users/{}", joined.id)).await;
    assert!(page.contains("has already joined"), "{page}");
}

#[tokio::test]
async fn a_subcontractor_admin_resends_invitations_for_their_own_company_only() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let pipes = app.create_company(&acme, "Pipes Ltd").await;
    let sparks = app.create_company(&acme, "Sparks Ltd").await;
    let admin = app.sign_in_admin(&acme.admin).await;
    let pipes_admin = app
        .create_user(&acme, Role::Subcontractor, Some(pipes), true)
        .await;
    let pipes_admin = app.sign_in(&pipes_admin).await;

    let ours = invite(
        &pipes_admin,
        "Pat Pipes",
        "pat@pipes.test",
        "subcontractor",
        "",
    )
    .await;
    assert_eq!(ours.status(), StatusCode::OK);
    let theirs = invite(
        &admin,
        "Sam Sparks",
        "sam@sparks.test",
        "subcontractor",
        &sparks.to_string(),
    )
    .await;
    assert_eq!(theirs.status(), StatusCode::OK);
    let (ours, theirs) = (
        user_id(&app, "pat@pipes.test").await,
        user_id(&app, "sam@sparks.test").await,
    );
    age_invitations(&app, ours).await;
    age_invitations(&app, theirs).await;

    let response = pipes_admin
        .post_form(&format!("/users/{theirs}/resend-invitation"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    let response = staff
        .post_form(&format!("/users/{ours}/resend-invitation"), &[])
        .await;
    assert!(
        matches!(
            response.status(),
            StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
        ),
        "{}",
        response.status()
    );
    let response = pipes_admin
        .post_form(&format!("/users/{ours}/resend-invitation"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let resent = "SELECT count(*) FROM audit_events WHERE action = 'user.invitation_resent'";
    assert_eq!(app.count(resent).await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM outbox_emails WHERE to_address = 'sam@sparks.test'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM outbox_emails WHERE to_address = 'pat@pipes.test'")
            .await,
        2
    );
}

/// Signs `user` in from the sign-in page reached with `next`; returns where it lands.
async fn sign_in_with_next(client: &TestClient, user: &TestUser, next: &str) -> String {
    let response = client
        .post_form(
            "/sign-in",
            &[
                ("email", &user.email),
                ("password", &user.password),
                ("next", next),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn sign_in_returns_to_the_page_asked_for_and_never_to_another_site() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;

    // Signed out, a staff page sends to sign in with the page to come back to.
    let client = app.client();
    let response = client.get("/tickets?status=open").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let to_sign_in = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(to_sign_in, "/sign-in?next=%2Ftickets%3Fstatus%3Dopen");
    let (_, form) = client.page(&to_sign_in).await;
    assert!(
        form.contains("name=\"next\" value=\"/tickets?status=open\""),
        "{form}"
    );
    assert_eq!(
        sign_in_with_next(&client, &staff, "/tickets?status=open").await,
        "/tickets?status=open"
    );

    // Anything but a same-site path goes home.
    for evil in [
        "//evil.test",
        "https://evil.test",
        "/\\evil.test",
        "\\\\evil.test",
        "javascript:alert(1)",
        "/\t/evil.test",
        "evil.test/x",
    ] {
        let client = app.client();
        let (_, form) = client
            .page(&format!(
                "/sign-in?next={}",
                url::form_urlencoded::byte_serialize(evil.as_bytes()).collect::<String>()
            ))
            .await;
        assert!(!form.contains("name=\"next\""), "{evil}: {form}");
        assert_eq!(
            sign_in_with_next(&client, &staff, evil).await,
            "/",
            "{evil}"
        );
    }
}

#[tokio::test]
async fn sign_in_with_a_second_factor_returns_to_the_page_asked_for() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let secret = app.enrol_mfa(&acme.admin).await;
    let client = app.client();
    let response = client
        .post_form(
            "/sign-in",
            &[
                ("email", &acme.admin.email),
                ("password", &acme.admin.password),
                ("next", "/users"),
            ],
        )
        .await;
    assert_eq!(response.headers()["location"], "/sign-in/code");
    let code = plotcare::auth::mfa::current_code(&secret).unwrap();
    let response = client.post_form("/sign-in/code", &[("code", &code)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/users");
}

#[tokio::test]
async fn a_comment_typed_after_the_session_ended_is_kept_unsent_until_posted_again() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let ticket_page = format!("/tickets/{ticket}");
    let (status, _) = client.page(&ticket_page).await;
    assert_eq!(status, StatusCode::OK);
    let token = client.csrf_token().await;

    // The session goes idle; then the comment is sent from the ticket page.
    sqlx::query(
        "UPDATE user_sessions SET last_seen_at = now() - interval '31 minutes' WHERE user_id = $1",
    )
    .bind(staff.id)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let text = "Called the homeowner: the leak is under the sink & worse.";
    let response = client
        .http
        .post(client.url(&format!("/tickets/{ticket}/comments")))
        .header("referer", client.url(&ticket_page))
        .form(&[
            ("body", text),
            ("visibility", "internal"),
            ("form_key", &Uuid::new_v4().to_string()),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("/sign-in?next=%2Ftickets%2F{ticket}")
    );
    let comments = format!("SELECT count(*) FROM ticket_comments WHERE ticket_id = '{ticket}'");
    assert_eq!(app.count(&comments).await, 0);

    // Signing in again returns to the ticket with the text in the form, not sent.
    let landed = sign_in_with_next(&client, &staff, &ticket_page).await;
    assert_eq!(landed, ticket_page);
    let (status, page) = client.page(&ticket_page).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Your session had ended, so we kept what you typed"));
    assert!(
        page.contains("the leak is under the sink &#38; worse.</textarea>"),
        "the text is back in the form: {page}"
    );
    assert_eq!(app.count(&comments).await, 0, "nothing was posted");
    // Shown once.
    let (_, again) = client.page(&ticket_page).await;
    assert!(!again.contains("under the sink"));

    // Sent again by the person, it is saved.
    let response = client
        .post_form(
            &format!("/tickets/{ticket}/comments"),
            &[("body", text), ("visibility", "internal")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count(&comments).await, 1);
}

#[tokio::test]
async fn a_kept_comment_is_never_shown_to_someone_else_signing_in_on_that_browser() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let first = app.create_user(&acme, Role::Staff, None, false).await;
    let second = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&first).await;
    let ticket_page = format!("/tickets/{ticket}");
    let token = client.csrf_token().await;
    // Their session is ended elsewhere (as an admin or sign-out elsewhere would).
    sqlx::query("UPDATE user_sessions SET ended_at = now() WHERE user_id = $1")
        .bind(first.id)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let response = client
        .http
        .post(client.url(&format!("/tickets/{ticket}/comments")))
        .header("referer", client.url(&ticket_page))
        .form(&[
            ("body", "A private note from the first person"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let landed = sign_in_with_next(&client, &second, &ticket_page).await;
    assert_eq!(landed, ticket_page);
    let (_, page) = client.page(&ticket_page).await;
    assert!(!page.contains("private note"), "{page}");
}
