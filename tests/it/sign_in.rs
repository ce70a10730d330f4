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
    let wrong_password = app
        .client()
        .sign_in(&acme.admin.email, "not the password at all")
        .await;
    let unknown_email = app
        .client()
        .sign_in("nobody@nowhere.test", "not the password at all")
        .await;
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
        assert_eq!(
            client
                .sign_in(&acme.admin.email, "wrong password again")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let sixth = client
        .sign_in(&acme.admin.email, &acme.admin.password)
        .await;
    assert_eq!(sixth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        sixth
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-in attempts")
    );
}

#[tokio::test]
async fn a_post_without_a_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let client = app.client();
    let _ = client.csrf_token().await; // the session exists
    let response = client
        .post_form_raw(
            "/sign-in",
            &[
                ("email", &acme.admin.email),
                ("password", &acme.admin.password),
            ],
        )
        .await;
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
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = replay
        .get(app.url("/"))
        .header("cookie", old_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/sign-in");
}

#[tokio::test]
async fn signing_in_gives_a_new_session_id() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.client();
    let _ = client.csrf_token().await;
    let before = client.cookie_header();
    assert!(before.starts_with("plotcare="));
    assert_eq!(
        client.sign_in(&staff.email, &staff.password).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_ne!(client.cookie_header(), before);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_lax() {
    let app = TestApp::spawn().await;
    let response = app.client().get("/sign-in").await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("plotcare="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain HTTP locally: {cookie}");
}

/// The app as served behind a TLS proxy.
async fn app_behind_tls() -> TestApp {
    TestApp::spawn_with(crate::common::Options {
        env: vec![
            ("BEHIND_TLS", "true".into()),
            (
                "SECRET_KEY",
                "a-test-secret-key-that-is-long-enough-0123".into(),
            ),
            ("APP_BASE_URL", "https://plotcare.example".into()),
        ],
        ..Default::default()
    })
    .await
}

#[tokio::test]
async fn behind_tls_the_cookie_is_secure_with_the_host_prefix() {
    let app = app_behind_tls().await;
    let response = app.client().get("/sign-in").await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("__Host-plotcare=")
            && cookie.contains("Secure")
            && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(response.headers().contains_key("strict-transport-security"));
}

async fn signed_in_staff(app: &TestApp) -> (crate::common::TestClient, crate::common::TestUser) {
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    (app.sign_in(&staff).await, staff)
}

#[tokio::test]
async fn a_disabled_users_session_stops_on_the_next_request() {
    let app = TestApp::spawn().await;
    let (client, staff) = signed_in_staff(&app).await;
    assert_eq!(client.get("/").await.status(), StatusCode::OK);
    sqlx::query("UPDATE users SET disabled_at = now() WHERE id = $1")
        .bind(staff.id)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let response = client.get("/").await;
    assert_eq!(response.headers()["location"], "/sign-in");
    // And they cannot sign back in.
    assert_eq!(
        app.client()
            .sign_in(&staff.email, &staff.password)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_terminated_tenants_sessions_stop() {
    let app = TestApp::spawn().await;
    let (client, _) = signed_in_staff(&app).await;
    sqlx::query("UPDATE tenants SET status = 'terminated'")
        .execute(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(client.get("/").await.headers()["location"], "/sign-in");
}

#[tokio::test]
async fn a_session_idle_for_thirty_minutes_ends() {
    let app = TestApp::spawn().await;
    let (client, staff) = signed_in_staff(&app).await;
    sqlx::query(
        "UPDATE user_sessions SET last_seen_at = now() - interval '31 minutes' WHERE user_id = $1",
    )
    .bind(staff.id)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!(client.get("/").await.headers()["location"], "/sign-in");
    let reason: String =
        sqlx::query_scalar("SELECT end_reason FROM user_sessions WHERE user_id = $1")
            .bind(staff.id)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(reason, "idle timeout");
}

#[tokio::test]
async fn a_session_ends_twelve_hours_after_sign_in_however_busy() {
    let app = TestApp::spawn().await;
    let (client, staff) = signed_in_staff(&app).await;
    sqlx::query("UPDATE user_sessions SET created_at = now() - interval '12 hours 1 minute' WHERE user_id = $1")
        .bind(staff.id)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(client.get("/").await.headers()["location"], "/sign-in");
}

#[tokio::test]
async fn sign_ins_and_failures_are_in_the_audit_trail_with_ip_and_request_id() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    app.client()
        .sign_in(&staff.email, "a wrong password here")
        .await;
    app.sign_in(&staff).await;
    let rows: Vec<(String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT action, host(ip), request_id FROM audit_events WHERE actor_user_id = $1 ORDER BY occurred_at",
    )
    .bind(staff.id)
    .fetch_all(&app.admin_pool)
    .await
    .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(actions, ["session.sign_in_failed", "session.signed_in"]);
    for (_, ip, request_id) in rows {
        assert_eq!(ip.as_deref(), Some("127.0.0.1"));
        assert!(request_id.is_some_and(|r| r.len() == 36));
    }
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_unless_a_proxy_is_trusted() {
    for (trust, expected) in [("false", "127.0.0.1"), ("true", "203.0.113.9")] {
        let app = TestApp::spawn_with(crate::common::Options {
            env: vec![("TRUST_PROXY", trust.into())],
            ..Default::default()
        })
        .await;
        let acme = app.create_tenant("acme").await;
        let client = app.client();
        let token = client.csrf_token().await;
        client
            .http
            .post(client.url("/sign-in"))
            .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
            .form(&[
                ("email", acme.admin.email.as_str()),
                ("password", "wrong password here"),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap();
        let ip: String = sqlx::query_scalar(
            "SELECT host(ip) FROM audit_events WHERE action = 'session.sign_in_failed'",
        )
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
        assert_eq!(ip, expected, "TRUST_PROXY={trust}");
    }
}

#[tokio::test]
async fn a_request_from_another_site_is_refused_even_with_a_token() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let client = app.client();
    let token = client.csrf_token().await;
    let response = client
        .http
        .post(client.url("/sign-in"))
        .header("origin", "https://evil.example")
        .form(&[
            ("email", acme.admin.email.as_str()),
            ("password", acme.admin.password.as_str()),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) FROM user_sessions").await, 0);
}

/// Posts the sign-in form of `app`'s admin with `origin` in the Origin header.
async fn sign_in_with_origin(app: &TestApp, origin: &str) -> StatusCode {
    let acme = app.create_tenant("acme").await;
    let client = app.client();
    let token = client.csrf_token().await;
    client
        .http
        .post(client.url("/sign-in"))
        .header("origin", origin)
        .form(&[
            ("email", acme.admin.email.as_str()),
            ("password", acme.admin.password.as_str()),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_origin_with_the_right_host_and_port_but_another_scheme_is_refused() {
    let app = TestApp::spawn().await;
    let host = app.addr.trim_start_matches("http://").to_owned();

    let status = sign_in_with_origin(&app, &format!("https://{host}")).await;

    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) FROM user_sessions").await, 0);
}

#[tokio::test]
async fn the_apps_own_origin_is_accepted() {
    let app = TestApp::spawn().await;
    let status = sign_in_with_origin(&app, &app.addr.clone()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn behind_tls_only_an_https_origin_is_accepted() {
    let app = app_behind_tls().await;
    let acme = app.create_tenant("acme").await;
    let host = app.addr.trim_start_matches("http://").to_owned();
    // The test speaks plain HTTP to the app as a TLS proxy would, so the Secure cookie
    // is carried by hand.
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sign_in_from = |origin: String| {
        let http = http.clone();
        let url = app.url("/sign-in");
        let (email, password) = (acme.admin.email.clone(), acme.admin.password.clone());
        async move {
            let page = http.get(&url).send().await.unwrap();
            let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
            let cookie = cookie.split(';').next().unwrap().to_owned();
            let body = page.text().await.unwrap();
            let token =
                crate::common::extract_attr(&body, "<meta name=\"csrf-token\" content=\"").unwrap();
            http.post(&url)
                .header("cookie", cookie)
                .header("origin", origin)
                .form(&[
                    ("email", email.as_str()),
                    ("password", password.as_str()),
                    ("csrf_token", &token),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };

    // Behind the proxy the browser's page is https: plain http is another origin.
    assert_eq!(
        sign_in_from(format!("http://{host}")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        sign_in_from(format!("https://{host}")).await,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn no_page_shown_to_a_signed_in_user_is_kept_by_the_browser_cache() {
    let app = TestApp::spawn().await;
    let (client, _) = signed_in_staff(&app).await;
    let missing = format!("/tickets/{}", uuid::Uuid::now_v7());
    for path in ["/", "/tickets", "/plots", "/contacts", "/account", &missing] {
        let response = client.get(path).await;
        assert_eq!(
            response
                .headers()
                .get("cache-control")
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{path} ({})",
            response.status()
        );
    }
    // After signing out, the back button finds nothing cached; static files still cache.
    let css = client.get("/static/app.css").await;
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
}

/// Posts the sign-in form from `address` (the app trusts X-Forwarded-For in these tests).
async fn sign_in_from(
    client: &crate::common::TestClient,
    address: &str,
    email: &str,
    password: &str,
) -> StatusCode {
    let token = client.csrf_token().await;
    client
        .http
        .post(client.url("/sign-in"))
        .header("x-forwarded-for", address)
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap()
        .status()
}

async fn app_behind_a_proxy() -> TestApp {
    TestApp::spawn_with(crate::common::Options {
        env: vec![("TRUST_PROXY", "true".into())],
        ..Default::default()
    })
    .await
}

const HOME: &str = "198.51.100.7";
const ELSEWHERE: &str = "203.0.113.66";

#[tokio::test]
async fn a_lockout_from_another_address_does_not_lock_the_owner_out_of_a_known_device() {
    let app = app_behind_a_proxy().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    // The owner signed in on this laptop before (it keeps a signed device cookie), then left.
    let laptop = app.client();
    assert_eq!(
        sign_in_from(&laptop, HOME, &staff.email, &staff.password).await,
        StatusCode::SEE_OTHER
    );
    assert!(laptop.cookie_header().contains("plotcare_device="));
    laptop.post_form("/sign-out", &[]).await;

    // Someone elsewhere guesses until the account locks for unknown devices.
    let stranger = app.client();
    for _ in 0..5 {
        assert_eq!(
            sign_in_from(&stranger, ELSEWHERE, &staff.email, "a wrong guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in_from(&stranger, ELSEWHERE, &staff.email, &staff.password).await,
        StatusCode::TOO_MANY_REQUESTS
    );

    // The owner's laptop still signs in; a device never seen before is locked out, even at home.
    assert_eq!(
        sign_in_from(&laptop, HOME, &staff.email, &staff.password).await,
        StatusCode::SEE_OTHER
    );
    let (status, _) = laptop.page("/tickets").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        sign_in_from(&app.client(), HOME, &staff.email, &staff.password).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The stranger's failures still count after the owner's success.
    assert_eq!(
        sign_in_from(&stranger, ELSEWHERE, &staff.email, &staff.password).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_known_device_that_keeps_failing_is_locked_too() {
    let app = app_behind_a_proxy().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let laptop = app.client();
    sign_in_from(&laptop, HOME, &staff.email, &staff.password).await;
    laptop.post_form("/sign-out", &[]).await;
    for _ in 0..5 {
        assert_eq!(
            sign_in_from(&laptop, HOME, &staff.email, "a wrong guess").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in_from(&laptop, HOME, &staff.email, &staff.password).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_forged_or_another_accounts_device_cookie_counts_as_an_unknown_device() {
    let app = app_behind_a_proxy().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let other = app.create_user(&acme, Role::Staff, None, false).await;
    // A device known for another account, and a cookie with a made-up signature.
    let theirs = app.client();
    sign_in_from(&theirs, ELSEWHERE, &other.email, &other.password).await;
    theirs.post_form("/sign-out", &[]).await;
    let forged = app.client();
    let url: reqwest::Url = app.addr.parse().unwrap();
    let cookie = theirs.cookie_header();
    let device = cookie
        .split("; ")
        .find(|c| c.starts_with("plotcare_device="))
        .expect("a device cookie")
        .to_owned();
    let flipped = if device.ends_with('0') { '1' } else { '0' };
    let tampered = format!("{}{flipped}", &device[..device.len() - 1]);
    forged.jar.add_cookie_str(&tampered, &url);

    for client in [&theirs, &forged] {
        for _ in 0..5 {
            sign_in_from(client, ELSEWHERE, &staff.email, "a wrong guess").await;
        }
    }
    assert_eq!(
        app.count("SELECT count(*) FROM sign_in_failures WHERE device IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        sign_in_from(&theirs, ELSEWHERE, &staff.email, &staff.password).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}
