//! An admin requests a data export in a real browser, watches its progress bar
//! reach the end without reloading, and downloads the zip.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use plotcare::export::{self, Settings};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::{
    common::{
        TestApp,
        browser::{Browser, click, fill, wait_for_path, wait_for_text},
    },
    exports::seed,
};

#[tokio::test]
async fn an_admin_requests_an_export_watches_it_finish_and_downloads_it() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    seed(&app, &acme, "acme").await;
    let secret = app.enrol_mfa(&acme.admin).await;
    let admin = acme.admin.clone();

    // The worker: picks the export up once it is requested (small batches, so progress shows).
    let (state, tenant, pool) = (app.state.clone(), acme.tenant, app.admin_pool.clone());
    let worker = tokio::spawn(async move {
        let started = Instant::now();
        loop {
            let queued: Option<Uuid> =
                sqlx::query_scalar("SELECT id FROM exports WHERE status = 'queued' LIMIT 1")
                    .fetch_optional(&pool)
                    .await
                    .unwrap();
            if let Some(id) = queued {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                export::run(
                    &state,
                    tenant,
                    id,
                    &Settings {
                        batch_rows: 2,
                        ..Settings::default()
                    },
                )
                .await
                .unwrap();
                return id;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no export was requested"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    let browser = Browser::start().await;
    let url = app.url("/admin/exports");
    let sign_in = app.url("/sign-in");
    let href = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let found = href.clone();
    browser
        .run("admin_exports_data", |c| async move {
            c.goto(&sign_in).await?;
            fill(&c, "#email", &admin.email).await?;
            fill(&c, "#password", &admin.password).await?;
            click(&c, "#sign-in-form button[type=submit]").await?;
            wait_for_path(&c, "/sign-in/code").await?;
            fill(&c, "#code", &plotcare::auth::mfa::current_code(&secret)?).await?;
            click(&c, "#code-form button[type=submit]").await?;
            wait_for_path(&c, "/").await?;

            c.goto(&url).await?;
            wait_for_text(&c, "Nobody has requested an export yet.").await?;
            click(&c, "#request-data button[type=submit]").await?;
            wait_for_text(&c, "Your data export has started.").await?;
            wait_for_text(&c, "Waiting to start").await?;

            // Without a reload, the row turns Ready with a download link and a full progress bar.
            let link = c
                .wait()
                .at_most(Duration::from_secs(30))
                .for_element(Locator::Css("[data-export-links] a.button"))
                .await?;
            let bar = c.find(Locator::Css("[data-export-progress]")).await?;
            let (value, max) = (
                bar.attr("value").await?.unwrap_or_default(),
                bar.attr("max").await?.unwrap_or_default(),
            );
            assert_eq!(value, max, "the progress bar is full");
            assert_ne!(value, "0");
            wait_for_text(&c, "Ready").await?;
            assert!(c.find(Locator::Css("[data-export-progress]")).await.is_ok());
            *found.lock().unwrap() = link.attr("href").await?.unwrap_or_default();
            Ok(())
        })
        .await;
    worker.await.unwrap();

    // The link downloads the zip (followed here with a client of the same admin).
    let href = href.lock().unwrap().clone();
    assert!(href.starts_with("/admin/exports/"), "{href}");
    let client = app.sign_in_admin(&acme.admin).await;
    let r = client.get(&href).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let zip = client.get(r.headers()["location"].to_str().unwrap()).await;
    assert_eq!(zip.status(), StatusCode::OK);
    assert!(zip.bytes().await.unwrap().starts_with(b"PK"));
}
