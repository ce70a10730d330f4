//! Answers that do not come from our handlers still get the styled page (JSON under /api):
//! the request time-out (503, busy), and axum's own rejections of a bad path, a bad form or
//! a request without a content type.

use std::time::Duration;

use plotcare::domain::Role;
use reqwest::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::common::{Options, TestApp};

async fn assert_styled(response: reqwest::Response, status: StatusCode, sentence: &str) {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let body = response.text().await.unwrap();
    assert!(
        body.contains("/static/app.css"),
        "not the styled page: {body}"
    );
    assert!(body.contains(sentence), "{body}");
}

#[tokio::test]
async fn a_request_that_times_out_answers_the_styled_busy_page() {
    let app = TestApp::spawn_with(Options {
        env: vec![("REQUEST_TIMEOUT_SECS", "1".into())],
        ..Default::default()
    })
    .await;
    let tenant = app.create_tenant("slow").await;
    let staff = app.create_user(&tenant, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let ticket = crate::comments::create_ticket(&app, &tenant, None).await;
    let token = client.csrf_token().await;

    // The form's body never finishes arriving.
    let host = app.addr.trim_start_matches("http://");
    let mut socket = TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /tickets/{ticket}/comments?csrf_token={token} HTTP/1.1\r\nHost: {host}\r\nCookie: {}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nbody=half",
        client.cookie_header()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 64 * 1024];
    let n = tokio::time::timeout(Duration::from_secs(20), socket.read(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).to_lowercase();
    assert!(answer.starts_with("http/1.1 503"), "{answer}");
    assert!(answer.contains("retry-after:"), "{answer}");
    assert!(answer.contains("content-type: text/html"), "{answer}");
}

#[tokio::test]
async fn axums_rejections_answer_the_styled_page_and_json_on_the_api() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("rejections").await;
    let staff = app.create_user(&tenant, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let ticket = crate::comments::create_ticket(&app, &tenant, None).await;
    let token = client.csrf_token().await;

    // A path that is not an id: the styled 404 (every route; see fuzz.rs).
    let bad_path = client
        .post_form("/account/tokens/not-an-id/revoke", &[])
        .await;
    assert_styled(bad_path, StatusCode::NOT_FOUND, "couldn").await;

    // A form that names a field twice: 422.
    let bad_form = client
        .http
        .post(client.url(&format!("/tickets/{ticket}/comments?csrf_token={token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("body=one&body=two&visibility=internal")
        .send()
        .await
        .unwrap();
    assert_styled(
        bad_form,
        StatusCode::UNPROCESSABLE_ENTITY,
        "read that request",
    )
    .await;

    // No content type at all: 415.
    let no_type = client
        .http
        .post(client.url(&format!("/tickets/{ticket}/comments?csrf_token={token}")))
        .body("body=hello")
        .send()
        .await
        .unwrap();
    assert_styled(
        no_type,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "not sent as a form or JSON",
    )
    .await;

    // Under /api the same kind of refusal is JSON.
    let api = reqwest::Client::new()
        .post(app.url("/api/v1/me"))
        .body("{")
        .send()
        .await
        .unwrap();
    assert!(api.status().is_client_error(), "{}", api.status());
    assert!(
        api.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let json: serde_json::Value = api.json().await.unwrap();
    assert!(json["message"].is_string(), "{json}");
}
