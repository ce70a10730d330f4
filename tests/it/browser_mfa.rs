//! An admin's first sign-in in a real browser: sent to set up MFA, enrols
//! with a code computed from the key on the page, then signs out and back in
//! with a fresh code.

use fantoccini::Locator;

use crate::common::{
    TestApp,
    browser::{Browser, click, fill, wait_for_path, wait_for_text},
};

#[tokio::test]
async fn an_admin_signs_in_enrols_mfa_with_a_computed_code_and_signs_out() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let admin = acme.admin.clone();
    let browser = Browser::start().await;

    browser
        .run("admin_enrols_mfa", |c| async move {
            c.goto(&app.url("/sign-in")).await?;
            fill(&c, "#email", &admin.email).await?;
            fill(&c, "#password", &admin.password).await?;
            click(&c, "#sign-in-form button[type=submit]").await?;

            // Admins without MFA land on enrolment.
            wait_for_path(&c, "/account/mfa").await?;
            wait_for_text(&c, "Set up two-factor authentication").await?;
            let secret = c.find(Locator::Css("#mfa-secret")).await?.text().await?;
            let code = plotcare::auth::mfa::current_code(secret.trim())?;
            fill(&c, "#code", &code).await?;
            click(&c, "#mfa-form button[type=submit]").await?;
            wait_for_text(&c, "Two-factor authentication is on").await?;
            let codes = c.find_all(Locator::Css("#recovery-codes li")).await?;
            assert_eq!(codes.len(), 10, "ten recovery codes are shown once");

            // Admin pages now open.
            c.goto(&app.url("/admin/audit")).await?;
            wait_for_text(&c, "Set up two-factor authentication").await?;

            click(&c, "header button.link").await?;
            wait_for_path(&c, "/sign-in").await?;
            wait_for_text(&c, "You have signed out.").await?;

            // Signing in again asks for a code; the one already used is refused.
            fill(&c, "#email", &admin.email).await?;
            fill(&c, "#password", &admin.password).await?;
            click(&c, "#sign-in-form button[type=submit]").await?;
            wait_for_path(&c, "/sign-in/code").await?;
            fill(&c, "#code", &code).await?;
            click(&c, "#code-form button[type=submit]").await?;
            wait_for_text(&c, "already been used").await?;
            Ok(())
        })
        .await;
}
