//! An inspection done in a real browser: scheduled, answered item by item
//! (saved as you go), one failed item raised as a ticket, completed, and the
//! ticket found afterwards.

use fantoccini::Locator;
use plotcare::domain::Role;

use crate::{
    common::{
        TestApp,
        browser::{Browser, WAIT, click, fill, wait_for_path, wait_for_text},
    },
    inspections::{plot, template},
};

#[tokio::test]
async fn staff_complete_an_inspection_with_one_failed_item_and_find_the_ticket_it_raised() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let (_, plot_id) = plot(&app, &acme, "Mill Park").await;
    let (_, version) = template(&app, &acme).await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let browser = Browser::start_phone().await;
    let app = &app;

    browser
        .run("inspection_raises_ticket", |c| async move {
            c.goto(&app.url("/sign-in")).await?;
            fill(&c, "#email", &staff.email).await?;
            fill(&c, "#password", &staff.password).await?;
            click(&c, "#sign-in-form button[type=submit]").await?;
            wait_for_path(&c, "/").await?;

            // Schedule the inspection on the plot.
            c.goto(&app.url(&format!("/plots/{plot_id}/inspections/new")))
                .await?;
            c.wait()
                .at_most(WAIT)
                .for_element(Locator::Css("#template"))
                .await?
                .select_by_value(&version.to_string())
                .await?;
            c.find(Locator::Css("#inspector"))
                .await?
                .select_by_value(&format!("user:{}", staff.id))
                .await?;
            click(&c, "#schedule-inspection").await?;
            wait_for_text(&c, "Inspection scheduled").await?;

            // Answer as you go: each answer is saved without leaving the page.
            click(&c, "#answer_1-1_pass").await?;
            wait_for_text(&c, "Saved").await?;
            fill(&c, "#answer_1-3", "12").await?;
            click(&c, "#answer_1-2_fail").await?;
            fill(&c, "#notes_1-2", "Two wall units sit 5 mm proud").await?;
            c.wait()
                .at_most(WAIT)
                .for_element(Locator::Css("#raise-1-2:not([hidden])"))
                .await?;
            let started = std::time::Instant::now();
            while app
                .count("SELECT count(*) FROM inspection_results WHERE answer = '12'")
                .await
                == 0
            {
                anyhow::ensure!(
                    started.elapsed() < WAIT,
                    "the number answer was never saved"
                );
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }

            // One click on the failed item raises its ticket.
            click(&c, "#raise-1-2").await?;
            wait_for_text(&c, "Ticket T-00001 raised").await?;
            wait_for_text(&c, "Raised T-00001").await?;

            // Complete the inspection.
            c.find(Locator::Css("#outcome"))
                .await?
                .select_by_value("pass_with_defects")
                .await?;
            click(&c, "#complete-inspection").await?;
            wait_for_text(&c, "Inspection completed: Pass with defects.").await?;

            // The ticket is found from the inspection, and in the ticket list.
            click(&c, "#ticket-1-2").await?;
            wait_for_text(&c, "Cupboard doors aligned").await?;
            c.goto(&app.url("/tickets")).await?;
            wait_for_text(&c, "T-00001").await?;
            wait_for_text(&c, "Cupboard doors aligned").await?;
            Ok(())
        })
        .await;

    let (notes, description): (String, String) = sqlx::query_as(
        "SELECT r.notes, t.description FROM inspection_results r, tickets t WHERE r.item_key = '1-2'",
    )
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!(notes, "Two wall units sit 5 mm proud");
    assert!(description.starts_with("Two wall units sit 5 mm proud"));
    assert_eq!(
        app.count("SELECT count(*) FROM inspections WHERE status = 'completed'")
            .await,
        1
    );
}
