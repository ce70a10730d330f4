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

/// Makes a token with the given scope ("read" or "write") and expiry date ("" for none).
async fn make_token_with(
    client: &TestClient,
    name: &str,
    scope: &str,
    expires_on: &str,
) -> reqwest::Response {
    client
        .post_form(
            "/account/tokens",
            &[("name", name), ("scope", scope), ("expires_on", expires_on)],
        )
        .await
}

fn shown_token(body: &str) -> String {
    let start = body.find("id=\"new-token\">").expect("the new token") + "id=\"new-token\">".len();
    let end = body[start..].find('<').unwrap() + start;
    body[start..end].to_owned()
}

/// A request as software sends it: the token, no cookie.
async fn with_token(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    form: &[(&str, &str)],
) -> StatusCode {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .request(method, app.url(path))
        .bearer_auth(token)
        .form(form)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_admins_token_opens_no_page_and_changes_nothing_outside_the_api() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let other_admin = app.create_user(&acme, Role::Admin, None, false).await;
    app.enrol_mfa(&other_admin).await;
    let admin = app.sign_in_admin(&acme.admin).await;
    let body = make_token_with(&admin, "Full power?", "write", "")
        .await
        .text()
        .await
        .unwrap();
    let token = shown_token(&body);
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);

    for path in [
        "/",
        "/users",
        "/users/new",
        &format!("/users/{}", other_admin.id),
        "/admin/audit",
        "/admin/exports",
        "/admin/tokens",
        "/admin/outbox",
        "/admin/sla",
        "/inspection-templates",
        "/tickets",
        "/plots",
        "/account",
        "/account/tokens",
    ] {
        let status = with_token(&app, reqwest::Method::GET, path, &token, &[]).await;
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN,
            "{path}: {status}"
        );
    }
    let posts: [(&str, &[(&str, &str)]); 5] = [
        (
            "/users/new",
            &[
                ("name", "Mallory"),
                ("email", "mallory@evil.test"),
                ("role", "admin"),
            ],
        ),
        ("/admin/exports", &[("kind", "data")]),
        (&format!("/users/{}/reset-mfa", other_admin.id), &[]),
        (&format!("/users/{}/password-link", other_admin.id), &[]),
        (
            "/account/tokens",
            &[("name", "Another"), ("scope", "write")],
        ),
    ];
    for (path, form) in posts {
        let status = with_token(&app, reqwest::Method::POST, path, &token, form).await;
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN,
            "{path}: {status}"
        );
    }
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'mallory@evil.test'")
            .await,
        0
    );
    assert_eq!(app.count("SELECT count(*) FROM exports").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM password_links").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM api_tokens").await, 1);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM users WHERE id = '{}' AND mfa_enabled_at IS NOT NULL",
            other_admin.id
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn a_read_only_token_cannot_write_through_the_api() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let read = shown_token(
        &make_token_with(&client, "Dashboard", "read", "")
            .await
            .text()
            .await
            .unwrap(),
    );
    let write = shown_token(
        &make_token_with(&client, "Sync", "write", "")
            .await
            .text()
            .await
            .unwrap(),
    );

    assert_eq!(
        with_token(&app, reqwest::Method::GET, "/api/v1/me", &read, &[]).await,
        StatusCode::OK
    );
    let refused = reqwest::Client::new()
        .post(app.url("/api/v1/me"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("only read"),
        "{body}"
    );
    // A write token passes the scope check (the route itself only reads).
    assert_eq!(
        with_token(&app, reqwest::Method::POST, "/api/v1/me", &write, &[]).await,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let (_, page) = client.page("/account/tokens").await;
    assert!(
        page.contains("Read only") && page.contains("Read and write"),
        "{page}"
    );
}

#[tokio::test]
async fn an_expired_token_is_refused_and_a_past_expiry_date_is_not_accepted() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    let refused = make_token_with(&client, "Yesterday", "read", "2020-01-01").await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("id=\"expires_on-error\"")
    );
    assert_eq!(app.count("SELECT count(*) FROM api_tokens").await, 0);

    let next_year = (time::OffsetDateTime::now_utc() + time::Duration::days(365)).date();
    let made = make_token_with(&client, "For a year", "read", &next_year.to_string()).await;
    assert_eq!(made.status(), StatusCode::OK);
    let token = shown_token(&made.text().await.unwrap());
    assert_eq!(me(&app, &token).await.0, StatusCode::OK);
    let (_, page) = client.page("/account/tokens").await;
    assert!(page.contains(&format!("{}", next_year.year())), "{page}");

    sqlx::query("UPDATE api_tokens SET expires_at = now() - interval '1 second'")
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let (status, body) = me(&app, &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"].is_string());
    let (_, page) = client.page("/account/tokens").await;
    assert!(page.contains("Expired"), "{page}");
}

/// A live token of `user`, made on their account page.
async fn live_token(app: &TestApp, client: &TestClient, name: &str) -> String {
    let token = make_token(client, name).await;
    assert_eq!(me(app, &token).await.0, StatusCode::OK);
    token
}

#[tokio::test]
async fn changing_the_password_revokes_every_token() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let token = live_token(&app, &client, "Laptop script").await;

    let changed = client
        .post_form(
            "/account/password",
            &[
                ("current_password", staff.password.as_str()),
                ("new_password", "a brand new kettle password"),
                ("confirm_password", "a brand new kettle password"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);

    assert_eq!(me(&app, &token).await.0, StatusCode::UNAUTHORIZED);
    let (_, account) = client.page("/account").await;
    assert!(account.contains("API token"), "{account}");
    let (_, page) = client.page("/account/tokens").await;
    assert!(page.contains("password changed"), "{page}");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'api_token.revoked'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_password_reset_and_an_admin_ending_sessions_revoke_tokens() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ann = app.create_user(&acme, Role::Staff, None, false).await;
    let bob = app.create_user(&acme, Role::Staff, None, false).await;
    let ann_token = live_token(&app, &app.sign_in(&ann).await, "Ann's").await;
    let bob_token = live_token(&app, &app.sign_in(&bob).await, "Bob's").await;
    let admin = app.sign_in_admin(&acme.admin).await;

    // The admin ends Ann's sessions: her token goes with them.
    let ended = admin
        .post_form(&format!("/users/{}/end-sessions", ann.id), &[])
        .await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&app, &ann_token).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &bob_token).await.0, StatusCode::OK);

    // Bob's password is reset through a set-password link: his token goes too.
    let link = crate::users::reset_link(&app, &admin, bob.id).await;
    let done = app
        .client()
        .post_form(
            &link,
            &[
                ("new_password", "reset kettle password nine"),
                ("confirm", "reset kettle password nine"),
            ],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&app, &bob_token).await.0, StatusCode::UNAUTHORIZED);
    let reasons: Vec<String> =
        sqlx::query_scalar("SELECT revoked_reason FROM api_tokens ORDER BY created_at")
            .fetch_all(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(reasons, ["sessions ended by an admin", "password reset"]);
}
