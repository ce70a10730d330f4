//! Personal API tokens and `/api/v1/me`, as a user (and the software they give a token to) meets them.

use plotcare::domain::Role;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::common::{TestApp, TestClient};

/// Makes a token on the account page; returns the token shown once.
async fn make_token(client: &TestClient, name: &str) -> String {
    let response = client.post_form("/account/tokens", &[("name", name)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.unwrap();
    assert!(body.contains("data-copy=\"#new-token\""));
    let start = body.find("id=\"new-token\">").expect("the new token") + "id=\"new-token\">".len();
    let end = body[start..].find('<').unwrap() + start;
    body[start..end].to_owned()
}

async fn token_id(app: &TestApp, name: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = $1")
        .bind(name)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

/// GET /api/v1/me as software would call it: the token and no cookies.
async fn me(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_token_answers_api_v1_me_until_it_is_revoked() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let token = make_token(&client, "Reporting spreadsheet").await;
    assert!(token.starts_with("pct_"));

    let (status, body) = me(&app, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["user"]["id"], staff.id.to_string());
    assert_eq!(body["user"]["email"], staff.email);
    assert_eq!(body["user"]["role"], "staff");
    assert_eq!(body["tenant"]["id"], acme.id.to_string());
    assert_eq!(body["tenant"]["name"], "acme Homes");
    assert_eq!(body["via"], "token");

    let id = token_id(&app, "Reporting spreadsheet").await;
    let revoked = client
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);

    let (status, body) = me(&app, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["message"].is_string());
    let (_, page) = client.page("/account/tokens").await;
    assert!(page.contains("Revoked"));
    assert_eq!(app.count("SELECT count(*) FROM audit_events WHERE action IN ('api_token.created', 'api_token.revoked')").await, 2);
}

#[tokio::test]
async fn the_token_is_shown_once_and_only_its_hash_is_kept() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let token = make_token(&client, "Nightly export").await;

    let (status, page) = client.page("/account/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Nightly export"));
    assert!(!page.contains(&token));

    let hashed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM api_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))",
    )
    .bind(&token)
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!(hashed, 1);
    let anywhere: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM api_tokens k WHERE k::text LIKE '%' || $1 || '%')
              + (SELECT count(*) FROM audit_events a WHERE a::text LIKE '%' || $1 || '%')",
    )
    .bind(&token[4..])
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!(anywhere, 0, "the token itself is stored nowhere");
}

#[tokio::test]
async fn a_token_needs_a_name() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    let response = client
        .post_form("/account/tokens", &[("name", "   ")])
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(body.contains("Give the token a name"));
    assert!(!body.contains("id=\"new-token\""));
    assert_eq!(app.count("SELECT count(*) FROM api_tokens").await, 0);
}

#[tokio::test]
async fn a_disabled_users_token_is_refused() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let token = make_token(&app.sign_in(&staff).await, "Script").await;
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);

    sqlx::query("UPDATE users SET disabled_at = now() WHERE id = $1")
        .bind(staff.id)
        .execute(&app.admin_pool)
        .await
        .unwrap();

    let (status, body) = me(&app, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn a_terminated_tenants_token_is_refused() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let token = make_token(&app.sign_in(&staff).await, "Script").await;
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);

    sqlx::query("UPDATE tenants SET status = 'terminated' WHERE id = $1")
        .bind(acme.id)
        .execute(&app.admin_pool)
        .await
        .unwrap();

    assert_eq!(me(&app, &token).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn api_v1_me_answers_json_without_credentials_and_for_a_browser_session() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;

    let (status, body) = me(&app, "pct_not_a_real_token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].is_string());
    let anonymous = app.client().get("/api/v1/me").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.json::<Value>().await.unwrap()["error"].is_string());

    let browser = app.sign_in(&staff).await;
    let response = browser.get("/api/v1/me").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["via"], "session");
    assert_eq!(body["user"]["id"], staff.id.to_string());
}

#[tokio::test]
async fn api_v1_me_ignores_a_tenant_id_in_the_request() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let beta = app.create_tenant("beta").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let token = make_token(&app.sign_in(&staff).await, "Script").await;

    let response = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/me?tenant_id={}", beta.id)))
        .bearer_auth(&token)
        .header("X-Tenant-Id", beta.id.to_string())
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["tenant"]["id"], acme.id.to_string());
    assert_eq!(body["user"]["id"], staff.id.to_string());
}

#[tokio::test]
async fn an_admin_sees_and_revokes_every_token_of_their_tenant_only() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let beta = app.create_tenant("beta").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let token = make_token(&app.sign_in(&staff).await, "Acme reporting").await;
    let id = token_id(&app, "Acme reporting").await;

    // Another tenant's admin neither sees nor revokes it.
    let beta_admin = app.sign_in_admin(&beta.admin).await;
    let (status, page) = beta_admin.page("/admin/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains("Acme reporting"));
    let refused = beta_admin
        .post_form(&format!("/admin/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);

    // Their own admin sees it with its owner, and revokes it.
    let acme_admin = app.sign_in_admin(&acme.admin).await;
    let (status, page) = acme_admin.page("/admin/tokens").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Acme reporting"));
    let revoked = acme_admin
        .post_form(&format!("/admin/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(revoked.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&app, &token).await.0, StatusCode::UNAUTHORIZED);
    let revoked_by: Option<Uuid> =
        sqlx::query_scalar("SELECT revoked_by FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(revoked_by, Some(acme.admin.id));
}

#[tokio::test]
async fn staff_cannot_open_the_admin_token_page_or_revoke_a_colleagues_token() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ann = app.create_user(&acme, Role::Staff, None, false).await;
    let bob = app.create_user(&acme, Role::Staff, None, false).await;
    let token = make_token(&app.sign_in(&bob).await, "Bob's script").await;
    let id = token_id(&app, "Bob's script").await;
    let ann_client = app.sign_in(&ann).await;

    assert_eq!(
        ann_client.get("/admin/tokens").await.status(),
        StatusCode::FORBIDDEN
    );
    let response = ann_client
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;

    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn no_api_answer_is_kept_by_a_cache() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let token = make_token(&app.sign_in(&staff).await, "Script").await;
    for bearer in [token.as_str(), "pct_not_a_real_token"] {
        let response = reqwest::Client::new()
            .get(app.url("/api/v1/me"))
            .bearer_auth(bearer)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()["cache-control"],
            "no-store",
            "{}",
            response.status()
        );
    }
}
