//! The ticket list and a ticket page under 200 connections, then the same with the
//! database restarted in the middle.
//!
//! Runs the release binary (`plotcare serve`, no worker) as its own process against a
//! PostgreSQL cluster of the benchmark's own (initdb into a temporary directory, its own
//! port), so that the restart touches nothing else on the machine. The tenant is made by
//! `plotcare generate` (10,000 plots, 20,000 tickets, 40,000 comments). LOAD_CONNECTIONS
//! clients (default 200), each on its own connection with a signed-in coordinator's
//! session, ask for `/tickets` and a ticket page in turn for LOAD_SECS (default 60).
//! Reported: requests/s, latency percentiles, and every answer by status code. In the
//! second run the cluster is stopped at a third of the time and started again
//! LOAD_DOWN_SECS later (default 5): every answer must be a 200 or the busy page (503
//! with Retry-After), never a 500 or a dropped connection.
//!
//! Run: `cargo bench --bench load`. LOAD_PG_PORT (default 55432) is the cluster's port.

#[path = "../tests/it/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use common::TestClient;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A PostgreSQL cluster of this benchmark's own, removed when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    port: u16,
}

impl Cluster {
    fn pg(&self, tool: &str) -> Command {
        // initdb and the server refuse to run as root: run them as postgres then.
        let path = format!("{PG_BIN}/{tool}");
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", &path]);
            c
        } else {
            Command::new(path)
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            run(Command::new("chown").args(["postgres", dir.path().to_str().unwrap()]));
        }
        let cluster = Cluster {
            dir,
            port: env_u64("LOAD_PG_PORT", 55432) as u16,
        };
        run(cluster
            .pg("initdb")
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(cluster.data()));
        cluster.up();
        cluster
    }

    fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100",
            self.port,
            self.dir.path().display()
        );
        run(self
            .pg("pg_ctl")
            .args(["-w", "-D"])
            .arg(self.data())
            .args(["-o", &options, "-l"])
            .arg(self.dir.path().join("log"))
            .arg("start"));
    }

    fn down(&self) {
        run(self
            .pg("pg_ctl")
            .args(["-w", "-m", "fast", "-D"])
            .arg(self.data())
            .arg("stop"));
    }

    fn url(&self, role: &str, db: &str) -> String {
        format!("postgres://{role}@127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .pg("pg_ctl")
            .args(["-m", "immediate", "-D"])
            .arg(self.data())
            .arg("stop")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn run(command: &mut Command) {
    let out = command.output().expect("run a PostgreSQL tool");
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn plotcare(cluster: &Cluster, media: &Path, port: u16) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_plotcare"));
    c.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", cluster.url(common::APP_ROLE, "plotcare"))
        .env("MEDIA_DIR", media)
        .env(
            "SECRET_KEY",
            "6c6f61642d62656e63682d7365637265742d6b65792d6f662d36342d6368617273",
        )
        .env("PORT", port.to_string())
        .env("RUN_WORKER", "false")
        .env("MALLOC_ARENA_MAX", "2")
        .env("RUST_LOG", "warn");
    c
}

/// What one run saw.
#[derive(Default)]
struct Tally {
    by_status: BTreeMap<String, u64>,
    latencies: Vec<Duration>,
    busy_without_retry_after: u64,
    /// Seconds since the start of the run of every answer that was not a 200.
    not_ok_at: Vec<f64>,
}

async fn drive(
    base: &str,
    jar: Arc<reqwest::cookie::Jar>,
    paths: [String; 2],
    secs: u64,
    clients: usize,
    started: Instant,
) -> Tally {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let deadline = started + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for i in 0..clients {
        // One client each: its own connection, the shared signed-in session.
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let (tally, base, paths) = (tally.clone(), base.to_owned(), paths.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = i;
            while Instant::now() < deadline {
                let path = &paths[n % 2];
                n += 1;
                let sent = Instant::now();
                let answer = http.get(format!("{base}{path}")).send().await;
                let (key, ok, busy_ok) = match answer {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        let retry_after = r.headers().contains_key("retry-after");
                        let _ = r.bytes().await;
                        (
                            status.to_string(),
                            status == 200,
                            status != 503 || retry_after,
                        )
                    }
                    Err(e) if e.is_timeout() => ("timed out".to_owned(), false, true),
                    Err(_) => ("connection failed".to_owned(), false, true),
                };
                let took = sent.elapsed();
                let mut t = tally.lock().unwrap();
                *t.by_status.entry(key).or_default() += 1;
                t.latencies.push(took);
                if !busy_ok {
                    t.busy_without_retry_after += 1;
                }
                if !ok {
                    t.not_ok_at.push(started.elapsed().as_secs_f64());
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    Arc::try_unwrap(tally).ok().unwrap().into_inner().unwrap()
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn report(title: &str, tally: &mut Tally, secs: u64) {
    tally.latencies.sort();
    let n = tally.latencies.len();
    let at = |q: f64| tally.latencies[((n as f64 * q) as usize).min(n - 1)];
    println!("\n{title}");
    println!(
        "  {n} answers in {secs} s: {:.0} requests/s; latency p50 {} ms, p95 {} ms, p99 {} ms, max {} ms",
        n as f64 / secs as f64,
        ms(at(0.50)),
        ms(at(0.95)),
        ms(at(0.99)),
        ms(at(1.0))
    );
    let statuses: Vec<String> = tally
        .by_status
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    println!("  by answer: {}", statuses.join(", "));
    println!(
        "  503 answers without Retry-After: {}",
        tally.busy_without_retry_after
    );
}

#[tokio::main]
async fn main() {
    let secs = env_u64("LOAD_SECS", 60);
    let clients = env_u64("LOAD_CONNECTIONS", 200) as usize;
    let down_secs = env_u64("LOAD_DOWN_SECS", 5);

    let cluster = Cluster::start();
    let server = sqlx::PgPool::connect(&cluster.url("postgres", "postgres"))
        .await
        .unwrap();
    for sql in [
        format!(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS",
            common::APP_ROLE
        ),
        format!("CREATE DATABASE plotcare OWNER {}", common::APP_ROLE),
    ] {
        sqlx::query(&sql).execute(&server).await.unwrap();
    }
    server.close().await;
    let media = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let loaded = Instant::now();
    let status = plotcare(&cluster, media.path(), port)
        .args([
            "generate",
            "--tenants",
            "1",
            "--plots",
            "10000",
            "--tickets",
            "20000",
        ])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "plotcare generate failed");
    let admin = sqlx::PgPool::connect(&cluster.url("postgres", "plotcare"))
        .await
        .unwrap();
    sqlx::query("VACUUM (ANALYZE)")
        .execute(&admin)
        .await
        .unwrap();
    let ticket: uuid::Uuid = sqlx::query_scalar("SELECT id FROM tickets ORDER BY number LIMIT 1")
        .fetch_one(&admin)
        .await
        .unwrap();
    admin.close().await;
    println!(
        "Loaded 1 tenant (10,000 plots, 20,000 tickets, 40,000 comments) in {:.0} s.",
        loaded.elapsed().as_secs_f64()
    );

    let mut app: Child = plotcare(&cluster, media.path(), port)
        .arg("serve")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = TestClient::new(&base);
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let signed_in = client
        .sign_in("care@gen-0001.test", plotcare::generate::STAFF_PASSWORD)
        .await;
    assert_eq!(signed_in.status(), 303, "the coordinator signs in");
    let paths = ["/tickets".to_owned(), format!("/tickets/{ticket}")];
    for p in &paths {
        assert_eq!(client.get(p).await.status(), 200, "{p} answers");
    }

    let mut quiet = drive(
        &base,
        client.jar.clone(),
        paths.clone(),
        secs,
        clients,
        Instant::now(),
    )
    .await;
    report(
        &format!("{clients} connections for {secs} s, the ticket list and a ticket page in turn:"),
        &mut quiet,
        secs,
    );

    let restart_at = secs / 3;
    let cluster = Arc::new(cluster);
    let started = Instant::now();
    let restarter = {
        let cluster = cluster.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_secs(restart_at));
            cluster.down();
            let stopped = started.elapsed().as_secs_f64();
            std::thread::sleep(Duration::from_secs(down_secs));
            cluster.up();
            (stopped, started.elapsed().as_secs_f64())
        })
    };
    let mut restarted = drive(
        &base,
        client.jar.clone(),
        paths.clone(),
        secs,
        clients,
        started,
    )
    .await;
    let (stopped, back) = restarter.join().unwrap();
    report(
        &format!(
            "The same with the database stopped at {stopped:.1} s and answering again at {back:.1} s:"
        ),
        &mut restarted,
        secs,
    );
    let last_refusal = restarted.not_ok_at.iter().cloned().fold(f64::NAN, f64::max);
    if last_refusal.is_finite() {
        println!(
            "  the last answer that was not a 200 came {:.2} s after the database was back",
            last_refusal - back
        );
    }

    let _ = Command::new("kill").arg(app.id().to_string()).status();
    let _ = app.wait();
    cluster.down();
}
