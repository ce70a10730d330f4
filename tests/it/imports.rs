//! Bulk import of plots and contacts: the preview shows each row's problems,
//! then everything is imported in one transaction, or nothing.

use plotcare::{
    auth::TenantTx,
    db::imports::{self, NewContract, NewPlot},
    domain::Role,
};
use reqwest::StatusCode;
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use uuid::Uuid;

use crate::common::{
    TestApp, TestClient, TestTenant,
    corpus::{bomb_workbook, sparse_workbook},
    extract_attr,
};

/// Uploads a file to the preview as a browser's multipart form does (the CSRF token in the query string).
async fn upload(
    client: &TestClient,
    kind: &str,
    file_name: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    let token = client.csrf_token().await;
    let boundary = "----plotcare-test-boundary";
    let mut body = Vec::new();
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\n{kind}\r\n")
            .as_bytes(),
    );
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .as_bytes(),
    );
    body.extend(bytes);
    body.extend(format!("\r\n--{boundary}--\r\n").as_bytes());
    client
        .http
        .post(client.url(&format!("/imports/preview?csrf_token={token}")))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The batch id in the preview's confirm form.
fn batch_id(body: &str) -> String {
    let action =
        extract_attr(body, "<form method=\"post\" action=\"/imports/").expect("a confirm form");
    action.trim_end_matches("/confirm").to_owned()
}

/// A scheme with the contracts "Phase 1" and "Affordable".
async fn scheme_with_contracts(app: &TestApp, tenant: &TestTenant, name: &str) -> (Uuid, Uuid) {
    let scheme = app.create_scheme(tenant, name).await;
    let phase1 = NewContract {
        id: Uuid::now_v7(),
        scheme_id: scheme,
        name: "Phase 1".into(),
        contract_type: "private_sale".into(),
        ..Default::default()
    };
    let affordable = NewContract {
        id: Uuid::now_v7(),
        scheme_id: scheme,
        name: "Affordable".into(),
        contract_type: "affordable".into(),
        ..Default::default()
    };
    let mut tx = TenantTx::begin(&app.pool, tenant.tenant).await.unwrap();
    imports::insert_contracts(&mut tx, &[phase1.clone(), affordable])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (scheme, phase1.id)
}

const PLOTS_HEAD: &str = "scheme,contract,plot_number,address_line1,address_line2,town,postcode,house_type,bedrooms,reservation_date,completion_date,homeowner_name,homeowner_phone,homeowner_email\n";

#[tokio::test]
async fn a_file_with_one_bad_row_imports_nothing_and_names_the_row() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    scheme_with_contracts(&app, &acme, "Meadowbank Park").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let csv = format!(
        "{PLOTS_HEAD}Meadowbank Park,Phase 1,1,1 Larch Close,,Warrington,WA4 2TX,The Aspen,3,2025-01-15,2025-06-30,Jane Example,07700 900123,jane@example.com\n\
         Meadowbank Park,Phase 1,2,3 Larch Close,,Warrington,XYZ,The Birch,4,,,,,\n\
         Meadowbank Park,Phase 1,3,5 Larch Close,,Warrington,WA4 2TX,The Birch,4,2025-05-01,2025-04-01,,,\n"
    );

    let response = upload(&client, "plots", "plots.csv", csv.into_bytes()).await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("Row 3: postcode &#x27;XYZ&#x27; is not a UK postcode")
            || body.contains("Row 3: postcode &#39;XYZ&#39; is not a UK postcode"),
        "{body}"
    );
    assert!(
        body.contains(
            "Row 4: the completion date 2025-04-01 is before the reservation date 2025-05-01"
        ),
        "{body}"
    );
    assert!(body.contains("Nothing has been imported: 2 of 3 row(s) have problems"));
    assert!(
        !body.contains("/confirm"),
        "no way to import a file with problems"
    );
    assert_eq!(app.count("SELECT count(*) FROM plots").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM import_batches").await, 0);
}

#[tokio::test]
async fn plot_numbers_taken_in_the_scheme_or_twice_in_the_file_and_unknown_names_are_named() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let (scheme, contract) = scheme_with_contracts(&app, &acme, "Meadowbank Park").await;
    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    imports::insert_plots(
        &mut tx,
        &[NewPlot {
            id: Uuid::now_v7(),
            scheme_id: scheme,
            contract_id: contract,
            plot_number: "12".into(),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let csv = "scheme,contract,plot_number\nMeadowbank Park,Phase 1,12\nMeadowbank Park,Phase 1,13\nMeadowbank Park,Phase 1,13\nNowhere,Phase 1,1\nMeadowbank Park,Phase 7,14\n";

    let response = upload(&client, "plots", "plots.csv", csv.into()).await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("Row 2: plot number 12 already exists in Meadowbank Park"),
        "{body}"
    );
    assert!(body.contains("Row 4: plot number 13 appears more than once for Meadowbank Park in this file (first on row 3)"), "{body}");
    assert!(body.contains("Row 5: there is no scheme called"), "{body}");
    assert!(
        body.contains("Row 6: there is no contract called"),
        "{body}"
    );
    assert_eq!(app.count("SELECT count(*) FROM plots").await, 1);
}

#[tokio::test]
async fn a_good_csv_imports_every_plot_and_homeowner_in_one_go() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    scheme_with_contracts(&app, &acme, "Meadowbank Park").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let mut csv = PLOTS_HEAD.to_owned();
    for n in 1..=30 {
        let owner = if n % 2 == 0 {
            format!("Owner {n},07700 900{n:03},owner{n}@example.com")
        } else {
            ",,".into()
        };
        csv.push_str(&format!("meadowbank park,Phase 1,{n},{n} Larch Close,,Warrington,wa42tx,The Aspen,3,01/02/2025,2025-06-30,{owner}\n"));
    }

    let preview = upload(&client, "plots", "meadowbank.csv", csv.into_bytes()).await;
    assert_eq!(preview.status(), StatusCode::OK);
    let body = preview.text().await.unwrap();
    assert!(
        body.contains("No problems found") && body.contains("Import 30 row(s)"),
        "{body}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM plots").await,
        0,
        "the preview saves nothing"
    );

    let confirm = client
        .post_form(&format!("/imports/{}/confirm", batch_id(&body)), &[])
        .await;

    assert_eq!(confirm.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM plots WHERE postcode = 'WA4 2TX' AND reservation_date = '2025-02-01'").await, 30);
    assert_eq!(app.count("SELECT count(*) FROM plot_homeowners h JOIN contacts c ON c.id = h.contact_id WHERE c.kind = 'homeowner' AND h.from_date = '2025-06-30'").await, 15);
    assert_eq!(app.count("SELECT count(*) FROM audit_events WHERE action = 'import.completed' AND (changes ->> 'rows')::int = 30").await, 1);

    // A second click on the same confirm imports nothing more.
    let again = client
        .post_form(&format!("/imports/{}/confirm", batch_id(&body)), &[])
        .await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM plots").await, 30);
}

#[tokio::test]
async fn a_good_xlsx_imports_every_plot() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    scheme_with_contracts(&app, &acme, "Meadowbank Park").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (col, heading) in [
        "Scheme",
        "Contract",
        "Plot number",
        "Postcode",
        "Bedrooms",
        "Completion date",
        "Homeowner name",
    ]
    .iter()
    .enumerate()
    {
        sheet.write_string(0, col as u16, *heading).unwrap();
    }
    let date_format = Format::new().set_num_format("dd/mm/yyyy");
    for n in 1..=12u32 {
        sheet.write_string(n, 0, "Meadowbank Park").unwrap();
        sheet.write_string(n, 1, "Affordable").unwrap();
        sheet.write_number(n, 2, f64::from(n)).unwrap();
        sheet.write_string(n, 3, "WA4 2TX").unwrap();
        sheet.write_number(n, 4, 2).unwrap();
        sheet
            .write_datetime_with_format(
                n,
                5,
                ExcelDateTime::from_ymd(2024, 11, 5).unwrap(),
                &date_format,
            )
            .unwrap();
        sheet.write_string(n, 6, format!("Tenant {n}")).unwrap();
    }
    let bytes = book.save_to_buffer().unwrap();

    let preview = upload(&client, "plots", "plots.xlsx", bytes).await;
    assert_eq!(preview.status(), StatusCode::OK);
    let body = preview.text().await.unwrap();
    assert!(body.contains("Import 12 row(s)"), "{body}");
    let confirm = client
        .post_form(&format!("/imports/{}/confirm", batch_id(&body)), &[])
        .await;

    assert_eq!(confirm.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM plots p JOIN contracts c ON c.id = p.contract_id WHERE c.name = 'Affordable' AND p.bedrooms = 2 AND p.completion_date = '2024-11-05' AND p.plot_number ~ '^[0-9]+$'")
            .await,
        12
    );
    assert_eq!(app.count("SELECT count(*) FROM plot_homeowners").await, 12);
}

#[tokio::test]
async fn contacts_import_companies_with_their_people_and_trades() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    app.create_company(&acme, "Brightwater Plumbing Ltd").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let csv = "kind,name,company_name,emails,phones,address,notes,trades\n\
               subcontractor_company,Northway Electrical Ltd,,office@northway.test,01925 555010,,,electrical; heating\n\
               subcontractor_person,Mo Ahmed,Northway Electrical Ltd,mo@northway.test,07700 900456,,,\n\
               subcontractor_person,Dan Fletcher,Brightwater Plumbing Ltd,,07700 900111,,,\n\
               client,Northern Housing Association,,repairs@nha.test,,,,\n";

    let preview = upload(&client, "contacts", "contacts.csv", csv.into()).await;
    assert_eq!(preview.status(), StatusCode::OK);
    let body = preview.text().await.unwrap();
    let confirm = client
        .post_form(&format!("/imports/{}/confirm", batch_id(&body)), &[])
        .await;

    assert_eq!(confirm.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT count(*) FROM contacts").await, 5);
    assert_eq!(
        app.count("SELECT count(*) FROM contacts p JOIN contacts c ON c.id = p.company_id WHERE p.name = 'Mo Ahmed' AND c.trades = '{electrical,heating}'").await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM contacts p JOIN contacts c ON c.id = p.company_id WHERE p.name = 'Dan Fletcher' AND c.name = 'Brightwater Plumbing Ltd'").await, 1);
}

#[tokio::test]
async fn confirming_checks_again_and_imports_nothing_if_a_plot_number_was_taken_meanwhile() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let (scheme, contract) = scheme_with_contracts(&app, &acme, "Meadowbank Park").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let preview = upload(
        &client,
        "plots",
        "plots.csv",
        "scheme,contract,plot_number\nMeadowbank Park,Phase 1,1\nMeadowbank Park,Phase 1,2\n"
            .into(),
    )
    .await;
    let body = preview.text().await.unwrap();
    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    imports::insert_plots(
        &mut tx,
        &[NewPlot {
            id: Uuid::now_v7(),
            scheme_id: scheme,
            contract_id: contract,
            plot_number: "2".into(),
            ..Default::default()
        }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let confirm = client
        .post_form(&format!("/imports/{}/confirm", batch_id(&body)), &[])
        .await;

    assert_eq!(confirm.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = confirm.text().await.unwrap();
    assert!(
        page.contains("Row 3: plot number 2 already exists in Meadowbank Park"),
        "{page}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM plots").await,
        1,
        "plot 1 was not imported either"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'import.completed'")
            .await,
        0
    );
}

#[tokio::test]
async fn another_tenants_admin_cannot_confirm_a_batch_and_does_not_see_its_schemes() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let other = app.create_tenant("other").await;
    scheme_with_contracts(&app, &acme, "Meadowbank Park").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let preview = upload(
        &app.sign_in(&staff).await,
        "plots",
        "plots.csv",
        "scheme,contract,plot_number\nMeadowbank Park,Phase 1,1\n".into(),
    )
    .await;
    let batch = batch_id(&preview.text().await.unwrap());
    let intruder = app.sign_in_admin(&other.admin).await;

    let confirm = intruder
        .post_form(&format!("/imports/{batch}/confirm"), &[])
        .await;
    assert_eq!(confirm.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT count(*) FROM plots").await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM import_batches WHERE completed_at IS NULL")
            .await,
        1
    );

    // Their own upload naming the other tenant's scheme finds nothing.
    let theirs = upload(
        &intruder,
        "plots",
        "plots.csv",
        "scheme,contract,plot_number\nMeadowbank Park,Phase 1,1\n".into(),
    )
    .await;
    assert_eq!(theirs.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        theirs
            .text()
            .await
            .unwrap()
            .contains("Row 2: there is no scheme called")
    );
}

#[tokio::test]
async fn the_import_page_offers_samples_and_refuses_out_of_hours_users_and_subcontractors() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let oncall = app.create_user(&acme, Role::Emergency, None, false).await;
    let company = app.create_company(&acme, "Brightwater Plumbing Ltd").await;
    let dan = app
        .create_user(&acme, Role::Subcontractor, Some(company), false)
        .await;

    let client = app.sign_in(&staff).await;
    let (status, body) = client.page("/imports").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("/imports/sample/plots.csv") && body.contains("/imports/sample/contacts.csv")
    );
    let sample = client.get("/imports/sample/plots.csv").await;
    assert_eq!(sample.status(), StatusCode::OK);
    assert!(
        sample.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        sample
            .text()
            .await
            .unwrap()
            .starts_with("scheme,contract,plot_number")
    );

    let oncall = app.sign_in(&oncall).await;
    assert_eq!(oncall.page("/imports").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        upload(
            &oncall,
            "plots",
            "p.csv",
            "scheme,contract,plot_number\n".into()
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    let dan = app.sign_in(&dan).await;
    assert_eq!(dan.page("/imports").await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_upload_without_the_csrf_token_is_refused() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let response = client
        .http
        .post(client.url("/imports/preview"))
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nplots\r\n--x--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_file_with_unknown_columns_is_refused_with_a_plain_message() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let response = upload(
        &client,
        "plots",
        "p.csv",
        "scheme,contract,plot,colour\nA,B,1,red\n".into(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("columns we don&#x27;t know: plot, colour")
            || body.contains("columns we don&#39;t know: plot, colour"),
        "{body}"
    );
}

// ---------------------------------------------------------------- files built to hurt

async fn assert_healthy(app: &TestApp) {
    let health = app.client().get("/healthz").await;
    assert_eq!(health.status(), StatusCode::OK, "the server is still up");
}

#[tokio::test]
async fn a_sparse_workbook_with_cells_at_a1_and_xfd1048576_is_refused_and_the_server_stays_up() {
    // Arrange: the 1.6 KB workbook that made the grid allocate 549,755,813,888 bytes.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let sparse = sparse_workbook();
    assert!(sparse.len() < 2048, "{} bytes", sparse.len());

    // Act
    let started = std::time::Instant::now();
    let response = upload(&client, "plots", "plots.xlsx", sparse).await;

    // Assert: a plain answer next to the file field, and the server answers on.
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(body.contains("id=\"file-error\""), "{body}");
    assert!(body.contains("Cell XFD1048576 holds a value"), "{body}");
    println!("answered in {:?}", started.elapsed());
    assert_healthy(&app).await;
    assert_eq!(app.count("SELECT count(*) FROM import_batches").await, 0);
}

#[tokio::test]
async fn a_workbook_of_a_million_tiny_shared_strings_is_too_large_to_import() {
    // Each shared string costs the parser a string of its own, whatever its length: 23 MB of
    // one-letter strings (1.4 million) would take some 80 MB per workbook being read.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    let response = upload(
        &client,
        "contacts",
        "contacts.xlsx",
        crate::common::corpus::shared_strings_workbook(23),
    )
    .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(body.contains("This file is too large to import"), "{body}");
    assert_healthy(&app).await;
}

#[tokio::test]
async fn workbooks_that_inflate_past_the_cap_are_too_large_to_import_even_several_at_once() {
    // Arrange: a sheet of 150 MB of rows (past the 100 MB cap) that deflates to little.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let bomb = bomb_workbook(150);
    assert!(bomb.len() < 2 * 1024 * 1024, "{} bytes", bomb.len());

    // Act: three at once, with the sparse workbook too.
    let started = std::time::Instant::now();
    let answers = futures_util::future::join_all(
        [bomb.clone(), bomb.clone(), bomb, sparse_workbook()]
            .into_iter()
            .map(|file| upload(&client, "contacts", "contacts.xlsx", file)),
    )
    .await;

    // Assert: each is refused with the reason, and the server answers on.
    for (i, response) in answers.into_iter().enumerate() {
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = response.text().await.unwrap();
        let expected = if i < 3 {
            "This file is too large to import: it unpacks to more than 100 MB"
        } else {
            "Cell XFD1048576 holds a value"
        };
        assert!(body.contains(expected), "{body}");
    }
    println!("answered in {:?}", started.elapsed());
    assert_healthy(&app).await;
}

#[tokio::test]
async fn a_file_past_10_mb_is_too_large_to_import() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let mut csv = PLOTS_HEAD.to_string();
    while csv.len() <= 10 * 1024 * 1024 {
        csv.push_str("Meadowbank Park,Phase 1,1,1 Larch Close,,Warrington,WA4 2TX,,,,,,,\n");
    }
    let response = upload(&client, "plots", "plots.csv", csv.into_bytes()).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("This file is too large to import: it is larger than 10 MB"),
        "{body}"
    );
}
