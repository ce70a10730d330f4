//! Malformed input on every route, as a signed-in admin, staff user and
//! subcontractor: no answer is a 5xx.
//!
//! The routes are read from the router's source (every `.route("…", …)` in
//! src/web), their ids filled from pages the demo data shows each role (and
//! with bad ids), their fields from the forms on those pages (and a few
//! common names), and their values from a list of malformed ones: empty, very
//! long, NUL and other control characters, invalid UTF-8, bad dates, bad ids,
//! SQL metacharacters, huge numbers. A fixed seed picks the combinations and
//! the number of requests is bounded, so a run is the same every time and
//! takes seconds.

use std::collections::{BTreeMap, BTreeSet};

use plotcare::domain::Role;
use reqwest::{StatusCode, header};
use uuid::Uuid;

use crate::common::{TestApp, TestClient, TestUser, extract_attr};

/// Requests per role (on top of the crawl).
const REQUESTS_PER_ROLE: usize = 500;
/// Pages read per role to find ids and forms.
const CRAWL_PAGES: usize = 60;
const SEED: u64 = 0x5EED_F022;

/// A small deterministic generator (xorshift64*), so the run needs no crate and repeats exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Malformed values, already percent-encoded (so invalid UTF-8 can be sent).
fn malformed() -> Vec<String> {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let mut values: Vec<String> = [
        "",
        " ",
        "\0",
        "a\0b",
        "\u{1b}[31mred",
        "line\r\nbreak",
        "\t",
        "2025-02-30",
        "9999-99-99",
        "31/13/2025",
        "2025-03-03T25:61",
        "-1",
        "0",
        "99999999999999999999999999",
        "-9223372036854775809",
        "1e309",
        "NaN",
        "' OR '1'='1",
        "'; DROP TABLE tickets; --",
        "\\",
        "%",
        "_%",
        "<script>alert(1)</script>",
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        "../../etc/passwd",
        "user:not-a-uuid",
        "contact:00000000-0000-0000-0000-000000000000",
        "\u{202e}gnp.exe",
        "Müller’s €50",
        "on",
        "true",
        "zzzz,00000000-0000-0000-0000-000000000000",
        ",",
    ]
    .iter()
    .map(|s| enc(s))
    .collect();
    values.push(enc(&"x".repeat(20_000)));
    values.push(enc(&"🙂".repeat(300)));
    values.push(enc(&Uuid::new_v4().to_string()));
    // Invalid UTF-8, as raw bytes.
    values.push("%FF%FE%FD".into());
    values.push("abc%C3%28".into());
    values.push("%ED%A0%80".into());
    values
}

/// Bad ids for a path segment (percent-encoded).
const BAD_IDS: [&str; 7] = [
    "not-a-uuid",
    "00000000-0000-0000-0000-000000000000",
    "%00",
    "%FF%FE",
    "1%27%20OR%201%3D1",
    "99999999999999999999",
    "..%2F..%2Fetc",
];

/// Field names tried on every POST besides those its form shows.
const COMMON_FIELDS: [&str; 12] = [
    "name",
    "body",
    "note",
    "reason",
    "resolution",
    "title",
    "day",
    "to",
    "role",
    "kind",
    "visibility",
    "company",
];

/// Query parameters tried on every GET besides those its links show.
const COMMON_PARAMS: [&str; 9] = [
    "q", "after", "status", "sort", "from", "to", "scheme", "part", "kind",
];

struct Route {
    path: String,
    get: bool,
    post: bool,
}

/// The .rs files under `dir`, in its feature folders too.
fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Every route of the router, read from its source: `.route("path", get(..).post(..))`.
fn routes() -> Vec<Route> {
    let mut routes = Vec::new();
    for file in rust_files(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web")) {
        let source = std::fs::read_to_string(file).unwrap();
        for (at, _) in source.match_indices(".route(") {
            let rest = &source[at + 7..];
            let Some(start) = rest.find('"') else {
                continue;
            };
            let Some(len) = rest[start + 1..].find('"') else {
                continue;
            };
            let path = rest[start + 1..start + 1 + len].to_owned();
            // The handlers: up to the end of this route call.
            let mut depth = 1;
            let mut end = rest.len();
            for (i, c) in rest.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let handlers = &rest[..end];
            routes.push(Route {
                get: handlers.contains("get("),
                post: handlers.contains("post("),
                path,
            });
        }
    }
    assert!(routes.len() > 100, "only {} routes found", routes.len());
    routes
}

/// Whether `concrete` (a path without query) is an instance of `template`.
fn matches(template: &str, concrete: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let c: Vec<&str> = concrete.split('/').collect();
    t.len() == c.len()
        && t.iter()
            .zip(&c)
            .all(|(t, c)| (t.starts_with('{') && !c.is_empty()) || t == c)
}

/// What a role's pages showed: links (with their query parameter names) and forms (action → field names).
#[derive(Default)]
struct Seen {
    paths: BTreeSet<String>,
    params: BTreeMap<String, BTreeSet<String>>,
    forms: BTreeMap<String, BTreeSet<String>>,
}

fn local_links(html: &str, attribute: &str) -> Vec<String> {
    let prefix = format!("{attribute}=\"/");
    html.match_indices(&prefix)
        .filter_map(|(i, _)| {
            let start = i + prefix.len() - 1;
            let end = html[start..].find('"')? + start;
            Some(html[start..end].replace("&amp;", "&"))
        })
        .filter(|l| !l.starts_with("//") && !l.starts_with("/static"))
        .collect()
}

/// The field names of each `<form>` in the page, by its action.
fn forms(html: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut out = Vec::new();
    for chunk in html.split("<form").skip(1) {
        let form = chunk.split("</form>").next().unwrap_or_default();
        let Some(action) = extract_attr(form, "action=\"") else {
            continue;
        };
        let names = form
            .match_indices("name=\"")
            .filter_map(|(i, _)| {
                let start = i + 6;
                let end = form[start..].find('"')? + start;
                Some(form[start..end].to_owned())
            })
            .filter(|n| n != "csrf_token")
            .collect();
        out.push((action.replace("&amp;", "&"), names));
    }
    out
}

async fn crawl(client: &TestClient, start: &[&str]) -> Seen {
    let mut seen = Seen::default();
    let mut queue: Vec<String> = start.iter().map(|s| s.to_string()).collect();
    let mut visited = BTreeSet::new();
    while let Some(link) = queue.pop() {
        if visited.len() >= CRAWL_PAGES {
            break;
        }
        let (path, query) = link.split_once('?').unwrap_or((&link, ""));
        let path = path.split('#').next().unwrap_or_default().to_owned();
        seen.paths.insert(path.clone());
        for (k, _) in url::form_urlencoded::parse(query.as_bytes()) {
            seen.params
                .entry(path.clone())
                .or_default()
                .insert(k.into_owned());
        }
        // Skip signing out and anything that changes data: only pages are read.
        if path == "/sign-out" || !visited.insert(path.clone()) {
            continue;
        }
        let response = client.get(&link).await;
        if !response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html"))
        {
            continue;
        }
        let html = response.text().await.unwrap_or_default();
        for (action, names) in forms(&html) {
            let action_path = action.split('?').next().unwrap_or_default().to_owned();
            seen.paths.insert(action_path.clone());
            seen.forms.entry(action_path).or_default().extend(names);
        }
        for l in local_links(&html, "href") {
            queue.insert(0, l);
        }
    }
    seen
}

/// A urlencoded body from already-encoded pairs.
fn encoded(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={v}",
                url::form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>()
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

struct Failure {
    role: &'static str,
    method: &'static str,
    url: String,
    status: StatusCode,
    body: String,
}

async fn fuzz_role(
    app: &TestApp,
    role: &'static str,
    client: &TestClient,
    start: &[&str],
    rng: &mut Rng,
    failures: &mut Vec<Failure>,
) {
    let seen = crawl(client, start).await;
    let values = malformed();
    let routes = routes();
    let token = client.csrf_token().await;
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut sent = 0;
    let actions: Vec<&String> = seen.forms.keys().collect();
    while sent < REQUESTS_PER_ROLE {
        // Half the time a form the pages showed, else any route of the router.
        let action =
            (!actions.is_empty() && rng.below(2) == 0).then(|| (*rng.pick(&actions)).clone());
        let route = match &action {
            Some(a) => match routes.iter().find(|r| r.post && matches(&r.path, a)) {
                Some(r) => r,
                None => continue,
            },
            None => rng.pick(&routes),
        };
        if route.path == "/sign-out" {
            continue;
        }
        // A concrete path: one the pages showed, or the template with a bad id in each parameter.
        let known: Vec<&String> = seen
            .paths
            .iter()
            .filter(|p| matches(&route.path, p))
            .collect();
        let path = if let Some(a) = &action {
            a.clone()
        } else if !known.is_empty() && rng.below(4) != 0 {
            (*rng.pick(&known)).clone()
        } else {
            route
                .path
                .split('/')
                .map(|s| {
                    if s.starts_with('{') {
                        (*rng.pick(&BAD_IDS)).to_owned()
                    } else {
                        s.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        };
        let post = action.is_some() || (route.post && (!route.get || rng.below(2) == 0));
        let (method, response, url) = if post {
            let mut names: Vec<String> = seen
                .forms
                .iter()
                .filter(|(action, _)| matches(&route.path, action))
                .flat_map(|(_, names)| names.iter().cloned())
                .collect();
            names.extend(COMMON_FIELDS.iter().map(|s| s.to_string()));
            names.sort();
            names.dedup();
            let mut pairs: Vec<(String, String)> = Vec::new();
            for name in &names {
                if rng.below(3) != 0 {
                    pairs.push((name.clone(), rng.pick(&values).clone()));
                }
            }
            let url = client.url(&format!("{path}?csrf_token={token}"));
            let request = match rng.below(6) {
                // Multipart, with a file part of malformed bytes.
                0 => {
                    let boundary = "fuzzBoundary7MA4YWxk";
                    let mut body = Vec::new();
                    for (k, v) in &pairs {
                        let raw: Vec<u8> = url::form_urlencoded::parse(format!("v={v}").as_bytes())
                            .next()
                            .map(|(_, v)| v.into_owned().into_bytes())
                            .unwrap_or_default();
                        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n").bytes());
                        body.extend(raw);
                        body.extend(b"\r\n");
                    }
                    let file_field = rng
                        .pick(&["file", "photo", "photo_1-1", "import"])
                        .to_string();
                    body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{file_field}\"; filename=\"a\0b.png\"\r\nContent-Type: image/png\r\n\r\n").bytes());
                    body.extend(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRbroken");
                    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
                    client
                        .http
                        .post(&url)
                        .header(
                            header::CONTENT_TYPE,
                            format!("multipart/form-data; boundary={boundary}"),
                        )
                        .body(body)
                }
                // JSON, as the inspection script sends.
                1 => {
                    let object: serde_json::Map<String, serde_json::Value> = pairs
                        .iter()
                        .map(|(k, v)| {
                            let text = url::form_urlencoded::parse(format!("v={v}").as_bytes())
                                .next()
                                .map(|(_, v)| v.into_owned())
                                .unwrap_or_default();
                            (k.clone(), serde_json::Value::String(text))
                        })
                        .collect();
                    client
                        .http
                        .post(&url)
                        .header("X-CSRF-Token", &token)
                        .json(&object)
                }
                _ => client
                    .http
                    .post(&url)
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(encoded(&pairs)),
            };
            ("POST", request.send().await, url)
        } else if route.get {
            let mut names: Vec<String> = seen
                .params
                .iter()
                .filter(|(p, _)| matches(&route.path, p))
                .flat_map(|(_, n)| n.iter().cloned())
                .collect();
            names.extend(COMMON_PARAMS.iter().map(|s| s.to_string()));
            let mut pairs = Vec::new();
            for name in &names {
                if rng.below(3) == 0 {
                    pairs.push((name.clone(), rng.pick(&values).clone()));
                }
            }
            let url = client.url(&format!("{path}?{}", encoded(&pairs)));
            ("GET", client.http.get(&url).send().await, url)
        } else {
            continue;
        };
        sent += 1;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                failures.push(Failure {
                    role,
                    method,
                    url,
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    body: format!("no answer: {e}"),
                });
                continue;
            }
        };
        let status = response.status();
        *statuses.entry(status.as_u16()).or_insert(0usize) += 1;
        if status.is_server_error() {
            let body = response.text().await.unwrap_or_default();
            failures.push(Failure {
                role,
                method,
                url: url.chars().take(300).collect(),
                status,
                body: body.chars().take(300).collect(),
            });
        }
    }
    let _ = app;
    eprintln!(
        "{role}: {} pages crawled, {} forms, answers {statuses:?}",
        seen.paths.len(),
        seen.forms.len()
    );
    // The requests reached the handlers: most were neither refused by CSRF nor sent to sign in.
    let reached: usize = statuses
        .iter()
        .filter(|(s, _)| !matches!(**s, 403 | 401))
        .map(|(_, n)| n)
        .sum();
    assert!(
        reached * 2 > sent,
        "{role}: too few requests reached a handler: {statuses:?}"
    );
    assert!(
        statuses.keys().any(|s| *s == 200)
            && statuses.keys().any(|s| matches!(*s, 400 | 404 | 422)),
        "{role}: {statuses:?}"
    );
}

async fn demo_user(app: &TestApp, email: &str, password: &str, role: Role) -> TestUser {
    let id: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    TestUser {
        id,
        email: email.into(),
        password: password.into(),
        role,
    }
}

#[tokio::test]
async fn malformed_values_on_every_route_never_answer_a_5xx() {
    // Arrange: the demo housebuilder, with photos, and its people signed in.
    let app = TestApp::spawn().await;
    plotcare::demo::load_with_photos(&app.pool, Some(&app.state.media))
        .await
        .unwrap();
    let logins = plotcare::demo::LOGINS;
    let admin = demo_user(&app, logins[0].email, logins[0].password, Role::Admin).await;
    let staff = demo_user(&app, logins[1].email, logins[1].password, Role::Staff).await;
    let sub = demo_user(
        &app,
        logins[2].email,
        logins[2].password,
        Role::Subcontractor,
    )
    .await;
    let mut rng = Rng(SEED);
    let mut failures = Vec::new();

    // Act: the subcontractor, staff, then the admin (whose actions may end the others' sessions).
    let client = app.sign_in(&sub).await;
    fuzz_role(
        &app,
        "subcontractor",
        &client,
        &["/jobs", "/jobs/summary", "/"],
        &mut rng,
        &mut failures,
    )
    .await;
    let client = app.sign_in(&staff).await;
    fuzz_role(
        &app,
        "staff",
        &client,
        &[
            "/",
            "/tickets",
            "/plots",
            "/schemes",
            "/contacts",
            "/inspections",
        ],
        &mut rng,
        &mut failures,
    )
    .await;
    let client = app.sign_in_admin(&admin).await;
    fuzz_role(
        &app,
        "admin",
        &client,
        &[
            "/",
            "/users",
            "/admin/audit",
            "/admin/sla",
            "/inspection-templates",
            "/imports",
            "/admin/exports",
            "/tickets",
        ],
        &mut rng,
        &mut failures,
    )
    .await;

    // Assert
    let report: Vec<String> = failures
        .iter()
        .map(|f| {
            format!(
                "{} {} {} as {}: {}",
                f.status,
                f.method,
                f.url,
                f.role,
                f.body.replace('\n', " ")
            )
        })
        .collect();
    assert!(
        report.is_empty(),
        "{} answers were 5xx:\n{}",
        report.len(),
        report.join("\n")
    );
}

/// Every route with an id in its path, asked with a malformed id (by GET and by
/// POST, as the admin who may reach the most): the styled 404 page, never axum's
/// plain-text 400 nor a 5xx.
#[tokio::test]
async fn a_malformed_id_in_any_path_answers_the_styled_not_found_page() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("acme").await;
    let admin = app.create_user(&tenant, Role::Admin, None, false).await;
    let client = app.sign_in_admin(&admin).await;
    // Not ids: a sample file's name and a set-password token (tested with their own pages).
    let skip = ["/imports/sample/{file}", "/set-password/{token}"];
    let mut wrong = Vec::new();
    for route in routes()
        .iter()
        .filter(|r| r.path.contains("/{") && !skip.contains(&r.path.as_str()))
    {
        let path = route
            .path
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    "not-an-id"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let mut answers = Vec::new();
        if route.get {
            answers.push(("GET", client.get(&path).await));
        }
        if route.post {
            let mut response = client.post_form(&path, &[]).await;
            if matches!(response.status().as_u16(), 400 | 415) {
                // A route that takes an upload or JSON: send that, so only the id is wrong.
                let token = client.csrf_token().await;
                response = client
                    .http
                    .post(client.url(&format!("{path}?csrf_token={token}")))
                    .header(
                        header::CONTENT_TYPE,
                        "multipart/form-data; boundary=fuzzboundary",
                    )
                    .body("--fuzzboundary\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nx\r\n--fuzzboundary--\r\n")
                    .send()
                    .await
                    .unwrap();
                if matches!(response.status().as_u16(), 400 | 415) {
                    response = client
                        .http
                        .post(client.url(&path))
                        .header("x-csrf-token", &token)
                        .json(&serde_json::json!({}))
                        .send()
                        .await
                        .unwrap();
                }
            }
            answers.push(("POST", response));
        }
        for (method, response) in answers {
            let status = response.status();
            // A fetch endpoint answers its JSON error; a page, the styled page.
            let json = response
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
            let body = response.text().await.unwrap();
            let styled = if json {
                body.contains("\"error\"")
            } else {
                body.contains("<h1>Page not found</h1>")
            };
            if status != StatusCode::NOT_FOUND || !styled {
                wrong.push(format!("{method} {path}: {status}"));
            }
        }
    }
    assert!(wrong.is_empty(), "not the styled 404: {wrong:#?}");
}
