//! The subcontractor portal as its users meet it: My jobs grouped by due date,
//! accepting and declining, appointments, marking work complete, the staff
//! sign-off (close or send back), and the company summary.

use plotcare::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{TestApp, TestClient, TestTenant, TestUser};

/// A plot on a new scheme and contract, made with SQL. Returns the plot id.
pub(crate) async fn plot(
    app: &TestApp,
    tenant: &TestTenant,
    address: &str,
    postcode: &str,
    access_notes: &str,
) -> Uuid {
    let n = Uuid::new_v4().simple().to_string();
    let scheme = app
        .create_scheme(tenant, &format!("Meadow View {}", &n[..6]))
        .await;
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
        "INSERT INTO plots (tenant_id, id, scheme_id, contract_id, plot_number, address_line1, town, postcode, access_notes)
         VALUES ($1, $2, $3, $4, '12', $5, 'Leeds', $6, $7)",
    )
    .bind(tenant.id)
    .bind(plot)
    .bind(scheme)
    .bind(contract)
    .bind(address)
    .bind(postcode)
    .bind(access_notes)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    plot
}

/// A current homeowner of the plot with a phone, an email and notes.
pub(crate) async fn homeowner(
    app: &TestApp,
    tenant: &TestTenant,
    plot: Uuid,
    name: &str,
    phone: &str,
    email: &str,
    notes: &str,
) -> Uuid {
    let contact = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO contacts (tenant_id, id, kind, name, phones, emails, notes)
         VALUES ($1, $2, 'homeowner', $3, ARRAY[$4], ARRAY[$5], $6)",
    )
    .bind(tenant.id)
    .bind(contact)
    .bind(name)
    .bind(phone)
    .bind(email)
    .bind(notes)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO plot_homeowners (tenant_id, id, plot_id, contact_id, from_date) VALUES ($1, $2, $3, $4, current_date - 30)")
        .bind(tenant.id)
        .bind(Uuid::now_v7())
        .bind(plot)
        .bind(contact)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    contact
}

/// An open ticket on the plot, made with SQL, due `due_in_hours` from now (None: no deadline).
pub(crate) async fn ticket(
    app: &TestApp,
    tenant: &TestTenant,
    plot: Uuid,
    title: &str,
    due_in_hours: Option<f64>,
) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO tickets (tenant_id, id, number, plot_id, scheme_id, contract_id, title, description, category, reported_via,
                              reported_at, priority, internal_cost, due_at)
         SELECT $1, $2, (SELECT coalesce(max(number), 0) + 1 FROM tickets WHERE tenant_id = $1), p.id, p.scheme_id, p.contract_id,
                $4, 'Water drips from the mixer tap', 'plumbing', 'phone', now() - interval '1 day', 'high', 98765.43,
                now() + make_interval(secs => $5 * 3600)
           FROM plots p WHERE p.tenant_id = $1 AND p.id = $3",
    )
    .bind(tenant.id)
    .bind(id)
    .bind(plot)
    .bind(title)
    .bind(due_in_hours)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    id
}

/// Nominates the ticket to the company through the staff route.
pub(crate) async fn nominate(staff: &TestClient, ticket: Uuid, company: Uuid) {
    let response = staff
        .post_form(
            &format!("/tickets/{ticket}/nominate"),
            &[("nominee", &format!("company:{company}"))],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "nominating failed"
    );
}

pub(crate) async fn status_of(app: &TestApp, ticket: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM tickets WHERE id = $1")
        .bind(ticket)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

/// A tenant with a staff user, a company with one subcontractor, and a nominated ticket.
pub(crate) struct Job {
    pub tenant: TestTenant,
    pub staff_user: TestUser,
    pub staff: TestClient,
    pub company: Uuid,
    pub sub: TestClient,
    pub ticket: Uuid,
}

pub(crate) async fn nominated_job(app: &TestApp) -> Job {
    let tenant = app.create_tenant("acme").await;
    let company = app.create_company(&tenant, "Pipe Dreams Ltd").await;
    let staff_user = app.create_user(&tenant, Role::Staff, None, false).await;
    let staff = app.sign_in(&staff_user).await;
    let plot = plot(
        app,
        &tenant,
        "4 Brook Lane",
        "LS1 4AB",
        "Key safe by the back door, code 1234",
    )
    .await;
    homeowner(
        app,
        &tenant,
        plot,
        "Hannah Homeowner",
        "07700 900123",
        "hannah@example.com",
        "Prefers mornings",
    )
    .await;
    let ticket = ticket(app, &tenant, plot, "Dripping kitchen tap", Some(48.0)).await;
    nominate(&staff, ticket, company).await;
    let sub = app
        .sign_in(
            &app.create_user(&tenant, Role::Subcontractor, Some(company), false)
                .await,
        )
        .await;
    Job {
        tenant,
        staff_user,
        staff,
        company,
        sub,
        ticket,
    }
}

async fn outbox_to(app: &TestApp, address: &str) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT subject, body_text FROM outbox_emails WHERE to_address = $1 ORDER BY created_at",
    )
    .bind(address)
    .fetch_all(&app.admin_pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_subcontractor_lands_on_my_jobs_grouped_by_due_date_overdue_first() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let pipes = app.create_company(&acme, "Pipe Dreams Ltd").await;
    let rivals = app.create_company(&acme, "Rival Plumbing").await;
    let plot = plot(
        &app,
        &acme,
        "4 Brook Lane",
        "LS1 4AB",
        "Key safe by the back door",
    )
    .await;
    homeowner(
        &app,
        &acme,
        plot,
        "Hannah Homeowner",
        "07700 900123",
        "hannah@example.com",
        "Prefers mornings",
    )
    .await;
    let mut ids = Vec::new();
    for (title, due) in [
        ("Job later", Some(24.0 * 20.0)),
        ("Job no deadline", None),
        ("Job overdue", Some(-2.0)),
        ("Job this week", Some(24.0 * 3.0)),
        ("Job due today", Some(0.1)),
    ] {
        let id = ticket(&app, &acme, plot, title, due).await;
        ids.push(id);
    }
    let closed = ticket(&app, &acme, plot, "Job already closed", Some(1.0)).await;
    let theirs = ticket(&app, &acme, plot, "Rival job", Some(1.0)).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    for id in ids.iter().chain([&closed]) {
        nominate(&staff, *id, pipes).await;
    }
    nominate(&staff, theirs, rivals).await;
    sqlx::query("UPDATE tickets SET status = 'closed', resolution = 'Done' WHERE id = $1")
        .bind(closed)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let sub = app
        .create_user(&acme, Role::Subcontractor, Some(pipes), false)
        .await;

    // Act
    let client = app.sign_in(&sub).await;
    let home = client.get("/").await;
    let (status, page) = client.page("/jobs").await;

    // Assert
    assert_eq!(home.status(), StatusCode::SEE_OTHER);
    assert_eq!(home.headers()["location"], "/jobs");
    assert_eq!(status, StatusCode::OK);
    let order: Vec<usize> = [
        "Job overdue",
        "Job due today",
        "Job this week",
        "Job later",
        "Job no deadline",
    ]
    .iter()
    .map(|t| page.find(t).unwrap_or_else(|| panic!("{t} is listed")))
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "grouped overdue first: {order:?}"
    );
    for group in [
        "Overdue",
        "Due today",
        "Due this week",
        "Later",
        "No deadline",
    ] {
        assert!(page.contains(&format!("{group} <span")), "group {group}");
    }
    assert!(page.contains("T-00001"));
    assert!(page.contains("4 Brook Lane") && page.contains("LS1 4AB"));
    assert!(page.contains("Key safe by the back door"));
    assert!(page.contains("Hannah Homeowner"));
    assert!(page.contains("href=\"tel:07700900123\""));
    assert!(page.contains("Awaiting your answer"));
    assert!(!page.contains("hannah@example.com"), "no homeowner email");
    assert!(!page.contains("Prefers mornings"), "no homeowner notes");
    assert!(!page.contains("98765.43"), "no internal cost");
    assert!(!page.contains("Job already closed"));
    assert!(!page.contains("Rival job"));
    assert!(
        page.contains("href=\"/jobs\">My jobs</a>"),
        "navigation has My jobs"
    );
    assert!(
        !page.contains("href=\"/jobs/summary\""),
        "only company admins see Our work"
    );
}

#[tokio::test]
async fn declining_needs_a_reason_and_hands_the_ticket_back_to_customer_care() {
    // Arrange
    let app = TestApp::spawn().await;
    let job = nominated_job(&app).await;
    let path = format!("/jobs/{}", job.ticket);

    // Act: no reason first.
    let refused = job
        .sub
        .post_form(&format!("{path}/decline"), &[("reason", "  ")])
        .await;
    let refused_status = refused.status();
    let refused_body = refused.text().await.unwrap();
    let declined = job
        .sub
        .post_form(
            &format!("{path}/decline"),
            &[("reason", "We do not cover Leeds any more")],
        )
        .await;

    // Assert
    assert_eq!(refused_status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused_body.contains("Say why you are declining this job."));
    assert_eq!(declined.status(), StatusCode::SEE_OTHER);
    assert_eq!(declined.headers()["location"], "/jobs");
    assert_eq!(status_of(&app, job.ticket).await, "open");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM tickets WHERE id = '{}' AND nominated_company_id IS NULL",
            job.ticket
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM nominations WHERE response = 'declined' AND decline_reason = 'We do not cover Leeds any more' AND ended_at IS NOT NULL AND responded_at IS NOT NULL").await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM ticket_events WHERE kind = 'nomination_declined'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'nomination.declined'")
            .await,
        1
    );
    let emails = outbox_to(&app, &job.staff_user.email).await;
    assert_eq!(emails.len(), 1, "one email to the nominating user");
    assert!(emails[0].0.contains("declined by Pipe Dreams Ltd"));
    assert!(emails[0].1.contains("We do not cover Leeds any more"));
    // The job has left the subcontractor's hands.
    assert_eq!(job.sub.page(&path).await.0, StatusCode::NOT_FOUND);
    assert!(
        !job.sub
            .page("/jobs")
            .await
            .1
            .contains("Dripping kitchen tap")
    );
    // Customer care sees what happened on the ticket.
    let (_, ticket_page) = job.staff.page(&format!("/tickets/{}", job.ticket)).await;
    assert!(ticket_page.contains("Declined by Pipe Dreams Ltd"));
    assert!(ticket_page.contains("Reason: We do not cover Leeds any more"));
}

#[tokio::test]
async fn accepting_is_recorded_once_and_staff_cannot_answer_for_the_company() {
    let app = TestApp::spawn().await;
    let job = nominated_job(&app).await;
    let path = format!("/jobs/{}", job.ticket);

    let (_, before) = job.sub.page(&path).await;
    let accepted = job.sub.post_form(&format!("{path}/accept"), &[]).await;
    let again = job.sub.post_form(&format!("{path}/accept"), &[]).await;
    let by_staff = job.staff.post_form(&format!("{path}/accept"), &[]).await;
    let (_, after) = job.sub.page(&path).await;

    assert!(before.contains("Accept job"));
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(by_staff.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT count(*) FROM nominations WHERE response = 'accepted' AND responded_at IS NOT NULL").await, 1);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM ticket_events WHERE kind = 'nomination_accepted' AND shared"
        )
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'nomination.accepted'")
            .await,
        1
    );
    assert!(!after.contains("Accept job"));
    assert!(after.contains("Accepted by Pipe Dreams Ltd"));
    assert!(after.contains("Mark work complete"));
}

async fn book(client: &TestClient, ticket: Uuid, start: &str) -> reqwest::Response {
    client
        .post_form(
            &format!("/tickets/{ticket}/appointments"),
            &[
                ("day", "2030-06-03"),
                ("window_start", start),
                ("window_end", "12:00"),
                ("with_whom", "Hannah"),
            ],
        )
        .await
}

#[tokio::test]
async fn the_nominated_subcontractor_books_and_records_appointments() {
    // Arrange
    let app = TestApp::spawn().await;
    let job = nominated_job(&app).await;
    job.sub
        .post_form(&format!("/jobs/{}/accept", job.ticket), &[])
        .await;
    let outsider_company = app.create_company(&job.tenant, "Other Trades Ltd").await;
    let outsider = app
        .sign_in(
            &app.create_user(
                &job.tenant,
                Role::Subcontractor,
                Some(outsider_company),
                false,
            )
            .await,
        )
        .await;
    // Act
    let (_, page) = job.sub.page(&format!("/jobs/{}", job.ticket)).await;
    let booked = book(&job.sub, job.ticket, "08:00").await;
    let refused = book(&outsider, job.ticket, "09:00").await;
    let id: Uuid = sqlx::query_scalar("SELECT id FROM appointments")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let changed = job
        .sub
        .post_form(
            &format!("/tickets/{}/appointments/{id}", job.ticket),
            &[
                ("day", "2030-06-04"),
                ("window_start", "10:00"),
                ("window_end", "12:00"),
                ("with_whom", "Hannah"),
            ],
        )
        .await;
    let no_access = job
        .sub
        .post_form(
            &format!("/tickets/{}/appointments/{id}/no-access", job.ticket),
            &[],
        )
        .await;
    let (_, after) = job.sub.page(&format!("/tickets/{}", job.ticket)).await;

    // Assert
    assert!(
        page.contains("Book an appointment"),
        "the job page offers booking"
    );
    assert_eq!(booked.status(), StatusCode::SEE_OTHER);
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(no_access.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM appointments WHERE day = '2030-06-04' AND window_start = '10:00' AND status = 'no_access'").await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM ticket_events WHERE kind LIKE 'appointment_%' AND shared")
            .await,
        3
    );
    assert!(
        !after.contains("Set ticket to Abortive Visit"),
        "only staff set a ticket abortive"
    );
    assert!(after.contains("No access at the appointment"));
    // Staff see on the ticket who did it.
    let (_, ticket_page) = job.staff.page(&format!("/tickets/{}", job.ticket)).await;
    assert!(ticket_page.contains("No access at the appointment"));
}

#[tokio::test]
async fn marking_work_complete_waits_for_sign_off_and_staff_close_or_send_it_back() {
    // Arrange
    let app = TestApp::spawn().await;
    let job = nominated_job(&app).await;
    let path = format!("/jobs/{}", job.ticket);
    let ticket_path = format!("/tickets/{}", job.ticket);

    // Not before accepting, and not without a note.
    let early = job
        .sub
        .post_form(
            &format!("{path}/complete"),
            &[("note", "Replaced the cartridge")],
        )
        .await;
    assert_eq!(early.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        early
            .text()
            .await
            .unwrap()
            .contains("Accept the job before marking it complete.")
    );
    job.sub.post_form(&format!("{path}/accept"), &[]).await;
    let blank = job
        .sub
        .post_form(&format!("{path}/complete"), &[("note", "")])
        .await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(status_of(&app, job.ticket).await, "in_progress");

    // Act: complete.
    let done = job
        .sub
        .post_form(
            &format!("{path}/complete"),
            &[("note", "Replaced the cartridge and tested")],
        )
        .await;

    // Assert
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, job.ticket).await, "completed");
    assert_eq!(
        app.count("SELECT count(*) FROM ticket_events WHERE kind = 'work_completed' AND shared")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.work_completed'")
            .await,
        1
    );
    let emails = outbox_to(&app, &job.staff_user.email).await;
    assert_eq!(emails.len(), 1, "one email to the nominating user");
    assert!(emails[0].0.contains("ready for sign-off"));
    assert!(emails[0].1.contains("Replaced the cartridge and tested"));
    assert_eq!(app.count("SELECT count(*) FROM outbox_emails").await, 1);
    let (_, job_page) = job.sub.page(&path).await;
    assert!(job_page.contains("Completed – awaiting sign-off"));
    assert!(!job_page.contains("id=\"mark-complete\""));

    // Staff: the ticket offers sign-off; the form starts from the subcontractor's note.
    let (_, ticket_page) = job.staff.page(&ticket_path).await;
    assert!(ticket_page.contains("Confirm and close, or send back"));
    assert!(ticket_page.contains("Work marked complete by Pipe Dreams Ltd"));
    assert!(ticket_page.contains("Accepted by Pipe Dreams Ltd"));
    let (status, sign_off) = job.staff.page(&format!("{ticket_path}/sign-off")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(sign_off.contains(">Replaced the cartridge and tested</textarea>"));
    assert_eq!(
        job.sub.page(&format!("{ticket_path}/sign-off")).await.0,
        StatusCode::NOT_FOUND
    );

    // Send back needs a reason.
    let blank = job
        .staff
        .post_form(&format!("{ticket_path}/send-back"), &[("reason", "")])
        .await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let back = job
        .staff
        .post_form(
            &format!("{ticket_path}/send-back"),
            &[("reason", "The tap still drips")],
        )
        .await;
    assert_eq!(back.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, job.ticket).await, "in_progress");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.sent_back'")
            .await,
        1
    );
    let (_, job_page) = job.sub.page(&path).await;
    assert!(job_page.contains("Sent back: The tap still drips"));

    // Completed again, then confirmed and closed with the note as the resolution.
    job.sub
        .post_form(&format!("{path}/complete"), &[("note", "Fitted a new tap")])
        .await;
    assert_eq!(status_of(&app, job.ticket).await, "completed");
    let blank = job
        .staff
        .post_form(&format!("{ticket_path}/sign-off"), &[("resolution", " ")])
        .await;
    assert_eq!(blank.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let closed = job
        .staff
        .post_form(
            &format!("{ticket_path}/sign-off"),
            &[("resolution", "Fitted a new tap")],
        )
        .await;
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, job.ticket).await, "closed");
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM tickets WHERE id = '{}' AND resolution = 'Fitted a new tap' AND closed_at IS NOT NULL", job.ticket)).await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.signed_off'")
            .await,
        1
    );
    let (_, job_page) = job.sub.page(&path).await;
    assert!(job_page.contains(">Closed</span>"));
    assert!(
        !job.sub
            .page("/jobs")
            .await
            .1
            .contains("Dripping kitchen tap"),
        "closed jobs leave My jobs"
    );
}

#[tokio::test]
async fn without_the_nominating_user_the_completion_email_goes_to_the_admins() {
    let app = TestApp::spawn().await;
    let job = nominated_job(&app).await;
    job.sub
        .post_form(&format!("/jobs/{}/accept", job.ticket), &[])
        .await;
    sqlx::query("UPDATE users SET disabled_at = now() WHERE id = $1")
        .bind(job.staff_user.id)
        .execute(&app.admin_pool)
        .await
        .unwrap();

    job.sub
        .post_form(
            &format!("/jobs/{}/complete", job.ticket),
            &[("note", "All done")],
        )
        .await;

    assert_eq!(status_of(&app, job.ticket).await, "completed");
    assert_eq!(outbox_to(&app, &job.tenant.admin.email).await.len(), 1);
}

/// A ticket of a company at a known point: nominated some days ago, then
/// perhaps marked complete and closed.
struct Past {
    status: &'static str,
    due_in_hours: f64,
    nominated_days_ago: f64,
    completed_days_ago: Option<f64>,
    closed_days_ago: Option<f64>,
}

async fn history(app: &TestApp, tenant: &TestTenant, plot: Uuid, company: Uuid, past: Past) {
    let Past {
        status,
        due_in_hours,
        nominated_days_ago,
        completed_days_ago,
        closed_days_ago,
    } = past;
    let id = ticket(app, tenant, plot, "History", Some(due_in_hours)).await;
    sqlx::query(
        "UPDATE tickets SET nominated_company_id = $2, status = $3,
                resolution = CASE WHEN $3 = 'closed' THEN 'Done' END,
                abortive_reason = CASE WHEN $3 = 'abortive_visit' THEN 'no_access' END,
                on_hold_since = CASE WHEN $3 = 'on_hold' THEN now() END,
                closed_at = now() - make_interval(secs => $4 * 86400)
          WHERE id = $1",
    )
    .bind(id)
    .bind(company)
    .bind(status)
    .bind(closed_days_ago)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO nominations (tenant_id, id, ticket_id, company_id, nominated_at, response)
         VALUES ($1, $2, $3, $4, now() - make_interval(secs => $5 * 86400), 'accepted')",
    )
    .bind(tenant.id)
    .bind(Uuid::now_v7())
    .bind(id)
    .bind(company)
    .bind(nominated_days_ago)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    if let Some(days) = completed_days_ago {
        sqlx::query(
            "INSERT INTO ticket_events (tenant_id, id, ticket_id, kind, shared, data, occurred_at)
             VALUES ($1, $2, $3, 'work_completed', true, jsonb_build_object('company_id', $4::text), now() - make_interval(secs => $5 * 86400))",
        )
        .bind(tenant.id)
        .bind(Uuid::now_v7())
        .bind(id)
        .bind(company.to_string())
        .bind(days)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn company_admins_see_open_overdue_and_average_days_to_complete() {
    // Arrange: a known history.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let pipes = app.create_company(&acme, "Pipe Dreams Ltd").await;
    let rivals = app.create_company(&acme, "Rival Plumbing").await;
    let plot = plot(&app, &acme, "4 Brook Lane", "LS1 4AB", "").await;
    // Completed in 4 days (closed since), 2 days (awaiting sign-off), 6 days (closed by staff, no report).
    history(
        &app,
        &acme,
        plot,
        pipes,
        Past {
            status: "closed",
            due_in_hours: -100.0,
            nominated_days_ago: 10.0,
            completed_days_ago: Some(6.0),
            closed_days_ago: Some(1.0),
        },
    )
    .await;
    history(
        &app,
        &acme,
        plot,
        pipes,
        Past {
            status: "completed",
            due_in_hours: -100.0,
            nominated_days_ago: 5.0,
            completed_days_ago: Some(3.0),
            closed_days_ago: None,
        },
    )
    .await;
    history(
        &app,
        &acme,
        plot,
        pipes,
        Past {
            status: "closed",
            due_in_hours: -100.0,
            nominated_days_ago: 8.0,
            completed_days_ago: None,
            closed_days_ago: Some(2.0),
        },
    )
    .await;
    // Completed too long ago to count.
    history(
        &app,
        &acme,
        plot,
        pipes,
        Past {
            status: "closed",
            due_in_hours: -5000.0,
            nominated_days_ago: 200.0,
            completed_days_ago: Some(100.0),
            closed_days_ago: Some(99.0),
        },
    )
    .await;
    // Open: one overdue, one on time, one on hold past due (paused, not overdue).
    history(
        &app,
        &acme,
        plot,
        pipes,
        Past {
            status: "in_progress",
            due_in_hours: -5.0,
            nominated_days_ago: 3.0,
            completed_days_ago: None,
            closed_days_ago: None,
        },
    )
    .await;
    history(
        &app,
        &acme,
        plot,
        pipes,
        Past {
            status: "in_progress",
            due_in_hours: 50.0,
            nominated_days_ago: 1.0,
            completed_days_ago: None,
            closed_days_ago: None,
        },
    )
    .await;
    history(
        &app,
        &acme,
        plot,
        pipes,
        Past {
            status: "on_hold",
            due_in_hours: -5.0,
            nominated_days_ago: 3.0,
            completed_days_ago: None,
            closed_days_ago: None,
        },
    )
    .await;
    history(
        &app,
        &acme,
        plot,
        pipes,
        Past {
            status: "abortive_visit",
            due_in_hours: -5.0,
            nominated_days_ago: 3.0,
            completed_days_ago: None,
            closed_days_ago: None,
        },
    )
    .await;
    // Another company's work counts for nobody here.
    history(
        &app,
        &acme,
        plot,
        rivals,
        Past {
            status: "in_progress",
            due_in_hours: -5.0,
            nominated_days_ago: 3.0,
            completed_days_ago: None,
            closed_days_ago: None,
        },
    )
    .await;
    history(
        &app,
        &acme,
        plot,
        rivals,
        Past {
            status: "closed",
            due_in_hours: -5.0,
            nominated_days_ago: 30.0,
            completed_days_ago: Some(1.0),
            closed_days_ago: Some(1.0),
        },
    )
    .await;
    let admin = app
        .sign_in(
            &app.create_user(&acme, Role::Subcontractor, Some(pipes), true)
                .await,
        )
        .await;
    let worker = app
        .sign_in(
            &app.create_user(&acme, Role::Subcontractor, Some(pipes), false)
                .await,
        )
        .await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;

    // Act
    let (status, page) = admin.page("/jobs/summary").await;

    // Assert: open = completed + 2 in progress + on hold; average (4 + 2 + 6) / 3.
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("id=\"open-jobs\">4<"), "{page}");
    assert!(page.contains("id=\"awaiting-sign-off\">1<"));
    assert!(page.contains("id=\"overdue-jobs\">1<"));
    assert!(page.contains("id=\"completed-recently\">3<"));
    assert!(page.contains("id=\"average-days\">4.0 days<"));
    assert!(page.contains("href=\"/jobs/summary\">Our work</a>"));
    assert_eq!(worker.page("/jobs/summary").await.0, StatusCode::FORBIDDEN);
    assert_eq!(staff.page("/jobs/summary").await.0, StatusCode::FORBIDDEN);
    assert_eq!(staff.page("/jobs").await.0, StatusCode::FORBIDDEN);
}
