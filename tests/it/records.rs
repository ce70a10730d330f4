//! Schemes, contracts and plots as customer care meets them: validation next to
//! the field, postcode search, warranty badges, keyset pages, homeowners over
//! time, scheme restriction, read-only roles and tenant isolation.

use plotcare::{
    auth::TenantTx,
    db::{
        self,
        contracts::{ContractInput, ContractType},
        plots::PlotInput,
        schemes::{SchemeInput, WarrantyProvider},
    },
    domain::{Role, long_date},
};
use reqwest::StatusCode;
use time::{Date, Duration, OffsetDateTime, macros::date};
use uuid::Uuid;

use crate::common::{TestApp, TestClient, TestTenant};

/// A scheme with one contract and one plot, made through the db layer.
struct Records {
    scheme: Uuid,
    contract: Uuid,
    plot: Uuid,
}

fn scheme_input(name: &str) -> SchemeInput {
    SchemeInput {
        name: name.into(),
        reference_code: None,
        address: "1 Site Road".into(),
        region: "North".into(),
        warranty_provider: WarrantyProvider::Nhbc,
        warranty_months: 24,
        sla_enabled: true,
        site_manager: "Sam Site".into(),
    }
}

fn contract_input(name: &str, defects: Option<i32>) -> ContractInput {
    ContractInput {
        name: name.into(),
        contract_type: ContractType::PrivateSale,
        client_contact_id: None,
        defects_period_months: defects,
        start_date: None,
        end_date: None,
    }
}

fn plot_input(number: &str, postcode: &str) -> PlotInput {
    PlotInput {
        plot_number: number.into(),
        address_line1: format!("{number} Meadow Way"),
        town: "Leeds".into(),
        postcode: postcode.into(),
        ..Default::default()
    }
}

async fn add_scheme(app: &TestApp, tenant: &TestTenant, name: &str) -> Uuid {
    let mut tx = TenantTx::begin(&app.pool, tenant.tenant).await.unwrap();
    let id = db::schemes::insert(&mut tx, &scheme_input(name))
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn add_contract(
    app: &TestApp,
    tenant: &TestTenant,
    scheme: Uuid,
    name: &str,
    defects: Option<i32>,
) -> Uuid {
    let mut tx = TenantTx::begin(&app.pool, tenant.tenant).await.unwrap();
    let id = db::contracts::insert(&mut tx, scheme, &contract_input(name, defects))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn add_plot(
    app: &TestApp,
    tenant: &TestTenant,
    scheme: Uuid,
    contract: Uuid,
    input: &PlotInput,
) -> Uuid {
    let mut tx = TenantTx::begin(&app.pool, tenant.tenant).await.unwrap();
    let id = db::plots::insert(&mut tx, scheme, contract, input)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    id
}

async fn seed(app: &TestApp, tenant: &TestTenant, name: &str, postcode: &str) -> Records {
    let scheme = add_scheme(app, tenant, name).await;
    let contract = add_contract(app, tenant, scheme, &format!("{name} Phase 1"), None).await;
    let plot = add_plot(app, tenant, scheme, contract, &plot_input("1", postcode)).await;
    Records {
        scheme,
        contract,
        plot,
    }
}

async fn staff_client(app: &TestApp, tenant: &TestTenant) -> TestClient {
    let staff = app.create_user(tenant, Role::Staff, None, false).await;
    app.sign_in(&staff).await
}

fn plot_form<'a>(
    number: &'a str,
    postcode: &'a str,
    reservation: &'a str,
    completion: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("plot_number", number),
        ("address_line1", "3 Orchard Close"),
        ("address_line2", ""),
        ("town", "York"),
        ("postcode", postcode),
        ("house_type", "The Alder"),
        ("bedrooms", "3"),
        ("reservation_date", reservation),
        ("completion_date", completion),
        ("access_notes", "Key safe by the back door"),
    ]
}

/// The ids of the plots linked from a page, in order.
fn plot_links(body: &str) -> Vec<String> {
    body.match_indices("href=\"/plots/")
        .map(|(i, m)| body[i + m.len()..i + m.len() + 36].to_owned())
        .filter(|id| Uuid::parse_str(id).is_ok())
        .collect()
}

/// The "Next" link of a list page, unescaped.
fn next_link(body: &str) -> Option<String> {
    let end = body.find("\" rel=\"next\"")?;
    let start = body[..end].rfind("href=\"")? + 6;
    Some(body[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}

async fn plot_count(app: &TestApp) -> i64 {
    app.count("SELECT count(*) FROM plots").await
}

// ---------------------------------------------------------------- validation

#[tokio::test]
async fn a_bad_postcode_is_shown_next_to_the_field_and_nothing_is_saved() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let scheme = add_scheme(&app, &acme, "Meadowbank").await;
    let contract = add_contract(&app, &acme, scheme, "Phase 1", None).await;
    let staff = staff_client(&app, &acme).await;

    let response = staff
        .post_form(
            &format!("/contracts/{contract}/plots/new"),
            &plot_form("7", "ZZ99 ZZZ9", "", ""),
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("id=\"postcode-error\">Enter a real UK postcode, like SW1A 1AA"),
        "{body}"
    );
    assert!(
        body.contains("value=\"ZZ99 ZZZ9\""),
        "the typed value is kept"
    );
    assert_eq!(plot_count(&app).await, 0);
}

#[tokio::test]
async fn a_plot_number_already_used_in_the_scheme_is_refused_next_to_the_field() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let scheme = add_scheme(&app, &acme, "Meadowbank").await;
    let phase1 = add_contract(&app, &acme, scheme, "Phase 1", None).await;
    let phase2 = add_contract(&app, &acme, scheme, "Phase 2", None).await;
    let other_scheme = add_scheme(&app, &acme, "Riverside").await;
    let other_contract = add_contract(&app, &acme, other_scheme, "Phase 1", None).await;
    let staff = staff_client(&app, &acme).await;
    let first = staff
        .post_form(
            &format!("/contracts/{phase1}/plots/new"),
            &plot_form("12", "", "", ""),
        )
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);

    // The same number in another contract of the same scheme clashes.
    let again = staff
        .post_form(
            &format!("/contracts/{phase2}/plots/new"),
            &plot_form("12", "", "", ""),
        )
        .await;

    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = again.text().await.unwrap();
    assert!(
        body.contains("id=\"plot_number-error\">Plot 12 already exists in this scheme"),
        "{body}"
    );
    assert_eq!(plot_count(&app).await, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'plot.created'")
            .await,
        1
    );

    // Another scheme may have its own plot 12.
    let elsewhere = staff
        .post_form(
            &format!("/contracts/{other_contract}/plots/new"),
            &plot_form("12", "", "", ""),
        )
        .await;
    assert_eq!(elsewhere.status(), StatusCode::SEE_OTHER);

    // Renumbering a plot onto a used number clashes too, and leaves it as it was.
    let plot: Uuid = sqlx::query_scalar("SELECT id FROM plots WHERE scheme_id = $1")
        .bind(scheme)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let thirteen = staff
        .post_form(
            &format!("/contracts/{phase2}/plots/new"),
            &plot_form("13", "", "", ""),
        )
        .await;
    assert_eq!(thirteen.status(), StatusCode::SEE_OTHER);
    let renumber = staff
        .post_form(&format!("/plots/{plot}/edit"), &plot_form("13", "", "", ""))
        .await;
    assert_eq!(renumber.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        renumber
            .text()
            .await
            .unwrap()
            .contains("id=\"plot_number-error\"")
    );
    let number: String = sqlx::query_scalar("SELECT plot_number FROM plots WHERE id = $1")
        .bind(plot)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(number, "12");
}

#[tokio::test]
async fn a_completion_date_before_the_reservation_is_refused_next_to_the_field() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let scheme = add_scheme(&app, &acme, "Meadowbank").await;
    let contract = add_contract(&app, &acme, scheme, "Phase 1", None).await;
    let staff = staff_client(&app, &acme).await;

    let response = staff
        .post_form(
            &format!("/contracts/{contract}/plots/new"),
            &plot_form("3", "LS1 4AP", "2025-05-10", "2025-04-01"),
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(
        body.contains("id=\"completion_date-error\">The completion date can&#39;t be before the reservation date (10 May 2025)")
            || body.contains("id=\"completion_date-error\">The completion date can&#x27;t be before the reservation date (10 May 2025)"),
        "{body}"
    );
    assert_eq!(plot_count(&app).await, 0);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE record_type = 'plot'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_contract_ending_before_it_starts_is_refused_next_to_the_field() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let scheme = add_scheme(&app, &acme, "Meadowbank").await;
    let staff = staff_client(&app, &acme).await;

    let response = staff
        .post_form(
            &format!("/schemes/{scheme}/contracts/new"),
            &[
                ("name", "Phase 2"),
                ("contract_type", "affordable"),
                ("start_date", "2025-06-01"),
                ("end_date", "2025-01-01"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("id=\"end_date-error\"")
    );
    assert_eq!(app.count("SELECT count(*) FROM contracts").await, 0);
}

#[tokio::test]
async fn a_postcode_is_saved_normalised_and_shown_on_the_plot_page() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let scheme = add_scheme(&app, &acme, "Meadowbank").await;
    let contract = add_contract(&app, &acme, scheme, "Phase 1", None).await;
    let staff = staff_client(&app, &acme).await;

    let response = staff
        .post_form(
            &format!("/contracts/{contract}/plots/new"),
            &plot_form("7", "sw1a1aa", "", ""),
        )
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let saved: String = sqlx::query_scalar("SELECT postcode FROM plots")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(saved, "SW1A 1AA");
    let (status, page) = staff.page(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Plot 7 added to Phase 1."));
    assert!(page.contains("<dd id=\"plot-postcode\">SW1A 1AA</dd>"));
}

// ---------------------------------------------------------------- warranty

#[tokio::test]
async fn the_plot_page_shows_the_warranty_end_and_badge() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let scheme = add_scheme(&app, &acme, "Meadowbank").await;
    let private = add_contract(&app, &acme, scheme, "Private", None).await;
    let social = add_contract(&app, &acme, scheme, "Affordable", Some(12)).await;
    let today = OffsetDateTime::now_utc().date();
    let recent = today - Duration::days(30);
    let old = PlotInput {
        completion_date: Some(date!(2020 - 01 - 31)),
        ..plot_input("1", "")
    };
    let old = add_plot(&app, &acme, scheme, private, &old).await;
    let new = PlotInput {
        completion_date: Some(recent),
        ..plot_input("2", "")
    };
    let new = add_plot(&app, &acme, scheme, social, &new).await;
    let unsold = add_plot(&app, &acme, scheme, private, &plot_input("3", "")).await;
    let staff = staff_client(&app, &acme).await;

    let (_, page) = staff.page(&format!("/plots/{old}")).await;
    assert!(
        page.contains("id=\"warranty-badge\">Warranty expired"),
        "{page}"
    );
    assert!(page.contains("<dd id=\"warranty-end\">31 January 2022</dd>"));

    let (_, page) = staff.page(&format!("/plots/{new}")).await;
    assert!(page.contains("id=\"warranty-badge\">In warranty"));
    let end = plotcare::domain::add_months(recent, 12);
    assert!(
        page.contains(&format!("<dd id=\"warranty-end\">{}</dd>", long_date(end))),
        "the contract's 12 months apply"
    );

    let (_, page) = staff.page(&format!("/plots/{unsold}")).await;
    assert!(page.contains("id=\"warranty-badge\">Not handed over"));

    // The list filters by the same status.
    let (_, list) = staff.page("/plots?warranty=expired").await;
    assert_eq!(plot_links(&list), [old.to_string()]);
    let (_, list) = staff.page("/plots?warranty=in_warranty").await;
    assert_eq!(plot_links(&list), [new.to_string()]);
    let (_, list) = staff.page("/plots?warranty=not_handed_over").await;
    assert_eq!(plot_links(&list), [unsold.to_string()]);
}

// ---------------------------------------------------------------- lists

#[tokio::test]
async fn keyset_pages_list_every_plot_exactly_once() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let scheme_a = add_scheme(&app, &acme, "Meadowbank").await;
    let scheme_b = add_scheme(&app, &acme, "Riverside").await;
    let contract_a = add_contract(&app, &acme, scheme_a, "Phase 1", None).await;
    let contract_b = add_contract(&app, &acme, scheme_b, "Phase 1", None).await;
    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    for n in 0..120 {
        // Shared plot numbers across the two schemes, and a spread of completion dates (some none).
        let (scheme, contract) = if n % 2 == 0 {
            (scheme_a, contract_a)
        } else {
            (scheme_b, contract_b)
        };
        let completion =
            (n % 3 != 0).then(|| Date::from_ordinal_date(2024, (n % 7 + 1) as u16).unwrap());
        let input = PlotInput {
            completion_date: completion,
            ..plot_input(&(n / 2).to_string(), "")
        };
        db::plots::insert(&mut tx, scheme, contract, &input)
            .await
            .unwrap()
            .unwrap();
    }
    tx.commit().await.unwrap();
    let staff = staff_client(&app, &acme).await;

    for sort in ["plot_number", "completion"] {
        let mut seen = Vec::new();
        let mut path = Some(format!("/plots?sort={sort}"));
        let mut pages = 0;
        while let Some(p) = path {
            let (status, body) = staff.page(&p).await;
            assert_eq!(status, StatusCode::OK, "{p}");
            let links = plot_links(&body);
            assert!(links.len() <= 50);
            seen.extend(links);
            path = next_link(&body);
            pages += 1;
            assert!(pages <= 5, "pagination does not end");
        }
        assert_eq!(pages, 3, "{sort}: 50 + 50 + 20");
        assert_eq!(seen.len(), 120, "{sort}");
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 120, "{sort}: a plot appeared twice");
    }
}

#[tokio::test]
async fn plots_are_found_by_postcode_plot_number_address_and_homeowner() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let scheme = add_scheme(&app, &acme, "Meadowbank").await;
    let contract = add_contract(&app, &acme, scheme, "Phase 1", None).await;
    let london = add_plot(
        &app,
        &acme,
        scheme,
        contract,
        &PlotInput {
            address_line1: "10 Downing Lane".into(),
            ..plot_input("7", "SW1A 1AA")
        },
    )
    .await;
    let leeds = add_plot(
        &app,
        &acme,
        scheme,
        contract,
        &PlotInput {
            address_line1: "4 Kirkgate".into(),
            ..plot_input("17", "LS1 4AP")
        },
    )
    .await;
    let staff = staff_client(&app, &acme).await;
    let added = staff
        .post_form(
            &format!("/plots/{leeds}/homeowners"),
            &[
                ("contact_id", ""),
                ("new_name", "Grace Okafor"),
                ("new_phone", "07700 900123"),
                ("new_email", ""),
                ("from_date", "2024-03-01"),
                ("to_date", ""),
            ],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);

    for (q, want) in [
        ("sw1a1aa", vec![london]),
        ("SW1A 1AA", vec![london]),
        ("ls1", vec![leeds]),
        ("7", vec![london]),
        ("17", vec![leeds]),
        ("downing", vec![london]),
        ("okafor", vec![leeds]),
        ("OKAF", vec![leeds]),
        ("downing lane", vec![london]),
        ("lane, downing", vec![london]),
        ("downing kirkgate", vec![]),
        ("nobody here", vec![]),
    ] {
        let (status, body) = staff
            .page(&format!("/plots?q={}", q.replace(' ', "+")))
            .await;
        assert_eq!(status, StatusCode::OK);
        let want: Vec<String> = want.iter().map(Uuid::to_string).collect();
        assert_eq!(plot_links(&body), want, "search {q:?}");
    }
    let (_, body) = staff.page("/plots?q=okafor").await;
    assert!(
        body.contains("Grace Okafor"),
        "the list shows current homeowners"
    );

    // A homeowner's new name finds their plot at once; the old one no longer does.
    let grace: Uuid = sqlx::query_scalar("SELECT id FROM contacts WHERE name = 'Grace Okafor'")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let renamed = staff
        .post_form(
            &format!("/contacts/{grace}/edit"),
            &[
                ("kind", "homeowner"),
                ("name", "Grace Mensah"),
                ("emails", ""),
                ("phones", "07700 900123"),
                ("preferred_contact_method", "phone"),
                ("address", ""),
                ("notes", ""),
            ],
        )
        .await;
    assert_eq!(renamed.status(), StatusCode::SEE_OTHER);
    let (_, body) = staff.page("/plots?q=mensah").await;
    assert_eq!(plot_links(&body), vec![leeds.to_string()]);
    let (_, body) = staff.page("/plots?q=okafor").await;
    assert!(plot_links(&body).is_empty());
    // So does a new address.
    sqlx::query("UPDATE plots SET address_line1 = '12 Quarry Hill' WHERE id = $1")
        .bind(leeds)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let (_, body) = staff.page("/plots?q=quarry").await;
    assert_eq!(plot_links(&body), vec![leeds.to_string()]);
    // A homeowner taken off the plot no longer finds it; its address still does.
    sqlx::query("DELETE FROM plot_homeowners WHERE contact_id = $1")
        .bind(grace)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let (_, body) = staff.page("/plots?q=mensah").await;
    assert!(plot_links(&body).is_empty());
    let (_, body) = staff.page("/plots?q=quarry").await;
    assert_eq!(plot_links(&body), vec![leeds.to_string()]);
}

#[tokio::test]
async fn the_scheme_list_searches_filters_and_the_scheme_page_counts_plots() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let meadow = seed(&app, &acme, "Meadowbank", "LS1 4AP").await;
    add_plot(
        &app,
        &acme,
        meadow.scheme,
        meadow.contract,
        &plot_input("2", ""),
    )
    .await;
    let phase2 = add_contract(&app, &acme, meadow.scheme, "Phase 2", Some(12)).await;
    add_plot(&app, &acme, meadow.scheme, phase2, &plot_input("3", "")).await;
    seed(&app, &acme, "Riverside", "").await;
    let staff = staff_client(&app, &acme).await;

    let (_, list) = staff.page("/schemes?q=meadow").await;
    assert!(list.contains("Meadowbank") && !list.contains("Riverside"));
    let (_, page) = staff.page(&format!("/schemes/{}", meadow.scheme)).await;
    assert!(page.contains("<dd id=\"plot-total\">3 in total"), "{page}");
    assert!(page.contains("Phase 2") && page.contains("12 months"));

    let archived = staff
        .post_form(&format!("/schemes/{}/archive", meadow.scheme), &[])
        .await;
    assert_eq!(archived.status(), StatusCode::SEE_OTHER);
    let (_, page) = staff.page(&format!("/schemes/{}", meadow.scheme)).await;
    assert!(page.contains("id=\"status\">Archived"));
    let (_, active) = staff.page("/schemes").await;
    assert!(!active.contains("Meadowbank") && active.contains("Riverside"));
    let (_, archived) = staff.page("/schemes?status=archived").await;
    assert!(archived.contains("Meadowbank") && !archived.contains("Riverside"));
}

// ---------------------------------------------------------------- forms, homeowners, archive, audit

#[tokio::test]
async fn staff_create_edit_and_archive_records_and_every_change_is_audited() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = staff_client(&app, &acme).await;

    let created = staff
        .post_form(
            "/schemes/new",
            &[
                ("name", "Meadowbank"),
                ("reference_code", "MDW-01"),
                ("address", "Meadow Road, Leeds"),
                ("region", "North"),
                ("warranty_provider", "premier_guarantee"),
                ("warranty_months", "24"),
                ("sla_enabled", "on"),
                ("site_manager", "Sam Site"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let scheme: Uuid = sqlx::query_scalar("SELECT id FROM schemes")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let (_, page) = staff.page(&format!("/schemes/{scheme}")).await;
    assert!(page.contains("Premier Guarantee") && page.contains("MDW-01"));

    // The same reference again is refused next to its field.
    let clash = staff
        .post_form(
            "/schemes/new",
            &[
                ("name", "Other"),
                ("reference_code", "mdw-01"),
                ("warranty_provider", "nhbc"),
                ("warranty_months", "24"),
            ],
        )
        .await;
    assert_eq!(clash.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        clash
            .text()
            .await
            .unwrap()
            .contains("id=\"reference_code-error\"")
    );

    let edited = staff
        .post_form(
            &format!("/schemes/{scheme}/edit"),
            &[
                ("name", "Meadowbank Park"),
                ("reference_code", "MDW-01"),
                ("warranty_provider", "nhbc"),
                ("warranty_months", "24"),
                ("region", "North"),
            ],
        )
        .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);
    let sla: bool = sqlx::query_scalar("SELECT sla_enabled FROM schemes")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    assert!(!sla, "an unticked box turns SLA clocks off");

    let contract = staff
        .post_form(
            &format!("/schemes/{scheme}/contracts/new"),
            &[
                ("name", "Phase 1"),
                ("contract_type", "private_sale"),
                ("defects_period_months", ""),
            ],
        )
        .await;
    assert_eq!(contract.status(), StatusCode::SEE_OTHER);
    let contract: Uuid = sqlx::query_scalar("SELECT id FROM contracts")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let edited = staff
        .post_form(
            &format!("/contracts/{contract}/edit"),
            &[
                ("name", "Phase One"),
                ("contract_type", "build_to_rent"),
                ("defects_period_months", "12"),
            ],
        )
        .await;
    assert_eq!(edited.status(), StatusCode::SEE_OTHER);

    let plot = staff
        .post_form(
            &format!("/contracts/{contract}/plots/new"),
            &plot_form("5", "ls14ap", "2024-01-10", ""),
        )
        .await;
    assert_eq!(plot.status(), StatusCode::SEE_OTHER);
    let plot: Uuid = sqlx::query_scalar("SELECT id FROM plots")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let (_, page) = staff.page(&format!("/plots/{plot}")).await;
    assert!(
        page.contains("No tickets on this plot yet.")
            && page.contains("No inspections on this plot yet.")
    );
    assert!(
        page.contains("<a href=\"/schemes\">Schemes</a> › <a href=\"/schemes/"),
        "breadcrumbs: {page}"
    );
    assert!(
        page.contains("Meadowbank Park</a> › <a href=\"/contracts/")
            && page.contains("Phase One</a> › <span aria-current=\"page\">Plot 5</span>")
    );

    // Not handed over: cannot be archived yet.
    let refused = staff
        .post_form(&format!("/plots/{plot}/archive"), &[])
        .await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    let (_, page) = staff.page(&format!("/plots/{plot}")).await;
    assert!(
        page.contains("can&#39;t be archived until it has been handed over")
            || page.contains("can&#x27;t be archived until it has been handed over"),
        "{page}"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM plots WHERE archived_at IS NOT NULL")
            .await,
        0
    );

    let handed_over = staff
        .post_form(
            &format!("/plots/{plot}/edit"),
            &plot_form("5", "LS1 4AP", "2024-01-10", "2024-06-28"),
        )
        .await;
    assert_eq!(handed_over.status(), StatusCode::SEE_OTHER);
    let archived = staff
        .post_form(&format!("/plots/{plot}/archive"), &[])
        .await;
    assert_eq!(archived.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT count(*) FROM plots WHERE archived_at IS NOT NULL")
            .await,
        1
    );
    let (_, list) = staff.page("/plots").await;
    assert!(
        plot_links(&list).is_empty(),
        "archived plots leave the default list"
    );
    let (_, list) = staff.page("/plots?archived=archived").await;
    assert_eq!(plot_links(&list), [plot.to_string()]);

    // Homeowners: a new one inline, then a resale to an existing contact keeps the history.
    let first = staff
        .post_form(
            &format!("/plots/{plot}/homeowners"),
            &[
                ("new_name", "Ann Owner"),
                ("new_phone", "0113 496 0000"),
                ("new_email", "ann@example.com"),
                ("from_date", "2024-06-28"),
            ],
        )
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let ownership: Uuid = sqlx::query_scalar("SELECT id FROM plot_homeowners")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let too_early = staff
        .post_form(
            &format!("/plots/{plot}/homeowners/{ownership}/end"),
            &[("to_date", "2024-01-01")],
        )
        .await;
    assert_eq!(too_early.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_early
            .text()
            .await
            .unwrap()
            .contains("id=\"end_to_date-error\"")
    );
    let ended = staff
        .post_form(
            &format!("/plots/{plot}/homeowners/{ownership}/end"),
            &[("to_date", "2025-02-14")],
        )
        .await;
    assert_eq!(ended.status(), StatusCode::SEE_OTHER);
    let buyer = Uuid::now_v7();
    sqlx::query("INSERT INTO contacts (tenant_id, id, kind, name) VALUES ($1, $2, 'homeowner', 'Bob Buyer')")
        .bind(acme.id)
        .bind(buyer)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let (_, page) = staff.page(&format!("/plots/{plot}")).await;
    assert!(page.contains(&format!("<option value=\"{buyer}\">Bob Buyer</option>")));
    let resale = staff
        .post_form(
            &format!("/plots/{plot}/homeowners"),
            &[
                ("contact_id", &buyer.to_string()),
                ("from_date", "2025-02-14"),
            ],
        )
        .await;
    assert_eq!(resale.status(), StatusCode::SEE_OTHER);
    let (_, page) = staff.page(&format!("/plots/{plot}")).await;
    let current = &page
        [page.find("id=\"current-owners\"").unwrap()..page.find("id=\"past-owners\"").unwrap()];
    assert!(current.contains("Bob Buyer") && !current.contains("Ann Owner"));
    let past = &page[page.find("id=\"past-owners\"").unwrap()..];
    assert!(past.contains("Ann Owner") && past.contains("14 February 2025"));
    let neither = staff
        .post_form(
            &format!("/plots/{plot}/homeowners"),
            &[("contact_id", ""), ("new_name", "")],
        )
        .await;
    assert_eq!(neither.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        neither
            .text()
            .await
            .unwrap()
            .contains("id=\"contact_id-error\"")
    );

    let archived = staff
        .post_form(&format!("/contracts/{contract}/archive"), &[])
        .await;
    assert_eq!(archived.status(), StatusCode::SEE_OTHER);

    let actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_events WHERE record_type IN ('scheme', 'contract', 'plot', 'contact') ORDER BY occurred_at, id")
        .fetch_all(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(
        actions,
        [
            "scheme.created",
            "scheme.updated",
            "contract.created",
            "contract.updated",
            "plot.created",
            "plot.updated",
            "plot.archived",
            "contact.created",
            "plot.homeowner_added",
            "plot.homeowner_ended",
            "plot.homeowner_added",
            "contract.archived"
        ]
    );
    let change: serde_json::Value =
        sqlx::query_scalar("SELECT changes FROM audit_events WHERE action = 'scheme.updated'")
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(change["name"]["before"], "Meadowbank");
    assert_eq!(change["name"]["after"], "Meadowbank Park");
    let change: serde_json::Value =
        sqlx::query_scalar("SELECT changes FROM audit_events WHERE action = 'plot.created'")
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(change["postcode"]["after"], "LS1 4AP");
}

// ---------------------------------------------------------------- access

#[tokio::test]
async fn staff_restricted_to_one_scheme_see_nothing_of_another() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let a = seed(&app, &acme, "Meadowbank", "LS1 4AP").await;
    let b = seed(&app, &acme, "Riverside", "YO1 7HH").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    db::users::set_schemes(&mut tx, staff.id, true, &[a.scheme])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let client = app.sign_in(&staff).await;

    for path in [
        format!("/schemes/{}", a.scheme),
        format!("/contracts/{}", a.contract),
        format!("/plots/{}", a.plot),
    ] {
        assert_eq!(client.page(&path).await.0, StatusCode::OK, "{path}");
    }
    for path in [
        format!("/schemes/{}", b.scheme),
        format!("/schemes/{}/edit", b.scheme),
        format!("/contracts/{}", b.contract),
        format!("/contracts/{}/plots/new", b.contract),
        format!("/plots/{}", b.plot),
        format!("/plots/{}/edit", b.plot),
    ] {
        assert_eq!(client.page(&path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let post = client
        .post_form(
            &format!("/plots/{}/edit", b.plot),
            &plot_form("99", "", "", ""),
        )
        .await;
    assert_eq!(post.status(), StatusCode::NOT_FOUND);

    let (_, plots) = client.page("/plots").await;
    assert_eq!(plot_links(&plots), [a.plot.to_string()]);
    let (_, plots) = client.page(&format!("/plots?scheme={}", b.scheme)).await;
    assert!(plot_links(&plots).is_empty());
    let (_, plots) = client.page("/plots?q=YO17HH").await;
    assert!(plot_links(&plots).is_empty());
    let (_, schemes) = client.page("/schemes").await;
    assert!(schemes.contains("Meadowbank") && !schemes.contains("Riverside"));
    assert!(
        !schemes.contains("Add a scheme"),
        "restricted staff do not add schemes"
    );
}

#[tokio::test]
async fn the_out_of_hours_role_reads_records_but_cannot_change_them() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let r = seed(&app, &acme, "Meadowbank", "LS1 4AP").await;
    let emergency = app.create_user(&acme, Role::Emergency, None, false).await;
    let client = app.sign_in(&emergency).await;

    for path in [
        "/schemes".to_owned(),
        "/plots".to_owned(),
        format!("/schemes/{}", r.scheme),
        format!("/contracts/{}", r.contract),
        format!("/plots/{}", r.plot),
    ] {
        let (status, body) = client.page(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(!body.contains("/edit\""), "{path} offers no edit link");
    }
    for path in [
        "/schemes/new".to_owned(),
        format!("/schemes/{}/edit", r.scheme),
        format!("/schemes/{}/contracts/new", r.scheme),
        format!("/contracts/{}/edit", r.contract),
        format!("/contracts/{}/plots/new", r.contract),
        format!("/plots/{}/edit", r.plot),
    ] {
        assert_eq!(client.page(&path).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    for path in [
        "/schemes/new".to_owned(),
        format!("/schemes/{}/edit", r.scheme),
        format!("/schemes/{}/archive", r.scheme),
        format!("/contracts/{}/plots/new", r.contract),
        format!("/plots/{}/edit", r.plot),
        format!("/plots/{}/homeowners", r.plot),
    ] {
        let response = client
            .post_form(
                &path,
                &[
                    ("name", "Changed"),
                    ("plot_number", "99"),
                    ("new_name", "Someone"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM schemes WHERE name = 'Meadowbank' AND status = 'active'")
            .await,
        1
    );
    assert_eq!(plot_count(&app).await, 1);
    assert_eq!(
        app.count(
            "SELECT count(*) FROM audit_events WHERE record_type IN ('scheme', 'contract', 'plot')"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn subcontractors_do_not_find_scheme_contract_or_plot_pages() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let r = seed(&app, &acme, "Meadowbank", "LS1 4AP").await;
    let company = app.create_company(&acme, "Pipes Ltd").await;
    let sub = app
        .create_user(&acme, Role::Subcontractor, Some(company), false)
        .await;
    let client = app.sign_in(&sub).await;

    for path in [
        "/schemes".to_owned(),
        "/plots".to_owned(),
        "/schemes/new".to_owned(),
        format!("/schemes/{}", r.scheme),
        format!("/contracts/{}", r.contract),
        format!("/plots/{}", r.plot),
    ] {
        assert_eq!(client.page(&path).await.0, StatusCode::NOT_FOUND, "{path}");
    }
    let response = client
        .post_form(
            &format!("/plots/{}/edit", r.plot),
            &plot_form("99", "", "", ""),
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (_, home) = client.page("/").await;
    assert!(
        !home.contains("href=\"/plots\""),
        "no Plots link for subcontractors"
    );
}

/// Every column of A's records, to show nothing changed.
async fn snapshot(app: &TestApp, tenant: Uuid) -> String {
    sqlx::query_scalar(
        "SELECT (SELECT json_agg(s ORDER BY s.id)::text FROM schemes s WHERE s.tenant_id = $1)
             || (SELECT json_agg(c ORDER BY c.id)::text FROM contracts c WHERE c.tenant_id = $1)
             || (SELECT json_agg(p ORDER BY p.id)::text FROM plots p WHERE p.tenant_id = $1)
             || coalesce((SELECT json_agg(h ORDER BY h.id)::text FROM plot_homeowners h WHERE h.tenant_id = $1), '[]')
             || (SELECT count(*)::text FROM contacts WHERE tenant_id = $1)",
    )
    .bind(tenant)
    .fetch_one(&app.admin_pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_admin_of_another_tenant_gets_not_found_on_every_record_route() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    let a = seed(&app, &acme, "Meadowbank", "LS1 4AP").await;
    let acme_staff = staff_client(&app, &acme).await;
    let added = acme_staff
        .post_form(
            &format!("/plots/{}/homeowners", a.plot),
            &[("new_name", "Ann Owner"), ("from_date", "2024-01-01")],
        )
        .await;
    assert_eq!(added.status(), StatusCode::SEE_OTHER);
    let ownership: Uuid = sqlx::query_scalar("SELECT id FROM plot_homeowners")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let before = snapshot(&app, acme.id).await;
    let intruder = app.sign_in_admin(&globex.admin).await;
    let audit_before = app.count("SELECT count(*) FROM audit_events").await;
    let (s, c, p) = (a.scheme, a.contract, a.plot);

    for path in [
        format!("/schemes/{s}"),
        format!("/schemes/{s}/edit"),
        format!("/schemes/{s}/contracts/new"),
        format!("/contracts/{c}"),
        format!("/contracts/{c}/edit"),
        format!("/contracts/{c}/plots/new"),
        format!("/plots/{p}"),
        format!("/plots/{p}/edit"),
    ] {
        let (status, body) = intruder.page(&path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "GET {path}");
        assert!(!body.contains("Meadowbank"));
    }
    let scheme_fields: &[(&str, &str)] = &[
        ("name", "Taken"),
        ("warranty_provider", "nhbc"),
        ("warranty_months", "24"),
    ];
    let contract_fields: &[(&str, &str)] = &[("name", "Taken"), ("contract_type", "private_sale")];
    let plot_fields = plot_form("66", "", "", "");
    let owner_fields: &[(&str, &str)] = &[("new_name", "Intruder"), ("from_date", "2024-01-01")];
    for (path, fields) in [
        (format!("/schemes/{s}/edit"), scheme_fields),
        (format!("/schemes/{s}/archive"), &[][..]),
        (format!("/schemes/{s}/restore"), &[][..]),
        (format!("/schemes/{s}/contracts/new"), contract_fields),
        (format!("/contracts/{c}/edit"), contract_fields),
        (format!("/contracts/{c}/archive"), &[][..]),
        (format!("/contracts/{c}/restore"), &[][..]),
        (format!("/contracts/{c}/plots/new"), &plot_fields[..]),
        (format!("/plots/{p}/edit"), &plot_fields[..]),
        (format!("/plots/{p}/archive"), &[][..]),
        (format!("/plots/{p}/restore"), &[][..]),
        (format!("/plots/{p}/homeowners"), owner_fields),
        (
            format!("/plots/{p}/homeowners/{ownership}/end"),
            &[("to_date", "2025-01-01")][..],
        ),
    ] {
        let response = intruder.post_form(&path, fields).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "POST {path}");
    }
    for path in [
        "/schemes".to_owned(),
        "/schemes?status=all".to_owned(),
        "/plots?archived=all".to_owned(),
        format!("/plots?scheme={s}"),
        "/plots?q=LS14AP".to_owned(),
        "/plots?q=orchard+close".to_owned(),
    ] {
        let (status, body) = intruder.page(&path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !body.contains("Meadowbank") && plot_links(&body).is_empty(),
            "{path}"
        );
    }

    assert_eq!(
        snapshot(&app, acme.id).await,
        before,
        "tenant A's rows are unchanged"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events").await,
        audit_before,
        "nothing was audited as changed"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM schemes WHERE tenant_id = '{}'",
            globex.id
        ))
        .await,
        0
    );
}
