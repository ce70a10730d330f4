//! The ticket list and a ticket page under load, and through a database restart.
//!
//! Runs the release binary (`plotcare serve`) against a PostgreSQL cluster of its own
//! (`initdb` into a temporary directory, started with `pg_ctl` on a free port), so that
//! cluster can be stopped and started without touching anyone else's databases. The
//! database is loaded with `plotcare generate` (one tenant), LOAD_CONNECTIONS staff
//! sessions are signed in (one real session per connection), and each connection asks
//! for the ticket list and a ticket page in turn, one request after another.
//!
//! Phase 1: LOAD_SECS seconds, nothing else happening. Phase 2: the same, with the
//! cluster stopped (`pg_ctl stop -m fast`) in the middle for LOAD_DOWN_SECS seconds and
//! started again. The bench counts every status itself and prints requests/s, latency
//! percentiles and errors; for phase 2 also whether every refusal was the styled 503
//! page with `Retry-After`, and how soon after the database was back every answer was
//! 200 again.
//!
//! Run: `cargo bench --bench load`. LOAD_SECS (60), LOAD_CONNECTIONS (200),
//! LOAD_DOWN_SECS (5), LOAD_PLOTS and LOAD_TICKETS (10000 each), LOAD_PHASES
//! (`steady,restart`).

#[path = "../tests/it/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

const APP_ROLE: &str = common::APP_ROLE;
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const BUSY: &str = "Plotcare is busy right now";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A PostgreSQL cluster of the bench's own, run as the postgres user.
struct Cluster {
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    fn pg(&self, args: &[&str]) -> std::process::Output {
        let output = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/pg_ctl"))
            .args(args)
            .output()
            .expect("runuser and pg_ctl");
        assert!(
            output.status.success(),
            "pg_ctl {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn init() -> Cluster {
        let dir = std::env::temp_dir().join(format!("plotcare-load-{}", Uuid::new_v4().simple()));
        std::fs::create_dir(&dir).unwrap();
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success());
        let output = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/initdb"))
            .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "-D"])
            .arg(dir.join("data"))
            .output()
            .expect("initdb");
        assert!(
            output.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let cluster = Cluster {
            dir,
            port: free_port(),
        };
        cluster.start();
        cluster
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn start(&self) {
        let options = format!(
            "-p {} -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300",
            self.port
        );
        let log = self.dir.join("postgres.log").display().to_string();
        self.pg(&[
            "-D",
            &self.data(),
            "-o",
            &options,
            "-l",
            &log,
            "-w",
            "start",
        ]);
    }

    fn stop(&self) {
        self.pg(&["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self, role: &str, db: &str) -> String {
        format!("postgres://{role}@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(format!("{PG_BIN}/pg_ctl"))
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn plotcare(args: &[&str], env: &[(&str, String)], log: &Path) -> Command {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_plotcare"));
    command
        .args(args)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file));
    command
}

/// One answer: when it was asked (s from the phase's start), when it came, its status
/// (0: no HTTP answer), and whether a 503 was the styled page with `Retry-After`.
#[derive(Clone, Copy)]
struct Answer {
    asked: f64,
    answered: f64,
    status: u16,
    styled_503: bool,
}

/// `connections` clients, each with its own session and connection, for `secs` seconds;
/// `during` runs alongside (e.g. the database restart) and returns its marks.
async fn drive<F>(
    base: &str,
    cookies: &[String],
    ticket: Uuid,
    secs: u64,
    during: F,
) -> (Vec<Answer>, Vec<(&'static str, f64)>)
where
    F: std::future::Future<Output = Vec<(&'static str, f64)>>,
{
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for (i, cookie) in cookies.iter().enumerate() {
        let (base, cookie) = (base.to_owned(), cookie.clone());
        let paths = ["/tickets".to_owned(), format!("/tickets/{ticket}")];
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap();
            let mut answers = Vec::new();
            let mut n = i;
            while Instant::now() < deadline {
                let asked = start.elapsed().as_secs_f64();
                let response = http
                    .get(format!("{base}{}", paths[n % 2]))
                    .header("cookie", &cookie)
                    .send()
                    .await;
                n += 1;
                let (status, styled_503) = match response {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let retry_after = r.headers().contains_key("retry-after");
                        let body = r.text().await.unwrap_or_default();
                        (status, status == 503 && retry_after && body.contains(BUSY))
                    }
                    Err(_) => (0, false),
                };
                answers.push(Answer {
                    asked,
                    answered: start.elapsed().as_secs_f64(),
                    status,
                    styled_503,
                });
                if status == 0 {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            answers
        }));
    }
    let marks = during.await;
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(|a, b| a.asked.total_cmp(&b.asked));
    (all, marks)
}

fn report(name: &str, answers: &[Answer], secs: u64) {
    let mut by_status: BTreeMap<u16, u64> = BTreeMap::new();
    for a in answers {
        *by_status.entry(a.status).or_default() += 1;
    }
    let mut ok: Vec<f64> = answers
        .iter()
        .filter(|a| a.status == 200)
        .map(|a| (a.answered - a.asked) * 1000.0)
        .collect();
    ok.sort_by(f64::total_cmp);
    let pick = |q: f64| {
        ok.get(((ok.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(0.0)
    };
    let errors = answers.iter().filter(|a| a.status != 200).count();
    println!(
        "\n{name}: {} answers in {secs} s = {:.0} requests/s; errors (not 200): {errors}",
        answers.len(),
        answers.len() as f64 / secs as f64
    );
    println!(
        "  statuses: {}",
        by_status
            .iter()
            .map(|(s, n)| if *s == 0 {
                format!("no answer (connection error or 30 s time-out) x {n}")
            } else {
                format!("{s} x {n}")
            })
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  latency of the 200s: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms",
        pick(0.50),
        pick(0.90),
        pick(0.99),
        pick(0.999),
        ok.last().copied().unwrap_or(0.0)
    );
}

#[tokio::main]
async fn main() {
    let secs = env_u64("LOAD_SECS", 60);
    let connections = env_u64("LOAD_CONNECTIONS", 200) as usize;
    let down = env_u64("LOAD_DOWN_SECS", 5);
    let plots = env_u64("LOAD_PLOTS", 10_000);
    let tickets = env_u64("LOAD_TICKETS", 10_000);
    let phases = std::env::var("LOAD_PHASES").unwrap_or_else(|_| "steady,restart".into());

    let cluster = Arc::new(Cluster::init());
    println!(
        "own PostgreSQL cluster on port {} ({})",
        cluster.port,
        cluster.dir.display()
    );
    let server = PgPoolOptions::new()
        .max_connections(1)
        .connect(&cluster.url("postgres", "postgres"))
        .await
        .unwrap();
    sqlx::query(&format!(
        "CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE"
    ))
    .execute(&server)
    .await
    .unwrap();
    sqlx::query(&format!("CREATE DATABASE plotcare OWNER {APP_ROLE}"))
        .execute(&server)
        .await
        .unwrap();
    server.close().await;

    let media = tempfile::tempdir().unwrap();
    let log = cluster.dir.join("plotcare.log");
    let port = free_port();
    let env = vec![
        ("PORT", port.to_string()),
        ("DATABASE_URL", cluster.url(APP_ROLE, "plotcare")),
        ("MEDIA_DIR", media.path().display().to_string()),
        ("LOG_FORMAT", "json".into()),
        ("RUST_LOG", "warn".into()),
        ("MALLOC_ARENA_MAX", "2".into()),
    ];
    for args in [
        vec!["migrate"],
        vec![
            "generate",
            "--tenants",
            "1",
            "--plots",
            &plots.to_string(),
            "--tickets",
            &tickets.to_string(),
        ],
    ] {
        let started = Instant::now();
        let status = plotcare(&args, &env, &log).status().unwrap();
        assert!(
            status.success(),
            "plotcare {args:?}: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        println!(
            "plotcare {} in {:.0} s",
            args.join(" "),
            started.elapsed().as_secs_f64()
        );
    }
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&cluster.url("postgres", "plotcare"))
        .await
        .unwrap();
    sqlx::query("VACUUM (ANALYZE)")
        .execute(&admin)
        .await
        .unwrap();
    let ticket: Uuid = sqlx::query_scalar("SELECT id FROM tickets ORDER BY number LIMIT 1")
        .fetch_one(&admin)
        .await
        .unwrap();
    admin.close().await;

    let mut child: Child = plotcare(&["serve"], &env, &log).spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "plotcare serve exited ({status}): {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(started.elapsed() < Duration::from_secs(120), "no server");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // One real session per connection: the generated tenant's care user, signed in.
    let started = Instant::now();
    let mut cookies = Vec::new();
    for _ in 0..connections {
        let client = common::TestClient::new(&base);
        let r = client
            .sign_in("care@gen-0001.test", plotcare::generate::STAFF_PASSWORD)
            .await;
        assert_eq!(r.status(), 303, "the care user signs in");
        let (status, _) = client.page("/tickets").await;
        assert_eq!(status, 200);
        cookies.push(client.cookie_header());
    }
    println!(
        "{connections} sessions signed in in {:.0} s; each connection asks for /tickets and /tickets/<id> in turn",
        started.elapsed().as_secs_f64()
    );

    if phases.contains("steady") {
        let (answers, _) = drive(&base, &cookies, ticket, secs, async { Vec::new() }).await;
        report(
            &format!("Steady: {connections} connections for {secs} s"),
            &answers,
            secs,
        );
    }

    if phases.contains("restart") {
        let at = secs.saturating_sub(down) / 2;
        let during = {
            let cluster = cluster.clone();
            async move {
                let start = Instant::now();
                tokio::time::sleep(Duration::from_secs(at)).await;
                let c = cluster.clone();
                tokio::task::spawn_blocking(move || c.stop()).await.unwrap();
                let stopped = start.elapsed().as_secs_f64();
                tokio::time::sleep(Duration::from_secs(down)).await;
                let c = cluster.clone();
                let restarting = start.elapsed().as_secs_f64();
                tokio::task::spawn_blocking(move || c.start())
                    .await
                    .unwrap();
                let back = start.elapsed().as_secs_f64();
                vec![
                    ("stopped", stopped),
                    ("restarting", restarting),
                    ("back", back),
                ]
            }
        };
        let (answers, marks) = drive(&base, &cookies, ticket, secs, during).await;
        report(
            &format!(
                "Restart: {connections} connections for {secs} s, the database stopped at {at} s for {down} s"
            ),
            &answers,
            secs,
        );
        let mark = |name| marks.iter().find(|m| m.0 == name).unwrap().1;
        let (stopped, back) = (mark("stopped"), mark("back"));
        println!(
            "  database: stop returned at {stopped:.2} s, start began at {:.2} s and returned (accepting connections) at {back:.2} s",
            mark("restarting")
        );
        let refusals: Vec<&Answer> = answers.iter().filter(|a| a.status != 200).collect();
        let styled = refusals.iter().filter(|a| a.styled_503).count();
        let fives = refusals.iter().filter(|a| a.status == 500).count();
        println!(
            "  refusals: {}; styled 503 with Retry-After: {styled}; 500: {fives}; other: {}",
            refusals.len(),
            refusals.len() - styled - fives
        );
        let last_refused = refusals.iter().map(|a| a.answered).fold(f64::NAN, f64::max);
        let first_refused = refusals.iter().map(|a| a.asked).fold(f64::NAN, f64::min);
        if refusals.is_empty() {
            println!("  no request was refused");
        } else {
            println!(
                "  first refused request asked at {first_refused:.2} s; last refusal answered at {last_refused:.2} s, {:.2} s after the database was back",
                last_refused - back
            );
        }
        let first_ok = answers
            .iter()
            .filter(|a| a.status == 200 && a.asked > stopped)
            .map(|a| a.answered)
            .fold(f64::NAN, f64::min);
        println!(
            "  first 200 to a request asked after the stop: answered at {first_ok:.2} s, {:.2} s after the database was back",
            first_ok - back
        );
        let after = answers.iter().filter(|a| a.asked > last_refused.max(back));
        println!(
            "  asked after that: {} requests, all 200: {}",
            after.clone().count(),
            after.clone().all(|a| a.status == 200)
        );
    }

    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let errors = std::fs::read_to_string(&log).unwrap_or_default();
    let panics = errors.lines().filter(|l| l.contains("panicked")).count();
    println!(
        "\napp log: {} lines, {panics} panics",
        errors.lines().count()
    );
}
