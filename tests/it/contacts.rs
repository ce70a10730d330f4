//! Contacts as customer care meets them: the list with search and pages, a
//! contact's page, the forms, archiving, and who may do what.

use plotcare::{
    auth::TenantTx,
    db::imports::{self, NewContact, NewContract, NewHomeowner, NewPlot},
    domain::Role,
};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{TestApp, TestTenant, extract_attr};

/// Contacts written straight to the tenant (as an import would).
async fn add_contacts(app: &TestApp, tenant: &TestTenant, contacts: &[NewContact]) {
    let mut tx = TenantTx::begin(&app.pool, tenant.tenant).await.unwrap();
    imports::insert_contacts(&mut tx, contacts).await.unwrap();
    tx.commit().await.unwrap();
}

fn contact(kind: &str, name: &str) -> NewContact {
    NewContact {
        id: Uuid::now_v7(),
        kind: kind.into(),
        name: name.into(),
        preferred_contact_method: "phone".into(),
        ..Default::default()
    }
}

/// A plot in `scheme` (with a contract) owned by `owner` since 1 March 2024.
async fn add_owned_plot(
    app: &TestApp,
    tenant: &TestTenant,
    scheme: Uuid,
    number: &str,
    owner: Uuid,
) -> Uuid {
    let mut tx = TenantTx::begin(&app.pool, tenant.tenant).await.unwrap();
    let contract = NewContract {
        id: Uuid::now_v7(),
        scheme_id: scheme,
        name: format!("Phase {number}"),
        contract_type: "private_sale".into(),
        ..Default::default()
    };
    imports::insert_contracts(&mut tx, std::slice::from_ref(&contract))
        .await
        .unwrap();
    let plot = NewPlot {
        id: Uuid::now_v7(),
        scheme_id: scheme,
        contract_id: contract.id,
        plot_number: number.into(),
        address_line1: "7 Larch Close".into(),
        town: "Warrington".into(),
        postcode: "WA4 2TX".into(),
        ..Default::default()
    };
    imports::insert_plots(&mut tx, std::slice::from_ref(&plot))
        .await
        .unwrap();
    let from = time::macros::date!(2024 - 03 - 01);
    imports::insert_homeowners(
        &mut tx,
        &[NewHomeowner {
            id: Uuid::now_v7(),
            plot_id: plot.id,
            contact_id: owner,
            from_date: Some(from),
        }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    plot.id
}

fn form<'a>(name: &'a str, kind: &'a str, emails: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("kind", kind),
        ("name", name),
        ("emails", emails),
        ("phones", "07700 900123"),
        ("preferred_contact_method", "phone"),
        ("address", ""),
        ("notes", ""),
    ]
}

#[tokio::test]
async fn a_bad_email_is_shown_next_to_the_field_and_nothing_is_saved() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    let response = client
        .post_form(
            "/contacts/new",
            &form(
                "Jane Example",
                "homeowner",
                "jane@example.com\nnot an email",
            ),
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(body.contains("id=\"emails-error\">Line 2:"), "{body}");
    assert!(
        body.contains("Jane Example"),
        "the form keeps what was typed"
    );
    assert_eq!(app.count("SELECT count(*) FROM contacts").await, 0);
}

#[tokio::test]
async fn staff_add_a_contact_and_the_audit_trail_records_it() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;

    let mut fields = form(
        "Northway Electrical Ltd",
        "subcontractor_company",
        "office@northway.test",
    );
    fields.push(("trade", "electrical"));
    fields.push(("trade", "heating"));
    let response = client.post_form("/contacts/new", &fields).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let (status, body) = client.page(&location).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Northway Electrical Ltd") && body.contains("Electrical, Heating"),
        "{body}"
    );
    assert!(body.contains("has been added"));
    assert_eq!(app.count("SELECT count(*) FROM audit_events WHERE action = 'contact.created' AND changes -> 'trades' -> 'after' = '[\"electrical\", \"heating\"]'").await, 1);
}

#[tokio::test]
async fn an_edit_is_audited_with_before_and_after_and_archiving_hides_the_contact() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let jane = contact("homeowner", "Jane Example");
    add_contacts(&app, &acme, std::slice::from_ref(&jane)).await;
    let client = app.sign_in(&staff).await;

    let edit = client
        .post_form(
            &format!("/contacts/{}/edit", jane.id),
            &form("Jane Smith", "homeowner", "jane@example.com"),
        )
        .await;
    assert_eq!(edit.status(), StatusCode::SEE_OTHER);
    let changed = app
        .count("SELECT count(*) FROM audit_events WHERE action = 'contact.updated' AND changes -> 'name' = '{\"before\": \"Jane Example\", \"after\": \"Jane Smith\"}'")
        .await;
    assert_eq!(changed, 1);

    let archive = client
        .post_form(&format!("/contacts/{}/archive", jane.id), &[])
        .await;
    assert_eq!(archive.status(), StatusCode::SEE_OTHER);
    let (_, page) = client.page(&format!("/contacts/{}", jane.id)).await;
    assert!(page.contains("Jane Smith has been archived"));
    let (_, list) = client.page("/contacts").await;
    assert!(
        !list.contains("Jane Smith"),
        "archived contacts leave the list"
    );
    let (_, archived) = client.page("/contacts?status=archived").await;
    assert!(archived.contains("Jane Smith"));
    assert_eq!(
        app.count("SELECT count(*) FROM contacts WHERE archived_at IS NOT NULL")
            .await,
        1,
        "archived, never deleted"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'contact.archived'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_list_searches_by_name_company_email_and_phone() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let mut company = contact("subcontractor_company", "Brightwater Plumbing Ltd");
    company.trades = vec!["plumbing".into()];
    let mut dan = contact("subcontractor_person", "Dan Fletcher");
    dan.company_id = Some(company.id);
    let mut jane = contact("homeowner", "Jane Example");
    jane.emails = vec!["jane.example@mail.test".into()];
    jane.phones = vec!["07700 900456".into()];
    add_contacts(
        &app,
        &acme,
        &[
            company.clone(),
            contact("client", "Northern Housing Association"),
            jane,
        ],
    )
    .await;
    add_contacts(&app, &acme, &[dan]).await;
    let client = app.sign_in(&staff).await;

    let (_, by_name) = client.page("/contacts?q=northern").await;
    assert!(by_name.contains("Northern Housing Association") && !by_name.contains("Jane Example"));
    let (_, by_company) = client.page("/contacts?q=brightwater").await;
    assert!(
        by_company.contains("Dan Fletcher"),
        "people are found by their company's name"
    );
    let (_, by_email) = client.page("/contacts?q=jane.example%40mail").await;
    assert!(by_email.contains("Jane Example") && !by_email.contains("Dan Fletcher"));
    let (_, by_phone) = client.page("/contacts?q=07700900456").await;
    assert!(
        by_phone.contains("Jane Example"),
        "phone numbers match whatever their spacing"
    );
    let (_, by_trade) = client.page("/contacts?trade=plumbing").await;
    assert!(by_trade.contains("Brightwater Plumbing Ltd") && !by_trade.contains("Jane Example"));
    let (_, by_kind) = client.page("/contacts?kind=client").await;
    assert!(by_kind.contains("Northern Housing Association") && !by_kind.contains("Brightwater"));

    let (_, company_page) = client.page(&format!("/contacts/{}", company.id)).await;
    assert!(
        company_page.contains("Dan Fletcher") && company_page.contains("Plumbing"),
        "a company shows its people and trades"
    );
}

#[tokio::test]
async fn pages_of_fifty_follow_on_with_a_keyset_and_never_repeat_a_contact() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let many: Vec<NewContact> = (0..120)
        .map(|i| contact("homeowner", &format!("Ploughman {i:03}")))
        .collect();
    add_contacts(&app, &acme, &many).await;
    let client = app.sign_in(&staff).await;

    let mut seen = Vec::new();
    let mut path = "/contacts".to_owned();
    loop {
        let (status, body) = client.page(&path).await;
        assert_eq!(status, StatusCode::OK);
        let names: Vec<String> = body
            .match_indices("Ploughman ")
            .map(|(i, _)| body[i..i + 13].to_owned())
            .collect();
        assert!(names.len() <= 50);
        seen.extend(names);
        match extract_attr(
            &body,
            "id=\"next-page\" rel=\"next\" class=\"button\" href=\"",
        ) {
            Some(next) => {
                let next = next.replace("&amp;", "&");
                assert!(next.starts_with("/contacts?after="), "{next}");
                assert!(!next.contains("offset"));
                path = next;
            }
            None => break,
        }
    }
    let expected: Vec<String> = (0..120).map(|i| format!("Ploughman {i:03}")).collect();
    assert_eq!(
        seen, expected,
        "every contact once, in name order, over three pages"
    );
}

#[tokio::test]
async fn a_homeowners_page_lists_their_plots_with_dates() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let scheme = app.create_scheme(&acme, "Meadowbank Park").await;
    let jane = contact("homeowner", "Jane Example");
    add_contacts(&app, &acme, std::slice::from_ref(&jane)).await;
    let plot = add_owned_plot(&app, &acme, scheme, "12", jane.id).await;
    let client = app.sign_in(&staff).await;

    let (status, body) = client.page(&format!("/contacts/{}", jane.id)).await;

    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(&format!("/plots/{plot}")) && body.contains("Plot 12"),
        "{body}"
    );
    assert!(
        body.contains("Meadowbank Park") && body.contains("7 Larch Close, Warrington, WA4 2TX")
    );
    assert!(body.contains("1 March 2024"));
}

#[tokio::test]
async fn staff_restricted_to_a_scheme_do_not_see_homeowners_of_other_schemes() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let north = app.create_scheme(&acme, "North").await;
    let south = app.create_scheme(&acme, "South").await;
    let (ann, bob) = (
        contact("homeowner", "Ann North"),
        contact("homeowner", "Bob South"),
    );
    add_contacts(&app, &acme, &[ann.clone(), bob.clone()]).await;
    add_owned_plot(&app, &acme, north, "1", ann.id).await;
    add_owned_plot(&app, &acme, south, "1", bob.id).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    app.restrict_to_scheme(&acme, &staff, north).await;
    let client = app.sign_in(&staff).await;

    let (_, list) = client.page("/contacts").await;
    assert!(list.contains("Ann North") && !list.contains("Bob South"));
    assert_eq!(
        client.page(&format!("/contacts/{}", bob.id)).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn out_of_hours_users_read_contacts_but_may_not_change_them() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let oncall = app.create_user(&acme, Role::Emergency, None, false).await;
    let jane = contact("homeowner", "Jane Example");
    add_contacts(&app, &acme, std::slice::from_ref(&jane)).await;
    let client = app.sign_in(&oncall).await;

    let (status, body) = client.page(&format!("/contacts/{}", jane.id)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains("/edit\""), "no edit button");
    assert_eq!(client.page("/contacts/new").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        client.page(&format!("/contacts/{}/edit", jane.id)).await.0,
        StatusCode::FORBIDDEN
    );
    let edit = client
        .post_form(
            &format!("/contacts/{}/edit", jane.id),
            &form("Changed", "homeowner", ""),
        )
        .await;
    assert_eq!(edit.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        client
            .post_form(&format!("/contacts/{}/archive", jane.id), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        client
            .post_form("/contacts/new", &form("New", "homeowner", ""))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM contacts WHERE name = 'Jane Example' AND archived_at IS NULL"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn subcontractors_do_not_reach_contacts() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let company = app.create_company(&acme, "Brightwater Plumbing Ltd").await;
    let dan = app
        .create_user(&acme, Role::Subcontractor, Some(company), true)
        .await;
    let client = app.sign_in(&dan).await;

    assert_eq!(client.page("/contacts").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        client.page(&format!("/contacts/{company}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(client.page("/contacts/new").await.0, StatusCode::NOT_FOUND);
    let (_, home) = client.page("/").await;
    assert!(
        !home.contains("href=\"/contacts\""),
        "no Contacts link for subcontractors"
    );
}

#[tokio::test]
async fn another_tenants_admin_gets_404_on_every_contact_route() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let other = app.create_tenant("other").await;
    let jane = contact("homeowner", "Jane Example");
    add_contacts(&app, &acme, std::slice::from_ref(&jane)).await;
    let intruder = app.sign_in_admin(&other.admin).await;

    for path in [
        format!("/contacts/{}", jane.id),
        format!("/contacts/{}/edit", jane.id),
    ] {
        assert_eq!(
            intruder.page(&path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for path in [
        format!("/contacts/{}/edit", jane.id),
        format!("/contacts/{}/archive", jane.id),
        format!("/contacts/{}/restore", jane.id),
    ] {
        let response = intruder
            .post_form(&path, &form("Stolen", "homeowner", ""))
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let (_, list) = intruder.page("/contacts?q=Jane").await;
    assert!(!list.contains("Jane Example"));
    assert_eq!(
        app.count(
            "SELECT count(*) FROM contacts WHERE name = 'Jane Example' AND archived_at IS NULL"
        )
        .await,
        1
    );
}
