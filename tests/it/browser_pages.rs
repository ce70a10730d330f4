//! Every page, in a real browser, on a phone (390×844) and a wide desktop (1440×900):
//! nothing scrolls sideways on the phone, the header takes at most a fifth of the
//! screen with the navigation folded into a menu, and axe-core (injected from
//! tests/browser/node_modules, `npm ci --prefix tests/browser`) finds no serious or
//! critical accessibility problem. One browser per test, reused across the pages.

use std::{path::PathBuf, time::Duration};

use fantoccini::{Client, Locator, key::Key};
use plotcare::domain::Role;
use reqwest::StatusCode;
use serde_json::Value;
use uuid::Uuid;

use crate::{
    comments::add_comment,
    common::{
        TestApp, TestUser,
        browser::{Browser, click, fill, wait_for_path},
    },
    inspections,
    portal::{self, nominated_job},
};

/// A tenant with one of everything, and the pages to visit.
struct Site {
    app: TestApp,
    admin: TestUser,
    /// The admin's TOTP secret (admins always use a second factor).
    secret: String,
    /// A subcontractor who is their company's admin (My jobs, Our work).
    sub: TestUser,
    /// Staff pages, visited as the admin.
    staff_pages: Vec<String>,
    /// Portal pages, visited as the subcontractor.
    sub_pages: Vec<String>,
}

async fn site() -> Site {
    let app = TestApp::spawn().await;
    // A scheme, contract and plot with a homeowner; a ticket nominated to a company.
    let job = nominated_job(&app).await;
    let tenant = &job.tenant;
    let (plot, scheme, contract): (Uuid, Uuid, Uuid) =
        sqlx::query_as("SELECT plot_id, scheme_id, contract_id FROM tickets WHERE id = $1")
            .bind(job.ticket)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    let homeowner: Uuid = sqlx::query_scalar("SELECT contact_id FROM plot_homeowners LIMIT 1")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();

    // An open ticket on the plot with a comment and an appointment.
    let ticket = portal::ticket(&app, tenant, plot, "Cracked bathroom tile", Some(72.0)).await;
    let comment = add_comment(
        &app,
        &job.staff,
        ticket,
        "Homeowner sent a photo of the crack",
        "internal",
    )
    .await;
    // One of the admin's own (only its author may edit a comment).
    let own_comment = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO ticket_comments (tenant_id, id, ticket_id, author_user_id, visibility, body)
         VALUES ($1, $2, $3, $4, 'internal', 'Called the homeowner back')",
    )
    .bind(tenant.id)
    .bind(own_comment)
    .bind(ticket)
    .bind(tenant.admin.id)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    let day = (time::OffsetDateTime::now_utc().date() + time::Duration::days(1)).to_string();
    let booked = job
        .staff
        .post_form(
            &format!("/tickets/{ticket}/appointments"),
            &[
                ("day", &day),
                ("window_start", "08:00"),
                ("window_end", "12:00"),
                ("with_whom", "Hannah Homeowner"),
                ("notes", "Ring the bell twice"),
            ],
        )
        .await;
    assert_eq!(booked.status(), StatusCode::SEE_OTHER, "booking a visit");

    // The nominated job, accepted and marked complete: it waits for sign-off.
    let done = job
        .sub
        .post_form(&format!("/jobs/{}/accept", job.ticket), &[])
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "accepting the job");
    let done = job
        .sub
        .post_form(
            &format!("/jobs/{}/complete", job.ticket),
            &[("note", "Replaced the tap cartridge")],
        )
        .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER, "completing the job");

    // An inspection template and an inspection of the plot.
    let (template, version) = inspections::template(&app, tenant).await;
    let inspection = inspections::schedule(&job.staff, plot, version, job.staff_user.id).await;

    let secret = app.enrol_mfa(&tenant.admin).await;
    let sub = app
        .create_user(tenant, Role::Subcontractor, Some(job.company), true)
        .await;
    let completed = job.ticket;
    let staff_pages = [
        "/".to_owned(),
        "/find?q=Brook".to_owned(),
        "/tickets".to_owned(),
        format!("/tickets/{ticket}"),
        format!("/tickets/{ticket}/edit"),
        format!("/tickets/{ticket}/comments"),
        format!("/tickets/{ticket}/comments/{own_comment}/edit"),
        format!("/tickets/{ticket}/comments/{comment}/history"),
        format!("/tickets/{ticket}/files"),
        format!("/tickets/{completed}"),
        format!("/tickets/{completed}/sign-off"),
        format!("/plots/{plot}/tickets/new"),
        "/plots".to_owned(),
        format!("/plots/{plot}"),
        format!("/plots/{plot}/edit"),
        format!("/contracts/{contract}/plots/new"),
        "/schemes".to_owned(),
        "/schemes/new".to_owned(),
        format!("/schemes/{scheme}"),
        format!("/schemes/{scheme}/edit"),
        format!("/schemes/{scheme}/contracts/new"),
        format!("/contracts/{contract}"),
        format!("/contracts/{contract}/edit"),
        "/contacts".to_owned(),
        "/contacts/new".to_owned(),
        format!("/contacts/{homeowner}"),
        format!("/contacts/{homeowner}/edit"),
        format!("/contacts/{}", job.company),
        "/inspections".to_owned(),
        format!("/plots/{plot}/inspections/new"),
        format!("/inspections/{inspection}"),
        format!("/inspections/{inspection}/report"),
        "/inspection-templates".to_owned(),
        "/inspection-templates/new".to_owned(),
        format!("/inspection-templates/{template}"),
        format!("/inspection-templates/{template}/edit"),
        "/imports".to_owned(),
        "/admin/exports".to_owned(),
        "/users".to_owned(),
        "/users/new".to_owned(),
        format!("/users/{}", job.staff_user.id),
        format!("/users/{}", sub.id),
        "/admin/audit".to_owned(),
        "/admin/tokens".to_owned(),
        "/admin/security".to_owned(),
        "/admin/sla".to_owned(),
        "/admin/outbox".to_owned(),
        "/account".to_owned(),
        "/account/password".to_owned(),
        "/account/mfa".to_owned(),
        "/account/sessions".to_owned(),
        "/account/tokens".to_owned(),
        "/no-such-page".to_owned(),
    ]
    .to_vec();
    let sub_pages = vec![
        "/jobs".to_owned(),
        format!("/jobs/{completed}"),
        "/jobs/summary".to_owned(),
        "/users".to_owned(),
        "/account".to_owned(),
    ];
    let admin = tenant.admin.clone();
    Site {
        app,
        admin,
        secret,
        sub,
        staff_pages,
        sub_pages,
    }
}

/// What to check on each page.
#[derive(Clone, Copy)]
struct Checks {
    /// The phone's: no sideways scrolling, a short header.
    fits_phone: bool,
}

/// The axe-core script, installed by `npm ci --prefix tests/browser`.
fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: install the browser tests' tools with `npm ci --prefix tests/browser` (.ci/test does)",
            path.display()
        )
    })
}

/// Runs axe over the page; returns its serious and critical violations, one line each.
async fn axe_problems(c: &Client, axe: &str) -> anyhow::Result<Vec<String>> {
    c.execute(axe, vec![]).await?;
    let found = c
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
               axe.run(document, { resultTypes: ["violations"] })
                 .then(r => done(r.passes.length === 0 ? ["axe checked nothing"] : r.violations
                   .filter(v => v.impact === "serious" || v.impact === "critical")
                   .map(v => v.impact + " " + v.id + ": " + v.help + " — " +
                        v.nodes.slice(0, 4).map(n => n.target.join(" ") +
                          (n.failureSummary ? " (" + n.failureSummary.replace(/\s+/g, " ").slice(0, 160) + ")" : "")).join("; "))))
                 .catch(e => done(["axe failed: " + e]));"#,
            vec![],
        )
        .await?;
    Ok(serde_json::from_value(found)?)
}

/// What the phone shows: widths, the header's height and what sticks out.
async fn phone_problems(c: &Client) -> anyhow::Result<Vec<String>> {
    let m = c
        .execute(
            r##"const iw = window.innerWidth, ih = window.innerHeight;
               const header = document.querySelector(".site-header");
               const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
                   (typeof e.className === "string" && e.className ? "." + e.className.trim().split(/\s+/).join(".") : "");
               const wide = [...document.querySelectorAll("body *")]
                 .filter(e => e.getBoundingClientRect().right > iw + 0.5)
                 .slice(0, 6).map(e => name(e) + " to " + Math.round(e.getBoundingClientRect().right) + "px");
               return { scroll: document.documentElement.scrollWidth, iw, ih,
                        header: header ? header.getBoundingClientRect().height : 0, wide };"##,
            vec![],
        )
        .await?;
    let num = |k: &str| m[k].as_f64().unwrap_or(0.0);
    let mut problems = Vec::new();
    if num("iw") != 390.0 {
        problems.push(format!("the window is {}px wide, not 390", num("iw")));
    }
    if num("scroll") > num("iw") {
        problems.push(format!(
            "scrolls sideways: {}px wide in a {}px window (sticking out: {})",
            num("scroll"),
            num("iw"),
            m["wide"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        ));
    }
    if num("header") > 0.2 * num("ih") {
        problems.push(format!(
            "the header is {}px high, over a fifth of the {}px screen",
            num("header"),
            num("ih")
        ));
    }
    Ok(problems)
}

/// Visits the page and lists what is wrong with it, each line naming the page.
async fn check_page(
    c: &Client,
    app: &TestApp,
    path: &str,
    axe: &str,
    checks: Checks,
) -> anyhow::Result<Vec<String>> {
    c.goto(&app.url(path)).await?;
    check_here(c, path, axe, checks).await
}

async fn check_here(
    c: &Client,
    path: &str,
    axe: &str,
    checks: Checks,
) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    keep_a_picture(c, path, checks).await?;
    let title = c.title().await?;
    if path != "/no-such-page" && c.find(Locator::Css(".error-card")).await.is_ok() {
        problems.push(format!("{path}: shows an error page ({title})"));
        return Ok(problems);
    }
    if checks.fits_phone {
        problems.extend(
            phone_problems(c)
                .await?
                .into_iter()
                .map(|p| format!("{path} (phone): {p}")),
        );
    }
    let size = if checks.fits_phone {
        "phone"
    } else {
        "desktop"
    };
    problems.extend(
        axe_problems(c, axe)
            .await?
            .into_iter()
            .map(|p| format!("{path} ({size}): {p}")),
    );
    Ok(problems)
}

/// With PLOTCARE_PAGE_SCREENSHOTS=1, saves what each page looks like to
/// target/screenshots/pages/ (for a person to look over).
async fn keep_a_picture(c: &Client, path: &str, checks: Checks) -> anyhow::Result<()> {
    if std::env::var_os("PLOTCARE_PAGE_SCREENSHOTS").is_none() {
        return Ok(());
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/pages");
    std::fs::create_dir_all(&dir)?;
    let size = if checks.fits_phone {
        "phone"
    } else {
        "desktop"
    };
    let name: String = path
        .trim_start_matches('/')
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '_' })
        .collect();
    std::fs::write(
        dir.join(format!("{size}-{name}.png")),
        c.screenshot().await?,
    )?;
    Ok(())
}

/// Signs the admin in (password, then a code), checking both sign-in pages on the way.
async fn sign_in_admin(
    c: &Client,
    site: &Site,
    axe: &str,
    checks: Checks,
    problems: &mut Vec<String>,
) -> anyhow::Result<()> {
    problems.extend(check_page(c, &site.app, "/sign-in", axe, checks).await?);
    fill(c, "#email", &site.admin.email).await?;
    fill(c, "#password", &site.admin.password).await?;
    click(c, "#sign-in-form button[type=submit]").await?;
    wait_for_path(c, "/sign-in/code").await?;
    problems.extend(check_here(c, "/sign-in/code", axe, checks).await?);
    fill(
        c,
        "#code",
        &plotcare::auth::mfa::current_code(&site.secret)?,
    )
    .await?;
    click(c, "#code-form button[type=submit]").await?;
    wait_for_path(c, "/").await?;
    Ok(())
}

async fn sign_in_sub(c: &Client, site: &Site) -> anyhow::Result<()> {
    c.delete_all_cookies().await?;
    c.goto(&site.app.url("/sign-in")).await?;
    fill(c, "#email", &site.sub.email).await?;
    fill(c, "#password", &site.sub.password).await?;
    click(c, "#sign-in-form button[type=submit]").await?;
    wait_for_path(c, "/jobs").await?;
    Ok(())
}

/// Every page, as the admin then as the subcontractor.
async fn check_every_page(c: &Client, site: &Site, checks: Checks) -> anyhow::Result<Vec<String>> {
    let axe = axe_source();
    let mut problems = Vec::new();
    sign_in_admin(c, site, &axe, checks, &mut problems).await?;
    for path in &site.staff_pages {
        problems.extend(check_page(c, &site.app, path, &axe, checks).await?);
    }
    sign_in_sub(c, site).await?;
    for path in &site.sub_pages {
        problems.extend(check_page(c, &site.app, path, &axe, checks).await?);
    }
    Ok(problems)
}

fn report(problems: &[String], what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        problems.is_empty(),
        "{} problem(s) {what}:\n{}",
        problems.len(),
        problems.join("\n")
    );
    Ok(())
}

#[tokio::test]
async fn on_a_phone_every_page_fits_the_screen_has_a_short_header_and_no_serious_accessibility_problems()
 {
    let site = site().await;
    let browser = Browser::start_phone().await;
    browser
        .run("pages_on_a_phone", |c| {
            let site = &site;
            async move {
                let problems = check_every_page(&c, site, Checks { fits_phone: true }).await?;
                report(&problems, "at 390×844")
            }
        })
        .await;
}

#[tokio::test]
async fn on_a_desktop_every_page_has_no_serious_accessibility_problems() {
    let site = site().await;
    let browser = Browser::start_desktop().await;
    browser
        .run("pages_on_a_desktop", |c| {
            let site = &site;
            async move {
                let problems = check_every_page(&c, site, Checks { fits_phone: false }).await?;
                report(&problems, "at 1440×900")
            }
        })
        .await;
}

#[tokio::test]
async fn the_keyboard_finds_a_skip_link_first_a_visible_focus_and_the_current_page_in_the_navigation()
 {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    let browser = Browser::start_phone().await;
    browser
        .run("pages_keyboard", |c| {
            let app = &app;
            async move {
                c.goto(&app.url("/sign-in")).await?;
                fill(&c, "#email", &staff.email).await?;
                fill(&c, "#password", &staff.password).await?;
                click(&c, "#sign-in-form button[type=submit]").await?;
                wait_for_path(&c, "/").await?;
                c.goto(&app.url("/plots")).await?;

                // The first Tab lands on the skip link, shown and outlined.
                c.find(Locator::Css("body"))
                    .await?
                    .send_keys(&char::from(Key::Tab).to_string())
                    .await?;
                let focused = c
                    .execute(
                        r#"const e = document.activeElement, r = e.getBoundingClientRect(), s = getComputedStyle(e);
                           return { text: e.textContent.trim(), href: e.getAttribute("href"),
                                    shown: r.width > 1 && r.height > 1 && r.top >= 0,
                                    outline: s.outlineStyle, width: parseFloat(s.outlineWidth) };"#,
                        vec![],
                    )
                    .await?;
                anyhow::ensure!(
                    focused["text"] == "Skip to content" && focused["href"] == "#main",
                    "the first Tab went to {focused}"
                );
                anyhow::ensure!(
                    focused["shown"] == true
                        && focused["outline"] != "none"
                        && focused["width"].as_f64().unwrap_or(0.0) >= 2.0,
                    "the skip link is not visibly focused: {focused}"
                );

                // Following it moves to the page's content.
                c.find(Locator::Css("a[href='#main']")).await?.click().await?;
                tokio::time::sleep(Duration::from_millis(100)).await;
                let url = c.current_url().await?;
                anyhow::ensure!(url.fragment() == Some("main"), "at {url}");
                c.find(Locator::Css("main#main")).await?;

                // The navigation is in a menu on the phone; Plots is marked as the page.
                let menu = c.find(Locator::Css("details.site-menu")).await?;
                anyhow::ensure!(
                    menu.attr("open").await?.is_none(),
                    "the menu starts open on a phone"
                );
                click(&c, "details.site-menu > summary").await?;
                let current = c
                    .find(Locator::Css("nav.main-nav a[aria-current='page']"))
                    .await?;
                anyhow::ensure!(
                    current.attr("href").await?.as_deref() == Some("/plots"),
                    "the current page in the navigation is {:?}",
                    current.attr("href").await?
                );
                anyhow::ensure!(current.is_displayed().await?, "the opened menu hides Plots");

                // The axe run these tests rely on does see a problem when there is one.
                c.execute(
                    r##"const p = document.createElement("p");
                       p.textContent = "Words too faint to read";
                       p.style.color = "#c8c8c8"; p.style.background = "#ffffff";
                       document.getElementById("main").append(p);"##,
                    vec![],
                )
                .await?;
                let problems = axe_problems(&c, &axe_source()).await?;
                anyhow::ensure!(
                    problems.iter().any(|p| p.starts_with("serious color-contrast")),
                    "axe missed faint text: {problems:?}"
                );
                Ok(())
            }
        })
        .await;
}
