//! Creating a scheme, a contract and a plot in a real browser, then finding the plot by its postcode.

use fantoccini::Locator;
use plotcare::domain::Role;

use crate::common::{
    TestApp,
    browser::{Browser, body_text, click, fill, wait_for_path, wait_for_text},
};

#[tokio::test]
async fn staff_create_a_scheme_contract_and_plot_then_find_the_plot_by_postcode() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let browser = Browser::start().await;

    browser
        .run("records_create_and_find_plot", |c| async move {
            c.goto(&app.url("/sign-in")).await?;
            fill(&c, "#email", &staff.email).await?;
            fill(&c, "#password", &staff.password).await?;
            click(&c, "#sign-in-form button[type=submit]").await?;
            wait_for_path(&c, "/").await?;

            // A scheme, from the Schemes page.
            click(&c, "header a[href='/schemes']").await?;
            wait_for_path(&c, "/schemes").await?;
            click(&c, "a[href='/schemes/new']").await?;
            wait_for_path(&c, "/schemes/new").await?;
            fill(&c, "#name", "Meadowbank").await?;
            fill(&c, "#reference_code", "MDW-01").await?;
            fill(&c, "#region", "Yorkshire").await?;
            fill(&c, "#site_manager", "Sam Site").await?;
            click(&c, "#scheme-form button[type=submit]").await?;
            wait_for_text(&c, "Scheme Meadowbank added.").await?;

            // A contract in it.
            click(&c, "a[href$='/contracts/new']").await?;
            wait_for_text(&c, "New contract in Meadowbank").await?;
            fill(&c, "#name", "Phase 1").await?;
            click(&c, "#contract-form button[type=submit]").await?;
            wait_for_text(&c, "Contract Phase 1 added to Meadowbank.").await?;

            // A plot in the contract, with a postcode typed carelessly.
            click(&c, "a[href$='/plots/new']").await?;
            wait_for_text(&c, "New plot in Phase 1").await?;
            fill(&c, "#plot_number", "7").await?;
            fill(&c, "#address_line1", "7 Meadow Way").await?;
            fill(&c, "#town", "Leeds").await?;
            fill(&c, "#postcode", "ls14ap").await?;
            fill(&c, "#house_type", "The Alder").await?;
            click(&c, "#plot-form button[type=submit]").await?;
            wait_for_text(&c, "Plot 7 added to Phase 1.").await?;

            // Find it on the plot list by its postcode, and open it.
            click(&c, "header a[href='/plots']").await?;
            wait_for_path(&c, "/plots").await?;
            fill(&c, "#q", "LS1 4AP").await?;
            click(&c, "#search-plots").await?;
            wait_for_text(&c, "7 Meadow Way").await?;
            click(&c, "#plots a[href^='/plots/']").await?;
            wait_for_text(&c, "No tickets on this plot yet.").await?;
            let postcode = c.find(Locator::Css("#plot-postcode")).await?.text().await?;
            anyhow::ensure!(postcode == "LS1 4AP", "postcode shown as {postcode:?}");
            let crumbs = c.find(Locator::Css("#breadcrumbs")).await?.text().await?;
            anyhow::ensure!(
                crumbs.contains("Schemes › Meadowbank › Phase 1 › Plot 7"),
                "breadcrumbs: {crumbs:?}"
            );
            let body = body_text(&c).await?;
            anyhow::ensure!(body.contains("Not handed over"), "warranty badge missing");
            Ok(())
        })
        .await;
}
