//! Ticket commentary as users meet it: internal comments stay with staff,
//! shared ones reach the nominated subcontractor; edits keep their history;
//! only admins delete.

use plotcare::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{TestApp, TestClient, TestTenant};

/// A ticket on a new scheme, contract and plot of the tenant, made with SQL
/// (nominated to `company` when given). Returns the ticket id.
pub(crate) async fn create_ticket(
    app: &TestApp,
    tenant: &TestTenant,
    company: Option<Uuid>,
) -> Uuid {
    let n = Uuid::new_v4().simple().to_string();
    let scheme = app
        .create_scheme(tenant, &format!("Meadow View {}", &n[..6]))
        .await;
    let (contract, plot, ticket) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let db = &app.admin_pool;
    sqlx::query(
        "INSERT INTO contracts (tenant_id, id, scheme_id, name) VALUES ($1, $2, $3, 'Phase 1')",
    )
    .bind(tenant.id)
    .bind(contract)
    .bind(scheme)
    .execute(db)
    .await
    .unwrap();
    sqlx::query("INSERT INTO plots (tenant_id, id, scheme_id, contract_id, plot_number) VALUES ($1, $2, $3, $4, '12')")
        .bind(tenant.id)
        .bind(plot)
        .bind(scheme)
        .bind(contract)
        .execute(db)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO tickets (tenant_id, id, number, plot_id, scheme_id, contract_id, title, category, reported_via,
                              reported_at, priority, nominated_company_id, status)
         VALUES ($1, $2, (SELECT coalesce(max(number), 0) + 1 FROM tickets WHERE tenant_id = $1), $3, $4, $5,
                 'Dripping kitchen tap', 'plumbing', 'phone', now(), 'medium', $6::uuid,
                 CASE WHEN $6::uuid IS NULL THEN 'open' ELSE 'in_progress' END)",
    )
    .bind(tenant.id)
    .bind(ticket)
    .bind(plot)
    .bind(scheme)
    .bind(contract)
    .bind(company)
    .execute(db)
    .await
    .unwrap();
    // Keep the tenant's counter in step, as logging a ticket does.
    sqlx::query(
        "INSERT INTO ticket_counters (tenant_id, last_number)
         SELECT $1, max(number) FROM tickets WHERE tenant_id = $1
         ON CONFLICT (tenant_id) DO UPDATE SET last_number = EXCLUDED.last_number",
    )
    .bind(tenant.id)
    .execute(db)
    .await
    .unwrap();
    ticket
}

/// Posts a comment; returns the new comment's id (the newest of the ticket).
pub(crate) async fn add_comment(
    app: &TestApp,
    client: &TestClient,
    ticket: Uuid,
    body: &str,
    visibility: &str,
) -> Uuid {
    let response = client
        .post_form(
            &format!("/tickets/{ticket}/comments"),
            &[("body", body), ("visibility", visibility)],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "adding a comment failed"
    );
    sqlx::query_scalar("SELECT id FROM ticket_comments WHERE ticket_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1")
        .bind(ticket)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_subcontractor_sees_shared_comments_but_never_internal_ones() {
    // Arrange: a ticket nominated to Pipes Ltd, with one internal and one shared comment.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let pipes = app.create_company(&acme, "Pipes Ltd").await;
    let other = app.create_company(&acme, "Other Trades Ltd").await;
    let ticket = create_ticket(&app, &acme, Some(pipes)).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    add_comment(
        &app,
        &staff,
        ticket,
        "Homeowner is upset; cost agreed at 400 pounds",
        "internal",
    )
    .await;
    add_comment(
        &app,
        &staff,
        ticket,
        "Please bring a replacement cartridge",
        "shared",
    )
    .await;

    // Act: the subcontractor opens the comments and tries to post an internal one.
    let sub = app
        .sign_in(
            &app.create_user(&acme, Role::Subcontractor, Some(pipes), false)
                .await,
        )
        .await;
    let (status, body) = sub.page(&format!("/tickets/{ticket}/comments")).await;
    add_comment(&app, &sub, ticket, "Booked in for Tuesday", "internal").await;

    // Assert: shared only, and their own comment was stored as shared.
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Please bring a replacement cartridge"));
    assert!(
        !body.contains("cost agreed"),
        "an internal comment reached a subcontractor"
    );
    assert!(
        !body.contains("Internal: our team only"),
        "subcontractors get no visibility choice"
    );
    assert_eq!(app.count(&format!("SELECT count(*) FROM ticket_comments WHERE ticket_id = '{ticket}' AND visibility = 'shared'")).await, 2);
    let (_, body) = sub.page(&format!("/tickets/{ticket}/comments")).await;
    assert!(body.contains("Booked in for Tuesday"));
    assert!(!body.contains("cost agreed"));

    // The ticket page itself shows the same.
    let (status, ticket_page) = sub.page(&format!("/tickets/{ticket}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ticket_page.contains("Please bring a replacement cartridge"));
    assert!(!ticket_page.contains("cost agreed"));

    // Staff see everything, each marked.
    let (_, staff_body) = staff.page(&format!("/tickets/{ticket}/comments")).await;
    assert!(staff_body.contains("cost agreed") && staff_body.contains("Booked in for Tuesday"));
    assert!(staff_body.contains(">Internal<") && staff_body.contains(">Shared<"));
    let first = staff_body.find("cost agreed").unwrap();
    let last = staff_body.find("Booked in for Tuesday").unwrap();
    assert!(first < last, "comments are listed oldest first");

    // The timeline shares shared comments only.
    assert_eq!(app.count(&format!("SELECT count(*) FROM ticket_events WHERE ticket_id = '{ticket}' AND kind = 'comment_added' AND shared")).await, 2);
    assert_eq!(app.count(&format!("SELECT count(*) FROM ticket_events WHERE ticket_id = '{ticket}' AND kind = 'comment_added' AND NOT shared")).await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'comment.created'")
            .await,
        3
    );

    // A subcontractor of another company does not reach the ticket at all.
    let outsider = app
        .sign_in(
            &app.create_user(&acme, Role::Subcontractor, Some(other), false)
                .await,
        )
        .await;
    assert_eq!(
        outsider
            .page(&format!("/tickets/{ticket}/comments"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let response = outsider
        .post_form(
            &format!("/tickets/{ticket}/comments"),
            &[("body", "hello"), ("visibility", "shared")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_subcontractor_cannot_open_an_internal_comment_by_its_id() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let pipes = app.create_company(&acme, "Pipes Ltd").await;
    let ticket = create_ticket(&app, &acme, Some(pipes)).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    let internal = add_comment(
        &app,
        &staff,
        ticket,
        "Internal note about the budget",
        "internal",
    )
    .await;

    let sub = app
        .sign_in(
            &app.create_user(&acme, Role::Subcontractor, Some(pipes), false)
                .await,
        )
        .await;
    let (status, body) = sub
        .page(&format!("/tickets/{ticket}/comments/{internal}/history"))
        .await;

    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("budget"));
}

#[tokio::test]
async fn an_edit_keeps_the_earlier_text_in_the_history() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let author = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    let comment = add_comment(&app, &author, ticket, "Engineer visits Monday", "shared").await;

    // Act
    let response = author
        .post_form(
            &format!("/tickets/{ticket}/comments/{comment}/edit"),
            &[("body", "Engineer visits Wednesday")],
        )
        .await;

    // Assert
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, thread) = author.page(&format!("/tickets/{ticket}/comments")).await;
    assert!(thread.contains("Engineer visits Wednesday"));
    assert!(!thread.contains("Engineer visits Monday"));
    assert!(thread.contains(&format!("/comments/{comment}/history\">edited</a>")));
    let (status, history) = author
        .page(&format!("/tickets/{ticket}/comments/{comment}/history"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        history.contains("Engineer visits Monday") && history.contains("Engineer visits Wednesday")
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM ticket_comment_revisions WHERE comment_id = '{comment}'"
        ))
        .await,
        1
    );
    assert_eq!(app.count(&format!("SELECT count(*) FROM audit_events WHERE action = 'comment.edited' AND record_id = '{comment}'")).await, 1);

    // Someone else cannot edit it, and an empty edit is refused next to the field.
    let colleague = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    let response = colleague
        .post_form(
            &format!("/tickets/{ticket}/comments/{comment}/edit"),
            &[("body", "Hijacked")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = author
        .post_form(
            &format!("/tickets/{ticket}/comments/{comment}/edit"),
            &[("body", "   ")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Write a comment before saving.")
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM ticket_comment_revisions WHERE comment_id = '{comment}'"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn only_admins_delete_comments_and_the_thread_says_so() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    let comment = add_comment(
        &app,
        &staff,
        ticket,
        "Rude remark about the homeowner",
        "internal",
    )
    .await;
    let path = format!("/tickets/{ticket}/comments/{comment}/delete");

    // Act + Assert: staff (even the author) may not delete.
    assert_eq!(
        staff.post_form(&path, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM ticket_comments WHERE id = '{comment}' AND deleted_at IS NULL"
        ))
        .await,
        1
    );

    // An admin may.
    let admin = app.sign_in_admin(&acme.admin).await;
    let response = admin.post_form(&path, &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, thread) = staff.page(&format!("/tickets/{ticket}/comments")).await;
    assert!(thread.contains("Comment deleted by an admin"));
    assert!(!thread.contains("Rude remark"));
    assert_eq!(app.count(&format!("SELECT count(*) FROM ticket_comments WHERE id = '{comment}' AND deleted_at IS NOT NULL AND deleted_by IS NOT NULL")).await, 1);
    assert_eq!(app.count(&format!("SELECT count(*) FROM audit_events WHERE action = 'comment.deleted' AND record_id = '{comment}'")).await, 1);
    // Its history is no longer open to staff.
    assert_eq!(
        staff
            .page(&format!("/tickets/{ticket}/comments/{comment}/history"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_empty_comment_is_refused_and_markup_is_shown_as_text() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;

    let response = staff
        .post_form(
            &format!("/tickets/{ticket}/comments"),
            &[("body", "  "), ("visibility", "shared")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Write a comment before saving.")
    );
    assert_eq!(app.count("SELECT count(*) FROM ticket_comments").await, 0);

    add_comment(
        &app,
        &staff,
        ticket,
        "<script>alert(1)</script>\nsecond line",
        "internal",
    )
    .await;
    let (_, thread) = staff.page(&format!("/tickets/{ticket}/comments")).await;
    assert!(!thread.contains("<script>alert(1)</script>"));
    assert!(
        thread.contains("&#60;script&#62;alert(1)&#60;/script&#62;<br/>second line")
            || thread.contains("&lt;script&gt;"),
        "{thread}"
    );
}

#[tokio::test]
async fn the_subcontractor_never_sees_the_first_text_of_an_edited_shared_comment() {
    // Arrange: a shared comment, edited by staff to take back what it first said.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let pipes = app.create_company(&acme, "Pipes Ltd").await;
    let ticket = create_ticket(&app, &acme, Some(pipes)).await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    let comment = add_comment(
        &app,
        &staff,
        ticket,
        "We will withhold 300 pounds from your invoice",
        "shared",
    )
    .await;
    let edited = staff
        .post_form(
            &format!("/tickets/{ticket}/comments/{comment}/edit"),
            &[("body", "Please call us about the invoice")],
        )
        .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);

    // Act: the nominated subcontractor opens the thread, the job and the history.
    let sub = app
        .sign_in(
            &app.create_user(&acme, Role::Subcontractor, Some(pipes), false)
                .await,
        )
        .await;
    let (_, thread) = sub.page(&format!("/tickets/{ticket}/comments")).await;
    let (_, job) = sub.page(&format!("/jobs/{ticket}")).await;
    let (status, history) = sub
        .page(&format!("/tickets/{ticket}/comments/{comment}/history"))
        .await;

    // Assert: the current text only; the history is for staff.
    assert!(thread.contains("Please call us about the invoice"));
    for (name, page) in [("thread", &thread), ("job", &job), ("history", &history)] {
        assert!(!page.contains("withhold 300 pounds"), "{name}: {page}");
        assert!(
            !page.contains(&format!("/comments/{comment}/history")),
            "{name}: {page}"
        );
    }
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, history) = staff
        .page(&format!("/tickets/{ticket}/comments/{comment}/history"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(history.contains("withhold 300 pounds"));
}

#[tokio::test]
async fn a_subcontractor_may_edit_their_comment_but_not_read_its_history() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let pipes = app.create_company(&acme, "Pipes Ltd").await;
    let ticket = create_ticket(&app, &acme, Some(pipes)).await;
    let sub = app
        .sign_in(
            &app.create_user(&acme, Role::Subcontractor, Some(pipes), false)
                .await,
        )
        .await;
    let comment = add_comment(&app, &sub, ticket, "Arriving at 9", "shared").await;
    let (_, form) = sub
        .page(&format!("/tickets/{ticket}/comments/{comment}/edit"))
        .await;
    assert!(form.contains("customer care team can read"), "{form}");
    let edited = sub
        .post_form(
            &format!("/tickets/{ticket}/comments/{comment}/edit"),
            &[("body", "Arriving at 10")],
        )
        .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    let (status, _) = sub
        .page(&format!("/tickets/{ticket}/comments/{comment}/history"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
