//! The user's own account: password, two-factor authentication and sessions, as a user meets them.

use plotcare::{auth::mfa, domain::Role};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{TestApp, TestClient, TestUser};

/// The text between `start` and the next `end`.
fn between(html: &str, start: &str, end: &str) -> Option<String> {
    let from = html.find(start)? + start.len();
    let to = html[from..].find(end)? + from;
    Some(html[from..to].to_owned())
}

async fn password_hash(app: &TestApp, user: &TestUser) -> String {
    sqlx::query_scalar(
        "SELECT a.password_hash FROM accounts a JOIN users u ON u.account_id = a.id WHERE u.id = $1",
    )
        .bind(user.id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

async fn latest_session(app: &TestApp, user: &TestUser) -> Uuid {
    sqlx::query_scalar(
        "SELECT id FROM user_sessions WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(user.id)
    .fetch_one(&app.admin_pool)
    .await
    .unwrap()
}

async fn change_password(
    client: &TestClient,
    current: &str,
    new: &str,
    confirm: &str,
) -> reqwest::Response {
    client
        .post_form(
            "/account/password",
            &[
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", confirm),
            ],
        )
        .await
}

// ---------------------------------------------------------------- profile and password

#[tokio::test]
async fn the_account_page_shows_who_i_am_and_where_to_go() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    let (status, body) = client.page("/account").await;

    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(&staff.email));
    assert!(body.contains("Customer care"));
    assert!(body.contains("acme Homes"));
    for link in [
        "/account/password",
        "/account/mfa",
        "/account/sessions",
        "/account/tokens",
    ] {
        assert!(body.contains(link), "{link}");
    }
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let before = password_hash(&app, &staff).await;

    let new = "a brand new passphrase for plotcare";
    let response = change_password(&client, "not my password at all", new, new).await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("That is not your current password.")
    );
    assert_eq!(password_hash(&app, &staff).await, before);
    app.sign_in(&staff).await; // the old password still works
}

#[tokio::test]
async fn a_short_or_common_new_password_shows_the_rule_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let before = password_hash(&app, &staff).await;

    let short = change_password(&client, &staff.password, "short", "short").await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("Use at least 12 characters")
    );

    let common = change_password(&client, &staff.password, "password1234", "password1234").await;
    assert_eq!(common.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(common.text().await.unwrap().contains("too common"));

    let mismatch = change_password(
        &client,
        &staff.password,
        "a brand new passphrase",
        "a brand new passphrasE",
    )
    .await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mismatch
            .text()
            .await
            .unwrap()
            .contains("The two new passwords are different")
    );

    assert_eq!(password_hash(&app, &staff).await, before);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'user.password_changed'")
            .await,
        0
    );
}

#[tokio::test]
async fn after_a_password_change_other_sessions_are_signed_out_and_this_one_keeps_working() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let laptop = app.sign_in(&staff).await;
    let phone = app.sign_in(&staff).await;
    assert_eq!(phone.get("/").await.status(), StatusCode::OK);

    let new = "meadowbank plot forty two tap";
    let response = change_password(&laptop, &staff.password, new, new).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/account");
    let on_phone = phone.get("/").await;
    assert_eq!(on_phone.status(), StatusCode::SEE_OTHER);
    assert_eq!(on_phone.headers()["location"], "/sign-in");
    let (status, body) = laptop.page("/account").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Your password has been changed"));
    // The new password signs in; the old one no longer does.
    assert_eq!(
        app.client().sign_in(&staff.email, new).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.client()
            .sign_in(&staff.email, &staff.password)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let audit = app
        .count("SELECT count(*) FROM audit_events WHERE action = 'user.password_changed'")
        .await;
    assert_eq!(audit, 1);
}

// ---------------------------------------------------------------- two-factor authentication

/// Enrols the signed-in client through the pages. Returns the secret, the code given and the recovery codes shown.
pub(crate) async fn enrol(client: &TestClient) -> (String, String, Vec<String>) {
    let (status, body) = client.page("/account/mfa").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<img class=\"qr\" src=\"data:image/svg+xml;base64,"));
    let secret = between(&body, "id=\"mfa-secret\">", "<").expect("the secret for manual entry");
    let code = mfa::current_code(&secret).unwrap();
    let response = client.post_form("/account/mfa", &[("code", &code)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    assert!(body.contains("class=\"once\""));
    let list = between(&body, "id=\"recovery-codes\">", "</ul>").expect("recovery codes");
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect();
    (secret, code, codes)
}

#[tokio::test]
async fn an_admin_without_mfa_is_sent_to_enrol_and_is_shown_ten_recovery_codes_once() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let client = app.client();
    let signed_in = client
        .sign_in(&acme.admin.email, &acme.admin.password)
        .await;
    assert_eq!(signed_in.headers()["location"], "/account/mfa");

    let admin_page = client.get("/admin/tokens").await;
    assert_eq!(admin_page.status(), StatusCode::SEE_OTHER);
    assert_eq!(admin_page.headers()["location"], "/account/mfa");

    // Reloading keeps the same secret (the app in the phone must keep matching).
    let (_, first) = client.page("/account/mfa").await;
    let (_, second) = client.page("/account/mfa").await;
    assert_eq!(
        between(&first, "id=\"mfa-secret\">", "<"),
        between(&second, "id=\"mfa-secret\">", "<")
    );

    // A wrong code is refused next to the field.
    let wrong = client.post_form("/account/mfa", &[("code", "12345")]).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That code is not right")
    );
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE mfa_enabled_at IS NOT NULL")
            .await,
        0
    );

    let (_, _, codes) = enrol(&client).await;

    assert_eq!(codes.len(), 10);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM account_recovery_codes c JOIN users u ON u.account_id = c.account_id WHERE u.id = '{}'",
            acme.admin.id
        ))
        .await,
        10
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'mfa.enrolled'")
            .await,
        1
    );
    assert_eq!(client.get("/admin/tokens").await.status(), StatusCode::OK);
    let (status, body) = client.page("/account/mfa").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<strong>10</strong> unused recovery codes"));
    assert!(
        !body.contains(&codes[0]),
        "recovery codes are shown only once"
    );
}

#[tokio::test]
async fn a_totp_code_works_once_and_a_recovery_code_works_once() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let admin = &acme.admin;
    let client = app.client();
    client.sign_in(&admin.email, &admin.password).await;
    let (_, used_code, recovery) = enrol(&client).await;
    assert_eq!(
        client.post_form("/sign-out", &[]).await.status(),
        StatusCode::SEE_OTHER
    );

    // The code that enrolled is refused at sign-in.
    assert_eq!(
        client
            .sign_in(&admin.email, &admin.password)
            .await
            .headers()["location"],
        "/sign-in/code"
    );
    let again = client
        .post_form("/sign-in/code", &[("code", &used_code)])
        .await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);

    // A recovery code works once.
    let first = client
        .post_form("/sign-in/code", &[("code", &recovery[0])])
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(first.headers()["location"], "/");
    assert_eq!(client.get("/admin/tokens").await.status(), StatusCode::OK);
    client.post_form("/sign-out", &[]).await;
    client.sign_in(&admin.email, &admin.password).await;
    let second = client
        .post_form("/sign-in/code", &[("code", &recovery[0])])
        .await;
    assert_eq!(second.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn new_recovery_codes_need_a_current_code_and_replace_the_old_ones() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let (secret, _, old_codes) = enrol(&client).await;

    let wrong = client
        .post_form("/account/mfa/recovery-codes", &[("code", "12345")])
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("That code is not right")
    );

    // Wait for the next 30-second step: the enrolling code's step is used up.
    let step = |t: i64| t / 30;
    let now = || time::OffsetDateTime::now_utc().unix_timestamp();
    let start = step(now());
    while step(now()) == start {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let code = mfa::current_code(&secret).unwrap();
    let response = client
        .post_form("/account/mfa/recovery-codes", &[("code", &code)])
        .await;

    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    assert!(body.contains("Your new recovery codes"));
    assert!(!body.contains(&old_codes[0]));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM account_recovery_codes c JOIN users u ON u.account_id = c.account_id WHERE u.id = '{}'",
            staff.id
        ))
        .await,
        10
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'mfa.recovery_codes_replaced'")
            .await,
        1
    );
}

// ---------------------------------------------------------------- sessions

#[tokio::test]
async fn a_user_sees_their_sessions_and_ends_one_they_do_not_want() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let laptop = app.sign_in(&staff).await;
    let phone = app.sign_in(&staff).await;
    let phone_session = latest_session(&app, &staff).await;

    let (status, body) = laptop.page("/account/sessions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("This session"));
    assert_eq!(body.matches(">Active<").count(), 2);

    let response = laptop
        .post_form(&format!("/account/sessions/{phone_session}/end"), &[])
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/").await.headers()["location"], "/sign-in");
    assert_eq!(laptop.get("/").await.status(), StatusCode::OK);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'session.ended'")
            .await,
        1
    );
}

#[tokio::test]
async fn signing_out_everywhere_else_keeps_this_session() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let phone = app.sign_in(&staff).await;
    let tablet = app.sign_in(&staff).await;
    let laptop = app.sign_in(&staff).await;

    let response = laptop.post_form("/account/sessions/end-others", &[]).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/").await.headers()["location"], "/sign-in");
    assert_eq!(tablet.get("/").await.headers()["location"], "/sign-in");
    let (status, body) = laptop.page("/account/sessions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Your 2 other sessions have ended."));
}

#[tokio::test]
async fn a_user_cannot_end_someone_elses_session() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ann = app.create_user(&acme, Role::Staff, None, false).await;
    let bob = app.create_user(&acme, Role::Staff, None, false).await;
    let ann_client = app.sign_in(&ann).await;
    let bob_client = app.sign_in(&bob).await;
    let bobs_session = latest_session(&app, &bob).await;

    let response = ann_client
        .post_form(&format!("/account/sessions/{bobs_session}/end"), &[])
        .await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(bob_client.get("/").await.status(), StatusCode::OK);
    let (_, body) = ann_client.page("/account/sessions").await;
    assert!(!body.contains(&bobs_session.to_string()));
}
