//! Page latency at the server, and the ticket list under concurrent load.
//!
//! Starts the real app (release build) on a loopback port against its own
//! fresh database, loads it with `plotcare generate` (by default 100 tenants
//! of 10,000 plots and 10,000 tickets each, every ticket with two comments),
//! then times sequential requests to each list and detail page as one
//! tenant's admin. Finally it drives the ticket list with concurrent clients
//! and, as the floor, replays under pgbench the very statements one request of the
//! list sends (captured from PostgreSQL's log, with the same values and session).
//!
//! Run: `cargo bench --bench pages`. Sizes: BENCH_TENANTS, BENCH_PLOTS, BENCH_TICKETS.
//! BENCH_PAGES=text measures only the pages whose name contains "text" (BENCH_PAGES=none: none).
//! BENCH_KEEP_DB=1 keeps the loaded database afterwards, to look at query plans.

#[path = "../tests/it/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::{Duration, Instant};

use common::{TestApp, TestClient};
use plotcare::{
    auth::policy::{SchemeScope, TicketScope},
    db::tickets::{TicketFilter, list_query},
    domain::Role,
};

const WARM_UP: usize = 20;
const SAMPLES: usize = 200;

struct Figures {
    page: String,
    mean: Duration,
    p50: Duration,
    p95: Duration,
    p99: Duration,
}

fn env_u32(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn measure(client: &TestClient, page: &str, path: &str, bearer: Option<&str>) -> Figures {
    let request = |c: &TestClient| {
        let mut r = c.http.get(c.url(path));
        if let Some(token) = bearer {
            r = r.bearer_auth(token);
        }
        r
    };
    for _ in 0..WARM_UP {
        let r = request(client).send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.bytes().await.unwrap();
    }
    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let r = request(client).send().await.unwrap();
        r.bytes().await.unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    let pick = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
    Figures {
        page: page.into(),
        mean: times.iter().sum::<Duration>() / times.len() as u32,
        p50: pick(0.50),
        p95: pick(0.95),
        p99: pick(0.99),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

/// The `href` of the first link whose text is `label` (e.g. the "Next" page link).
fn link_before(html: &str, label: &str) -> Option<String> {
    let end = html.find(&format!(">{label}"))?;
    let start = html[..end].rfind("href=\"")? + 6;
    let stop = html[start..].find('"')? + start;
    Some(html[start..stop].replace("&amp;", "&"))
}

async fn first_id(app: &TestApp, sql: &str, tenant: uuid::Uuid) -> uuid::Uuid {
    sqlx::query_scalar(sql)
        .bind(tenant)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

#[tokio::main]
async fn main() {
    let (tenants, plots, tickets) = (
        env_u32("BENCH_TENANTS", 100),
        env_u32("BENCH_PLOTS", 10_000),
        env_u32("BENCH_TICKETS", 10_000),
    );
    let app = TestApp::spawn_with(common::Options {
        env: vec![("DATABASE_POOL_SIZE", "16".into())],
        ..Default::default()
    })
    .await;
    let started = Instant::now();
    plotcare::generate::run(&app.pool, tenants, plots, tickets)
        .await
        .unwrap();
    let load_time = started.elapsed();
    // As a database looks once autovacuum has been through: statistics, visibility map.
    sqlx::query("VACUUM (ANALYZE)")
        .execute(&app.admin_pool)
        .await
        .unwrap();

    let tenant: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = 'gen-0001'")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let admin = common::TestUser {
        id: first_id(
            &app,
            "SELECT id FROM users WHERE tenant_id = $1 AND role = 'admin'",
            tenant,
        )
        .await,
        email: "admin@gen-0001.test".into(),
        password: plotcare::generate::ADMIN_PASSWORD.into(),
        role: Role::Admin,
    };
    let client = app.sign_in_admin(&admin).await;

    let scheme = first_id(
        &app,
        "SELECT id FROM schemes WHERE tenant_id = $1 ORDER BY id LIMIT 1",
        tenant,
    )
    .await;
    let contract = first_id(
        &app,
        "SELECT id FROM contracts WHERE tenant_id = $1 ORDER BY id LIMIT 1",
        tenant,
    )
    .await;
    let plot = first_id(
        &app,
        "SELECT plot_id FROM tickets WHERE tenant_id = $1 ORDER BY number LIMIT 1",
        tenant,
    )
    .await;
    let contact = first_id(
        &app,
        "SELECT id FROM contacts WHERE tenant_id = $1 AND kind = 'homeowner' ORDER BY id LIMIT 1",
        tenant,
    )
    .await;
    let ticket = first_id(
        &app,
        "SELECT id FROM tickets WHERE tenant_id = $1 ORDER BY number LIMIT 1",
        tenant,
    )
    .await;
    let postcode: String = sqlx::query_scalar("SELECT postcode FROM plots WHERE id = $1")
        .bind(plot)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();

    // Deep pages: follow "Next" 20 times.
    let mut deep = std::collections::HashMap::new();
    for list in ["/plots", "/tickets", "/contacts"] {
        let mut path = list.to_owned();
        for _ in 0..20 {
            let (_, body) = client.page(&path).await;
            match link_before(&body, "Next") {
                Some(next) => path = next,
                None => break,
            }
        }
        deep.insert(list, path);
    }

    let pc = postcode.replace(' ', "+");
    let pages: Vec<(String, String)> = vec![
        ("Schemes list".into(), "/schemes".into()),
        ("Scheme page".into(), format!("/schemes/{scheme}")),
        ("Contract page".into(), format!("/contracts/{contract}")),
        ("Plots list, first page".into(), "/plots".into()),
        ("Plots list, page 21".into(), deep["/plots"].clone()),
        ("Plots by postcode".into(), format!("/plots?q={pc}")),
        (
            "Plots by street text (\"road\")".into(),
            "/plots?q=road".into(),
        ),
        (
            "Plots by homeowner surname".into(),
            "/plots?q=fletcher".into(),
        ),
        ("Plots: text found nowhere".into(), "/plots?q=zzqx".into()),
        ("Plot page".into(), format!("/plots/{plot}")),
        ("Contacts list".into(), "/contacts".into()),
        ("Contacts list, page 21".into(), deep["/contacts"].clone()),
        ("Contact page".into(), format!("/contacts/{contact}")),
        ("Tickets list, first page".into(), "/tickets".into()),
        ("Tickets list, page 21".into(), deep["/tickets"].clone()),
        (
            "Tickets: open + high priority".into(),
            "/tickets?status=open&priority=high".into(),
        ),
        (
            "Tickets: overdue, by reported".into(),
            "/tickets?overdue=1&sort=reported".into(),
        ),
        (
            "Tickets: search T-00042".into(),
            "/tickets?q=T-00042".into(),
        ),
        (
            "Tickets: search \"radiator\"".into(),
            "/tickets?q=radiator".into(),
        ),
        (
            "Tickets: search a street".into(),
            "/tickets?q=church+road".into(),
        ),
        (
            "Tickets: search text found nowhere".into(),
            "/tickets?q=zzqx".into(),
        ),
        (
            "Tickets: plumbing, complaints".into(),
            "/tickets?category=plumbing&complaint=yes".into(),
        ),
        ("Ticket page".into(), format!("/tickets/{ticket}")),
        (
            "Quick find as you type: a reference".into(),
            "/find?partial=1&q=T-00042".into(),
        ),
        (
            "Quick find as you type: a street".into(),
            "/find?partial=1&q=church+road".into(),
        ),
        (
            "Quick find as you type: a name".into(),
            "/find?partial=1&q=smith".into(),
        ),
        (
            "Quick find as you type: a phone".into(),
            "/find?partial=1&q=07700".into(),
        ),
        ("Users".into(), "/users".into()),
        ("Audit trail".into(), "/admin/audit".into()),
    ];
    let mut rows = Vec::new();
    // BENCH_PAGES=search (say) measures only the pages whose name contains "search".
    let only = std::env::var("BENCH_PAGES")
        .unwrap_or_default()
        .to_lowercase();
    for (name, path) in &pages {
        if name.to_lowercase().contains(&only) {
            rows.push(measure(&client, name, path, None).await);
        }
    }

    println!(
        "\nLoaded {tenants} tenants x {plots} plots x {tickets} tickets (each with 2 comments) in {:.0} s.\n",
        load_time.as_secs_f64()
    );
    println!("| page | mean ms | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|");
    for f in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            f.page,
            ms(f.mean),
            ms(f.p50),
            ms(f.p95),
            ms(f.p99)
        );
    }
    println!(
        "\n{SAMPLES} sequential requests each after {WARM_UP} warm-up, over loopback, as gen-0001's admin."
    );

    // The ticket list under concurrent load, against its own SQL alone in pgbench.
    let concurrency = 8;
    let window = Duration::from_secs(15);
    let deadline = Instant::now() + window;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let r = client.get("/tickets").await;
                assert!(r.status().is_success());
                r.bytes().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut served = 0;
    for t in tasks {
        served += t.await.unwrap();
    }
    let page_rate = served as f64 / window.as_secs_f64();

    // The floor: the statements one request of the page sends, captured from PostgreSQL's
    // own log while the page is asked for with this client's real session, replayed in
    // pgbench with the same values in the same order (and, alone, the list statement).
    let captured = capture_statements(&app, &client, "/tickets").await;
    let filter = TicketFilter::default();
    let scope = TicketScope::Schemes(SchemeScope::All);
    println!(
        "\nThe ticket list's first page sends {} round trips (captured with log_statement = all):",
        captured.len()
    );
    for s in &captured {
        println!(
            "  {}",
            squash(&s.literal).chars().take(110).collect::<String>()
        );
    }
    let list = captured
        .iter()
        .find_map(|s| {
            (1..=200)
                .find(|&n| {
                    squash(&s.template) == squash(list_query(tenant, &scope, &filter, n).sql())
                })
                .map(|n| (s, n))
        })
        .expect("the page sends db::tickets::list_query");
    println!(
        "The list statement is db::tickets::list_query with LIMIT {}.",
        list.1
    );
    let script: String = captured
        .iter()
        .map(|s| format!("{};\n", s.literal))
        .collect();
    let request_rate = pgbench(&app, tenant, "list-request", &script);
    let list_alone = pgbench(
        &app,
        tenant,
        "list-statement",
        &format!("{};\n", list.0.literal),
    );
    println!(
        "\nTicket list under load ({concurrency} concurrent clients, {}s): the page served {page_rate:.0} requests/s.",
        window.as_secs()
    );
    println!("Its SQL alone in pgbench ({concurrency} clients, as the app's role):\n");
    println!(
        "| SQL run alone | round trips | pgbench tps | page rate as % of it |\n|---|---:|---:|---:|"
    );
    for (what, statements, rate) in [
        (
            "everything one request sends, as captured",
            captured.len(),
            request_rate,
        ),
        ("the list statement alone", 1, list_alone),
    ] {
        println!(
            "| {what} | {statements} | {rate:.0} | {:.0}% |",
            100.0 * page_rate / rate
        );
    }
    if std::env::var_os("BENCH_KEEP_DB").is_some() {
        println!("\nKept the database {} (BENCH_KEEP_DB).", app.db_name);
        std::mem::forget(app);
    }
}

/// One statement as PostgreSQL received it: its text with `$n` placeholders, and the
/// same with the values it was run with written in.
struct Captured {
    template: String,
    literal: String,
}

/// The statements the app sends for one GET of `path` with `client`'s session, in order.
/// A second server with its own pool (new connections, so the database's
/// `log_statement = all` applies to them) serves the request; the statements are read
/// back from the server log (`/var/log/postgresql/postgresql-15-main.log`, or
/// BENCH_PG_LOG), lines of this database only.
async fn capture_statements(app: &TestApp, client: &TestClient, path: &str) -> Vec<Captured> {
    let log = std::env::var("BENCH_PG_LOG")
        .unwrap_or_else(|_| "/var/log/postgresql/postgresql-15-main.log".into());
    let db = &app.db_name;
    sqlx::query(&format!("ALTER DATABASE {db} SET log_statement = 'all'"))
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let config = (*app.state.config).clone();
    let pool = plotcare::db::pool(&config).unwrap();
    let state = plotcare::state::AppState::new(config, pool.clone(), app.state.media.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let limits = plotcare::ServeLimits::from(&*state.config);
    let server = tokio::spawn(plotcare::serve(listener, plotcare::app(state), limits));
    let cookie = client.cookie_header();
    let get = || async {
        let r = client
            .http
            .get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.bytes().await.unwrap();
    };
    // Warm: connections opened and set up, statements prepared, as in a running app.
    for _ in 0..40 {
        get().await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let from = std::fs::metadata(&log).expect("the PostgreSQL log").len();
    get().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let text = std::fs::read(&log).unwrap();
    server.abort();
    pool.close().await;
    sqlx::query(&format!("ALTER DATABASE {db} RESET log_statement"))
        .execute(&app.admin_pool)
        .await
        .unwrap();
    parse_log(&String::from_utf8_lossy(&text[from as usize..]), db)
}

/// The statements (`statement: ...`, `execute name: ...` and its `parameters:`) logged by
/// `plotcare_app@db`, in order.
fn parse_log(text: &str, db: &str) -> Vec<Captured> {
    let starts_entry =
        |l: &str| l.len() > 24 && l.as_bytes()[4] == b'-' && l.as_bytes()[10] == b' ';
    let mut entries: Vec<String> = Vec::new();
    for line in text.lines() {
        match entries.last_mut() {
            Some(last) if !starts_entry(line) => {
                last.push('\n');
                last.push_str(line);
            }
            _ => entries.push(line.to_owned()),
        }
    }
    let who = format!(" {}@{db} ", common::APP_ROLE);
    let mut out: Vec<(String, Captured)> = Vec::new();
    for entry in entries.iter().filter(|e| e.contains(&who)) {
        let pid = entry.split(['[', ']']).nth(1).unwrap_or("").to_owned();
        let (_, rest) = entry.split_once(&who).unwrap();
        if let Some(sql) = rest.strip_prefix("LOG:  statement: ") {
            let sql = sql.trim().to_owned();
            out.push((
                pid,
                Captured {
                    template: sql.clone(),
                    literal: sql,
                },
            ));
        } else if let Some(x) = rest.strip_prefix("LOG:  execute ") {
            let sql = x
                .split_once(": ")
                .map(|(_, s)| s.trim())
                .unwrap_or("")
                .to_owned();
            out.push((
                pid,
                Captured {
                    template: sql.clone(),
                    literal: sql,
                },
            ));
        } else if let Some(params) = rest.strip_prefix("DETAIL:  parameters: ") {
            let statement = out
                .iter_mut()
                .rev()
                .find(|(p, _)| *p == pid)
                .map(|(_, s)| s);
            let statement = statement.expect("parameters follow their statement");
            let values = parse_parameters(params.trim());
            statement.literal = with_values(&statement.template, &values);
        }
    }
    out.into_iter().map(|(_, s)| s).collect()
}

/// `sql` on one line, runs of white space made one space.
fn squash(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `$1 = 'a', $2 = NULL, $3 = 'it''s'` as SQL literals, in order.
fn parse_parameters(text: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut rest = text;
    while let Some((_, after)) = rest.split_once(" = ") {
        if let Some(tail) = after.strip_prefix("NULL") {
            values.push("NULL".to_owned());
            rest = tail;
            continue;
        }
        let bytes = after.as_bytes();
        let mut i = 1;
        while i < bytes.len() {
            if bytes[i] == b'\'' {
                if bytes.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                break;
            }
            i += 1;
        }
        values.push(after[..=i].to_owned());
        rest = &after[i + 1..];
    }
    values
}

/// `sql` with `$1`, `$2`, ... replaced by the literal values given (highest number first).
fn with_values(sql: &str, values: &[String]) -> String {
    let mut out = sql.to_owned();
    for (i, v) in values.iter().enumerate().rev() {
        out = out.replace(&format!("${}", i + 1), v);
    }
    out
}

/// Transactions per second of `script` under pgbench: 8 clients for 15 s, connected as
/// the app's role (so row-level security applies; `app.tenant_id` set for a statement run
/// outside the captured transaction), with PostgreSQL's default plan cache as the app's
/// connections have.
fn pgbench(app: &TestApp, tenant: uuid::Uuid, name: &str, script: &str) -> f64 {
    let path = std::env::temp_dir().join(format!("plotcare-{name}.sql"));
    std::fs::write(&path, script).unwrap();
    let output = std::process::Command::new("pgbench")
        .args([
            "-n", "-M", "prepared", "-c", "8", "-j", "2", "-T", "15", "-f",
        ])
        .arg(&path)
        .args(["-h", "127.0.0.1", "-U", common::APP_ROLE, &app.db_name])
        .env("PGOPTIONS", format!("-c app.tenant_id={tenant}"))
        .output()
        .expect("pgbench (apt-get install postgresql-client)");
    let text = String::from_utf8_lossy(&output.stdout);
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|v| v.parse().ok());
    tps.unwrap_or_else(|| {
        panic!(
            "pgbench {name} failed: {}\n{}",
            text,
            String::from_utf8_lossy(&output.stderr)
        )
    })
}
