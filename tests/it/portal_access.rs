//! What a subcontractor can never reach: every staff route, other companies'
//! tickets and files, internal comments, costs, homeowners' emails and notes,
//! and other tickets on the same plot. And the fields they do see.

use plotcare::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::{
    common::{TestApp, TestClient, TestTenant},
    portal::{homeowner, nominate, plot, ticket},
};

/// Distinctive text that must never reach the subcontractor.
const SECRETS: &[&str] = &[
    "ZEBRA-RIVAL-TITLE",
    "ZEBRA-SAME-PLOT",
    "ZEBRA-INTERNAL-COMMENT",
    "ZEBRA-INTERNAL-EVENT",
    "zebra-homeowner@example.com",
    "ZEBRA-HOMEOWNER-NOTES",
    "zebra-hidden-file.pdf",
    "zebra-rival-file.pdf",
    "98765.43",
    "Internal cost",
];

struct World {
    tenant: TestTenant,
    company: Uuid,
    staff_id: Uuid,
    scheme: Uuid,
    contract: Uuid,
    plot: Uuid,
    contact: Uuid,
    ours: Uuid,
    same_plot: Uuid,
    theirs: Uuid,
    internal_comment: Uuid,
    hidden_file: Uuid,
    visible_file: Uuid,
    their_file: Uuid,
}

async fn file(app: &TestApp, tenant: &TestTenant, ticket: Uuid, name: &str, visible: bool) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO media_files (tenant_id, id, ticket_id, storage_key, original_name, content_type, size_bytes, visible_to_subcontractor)
         VALUES ($1, $2, $3, $4, $5, 'application/pdf', 10, $6)",
    )
    .bind(tenant.id)
    .bind(id)
    .bind(ticket)
    .bind(format!("{}/ticket-files/{id}", tenant.id))
    .bind(name)
    .bind(visible)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    id
}

async fn world(app: &TestApp) -> World {
    let tenant = app.create_tenant("acme").await;
    let company = app.create_company(&tenant, "Pipe Dreams Ltd").await;
    let rivals = app.create_company(&tenant, "Rival Plumbing").await;
    let staff_user = app.create_user(&tenant, Role::Staff, None, false).await;
    let staff = app.sign_in(&staff_user).await;
    let plot = plot(
        app,
        &tenant,
        "4 Brook Lane",
        "LS1 4AB",
        "Key safe by the back door",
    )
    .await;
    let contact = homeowner(
        app,
        &tenant,
        plot,
        "Hannah Homeowner",
        "07700 900123",
        "zebra-homeowner@example.com",
        "ZEBRA-HOMEOWNER-NOTES",
    )
    .await;
    let ours = ticket(app, &tenant, plot, "Dripping kitchen tap", Some(48.0)).await;
    let same_plot = ticket(app, &tenant, plot, "ZEBRA-SAME-PLOT", Some(48.0)).await;
    let theirs = ticket(app, &tenant, plot, "ZEBRA-RIVAL-TITLE", Some(48.0)).await;
    nominate(&staff, ours, company).await;
    nominate(&staff, theirs, rivals).await;
    let internal_comment = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO ticket_comments (tenant_id, id, ticket_id, author_user_id, visibility, body)
         VALUES ($1, $2, $3, $4, 'internal', 'ZEBRA-INTERNAL-COMMENT about money')",
    )
    .bind(tenant.id)
    .bind(internal_comment)
    .bind(ours)
    .bind(staff_user.id)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let shared = staff
        .post_form(
            &format!("/tickets/{ours}/comments"),
            &[
                ("body", "Please bring a cartridge"),
                ("visibility", "shared"),
            ],
        )
        .await;
    assert_eq!(shared.status(), StatusCode::SEE_OTHER);
    sqlx::query(
        "INSERT INTO ticket_events (tenant_id, id, ticket_id, kind, shared, data)
         VALUES ($1, $2, $3, 'note', false, '{\"summary\": \"ZEBRA-INTERNAL-EVENT\"}')",
    )
    .bind(tenant.id)
    .bind(Uuid::now_v7())
    .bind(ours)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let hidden_file = file(app, &tenant, ours, "zebra-hidden-file.pdf", false).await;
    let visible_file = file(app, &tenant, ours, "visible-drawing.pdf", true).await;
    let their_file = file(app, &tenant, theirs, "zebra-rival-file.pdf", true).await;
    let (scheme, contract): (Uuid, Uuid) =
        sqlx::query_as("SELECT scheme_id, contract_id FROM plots WHERE id = $1")
            .bind(plot)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    World {
        tenant,
        company,
        staff_id: staff_user.id,
        scheme,
        contract,
        plot,
        contact,
        ours,
        same_plot,
        theirs,
        internal_comment,
        hidden_file,
        visible_file,
        their_file,
    }
}

fn assert_no_secrets(what: &str, body: &str) {
    for secret in SECRETS {
        assert!(!body.contains(secret), "{what} leaks {secret}");
    }
}

/// Posts a small multipart form (for upload routes), with the CSRF token in the query string.
async fn post_multipart(client: &TestClient, path: &str) -> reqwest::Response {
    let token = client.csrf_token().await;
    let boundary = format!("----plotcare{}", Uuid::new_v4().simple());
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"plots.csv\"\r\nContent-Type: text/csv\r\n\r\nplot,address\n\r\n--{boundary}--\r\n"
    );
    client
        .http
        .post(client.url(&format!("{path}?csrf_token={token}")))
        .header(
            reqwest::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_subcontractor_reaches_no_staff_route_and_nothing_of_anyone_else() {
    // Arrange
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let sub = app
        .sign_in(
            &app.create_user(&w.tenant, Role::Subcontractor, Some(w.company), false)
                .await,
        )
        .await;
    let r = Uuid::now_v7();
    let (staff, scheme, contract, plot, contact) =
        (w.staff_id, w.scheme, w.contract, w.plot, w.contact);
    let (ours, theirs, same, comment) = (w.ours, w.theirs, w.same_plot, w.internal_comment);
    let (hidden, visible, their_file) = (w.hidden_file, w.visible_file, w.their_file);
    let gets = [
        "/users".to_owned(),
        "/users/new".into(),
        format!("/users/{staff}"),
        "/admin/tokens".into(),
        "/admin/audit".into(),
        "/admin/audit/download".into(),
        "/admin/exports".into(),
        format!("/admin/exports/{r}/progress"),
        format!("/admin/exports/{r}/download"),
        "/admin/sla".into(),
        "/admin/outbox".into(),
        "/schemes".into(),
        "/schemes/new".into(),
        format!("/schemes/{scheme}"),
        format!("/schemes/{scheme}/edit"),
        format!("/schemes/{scheme}/contracts/new"),
        format!("/contracts/{contract}"),
        format!("/contracts/{contract}/edit"),
        format!("/contracts/{contract}/plots/new"),
        "/plots".into(),
        format!("/plots/{plot}"),
        format!("/plots/{plot}/edit"),
        format!("/plots/{plot}/tickets/new"),
        format!("/plots/{plot}/inspections/new"),
        "/contacts".into(),
        "/contacts/new".into(),
        format!("/contacts/{contact}"),
        format!("/contacts/{contact}/edit"),
        "/imports".into(),
        "/imports/sample/plots.csv".into(),
        "/inspections".into(),
        format!("/inspections/{r}"),
        format!("/inspections/{r}/report"),
        format!("/inspections/{r}/photos/{r}"),
        "/inspection-templates".into(),
        "/inspection-templates/new".into(),
        format!("/inspection-templates/{r}"),
        format!("/inspection-templates/{r}/edit"),
        "/jobs/summary".into(),
        format!("/tickets/{ours}/edit"),
        format!("/tickets/{ours}/sign-off"),
        format!("/tickets/{ours}/files/{hidden}"),
        format!("/tickets/{ours}/files/{hidden}/thumbnail"),
        format!("/tickets/{ours}/files/{their_file}"),
        format!("/tickets/{ours}/comments/{comment}/history"),
        format!("/tickets/{ours}/comments/{comment}/edit"),
        format!("/tickets/{theirs}"),
        format!("/jobs/{theirs}"),
        format!("/tickets/{theirs}/comments"),
        format!("/tickets/{theirs}/files"),
        format!("/tickets/{theirs}/files/{their_file}"),
        format!("/tickets/{theirs}/files/{their_file}/thumbnail"),
        format!("/tickets/{same}"),
        format!("/jobs/{same}"),
        format!("/tickets/{same}/comments"),
        format!("/tickets/{same}/files"),
    ];
    let posts = [
        "/users/new".to_owned(),
        format!("/users/{staff}/role"),
        format!("/users/{staff}/schemes"),
        format!("/users/{staff}/disable"),
        format!("/users/{staff}/enable"),
        format!("/users/{staff}/end-sessions"),
        format!("/users/{staff}/reset-mfa"),
        format!("/users/{staff}/password-link"),
        format!("/admin/tokens/{r}/revoke"),
        "/admin/exports".into(),
        format!("/admin/exports/{r}/retry"),
        "/admin/sla".into(),
        "/admin/sla/holidays".into(),
        "/admin/sla/holidays/remove".into(),
        "/schemes/new".into(),
        format!("/schemes/{scheme}/edit"),
        format!("/schemes/{scheme}/archive"),
        format!("/schemes/{scheme}/restore"),
        format!("/schemes/{scheme}/contracts/new"),
        format!("/contracts/{contract}/edit"),
        format!("/contracts/{contract}/archive"),
        format!("/contracts/{contract}/restore"),
        format!("/contracts/{contract}/plots/new"),
        format!("/plots/{plot}/edit"),
        format!("/plots/{plot}/archive"),
        format!("/plots/{plot}/restore"),
        format!("/plots/{plot}/homeowners"),
        format!("/plots/{plot}/homeowners/{r}/end"),
        format!("/plots/{plot}/tickets/new"),
        format!("/plots/{plot}/inspections/new"),
        "/contacts/new".into(),
        format!("/contacts/{contact}/edit"),
        format!("/contacts/{contact}/archive"),
        format!("/contacts/{contact}/restore"),
        format!("/imports/{r}/confirm"),
        format!("/inspections/{r}/items/roof/ticket"),
        format!("/inspections/{r}/complete"),
        format!("/inspections/{r}/sign-off"),
        format!("/inspections/{r}/comments"),
        "/inspection-templates/new".into(),
        format!("/inspection-templates/{r}/edit"),
        format!("/inspection-templates/{r}/archive"),
        format!("/inspection-templates/{r}/restore"),
        format!("/tickets/{ours}/edit"),
        format!("/tickets/{ours}/status"),
        format!("/tickets/{ours}/complaint-stages"),
        format!("/tickets/{ours}/nominate"),
        format!("/tickets/{ours}/sign-off"),
        format!("/tickets/{ours}/send-back"),
        format!("/tickets/{ours}/files/{visible}/visibility"),
        format!("/tickets/{ours}/files/{hidden}/visibility"),
        format!("/tickets/{ours}/comments/{comment}/edit"),
        format!("/tickets/{ours}/comments/{comment}/delete"),
        format!("/tickets/{theirs}/comments"),
        format!("/tickets/{theirs}/appointments"),
        format!("/tickets/{theirs}/nominate"),
        format!("/tickets/{theirs}/status"),
        format!("/jobs/{theirs}/accept"),
        format!("/jobs/{theirs}/decline"),
        format!("/jobs/{theirs}/complete"),
        format!("/jobs/{same}/accept"),
        format!("/tickets/{same}/comments"),
        format!("/tickets/{same}/appointments"),
    ];
    let uploads = [
        "/imports/preview".to_owned(),
        format!("/inspections/{r}/answers"),
        format!("/inspections/{r}/items/roof/photos"),
        format!("/tickets/{theirs}/files"),
        format!("/tickets/{same}/files"),
    ];
    let form = [
        ("name", "x"),
        ("body", "ZEBRA-PROBE"),
        ("reason", "probe"),
        ("note", "probe"),
        ("resolution", "probe"),
        ("to", "closed"),
        ("role", "admin"),
        ("visible", "true"),
        ("nominee", "company:00000000-0000-0000-0000-000000000000"),
        ("day", "2030-01-01"),
        ("window_start", "08:00"),
        ("window_end", "09:00"),
    ];

    // Act + Assert
    let mut refused = Vec::new();
    for path in &gets {
        let (status, body) = sub.page(path).await;
        assert_no_secrets(&format!("GET {path}"), &body);
        if !matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) {
            refused.push(format!("GET {path} answered {status}"));
        }
    }
    for path in &posts {
        let response = sub.post_form(path, &form).await;
        let status = response.status();
        assert_no_secrets(&format!("POST {path}"), &response.text().await.unwrap());
        if !matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) {
            refused.push(format!("POST {path} answered {status}"));
        }
    }
    for path in &uploads {
        let response = post_multipart(&sub, path).await;
        let status = response.status();
        assert_no_secrets(&format!("POST {path}"), &response.text().await.unwrap());
        if !matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) {
            refused.push(format!("POST (upload) {path} answered {status}"));
        }
    }
    // The inspection form's autosave sends JSON.
    let token = sub.csrf_token().await;
    let response = sub
        .http
        .post(sub.url(&format!("/inspections/{r}/items/roof")))
        .header("x-csrf-token", token)
        .json(&serde_json::json!({ "answer": "pass", "notes": "" }))
        .send()
        .await
        .unwrap();
    if !matches!(
        response.status(),
        StatusCode::NOT_FOUND | StatusCode::FORBIDDEN
    ) {
        refused.push(format!(
            "POST (JSON) /inspections/{r}/items/roof answered {}",
            response.status()
        ));
    }
    assert!(refused.is_empty(), "reached:\n{}", refused.join("\n"));

    // Nothing changed behind the refusals.
    assert_eq!(
        app.count("SELECT count(*) FROM ticket_comments WHERE body LIKE '%ZEBRA-PROBE%'")
            .await,
        0
    );
    assert_eq!(app.count("SELECT count(*) FROM appointments").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM tickets WHERE status = 'closed'")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT count(*) FROM nominations WHERE response <> 'pending'")
            .await,
        0
    );

    // The pages the subcontractor does reach leak nothing either.
    for path in [
        "/jobs".to_owned(),
        format!("/jobs/{ours}"),
        format!("/tickets/{ours}"),
        format!("/tickets/{ours}/comments"),
        format!("/tickets/{ours}/files"),
        "/tickets".into(),
        "/account".into(),
    ] {
        let (status, body) = sub.page(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_no_secrets(&format!("GET {path}"), &body);
    }
    let (_, job_page) = sub.page(&format!("/jobs/{ours}")).await;
    assert!(
        job_page.contains("Please bring a cartridge"),
        "shared comments are shown"
    );
    assert!(
        job_page.contains("visible-drawing.pdf"),
        "visible files are shown"
    );
}

#[tokio::test]
async fn the_job_page_and_the_api_show_a_subcontractor_only_the_allowed_fields() {
    // Arrange
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let sub = app
        .create_user(&w.tenant, Role::Subcontractor, Some(w.company), false)
        .await;
    let client = app.sign_in(&sub).await;

    // Act
    let (status, page) = client.page(&format!("/jobs/{}", w.ours)).await;
    let me: serde_json::Value = client.get("/api/v1/me").await.json().await.unwrap();

    // Assert: what they need on site…
    assert_eq!(status, StatusCode::OK);
    for allowed in [
        "T-00001",
        "Dripping kitchen tap",
        "Water drips from the mixer tap",
        "High",
        "4 Brook Lane",
        "LS1 4AB",
        "Key safe by the back door",
        "Hannah Homeowner",
        "07700 900123",
        "Awaiting your answer",
    ] {
        assert!(page.contains(allowed), "the job page shows {allowed}");
    }
    // …and nothing else.
    assert_no_secrets("the job page", &page);
    assert!(!page.contains("Rival Plumbing"), "no other companies");
    assert!(!page.contains("/status\""), "no status changes");

    assert_eq!(me["user"]["role"], "subcontractor");
    assert_eq!(me["user"]["company_id"], w.company.to_string());
    assert_eq!(me["user"]["is_company_admin"], false);
    let user_keys: Vec<&str> = me["user"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut user_keys = user_keys;
    user_keys.sort_unstable();
    assert_eq!(
        user_keys,
        [
            "company_id",
            "email",
            "id",
            "is_company_admin",
            "name",
            "role"
        ]
    );
    let mut top: Vec<&str> = me.as_object().unwrap().keys().map(String::as_str).collect();
    top.sort_unstable();
    assert_eq!(top, ["tenant", "user", "via"]);
    let text = me.to_string();
    assert_no_secrets("/api/v1/me", &text);
}
