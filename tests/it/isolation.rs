//! Two tenants with identical data: neither can reach the other's users,
//! sessions, tokens or audit rows through any page or action.

use plotcare::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{TestApp, TestTenant, TestUser};

struct Tenant {
    t: TestTenant,
    staff: TestUser,
    subcontractor: TestUser,
    token_id: Uuid,
    session_id: Uuid,
}

/// The same people, company and token in a tenant called `slug`.
async fn identical_tenant(app: &TestApp, slug: &str) -> Tenant {
    let t = app.create_tenant(slug).await;
    let company = app.create_company(&t, "Brightwater Plumbing Ltd").await;
    app.create_scheme(&t, "Meadowbank Park").await;
    let staff = app.create_user(&t, Role::Staff, None, false).await;
    let subcontractor = app
        .create_user(&t, Role::Subcontractor, Some(company), true)
        .await;
    let token_id = Uuid::now_v7();
    sqlx::query("INSERT INTO api_tokens (tenant_id, id, user_id, name, token_hash) VALUES ($1, $2, $3, 'Laptop', $4)")
        .bind(t.id)
        .bind(token_id)
        .bind(staff.id)
        .bind(plotcare::auth::tokens::hash(&format!("pct_{slug}_token")))
        .execute(&app.admin_pool)
        .await
        .unwrap();
    app.sign_in(&staff).await; // leaves a live session
    let session_id = sqlx::query_scalar("SELECT id FROM user_sessions WHERE user_id = $1")
        .bind(staff.id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    Tenant {
        t,
        staff,
        subcontractor,
        token_id,
        session_id,
    }
}

#[tokio::test]
async fn an_admin_cannot_reach_another_tenants_users_sessions_tokens_or_audit_rows() {
    let app = TestApp::spawn().await;
    let acme = identical_tenant(&app, "acme").await;
    let bolt = identical_tenant(&app, "bolt").await;
    let intruder = app.sign_in_admin(&bolt.t.admin).await;

    // Every page bolt's admin can open shows nothing of acme's.
    let acme_secrets = [
        acme.staff.email.as_str(),
        acme.subcontractor.email.as_str(),
        acme.t.admin.email.as_str(),
        &acme.staff.id.to_string(),
        &acme.token_id.to_string(),
        &acme.session_id.to_string(),
        &acme.t.id.to_string(),
    ]
    .map(str::to_owned);
    let acme_user = acme.staff.id;
    for path in [
        "/".to_owned(),
        "/users".into(),
        "/users/new".into(),
        "/admin/tokens".into(),
        "/admin/audit".into(),
        format!("/admin/audit?user={acme_user}"),
        format!("/admin/audit?record_id={acme_user}"),
        "/account".into(),
        "/account/sessions".into(),
        "/account/tokens".into(),
        format!("/users?tenant_id={}", acme.t.id),
    ] {
        let (status, body) = intruder.page(&path).await;
        assert!(
            status.is_success() || status.is_client_error(),
            "{path}: {status}"
        );
        // (A filter echoes its own value back in the form: that is not a leak.)
        for secret in acme_secrets.iter().filter(|s| !path.contains(s.as_str())) {
            assert!(!body.contains(secret.as_str()), "{path} leaked {secret}");
        }
    }

    // Every record route answers 404 for acme's ids.
    assert_eq!(
        intruder.get(&format!("/users/{acme_user}")).await.status(),
        StatusCode::NOT_FOUND
    );
    for action in [
        "role",
        "schemes",
        "disable",
        "enable",
        "end-sessions",
        "reset-mfa",
        "password-link",
    ] {
        let response = intruder
            .post_form(
                &format!("/users/{acme_user}/{action}"),
                &[("role", "admin")],
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::NOT_FOUND,
            "/users/{{id}}/{action}"
        );
    }
    let response = intruder
        .post_form(&format!("/admin/tokens/{}/revoke", acme.token_id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = intruder
        .post_form(&format!("/account/sessions/{}/end", acme.session_id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = intruder
        .post_form(&format!("/account/tokens/{}/revoke", acme.token_id), &[])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    // acme is untouched.
    let (role, disabled, mfa): (String, bool, bool) = sqlx::query_as(
        "SELECT role, disabled_at IS NOT NULL, mfa_enabled_at IS NOT NULL FROM users WHERE id = $1",
    )
    .bind(acme_user)
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!((role.as_str(), disabled, mfa), ("staff", false, false));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM api_tokens WHERE id = '{}' AND revoked_at IS NULL",
            acme.token_id
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM user_sessions WHERE id = '{}' AND ended_at IS NULL",
            acme.session_id
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM password_links WHERE user_id = '{acme_user}'"
        ))
        .await,
        0
    );
    // Nothing was written into acme's audit trail by bolt's admin.
    let written: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND actor_user_id = $2",
    )
    .bind(acme.t.id)
    .bind(bolt.t.admin.id)
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!(written, 0);
}

#[tokio::test]
async fn an_api_token_answers_only_for_its_own_tenant_whatever_the_request_claims() {
    let app = TestApp::spawn().await;
    let acme = identical_tenant(&app, "acme").await;
    let bolt = identical_tenant(&app, "bolt").await;
    let response = app
        .client()
        .http
        .get(app.url(&format!("/api/v1/me?tenant_id={}", acme.t.id)))
        .bearer_auth("pct_bolt_token")
        .header("x-tenant-id", acme.t.id.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: serde_json::Value = response.json().await.unwrap();
    assert_eq!(me["tenant"]["id"], bolt.t.id.to_string());
    assert_eq!(me["user"]["email"], bolt.staff.email);
}
