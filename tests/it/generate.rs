//! Generated data: `plotcare generate` for performance work, and the demo.

use plotcare::generate;
use reqwest::StatusCode;

use crate::common::TestApp;

#[tokio::test]
async fn a_small_run_creates_the_rows_and_its_printed_sign_ins_work() {
    let app = TestApp::spawn().await;

    let report = generate::run(&app.pool, 2, 50, 0).await.unwrap();

    assert_eq!(report.tenants.len(), 2);
    assert_eq!(
        app.count("SELECT count(*) FROM tenants WHERE slug LIKE 'gen-%'")
            .await,
        2
    );
    assert_eq!(app.count("SELECT count(*) FROM plots").await, 100);
    assert_eq!(app.count("SELECT count(DISTINCT tenant_id) FROM contracts WHERE contract_type = 'affordable' AND defects_period_months = 12").await, 2);
    let handed_over = app
        .count("SELECT count(*) FROM plots WHERE completion_date IS NOT NULL")
        .await;
    assert!(handed_over > 0);
    assert_eq!(
        app.count("SELECT count(*) FROM plot_homeowners").await,
        handed_over,
        "a homeowner for every plot handed over"
    );
    assert_eq!(app.count("SELECT count(*) FROM contacts WHERE kind = 'subcontractor_company' AND cardinality(trades) > 0").await, 18);
    assert_eq!(
        app.count("SELECT count(*) FROM users").await,
        6,
        "an admin, a staff user and a subcontractor each"
    );

    let first = &report.tenants[0];
    let staff = app.client();
    let response = staff
        .sign_in(&first.staff_email, generate::STAFF_PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, body) = staff.page("/contacts?trade=plumbing").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Brightwater Plumbing Ltd"), "{body}");
    let subcontractor = app
        .client()
        .sign_in(&first.subcontractor_email, generate::SUBCONTRACTOR_PASSWORD)
        .await;
    assert_eq!(subcontractor.status(), StatusCode::SEE_OTHER);
    let admin = app
        .client()
        .sign_in(&first.admin_email, generate::ADMIN_PASSWORD)
        .await;
    assert_eq!(
        admin.headers()["location"],
        "/account/mfa",
        "the admin sets up two-factor first"
    );

    // Running it again leaves the tenants as they are.
    let again = generate::run(&app.pool, 2, 50, 0).await.unwrap();
    assert!(again.tenants.iter().all(|t| !t.created));
    assert_eq!(app.count("SELECT count(*) FROM plots").await, 100);
}

#[tokio::test]
async fn the_demo_has_several_schemes_a_few_hundred_plots_and_loads_once() {
    let app = TestApp::spawn().await;

    plotcare::demo::load(&app.pool).await.unwrap();
    plotcare::demo::load(&app.pool).await.unwrap();

    assert_eq!(app.count("SELECT count(*) FROM schemes").await, 4);
    let plots = app.count("SELECT count(*) FROM plots").await;
    assert!((300..=400).contains(&plots), "{plots}");
    assert_eq!(app.count("SELECT count(*) FROM contracts c JOIN contacts k ON k.id = c.client_contact_id WHERE c.contract_type = 'affordable' AND c.defects_period_months = 12 AND k.kind = 'client'").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM contacts WHERE kind = 'subcontractor_company' AND cardinality(trades) > 0").await, 9);
    assert_eq!(
        app.count("SELECT count(*) FROM plot_homeowners").await,
        app.count("SELECT count(*) FROM plots WHERE completion_date IS NOT NULL")
            .await
    );
    assert_eq!(app.count("SELECT count(*) FROM plots WHERE postcode !~ '^[A-Z]{1,2}[0-9]{1,2}[A-Z]? [0-9][A-Z]{2}$'").await, 0);

    let care = &plotcare::demo::LOGINS[1];
    let client = app.client();
    assert_eq!(
        client.sign_in(care.email, care.password).await.status(),
        StatusCode::SEE_OTHER
    );
    let (_, body) = client.page("/contacts?q=northway").await;
    assert!(body.contains("Northway Electrical Ltd"));
}

#[tokio::test]
async fn generate_with_tickets_loads_tickets_with_shared_and_internal_commentary() {
    let app = TestApp::spawn().await;
    generate::run(&app.pool, 2, 40, 30).await.unwrap();
    assert_eq!(app.count("SELECT count(*) FROM tickets").await, 60);
    assert_eq!(
        app.count("SELECT count(*) FROM ticket_comments WHERE visibility = 'shared'")
            .await,
        60
    );
    assert_eq!(
        app.count("SELECT count(*) FROM ticket_comments WHERE visibility = 'internal'")
            .await,
        60
    );
    // Each tenant numbers its own tickets from T-00001.
    assert_eq!(
        app.count("SELECT count(DISTINCT tenant_id) FROM tickets WHERE number = 1")
            .await,
        2
    );
}

#[tokio::test]
async fn the_demo_has_hundreds_of_tickets_with_their_history_comments_appointments_and_photos() {
    let app = TestApp::spawn().await;
    plotcare::demo::load_with_photos(&app.pool, Some(&app.state.media))
        .await
        .unwrap();
    assert_eq!(
        app.count("SELECT count(*) FROM tickets").await,
        plotcare::demo::DEMO_TICKETS as i64
    );
    assert_eq!(
        app.count("SELECT count(DISTINCT status) FROM tickets")
            .await,
        6,
        "every state"
    );
    assert!(app.count("SELECT count(*) FROM ticket_comments").await >= 800);
    assert!(app.count("SELECT count(*) FROM appointments").await > 100);
    // Made through the ticket service: every nominated ticket has its nomination, every
    // comment and photo its timeline entry, every ticket its audit record.
    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets t WHERE (t.nominated_company_id IS NOT NULL OR t.nominated_user_id IS NOT NULL)
                AND NOT EXISTS (SELECT 1 FROM nominations n WHERE n.tenant_id = t.tenant_id AND n.ticket_id = t.id AND n.ended_at IS NULL)"
        )
        .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM ticket_comments").await,
        app.count("SELECT count(*) FROM ticket_events WHERE kind = 'comment_added'")
            .await
    );
    assert_eq!(
        app.count("SELECT count(*) FROM media_files").await,
        app.count("SELECT count(*) FROM ticket_events WHERE kind = 'file_added'")
            .await
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.created'")
            .await,
        plotcare::demo::DEMO_TICKETS as i64
    );
    assert_eq!(
        app.count("SELECT count(*) FROM media_files WHERE thumbnail_key IS NOT NULL")
            .await,
        6
    );
    assert!(app.count("SELECT count(*) FROM inspections").await > 0);
    // The photos are really in the media store.
    let key: String = sqlx::query_scalar("SELECT storage_key FROM media_files LIMIT 1")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let stored = app.media_dir.path().join(key);
    assert!(std::fs::metadata(stored).unwrap().len() > 1000);
}
