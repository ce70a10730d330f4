//! A coordinator's morning at the desk, in Chromium at 1440×900 and at 390×844 (issue 17):
//! log a ticket with a photo in one step, nominate, book, put on hold with a reason,
//! bulk-nominate three tickets, quick-find by postcode and by phone, and a comment typed
//! after the session ended, restored after signing in again. Screenshots on failure.

use fantoccini::{Client, Locator};
use plotcare::domain::{Role, clock};
use reqwest::StatusCode;
use time::Duration;

use crate::{
    common::{
        TestApp,
        browser::{Browser, body_text, click, fill, wait_for_path, wait_for_text},
    },
    tickets::{log_ticket, site},
    uploads::png,
};

/// Sets a field's value the way a date or time picker would (typing into them depends on the locale).
async fn set(c: &Client, css: &str, value: &str) -> anyhow::Result<()> {
    c.wait()
        .at_most(crate::common::browser::WAIT)
        .for_element(Locator::Css(css))
        .await?;
    c.execute(
        "const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('change', {bubbles: true}));",
        vec![css.into(), value.into()],
    )
    .await?;
    Ok(())
}

async fn text_of(c: &Client, css: &str) -> anyhow::Result<String> {
    Ok(c.find(Locator::Css(css)).await?.text().await?)
}

/// Opens the header's menu if the quick find box is folded into it (narrow screens).
async fn quick_find(c: &Client, query: &str) -> anyhow::Result<()> {
    let shown = c
        .execute(
            "const e = document.querySelector('#quick-find-q'); return !!e && e.getClientRects().length > 0;",
            vec![],
        )
        .await?;
    if shown != serde_json::Value::Bool(true) {
        click(c, "#site-menu > summary").await?;
    }
    fill(c, "#quick-find-q", query).await?;
    c.find(Locator::Css("#quick-find-q"))
        .await?
        .send_keys("\u{E007}")
        .await?;
    Ok(())
}

async fn a_morning_at_the_desk(phone: bool) {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let company = app.create_company(&a, "Brightwater Plumbing").await;
    let staff_user = app.create_user(&a, Role::Staff, None, false).await;
    let staff = app.sign_in(&staff_user).await;
    let r = staff
        .post_form(
            &format!("/plots/{}/homeowners", s.plot),
            &[
                ("contact_id", ""),
                ("new_name", "Grace Okafor"),
                ("new_phone", "07700 900123"),
                ("new_email", ""),
                ("from_date", "2024-03-01"),
                ("to_date", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let mut snags = Vec::new();
    for i in 1..=3 {
        let title = format!("Snag {i} in the hall");
        snags.push(log_ticket(&staff, s.plot, &[("title", &title)]).await);
    }
    let photo_dir = tempfile::tempdir().unwrap();
    let photo = photo_dir.path().join("sink.png");
    std::fs::write(&photo, png()).unwrap();
    let tomorrow = (clock::today() + Duration::days(1)).to_string();
    let next_week = (clock::today() + Duration::days(7)).to_string();

    let browser = if phone {
        Browser::start_phone().await
    } else {
        Browser::start_desktop().await
    };
    let name = if phone { "desk_phone" } else { "desk_desktop" };
    let (plot, pool, staff_id) = (s.plot, app.admin_pool.clone(), staff_user.id);
    browser
        .run(name, |c| async move {
            // Sign in, asked for the plot: returned to it.
            c.goto(&app.url(&format!("/plots/{plot}"))).await?;
            wait_for_path(&c, "/sign-in").await?;
            fill(&c, "#email", &staff_user.email).await?;
            fill(&c, "#password", &staff_user.password).await?;
            click(&c, "#sign-in-form button[type=submit]").await?;
            wait_for_path(&c, &format!("/plots/{plot}")).await?;

            // Log a ticket with a photo, in one step.
            c.goto(&app.url(&format!("/plots/{plot}/tickets/new"))).await?;
            fill(&c, "#title", "Leak under the kitchen sink").await?;
            fill(&c, "#description", "Water on the floor every morning").await?;
            set(&c, "#category", "plumbing").await?;
            set(&c, "#priority", "high").await?;
            // The plot's homeowner is offered first.
            let first = text_of(&c, "#reported_by optgroup:first-of-type").await?;
            anyhow::ensure!(first.contains("Grace Okafor"), "reported by offers {first:?}");
            c.find(Locator::Css("#photos"))
                .await?
                .send_keys(&photo.display().to_string())
                .await?;
            click(&c, "#ticket-form button[type=submit]").await?;
            wait_for_text(&c, "logged with 1 photo.").await?;
            let url = c.current_url().await?;
            let ticket = url.path().trim_start_matches("/tickets/").to_owned();
            c.find(Locator::Css("#files img.thumbnail")).await?;

            // Nominate: the next step offered for an open ticket.
            click(&c, "#next-nominate").await?;
            set(&c, "#nominee-select", &format!("company:{company}")).await?;
            click(&c, "#nominate-form button[type=submit]").await?;
            wait_for_text(&c, "Brightwater Plumbing").await?;
            let nominee = text_of(&c, "#nominee").await?;
            anyhow::ensure!(nominee.contains("Brightwater Plumbing"), "nominee: {nominee:?}");

            // Book: the next step once nominated.
            click(&c, "#next-book").await?;
            if !c.find(Locator::Css("#book-form")).await?.is_displayed().await? {
                click(&c, "#book-appointment > summary").await?;
            }
            set(&c, "#book-day", &tomorrow).await?;
            set(&c, "#book-start", "09:00").await?;
            set(&c, "#book-end", "12:00").await?;
            fill(&c, "#book-with", "Dan the plumber").await?;
            click(&c, "#book-form button[type=submit]").await?;
            wait_for_text(&c, "Dan the plumber").await?;
            let booked = text_of(&c, "#appointment-list").await?;
            anyhow::ensure!(booked.contains("09:00"), "appointments: {booked:?}");

            // Put on hold, with a reason and a review date.
            click(&c, "#action-on_hold > summary").await?;
            fill(&c, "#hold-reason", "Waiting for the homeowner's holiday to end").await?;
            set(&c, "#review-on", &next_week).await?;
            click(&c, "#to-on_hold button[type=submit]").await?;
            wait_for_text(&c, "Waiting for the homeowner's holiday to end").await?;
            let badge = text_of(&c, "#status-badge").await?;
            anyhow::ensure!(badge == "On hold", "status badge: {badge:?}");

            // Bulk-nominate the three snags from the list.
            c.goto(&app.url("/tickets?q=snag")).await?;
            wait_for_text(&c, "Snag 3 in the hall").await?;
            for id in &snags {
                click(&c, &format!("#select-{id}")).await?;
            }
            click(&c, "#bulk-actions > summary").await?;
            set(&c, "#bulk-action", "nominate").await?;
            set(&c, "#bulk-nominee", &format!("company:{company}")).await?;
            click(&c, "#bulk-apply").await?;
            wait_for_text(&c, "3 done").await?;
            let done = text_of(&c, "#bulk-done").await?;
            anyhow::ensure!(done.contains("Done (3)"), "bulk summary: {done:?}");

            // Quick find by postcode, then by phone.
            c.goto(&app.url("/tickets")).await?;
            quick_find(&c, "LS1 4AB").await?;
            wait_for_text(&c, "1 Meadow Way").await?;
            c.goto(&app.url("/tickets")).await?;
            quick_find(&c, "07700 900123").await?;
            wait_for_text(&c, "Grace Okafor").await?;

            // The session ends while a comment is typed: kept, and restored after signing in.
            c.goto(&app.url(&format!("/tickets/{ticket}"))).await?;
            fill(&c, "#comment-body", "Homeowner says the leak is worse at night").await?;
            // Typing scrolls the photos into view: let them load before the session ends, so
            // the comment is the only request the ended session answers.
            let started = std::time::Instant::now();
            while c
                .execute("return [...document.images].every(i => i.complete);", vec![])
                .await?
                != serde_json::Value::Bool(true)
            {
                anyhow::ensure!(started.elapsed().as_secs() < 10, "the photos never loaded");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            sqlx::query(
                "UPDATE user_sessions SET last_seen_at = now() - interval '31 minutes' WHERE user_id = $1",
            )
            .bind(staff_id)
            .execute(&pool)
            .await?;
            click(&c, "#comment-form button[type=submit]").await?;
            wait_for_path(&c, "/sign-in").await?;
            fill(&c, "#email", &staff_user.email).await?;
            fill(&c, "#password", &staff_user.password).await?;
            click(&c, "#sign-in-form button[type=submit]").await?;
            wait_for_path(&c, &format!("/tickets/{ticket}")).await?;
            wait_for_text(&c, "Your session had ended, so we kept what you typed").await?;
            let kept = c
                .find(Locator::Css("#comment-body"))
                .await?
                .prop("value")
                .await?
                .unwrap_or_default();
            anyhow::ensure!(
                kept == "Homeowner says the leak is worse at night",
                "the comment box holds {kept:?}"
            );
            let body = body_text(&c).await?;
            anyhow::ensure!(
                !body.contains("Homeowner says the leak is worse at night\nEdit"),
                "the comment was not posted"
            );
            let comments: i64 = sqlx::query_scalar("SELECT count(*) FROM ticket_comments")
                .fetch_one(&pool)
                .await?;
            anyhow::ensure!(comments == 0, "the kept comment waits for the person to send it");
            Ok(())
        })
        .await;
}

#[tokio::test]
async fn a_morning_at_the_desk_on_a_desktop() {
    a_morning_at_the_desk(false).await;
}

#[tokio::test]
async fn a_morning_at_the_desk_on_a_phone() {
    a_morning_at_the_desk(true).await;
}

#[tokio::test]
async fn fifteen_tickets_or_more_show_below_the_filters_at_1440_by_900() {
    let app = TestApp::spawn().await;
    let a = app.create_tenant("acme").await;
    let s = site(&app, &a, "Meadow Park", "12", "LS1 4AB").await;
    let staff_user = app.create_user(&a, Role::Staff, None, false).await;
    let staff = app.sign_in(&staff_user).await;
    for i in 1..=20 {
        let title = format!("Snag {i}: sealant missing around the bath");
        log_ticket(&staff, s.plot, &[("title", &title)]).await;
    }
    let browser = Browser::start_desktop().await;
    browser
        .run("desk_fifteen_rows", |c| async move {
            c.goto(&app.url("/sign-in?next=/tickets")).await?;
            fill(&c, "#email", &staff_user.email).await?;
            fill(&c, "#password", &staff_user.password).await?;
            click(&c, "#sign-in-form button[type=submit]").await?;
            wait_for_path(&c, "/tickets").await?;
            let seen = c
                .execute(
                    "return [...document.querySelectorAll('#tickets tbody tr')]
                       .filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length;",
                    vec![],
                )
                .await?;
            let seen = seen.as_u64().unwrap_or_default();
            anyhow::ensure!(seen >= 15, "only {seen} tickets fit on the first screen");
            // Every column fits: the table does not scroll sideways.
            let fits = c
                .execute(
                    "const t = document.querySelector('.table-scroll'); return t.scrollWidth <= t.clientWidth;",
                    vec![],
                )
                .await?;
            anyhow::ensure!(fits == serde_json::Value::Bool(true), "the ticket table scrolls sideways at 1440 px");
            Ok(())
        })
        .await;
}
