//! Signing in and out in a real browser.

use plotcare::domain::Role;

use crate::common::{
    TestApp,
    browser::{Browser, click, fill, wait_for_path, wait_for_text},
};

#[tokio::test]
async fn staff_sign_in_see_their_home_page_and_sign_out_in_a_browser() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let browser = Browser::start().await;

    browser
        .run("staff_sign_in_and_out", |c| async move {
            c.goto(&app.url("/")).await?;
            wait_for_path(&c, "/sign-in").await?;
            wait_for_text(&c, "Sign in to Plotcare").await?;

            fill(&c, "#email", &staff.email).await?;
            fill(&c, "#password", &staff.password).await?;
            click(&c, "#sign-in-form button[type=submit]").await?;

            wait_for_path(&c, "/").await?;
            wait_for_text(&c, "Welcome back").await?;
            let tenant = c
                .find(fantoccini::Locator::Css("header .tenant"))
                .await?
                .text()
                .await?;
            assert_eq!(tenant, "acme Homes");

            click(&c, "header button.link").await?;
            wait_for_path(&c, "/sign-in").await?;
            wait_for_text(&c, "You have signed out.").await?;
            wait_for_text(&c, "Sign in to Plotcare").await?;
            Ok(())
        })
        .await;
}
