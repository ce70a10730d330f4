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
