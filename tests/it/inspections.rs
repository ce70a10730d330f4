//! Inspections: template versions, answers (form, JSON and resends), photos
//! required on failed items, tickets raised from failed items, and isolation
//! between tenants and schemes on every inspection route.

use plotcare::{
    auth::{TenantTx, policy::SchemeScope},
    domain::{
        Role,
        inspection::{AnswerKind, Item, Section, Structure},
    },
};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{TestApp, TestClient, TestTenant};

/// The smallest PNG there is (1×1).
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// A scheme, contract and plot of the tenant: (scheme, plot).
pub async fn plot(app: &TestApp, tenant: &TestTenant, scheme_name: &str) -> (Uuid, Uuid) {
    let scheme = app.create_scheme(tenant, scheme_name).await;
    let contract = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO contracts (tenant_id, id, scheme_id, name) VALUES ($1, $2, $3, 'Phase 1')",
    )
    .bind(tenant.id)
    .bind(contract)
    .bind(scheme)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let plot = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO plots (tenant_id, id, scheme_id, contract_id, plot_number, address_line1, town, postcode)
         VALUES ($1, $2, $3, $4, '7', '7 Mill Lane', 'Leeds', 'LS1 4AB')",
    )
    .bind(tenant.id)
    .bind(plot)
    .bind(scheme)
    .bind(contract)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    (scheme, plot)
}

fn item(key: &str, label: &str, kind: AnswerKind, photo: bool, trade: Option<&str>) -> Item {
    Item {
        key: key.into(),
        label: label.into(),
        kind,
        photo_required_on_fail: photo,
        trade: trade.map(Into::into),
    }
}

/// A template (version 1) with a kitchen section; returns (template id, version id).
pub async fn template(app: &TestApp, tenant: &TestTenant) -> (Uuid, Uuid) {
    let structure = Structure {
        sections: vec![Section {
            title: "Kitchen".into(),
            items: vec![
                item(
                    "1-1",
                    "Worktops sealed",
                    AnswerKind::PassFail,
                    true,
                    Some("kitchens"),
                ),
                item(
                    "1-2",
                    "Cupboard doors aligned",
                    AnswerKind::PassFail,
                    false,
                    None,
                ),
                item("1-3", "Meter reading", AnswerKind::Number, false, None),
            ],
        }],
    };
    let mut tx = TenantTx::begin(&app.pool, tenant.tenant).await.unwrap();
    let id = plotcare::db::inspection_templates::create(
        &mut tx,
        "Pre-completion check",
        "pre_completion",
        &structure,
        None,
    )
    .await
    .unwrap();
    let version = plotcare::db::inspection_templates::find(&mut tx, id)
        .await
        .unwrap()
        .unwrap()
        .version_id;
    tx.commit().await.unwrap();
    (id, version)
}

/// Schedules an inspection on the plot through the page; returns its id.
pub async fn schedule(client: &TestClient, plot: Uuid, version: Uuid, inspector: Uuid) -> Uuid {
    let response = client
        .post_form(
            &format!("/plots/{plot}/inspections/new"),
            &[
                ("template", &version.to_string()),
                ("scheduled_on", "2025-06-02"),
                ("inspector", &format!("user:{inspector}")),
            ],
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.text().await.unwrap()
    );
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    Uuid::parse_str(location.trim_start_matches("/inspections/")).unwrap()
}

/// Saves one answer as the page's script does: JSON with the X-CSRF-Token header.
pub async fn save_json(
    client: &TestClient,
    inspection: Uuid,
    key: &str,
    answer: &str,
    notes: &str,
) -> reqwest::Response {
    let token = client.csrf_token().await;
    client
        .http
        .post(client.url(&format!("/inspections/{inspection}/items/{key}")))
        .header("X-CSRF-Token", token)
        .header("Accept", "application/json")
        .json(&serde_json::json!({ "answer": answer, "notes": notes }))
        .send()
        .await
        .unwrap()
}

/// A multipart body: text fields, then files (field, filename, bytes).
pub(crate) fn multipart(
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> (String, Vec<u8>) {
    let boundary = "plotcareTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, filename, bytes) in files {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: image/jpeg\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

pub(crate) async fn post_multipart(
    client: &TestClient,
    path: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> reqwest::Response {
    let token = client.csrf_token().await;
    let (content_type, body) = multipart(fields, files);
    client
        .http
        .post(client.url(&format!("{path}?csrf_token={token}")))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_edited_template_publishes_a_new_version_and_a_started_inspection_keeps_its_items() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let (_, plot_id) = plot(&app, &acme, "Mill Park").await;
    let admin = app.sign_in_admin(&acme.admin).await;
    // The admin creates the template through its form.
    let response = admin
        .post_form(
            "/inspection-templates/new",
            &[
                ("name", "Handover check"),
                ("kind", "pre_completion"),
                ("section_0", "Kitchen"),
                ("label_0", "Hob works"),
                ("kind_0", "pass_fail"),
                ("trade_0", "kitchens"),
                ("section_1", "Hall"),
                ("label_1", "Door closes"),
                ("kind_1", "pass_fail"),
                ("trade_1", ""),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let template_path = response.headers()["location"].to_str().unwrap().to_owned();
    let template_id =
        Uuid::parse_str(template_path.trim_start_matches("/inspection-templates/")).unwrap();
    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    let v1 = plotcare::db::inspection_templates::find(&mut tx, template_id)
        .await
        .unwrap()
        .unwrap()
        .version_id;
    drop(tx);
    let inspection = schedule(&admin, plot_id, v1, acme.admin.id).await;
    assert_eq!(
        save_json(&admin, inspection, "1-1", "pass", "")
            .await
            .status(),
        StatusCode::OK
    );

    // Act: the admin renames the first item and adds a third.
    let response = admin
        .post_form(
            &format!("/inspection-templates/{template_id}/edit"),
            &[
                ("name", "Handover check"),
                ("kind", "pre_completion"),
                ("section_0", "Kitchen"),
                ("label_0", "Hob and oven work"),
                ("kind_0", "pass_fail"),
                ("section_1", "Hall"),
                ("label_1", "Door closes"),
                ("kind_1", "pass_fail"),
                ("section_2", "Hall"),
                ("label_2", "Letterbox fitted"),
                ("kind_2", "pass_fail"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Assert: version 2 exists, the started inspection still shows version 1's items.
    let (_, template_page) = admin.page(&template_path).await;
    assert!(template_page.contains("Version 2"), "{template_page}");
    let (status, page) = admin.page(&format!("/inspections/{inspection}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Hob works") && page.contains("version 1"),
        "{page}"
    );
    assert!(!page.contains("Hob and oven work") && !page.contains("Letterbox fitted"));
    // A new inspection gets the new version.
    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    let v2 = plotcare::db::inspection_templates::find(&mut tx, template_id)
        .await
        .unwrap()
        .unwrap()
        .version_id;
    drop(tx);
    assert_ne!(v1, v2);
    let newer = schedule(&admin, plot_id, v2, acme.admin.id).await;
    let (_, page) = admin.page(&format!("/inspections/{newer}")).await;
    assert!(page.contains("Hob and oven work") && page.contains("Letterbox fitted"));
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE action = 'inspection_template.published'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn answers_save_one_by_one_as_json_and_sending_the_same_answer_again_changes_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let (_, plot_id) = plot(&app, &acme, "Mill Park").await;
    let (_, version) = template(&app, &acme).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let inspection = schedule(&client, plot_id, version, staff.id).await;

    let response = save_json(&client, inspection, "1-2", "fail", "Two doors sit proud").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["saved"], true);
    assert_eq!(body["changed"], true);
    // The same answer again (a resend after a lost connection): accepted, nothing new.
    let body: serde_json::Value =
        save_json(&client, inspection, "1-2", "fail", "Two doors sit proud")
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(body["changed"], false);

    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM inspection_results WHERE inspection_id = '{inspection}'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'inspection.answered'")
            .await,
        1
    );
    let status: String = sqlx::query_scalar("SELECT status FROM inspections WHERE id = $1")
        .bind(inspection)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(status, "in_progress");
    let (_, page) = client.page(&format!("/inspections/{inspection}")).await;
    assert!(page.contains("Two doors sit proud"));

    // A number item refuses words; no CSRF header is refused outright.
    let response = save_json(&client, inspection, "1-3", "lots", "").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "Enter a number");
    let response = client
        .http
        .post(client.url(&format!("/inspections/{inspection}/items/1-1")))
        .json(&serde_json::json!({ "answer": "pass" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_form_without_javascript_saves_every_answer_at_once() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let (_, plot_id) = plot(&app, &acme, "Mill Park").await;
    let (_, version) = template(&app, &acme).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let inspection = schedule(&client, plot_id, version, staff.id).await;
    let path = format!("/inspections/{inspection}/answers");

    // A bad number: shown again with the message, nothing saved.
    let response = post_multipart(
        &client,
        &path,
        &[("answer_1-1", "pass"), ("answer_1-3", "twelve")],
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.unwrap().contains("Enter a number"));
    assert_eq!(
        app.count("SELECT count(*) FROM inspection_results").await,
        0
    );

    let response = post_multipart(
        &client,
        &path,
        &[
            ("answer_1-1", "pass"),
            ("notes_1-1", ""),
            ("answer_1-2", "na"),
            ("answer_1-3", "1234.5"),
            ("notes_1-3", "Gas meter"),
        ],
        &[("photo_1-2", "door.png", PNG), ("photo_1-1", "", b"")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let answers: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT item_key, answer FROM inspection_results WHERE inspection_id = $1 ORDER BY item_key")
            .bind(inspection)
            .fetch_all(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(
        answers,
        vec![
            ("1-1".into(), Some("pass".into())),
            ("1-2".into(), Some("na".into())),
            ("1-3".into(), Some("1234.5".into()))
        ]
    );
    assert_eq!(app.count("SELECT count(*) FROM inspection_photos WHERE item_key = '1-2' AND content_type = 'image/png'").await, 1);
    let (_, page) = client.page(&format!("/inspections/{inspection}")).await;
    assert!(page.contains("3 answers and 1 photo saved."), "{page}");
}

#[tokio::test]
async fn a_failed_item_that_needs_a_photo_blocks_completion_until_a_real_image_is_added() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let (_, plot_id) = plot(&app, &acme, "Mill Park").await;
    let (_, version) = template(&app, &acme).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let inspection = schedule(&client, plot_id, version, staff.id).await;
    save_json(&client, inspection, "1-1", "fail", "Chipped edge by sink").await;

    let response = client
        .post_form(
            &format!("/inspections/{inspection}/complete"),
            &[("outcome", "pass_with_defects")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("Add a photo to each failed item that needs one before completing: Kitchen: Worktops sealed."), "{page}");

    // A page saved as .jpg is not a photo.
    let photos = format!("/inspections/{inspection}/items/1-1/photos");
    let response = post_multipart(
        &client,
        &photos,
        &[],
        &[(
            "photo",
            "worktop.jpg",
            b"<html><body>not a photo</body></html>",
        )],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Photos must be JPEG, PNG, WebP or HEIC images.")
    );
    assert_eq!(app.count("SELECT count(*) FROM inspection_photos").await, 0);

    let response = post_multipart(&client, &photos, &[], &[("photo", "worktop.png", PNG)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = client
        .post_form(
            &format!("/inspections/{inspection}/complete"),
            &[("outcome", "pass_with_defects")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (status, outcome): (String, String) =
        sqlx::query_as("SELECT status, outcome FROM inspections WHERE id = $1")
            .bind(inspection)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(
        (status.as_str(), outcome.as_str()),
        ("completed", "pass_with_defects")
    );

    // Completed: answers are locked; sign-off records who signed and when.
    assert_eq!(
        save_json(&client, inspection, "1-2", "pass", "")
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let response = client
        .post_form(
            &format!("/inspections/{inspection}/sign-off"),
            &[
                ("signed_by_name", "Priya Shah"),
                ("signed_on", "2025-06-02"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = client
        .page(&format!("/inspections/{inspection}/report"))
        .await;
    assert!(
        page.contains("Signed by <strong>Priya Shah</strong> on 2 June 2025"),
        "{page}"
    );
    assert!(page.contains("Pass with defects"));
}

#[tokio::test]
async fn a_failed_item_raises_a_prefilled_ticket_linked_both_ways_in_one_click() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let (scheme, plot_id) = plot(&app, &acme, "Mill Park").await;
    let (_, version) = template(&app, &acme).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let inspection = schedule(&client, plot_id, version, staff.id).await;
    let photos = format!("/inspections/{inspection}/items/1-1/photos");
    assert_eq!(
        post_multipart(&client, &photos, &[], &[("photo", "worktop.png", PNG)])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // A passed item raises nothing.
    save_json(&client, inspection, "1-2", "pass", "").await;
    let response = client
        .post_form(&format!("/inspections/{inspection}/items/1-2/ticket"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);

    // Act: "Raise a ticket" from the form, with the item marked Fail and its notes as typed.
    let response = client
        .post_form(
            &format!("/inspections/{inspection}/items/1-1/ticket"),
            &[
                ("answer_1-1", "fail"),
                ("notes_1-1", "Chipped edge by the sink"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    // Assert: the ticket, pre-filled.
    #[derive(sqlx::FromRow, Debug)]
    struct Ticket {
        id: Uuid,
        number: i64,
        plot_id: Uuid,
        scheme_id: Uuid,
        title: String,
        description: String,
        category: String,
        location: String,
        reported_via: String,
        priority: String,
        status: String,
        due_in_days: Option<f64>,
    }
    let ticket: Ticket = sqlx::query_as(
        "SELECT id, number, plot_id, scheme_id, title, description, category, location, reported_via, priority, status,
                (extract(epoch FROM due_at - reported_at) / 86400)::float8 AS due_in_days
           FROM tickets",
    )
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!((ticket.plot_id, ticket.scheme_id), (plot_id, scheme));
    assert_eq!(ticket.title, "Worktops sealed");
    assert!(
        ticket.description.starts_with("Chipped edge by the sink"),
        "{}",
        ticket.description
    );
    assert_eq!(
        (ticket.category.as_str(), ticket.location.as_str()),
        ("kitchens", "Kitchen")
    );
    assert_eq!(
        (
            ticket.reported_via.as_str(),
            ticket.priority.as_str(),
            ticket.status.as_str()
        ),
        ("inspection", "medium", "open")
    );
    assert_eq!(ticket.due_in_days, Some(7.0));
    assert_eq!(ticket.number, 1);
    // The photo went with it, as an object of its own.
    let keys: Vec<String> =
        sqlx::query_scalar("SELECT storage_key FROM media_files WHERE ticket_id = $1")
            .bind(ticket.id)
            .fetch_all(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].contains("/tickets/"));
    // Linked both ways.
    let (_, page) = client.page(&format!("/inspections/{inspection}")).await;
    assert!(
        page.contains("Ticket T-00001 raised")
            && page.contains(&format!("href=\"/tickets/{}\"", ticket.id)),
        "{page}"
    );
    assert!(page.contains(">T-00001</a>"));
    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    let source = plotcare::db::inspections::for_ticket(&mut tx, ticket.id)
        .await
        .unwrap()
        .expect("ticket knows its inspection");
    assert_eq!(source.inspection_id, inspection);
    assert_eq!(source.item_label(), "Kitchen: Worktops sealed");
    let on_plot = plotcare::db::inspections::for_plot(&mut tx, &SchemeScope::All, plot_id)
        .await
        .unwrap();
    assert_eq!(on_plot.len(), 1);
    drop(tx);
    // The ticket's page links back to the inspection.
    let (_, ticket_page) = client.page(&format!("/tickets/{}", ticket.id)).await;
    assert!(
        ticket_page.contains("Raised from inspection")
            && ticket_page.contains(&format!("href=\"/inspections/{inspection}\""))
            && ticket_page.contains("Kitchen: Worktops sealed"),
        "{ticket_page}"
    );
    // A second click raises nothing new.
    client
        .post_form(&format!("/inspections/{inspection}/items/1-1/ticket"), &[])
        .await;
    assert_eq!(app.count("SELECT count(*) FROM tickets").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.created'")
            .await,
        1
    );
}

#[tokio::test]
async fn every_inspection_route_answers_404_to_another_tenant_and_to_staff_outside_the_scheme() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let bolt = app.create_tenant("bolt").await;
    let (_, plot_id) = plot(&app, &acme, "Mill Park").await;
    let (template_id, version) = template(&app, &acme).await;
    let owner = app.create_user(&acme, Role::Staff, None, false).await;
    let owner_client = app.sign_in(&owner).await;
    let inspection = schedule(&owner_client, plot_id, version, owner.id).await;
    save_json(&owner_client, inspection, "1-2", "fail", "").await;
    let photos = format!("/inspections/{inspection}/items/1-1/photos");
    post_multipart(&owner_client, &photos, &[], &[("photo", "a.png", PNG)]).await;
    let photo: Uuid = sqlx::query_scalar("SELECT id FROM inspection_photos")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();

    let (other_scheme, _) = plot(&app, &acme, "Other Park").await;
    let restricted = app.create_user(&acme, Role::Staff, None, false).await;
    app.restrict_to_scheme(&acme, &restricted, other_scheme)
        .await;
    let company = app.create_company(&acme, "Brightwater Plumbing").await;
    let subcontractor = app
        .create_user(&acme, Role::Subcontractor, Some(company), false)
        .await;

    let gets = [
        format!("/inspections/{inspection}"),
        format!("/inspections/{inspection}/report"),
        format!("/inspections/{inspection}/photos/{photo}"),
        format!("/plots/{plot_id}/inspections/new"),
    ];
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/inspections/{inspection}/items/1-2/ticket"),
            vec![],
        ),
        (
            format!("/inspections/{inspection}/complete"),
            vec![("outcome", "pass")],
        ),
        (
            format!("/inspections/{inspection}/sign-off"),
            vec![("signed_by_name", "X"), ("signed_on", "2025-01-01")],
        ),
        (
            format!("/inspections/{inspection}/comments"),
            vec![("visibility", "internal"), ("body", "Hello")],
        ),
        (
            format!("/plots/{plot_id}/inspections/new"),
            vec![("template", "x")],
        ),
    ];
    let bolt_admin = app.sign_in_admin(&bolt.admin).await;
    let outsiders = [
        ("bolt admin", bolt_admin),
        ("restricted staff", app.sign_in(&restricted).await),
        ("subcontractor", app.sign_in(&subcontractor).await),
    ];
    for (who, client) in &outsiders {
        for path in &gets {
            assert_eq!(
                client.get(path).await.status(),
                StatusCode::NOT_FOUND,
                "{who} GET {path}"
            );
        }
        for (path, fields) in &posts {
            assert_eq!(
                client.post_form(path, fields).await.status(),
                StatusCode::NOT_FOUND,
                "{who} POST {path}"
            );
        }
        assert_eq!(
            save_json(client, inspection, "1-1", "pass", "")
                .await
                .status(),
            StatusCode::NOT_FOUND,
            "{who} JSON save"
        );
        let upload = post_multipart(client, &photos, &[], &[("photo", "b.png", PNG)]).await;
        assert_eq!(upload.status(), StatusCode::NOT_FOUND, "{who} photo upload");
        let all = post_multipart(
            client,
            &format!("/inspections/{inspection}/answers"),
            &[("answer_1-1", "pass")],
            &[],
        )
        .await;
        assert_eq!(all.status(), StatusCode::NOT_FOUND, "{who} form save");
        let (_, list) = client.page("/inspections").await;
        assert!(
            !list.contains(&inspection.to_string()),
            "{who} sees the inspection in the list"
        );
    }
    // Bolt's admin cannot open acme's template either.
    let (_, bolt_admin) = &outsiders[0];
    assert_eq!(
        bolt_admin
            .get(&format!("/inspection-templates/{template_id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bolt_admin
            .post_form(
                &format!("/inspection-templates/{template_id}/edit"),
                &[
                    ("name", "x"),
                    ("kind", "pre_completion"),
                    ("label_0", "a"),
                    ("kind_0", "pass_fail")
                ]
            )
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // Staff cannot edit templates.
    assert_eq!(
        owner_client.get("/inspection-templates").await.status(),
        StatusCode::FORBIDDEN
    );

    // The out-of-hours role reads but does not change.
    let emergency = app.create_user(&acme, Role::Emergency, None, false).await;
    let emergency = app.sign_in(&emergency).await;
    assert_eq!(
        emergency
            .get(&format!("/inspections/{inspection}"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        save_json(&emergency, inspection, "1-1", "pass", "")
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        emergency
            .post_form(&format!("/inspections/{inspection}/items/1-2/ticket"), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // Nothing changed along the way.
    assert_eq!(app.count("SELECT count(*) FROM tickets").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM inspection_comments").await,
        0
    );
    assert_eq!(app.count("SELECT count(*) FROM inspection_photos").await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM inspection_results").await,
        1
    );
}

#[tokio::test]
async fn the_list_filters_by_status_type_and_inspector() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let (scheme, plot_id) = plot(&app, &acme, "Mill Park").await;
    let (_, version) = template(&app, &acme).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let first = schedule(&client, plot_id, version, staff.id).await;
    let second = schedule(&client, plot_id, version, acme.admin.id).await;
    save_json(&client, second, "1-2", "pass", "").await;

    let (status, page) = client
        .page(&format!(
            "/inspections?status=in_progress&scheme={scheme}&kind=pre_completion"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&second.to_string()) && !page.contains(&first.to_string()));
    let (_, page) = client
        .page(&format!(
            "/inspections?inspector=user:{}&from=2025-06-01&until=2025-06-30",
            staff.id
        ))
        .await;
    assert!(page.contains(&first.to_string()) && !page.contains(&second.to_string()));
    assert_eq!(
        client.get("/inspections?status=lost").await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn demo_data_adds_two_templates_and_completed_inspections() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    plot(&app, &acme, "Mill Park").await;
    sqlx::query("UPDATE plots SET completion_date = '2025-01-10'")
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    plotcare::db::inspections::load_demo(&mut tx).await.unwrap();
    plotcare::db::inspections::load_demo(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        app.count("SELECT count(*) FROM inspection_templates").await,
        2
    );
    assert_eq!(
        app.count("SELECT count(*) FROM inspections WHERE status = 'completed'")
            .await,
        1
    );
}
