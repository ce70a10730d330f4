//! Nominating a ticket to a subcontractor company or a staff member: the
//! email through the outbox and the worker, the history, the trade-first
//! company list, and the scope.

use plotcare::{domain::Role, jobs::Runner};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{TestApp, TestTenant};

/// A plot at "12 Acacia Avenue, Leeds, LS1 1AA" in a new scheme and contract.
pub async fn create_plot(app: &TestApp, tenant: &TestTenant) -> (Uuid, Uuid, Uuid) {
    let scheme = app.create_scheme(tenant, "Meadow View").await;
    let (contract, plot) = (Uuid::now_v7(), Uuid::now_v7());
    sqlx::query(
        "INSERT INTO contracts (tenant_id, id, scheme_id, name) VALUES ($1, $2, $3, 'Phase 1')",
    )
    .bind(tenant.id)
    .bind(contract)
    .bind(scheme)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO plots (tenant_id, id, scheme_id, contract_id, plot_number, address_line1, town, postcode)
         VALUES ($1, $2, $3, $4, '12', '12 Acacia Avenue', 'Leeds', 'LS1 1AA')",
    )
    .bind(tenant.id)
    .bind(plot)
    .bind(scheme)
    .bind(contract)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    (scheme, contract, plot)
}

/// An open plumbing ticket, T-00042, due in two days.
pub async fn create_ticket(app: &TestApp, tenant: &TestTenant) -> Uuid {
    let (scheme, contract, plot) = create_plot(app, tenant).await;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO tickets (tenant_id, id, number, plot_id, scheme_id, contract_id, title, category,
                              reported_via, reported_at, priority, due_at)
         VALUES ($1, $2, 42, $3, $4, $5, 'Leaking kitchen tap', 'plumbing', 'phone', now(), 'high', now() + interval '2 days')",
    )
    .bind(tenant.id)
    .bind(id)
    .bind(plot)
    .bind(scheme)
    .bind(contract)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    id
}

/// A subcontractor company with trades and email addresses.
async fn company(
    app: &TestApp,
    tenant: &TestTenant,
    name: &str,
    trades: &[&str],
    emails: &[&str],
) -> Uuid {
    let id = app.create_company(tenant, name).await;
    sqlx::query("UPDATE contacts SET trades = $2, emails = $3 WHERE id = $1")
        .bind(id)
        .bind(trades.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .bind(emails.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .execute(&app.admin_pool)
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn nominating_a_company_emails_it_once_and_the_worker_logs_the_email_for_the_outbox() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme).await;
    let plumbers = company(
        &app,
        &acme,
        "Pipe Dreams Ltd",
        &["plumbing"],
        &["jobs@pipedreams.test"],
    )
    .await;
    let admin = app.sign_in_admin(&acme.admin).await;

    let response = admin
        .post_form(
            &format!("/tickets/{ticket}/nominate"),
            &[("nominee", &format!("company:{plumbers}"))],
        )
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        response.headers()["location"],
        format!("/tickets/{ticket}#nominations").as_str()
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM tickets WHERE id = '{ticket}' AND nominated_company_id = '{plumbers}' AND nominated_user_id IS NULL AND status = 'in_progress'"
        ))
        .await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM outbox_emails WHERE status = 'queued' AND to_address = 'jobs@pipedreams.test'").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM outbox_emails").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM jobs WHERE kind = 'send_email'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM ticket_events WHERE kind = 'nominated' AND shared")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.nominated'")
            .await,
        1
    );
    let (subject, body): (String, String) =
        sqlx::query_as("SELECT subject, body_text FROM outbox_emails")
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(
        subject,
        "T-00042: new job at 12 Acacia Avenue, Leeds, LS1 1AA"
    );
    for part in [
        "Leaking kitchen tap",
        "Priority: High",
        "Due: ",
        // An absolute link: the email is read outside the app.
        &format!("See the details in Plotcare: {}/tickets/{ticket}", app.addr),
    ] {
        assert!(body.contains(part), "{part} missing from {body}");
    }

    // The worker runs once: no SMTP settings, so the email is logged.
    let runner = Runner::new(app.pool.clone(), app.state.media.clone(), &app.state.config).unwrap();
    assert_eq!(runner.run_once().await.unwrap(), 1);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM outbox_emails WHERE status = 'logged' AND sent_at IS NOT NULL"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM jobs WHERE done_at IS NOT NULL")
            .await,
        1
    );

    let (status, page) = admin.page("/admin/outbox").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("T-00042: new job at 12 Acacia Avenue"));
    assert!(page.contains("jobs@pipedreams.test"));
    assert!(page.contains("Logged, not sent"));
    assert!(
        page.contains("Leaking kitchen tap"),
        "the body is on the page, behind a click"
    );
}

#[tokio::test]
async fn the_outbox_is_for_admins_only() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    assert_eq!(
        client.get("/admin/outbox").await.status(),
        StatusCode::FORBIDDEN
    );
    let admin = app.sign_in_admin(&acme.admin).await;
    let (_, home) = admin.page("/").await;
    assert!(home.contains("href=\"/admin/outbox\""));
}

#[tokio::test]
async fn re_nominating_to_a_staff_member_keeps_the_history() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme).await;
    let plumbers = company(
        &app,
        &acme,
        "Pipe Dreams Ltd",
        &["plumbing"],
        &["jobs@pipedreams.test"],
    )
    .await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    let first = client
        .post_form(
            &format!("/tickets/{ticket}/nominate"),
            &[("nominee", &format!("company:{plumbers}"))],
        )
        .await;
    let second = client
        .post_form(
            &format!("/tickets/{ticket}/nominate"),
            &[("nominee", &format!("user:{}", acme.admin.id))],
        )
        .await;

    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(second.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM nominations WHERE ticket_id = '{ticket}'"
        ))
        .await,
        2
    );
    assert_eq!(app.count(&format!("SELECT count(*) FROM nominations WHERE company_id = '{plumbers}' AND ended_at IS NOT NULL")).await, 1);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM nominations WHERE user_id = '{}' AND ended_at IS NULL",
            acme.admin.id
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM tickets WHERE id = '{ticket}' AND nominated_company_id IS NULL AND nominated_user_id = '{}'",
            acme.admin.id
        ))
        .await,
        1
    );
    // The admin is emailed at their own address.
    assert_eq!(
        app.count("SELECT count(*) FROM outbox_emails WHERE to_address = 'admin@acme.test'")
            .await,
        1
    );
    // The ticket page lists both, the admin as current.
    let (status, page) = client.page(&format!("/tickets/{ticket}")).await;
    assert_eq!(status, StatusCode::OK);
    let history = &page[page
        .find("id=\"nomination-history\"")
        .expect("history table")..];
    assert!(history.contains("Pipe Dreams Ltd"));
    assert!(history.contains("Ada Admin"));
    assert!(history.contains("Current"));
}

#[tokio::test]
async fn the_company_list_puts_companies_covering_the_trade_first() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme).await;
    company(&app, &acme, "Alpha Electrics", &["electrical"], &[]).await;
    company(&app, &acme, "Zed Plumbing", &["plumbing", "heating"], &[]).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    // Submitting without a choice shows the form again, with the message next to the field.
    let response = client
        .post_form(&format!("/tickets/{ticket}/nominate"), &[("nominee", "")])
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("Choose a company or a staff member."));
    let zed = page
        .find("Zed Plumbing (covers plumbing)")
        .expect("covering company labelled");
    let alpha = page.find("Alpha Electrics").expect("other company listed");
    assert!(zed < alpha, "companies covering plumbing come first");
    assert!(page.contains("Companies covering plumbing"));
    assert!(page.contains("Ada Admin"), "staff can be chosen too");
    assert_eq!(app.count("SELECT count(*) FROM nominations").await, 0);
}

#[tokio::test]
async fn nominating_another_tenants_ticket_is_not_found_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let ticket = create_ticket(&app, &acme).await;
    let acme_plumbers = company(
        &app,
        &acme,
        "Pipe Dreams Ltd",
        &["plumbing"],
        &["jobs@pipedreams.test"],
    )
    .await;
    let globex_plumbers = company(
        &app,
        &globex,
        "Globex Plumbing",
        &["plumbing"],
        &["jobs@globex.test"],
    )
    .await;
    let intruder = app.sign_in_admin(&globex.admin).await;

    for nominee in [
        format!("company:{acme_plumbers}"),
        format!("company:{globex_plumbers}"),
    ] {
        let response = intruder
            .post_form(
                &format!("/tickets/{ticket}/nominate"),
                &[("nominee", &nominee)],
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }
    // A subcontractor of acme's own, not nominated: not found either.
    let sub = app
        .create_user(&acme, Role::Subcontractor, Some(acme_plumbers), false)
        .await;
    let sub_client = app.sign_in(&sub).await;
    let response = sub_client
        .post_form(
            &format!("/tickets/{ticket}/nominate"),
            &[("nominee", &format!("company:{acme_plumbers}"))],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    assert_eq!(app.count(&format!("SELECT count(*) FROM tickets WHERE id = '{ticket}' AND status = 'open' AND nominated_company_id IS NULL")).await, 1);
    assert_eq!(app.count("SELECT count(*) FROM nominations").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM outbox_emails").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM jobs").await, 0);
}

#[tokio::test]
async fn a_company_from_another_tenant_cannot_be_nominated() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let ticket = create_ticket(&app, &acme).await;
    let globex_plumbers = company(
        &app,
        &globex,
        "Globex Plumbing",
        &["plumbing"],
        &["jobs@globex.test"],
    )
    .await;
    let admin = app.sign_in_admin(&acme.admin).await;

    let response = admin
        .post_form(
            &format!("/tickets/{ticket}/nominate"),
            &[("nominee", &format!("company:{globex_plumbers}"))],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Choose someone from the list.")
    );
    assert_eq!(app.count("SELECT count(*) FROM nominations").await, 0);
}
