//! The portal on a phone: a subcontractor signs in, accepts a job, adds a
//! photo and marks the work complete; then customer care signs it off.

use std::io::Cursor;

use fantoccini::Locator;
use plotcare::domain::Role;
use reqwest::StatusCode;

use crate::{
    common::{
        TestApp,
        browser::{Browser, WAIT, click, fill, wait_for_path, wait_for_text},
    },
    portal::{nominated_job, status_of},
};

/// A small PNG photo in a temporary directory; returns the directory (kept alive) and the file's absolute path.
fn photo() -> (tempfile::TempDir, String) {
    let image = image::RgbImage::from_fn(64, 48, |x, y| {
        image::Rgb([(x * 4) as u8, (y * 5) as u8, 90])
    });
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("finished-tap.png");
    std::fs::write(&path, bytes).unwrap();
    let path = path.canonicalize().unwrap().display().to_string();
    (dir, path)
}

#[tokio::test]
async fn a_subcontractor_completes_a_job_from_a_phone_and_staff_sign_it_off() {
    // Arrange: a job nominated to the company, and one of its subcontractors.
    let app = TestApp::spawn().await;
    let job = nominated_job(&app).await;
    let sub = app
        .create_user(&job.tenant, Role::Subcontractor, Some(job.company), false)
        .await;
    let (_dir, photo_path) = photo();
    let ticket = job.ticket;
    let browser = Browser::start_phone().await;

    // Act: on the phone.
    browser
        .run("portal_phone_job", |c| {
            let app = &app;
            async move {
                c.goto(&app.url("/sign-in")).await?;
                fill(&c, "#email", &sub.email).await?;
                fill(&c, "#password", &sub.password).await?;
                click(&c, "#sign-in-form button[type=submit]").await?;
                wait_for_path(&c, "/jobs").await?;
                wait_for_text(&c, "My jobs").await?;
                wait_for_text(&c, "Hannah Homeowner").await?;

                click(&c, &format!("#open-{ticket}")).await?;
                wait_for_path(&c, &format!("/jobs/{ticket}")).await?;
                wait_for_text(&c, "Key safe by the back door").await?;
                click(&c, "#accept").await?;
                wait_for_text(&c, "You accepted T-00001").await?;

                let input = c
                    .wait()
                    .at_most(WAIT)
                    .for_element(Locator::Css("#photo-file"))
                    .await?;
                input.send_keys(&photo_path).await?;
                click(&c, "#upload-photo").await?;
                wait_for_text(&c, "finished-tap.png").await?;

                fill(
                    &c,
                    "#complete-note",
                    "Replaced the tap cartridge and tested for leaks",
                )
                .await?;
                click(&c, "#mark-complete").await?;
                wait_for_text(&c, "is marked complete").await?;
                wait_for_text(&c, "Completed – awaiting sign-off").await?;

                // The page fits the phone: nothing wider than the window.
                let (width, scroll): (f64, f64) = {
                    let w = c.execute("return window.innerWidth;", vec![]).await?;
                    let s = c
                        .execute("return document.documentElement.scrollWidth;", vec![])
                        .await?;
                    (w.as_f64().unwrap_or(0.0), s.as_f64().unwrap_or(0.0))
                };
                assert!(
                    scroll <= width + 1.0,
                    "the job page scrolls sideways: {scroll} > {width}"
                );
                Ok(())
            }
        })
        .await;

    // Assert: customer care signs it off.
    assert_eq!(status_of(&app, ticket).await, "completed");
    assert_eq!(
        app.count(&format!("SELECT count(*) FROM media_files WHERE ticket_id = '{ticket}' AND original_name = 'finished-tap.png' AND visible_to_subcontractor")).await,
        1
    );
    let (_, sign_off) = job.staff.page(&format!("/tickets/{ticket}/sign-off")).await;
    assert!(sign_off.contains("Replaced the tap cartridge and tested for leaks"));
    let closed = job
        .staff
        .post_form(
            &format!("/tickets/{ticket}/sign-off"),
            &[(
                "resolution",
                "Replaced the tap cartridge and tested for leaks",
            )],
        )
        .await;
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);
    let (_, page) = job.staff.page(&format!("/tickets/{ticket}")).await;
    assert!(page.contains(">Closed</span>"));
    assert_eq!(status_of(&app, ticket).await, "closed");
}
