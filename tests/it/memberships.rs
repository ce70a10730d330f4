//! One sign-in, several tenants: a person (a subcontractor working for several
//! housebuilders) has one account and a membership in each tenant, chosen after sign-in
//! and switchable; an invitation to someone who already signs in reveals nothing.

use plotcare::domain::Role;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::common::{TestApp, TestClient, TestTenant, TestUser};
use crate::users::{emailed_link, invite};

/// The membership of `email` in `tenant`.
async fn membership(app: &TestApp, tenant: &TestTenant, email: &str) -> Uuid {
    sqlx::query_scalar("SELECT id FROM users WHERE tenant_id = $1 AND email = $2")
        .bind(tenant.id)
        .bind(email)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

/// The invitation page with what differs between two people (their email, their id, the
/// form token) taken out.
fn normalised(page: &str, email: &str, id: Uuid) -> String {
    page.replace(email, "EMAIL")
        .replace(&id.to_string(), "ID")
        .lines()
        .filter(|l| !l.contains("csrf"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A ticket in `tenant` with this title (nominated to `company` when given).
async fn ticket_titled(
    app: &TestApp,
    tenant: &TestTenant,
    company: Option<Uuid>,
    title: &str,
) -> Uuid {
    let id = crate::comments::create_ticket(app, tenant, company).await;
    sqlx::query("UPDATE tickets SET title = $2 WHERE id = $1")
        .bind(id)
        .bind(title)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    id
}

/// Who the API says the session is: (tenant name, role).
async fn me(client: &TestClient) -> (String, String) {
    let body: Value = client.get("/api/v1/me").await.json().await.unwrap();
    (
        body["tenant"]["name"].as_str().unwrap().to_owned(),
        body["user"]["role"].as_str().unwrap().to_owned(),
    )
}

/// Meadowbank's admin (with MFA) and a Meadowbank staff member Pat, whom Acme invites as a
/// subcontractor of its plumbers.
struct TwoTenants {
    acme: TestTenant,
    meadowbank: TestTenant,
    pipes: Uuid,
    pat: TestUser,
    acme_admin: TestClient,
}

async fn pat_in_two_tenants(app: &TestApp) -> TwoTenants {
    let acme = app.create_tenant("acme").await;
    let meadowbank = app.create_tenant("meadowbank").await;
    let pipes = app.create_company(&acme, "Pipes Ltd").await;
    let pat = app.create_user(&meadowbank, Role::Staff, None, false).await;
    let acme_admin = app.sign_in_admin(&acme.admin).await;
    let invited = invite(
        &acme_admin,
        "Pat from Pipes",
        &pat.email,
        "subcontractor",
        &pipes.to_string(),
    )
    .await;
    assert_eq!(invited.status(), StatusCode::OK);
    TwoTenants {
        acme,
        meadowbank,
        pipes,
        pat,
        acme_admin,
    }
}

/// Signs Pat in and chooses `tenant`; returns the client.
async fn sign_in_to(app: &TestApp, pat: &TestUser, tenant: &TestTenant) -> TestClient {
    let client = app.client();
    let response = client.sign_in(&pat.email, &pat.password).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/sign-in/choose");
    let id = membership(app, tenant, &pat.email).await;
    let chosen = client
        .post_form("/sign-in/choose", &[("membership", &id.to_string())])
        .await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    client
}

#[tokio::test]
async fn inviting_someone_of_another_tenant_reveals_nothing_and_adds_a_membership() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let meadowbank = app.create_tenant("meadowbank").await;
    app.enrol_mfa(&meadowbank.admin).await;
    let admin = app.sign_in_admin(&acme.admin).await;
    let accounts_before = app.count("SELECT count(*) FROM accounts").await;

    // The same invitation for Meadowbank's admin and for someone new to Plotcare.
    let existing = invite(&admin, "Mo Bank", "admin@meadowbank.test", "staff", "").await;
    let (existing_status, existing_page) = (existing.status(), existing.text().await.unwrap());
    let fresh = invite(&admin, "Mo Bank", "mo@newcomer.test", "staff", "").await;
    let (fresh_status, fresh_page) = (fresh.status(), fresh.text().await.unwrap());

    assert_eq!(existing_status, StatusCode::OK);
    assert_eq!(fresh_status, StatusCode::OK);
    assert!(!existing_page.contains("already uses"), "{existing_page}");
    let existing_id = membership(&app, &acme, "admin@meadowbank.test").await;
    let fresh_id = membership(&app, &acme, "mo@newcomer.test").await;
    assert_eq!(
        normalised(&existing_page, "admin@meadowbank.test", existing_id),
        normalised(&fresh_page, "mo@newcomer.test", fresh_id),
        "the inviter sees the same answer either way"
    );
    // The users page shows both as invited, neither with their second factor; the
    // outbox shows the same email (the links' secrets hidden).
    let (_, list) = admin.page("/users").await;
    let row = |email: &str| {
        let at = list.find(email).unwrap();
        list[at..].split("</tr>").next().unwrap().to_owned()
    };
    assert_eq!(
        row("admin@meadowbank.test").replace("admin@meadowbank.test", "E"),
        row("mo@newcomer.test")
            .replace("mo@newcomer.test", "E")
            .replace(&fresh_id.to_string(), &existing_id.to_string())
    );
    assert!(row("admin@meadowbank.test").contains("Invited"));
    let (_, outbox) = admin.page("/admin/outbox").await;
    for email in ["admin@meadowbank.test", "mo@newcomer.test"] {
        let link = emailed_link(&app, email).await;
        assert!(!outbox.contains(link.trim_start_matches("/set-password/")));
    }
    let bodies: Vec<String> = sqlx::query_scalar(
        "SELECT regexp_replace(body_text, 'psl_[0-9a-f]+', 'SECRET') FROM outbox_emails
          WHERE tenant_id = $1 ORDER BY to_address",
    )
    .bind(acme.id)
    .fetch_all(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!(bodies.len(), 2);
    assert_eq!(bodies[0], bodies[1]);

    // One person, one account: Meadowbank's admin gained a membership, not an account.
    assert_eq!(
        app.count("SELECT count(*) FROM accounts").await,
        accounts_before + 1
    );
    let accounts: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT account_id) FROM users WHERE email = 'admin@meadowbank.test'",
    )
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!(accounts, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM users WHERE email = 'admin@meadowbank.test'")
            .await,
        2
    );
}

#[tokio::test]
async fn an_invitation_to_someone_who_already_signs_in_sets_no_password() {
    let app = TestApp::spawn().await;
    let t = pat_in_two_tenants(&app).await;
    let hash = |app: &TestApp| {
        let pool = app.admin_pool.clone();
        let email = t.pat.email.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>(
                "SELECT password_hash FROM accounts WHERE email = $1",
            )
            .bind(email)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let before = hash(&app).await;
    let link = emailed_link(&app, &t.pat.email).await;

    let (status, page) = app.client().page(&link).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Join acme Homes") && page.contains("already have a Plotcare sign-in"));
    let tried = app
        .client()
        .post_form(
            &link,
            &[
                ("new_password", "someone else's new password"),
                ("confirm", "someone else's new password"),
            ],
        )
        .await;
    assert_ne!(tried.status(), StatusCode::SEE_OTHER);
    assert_eq!(hash(&app).await, before);
}

#[tokio::test]
async fn one_sign_in_chooses_a_tenant_then_switches_each_with_its_own_role_and_data() {
    let app = TestApp::spawn().await;
    let t = pat_in_two_tenants(&app).await;
    ticket_titled(&app, &t.acme, Some(t.pipes), "Acme leaking radiator").await;
    ticket_titled(&app, &t.meadowbank, None, "Meadowbank cracked tile").await;

    // Sign in once; both tenants are offered, Acme as a new invitation.
    let pat = app.client();
    let response = pat.sign_in(&t.pat.email, &t.pat.password).await;
    assert_eq!(response.headers()["location"], "/sign-in/choose");
    let (_, choose) = pat.page("/sign-in/choose").await;
    assert!(choose.contains("acme Homes") && choose.contains("meadowbank Homes"));
    assert!(choose.contains("New invitation"));

    // Acme: a subcontractor of Pipes, who sees Acme's job and nothing of Meadowbank.
    let acme_membership = membership(&app, &t.acme, &t.pat.email).await;
    let chosen = pat
        .post_form(
            "/sign-in/choose",
            &[("membership", &acme_membership.to_string())],
        )
        .await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        me(&pat).await,
        ("acme Homes".into(), "subcontractor".into())
    );
    let (_, jobs) = pat.page("/jobs").await;
    assert!(jobs.contains("Acme leaking radiator") && !jobs.contains("Meadowbank"));
    assert!(
        jobs.contains("id=\"switch-organisation\""),
        "the header offers to switch"
    );
    let (_, tickets) = pat.page("/tickets").await;
    assert!(!tickets.contains("Meadowbank cracked tile"));
    let (_, acme_users) = t.acme_admin.page("/users").await;
    assert!(
        !acme_users.contains("Invited"),
        "choosing Acme accepted the invitation"
    );

    // Switch to Meadowbank: staff there, with Meadowbank's tickets only.
    let first_session: Uuid =
        sqlx::query_scalar("SELECT id FROM user_sessions WHERE user_id = $1 AND ended_at IS NULL")
            .bind(acme_membership)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    let (_, switch) = pat.page("/switch").await;
    assert!(switch.contains("You are here"));
    let meadowbank_membership = membership(&app, &t.meadowbank, &t.pat.email).await;
    let switched = pat
        .post_form(
            "/switch",
            &[("membership", &meadowbank_membership.to_string())],
        )
        .await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    assert_eq!(me(&pat).await, ("meadowbank Homes".into(), "staff".into()));
    let (_, tickets) = pat.page("/tickets").await;
    assert!(tickets.contains("Meadowbank cracked tile") && !tickets.contains("Acme leaking"));
    let (status, _) = pat.page("/jobs").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A fresh session row for the other membership; the first one ended.
    let reason: Option<String> =
        sqlx::query_scalar("SELECT end_reason FROM user_sessions WHERE id = $1")
            .bind(first_session)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(reason.as_deref(), Some("switched organisation"));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM user_sessions WHERE user_id = '{meadowbank_membership}' AND ended_at IS NULL"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn switching_to_a_membership_that_is_not_yours_is_refused() {
    let app = TestApp::spawn().await;
    let t = pat_in_two_tenants(&app).await;
    let pat = sign_in_to(&app, &t.pat, &t.meadowbank).await;

    for someone_else in [t.acme.admin.id, t.meadowbank.admin.id, Uuid::now_v7()] {
        let response = pat
            .post_form("/switch", &[("membership", &someone_else.to_string())])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    let garbage = pat
        .post_form("/switch", &[("membership", "not-an-id")])
        .await;
    assert_eq!(garbage.status(), StatusCode::NOT_FOUND);
    assert_eq!(me(&pat).await, ("meadowbank Homes".into(), "staff".into()));
    // Nor can anyone choose without having signed in.
    let stranger = app.client();
    let response = stranger
        .post_form(
            "/sign-in/choose",
            &[("membership", &t.acme.admin.id.to_string())],
        )
        .await;
    assert_eq!(response.headers()["location"], "/sign-in");
    assert_eq!(
        stranger.get("/tickets").await.headers()["location"],
        "/sign-in?next=%2Ftickets"
    );
}

#[tokio::test]
async fn removing_a_membership_ends_its_sessions_and_leaves_the_others() {
    let app = TestApp::spawn().await;
    let t = pat_in_two_tenants(&app).await;
    let in_acme = sign_in_to(&app, &t.pat, &t.acme).await;
    let in_meadowbank = sign_in_to(&app, &t.pat, &t.meadowbank).await;
    assert_eq!(in_acme.get("/jobs").await.status(), StatusCode::OK);

    let acme_membership = membership(&app, &t.acme, &t.pat.email).await;
    let removed = t
        .acme_admin
        .post_form(&format!("/users/{acme_membership}/disable"), &[])
        .await;
    assert_eq!(removed.status(), StatusCode::SEE_OTHER);

    let response = in_acme.get("/jobs").await;
    assert_eq!(response.headers()["location"], "/sign-in?next=%2Fjobs");
    assert_eq!(in_meadowbank.get("/tickets").await.status(), StatusCode::OK);
    // Signing in again goes straight to the one tenant left.
    let again = app.client();
    let response = again.sign_in(&t.pat.email, &t.pat.password).await;
    assert_eq!(response.headers()["location"], "/");
    assert_eq!(me(&again).await.0, "meadowbank Homes");
}

#[tokio::test]
async fn a_password_change_in_one_tenant_signs_the_person_out_of_every_tenant() {
    let app = TestApp::spawn().await;
    let t = pat_in_two_tenants(&app).await;
    let in_acme = sign_in_to(&app, &t.pat, &t.acme).await;
    let in_meadowbank = sign_in_to(&app, &t.pat, &t.meadowbank).await;

    let changed = in_meadowbank
        .post_form(
            "/account/password",
            &[
                ("current_password", t.pat.password.as_str()),
                ("new_password", "one new password for both"),
                ("confirm_password", "one new password for both"),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);

    assert_eq!(
        in_acme.get("/jobs").await.headers()["location"],
        "/sign-in?next=%2Fjobs"
    );
    assert_eq!(in_meadowbank.get("/tickets").await.status(), StatusCode::OK);
    // Acme's audit trail says why its member was signed out.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM audit_events WHERE tenant_id = '{}' AND action = 'user.signed_out_everywhere'",
            t.acme.id
        ))
        .await,
        1
    );
    // The new password works for both.
    let both = app.client();
    let response = both
        .sign_in(&t.pat.email, "one new password for both")
        .await;
    assert_eq!(response.headers()["location"], "/sign-in/choose");
}

#[tokio::test]
async fn two_factor_set_up_once_covers_every_tenant() {
    let app = TestApp::spawn().await;
    let t = pat_in_two_tenants(&app).await;
    let secret = app.enrol_mfa(&t.pat).await;

    let pat = app.client();
    let response = pat.sign_in(&t.pat.email, &t.pat.password).await;
    assert_eq!(response.headers()["location"], "/sign-in/code");
    let code = plotcare::auth::mfa::current_code(&secret).unwrap();
    let response = pat.post_form("/sign-in/code", &[("code", &code)]).await;
    assert_eq!(response.headers()["location"], "/sign-in/choose");
    let acme_membership = membership(&app, &t.acme, &t.pat.email).await;
    pat.post_form(
        "/sign-in/choose",
        &[("membership", &acme_membership.to_string())],
    )
    .await;

    // Acme now shows it (it did not while Pat was only invited).
    let enrolled: bool =
        sqlx::query_scalar("SELECT mfa_enabled_at IS NOT NULL FROM users WHERE id = $1")
            .bind(acme_membership)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert!(enrolled);
    assert_eq!(me(&pat).await.0, "acme Homes");
}

/// A database as it was before accounts (migrations up to 0030) holding one tenant's
/// admin (with a second factor and a recovery code), a staff member and an invitee.
/// Returns the database's name and the admin's TOTP secret.
async fn database_before_accounts(hash: &str) -> (String, String) {
    use sqlx::postgres::PgPoolOptions;
    let base = std::env::var("TEST_DATABASE_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("plotcare_test_old_{}", Uuid::new_v4().simple());
    let server = PgPoolOptions::new()
        .max_connections(1)
        .connect(&format!("{base}/postgres"))
        .await
        .unwrap();
    // (TestApp made the role already, for the app running beside this test.)
    sqlx::query(&format!(
        "DO $$ BEGIN CREATE ROLE {0} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        crate::common::APP_ROLE
    ))
    .execute(&server)
    .await
    .unwrap();
    sqlx::query(&format!(
        "CREATE DATABASE {name} OWNER {}",
        crate::common::APP_ROLE
    ))
    .execute(&server)
    .await
    .unwrap();
    server.close().await;

    let app_pool = PgPoolOptions::new()
        .max_connections(1)
        .connect(&format!(
            "postgres://{}@127.0.0.1:5432/{name}",
            crate::common::APP_ROLE
        ))
        .await
        .unwrap();
    let before = sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(
            plotcare::db::MIGRATOR
                .migrations
                .iter()
                .filter(|m| m.version < 31)
                .cloned()
                .collect(),
        ),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    };
    before.run(&app_pool).await.unwrap();
    app_pool.close().await;

    let secret = plotcare::auth::mfa::new_secret();
    let db = PgPoolOptions::new()
        .max_connections(1)
        .connect(&format!("{base}/{name}"))
        .await
        .unwrap();
    let tenant = Uuid::now_v7();
    sqlx::query("INSERT INTO tenants (id, slug, name) VALUES ($1, 'oldco', 'Oldco Homes')")
        .bind(tenant)
        .execute(&db)
        .await
        .unwrap();
    let admin = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO users (tenant_id, id, email, name, role, password_hash, password_changed_at,
                            mfa_secret, mfa_enabled_at)
         VALUES ($1, $2, 'ann@oldco.test', 'Ann Admin', 'admin', $3, now(), $4, now()),
                ($1, $5, 'sam@oldco.test', 'Sam Staff', 'staff', $3, now(), NULL, NULL),
                ($1, $6, 'ivy@oldco.test', 'Ivy Invitee', 'staff', NULL, NULL, NULL, NULL)",
    )
    .bind(tenant)
    .bind(admin)
    .bind(hash)
    .bind(&secret)
    .bind(Uuid::now_v7())
    .bind(Uuid::now_v7())
    .execute(&db)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO mfa_recovery_codes (tenant_id, id, user_id, code_hash) VALUES ($1, $2, $3, $4)",
    )
    .bind(tenant)
    .bind(Uuid::now_v7())
    .bind(admin)
    .bind(plotcare::auth::tokens::hash("abcde-fghjk"))
    .execute(&db)
    .await
    .unwrap();
    db.close().await;
    (name, secret)
}

#[tokio::test]
async fn existing_users_keep_their_passwords_and_second_factors_as_accounts() {
    let password = "an old and trusted password";
    let hash = plotcare::auth::password::hash(
        &plotcare::domain::NewPassword::parse("p", password).unwrap(),
    )
    .await
    .unwrap();
    let (old, secret) = database_before_accounts(&hash).await;
    let old = OwnDatabase(old);

    // The app on a copy of it: starting up applies the accounts migration.
    let app = TestApp::spawn_with(crate::common::Options {
        template: Some(old.to_string()),
        ..Default::default()
    })
    .await;

    assert_eq!(app.count("SELECT count(*) FROM accounts").await, 3);
    assert_eq!(
        app.count("SELECT count(*) FROM account_recovery_codes")
            .await,
        1
    );
    // The admin signs in with their password and their authenticator, as before.
    let ann = app.client();
    let response = ann.sign_in("ann@oldco.test", password).await;
    assert_eq!(response.headers()["location"], "/sign-in/code");
    let code = plotcare::auth::mfa::current_code(&secret).unwrap();
    let response = ann.post_form("/sign-in/code", &[("code", &code)]).await;
    assert_eq!(response.headers()["location"], "/");
    let (_, users) = ann.page("/users").await;
    let row = |email: &str| {
        let at = users.find(email).unwrap();
        users[at..].split("</tr>").next().unwrap().to_owned()
    };
    assert!(row("ivy@oldco.test").contains("Invited"));
    assert!(row("sam@oldco.test").contains("Active"));
    assert!(row("ann@oldco.test").contains(">On<"));
    // Their recovery code still works; so does the staff member's password.
    let again = app.client();
    again.sign_in("ann@oldco.test", password).await;
    let response = again
        .post_form("/sign-in/code", &[("code", "ABCDE-FGHJK")])
        .await;
    assert_eq!(response.headers()["location"], "/");
    let sam = app.client();
    assert_eq!(
        sam.sign_in("sam@oldco.test", password).await.headers()["location"],
        "/"
    );
    drop(app);
    drop(old);
}

/// A database this test made, dropped when the test ends (passed or not).
struct OwnDatabase(String);

impl std::ops::Deref for OwnDatabase {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        let name = self.0.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let base = std::env::var("TEST_DATABASE_ADMIN_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
                if let Ok(server) = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&format!("{base}/postgres"))
                    .await
                {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&server)
                        .await;
                }
            });
        })
        .join();
    }
}

#[tokio::test]
async fn an_mfa_reset_in_one_tenant_is_recorded_in_the_others_without_naming_it() {
    let app = TestApp::spawn().await;
    let t = pat_in_two_tenants(&app).await;
    let secret = app.enrol_mfa(&t.pat).await;
    let acme_membership = membership(&app, &t.acme, &t.pat.email).await;
    let reset_path = format!("/users/{acme_membership}/reset-mfa");

    // An invitation gives Acme no hold on Pat's sign-in: nothing to reset until Pat joins.
    assert_eq!(
        t.acme_admin.post_form(&reset_path, &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM accounts WHERE mfa_enabled_at IS NOT NULL AND email = '{}'",
            t.pat.email
        ))
        .await,
        1
    );
    let (_, page) = t
        .acme_admin
        .page(&format!("/users/{acme_membership}"))
        .await;
    assert!(page.contains("has not joined yet"), "{page}");

    // Pat joins Acme; now Acme's admin may reset it.
    let pat = app.client();
    pat.sign_in(&t.pat.email, &t.pat.password).await;
    let code = plotcare::auth::mfa::current_code(&secret).unwrap();
    pat.post_form("/sign-in/code", &[("code", &code)]).await;
    pat.post_form(
        "/sign-in/choose",
        &[("membership", &acme_membership.to_string())],
    )
    .await;
    assert_eq!(
        t.acme_admin.post_form(&reset_path, &[]).await.status(),
        StatusCode::SEE_OTHER
    );

    let meadowbank_membership = membership(&app, &t.meadowbank, &t.pat.email).await;
    let (still_enrolled,): (bool,) =
        sqlx::query_as("SELECT mfa_enabled_at IS NOT NULL FROM users WHERE id = $1")
            .bind(meadowbank_membership)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert!(!still_enrolled);
    let (actor, changes): (Option<Uuid>, String) = sqlx::query_as(
        "SELECT actor_user_id, changes::text FROM audit_events
          WHERE tenant_id = $1 AND action = 'user.mfa_reset'",
    )
    .bind(t.meadowbank.id)
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!(actor, None);
    assert!(changes.contains("another organisation") && !changes.contains("acme"));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM outbox_emails WHERE to_address = '{}' AND subject LIKE '%two-factor%'",
            t.pat.email
        ))
        .await,
        1
    );
}
