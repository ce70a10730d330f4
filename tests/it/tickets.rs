//! Tickets: logging, the page, edits, status changes, the list and who may see what.

use plotcare::domain::{Role, Status};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{TestApp, TestClient, TestTenant};

/// A scheme, a contract and a plot in a tenant.
pub struct Site {
    pub scheme: Uuid,
    pub contract: Uuid,
    pub plot: Uuid,
}

pub async fn site(
    app: &TestApp,
    tenant: &TestTenant,
    scheme_name: &str,
    plot_number: &str,
    postcode: &str,
) -> Site {
    let scheme = app.create_scheme(tenant, scheme_name).await;
    let contract = Uuid::now_v7();
    let plot = Uuid::now_v7();
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
        "INSERT INTO plots (tenant_id, id, scheme_id, contract_id, plot_number, address_line1, town, postcode)
         VALUES ($1, $2, $3, $4, $5, '1 Meadow Way', 'Leeds', $6)",
    )
    .bind(tenant.id)
    .bind(plot)
    .bind(scheme)
    .bind(contract)
    .bind(plot_number)
    .bind(postcode)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    Site {
        scheme,
        contract,
        plot,
    }
}

/// Logs a ticket through the form; `extra` overrides the defaults. Returns its id.
pub async fn log_ticket(client: &TestClient, plot: Uuid, extra: &[(&str, &str)]) -> Uuid {
    let mut fields: Vec<(&str, &str)> = vec![
        ("title", "Leaking kitchen tap"),
        ("description", "Drips constantly"),
        ("category", "plumbing"),
        ("location", "kitchen"),
        ("reported_via", "phone"),
        ("reported_at", "2025-03-03T09:00"),
        ("priority", "medium"),
        ("internal_cost", ""),
    ];
    for (k, v) in extra {
        fields.retain(|(key, _)| key != k);
        fields.push((k, v));
    }
    let response = client
        .post_form(&format!("/plots/{plot}/tickets/new"), &fields)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "logging failed: {}",
        response.text().await.unwrap()
    );
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    Uuid::parse_str(location.trim_start_matches("/tickets/")).unwrap()
}

async fn status_of(app: &TestApp, id: Uuid) -> String {
    sqlx::query_scalar("SELECT status FROM tickets WHERE id = $1")
        .bind(id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

/// Puts a ticket straight into `status` (with the columns that status needs).
async fn force_status(app: &TestApp, id: Uuid, status: Status) {
    sqlx::query(
        "UPDATE tickets SET status = $2,
                abortive_reason = CASE WHEN $2 = 'abortive_visit' THEN 'no_access' END,
                resolution = CASE WHEN $2 = 'closed' THEN 'Fixed' END,
                on_hold_since = CASE WHEN $2 = 'on_hold' THEN now() END
          WHERE id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .execute(&app.admin_pool)
    .await
    .unwrap();
}

/// Inserts a ticket directly (for list tests). Returns its id.
#[allow(clippy::too_many_arguments)]
async fn insert_ticket(
    app: &TestApp,
    tenant: &TestTenant,
    site: &Site,
    number: i64,
    title: &str,
    status: &str,
    priority: &str,
    category: &str,
    due_in_hours: Option<i64>,
    reported: &str,
) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO tickets (tenant_id, id, number, plot_id, scheme_id, contract_id, title, category, reported_via, reported_at,
                              priority, status, abortive_reason, resolution, due_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'phone', $9::timestamptz, $10, $11,
                 CASE WHEN $11 = 'abortive_visit' THEN 'duplicate' END, CASE WHEN $11 = 'closed' THEN 'Done' END,
                 now() + make_interval(hours => $12::int))",
    )
    .bind(tenant.id)
    .bind(id)
    .bind(number)
    .bind(site.plot)
    .bind(site.scheme)
    .bind(site.contract)
    .bind(title)
    .bind(category)
    .bind(reported)
    .bind(priority)
    .bind(status)
    .bind(due_in_hours.map(|h| h as i32))
    .execute(&app.admin_pool)
    .await
    .unwrap();
    id
}

/// The ticket references on a list page, in order.
fn refs(body: &str) -> Vec<String> {
    body.split("class=\"ticket-ref\">")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .collect()
}

fn next_link(body: &str) -> Option<String> {
    let at = body.find("rel=\"next\"")?;
    let start = body[..at].rfind("href=\"")? + 6;
    let end = body[start..].find('"')? + start;
    Some(body[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}

#[tokio::test]
async fn ticket_references_start_at_one_in_each_tenant_and_logging_is_recorded() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let b = app.create_tenant("bravo").await;
    let site_a = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let site_b = site(&app, &b, "River View", "3", "M1 1AA").await;
    let admin_a = app.sign_in_admin(&a.admin).await;
    let admin_b = app.sign_in_admin(&b.admin).await;

    let first = log_ticket(&admin_a, site_a.plot, &[]).await;
    let second = log_ticket(&admin_a, site_a.plot, &[("title", "Sticking back door")]).await;
    let in_b = log_ticket(&admin_b, site_b.plot, &[]).await;

    let (status, page) = admin_a.page(&format!("/tickets/{first}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("T-00001"));
    assert!(page.contains("Ticket T-00001 logged"));
    assert!(page.contains("Meadow Park"), "breadcrumbs name the scheme");
    assert!(page.contains("Plot 12"));
    assert!(
        admin_a
            .page(&format!("/tickets/{second}"))
            .await
            .1
            .contains("T-00002")
    );
    assert!(
        admin_b
            .page(&format!("/tickets/{in_b}"))
            .await
            .1
            .contains("T-00001")
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.created'")
            .await,
        3
    );
    let copied: (Uuid, Uuid) =
        sqlx::query_as("SELECT scheme_id, contract_id FROM tickets WHERE id = $1")
            .bind(first)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(copied, (site_a.scheme, site_a.contract));
}

#[tokio::test]
async fn a_ticket_with_missing_fields_shows_the_problems_and_saves_nothing() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let admin = app.sign_in_admin(&a.admin).await;

    let response = admin
        .post_form(
            &format!("/plots/{}/tickets/new", s.plot),
            &[
                ("title", ""),
                ("category", "lasers"),
                ("reported_via", "phone"),
                ("reported_at", "soon"),
                ("priority", "high"),
                ("is_complaint", "on"),
                ("internal_cost", "-3"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    for id in [
        "title-error",
        "category-error",
        "reported_at-error",
        "complaint_received_on-error",
        "internal_cost-error",
    ] {
        assert!(body.contains(id), "{id} shown");
    }
    assert_eq!(app.count("SELECT count(*) FROM tickets").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM ticket_counters").await, 0);
}

#[tokio::test]
async fn every_transition_in_the_table_is_allowed_and_every_other_is_refused() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let admin = app.sign_in_admin(&a.admin).await;
    let id = log_ticket(&admin, s.plot, &[]).await;

    let review_on = plotcare::domain::clock::today().to_string();
    for from in Status::ALL {
        for to in Status::ALL {
            force_status(&app, id, *from).await;
            let response = admin
                .post_form(
                    &format!("/tickets/{id}/status"),
                    &[
                        ("to", to.as_str()),
                        ("resolution", "Replaced the washer"),
                        ("reason", "no_access"),
                        ("hold_reason", "Waiting for the homeowner"),
                        ("review_on", &review_on),
                    ],
                )
                .await;
            if from.can_move_to(*to) {
                assert_eq!(
                    response.status(),
                    StatusCode::SEE_OTHER,
                    "{from:?} -> {to:?} allowed"
                );
                assert_eq!(status_of(&app, id).await, to.as_str());
            } else {
                assert_eq!(
                    response.status(),
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "{from:?} -> {to:?} refused"
                );
                let body = response.text().await.unwrap();
                assert!(body.contains("status-error"), "{from:?} -> {to:?} says why");
                assert_eq!(status_of(&app, id).await, from.as_str());
            }
        }
    }
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("cannot be changed to") || page.contains("Status changed"));
}

#[tokio::test]
async fn closing_needs_a_resolution_and_abortive_needs_a_reason() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let admin = app.sign_in_admin(&a.admin).await;
    let id = log_ticket(&admin, s.plot, &[]).await;

    let response = admin
        .post_form(
            &format!("/tickets/{id}/status"),
            &[("to", "closed"), ("resolution", "  ")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Say how the defect was resolved")
    );
    assert_eq!(status_of(&app, id).await, "open");

    let response = admin
        .post_form(
            &format!("/tickets/{id}/status"),
            &[("to", "abortive_visit"), ("reason", "")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Choose why the visit was abortive")
    );
    assert_eq!(status_of(&app, id).await, "open");

    let response = admin
        .post_form(
            &format!("/tickets/{id}/status"),
            &[
                ("to", "abortive_visit"),
                ("reason", "no_access"),
                ("note", "Nobody home at 10am"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("Abortive visit"));
    assert!(page.contains("No access"));
    assert!(page.contains("Nobody home at 10am"));

    admin
        .post_form(&format!("/tickets/{id}/status"), &[("to", "open")])
        .await;
    let response = admin
        .post_form(
            &format!("/tickets/{id}/status"),
            &[("to", "closed"), ("resolution", "Replaced the washer")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("Replaced the washer"));
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM tickets WHERE id = '{id}' AND closed_at IS NOT NULL"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn reopening_a_closed_ticket_is_recorded() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let admin = app.sign_in_admin(&a.admin).await;
    let id = log_ticket(&admin, s.plot, &[]).await;
    admin
        .post_form(
            &format!("/tickets/{id}/status"),
            &[("to", "closed"), ("resolution", "Fixed")],
        )
        .await;

    let response = admin
        .post_form(&format!("/tickets/{id}/status"), &[("to", "open")])
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(status_of(&app, id).await, "open");
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("Reopened (was closed)"));
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.reopened'")
            .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM ticket_events WHERE ticket_id = '{id}' AND kind = 'reopened'"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn editing_shows_each_change_in_the_timeline_and_moves_the_due_time() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let admin = app.sign_in_admin(&a.admin).await;
    let id = log_ticket(
        &admin,
        s.plot,
        &[("reported_at", "2025-01-06T09:00"), ("priority", "low")],
    )
    .await;

    let response = admin
        .post_form(
            &format!("/tickets/{id}/edit"),
            &[
                ("title", "Leaking tap, kitchen"),
                ("description", "Drips constantly"),
                ("category", "plumbing"),
                ("location", "kitchen"),
                ("reported_via", "phone"),
                ("reported_at", "2025-01-06T09:00"),
                ("priority", "high"),
                ("internal_cost", "80"),
            ],
        )
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = admin.page(&format!("/tickets/{id}")).await;
    assert!(page.contains("Title: Leaking kitchen tap → Leaking tap, kitchen"));
    assert!(page.contains("Priority: Low → High"));
    assert!(page.contains("£80.00"));
    let due: time::OffsetDateTime = sqlx::query_scalar("SELECT due_at FROM tickets WHERE id = $1")
        .bind(id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(
        due,
        time::macros::datetime!(2025-01-07 09:00 UTC),
        "reported + 1 day for High"
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.updated'")
            .await,
        1
    );
}

#[tokio::test]
async fn the_list_filters_searches_and_counts_per_status() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let one = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let two = site(&app, &a, "River View", "7B", "M1 1AA").await;
    let company = app.create_company(&a, "Brightwater Plumbing").await;
    let staff = app.create_user(&a, Role::Staff, None, false).await;
    let t1 = insert_ticket(
        &app,
        &a,
        &one,
        1,
        "Leaking tap",
        "open",
        "high",
        "plumbing",
        Some(-2),
        "2025-01-10T10:00:00Z",
    )
    .await;
    let t2 = insert_ticket(
        &app,
        &a,
        &one,
        2,
        "Cracked tile",
        "in_progress",
        "low",
        "general",
        Some(48),
        "2025-02-10T10:00:00Z",
    )
    .await;
    let t3 = insert_ticket(
        &app,
        &a,
        &two,
        3,
        "Roof slate loose",
        "closed",
        "medium",
        "roofing",
        Some(-48),
        "2025-03-10T10:00:00Z",
    )
    .await;
    let t4 = insert_ticket(
        &app,
        &a,
        &two,
        4,
        "Door sticks",
        "open",
        "low",
        "carpentry",
        None,
        "2025-04-10T10:00:00Z",
    )
    .await;
    sqlx::query("UPDATE tickets SET nominated_company_id = $2 WHERE id = $1")
        .bind(t1)
        .bind(company)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    sqlx::query("UPDATE tickets SET nominated_user_id = $2 WHERE id = $1")
        .bind(t2)
        .bind(staff.id)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    sqlx::query("UPDATE tickets SET is_complaint = true, complaint_received_on = '2025-03-10' WHERE id = $1").bind(t3).execute(&app.admin_pool).await.unwrap();
    let _ = t4;
    let admin = app.sign_in_admin(&a.admin).await;

    let shows = |query: String, expected: Vec<&'static str>| {
        let admin = admin.clone();
        async move {
            let (status, body) = admin.page(&format!("/tickets?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}");
            let mut got = refs(&body);
            got.sort();
            assert_eq!(got, expected, "{query}");
            body
        }
    };
    let all = shows(
        String::new(),
        vec!["T-00001", "T-00002", "T-00003", "T-00004"],
    )
    .await;
    assert!(all.contains("Open: 2"), "counts per status");
    assert!(all.contains("In progress: 1"));
    assert!(all.contains("Closed: 1"));
    shows(format!("scheme={}", one.scheme), vec!["T-00001", "T-00002"]).await;
    shows(
        format!("contract={}", two.contract),
        vec!["T-00003", "T-00004"],
    )
    .await;
    shows(format!("plot={}", two.plot), vec!["T-00003", "T-00004"]).await;
    let open = shows("status=open".into(), vec!["T-00001", "T-00004"]).await;
    assert!(
        open.contains("Closed: 1"),
        "counts ignore the status filter"
    );
    shows(
        "status=open&status=closed".into(),
        vec!["T-00001", "T-00003", "T-00004"],
    )
    .await;
    shows("priority=low".into(), vec!["T-00002", "T-00004"]).await;
    shows("category=roofing".into(), vec!["T-00003"]).await;
    shows(format!("nominated=company:{company}"), vec!["T-00001"]).await;
    shows(format!("nominated=staff:{}", staff.id), vec!["T-00002"]).await;
    shows("overdue=1".into(), vec!["T-00001"]).await;
    shows("complaint=yes".into(), vec!["T-00003"]).await;
    shows("complaint=no".into(), vec!["T-00001", "T-00002", "T-00004"]).await;
    shows(
        "from=2025-02-01&to=2025-03-31".into(),
        vec!["T-00002", "T-00003"],
    )
    .await;
    shows("q=T-00003".into(), vec!["T-00003"]).await;
    shows("q=00004".into(), vec!["T-00004"]).await;
    shows("q=slate".into(), vec!["T-00003"]).await;
    shows("q=m11aa".into(), vec!["T-00003", "T-00004"]).await;
    shows("q=7b".into(), vec!["T-00003", "T-00004"]).await;
    shows("q=LEAK".into(), vec!["T-00001"]).await;
    shows("q=roof+loose".into(), vec!["T-00003"]).await;
    shows("q=roof+tap".into(), vec![]).await;
    shows("q=m1+1aa".into(), vec!["T-00003", "T-00004"]).await;
    let searched = shows("q=tile".into(), vec!["T-00002"]).await;
    assert!(
        searched.contains("In progress: 1"),
        "counts follow the search"
    );
    assert!(searched.contains("Open: 0"), "{searched}");
    let by_count = shows("status=open&priority=low".into(), vec!["T-00004"]).await;
    assert!(by_count.contains("In progress: 1"));

    for bad in [
        "status=nonsense",
        "priority=urgent",
        "scheme=abc",
        "from=31/01/2025",
        "sort=colour",
        "after=zzz",
        "nominated=nobody",
    ] {
        let (status, body) = admin.page(&format!("/tickets?{bad}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body.contains("Please check your request"), "{bad}");
    }
}

#[tokio::test]
async fn keyset_pages_return_every_ticket_once_in_each_sort() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    for n in 1..=120_i64 {
        // Some share a due time and some have none, to test the tie-breaks.
        let due = if n % 10 == 0 { None } else { Some(n % 7) };
        let reported = format!("2025-01-{:02}T10:00:00Z", 1 + n % 28);
        insert_ticket(
            &app, &a, &s, n, "Snag", "open", "medium", "general", due, &reported,
        )
        .await;
    }
    let admin = app.sign_in_admin(&a.admin).await;

    for sort in ["due", "reported", "updated"] {
        let mut seen = Vec::new();
        let mut path = Some(format!("/tickets?sort={sort}"));
        let mut pages = 0;
        while let Some(p) = path {
            let (status, body) = admin.page(&p).await;
            assert_eq!(status, StatusCode::OK);
            seen.extend(refs(&body));
            path = next_link(&body);
            pages += 1;
            assert!(pages < 10);
        }
        assert_eq!(pages, 3, "{sort}: 50 + 50 + 20");
        let count = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!((count, seen.len()), (120, 120), "{sort}: every ticket once");
    }
}

#[tokio::test]
async fn an_admin_of_another_tenant_gets_404_on_every_ticket_route() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let b = app.create_tenant("bravo").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let admin_a = app.sign_in_admin(&a.admin).await;
    let id = log_ticket(
        &admin_a,
        s.plot,
        &[
            ("is_complaint", "on"),
            ("complaint_received_on", "2025-03-03"),
        ],
    )
    .await;
    let admin_b = app.sign_in_admin(&b.admin).await;

    for path in [
        format!("/tickets/{id}"),
        format!("/tickets/{id}/edit"),
        format!("/plots/{}/tickets/new", s.plot),
    ] {
        assert_eq!(
            admin_b.page(&path).await.0,
            StatusCode::NOT_FOUND,
            "GET {path}"
        );
    }
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/tickets/{id}/edit"),
            vec![
                ("title", "Hijacked"),
                ("category", "general"),
                ("reported_via", "phone"),
                ("reported_at", "2025-03-03T09:00"),
                ("priority", "low"),
            ],
        ),
        (
            format!("/tickets/{id}/status"),
            vec![("to", "closed"), ("resolution", "Hijacked")],
        ),
        (
            format!("/tickets/{id}/complaint-stages"),
            vec![("stage", "acknowledgement"), ("done_on", "2025-03-04")],
        ),
        (
            format!("/plots/{}/tickets/new", s.plot),
            vec![
                ("title", "Hijacked"),
                ("category", "general"),
                ("reported_via", "phone"),
                ("reported_at", "2025-03-03T09:00"),
                ("priority", "low"),
            ],
        ),
    ];
    for (path, fields) in &posts {
        assert_eq!(
            admin_b.post_form(path, fields).await.status(),
            StatusCode::NOT_FOUND,
            "POST {path}"
        );
    }
    let (title, status): (String, String) =
        sqlx::query_as("SELECT title, status FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(
        (title.as_str(), status.as_str()),
        ("Leaking kitchen tap", "open")
    );
    assert_eq!(app.count("SELECT count(*) FROM tickets").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM complaint_stages").await, 0);
    assert!(!admin_b.page("/tickets").await.1.contains("T-00001"));
}

#[tokio::test]
async fn scheme_restricted_staff_get_404_outside_their_schemes() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let mine = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let other = site(&app, &a, "River View", "3", "M1 1AA").await;
    let admin = app.sign_in_admin(&a.admin).await;
    let visible = log_ticket(&admin, mine.plot, &[("title", "Mine to see")]).await;
    let hidden = log_ticket(&admin, other.plot, &[("title", "Not mine")]).await;
    let staff = app.create_user(&a, Role::Staff, None, false).await;
    app.restrict_to_scheme(&a, &staff, mine.scheme).await;
    let client = app.sign_in(&staff).await;

    assert_eq!(
        client.page(&format!("/tickets/{visible}")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        client.page(&format!("/tickets/{hidden}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client.page(&format!("/tickets/{hidden}/edit")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client
            .page(&format!("/plots/{}/tickets/new", other.plot))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let response = client
        .post_form(
            &format!("/tickets/{hidden}/status"),
            &[("to", "in_progress")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(status_of(&app, hidden).await, "open");
    let (_, list) = client.page("/tickets").await;
    assert!(list.contains("Mine to see"));
    assert!(!list.contains("Not mine"));
}

#[tokio::test]
async fn a_subcontractor_sees_only_their_companys_tickets_without_costs_or_internal_entries() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let company = app.create_company(&a, "Brightwater Plumbing").await;
    let rival = app.create_company(&a, "Rival Roofing").await;
    let admin = app.sign_in_admin(&a.admin).await;
    let ours = log_ticket(&admin, s.plot, &[("internal_cost", "987.65")]).await;
    let theirs = log_ticket(&admin, s.plot, &[("title", "Rival's job")]).await;
    sqlx::query("UPDATE tickets SET nominated_company_id = $2 WHERE id = $1")
        .bind(ours)
        .bind(company)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    sqlx::query("UPDATE tickets SET nominated_company_id = $2 WHERE id = $1")
        .bind(theirs)
        .bind(rival)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    // A staff-only entry and an internal cost change.
    admin
        .post_form(
            &format!("/tickets/{ours}/edit"),
            &[
                ("title", "Leaking kitchen tap"),
                ("description", "Drips constantly"),
                ("category", "plumbing"),
                ("location", "kitchen"),
                ("reported_via", "phone"),
                ("reported_at", "2025-03-03T09:00"),
                ("priority", "medium"),
                ("internal_cost", "1234.50"),
            ],
        )
        .await;
    sqlx::query("INSERT INTO ticket_events (tenant_id, id, ticket_id, kind, shared, data) VALUES ($1, $2, $3, 'note', false, '{\"summary\": \"Secret staff note\"}')")
        .bind(a.id)
        .bind(Uuid::now_v7())
        .bind(ours)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let sub = app
        .create_user(&a, Role::Subcontractor, Some(company), false)
        .await;
    let client = app.sign_in(&sub).await;

    let (status, page) = client.page(&format!("/tickets/{ours}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("T-00001"));
    assert!(
        page.contains("Ticket T-00001 logged"),
        "shared entries are shown"
    );
    // Exact amounts: a bare "987" can turn up by chance inside ids and tokens.
    assert!(!page.contains("987.65"), "no internal cost");
    assert!(!page.contains("1234.50"), "no internal cost change");
    assert!(!page.contains("Internal cost"));
    assert!(!page.contains("Secret staff note"));
    assert!(!page.contains(&format!("/tickets/{ours}/status")));
    assert_eq!(
        client.page(&format!("/tickets/{theirs}")).await.0,
        StatusCode::NOT_FOUND
    );
    let response = client
        .post_form(
            &format!("/tickets/{ours}/status"),
            &[("to", "closed"), ("resolution", "Done")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(status_of(&app, ours).await, "open");
    let (_, list) = client.page("/tickets").await;
    assert!(list.contains("T-00001"));
    assert!(!list.contains("Rival"));
}

#[tokio::test]
async fn demo_tickets_go_through_the_service_and_cover_every_status_with_their_history() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    site(&app, &a, "River View", "3", "M1 1AA").await;
    let brightwater = app.create_company(&a, "Brightwater Plumbing").await;
    app.create_company(&a, "Oakline Joinery").await;
    app.create_user(&a, Role::Staff, None, false).await;
    let sub = app
        .create_user(&a, Role::Subcontractor, Some(brightwater), true)
        .await;
    let admin = app.sign_in_admin(&a.admin).await;
    let first = log_ticket(
        &admin,
        site(&app, &a, "Oak Grange", "1", "YO1 7HH").await.plot,
        &[],
    )
    .await;

    let mut tx = plotcare::auth::TenantTx::begin(&app.pool, a.tenant)
        .await
        .unwrap();
    let made = plotcare::demo_tickets::load_demo_tickets(&mut tx, 120)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(made, 120);
    assert_eq!(
        app.count("SELECT count(DISTINCT status) FROM tickets")
            .await,
        6
    );
    assert_eq!(app.count("SELECT max(number) FROM tickets").await, 121);
    // Each has its logged entry and audit record, as a ticket logged on the page has.
    assert_eq!(
        app.count("SELECT count(*) FROM ticket_events WHERE kind = 'created'")
            .await,
        121
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.created'")
            .await,
        121
    );
    // Every ticket that names a company has the nomination behind it, and its timeline says so.
    assert!(
        app.count("SELECT count(*) FROM tickets WHERE nominated_company_id IS NOT NULL")
            .await
            > 0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets t WHERE t.nominated_company_id IS NOT NULL AND NOT EXISTS (
                 SELECT 1 FROM nominations n WHERE n.tenant_id = t.tenant_id AND n.ticket_id = t.id
                    AND n.company_id = t.nominated_company_id AND n.ended_at IS NULL)"
        )
        .await,
        0
    );
    assert_eq!(
        app.count(
            "SELECT count(*) FROM tickets t WHERE t.nominated_company_id IS NOT NULL AND NOT EXISTS (
                 SELECT 1 FROM ticket_events e WHERE e.tenant_id = t.tenant_id AND e.ticket_id = t.id AND e.kind = 'nominated')"
        )
        .await,
        0
    );
    // Brightwater's jobs were accepted, booked, attended and completed by its own user.
    assert!(
        app.count(&format!(
            "SELECT count(*) FROM ticket_events WHERE kind = 'work_completed' AND actor_user_id = '{}'",
            sub.id
        ))
        .await
            > 0
    );
    assert!(
        app.count("SELECT count(*) FROM nominations WHERE response = 'accepted'")
            .await
            > 0
    );
    assert!(
        app.count("SELECT count(*) FROM appointments WHERE status = 'attended'")
            .await
            > 0
    );
    // Signed-off tickets went completed → closed; nothing was emailed.
    assert!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'ticket.signed_off'")
            .await
            > 0
    );
    assert_eq!(app.count("SELECT count(*) FROM outbox_emails").await, 0);

    let (status, page) = admin.page("/tickets?status=closed").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!refs(&page).is_empty());
    assert_eq!(
        admin.page(&format!("/tickets/{first}")).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn counts_per_status_follow_every_change_and_the_users_schemes() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let b = app.create_tenant("bravo").await;
    let mine = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let other = site(&app, &a, "River View", "3", "M1 1AA").await;
    let elsewhere = site(&app, &b, "Hill Top", "1", "YO1 7HH").await;
    let admin = app.sign_in_admin(&a.admin).await;
    let first = log_ticket(&admin, mine.plot, &[("title", "Leaking tap")]).await;
    log_ticket(&admin, mine.plot, &[("title", "Cracked tile")]).await;
    log_ticket(&admin, other.plot, &[("title", "Door sticks")]).await;
    let bravo = app.sign_in_admin(&b.admin).await;
    log_ticket(&bravo, elsewhere.plot, &[("title", "Not acme's")]).await;

    let count = |body: &str, status: &str| -> i64 {
        let at = body.find(&format!("id=\"count-{status}\"")).expect(status);
        let text = &body[at..];
        let text = &text[text.find(": ").unwrap() + 2..];
        text[..text.find('<').unwrap()].parse().unwrap()
    };
    let (_, all) = admin.page("/tickets").await;
    assert_eq!((count(&all, "open"), count(&all, "closed")), (3, 0));

    let closed = admin
        .post_form(
            &format!("/tickets/{first}/status"),
            &[("to", "closed"), ("resolution", "Replaced the washer")],
        )
        .await;
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);
    let (_, all) = admin.page("/tickets").await;
    assert_eq!((count(&all, "open"), count(&all, "closed")), (2, 1));
    let (_, one_scheme) = admin
        .page(&format!("/tickets?scheme={}", mine.scheme))
        .await;
    assert_eq!(
        (count(&one_scheme, "open"), count(&one_scheme, "closed")),
        (1, 1)
    );
    let (_, filtered) = admin.page("/tickets?q=door").await;
    assert_eq!(
        (count(&filtered, "open"), count(&filtered, "closed")),
        (1, 0)
    );

    // Staff restricted to one scheme count only that scheme's tickets.
    let staff = app.create_user(&a, Role::Staff, None, false).await;
    app.restrict_to_scheme(&a, &staff, other.scheme).await;
    let staff = app.sign_in(&staff).await;
    let (_, theirs) = staff.page("/tickets").await;
    assert_eq!((count(&theirs, "open"), count(&theirs, "closed")), (1, 0));
    let (_, bravo_list) = bravo.page("/tickets").await;
    assert_eq!(count(&bravo_list, "open"), 1, "each tenant counts its own");

    // A changed title is searched by its new words only.
    sqlx::query("UPDATE tickets SET title = 'Boiler pressure low' WHERE id = $1")
        .bind(first)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let (_, found) = admin.page("/tickets?q=boiler").await;
    assert_eq!(refs(&found).len(), 1);
    let (_, gone) = admin.page("/tickets?q=leaking").await;
    assert!(refs(&gone).is_empty());
    let (_, theirs) = bravo.page("/tickets?q=boiler").await;
    assert!(refs(&theirs).is_empty(), "no other tenant's tickets");
}
