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

/// Posts a comment as the form does (its CSRF token and one-time key).
async fn post_comment(
    client: &TestClient,
    ticket: uuid::Uuid,
    csrf: &str,
    key: &str,
    body: &str,
) -> reqwest::Response {
    client
        .http
        .post(client.url(&format!("/tickets/{ticket}/comments")))
        .form(&[
            ("body", body),
            ("visibility", "internal"),
            ("csrf_token", csrf),
            ("form_key", key),
        ])
        .send()
        .await
        .unwrap()
}

async fn stored(app: &TestApp, body: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM ticket_comments WHERE body = $1")
        .bind(body)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_form_sent_twice_creates_one_comment_and_one_ticket() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("twice").await;
    let staff = app.create_user(&tenant, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let ticket = crate::comments::create_ticket(&app, &tenant, None).await;

    // The ticket page's comment form carries a key.
    let (_, page) = client.page(&format!("/tickets/{ticket}/comments")).await;
    let key = crate::common::extract_attr(&page, "name=\"form_key\" value=\"").expect("form key");
    let csrf = client.csrf_token().await;
    let first = post_comment(&client, ticket, &csrf, &key, "Sent twice").await;
    let again = post_comment(&client, ticket, &csrf, &key, "Sent twice").await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(first.headers()["location"], again.headers()["location"]);
    assert_eq!(stored(&app, "Sent twice").await, 1);
    // A new form (a new key) adds another.
    let other = post_comment(
        &client,
        ticket,
        &csrf,
        &uuid::Uuid::new_v4().to_string(),
        "Sent twice",
    )
    .await;
    assert_eq!(other.status(), StatusCode::SEE_OTHER);
    assert_eq!(stored(&app, "Sent twice").await, 2);

    // The new-ticket form too.
    // (In a tenant of its own: the comment's ticket above was made with SQL, past the counter.)
    let tenant = app.create_tenant("twice-tickets").await;
    let staff = app.create_user(&tenant, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let plot = crate::tickets::site(&app, &tenant, "Orchard Rise", "7", "LS1 4AP")
        .await
        .plot;
    let (_, form) = client.page(&format!("/plots/{plot}/tickets/new")).await;
    let key = crate::common::extract_attr(&form, "name=\"form_key\" value=\"").expect("form key");
    let fields = [
        ("title", "Dripping tap"),
        ("description", "Drips"),
        ("category", "plumbing"),
        ("location", "kitchen"),
        ("reported_via", "phone"),
        ("reported_at", "2025-03-03T09:00"),
        ("priority", "medium"),
        ("internal_cost", ""),
        ("form_key", key.as_str()),
    ];
    let first = client
        .post_form(&format!("/plots/{plot}/tickets/new"), &fields)
        .await;
    let again = client
        .post_form(&format!("/plots/{plot}/tickets/new"), &fields)
        .await;
    assert_eq!(
        first.status(),
        StatusCode::SEE_OTHER,
        "{}",
        first.text().await.unwrap()
    );
    assert_eq!(first.headers()["location"], again.headers()["location"]);
    assert_eq!(
        app.count("SELECT count(*) FROM tickets WHERE title = 'Dripping tap'")
            .await,
        1
    );
}

#[tokio::test]
async fn writes_during_a_database_cut_are_stored_once_or_refused_with_the_busy_page() {
    let app = TestApp::spawn_with(Options {
        through_proxy: true,
        ..Default::default()
    })
    .await;
    let tenant = app.create_tenant("writes").await;
    let staff = app.create_user(&tenant, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let ticket = crate::comments::create_ticket(&app, &tenant, None).await;
    let csrf = client.csrf_token().await;

    // Four writers post 30 comments each; the database is cut and restored meanwhile.
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..4 {
        let (client, csrf) = (client.clone(), csrf.clone());
        writers.spawn(async move {
            let mut outcomes = Vec::new();
            for i in 0..30 {
                let body = format!("writer {w} comment {i}");
                let key = uuid::Uuid::new_v4().to_string();
                let response = post_comment(&client, ticket, &csrf, &key, &body).await;
                let status = response.status();
                let text = response.text().await.unwrap();
                outcomes.push((body, key, status, text));
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            outcomes
        });
    }
    let proxy = app.proxy.as_ref().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_millis(400)).await;
    proxy.restore();
    let mut outcomes = Vec::new();
    while let Some(done) = writers.join_next().await {
        outcomes.extend(done.unwrap());
    }

    let (mut acknowledged, mut refused) = (0, 0);
    for (body, key, status, text) in &outcomes {
        match *status {
            StatusCode::SEE_OTHER => {
                acknowledged += 1;
                assert_eq!(
                    stored(&app, body).await,
                    1,
                    "{body} acknowledged, not stored once"
                );
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                refused += 1;
                assert!(text.contains("Plotcare is busy right now"), "{text}");
                // The person sends the form again once the database is back: it is stored once.
                let mut again = post_comment(&client, ticket, &csrf, key, body).await;
                for _ in 0..50 {
                    if again.status() == StatusCode::SEE_OTHER {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    again = post_comment(&client, ticket, &csrf, key, body).await;
                }
                assert_eq!(again.status(), StatusCode::SEE_OTHER);
                assert_eq!(
                    stored(&app, body).await,
                    1,
                    "{body} resent, not stored once"
                );
            }
            other => panic!("{body}: answered {other}: {text}"),
        }
    }
    assert!(
        acknowledged > 0 && refused > 0,
        "acknowledged {acknowledged}, refused {refused}"
    );
}

/// The forms that create records on their own pages carry a one-time key too: sent twice
/// (a double click, a retry after a lost answer), they create one record and both answers
/// go to it. (A scheme's second copy is refused anyway: its reference code is taken.)
#[tokio::test]
async fn a_contact_form_sent_twice_creates_one_contact() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("twice-records").await;
    let staff = app.create_user(&tenant, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    for (form_page, name, fields, table) in [(
        "/contacts/new",
        "Ann Twice",
        vec![
            ("name", "Ann Twice"),
            ("kind", "homeowner"),
            ("emails", "ann@twice.test"),
            ("phones", "07700 900123"),
            ("preferred_contact_method", "phone"),
        ],
        "contacts",
    )] {
        let (_, page) = client.page(form_page).await;
        let key =
            crate::common::extract_attr(&page, "name=\"form_key\" value=\"").expect("form key");
        let mut fields = fields;
        fields.push(("form_key", key.as_str()));
        let first = client.post_form(form_page, &fields).await;
        let again = client.post_form(form_page, &fields).await;
        assert_eq!(first.status(), StatusCode::SEE_OTHER, "{form_page}");
        assert_eq!(again.status(), StatusCode::SEE_OTHER, "{form_page}");
        assert_eq!(first.headers()["location"], again.headers()["location"]);
        let stored = app
            .count(&format!(
                "SELECT count(*) FROM {table} WHERE name = '{name}'"
            ))
            .await;
        assert_eq!(stored, 1, "{form_page}");
    }
}
