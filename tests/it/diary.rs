//! The diary (issue 17): appointments by day and week with no-access, abortive and
//! cancelled visits marked, the scheme, subcontractor and engineer filters, the
//! unbooked jobs and the visits without an outcome, and who sees what. The tickets,
//! nominations, acceptances, bookings and outcomes are made through the ticket
//! service, as every page makes them.

use plotcare::{
    auth::TenantTx,
    db::{
        appointments::AppointmentInput,
        audit,
        tickets::{PlotPlace, TicketFields},
    },
    domain::{AbortiveReason, Category, Priority, Role, Status, clock},
    tickets::{self, Actor, Answer, Links, Origin, Transition, VisitOutcome},
};
use reqwest::StatusCode;
use time::{Date, Duration, Time, macros::date};
use uuid::Uuid;

use crate::common::{
    TestApp, TestClient, TestTenant, TestUser,
    browser::{Browser, click, fill, wait_for_path, wait_for_text},
};
use crate::tickets::site;

fn actor(user: &TestUser, company: Option<Uuid>) -> Actor {
    Actor {
        user_id: user.id,
        role: user.role,
        company_id: company,
        tenant_name: "Acme Homes".into(),
        audit: audit::Actor {
            user_id: Some(user.id),
            request_id: Some("test".into()),
            ..audit::Actor::default()
        },
    }
}

/// A tenant with two schemes (a plot each), two subcontractor companies with a user
/// each, and a staff member: everything the diary's tickets need.
struct World<'a> {
    app: &'a TestApp,
    t: TestTenant,
    meadow: PlotPlace,
    oak: PlotPlace,
    staff_user: TestUser,
    staff: Actor,
    brightwater: Uuid,
    brightwater_user: TestUser,
    sparks: Uuid,
    sparks_user: TestUser,
}

async fn world<'a>(app: &'a TestApp, slug: &str) -> World<'a> {
    let t = app.create_tenant(slug).await;
    let place = |s: crate::tickets::Site| PlotPlace {
        plot_id: s.plot,
        scheme_id: s.scheme,
        contract_id: s.contract,
    };
    let meadow = place(site(app, &t, "Meadow Park", "12", "LS1 4AB").await);
    let oak = place(site(app, &t, "Oak Fields", "7", "LS2 7CD").await);
    let brightwater = app.create_company(&t, "Brightwater Plumbing").await;
    let sparks = app.create_company(&t, "Sparks Electrical").await;
    let staff_user = app.create_user(&t, Role::Staff, None, false).await;
    let brightwater_user = app
        .create_user(&t, Role::Subcontractor, Some(brightwater), false)
        .await;
    let sparks_user = app
        .create_user(&t, Role::Subcontractor, Some(sparks), false)
        .await;
    World {
        staff: actor(&staff_user, None),
        staff_user,
        meadow,
        oak,
        brightwater,
        brightwater_user,
        sparks,
        sparks_user,
        t,
        app,
    }
}

fn hour(h: u8) -> Time {
    Time::from_hms(h, 0, 0).unwrap()
}

impl World<'_> {
    async fn tx(&self) -> TenantTx {
        TenantTx::begin(&self.app.pool, self.t.tenant)
            .await
            .unwrap()
    }

    /// Logs a ticket on the place, reported `days_ago` days ago.
    async fn log(&self, place: PlotPlace, title: &str, days_ago: i64) -> Uuid {
        let fields = TicketFields {
            title: title.into(),
            description: String::new(),
            category: Category::Plumbing,
            location: "kitchen".into(),
            reported_by_contact_id: None,
            reported_via: "phone".into(),
            reported_at: clock::now() - Duration::days(days_ago),
            priority: Priority::Medium,
            is_complaint: false,
            complaint_received_on: None,
            internal_cost: None,
        };
        let mut tx = self.tx().await;
        let logged = tickets::log(&mut tx, &self.staff, place, &fields, Origin::Reported)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        logged.id
    }

    fn company_user(&self, company: Uuid) -> Actor {
        if company == self.brightwater {
            actor(&self.brightwater_user, Some(company))
        } else {
            actor(&self.sparks_user, Some(company))
        }
    }

    async fn nominate(&self, ticket: Uuid, company: Uuid) {
        let mut tx = self.tx().await;
        tickets::nominate(
            &mut tx,
            &self.staff,
            ticket,
            &format!("company:{company}"),
            &Links::silent(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }

    async fn accept(&self, ticket: Uuid, company: Uuid) {
        let mut tx = self.tx().await;
        tickets::respond_to_nomination(
            &mut tx,
            &self.company_user(company),
            ticket,
            Answer::Accept,
            &Links::silent(),
        )
        .await
        .unwrap()
        .expect("a pending nomination");
        tx.commit().await.unwrap();
    }

    /// A ticket nominated to `company` and accepted by it.
    async fn job(&self, place: PlotPlace, title: &str, company: Uuid, days_ago: i64) -> Uuid {
        let id = self.log(place, title, days_ago).await;
        self.nominate(id, company).await;
        self.accept(id, company).await;
        id
    }

    async fn book(&self, ticket: Uuid, day: Date, from: u8, to: u8, with_whom: &str) -> Uuid {
        let input = AppointmentInput {
            day,
            window_start: hour(from),
            window_end: hour(to),
            with_whom: with_whom.into(),
            notes: String::new(),
        };
        let mut tx = self.tx().await;
        let id = tickets::book_appointment(&mut tx, &self.staff, ticket, &input)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    async fn record(&self, ticket: Uuid, appointment: Uuid, outcome: VisitOutcome) {
        let mut tx = self.tx().await;
        let before = plotcare::db::appointments::find(&mut tx, ticket, appointment)
            .await
            .unwrap()
            .unwrap();
        tickets::record_visit(&mut tx, &self.staff, &before, outcome)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn abortive(&self, ticket: Uuid) {
        let mut tx = self.tx().await;
        let ask = Transition {
            to: Some(Status::AbortiveVisit),
            reason: Some(AbortiveReason::NoAccess),
            ..Transition::default()
        };
        tickets::transition(&mut tx, &self.staff, ticket, ask)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    async fn staff_client(&self) -> TestClient {
        self.app.sign_in(&self.staff_user).await
    }
}

/// The diary page at `path`, which must answer 200.
async fn diary(client: &TestClient, path: &str) -> String {
    let (status, page) = client.page(path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {page}");
    page
}

/// The HTML of the element whose id is `id` (up to the end of its list item or row).
fn element<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no element {id} in {page}"));
    let rest = &page[start..];
    let end = ["</li>", "</tr>"]
        .iter()
        .filter_map(|e| rest.find(e))
        .min()
        .unwrap_or(rest.len());
    &rest[..end]
}

fn shows(page: &str, appointment: Uuid) -> bool {
    page.contains(&format!("id=\"visit-{appointment}\""))
}

/// A week well in the future: Monday 7 January 2030 to Sunday 13 January.
const MONDAY: Date = date!(2030 - 01 - 07);

#[tokio::test]
async fn day_and_week_show_the_right_appointments_in_order_with_their_marks() {
    let app = TestApp::spawn().await;
    let w = world(&app, "acme").await;
    let tap = w
        .job(w.meadow, "Leaking kitchen tap", w.brightwater, 3)
        .await;
    let socket = w.job(w.oak, "Dead socket", w.sparks, 2).await;
    let door = w
        .job(w.meadow, "Sticking back door", w.brightwater, 1)
        .await;

    let afternoon = w.book(tap, MONDAY, 13, 17, "Sam Jones").await;
    let morning = w.book(socket, MONDAY, 8, 12, "Ali Khan").await;
    let wednesday = w
        .book(socket, MONDAY + Duration::days(2), 9, 11, "Ali Khan")
        .await;
    w.record(socket, wednesday, VisitOutcome::NoAccess).await;
    let thursday = w
        .book(door, MONDAY + Duration::days(3), 10, 12, "Sam Jones")
        .await;
    w.abortive(door).await;
    let sunday = w
        .book(tap, MONDAY + Duration::days(6), 9, 10, "Sam Jones")
        .await;
    let next_monday = w
        .book(tap, MONDAY + Duration::days(7), 9, 10, "Sam Jones")
        .await;
    let cancelled = w
        .book(tap, MONDAY + Duration::days(1), 14, 15, "Sam Jones")
        .await;
    // Nothing in the app cancels an appointment yet; the status exists in the schema.
    sqlx::query("UPDATE appointments SET status = 'cancelled' WHERE id = $1")
        .bind(cancelled)
        .execute(&w.app.admin_pool)
        .await
        .unwrap();
    let client = w.staff_client().await;

    // The week of any of its days: Monday to Sunday, not the Monday after.
    let page = diary(&client, "/diary?day=2030-01-09").await;
    assert!(page.contains("Week of Monday 7 January 2030"), "{page}");
    for a in [afternoon, morning, wednesday, thursday, sunday, cancelled] {
        assert!(shows(&page, a), "{a} is in the week");
    }
    assert!(!shows(&page, next_monday));
    for d in ["2030-01-07", "2030-01-10", "2030-01-13"] {
        assert!(page.contains(&format!("id=\"day-{d}\"")));
    }
    assert!(!page.contains("id=\"day-2030-01-14\""));
    // Monday's column: the morning window before the afternoon's.
    let monday = &page
        [page.find("id=\"day-2030-01-07\"").unwrap()..page.find("id=\"day-2030-01-08\"").unwrap()];
    let (m, a) = (
        monday.find(&format!("visit-{morning}")).unwrap(),
        monday.find(&format!("visit-{afternoon}")).unwrap(),
    );
    assert!(m < a, "ordered by window");
    let item = element(&page, &format!("visit-{morning}"));
    for part in [
        "08:00–12:00",
        &format!("href=\"/tickets/{socket}\">T-"),
        "Dead socket",
        "1 Meadow Way, Leeds, LS2 7CD",
        "Oak Fields",
        "Subcontractor: Sparks Electrical",
        "Engineer: Ali Khan",
        ">Booked<",
    ] {
        assert!(item.contains(part), "{part} in {item}");
    }
    let no_access = element(&page, &format!("visit-{wednesday}"));
    assert!(
        no_access.contains(r#"<span class="badge bad">No access</span>"#),
        "{no_access}"
    );
    assert!(!no_access.contains("Abortive"));
    let abortive = element(&page, &format!("visit-{thursday}"));
    assert!(
        abortive.contains(r#"<span class="badge bad">Abortive</span>"#),
        "{abortive}"
    );
    let struck = element(&page, &format!("visit-{cancelled}"));
    assert!(struck.contains("diary-visit cancelled"), "{struck}");
    assert!(struck.contains("<s>14:00–15:00</s>") && struck.contains("Cancelled"));
    // Previous and next weeks start on their Mondays.
    assert!(
        page.contains(r#"href="/diary?day=2029-12-31" id="diary-prev""#),
        "{page}"
    );
    assert!(page.contains(r#"href="/diary?day=2030-01-14" id="diary-next""#));

    // The day view: that day only, by window, with its own previous and next days.
    let page = diary(&client, "/diary?view=day&day=2030-01-07").await;
    assert!(page.contains("Monday 7 January 2030"));
    assert!(shows(&page, morning) && shows(&page, afternoon));
    assert!(!shows(&page, wednesday) && !shows(&page, sunday));
    assert!(
        page.find(&format!("visit-{morning}")).unwrap()
            < page.find(&format!("visit-{afternoon}")).unwrap()
    );
    assert!(
        page.contains(r#"href="/diary?view=day&#38;day=2030-01-06" id="diary-prev""#),
        "{page}"
    );
    assert!(page.contains(r#"href="/diary?view=day&#38;day=2030-01-08" id="diary-next""#));
    assert!(page.contains(r#"href="/diary?view=day" id="diary-today""#));

    // Today, by default, in the week view; and the link in the staff header.
    let page = diary(&client, "/diary").await;
    assert!(page.contains(&format!("id=\"day-{}\"", clock::today())));
    assert!(page.contains(r#"href="/diary">Diary</a>"#));

    // A day that is not a date, or a view that does not exist: a 400 page that says why.
    let (status, page) = client.page("/diary?day=2030-02-30").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("The day must be a real date like 2025-03-31."));
    let (status, page) = client.page("/diary?day=0001-01-01").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Choose a day between the years 1900 and 2199."));
    let (status, page) = client.page("/diary?view=month").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("a day or a week"));
    let (status, page) = client.page("/diary?scheme=meadow").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Choose a scheme from the list."));
}

#[tokio::test]
async fn the_scheme_subcontractor_and_engineer_filters_narrow_the_diary() {
    let app = TestApp::spawn().await;
    let w = world(&app, "acme").await;
    let tap = w.job(w.meadow, "Leaking tap", w.brightwater, 3).await;
    let socket = w.job(w.oak, "Dead socket", w.sparks, 2).await;
    let sam = w.book(tap, MONDAY, 8, 10, "Sam Jones").await;
    let priya = w.book(tap, MONDAY, 10, 12, "Priya Shah").await;
    let ali = w.book(socket, MONDAY, 13, 15, "Ali Khan").await;
    let client = w.staff_client().await;

    let page = diary(&client, "/diary?day=2030-01-07").await;
    assert!(shows(&page, sam) && shows(&page, priya) && shows(&page, ali));
    // The engineer menu offers the names booked that week.
    let menu = &page[page.find("id=\"diary-engineer\"").unwrap()..];
    let menu = &menu[..menu.find("</select>").unwrap()];
    for name in ["Ali Khan", "Priya Shah", "Sam Jones"] {
        assert!(
            menu.contains(&format!("<option value=\"{name}\">{name}</option>")),
            "{menu}"
        );
    }
    assert!(page.contains(&format!(
        "<option value=\"{}\">Oak Fields</option>",
        w.oak.scheme_id
    )));
    assert!(page.contains(&format!(
        "<option value=\"{}\">Sparks Electrical</option>",
        w.sparks
    )));

    let page = diary(
        &client,
        &format!("/diary?day=2030-01-07&scheme={}", w.oak.scheme_id),
    )
    .await;
    assert!(shows(&page, ali) && !shows(&page, sam) && !shows(&page, priya));
    assert!(page.contains(&format!(
        "<option value=\"{}\" selected>Oak Fields</option>",
        w.oak.scheme_id
    )));

    let page = diary(
        &client,
        &format!("/diary?day=2030-01-07&company={}", w.brightwater),
    )
    .await;
    assert!(shows(&page, sam) && shows(&page, priya) && !shows(&page, ali));

    let page = diary(&client, "/diary?day=2030-01-07&engineer=Sam+Jones").await;
    assert!(shows(&page, sam) && !shows(&page, priya) && !shows(&page, ali));
    assert!(page.contains("<option value=\"Sam Jones\" selected>Sam Jones</option>"));
    // The filters travel with the previous and next links.
    assert!(
        page.contains(r#"href="/diary?day=2029-12-31&#38;engineer=Sam+Jones" id="diary-prev""#),
        "{page}"
    );

    let page = diary(
        &client,
        &format!(
            "/diary?day=2030-01-07&company={}&engineer=Sam+Jones",
            w.sparks
        ),
    )
    .await;
    assert!(!shows(&page, sam) && !shows(&page, priya) && !shows(&page, ali));
    assert!(page.contains("0 appointments."));
}

#[tokio::test]
async fn unbooked_jobs_are_accepted_jobs_with_nothing_booked_from_today_oldest_first() {
    let app = TestApp::spawn().await;
    let w = world(&app, "acme").await;
    let today = clock::today();
    let waiting = w.job(w.meadow, "Leaking tap", w.brightwater, 10).await;
    let visited = w.job(w.oak, "Dead socket", w.sparks, 5).await;
    let past = w
        .book(visited, today - Duration::days(2), 9, 10, "Ali Khan")
        .await;
    w.record(visited, past, VisitOutcome::Attended).await;
    let booked = w.job(w.meadow, "Sticking door", w.brightwater, 20).await;
    w.book(booked, today + Duration::days(3), 9, 10, "Sam Jones")
        .await;
    let pending = w.log(w.meadow, "Cracked tile", 30).await;
    w.nominate(pending, w.brightwater).await;
    let not_nominated = w.log(w.oak, "Loose handrail", 40).await;
    let finished = w.job(w.oak, "Noisy fan", w.sparks, 50).await;
    w.abortive(finished).await;
    let client = w.staff_client().await;

    let page = diary(&client, "/diary").await;
    let section =
        &page[page.find("id=\"unbooked\"").unwrap()..page.find("id=\"without-outcome\"").unwrap()];
    assert!(
        section.contains(r#"id="unbooked-count">2</span>"#),
        "{section}"
    );
    let (first, second) = (
        section
            .find(&format!("unbooked-{visited}"))
            .expect("the job visited in the past"),
        section
            .find(&format!("unbooked-{waiting}"))
            .expect("the job never booked"),
    );
    // Oldest reported first: the tap (10 days) before the socket (5 days).
    assert!(second < first, "oldest first");
    let row = element(section, &format!("unbooked-{waiting}"));
    for part in [
        &format!("href=\"/tickets/{waiting}#appointments\">T-"),
        "Leaking tap",
        "1 Meadow Way, Leeds, LS1 4AB",
        "Brightwater Plumbing",
        "In progress",
    ] {
        assert!(row.contains(part), "{part} in {row}");
    }
    for absent in [booked, pending, not_nominated, finished] {
        assert!(!section.contains(&format!("unbooked-{absent}")), "{absent}");
    }

    // Narrowed like the diary: by subcontractor.
    let page = diary(&client, &format!("/diary?company={}", w.sparks)).await;
    let section =
        &page[page.find("id=\"unbooked\"").unwrap()..page.find("id=\"without-outcome\"").unwrap()];
    assert!(section.contains(r#"id="unbooked-count">1</span>"#));
    assert!(section.contains(&format!("unbooked-{visited}")));
    assert!(!section.contains(&format!("unbooked-{waiting}")));
}

#[tokio::test]
async fn visits_without_an_outcome_are_the_booked_ones_up_to_today() {
    let app = TestApp::spawn().await;
    let w = world(&app, "acme").await;
    let today = clock::today();
    let tap = w.job(w.meadow, "Leaking tap", w.brightwater, 3).await;
    let socket = w.job(w.oak, "Dead socket", w.sparks, 2).await;
    let due_today = w.book(tap, today, 9, 11, "Sam Jones").await;
    let attended = w.book(socket, today, 8, 9, "Ali Khan").await;
    w.record(socket, attended, VisitOutcome::Attended).await;
    let nobody_in = w.book(socket, today, 11, 12, "Ali Khan").await;
    w.record(socket, nobody_in, VisitOutcome::NoAccess).await;
    let yesterday = w
        .book(socket, today - Duration::days(1), 14, 16, "Ali Khan")
        .await;
    let tomorrow = w
        .book(tap, today + Duration::days(1), 9, 10, "Sam Jones")
        .await;
    let client = w.staff_client().await;

    let page = diary(&client, "/diary").await;
    let section = &page[page.find("id=\"without-outcome\"").unwrap()..];
    let row = element(section, &format!("pending-{due_today}"));
    assert!(
        row.contains("09:00–11:00") && row.contains("Sam Jones") && row.contains("Leaking tap")
    );
    assert!(
        row.contains(&format!(
            "<a href=\"/tickets/{tap}#appointment-{due_today}\">Record the outcome</a>"
        )),
        "{row}"
    );
    assert!(
        section.contains(&format!("pending-{yesterday}")),
        "still booked from yesterday"
    );
    for a in [attended, nobody_in, tomorrow] {
        assert!(!section.contains(&format!("pending-{a}")), "{a}");
    }
    // The ticket page holds that appointment, with its outcome buttons.
    let (_, ticket) = client.page(&format!("/tickets/{tap}")).await;
    assert!(ticket.contains(&format!("id=\"appointment-{due_today}\"")));

    // Once recorded, it leaves the list.
    w.record(tap, due_today, VisitOutcome::Attended).await;
    let page = diary(&client, "/diary").await;
    assert!(!page.contains(&format!("pending-{due_today}")));
}

#[tokio::test]
async fn a_scheme_restricted_user_sees_only_their_schemes() {
    let app = TestApp::spawn().await;
    let w = world(&app, "acme").await;
    let today = clock::today();
    let tap = w.job(w.meadow, "Leaking tap", w.brightwater, 3).await;
    let socket = w.job(w.oak, "Dead socket", w.sparks, 2).await;
    let mine = w.book(tap, MONDAY, 9, 10, "Sam Jones").await;
    let theirs = w.book(socket, MONDAY, 9, 10, "Ali Khan").await;
    let theirs_today = w.book(socket, today, 9, 10, "Ali Khan").await;
    let unbooked = w.job(w.oak, "Loose handrail", w.sparks, 4).await;
    let restricted = w.app.create_user(&w.t, Role::Staff, None, false).await;
    w.app
        .restrict_to_scheme(&w.t, &restricted, w.meadow.scheme_id)
        .await;
    let client = w.app.sign_in(&restricted).await;

    let page = diary(&client, "/diary?day=2030-01-07").await;
    assert!(shows(&page, mine) && !shows(&page, theirs));
    assert!(
        !page.contains("Ali Khan"),
        "not even as an engineer to choose"
    );
    assert!(!page.contains("Oak Fields"), "nor as a scheme to choose");
    // Asking for the other scheme by its id finds nothing.
    let page = diary(
        &client,
        &format!("/diary?day=2030-01-07&scheme={}", w.oak.scheme_id),
    )
    .await;
    assert!(!shows(&page, theirs) && !shows(&page, mine));
    let page = diary(&client, "/diary").await;
    assert!(!page.contains(&format!("pending-{theirs_today}")));
    assert!(!page.contains(&format!("unbooked-{unbooked}")));
    assert!(!page.contains("Dead socket") && !page.contains("Loose handrail"));
}

#[tokio::test]
async fn another_tenants_appointments_never_show() {
    let app = TestApp::spawn().await;
    let w = world(&app, "acme").await;
    let today = clock::today();
    let tap = w.job(w.meadow, "Leaking tap", w.brightwater, 3).await;
    let ours = w.book(tap, today, 9, 10, "Sam Jones").await;
    let bolt = world(&app, "bolt").await;
    let theirs_ticket = bolt
        .job(bolt.meadow, "Bolt boiler", bolt.brightwater, 3)
        .await;
    let theirs = bolt
        .book(theirs_ticket, today, 9, 10, "Bolt Engineer")
        .await;
    let theirs_unbooked = bolt.job(bolt.oak, "Bolt gutter", bolt.sparks, 3).await;
    let client = w.staff_client().await;

    let page = diary(&client, "/diary").await;
    assert!(shows(&page, ours));
    assert!(!shows(&page, theirs));
    for absent in ["Bolt boiler", "Bolt gutter", "Bolt Engineer"] {
        assert!(!page.contains(absent), "{absent}");
    }
    assert!(!page.contains(&format!("unbooked-{theirs_unbooked}")));
    // Their scheme or company as a filter reaches nothing of theirs.
    let page = diary(
        &client,
        &format!(
            "/diary?scheme={}&company={}",
            bolt.meadow.scheme_id, bolt.brightwater
        ),
    )
    .await;
    assert!(!shows(&page, theirs) && !page.contains("Bolt boiler"));
}

#[tokio::test]
async fn a_subcontractor_sees_only_their_own_companys_jobs() {
    let app = TestApp::spawn().await;
    let w = world(&app, "acme").await;
    let today = clock::today();
    let tap = w.job(w.meadow, "Leaking tap", w.brightwater, 3).await;
    let socket = w.job(w.oak, "Dead socket", w.sparks, 2).await;
    let ours = w.book(tap, today, 9, 10, "Sam Jones").await;
    let theirs = w.book(socket, today, 11, 12, "Ali Khan").await;
    let ours_unbooked = w.job(w.oak, "Loose handrail", w.brightwater, 5).await;
    let theirs_unbooked = w.job(w.meadow, "Flickering light", w.sparks, 5).await;
    let client = w.app.sign_in(&w.brightwater_user).await;

    let page = diary(&client, "/diary").await;
    assert!(page.contains(r#"href="/diary">Diary</a>"#));
    assert!(shows(&page, ours) && !shows(&page, theirs));
    assert!(
        page.contains(&format!("pending-{ours}")) && !page.contains(&format!("pending-{theirs}"))
    );
    assert!(page.contains(&format!("unbooked-{ours_unbooked}")));
    assert!(!page.contains(&format!("unbooked-{theirs_unbooked}")));
    assert!(!page.contains("Sparks Electrical") && !page.contains("Ali Khan"));
    // No scheme or subcontractor menus; asking for the other company widens nothing.
    assert!(!page.contains("id=\"diary-company\"") && !page.contains("id=\"diary-scheme\""));
    let page = diary(&client, &format!("/diary?company={}", w.sparks)).await;
    assert!(!shows(&page, theirs) && !shows(&page, ours));
}

/// Where the element `css` sits: (left, top) in pixels.
async fn position(c: &fantoccini::Client, css: &str) -> anyhow::Result<(f64, f64)> {
    let v = c
        .execute(
            "const r = document.querySelector(arguments[0]).getBoundingClientRect(); return [r.left, r.top];",
            vec![css.into()],
        )
        .await?;
    let n = |i: usize| v[i].as_f64().unwrap_or(f64::NAN);
    Ok((n(0), n(1)))
}

#[tokio::test]
async fn the_week_is_seven_columns_on_a_desktop_and_stacked_days_on_a_phone() {
    let app = TestApp::spawn().await;
    let w = world(&app, "acme").await;
    let tap = w
        .job(
            w.meadow,
            "Leaking kitchen tap under the sink",
            w.brightwater,
            3,
        )
        .await;
    w.book(tap, MONDAY, 8, 12, "Alexandrina Montgomery-Fotheringham")
        .await;
    w.book(tap, MONDAY + Duration::days(6), 8, 12, "Sam Jones")
        .await;
    let user = w.staff_user.clone();

    for (phone, name) in [(false, "diary_week_desktop"), (true, "diary_week_phone")] {
        let browser = if phone {
            Browser::start_phone().await
        } else {
            Browser::start().await
        };
        let user = user.clone();
        let app = &app;
        browser
            .run(name, |c| async move {
                c.goto(&app.url("/sign-in")).await?;
                fill(&c, "#email", &user.email).await?;
                fill(&c, "#password", &user.password).await?;
                click(&c, "#sign-in-form button[type=submit]").await?;
                wait_for_path(&c, "/").await?;
                c.goto(&app.url("/diary?day=2030-01-07")).await?;
                wait_for_text(&c, "Alexandrina Montgomery-Fotheringham").await?;
                let monday = position(&c, "#day-2030-01-07").await?;
                let tuesday = position(&c, "#day-2030-01-08").await?;
                if phone {
                    assert!(tuesday.1 > monday.1, "stacked: {monday:?} {tuesday:?}");
                    assert_eq!(tuesday.0, monday.0);
                } else {
                    assert_eq!(tuesday.1, monday.1, "side by side: {monday:?} {tuesday:?}");
                    assert!(tuesday.0 > monday.0);
                }
                let width = c.execute("return window.innerWidth;", vec![]).await?;
                let scroll = c
                    .execute("return document.documentElement.scrollWidth;", vec![])
                    .await?;
                let (width, scroll) = (
                    width.as_f64().unwrap_or(0.0),
                    scroll.as_f64().unwrap_or(0.0),
                );
                assert!(
                    scroll <= width + 1.0,
                    "the diary scrolls sideways: {scroll} > {width}"
                );
                Ok(())
            })
            .await;
    }
}
