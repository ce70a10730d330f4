//! Exports: an admin's data return. The workbooks are opened with calamine and
//! checked row for row against the database; a killed worker's export is
//! redone exactly once; each tenant's zip holds only its own rows and files;
//! only the tenant's admins download, and only for 7 days.

use std::{
    collections::HashMap,
    io::{Cursor, Read},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use bytes::Bytes;
use calamine::{Data, DataType, Reader, Xlsx};
use plotcare::{
    domain::Role,
    export::{self, Settings},
    media::MediaKey,
};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{
    APP_ROLE, Options, TestApp, TestTenant,
    s3::{self, S3Server},
};

const LONG_LEN: usize = 40_000;

/// Texts a spreadsheet could get wrong.
pub fn tricky_texts() -> Vec<String> {
    vec![
        "=1+1".to_owned(),
        "+44 20 7946 0000".to_owned(),
        "@SUM(A1:A2)".to_owned(),
        "-2+3".to_owned(),
        "Ünïcødé — 日本語 — emoji 😀, quotes \"'<>&".to_owned(),
        format!("{}end", "long text ".repeat(LONG_LEN / 10)),
    ]
}

/// A scheme, contract, plot, homeowner, tickets with commentary (the tricky texts), an appointment,
/// a nomination and a stored file. `marker` goes in names so another tenant's rows can be spotted.
pub async fn seed(app: &TestApp, t: &TestTenant, marker: &str) -> Uuid {
    let sql = format!(
        "WITH s AS (INSERT INTO schemes (tenant_id, id, name, reference_code) VALUES ('{tid}', '{s}', 'Scheme {marker}', 'SC-{marker}') RETURNING id),
              c AS (INSERT INTO contracts (tenant_id, id, scheme_id, name, start_date) SELECT '{tid}', '{c}', id, 'Contract {marker}', '2024-02-29' FROM s RETURNING id, scheme_id),
              p AS (INSERT INTO plots (tenant_id, id, scheme_id, contract_id, plot_number, bedrooms, completion_date) SELECT '{tid}', '{p}', scheme_id, id, '12', 3, '2024-03-01' FROM c RETURNING id),
              h AS (INSERT INTO contacts (tenant_id, id, kind, name, emails) VALUES ('{tid}', '{h}', 'homeowner', 'Homeowner {marker}', ARRAY['h@{marker}.test']) RETURNING id)
         INSERT INTO plot_homeowners (tenant_id, id, plot_id, contact_id, from_date) SELECT '{tid}', '{ph}', p.id, h.id, '2024-03-01' FROM p, h",
        tid = t.id,
        s = Uuid::now_v7(),
        c = Uuid::now_v7(),
        p = Uuid::now_v7(),
        h = Uuid::now_v7(),
        ph = Uuid::now_v7(),
    );
    sqlx::raw_sql(&sql).execute(&app.admin_pool).await.unwrap();
    let ticket = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO tickets (tenant_id, id, number, plot_id, scheme_id, contract_id, title, description, category, reported_via,
                              reported_at, priority, internal_cost, created_by)
         SELECT p.tenant_id, $2, 42, p.id, p.scheme_id, p.contract_id, $3, $4, 'plumbing', 'phone', '2024-05-06T07:08:09Z', 'high', 123.45, $5
           FROM plots p WHERE p.tenant_id = $1",
    )
    .bind(t.id)
    .bind(ticket)
    .bind(format!("Leaking tap {marker}"))
    .bind("=HYPERLINK(\"http://evil\")")
    .bind(t.admin.id)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    for body in tricky_texts() {
        sqlx::query(
            "INSERT INTO ticket_comments (tenant_id, id, ticket_id, author_user_id, visibility, body) VALUES ($1, $2, $3, $4, 'internal', $5)",
        )
        .bind(t.id)
        .bind(Uuid::now_v7())
        .bind(ticket)
        .bind(t.admin.id)
        .bind(body)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO appointments (tenant_id, id, ticket_id, plot_id, day, window_start, window_end, notes)
         SELECT tenant_id, $2, id, plot_id, '2024-06-01', '08:00', '12:30', 'Bring a key' FROM tickets WHERE tenant_id = $1",
    )
    .bind(t.id)
    .bind(Uuid::now_v7())
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let company = app.create_company(t, &format!("Plumbers {marker}")).await;
    sqlx::query(
        "INSERT INTO nominations (tenant_id, id, ticket_id, company_id) VALUES ($1, $2, $3, $4)",
    )
    .bind(t.id)
    .bind(Uuid::now_v7())
    .bind(ticket)
    .bind(company)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    // A stored photo.
    let key = MediaKey::new(t.id, "tickets");
    let content = format!("photo of {marker}");
    let size = app
        .state
        .media
        .put(
            &key,
            "image/jpeg",
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(content))]),
        )
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO media_files (tenant_id, id, ticket_id, storage_key, original_name, content_type, size_bytes)
         VALUES ($1, $2, $3, $4, $5, 'image/jpeg', $6)",
    )
    .bind(t.id)
    .bind(Uuid::now_v7())
    .bind(ticket)
    .bind(key.as_str())
    .bind(format!("tap/../{marker}.jpg"))
    .bind(size as i64)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    ticket
}

/// Requests an export as the tenant's admin (through the page) and returns its id.
pub async fn request(app: &TestApp, client: &crate::common::TestClient, kind: &str) -> Uuid {
    let before = app.count("SELECT count(*) FROM exports").await;
    let r = client.post_form("/admin/exports", &[("kind", kind)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM exports").await, before + 1);
    sqlx::query_scalar("SELECT id FROM exports ORDER BY created_at DESC LIMIT 1")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

/// The bytes of each file the export produced, in part order.
pub async fn parts(app: &TestApp, export_id: Uuid) -> Vec<Vec<u8>> {
    let (status, parts): (String, serde_json::Value) =
        sqlx::query_as("SELECT status, parts FROM exports WHERE id = $1")
            .bind(export_id)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(status, "done", "the export did not finish");
    parts
        .as_array()
        .unwrap()
        .iter()
        .map(|p| std::fs::read(app.media_dir.path().join(p["key"].as_str().unwrap())).unwrap())
        .collect()
}

pub fn unzip(bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a complete zip");
    let mut files = HashMap::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        files.insert(f.name().unwrap().to_string(), data);
    }
    files
}

/// Every sheet of a workbook as rows of cells (the header row first).
pub fn sheets(xlsx: &[u8]) -> Vec<(String, Vec<Vec<Data>>)> {
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(xlsx.to_vec())).unwrap();
    let names = workbook.sheet_names().to_vec();
    names
        .into_iter()
        .map(|name| {
            let range = workbook.worksheet_range(&name).unwrap();
            let formulas = workbook.worksheet_formula(&name).unwrap();
            assert!(
                formulas.used_cells().all(|(_, _, f)| f.is_empty()),
                "sheet {name} holds a formula"
            );
            let rows = range.rows().map(|r| r.to_vec()).collect();
            (name, rows)
        })
        .collect()
}

fn text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        other => panic!("expected text, found {other:?}"),
    }
}

fn column(rows: &[Vec<Data>], header: &str) -> usize {
    rows[0]
        .iter()
        .position(|h| text(h) == header)
        .unwrap_or_else(|| panic!("no column {header}"))
}

/// The whole of a text cell: a long text's parts are joined from the Long text sheet.
fn full_text(
    all: &[(String, Vec<Vec<Data>>)],
    sheet: &str,
    row: usize,
    header: &str,
    cell: &Data,
) -> String {
    let s = text(cell);
    let Some(at) = s.find("…[continued on sheet '") else {
        return s;
    };
    let long = &all
        .iter()
        .find(|(n, _)| n == "Long text")
        .expect("a Long text sheet")
        .1;
    let mut parts: Vec<(f64, String)> = long[1..]
        .iter()
        .filter(|r| {
            text(&r[0]) == sheet && r[1] == Data::Float(row as f64 + 1.0) && text(&r[2]) == header
        })
        .map(|r| (r[3].as_f64().unwrap(), text(&r[4])))
        .collect();
    parts.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(!parts.is_empty(), "the marker points at no parts");
    s[..at].to_owned() + &parts.into_iter().map(|p| p.1).collect::<String>()
}

#[tokio::test]
async fn a_data_export_matches_the_database_row_for_row_and_never_holds_a_formula() {
    // Arrange
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    seed(&app, &acme, "acme").await;
    let client = app.sign_in_admin(&acme.admin).await;

    // Act
    let id = request(&app, &client, "data").await;
    export::run(&app.state, acme.tenant, id, &Settings::default())
        .await
        .unwrap();

    // Assert: one zip with a workbook per record type, a README and a manifest.
    let zips = parts(&app, id).await;
    assert_eq!(zips.len(), 1);
    let files = unzip(&zips[0]);
    for name in [
        "schemes.xlsx",
        "contracts.xlsx",
        "plots.xlsx",
        "contacts.xlsx",
        "plot_homeowners.xlsx",
        "tickets.xlsx",
        "ticket_commentary.xlsx",
        "nominations.xlsx",
        "appointments.xlsx",
        "files.xlsx",
        "inspections.xlsx",
        "inspection_items_and_results.xlsx",
        "inspection_commentary.xlsx",
        "users.xlsx",
        "audit_trail.xlsx",
        "README.xlsx",
        "manifest.json",
    ] {
        assert!(files.contains_key(name), "{name} missing from the zip");
    }
    // The manifest's checksums and row counts are true.
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    assert_eq!(manifest["tenant"]["slug"], "acme");
    for f in manifest["files"].as_array().unwrap() {
        let data = &files[f["name"].as_str().unwrap()];
        assert_eq!(
            f["sha256"].as_str().unwrap(),
            plotcare_sha256(data),
            "{}",
            f["name"]
        );
    }

    // Every workbook: one row per database row, in id order, ids and readable references beside them.
    let checks = [
        ("schemes.xlsx", "Schemes", "schemes", "Scheme id"),
        ("contracts.xlsx", "Contracts", "contracts", "Contract id"),
        ("plots.xlsx", "Plots", "plots", "Plot id"),
        ("contacts.xlsx", "Contacts", "contacts", "Contact id"),
        (
            "plot_homeowners.xlsx",
            "Plot homeowners",
            "plot_homeowners",
            "Record id",
        ),
        ("tickets.xlsx", "Tickets", "tickets", "Ticket id"),
        (
            "ticket_commentary.xlsx",
            "Ticket commentary",
            "ticket_comments",
            "Comment id",
        ),
        (
            "nominations.xlsx",
            "Nominations",
            "nominations",
            "Nomination id",
        ),
        (
            "appointments.xlsx",
            "Appointments",
            "appointments",
            "Appointment id",
        ),
        ("files.xlsx", "Files", "media_files", "File id"),
        ("users.xlsx", "Users", "users", "User id"),
        (
            "audit_trail.xlsx",
            "Audit trail",
            "audit_events",
            "Event id",
        ),
    ];
    for (file, sheet, table, id_header) in checks {
        let all = sheets(&files[file]);
        let rows = &all.iter().find(|(n, _)| n == sheet).unwrap().1;
        let ids: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT id::text FROM {table} WHERE tenant_id = $1 ORDER BY id"
        ))
        .bind(acme.id)
        .fetch_all(&app.admin_pool)
        .await
        .unwrap();
        let col = column(rows, id_header);
        let got: Vec<String> = rows[1..].iter().map(|r| text(&r[col])).collect();
        assert_eq!(got, ids, "{file}: rows differ from the database");
        let counted = manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == file)
            .unwrap()["sheets"][0]["rows"]
            .clone();
        assert_eq!(
            counted,
            serde_json::json!(ids.len()),
            "{file}: manifest row count"
        );
    }

    // Commentary: every body comes back exactly, as text (=, +, @ included), the long one joined from its parts.
    let all = sheets(&files["ticket_commentary.xlsx"]);
    let rows = &all[0].1;
    let bodies: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.body, u.email, 'T-' || lpad(t.number::text, 5, '0') FROM ticket_comments c
           JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.author_user_id
           JOIN tickets t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id
          WHERE c.tenant_id = $1 ORDER BY c.id",
    )
    .bind(acme.id)
    .fetch_all(&app.admin_pool)
    .await
    .unwrap();
    let (body_col, author_col, ticket_col) = (
        column(rows, "Comment"),
        column(rows, "Author"),
        column(rows, "Ticket"),
    );
    for (i, (body, email, reference)) in bodies.iter().enumerate() {
        let row = &rows[i + 1];
        assert_eq!(
            &full_text(&all, "Ticket commentary", i + 1, "Comment", &row[body_col]),
            body
        );
        assert_eq!(&text(&row[author_col]), email);
        assert_eq!(&text(&row[ticket_col]), reference);
        assert!(matches!(row[body_col], Data::String(_)));
    }
    let long_cell = rows
        .iter()
        .map(|r| text(&r[body_col]))
        .find(|s| s.contains("…[continued"))
        .expect("the long text is marked");
    assert!(long_cell.chars().count() <= 32_767);

    // Tickets: real dates and numbers, a description starting with "=" kept as text.
    let all = sheets(&files["tickets.xlsx"]);
    let rows = &all[0].1;
    let row = &rows[1];
    assert_eq!(text(&row[column(rows, "Reference")]), "T-00042");
    assert_eq!(
        text(&row[column(rows, "Description")]),
        "=HYPERLINK(\"http://evil\")"
    );
    assert_eq!(text(&row[column(rows, "Plot number")]), "12");
    assert_eq!(text(&row[column(rows, "Scheme")]), "Scheme acme");
    assert_eq!(row[column(rows, "Internal cost (£)")], Data::Float(123.45));
    match &row[column(rows, "Reported at")] {
        Data::DateTime(d) => assert!((d.as_f64() - 45418.297326).abs() < 1e-5, "{d:?}"),
        other => panic!("Reported at is not a date: {other:?}"),
    }
    let all = sheets(&files["appointments.xlsx"]);
    let rows = &all[0].1;
    assert!(matches!(rows[1][column(rows, "Day")], Data::DateTime(_)));
    assert!(matches!(
        rows[1][column(rows, "Window end")],
        Data::DateTime(_)
    ));
    let all = sheets(&files["plots.xlsx"]);
    assert_eq!(all[0].1[1][column(&all[0].1, "Bedrooms")], Data::Float(3.0));

    // The request is in the audit trail.
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'export.requested'")
            .await,
        1
    );
}

fn plotcare_sha256(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

#[tokio::test]
async fn rows_past_the_sheet_limit_continue_on_a_second_sheet() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    seed(&app, &acme, "acme").await;
    let client = app.sign_in_admin(&acme.admin).await;
    let id = request(&app, &client, "data").await;

    // Four data rows per sheet: the six comments continue on "Ticket commentary (2)".
    let settings = Settings {
        max_sheet_rows: 5,
        batch_rows: 4,
        ..Settings::default()
    };
    export::run(&app.state, acme.tenant, id, &settings)
        .await
        .unwrap();

    let files = unzip(&parts(&app, id).await[0]);
    let all = sheets(&files["ticket_commentary.xlsx"]);
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[..2], ["Ticket commentary", "Ticket commentary (2)"]);
    assert_eq!(all[0].1.len(), 5);
    assert_eq!(all[1].1.len(), 3, "header and the last two comments");
    assert_eq!(
        text(&all[1].1[0][0]),
        "Ticket",
        "the continuation has its header row"
    );
    // The sheets are written side by side; the long comment, last, is on the second one,
    // and its further parts on the Long text sheet say so.
    assert_eq!(names[2], "Long text");
    let rows = &all[1].1;
    let body = column(rows, "Comment");
    assert_eq!(
        full_text(&all, "Ticket commentary (2)", 2, "Comment", &rows[2][body]),
        tricky_texts()[5]
    );
}

#[tokio::test]
async fn each_tenants_export_holds_only_its_own_rows_and_files() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let beta = app.create_tenant("beta").await;
    seed(&app, &acme, "acmemark").await;
    seed(&app, &beta, "betamark").await;
    let acme_client = app.sign_in_admin(&acme.admin).await;
    let beta_client = app.sign_in_admin(&beta.admin).await;

    for (tenant, client, mine, theirs) in [
        (&acme, &acme_client, "acmemark", "betamark"),
        (&beta, &beta_client, "betamark", "acmemark"),
    ] {
        let data = request(&app, client, "data").await;
        export::run(&app.state, tenant.tenant, data, &Settings::default())
            .await
            .unwrap();
        let media = request(&app, client, "media").await;
        export::run(&app.state, tenant.tenant, media, &Settings::default())
            .await
            .unwrap();

        let mut seen_mine = false;
        for zip in parts(&app, data)
            .await
            .iter()
            .chain(parts(&app, media).await.iter())
        {
            for (name, bytes) in unzip(zip) {
                assert!(!name.contains(theirs), "{name} belongs to the other tenant");
                if name.ends_with(".xlsx") {
                    for (_, rows) in sheets(&bytes) {
                        for cell in rows.iter().flatten() {
                            let s = cell.to_string();
                            assert!(!s.contains(theirs), "the other tenant's {s} is in {name}");
                            seen_mine |= s.contains(mine);
                        }
                    }
                } else if !name.ends_with(".json") {
                    assert_eq!(String::from_utf8_lossy(&bytes), format!("photo of {mine}"));
                }
            }
        }
        assert!(seen_mine);
    }
}

#[tokio::test]
async fn a_media_export_is_split_into_parts_with_folders_and_an_index() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = seed(&app, &acme, "acme").await;
    // Two more photos, same name, on the same ticket.
    for _ in 0..2 {
        let key = MediaKey::new(acme.id, "tickets");
        let body = Bytes::from(vec![7u8; 2000]);
        app.state
            .media
            .put(
                &key,
                "image/png",
                futures_util::stream::iter([Ok::<_, std::io::Error>(body)]),
            )
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO media_files (tenant_id, id, ticket_id, storage_key, original_name, content_type, size_bytes)
             VALUES ($1, $2, $3, $4, 'Kitchen: tap?.png', 'image/png', 2000)",
        )
        .bind(acme.id)
        .bind(Uuid::now_v7())
        .bind(ticket)
        .bind(key.as_str())
        .execute(&app.admin_pool)
        .await
        .unwrap();
    }
    let client = app.sign_in_admin(&acme.admin).await;
    let id = request(&app, &client, "media").await;

    export::run(
        &app.state,
        acme.tenant,
        id,
        &Settings {
            media_part_bytes: 1000,
            ..Settings::default()
        },
    )
    .await
    .unwrap();

    let zips = parts(&app, id).await;
    assert_eq!(
        zips.len(),
        2,
        "the small photo and the first 2,000-byte one fill part 1 past 1,000 bytes; the next starts part 2"
    );
    let mut paths = Vec::new();
    for zip in &zips {
        paths.extend(unzip(zip).into_keys());
    }
    let folder = "Scheme acme (SC-acme)/Plot 12/T-00042";
    assert!(
        paths.contains(&format!("{folder}/Kitchen_ tap_.png")),
        "{paths:?}"
    );
    assert!(
        paths.contains(&format!("{folder}/Kitchen_ tap_ (2).png")),
        "{paths:?}"
    );
    assert!(
        paths.contains(&format!("{folder}/tap_.._acme.jpg")),
        "{paths:?}"
    );
    let last = unzip(zips.last().unwrap());
    let index = sheets(&last["index.xlsx"]);
    let rows = &index[0].1;
    assert_eq!(rows.len(), 4, "header and three files");
    assert_eq!(text(&rows[1][column(rows, "Ticket")]), "T-00042");
    assert!(last.contains_key("manifest.json"));
    assert_eq!(
        app.count(&format!("SELECT rows_done FROM exports WHERE id = '{id}'"))
            .await,
        3
    );
}

#[tokio::test]
async fn only_the_tenants_admins_download_and_only_until_it_expires() {
    // Arrange: a finished export.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let beta = app.create_tenant("beta").await;
    seed(&app, &acme, "acme").await;
    let admin = app.sign_in_admin(&acme.admin).await;
    let id = request(&app, &admin, "data").await;
    export::run(&app.state, acme.tenant, id, &Settings::default())
        .await
        .unwrap();
    let path = format!("/admin/exports/{id}/download");

    // The admin gets a short-lived link to the zip.
    let r = admin.get(&path).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let link = r.headers()["location"].to_str().unwrap().to_owned();
    let zip = admin.get(&link).await;
    assert_eq!(zip.status(), StatusCode::OK);
    assert!(zip.bytes().await.unwrap().starts_with(b"PK"));
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'export.downloaded'")
            .await,
        1
    );

    // Staff, a subcontractor and another tenant's admin cannot.
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let company = app.create_company(&acme, "Pipes Ltd").await;
    let sub = app
        .create_user(&acme, Role::Subcontractor, Some(company), false)
        .await;
    for user in [staff, sub] {
        let client = app.sign_in(&user).await;
        assert_eq!(
            client.get(&path).await.status(),
            StatusCode::FORBIDDEN,
            "{:?}",
            user.role
        );
        assert_eq!(
            client
                .get(&format!("/admin/exports/{id}/progress"))
                .await
                .status(),
            StatusCode::FORBIDDEN
        );
    }
    let other = app.sign_in_admin(&beta.admin).await;
    assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND);
    let (status, page) = other.page("/admin/exports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!page.contains(&id.to_string()));

    // After 7 days: refused, and the file is gone.
    let key: String = sqlx::query_scalar("SELECT parts->0->>'key' FROM exports WHERE id = $1")
        .bind(id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    sqlx::query("UPDATE exports SET expires_at = now() - interval '1 minute' WHERE id = $1")
        .bind(id)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(admin.get(&path).await.status(), StatusCode::GONE);
    assert!(
        !app.media_dir.path().join(&key).exists(),
        "the expired file is deleted"
    );
    let (_, page) = admin.page("/admin/exports").await;
    assert!(page.contains("Expired"));
}

#[tokio::test]
async fn a_failed_export_says_why_and_can_be_retried() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let admin = app.sign_in_admin(&acme.admin).await;
    let id = request(&app, &admin, "data").await;
    sqlx::query("UPDATE exports SET status = 'failed', error = 'The export could not be finished: disk full' WHERE id = $1")
        .bind(id)
        .execute(&app.admin_pool)
        .await
        .unwrap();

    let (status, page) = admin.page("/admin/exports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("disk full"));
    assert!(page.contains(&format!("/admin/exports/{id}/retry")));

    let r = admin
        .post_form(&format!("/admin/exports/{id}/retry"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM exports WHERE id = '{id}' AND status = 'queued'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM jobs WHERE kind = 'export.run' AND done_at IS NULL")
            .await,
        2
    );
    export::run(&app.state, acme.tenant, id, &Settings::default())
        .await
        .unwrap();
    assert_eq!(parts(&app, id).await.len(), 1);
}

#[tokio::test]
async fn a_worker_killed_mid_export_is_rerun_and_leaves_exactly_one_complete_export() {
    // Arrange: enough tickets that small batches take a while, and a queued export.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = seed(&app, &acme, "acme").await;
    sqlx::query(
        "INSERT INTO ticket_comments (tenant_id, id, ticket_id, author_user_id, visibility, body)
         SELECT $1, gen_random_uuid(), $2, $3, 'shared', 'comment ' || g FROM generate_series(1, 200000) g",
    )
    .bind(acme.id)
    .bind(ticket)
    .bind(acme.admin.id)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let admin = app.sign_in_admin(&acme.admin).await;
    let id = request(&app, &admin, "data").await;
    let dir = app
        .media_dir
        .path()
        .join(format!("tenants/{}/exports", acme.id));
    let partials = || -> Vec<String> {
        std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".partial"))
                    .collect()
            })
            .unwrap_or_default()
    };
    let worker = |batch: &str| {
        Command::new(env!("CARGO_BIN_EXE_plotcare"))
            .arg("worker")
            .env_clear()
            .env(
                "DATABASE_URL",
                format!("postgres://{APP_ROLE}@127.0.0.1:5432/{}", app.db_name),
            )
            .env("MEDIA_DIR", app.media_dir.path())
            .env("SECRET_KEY", app.state.config.secret_key.expose())
            .env("EXPORT_BATCH_ROWS", batch)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let rows_done = || async {
        sqlx::query_as::<_, (String, i64)>("SELECT status, rows_done FROM exports WHERE id = $1")
            .bind(id)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap()
    };

    // Act: a worker starts the export and is killed half way, while its zip is half written.
    let mut first = worker("20");
    let started = Instant::now();
    loop {
        let (status, _) = rows_done().await;
        if status == "running" && !partials().is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the export never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let (status, _) = rows_done().await;
    assert_eq!(status, "running", "killed before it finished");
    assert_eq!(
        partials().len(),
        1,
        "the dead worker left its half-written zip"
    );

    // Its lease runs out; another worker picks the job up again.
    sqlx::query(
        "UPDATE jobs SET locked_until = now() - interval '1 second' WHERE kind = 'export.run'",
    )
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let mut second = worker("5000");
    let started = Instant::now();
    while rows_done().await.0 != "done" {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the rerun never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();

    // Assert: one export, one complete zip, every comment in it; no other finished object.
    let zips = parts(&app, id).await;
    assert_eq!(zips.len(), 1);
    let files = unzip(&zips[0]);
    let manifest: serde_json::Value = serde_json::from_slice(&files["manifest.json"]).unwrap();
    let commentary = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "ticket_commentary.xlsx")
        .unwrap();
    assert_eq!(commentary["sheets"][0]["rows"], 200_006);
    assert!(partials().is_empty(), "left over: {:?}", partials());
    let finished: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".partial"))
        .collect();
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM exports WHERE id = '{id}' AND status = 'done'"
        ))
        .await,
        1
    );
}

/// `count` comments of hex noise (3,200 characters each), which deflate only to about
/// half: enough of them make a zip of several S3 parts.
async fn noisy_comments(app: &TestApp, acme: &TestTenant, ticket: Uuid, count: i32) {
    sqlx::query(
        "INSERT INTO ticket_comments (tenant_id, id, ticket_id, author_user_id, visibility, body)
         SELECT $1, gen_random_uuid(), $2, $3, 'shared',
                (SELECT string_agg(md5(random()::text || g::text || k::text), '') FROM generate_series(1, 100) k)
           FROM generate_series(1, $4) g",
    )
    .bind(acme.id)
    .bind(ticket)
    .bind(acme.admin.id)
    .bind(count)
    .execute(&app.admin_pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn s3_a_worker_killed_mid_upload_is_taken_over_and_leaves_nothing_behind_in_the_bucket() {
    // Arrange: a data export of several 5 MiB parts on the S3-protocol server.
    let s3 = S3Server::start().await;
    let app = app_on_s3(&s3).await;
    let acme = app.create_tenant("acme").await;
    let ticket = seed(&app, &acme, "acme").await;
    noisy_comments(&app, &acme, ticket, 12000).await;
    let admin = app.sign_in_admin(&acme.admin).await;
    let id = request(&app, &admin, "data").await;
    // The worker binary on the S3 server, as in production; a short lease, so the test is quick.
    let worker = || {
        Command::new(env!("CARGO_BIN_EXE_plotcare"))
            .arg("worker")
            .env_clear()
            .env(
                "DATABASE_URL",
                format!("postgres://{APP_ROLE}@127.0.0.1:5432/{}", app.db_name),
            )
            .env("S3_BUCKET", &s3.bucket)
            .env("AWS_ENDPOINT_URL", &s3.endpoint)
            .env("S3_FORCE_PATH_STYLE", "true")
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", s3::ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", s3::SECRET_KEY)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("S3_PART_MB", "5")
            .env("SECRET_KEY", app.state.config.secret_key.expose())
            .env("JOB_LEASE_SECS", "6")
            .env("JOB_HEARTBEAT_SECS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let status = || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM exports WHERE id = $1")
            .bind(id)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap()
    };

    // Act: the first worker is killed (SIGKILL) while its multipart upload is unfinished
    // (once the upload's id is recorded: S3 gives it only after creating the upload).
    let mut first = worker();
    let started = Instant::now();
    while s3.unfinished_uploads().is_empty()
        || app
            .count("SELECT count(*) FROM export_uploads WHERE upload_id IS NOT NULL")
            .await
            == 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the upload never started (export {})",
            status().await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(status().await, "running", "killed before it finished");
    assert!(
        !s3.unfinished_uploads().is_empty(),
        "the dead worker left its upload"
    );
    let mut second = worker();
    let started = Instant::now();
    while status().await != "done" {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no complete export within two minutes of the new worker starting"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    second.kill().unwrap();
    second.wait().unwrap();

    // Assert: one complete export that unzips intact, with every comment ...
    let zips = s3_parts(&app, id).await;
    assert_eq!(zips.len(), 1);
    assert!(
        zips[0].len() > 2 * s3::PART_SIZE,
        "a zip of {} bytes",
        zips[0].len()
    );
    let files = unzip(&zips[0]);
    let rows = sheets(&files["ticket_commentary.xlsx"])[0].1.len() - 1;
    assert_eq!(
        rows as i64,
        app.count("SELECT count(*) FROM ticket_comments").await
    );
    // ... and nothing else in the bucket: no unfinished upload, no stray object.
    assert!(
        s3.unfinished_uploads().is_empty(),
        "{:?}",
        s3.unfinished_uploads()
    );
    let key: String = sqlx::query_scalar("SELECT parts->0->>'key' FROM exports WHERE id = $1")
        .bind(id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let exports: Vec<String> = s3
        .keys()
        .await
        .into_iter()
        .filter(|k| k.contains("/exports/"))
        .collect();
    assert_eq!(exports, vec![key]);
    assert_eq!(app.count("SELECT count(*) FROM export_uploads").await, 0);
}

/// The bytes of each part of a finished export, read back from the S3 server.
async fn s3_parts(app: &TestApp, export_id: Uuid) -> Vec<Vec<u8>> {
    let (status, parts): (String, serde_json::Value) =
        sqlx::query_as("SELECT status, parts FROM exports WHERE id = $1")
            .bind(export_id)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(status, "done", "the export did not finish");
    let mut out = Vec::new();
    for part in parts.as_array().unwrap() {
        let key = MediaKey::parse(part["key"].as_str().unwrap()).unwrap();
        let object = app.state.media.get(&key).await.unwrap();
        let mut body = object.body;
        let mut bytes = Vec::new();
        while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
            bytes.extend_from_slice(&chunk.unwrap());
        }
        assert_eq!(plotcare_sha256(&bytes), part["sha256"].as_str().unwrap());
        out.push(bytes);
    }
    out
}

fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

/// An app whose media store is the S3 server.
async fn app_on_s3(s3: &S3Server) -> TestApp {
    TestApp::spawn_with(Options {
        media: Some(s3.store.clone()),
        ..Default::default()
    })
    .await
}

/// How many multipart parts the object went up in (0 for a single put).
async fn s3_part_count(s3: &S3Server, key: &str) -> usize {
    let head = s3
        .client
        .head_object()
        .bucket(&s3.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let etag = head
        .e_tag()
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned();
    etag.rsplit_once('-').map_or(0, |(_, n)| n.parse().unwrap())
}

#[tokio::test]
async fn s3_a_media_export_of_several_parts_downloads_and_unzips_intact() {
    let s3 = S3Server::start().await;
    let app = app_on_s3(&s3).await;
    let acme = app.create_tenant("acme").await;
    let ticket = seed(&app, &acme, "acme").await;
    // Three photos of 6 MB each: a zip of over three S3 parts, ending in a smaller one.
    let mut photos = Vec::new();
    for n in 0..3u32 {
        let data = noise(6_000_000, n + 1);
        let key = MediaKey::new(acme.id, "tickets");
        app.state
            .media
            .put(
                &key,
                "image/jpeg",
                futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(data.clone()))]),
            )
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO media_files (tenant_id, id, ticket_id, storage_key, original_name, content_type, size_bytes)
             VALUES ($1, $2, $3, $4, $5, 'image/jpeg', 6000000)",
        )
        .bind(acme.id)
        .bind(Uuid::now_v7())
        .bind(ticket)
        .bind(key.as_str())
        .bind(format!("photo {n}.jpg"))
        .execute(&app.admin_pool)
        .await
        .unwrap();
        photos.push(data);
    }
    let client = app.sign_in_admin(&acme.admin).await;
    let id = request(&app, &client, "media").await;
    export::run(&app.state, acme.tenant, id, &Settings::default())
        .await
        .unwrap();

    let zips = s3_parts(&app, id).await;
    assert_eq!(zips.len(), 1);
    assert!(zips[0].len() > 3 * s3::PART_SIZE);
    let key: String = sqlx::query_scalar("SELECT parts->0->>'key' FROM exports WHERE id = $1")
        .bind(id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(s3_part_count(&s3, &key).await, 4);
    let files = unzip(&zips[0]);
    let folder = "Scheme acme (SC-acme)/Plot 12/T-00042";
    for (n, data) in photos.iter().enumerate() {
        assert!(
            files[&format!("{folder}/photo {n}.jpg")] == *data,
            "photo {n} differs in the zip"
        );
    }
    assert!(files.contains_key("index.xlsx") && files.contains_key("manifest.json"));
    assert!(s3.unfinished_uploads().is_empty());
}

#[tokio::test]
async fn s3_a_data_export_of_several_parts_downloads_and_unzips_intact() {
    let s3 = S3Server::start().await;
    let app = app_on_s3(&s3).await;
    let acme = app.create_tenant("acme").await;
    let ticket = seed(&app, &acme, "acme").await;
    // Comments of hex noise, which deflate only to about half: a zip of several S3 parts.
    noisy_comments(&app, &acme, ticket, 6000).await;
    let client = app.sign_in_admin(&acme.admin).await;
    let id = request(&app, &client, "data").await;
    export::run(&app.state, acme.tenant, id, &Settings::default())
        .await
        .unwrap();

    let zips = s3_parts(&app, id).await;
    assert_eq!(zips.len(), 1);
    let key: String = sqlx::query_scalar("SELECT parts->0->>'key' FROM exports WHERE id = $1")
        .bind(id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    assert!(
        s3_part_count(&s3, &key).await >= 2,
        "a zip of {} bytes",
        zips[0].len()
    );
    let files = unzip(&zips[0]);
    let workbook = &files["ticket_commentary.xlsx"];
    // One row per comment on the first sheet (the long text continues on a sheet of its own).
    let rows = sheets(workbook)[0].1.len() - 1;
    let stored = app.count("SELECT count(*) FROM ticket_comments").await;
    assert!(stored > 6000);
    assert_eq!(rows as i64, stored);
    assert!(s3.unfinished_uploads().is_empty());
}

#[tokio::test]
async fn a_media_exports_progress_counts_files_written_and_shows_all_done_only_when_done() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = seed(&app, &acme, "acme").await;
    // Files large enough that writing the zip takes a while after they are all read.
    for n in 0..24u32 {
        let key = MediaKey::new(acme.id, "tickets");
        let data = noise(1_500_000, n + 10);
        app.state
            .media
            .put(
                &key,
                "image/jpeg",
                futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(data))]),
            )
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO media_files (tenant_id, id, ticket_id, storage_key, original_name, content_type, size_bytes)
             VALUES ($1, $2, $3, $4, $5, 'image/jpeg', 1500000)",
        )
        .bind(acme.id)
        .bind(Uuid::now_v7())
        .bind(ticket)
        .bind(key.as_str())
        .bind(format!("photo {n}.jpg"))
        .execute(&app.admin_pool)
        .await
        .unwrap();
    }
    let client = app.sign_in_admin(&acme.admin).await;
    let id = request(&app, &client, "media").await;
    let state = app.state.clone();
    let tenant = acme.tenant;
    let run = tokio::spawn(async move {
        export::run(
            &state,
            tenant,
            id,
            &Settings {
                media_batch: 100,
                ..Settings::default()
            },
        )
        .await
    });
    // Watch the row the page shows, as often as we can, until the export is done.
    let mut seen = Vec::new();
    loop {
        let row: (String, i64, i64) =
            sqlx::query_as("SELECT status, rows_done, rows_total FROM exports WHERE id = $1")
                .bind(id)
                .fetch_one(&app.admin_pool)
                .await
                .unwrap();
        let finished = run.is_finished() && row.0 != "running";
        seen.push(row);
        if finished {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    run.await.unwrap().unwrap();
    let total = 25;
    for (status, done, of) in &seen {
        if status == "running" {
            assert_eq!(*of, total);
            assert!(
                *done < total,
                "the page showed {done} of {of} while the zip was still being written"
            );
        }
    }
    assert_eq!(seen.last().unwrap(), &("done".to_owned(), total, total));
    // Progress only ever went up.
    let running: Vec<i64> = seen
        .iter()
        .filter(|(s, _, _)| s == "running")
        .map(|(_, d, _)| *d)
        .collect();
    assert!(running.windows(2).all(|w| w[0] <= w[1]), "{running:?}");
}

#[tokio::test]
async fn ten_exports_on_one_worker_with_a_pool_of_five_all_finish() {
    let app = TestApp::spawn().await;
    assert_eq!(app.pool.options().get_max_connections(), 5);
    let acme = app.create_tenant("acme").await;
    seed(&app, &acme, "acme").await;
    let admin = app.sign_in_admin(&acme.admin).await;
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(request(&app, &admin, if n % 3 == 2 { "media" } else { "data" }).await);
    }
    let runner =
        plotcare::jobs::Runner::new(app.pool.clone(), app.state.media.clone(), &app.state.config)
            .unwrap()
            .with_options(plotcare::jobs::Options {
                batch: 10,
                idle_poll: Duration::from_millis(100),
                backoff_base: Duration::from_secs(1),
                backoff_cap: Duration::from_secs(2),
                ..Default::default()
            });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(runner.run(async move {
        let _ = stopped.await;
    }));
    let started = Instant::now();
    loop {
        let done = app
            .count("SELECT count(*) FROM exports WHERE status = 'done'")
            .await;
        if done == 10 {
            break;
        }
        let failed: Vec<(String, Option<String>)> =
            sqlx::query_as("SELECT status, error FROM exports WHERE status = 'failed'")
                .fetch_all(&app.admin_pool)
                .await
                .unwrap();
        assert!(failed.is_empty(), "{failed:?}");
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {done} of 10 exports finished"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop.send(());
    worker.await.unwrap();
    for id in ids {
        let zips = parts(&app, id).await;
        assert!(!zips.is_empty());
        for zip in zips {
            assert!(unzip(&zip).contains_key("manifest.json"));
        }
    }
    // No connection was left inside a transaction.
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' AND state LIKE 'idle in transaction%'",
            app.db_name
        ))
        .await,
        0
    );
}

/// A finished export of acme's data whose 7 days are over; its key.
async fn an_expired_export(app: &TestApp, acme: &TestTenant) -> (Uuid, String) {
    seed(app, acme, "acme").await;
    let admin = app.sign_in_admin(&acme.admin).await;
    let id = request(app, &admin, "data").await;
    export::run(&app.state, acme.tenant, id, &Settings::default())
        .await
        .unwrap();
    // It was made directly: its queued job has nothing left to do.
    sqlx::query("UPDATE jobs SET done_at = now() WHERE kind = 'export.run'")
        .execute(&app.admin_pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE exports SET expires_at = now() - interval '1 hour', finished_at = now() - interval '8 days' WHERE id = $1",
    )
    .bind(id)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let key: String = sqlx::query_scalar("SELECT parts->0->>'key' FROM exports WHERE id = $1")
        .bind(id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    (id, key)
}

async fn export_status(app: &TestApp, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM exports WHERE id = $1")
        .bind(id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_export_past_its_expiry_is_deleted_by_the_worker_without_anyone_opening_the_page() {
    // Arrange: an export past its 7 days; nobody visits the exports page.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let (id, key) = an_expired_export(&app, &acme).await;
    let file = app.media_dir.path().join(&key);
    assert!(file.exists());

    // Act: a worker starts (it schedules the expiry at start-up, then daily).
    let runner =
        plotcare::jobs::Runner::new(app.pool.clone(), app.state.media.clone(), &app.state.config)
            .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(runner.run(async move {
        let _ = stopped.await;
    }));
    let started = Instant::now();
    while export_status(&app, id).await != "expired" {
        assert!(started.elapsed() < Duration::from_secs(30), "never expired");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop.send(());
    worker.await.unwrap();

    // Assert: the file is gone from the store, the row is marked, the audit trail says so.
    assert!(!file.exists(), "the expired zip is still in the store");
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM exports WHERE id = '{id}' AND parts = '[]'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'export.expired'")
            .await,
        1
    );
}

#[tokio::test]
async fn an_expired_export_whose_file_cannot_be_deleted_stays_unmarked_and_is_tried_again() {
    // Arrange: an expired export whose file cannot be deleted (a directory stands in its
    // place: removing a file there fails, even for root).
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let (id, key) = an_expired_export(&app, &acme).await;
    let file = app.media_dir.path().join(&key);
    std::fs::remove_file(&file).unwrap();
    std::fs::create_dir_all(file.join("in-the-way")).unwrap();
    let runner =
        plotcare::jobs::Runner::new(app.pool.clone(), app.state.media.clone(), &app.state.config)
            .unwrap();

    // Act: the daily expiry runs and fails to delete.
    plotcare::auth::cross_tenant::enqueue_for_every_tenant(&app.pool, export::EXPIRE_JOB_KIND)
        .await
        .unwrap();
    assert_eq!(runner.run_once().await.unwrap(), 1);

    // Assert: the row keeps its file and is not marked; the job waits to try again.
    assert_eq!(export_status(&app, id).await, "done");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'export.expired'")
            .await,
        0
    );
    let (error, later): (Option<String>, bool) = sqlx::query_as(
        "SELECT last_error, run_at > now() FROM jobs WHERE kind = 'export.expire' AND done_at IS NULL AND failed_at IS NULL",
    )
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    assert!(error.unwrap().contains("could not be deleted"));
    assert!(later, "the retry waits for its backoff");
    // Scheduling again adds no second job while one waits.
    assert_eq!(
        plotcare::auth::cross_tenant::enqueue_for_every_tenant(&app.pool, export::EXPIRE_JOB_KIND)
            .await
            .unwrap(),
        0
    );

    // Act: the obstacle goes; the retry comes round.
    std::fs::remove_dir_all(&file).unwrap();
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'export.expire'")
        .execute(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(runner.run_once().await.unwrap(), 1);

    // Assert: now the row is marked expired.
    assert_eq!(export_status(&app, id).await, "expired");
}

#[tokio::test]
async fn the_data_return_writes_labels_beside_codes_and_the_ticket_history() {
    // Arrange: T-00042 is an in-progress complaint with one stage done, two status
    // changes on its timeline (and a comment entry that is not one), and an edited comment.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = seed(&app, &acme, "acme").await;
    let admin_id = acme.admin.id;
    let admin_email: String = sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(admin_id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let sql = format!(
        "UPDATE tickets SET status = 'in_progress', is_complaint = true, complaint_received_on = '2024-05-07' WHERE id = '{ticket}';
         INSERT INTO complaint_stages (tenant_id, ticket_id, stage, done_on, done_by)
              VALUES ('{t}', '{ticket}', 'acknowledgement', '2024-05-10', '{admin_id}');
         INSERT INTO ticket_events (tenant_id, id, ticket_id, occurred_at, actor_user_id, kind, data) VALUES
              ('{t}', '{e1}', '{ticket}', '2024-07-01 09:00:00+00', '{admin_id}', 'status_changed', '{{\"from\": \"open\", \"to\": \"on_hold\", \"note\": \"Parts on order\"}}'),
              ('{t}', '{e2}', '{ticket}', '2024-07-02 09:00:00+00', '{admin_id}', 'status_changed', '{{\"from\": \"on_hold\", \"to\": \"in_progress\"}}'),
              ('{t}', '{e3}', '{ticket}', '2024-07-03 09:00:00+00', '{admin_id}', 'comment_added', '{{}}');
         INSERT INTO ticket_comment_revisions (tenant_id, id, comment_id, body, edited_by, edited_at)
              SELECT tenant_id, '{r}', id, 'First version', '{admin_id}', '2024-01-15 12:00:00+00'
                FROM ticket_comments WHERE ticket_id = '{ticket}' ORDER BY id LIMIT 1;",
        t = acme.id,
        e1 = Uuid::now_v7(),
        e2 = Uuid::now_v7(),
        e3 = Uuid::now_v7(),
        r = Uuid::now_v7(),
    );
    sqlx::raw_sql(&sql).execute(&app.admin_pool).await.unwrap();
    let client = app.sign_in_admin(&acme.admin).await;

    // Act
    let id = request(&app, &client, "data").await;
    export::run(&app.state, acme.tenant, id, &Settings::default())
        .await
        .unwrap();
    let files = unzip(&parts(&app, id).await[0]);

    // Assert: labels, with the stored codes beside them where an integrator needs them.
    let all = sheets(&files["tickets.xlsx"]);
    let rows = &all[0].1;
    for (header, value) in [
        ("Status", "In progress"),
        ("Status code", "in_progress"),
        ("Priority", "High"),
        ("Priority code", "high"),
        ("Category", "Plumbing"),
        ("Category code", "plumbing"),
        ("Reported via", "Phone"),
    ] {
        assert_eq!(text(&rows[1][column(rows, header)]), value, "{header}");
    }
    let all = sheets(&files["users.xlsx"]);
    let rows = &all[0].1;
    let admin_row = rows
        .iter()
        .find(|r| text(&r[column(rows, "Email")]) == admin_email)
        .unwrap();
    assert_eq!(text(&admin_row[column(rows, "Role")]), "Admin");
    assert_eq!(text(&admin_row[column(rows, "Role code")]), "admin");
    let all = sheets(&files["audit_trail.xlsx"]);
    let rows = &all[0].1;
    let requested = rows
        .iter()
        .find(|r| text(&r[column(rows, "Action code")]) == "export.requested")
        .expect("the request is in the trail");
    assert_eq!(
        text(&requested[column(rows, "Action")]),
        "Requested an export"
    );
    assert_eq!(text(&requested[column(rows, "Record type")]), "Export");

    // Complaint stages: one row per complaint, each stage's date and who.
    let all = sheets(&files["complaint_stages.xlsx"]);
    assert_eq!(all[0].0, "Complaint stages");
    let rows = &all[0].1;
    assert_eq!(rows.len(), 2);
    assert_eq!(text(&rows[1][column(rows, "Ticket")]), "T-00042");
    match &rows[1][column(rows, "Written acknowledgement done on")] {
        // 2024-05-10 is day 45422 in Excel's count.
        Data::DateTime(d) => assert_eq!(d.as_f64(), 45422.0),
        other => panic!("not a date: {other:?}"),
    }
    assert_eq!(
        text(&rows[1][column(rows, "Written acknowledgement done by")]),
        admin_email
    );
    assert_eq!(
        rows[1][column(rows, "Path-to-resolution letter done on")],
        Data::Empty
    );

    // Ticket status history: the two status changes only, in words, in UK time.
    let all = sheets(&files["ticket_status_history.xlsx"]);
    assert_eq!(all[0].0, "Ticket status history");
    let rows = &all[0].1;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(text(&rows[1][column(rows, "Ticket")]), "T-00042");
    assert_eq!(text(&rows[1][column(rows, "From")]), "Open");
    assert_eq!(text(&rows[1][column(rows, "To")]), "On hold");
    assert_eq!(text(&rows[1][column(rows, "To code")]), "on_hold");
    assert_eq!(text(&rows[1][column(rows, "Note")]), "Parts on order");
    assert_eq!(text(&rows[1][column(rows, "Who")]), admin_email);
    assert_eq!(text(&rows[2][column(rows, "To")]), "In progress");
    match &rows[1][column(rows, "When (UK time)")] {
        // 09:00 UTC on 1 July 2024 is 10:00 in London (2024-07-01 is day 45474).
        Data::DateTime(d) => assert!((d.as_f64() - (45474.0 + 10.0 / 24.0)).abs() < 1e-6, "{d:?}"),
        other => panic!("not a date-time: {other:?}"),
    }

    // Comment revisions: the earlier text, who replaced it and when.
    let all = sheets(&files["comment_revisions.xlsx"]);
    assert_eq!(all[0].0, "Comment revisions");
    let rows = &all[0].1;
    assert_eq!(rows.len(), 2);
    assert_eq!(
        text(&rows[1][column(rows, "Earlier text")]),
        "First version"
    );
    assert_eq!(text(&rows[1][column(rows, "Replaced by")]), admin_email);
    assert_eq!(text(&rows[1][column(rows, "Ticket")]), "T-00042");
}
