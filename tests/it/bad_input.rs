//! Control characters in what people type: a NUL (which PostgreSQL cannot
//! store) or another control character in a text field is refused where the
//! form is parsed, with a message next to the field, on every form that takes
//! text; searches and filters answer a styled 400; nothing is saved.

use plotcare::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::{common::TestApp, inspections, portal};

const NUL_MESSAGE: &str = "Remove the hidden NUL character (U+0000)";

/// The form came back with the NUL message (by the field when `field` is given) and a 4xx.
async fn assert_refused(what: &str, response: reqwest::Response, field: Option<&str>) {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(
        status.is_client_error(),
        "{what}: expected a 4xx, got {status}: {body}"
    );
    assert!(
        body.contains(NUL_MESSAGE),
        "{what}: no NUL message in {body}"
    );
    if let Some(field) = field {
        let at = body.find(NUL_MESSAGE).unwrap();
        let before = &body[..at];
        let error_tag = before.rfind('<').map(|i| &before[i..]).unwrap_or_default();
        assert!(
            error_tag.contains(field) || before[before.len().saturating_sub(600)..].contains(field),
            "{what}: the message is not next to {field}: {error_tag}"
        );
    }
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.count(sql).await
}

struct Place {
    scheme: Uuid,
    contract: Uuid,
    plot: Uuid,
}

async fn place_of(app: &TestApp, ticket: Uuid) -> Place {
    let (scheme, contract, plot): (Uuid, Uuid, Uuid) =
        sqlx::query_as("SELECT scheme_id, contract_id, plot_id FROM tickets WHERE id = $1")
            .bind(ticket)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    Place {
        scheme,
        contract,
        plot,
    }
}

#[tokio::test]
async fn a_nul_in_any_text_field_is_refused_next_to_the_field_and_nothing_is_saved() {
    // Arrange: a tenant with a nominated job, its staff, admin and subcontractor.
    let app = TestApp::spawn().await;
    let job = portal::nominated_job(&app).await;
    let staff = &job.staff;
    let admin = app.sign_in_admin(&job.tenant.admin).await;
    let place = place_of(&app, job.ticket).await;
    let nul = "Meadow\0View";
    let schemes = count(&app, "SELECT count(*) FROM schemes").await;

    // Schemes, contracts, plots, homeowners.
    let r = staff
        .post_form(
            "/schemes/new",
            &[
                ("name", nul),
                ("warranty_provider", "nhbc"),
                ("warranty_months", "24"),
            ],
        )
        .await;
    assert_refused("scheme", r, Some("name")).await;
    let r = staff
        .post_form(
            &format!("/schemes/{}/edit", place.scheme),
            &[
                ("name", "Meadow"),
                ("address", "1 Road\0"),
                ("warranty_provider", "nhbc"),
                ("warranty_months", "24"),
            ],
        )
        .await;
    assert_refused("scheme address", r, Some("address")).await;
    let r = staff
        .post_form(
            &format!("/schemes/{}/contracts/new", place.scheme),
            &[("name", nul), ("contract_type", "private_sale")],
        )
        .await;
    assert_refused("contract", r, Some("name")).await;
    for field in [
        "plot_number",
        "address_line1",
        "town",
        "house_type",
        "access_notes",
    ] {
        let r = staff
            .post_form(
                &format!("/contracts/{}/plots/new", place.contract),
                &[
                    (
                        "plot_number",
                        if field == "plot_number" { nul } else { "77" },
                    ),
                    (field, nul),
                ][..if field == "plot_number" { 1 } else { 2 }],
            )
            .await;
        assert_refused(&format!("plot {field}"), r, Some(field)).await;
    }
    let r = staff
        .post_form(
            &format!("/plots/{}/homeowners", place.plot),
            &[("new_name", nul), ("from_date", "2025-01-01")],
        )
        .await;
    assert_refused("homeowner", r, Some("new_name")).await;

    // Contacts.
    for field in ["name", "company_name", "address", "notes"] {
        let r = staff
            .post_form(
                "/contacts/new",
                &[
                    ("kind", "homeowner"),
                    ("name", "Ann"),
                    (field, nul),
                    ("preferred_contact_method", "email"),
                ],
            )
            .await;
        assert_refused(&format!("contact {field}"), r, Some(field)).await;
    }

    // Tickets: the form, a status change, comments, appointments.
    for field in ["title", "description"] {
        let title = if field == "title" { nul } else { "Leaking tap" };
        let other = if field == "title" {
            "description"
        } else {
            field
        };
        let r = staff
            .post_form(
                &format!("/plots/{}/tickets/new", place.plot),
                &[
                    ("title", title),
                    ("category", "plumbing"),
                    ("reported_via", "phone"),
                    ("reported_at", "2025-03-03T09:00"),
                    ("priority", "medium"),
                    (other, nul),
                ],
            )
            .await;
        assert_refused(&format!("ticket {field}"), r, Some(field)).await;
    }
    let r = staff
        .post_form(
            &format!("/tickets/{}/edit", job.ticket),
            &[
                ("title", nul),
                ("category", "plumbing"),
                ("reported_via", "phone"),
                ("reported_at", "2025-03-03T09:00"),
                ("priority", "medium"),
            ],
        )
        .await;
    assert_refused("ticket edit", r, Some("title")).await;
    let r = staff
        .post_form(
            &format!("/tickets/{}/status", job.ticket),
            &[("to", "closed"), ("resolution", nul)],
        )
        .await;
    assert_refused("ticket status", r, Some("resolution")).await;
    let r = staff
        .post_form(
            &format!("/tickets/{}/comments", job.ticket),
            &[("body", nul), ("visibility", "internal")],
        )
        .await;
    assert_refused("comment", r, Some("body")).await;
    let r = staff
        .post_form(
            &format!("/tickets/{}/appointments", job.ticket),
            &[
                ("day", "2030-06-03"),
                ("window_start", "09:00"),
                ("window_end", "12:00"),
                ("with_whom", nul),
            ],
        )
        .await;
    assert_refused("appointment", r, Some("with_whom")).await;
    let r = staff
        .post_form(
            &format!("/tickets/{}/appointments", job.ticket),
            &[
                ("day", "2030-06-03"),
                ("window_start", "09:00"),
                ("window_end", "12:00"),
                ("notes", nul),
            ],
        )
        .await;
    assert_refused("appointment notes", r, Some("notes")).await;

    // The subcontractor: decline, then accept and complete; staff send back and close.
    let job_path = format!("/jobs/{}", job.ticket);
    let r = job
        .sub
        .post_form(&format!("{job_path}/decline"), &[("reason", nul)])
        .await;
    assert_refused("decline", r, Some("reason")).await;
    let accepted = job.sub.post_form(&format!("{job_path}/accept"), &[]).await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let r = job
        .sub
        .post_form(&format!("{job_path}/complete"), &[("note", nul)])
        .await;
    assert_refused("job completion", r, Some("note")).await;
    let done = job
        .sub
        .post_form(
            &format!("{job_path}/complete"),
            &[("note", "Replaced the cartridge")],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let ticket_path = format!("/tickets/{}", job.ticket);
    let r = staff
        .post_form(&format!("{ticket_path}/send-back"), &[("reason", nul)])
        .await;
    assert_refused("send back", r, Some("reason")).await;
    let r = staff
        .post_form(&format!("{ticket_path}/sign-off"), &[("resolution", nul)])
        .await;
    assert_refused("sign-off", r, Some("resolution")).await;
    assert_eq!(portal::status_of(&app, job.ticket).await, "completed");

    // Inspections: templates, answers, comments, sign-off.
    let r = admin
        .post_form(
            "/inspection-templates/new",
            &[
                ("name", nul),
                ("kind", "pre_completion"),
                ("label_0", "Doors"),
                ("kind_0", "pass_fail"),
            ],
        )
        .await;
    assert_refused("inspection template", r, Some("name")).await;
    let r = admin
        .post_form(
            "/inspection-templates/new",
            &[
                ("name", "Doors"),
                ("kind", "pre_completion"),
                ("label_0", nul),
                ("kind_0", "pass_fail"),
            ],
        )
        .await;
    assert_refused("inspection template item", r, None).await;
    let (_, version) = inspections::template(&app, &job.tenant).await;
    let inspection = inspections::schedule(staff, place.plot, version, job.staff_user.id).await;
    let r = inspections::save_json(staff, inspection, "1-1", "fail", nul).await;
    assert_refused("inspection answer notes", r, None).await;
    let r = inspections::post_multipart(
        staff,
        &format!("/inspections/{inspection}/answers"),
        &[("answer_1-1", "pass"), ("notes_1-1", nul)],
        &[],
    )
    .await;
    assert_refused("inspection answers form", r, None).await;
    let r = staff
        .post_form(
            &format!("/inspections/{inspection}/comments"),
            &[("body", nul), ("visibility", "internal")],
        )
        .await;
    assert_refused("inspection comment", r, Some("comment")).await;

    // Users, tokens, holidays.
    let r = admin
        .post_form(
            "/users/new",
            &[("name", nul), ("email", "new@acme.test"), ("role", "staff")],
        )
        .await;
    assert_refused("user", r, Some("name")).await;
    let r = staff.post_form("/account/tokens", &[("name", nul)]).await;
    assert_refused("token", r, Some("name")).await;
    let r = admin
        .post_form(
            "/admin/sla/holidays",
            &[("day", "2030-12-27"), ("name", nul)],
        )
        .await;
    assert_refused("holiday", r, Some("holiday_name")).await;

    // Nothing of it was saved.
    assert_eq!(count(&app, "SELECT count(*) FROM schemes").await, schemes);
    for table in [
        "contracts",
        "plots",
        "ticket_comments",
        "appointments",
        "inspection_comments",
        "api_tokens",
    ] {
        let with_nul = count(
            &app,
            &format!(
                "SELECT count(*) FROM {table} WHERE row_to_json({table})::text LIKE '%Meadow%View%'"
            ),
        )
        .await;
        assert_eq!(with_nul, 0, "{table}");
    }
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM users WHERE email = 'new@acme.test'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn other_control_characters_are_refused_and_line_breaks_are_kept_in_multi_line_text() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    let ticket = crate::comments::create_ticket(&app, &acme, None).await;

    // An escape sequence in a one-line field, and a line break where only one line is taken.
    let r = staff
        .post_form(
            "/schemes/new",
            &[
                ("name", "Red\u{1b}[31m"),
                ("region", "North\nEast"),
                ("warranty_provider", "nhbc"),
                ("warranty_months", "24"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Remove the hidden control character (U+001B)"),
        "{body}"
    );
    assert!(body.contains("Keep this to one line"), "{body}");

    // A comment keeps its lines and tabs.
    let saved =
        crate::comments::add_comment(&app, &staff, ticket, "First line\r\n\tindented", "internal")
            .await;
    let text: String = sqlx::query_scalar("SELECT body FROM ticket_comments WHERE id = $1")
        .bind(saved)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    assert!(text.contains('\n') && text.contains('\t'));
}

#[tokio::test]
async fn a_control_character_in_a_search_or_filter_gets_a_styled_400() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let admin = app.sign_in_admin(&acme.admin).await;
    for path in [
        "/tickets?q=tap%00",
        "/tickets?status=open%00",
        "/plots?q=%00",
        "/plots?scheme=%00",
        "/schemes?q=a%00&region=x",
        "/schemes?region=North%00",
        "/contacts?q=%00",
        "/inspections?from=%00",
        "/admin/audit?action=%00",
    ] {
        let (status, body) = admin.page(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(body.contains("<html"), "{path}: not the styled page");
        assert!(
            body.contains("The search or filter holds a hidden control character"),
            "{path}: {body}"
        );
    }
}

#[tokio::test]
async fn a_csv_cell_with_a_nul_stops_the_import_with_its_row_and_column() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app
        .sign_in(&app.create_user(&acme, Role::Staff, None, false).await)
        .await;
    let csv = "scheme,contract,plot_number,town\nMeadow,Phase 1,12,Yo\0rk\n";
    let token = staff.csrf_token().await;
    let boundary = "plotcareNulBoundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nplots\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"plots.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    );
    let response = staff
        .http
        .post(staff.url(&format!("/imports/preview?csrf_token={token}")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert!(status.is_client_error(), "{status}: {body}");
    assert!(body.contains("Row 2, column town"), "{body}");
    assert_eq!(app.count("SELECT count(*) FROM import_batches").await, 0);
}
