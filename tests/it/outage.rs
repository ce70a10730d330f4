//! Honest answers in an outage: with the database away (a cut proxy) or the pool exhausted,
//! people get the styled "busy, try again" page with 503 and `Retry-After` (JSON under
//! `/api`), never a 500, and the app recovers by itself when the database returns.

use std::time::Duration;

use plotcare::domain::Role;
use reqwest::StatusCode;

use crate::common::{Options, TestApp, TestClient};

/// Asserts the styled busy page: 503, Retry-After, HTML with the sentence people read.
async fn assert_busy_page(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response.headers().contains_key("retry-after"),
        "no Retry-After"
    );
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let body = response.text().await.unwrap();
    assert!(body.contains("Plotcare is busy right now"), "{body}");
    assert!(body.contains("/static/app.css"), "not the styled page");
}

/// Retries a page until it answers 200 (the app recovers without a restart).
async fn until_ok(client: &TestClient, path: &str) {
    for _ in 0..50 {
        if client.get(path).await.status() == StatusCode::OK {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{path} never answered 200 after the database returned");
}

#[tokio::test]
async fn a_database_cut_answers_the_busy_page_and_json_on_the_api_then_recovers() {
    let app = TestApp::spawn_with(Options {
        through_proxy: true,
        ..Default::default()
    })
    .await;
    let tenant = app.create_tenant("outage").await;
    let staff = app.create_user(&tenant, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let response = client
        .post_form("/account/tokens", &[("name", "outage")])
        .await;
    let body = response.text().await.unwrap();
    let start = body.find("id=\"new-token\">").expect("the new token") + "id=\"new-token\">".len();
    let token = body[start..start + body[start..].find('<').unwrap()].to_owned();
    let token_csrf = client.csrf_token().await;
    let anonymous = app.client();
    let sign_in_csrf = anonymous.csrf_token().await;

    let proxy = app.proxy.as_ref().unwrap();
    proxy.cut();

    // A page, a write, sign-in, and the API: each answers busy, none 500.
    assert_busy_page(client.get("/tickets").await).await;
    assert_busy_page(client.get("/").await).await;
    let write = client
        .http
        .post(client.url("/account/tokens"))
        .form(&[("name", "during the cut"), ("csrf_token", &token_csrf)])
        .send()
        .await
        .unwrap();
    assert_busy_page(write).await;
    let sign_in = anonymous
        .http
        .post(anonymous.url("/sign-in"))
        .form(&[
            ("email", staff.email.as_str()),
            ("password", staff.password.as_str()),
            ("csrf_token", &sign_in_csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_busy_page(sign_in).await;
    let api = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(api.headers().contains_key("retry-after"));
    let json: serde_json::Value = api.json().await.unwrap();
    assert_eq!(json["error"], "Busy", "{json}");
    // /readyz says so too; /healthz still answers.
    assert_eq!(
        client.get("/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(client.get("/healthz").await.status(), StatusCode::OK);

    proxy.restore();
    until_ok(&client, "/tickets").await;
    assert_eq!(client.get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_exhausted_pool_answers_the_busy_page_even_from_the_session_store() {
    let app = TestApp::spawn_with(Options {
        env: vec![("DATABASE_POOL_SIZE", "1".into())],
        ..Default::default()
    })
    .await;
    let tenant = app.create_tenant("exhausted").await;
    let staff = app.create_user(&tenant, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    // Someone else holds the only connection: the session look-up times out in the pool.
    let held = app.pool.acquire().await.unwrap();
    assert_busy_page(client.get("/tickets").await).await;
    drop(held);
    until_ok(&client, "/tickets").await;
}
