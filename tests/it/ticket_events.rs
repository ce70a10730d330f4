//! Timeline events are typed: every event the demo and the generator write reads back as
//! one of the kinds the code knows, with the fields that kind carries.

use plotcare::domain::ticket_event::TicketEvent;

use crate::common::TestApp;

#[tokio::test]
async fn every_event_of_the_demo_and_the_generated_data_reads_back_as_a_known_kind() {
    let app = TestApp::spawn().await;
    plotcare::demo::load(&app.pool).await.unwrap();
    plotcare::generate::run(&app.pool, 1, 50, 50).await.unwrap();

    let rows: Vec<(String, bool, serde_json::Value)> =
        sqlx::query_as("SELECT kind, shared, data FROM ticket_events")
            .fetch_all(&app.admin_pool)
            .await
            .unwrap();
    assert!(rows.len() > 100, "the demo and generator write timelines");
    let mut kinds = std::collections::BTreeSet::new();
    for (kind, shared, data) in &rows {
        let event = TicketEvent::from_row(kind, data)
            .unwrap_or_else(|e| panic!("a {kind} event does not read back ({e}): {data}"));
        assert_eq!(event.shared(), *shared, "who sees a {kind} event: {data}");
        kinds.insert(kind.clone());
    }
    assert!(
        kinds.contains("created") && kinds.contains("status_changed"),
        "{kinds:?}"
    );
}

/// The text of the page's timeline section.
fn timeline(page: &str) -> &str {
    let start = page.find("id=\"timeline\"").expect("a timeline");
    let end = page[start..].find("</section>").unwrap() + start;
    &page[start..end]
}

#[tokio::test]
async fn staff_and_the_subcontractor_read_one_timeline_each_seeing_what_is_theirs() {
    // Arrange: a nominated job, accepted, an appointment booked, an internal comment.
    let app = TestApp::spawn().await;
    let job = crate::portal::nominated_job(&app).await;
    let accepted = job
        .sub
        .post_form(&format!("/jobs/{}/accept", job.ticket), &[])
        .await;
    assert_eq!(accepted.status(), 303);
    let booked = job
        .sub
        .post_form(
            &format!("/tickets/{}/appointments", job.ticket),
            &[
                ("day", "2030-06-03"),
                ("window_start", "08:00"),
                ("window_end", "12:00"),
                ("with_whom", "Hannah"),
            ],
        )
        .await;
    assert_eq!(booked.status(), 303);
    let commented = job
        .staff
        .post_form(
            &format!("/tickets/{}/comments", job.ticket),
            &[
                ("body", "Chasing the merchant for the part"),
                ("visibility", "internal"),
            ],
        )
        .await;
    assert_eq!(commented.status(), 303);

    // Act
    let (_, staff_page) = job.staff.page(&format!("/tickets/{}", job.ticket)).await;
    let (_, job_page) = job.sub.page(&format!("/jobs/{}", job.ticket)).await;
    let (staff, sub) = (timeline(&staff_page), timeline(&job_page));

    // Assert: the same words on both pages for what both see.
    for seen_by_both in [
        "Nominated to Pipe Dreams Ltd",
        "Accepted by Pipe Dreams Ltd",
        "Appointment booked: 2030-06-03, 08:00–12:00",
    ] {
        assert!(
            staff.contains(seen_by_both),
            "staff: {seen_by_both}\n{staff}"
        );
        assert!(
            sub.contains(seen_by_both),
            "subcontractor: {seen_by_both}\n{sub}"
        );
    }
    // The internal comment is on the staff timeline, marked, and not on the portal's.
    assert!(
        staff.contains("Comment added") && staff.contains("Internal"),
        "{staff}"
    );
    assert!(
        !sub.contains("Comment added") && !sub.contains("Internal"),
        "{sub}"
    );
}
