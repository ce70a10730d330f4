//! Sign-in, sign-out, sessions, throttling and CSRF, as a user meets them.

use plotcare::domain::Role;
use reqwest::StatusCode;

use crate::common::TestApp;

#[tokio::test]
async fn the_front_page_sends_visitors_to_a_styled_sign_in_page() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let response = client.get("/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/sign-in");
    let (status, body) = client.page("/sign-in").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Sign in to Plotcare"));
    assert!(body.contains("/static/app.css"));
}

#[tokio::test]
async fn staff_sign_in_and_see_their_home_page() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let (status, body) = client.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Welcome back"));
    assert!(body.contains("acme Homes"));
}

#[tokio::test]
async fn an_unknown_email_and_a_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let wrong_password = app.client().sign_in(&acme.admin.email, "not the password at all").await;
    let unknown_email = app.client().sign_in("nobody@nowhere.test", "not the password at all").await;
    assert_eq!(wrong_password.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_email.status(), StatusCode::UNAUTHORIZED);
    let a = wrong_password.text().await.unwrap();
    let b = unknown_email.text().await.unwrap();
    let message = "match an account. Check them and try again.";
    assert!(a.contains(message) && b.contains(message), "{a}");
}

#[tokio::test]
async fn the_sixth_wrong_password_in_a_row_is_throttled() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let client = app.client();
    for _ in 0..5 {
        assert_eq!(client.sign_in(&acme.admin.email, "wrong password again").await.status(), StatusCode::UNAUTHORIZED);
    }
    let sixth = client.sign_in(&acme.admin.email, &acme.admin.password).await;
    assert_eq!(sixth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(sixth.text().await.unwrap().contains("Too many failed sign-in attempts"));
}

#[tokio::test]
async fn a_post_without_a_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let client = app.client();
    let _ = client.csrf_token().await; // the session exists
    let response = client.post_form_raw("/sign-in", &[("email", &acme.admin.email), ("password", &acme.admin.password)]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) FROM user_sessions").await, 0);
}

#[tokio::test]
async fn a_cookie_replayed_after_sign_out_is_refused() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    assert_eq!(client.get("/").await.status(), StatusCode::OK);
    let old_cookie = client.cookie_header();

    let response = client.post_form("/sign-out", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // A fresh client presenting the old cookie.
    let replay = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = replay.get(app.url("/")).header("cookie", old_cookie).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/sign-in");
}

