//! The memory and availability budget: one `plotcare demo` process (the release binary,
//! on its own fresh database) is fed the bad-input corpus, several files at once, while
//! 200 slow connections send a byte a second and a prober asks for `/healthz` every 20 ms.
//! Reported: the process's peak resident memory (VmHWM in /proc/PID/status), the
//! `/healthz` latencies, and how long each refusal took. Targets: peak < 512 MB, p99 < 100 ms.
//!
//! Run: `cargo bench --bench budget`. BENCH_ROUNDS (default 3) rounds of the corpus;
//! BENCH_SLOW (default 200) slow connections.

#[path = "../tests/it/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::{
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use common::{TestClient, corpus};
use sqlx::postgres::PgPoolOptions;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

const APP_ROLE: &str = common::APP_ROLE;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A field of /proc/PID/status in kB (VmRSS, VmHWM).
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn mb(kb: u64) -> String {
    format!("{:.0} MB", kb as f64 / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A multipart body with text `fields` and one file.
fn multipart(fields: &[(&str, &str)], file_name: &str, data: &[u8]) -> (String, Vec<u8>) {
    let boundary = format!("----budget{}", Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .bytes(),
        );
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
            .bytes(),
    );
    body.extend_from_slice(data);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// One bad input: where it goes and what it is.
struct Input {
    name: &'static str,
    path: String,
    fields: Vec<(&'static str, &'static str)>,
    file_name: &'static str,
    data: Arc<Vec<u8>>,
}

/// Posts `input`; its status and how long the answer took.
async fn post(client: &TestClient, input: &Input) -> (u16, Duration) {
    let token = client.csrf_token().await;
    let (content_type, body) = multipart(&input.fields, input.file_name, &input.data);
    let started = Instant::now();
    let response = client
        .http
        .post(client.url(&format!("{}?csrf_token={token}", input.path)))
        .header("content-type", content_type)
        .body(body)
        .timeout(Duration::from_secs(120))
        .send()
        .await;
    match response {
        Ok(r) => {
            let status = r.status().as_u16();
            let _ = r.bytes().await;
            (status, started.elapsed())
        }
        Err(_) => (0, started.elapsed()),
    }
}

fn start_demo(port: u16, database: &str, media: &str, log: &std::fs::File) -> Child {
    Command::new(env!("CARGO_BIN_EXE_plotcare"))
        .arg("demo")
        .env_clear()
        .envs([
            ("PORT", port.to_string().as_str()),
            (
                "DATABASE_URL",
                &format!("postgres://{APP_ROLE}@127.0.0.1:5432/{database}"),
            ),
            ("MEDIA_DIR", media),
            ("LOG_FORMAT", "json"),
            ("RUST_LOG", "warn"),
            // As the Procfile runs it: two malloc arenas, not one per thread that allocates.
            ("MALLOC_ARENA_MAX", "2"),
        ])
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log.try_clone().unwrap()))
        .spawn()
        .expect("the release binary (cargo bench builds it)")
}

#[tokio::main]
async fn main() {
    let rounds = env_usize("BENCH_ROUNDS", 3);
    let slow = env_usize("BENCH_SLOW", 200);

    // The corpus, made in memory.
    let inputs = {
        let import = |name, file_name, data: Vec<u8>| Input {
            name,
            path: "/imports/preview".into(),
            fields: vec![("kind", "plots")],
            file_name,
            data: Arc::new(data),
        };
        let mut big_csv = String::from(
            "scheme,contract,plot_number,address_line1,address_line2,town,postcode,house_type,bedrooms,reservation_date,completion_date,homeowner_name,homeowner_phone,homeowner_email\n",
        );
        for i in 0..20_000 {
            big_csv.push_str(&format!(
                "Meadowbank Park,Phase 1,B{i},{i} Larch Close,Off the long lane past the farm,Warrington,WA4 2TX,The Aspen with a very long house type name,3,2025-01-15,2025-06-30,Jane Example {i},07700 900123,jane{i}@example.com\n"
            ));
        }
        vec![
            import(
                "sparse workbook (A1, XFD1048576)",
                "sparse.xlsx",
                corpus::sparse_workbook(),
            ),
            import(
                "workbook bomb (150 MB sheet)",
                "bomb.xlsx",
                corpus::bomb_workbook(150),
            ),
            import(
                "workbook of 23 MB of shared strings",
                "strings.xlsx",
                corpus::shared_strings_workbook(23),
            ),
            import("CSV of 20,000 plots", "plots.csv", big_csv.into_bytes()),
        ]
    };
    let photos = [
        (
            "16384x16384 16-bit PNG (2 GB decoded)",
            corpus::huge_png(16_384),
        ),
        (
            "8000x8000 RGBA PNG (256 MB decoded, the most allowed)",
            corpus::zero_png(8_000, 8_000, 8, 6, 4),
        ),
    ];
    for input in &inputs {
        println!("{:<55} {:>10} bytes", input.name, input.data.len());
    }
    for (name, data) in &photos {
        println!("{name:<55} {:>10} bytes", data.len());
    }

    // A fresh database for the demo, owned by the app's role.
    let db = format!("plotcare_budget_{}", Uuid::new_v4().simple());
    let server = PgPoolOptions::new()
        .max_connections(1)
        .connect("postgres://postgres@127.0.0.1:5432/postgres")
        .await
        .unwrap();
    sqlx::query(&format!(
        "DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    ))
    .execute(&server)
    .await
    .unwrap();
    sqlx::query(&format!("CREATE DATABASE {db} OWNER {APP_ROLE}"))
        .execute(&server)
        .await
        .unwrap();

    let media = tempfile::tempdir().unwrap();
    let log_file = tempfile::NamedTempFile::new().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = start_demo(
        port,
        &db,
        &media.path().display().to_string(),
        log_file.as_file(),
    );
    let pid = child.id();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the demo exited ({status}):\n{}",
                std::fs::read_to_string(log_file.path()).unwrap_or_default()
            );
        }
        assert!(started.elapsed() < Duration::from_secs(600), "no demo");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "\ndemo up in {:.0} s; resident {}",
        started.elapsed().as_secs_f64(),
        mb(status_kb(pid, "VmRSS:"))
    );

    let staff = TestClient::new(&base);
    let signed_in = staff
        .sign_in("care@meadowbank.test", "meadowbank care demo")
        .await;
    assert_eq!(signed_in.status(), 303, "the demo's care user signs in");
    let app_db = PgPoolOptions::new()
        .max_connections(1)
        .connect(&format!("postgres://postgres@127.0.0.1:5432/{db}"))
        .await
        .unwrap();
    let ticket: Uuid = sqlx::query_scalar(
        "SELECT t.id FROM tickets t JOIN tenants n ON n.id = t.tenant_id
          WHERE n.slug = 'meadowbank' ORDER BY t.number LIMIT 1",
    )
    .fetch_one(&app_db)
    .await
    .unwrap();
    let photo_inputs: Vec<Input> = photos
        .into_iter()
        .map(|(name, data)| Input {
            name,
            path: format!("/tickets/{ticket}/files"),
            fields: vec![("comment_id", "")],
            file_name: "photo.png",
            data: Arc::new(data),
        })
        .collect();
    // Warm up: a page or two, then the resident size before the corpus.
    for _ in 0..20 {
        staff.get("/tickets").await.bytes().await.unwrap();
    }
    let before = status_kb(pid, "VmRSS:");
    let peak_before = status_kb(pid, "VmHWM:");

    // The monitors: /healthz every 20 ms, resident memory every 20 ms.
    let done = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let failures = Arc::new(AtomicUsize::new(0));
    let prober = {
        let (done, latencies, failures, base) = (
            done.clone(),
            latencies.clone(),
            failures.clone(),
            base.clone(),
        );
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            while !done.load(Ordering::Relaxed) {
                let started = Instant::now();
                let ok = matches!(
                    http.get(format!("{base}/healthz"))
                        .timeout(Duration::from_secs(10))
                        .send()
                        .await,
                    Ok(r) if r.status().is_success()
                );
                if ok {
                    latencies.lock().unwrap().push(started.elapsed());
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };

    // 200 slow connections: a request line and headers, a byte a second.
    let closed = Arc::new(AtomicUsize::new(0));
    let mut slow_tasks = Vec::new();
    for _ in 0..slow {
        let (done, closed) = (done.clone(), closed.clone());
        slow_tasks.push(tokio::spawn(async move {
            let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
                closed.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
            for byte in head.iter().copied().chain(std::iter::repeat(b'a')) {
                if done.load(Ordering::Relaxed) {
                    return;
                }
                if stream.write_all(&[byte]).await.is_err() {
                    closed.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(3)).await;

    // The corpus: every input several times at once, round after round.
    let mut answers: Vec<(&'static str, u16, Duration)> = Vec::new();
    let corpus_started = Instant::now();
    for _ in 0..rounds {
        let mut round = Vec::new();
        for input in inputs.iter().chain(&photo_inputs) {
            for _ in 0..3 {
                let client = staff.clone();
                round.push(async move {
                    let (status, took) = post(&client, input).await;
                    (input.name, status, took)
                });
            }
        }
        answers.extend(futures_util::future::join_all(round).await);
    }
    let corpus_time = corpus_started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let peak = status_kb(pid, "VmHWM:");
    let after = status_kb(pid, "VmRSS:");
    done.store(true, Ordering::Relaxed);
    prober.await.unwrap();
    for task in slow_tasks {
        let _ = task.await;
    }
    let alive = child.try_wait().unwrap().is_none();

    // Figures.
    let mut times = latencies.lock().unwrap().clone();
    times.sort();
    let pick = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
    println!("\nper input (each sent 3 at once, {rounds} rounds, all inputs together):");
    println!(
        "{:<55} {:>8} {:>10} {:>10}",
        "input", "statuses", "median", "slowest"
    );
    for input in inputs.iter().chain(&photo_inputs) {
        let mut mine: Vec<_> = answers.iter().filter(|a| a.0 == input.name).collect();
        mine.sort_by_key(|a| a.2);
        let mut statuses: Vec<u16> = mine.iter().map(|a| a.1).collect();
        statuses.dedup();
        statuses.sort();
        statuses.dedup();
        println!(
            "{:<55} {:>8} {:>10} {:>10}",
            input.name,
            statuses
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(","),
            ms(mine[mine.len() / 2].2),
            ms(mine.last().unwrap().2)
        );
    }
    println!("\ncorpus replayed in {:.1} s", corpus_time.as_secs_f64());
    println!(
        "resident memory: {} before, {} after; peak (VmHWM) {} (before the corpus: {})",
        mb(before),
        mb(after),
        mb(peak),
        mb(peak_before)
    );
    println!(
        "/healthz: {} answers, {} failed; p50 {}, p95 {}, p99 {}, max {}",
        times.len(),
        failures.load(Ordering::Relaxed),
        ms(pick(0.50)),
        ms(pick(0.95)),
        ms(pick(0.99)),
        ms(*times.last().unwrap())
    );
    println!(
        "slow connections: {slow} opened, {} closed by the server",
        closed.load(Ordering::Relaxed)
    );
    println!("process still running: {alive}");
    println!(
        "targets: peak < 512 MB: {}; /healthz p99 < 100 ms: {}",
        if peak < 512 * 1024 { "met" } else { "MISSED" },
        if pick(0.99) < Duration::from_millis(100) {
            "met"
        } else {
            "MISSED"
        }
    );

    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
    app_db.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&server)
        .await;
}
