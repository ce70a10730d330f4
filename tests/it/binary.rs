//! The real `plotcare` binary: configuration errors, migrations, and a
//! graceful shutdown that lets a download in flight finish.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::stream;
use plotcare::{
    config::Secret,
    media::{Download, MediaKey, MediaStore},
};
use reqwest::StatusCode;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::common::{APP_ROLE, TestApp};

const BIN: &str = env!("CARGO_BIN_EXE_plotcare");

/// The binary with a clean environment plus `vars`.
fn plotcare(args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args).env_clear().envs(vars.iter().copied());
    command
}

fn admin_url(db: &str) -> String {
    let base = std::env::var("TEST_DATABASE_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    format!("{base}/{db}")
}

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_bad_port_stops_start_up_with_one_line_naming_it() {
    let output = plotcare(&["serve"], &[("PORT", "abc")]).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("PORT"), "{stderr}");
}

#[test]
fn a_malformed_database_url_stops_start_up_with_one_line_naming_it() {
    let output = plotcare(
        &["serve"],
        &[("DATABASE_URL", "mysql://user:hunter2@db/plotcare")],
    )
    .output()
    .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password is printed: {stderr}"
    );
}

#[tokio::test]
async fn migrate_creates_the_tables_in_a_fresh_database() {
    // Arrange: an empty database owned by the app's role, as on a new deployment.
    let db_name = format!("plotcare_test_{}", Uuid::new_v4().simple());
    let server = PgPoolOptions::new()
        .max_connections(1)
        .connect(&admin_url("postgres"))
        .await
        .unwrap();
    sqlx::query(&format!(
        "DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    ))
    .execute(&server)
    .await
    .unwrap();
    sqlx::query(&format!("CREATE DATABASE {db_name} OWNER {APP_ROLE}"))
        .execute(&server)
        .await
        .unwrap();

    // Act
    let url = format!("postgres://{APP_ROLE}@127.0.0.1:5432/{db_name}");
    let output = tokio::task::spawn_blocking(move || {
        plotcare(&["migrate"], &[("DATABASE_URL", &url)])
            .output()
            .unwrap()
    })
    .await
    .unwrap();

    // Assert
    let db = PgPoolOptions::new()
        .max_connections(1)
        .connect(&admin_url(&db_name))
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables WHERE table_schema IN ('public', 'tower_sessions')",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    db.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
        .execute(&server)
        .await;
    assert!(
        output.status.success(),
        "migrate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for table in [
        "public.tenants",
        "public.users",
        "public.user_sessions",
        "public.audit_events",
    ] {
        assert!(
            tables.iter().any(|t| t == table),
            "{table} missing from {tables:?}"
        );
    }
    assert!(
        tables.iter().any(|t| t.starts_with("tower_sessions.")),
        "{tables:?}"
    );
}

#[tokio::test]
async fn on_sigterm_a_download_in_flight_finishes_and_the_process_exits_cleanly() {
    // Arrange: a migrated database, a 40 MiB file in the media directory, a signed link to it.
    let app = TestApp::spawn().await;
    let secret = "the-binary-and-the-test-share-this-secret-key";
    let media_dir = tempfile::tempdir().unwrap();
    let store = MediaStore::local(media_dir.path(), Secret::new(secret))
        .await
        .unwrap();
    let data: Vec<u8> = (0..40 * 1024 * 1024u32)
        .map(|i| (i % 251) as u8 ^ (i >> 16) as u8)
        .collect();
    let key = MediaKey::new(Uuid::new_v4(), "documents");
    let chunks: Vec<std::io::Result<Bytes>> = data
        .chunks(1024 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    store
        .put(&key, "application/zip", stream::iter(chunks))
        .await
        .unwrap();
    let download = Download {
        filename: "handover pack.zip",
        content_type: "application/zip",
        inline: false,
    };
    let link = store
        .download_url(&key, &download, Duration::from_secs(300))
        .await
        .unwrap();

    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let database_url = format!("postgres://{APP_ROLE}@127.0.0.1:5432/{}", app.db_name);
    let media = media_dir.path().display().to_string();
    let mut child = plotcare(
        &["serve"],
        &[
            ("PORT", &port.to_string()),
            ("DATABASE_URL", &database_url),
            ("MEDIA_DIR", &media),
            ("SECRET_KEY", secret),
        ],
    )
    .stdout(Stdio::from(log.reopen().unwrap()))
    .stderr(Stdio::from(log.reopen().unwrap()))
    .spawn()
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let log_text = || std::fs::read_to_string(log.path()).unwrap_or_default();

    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not start:\n{}",
            log_text()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the server exited:\n{}",
            log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Act: start a slow download, then ask the process to stop.
    let mut response = http.get(format!("{base}{link}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.content_length(), Some(data.len() as u64));
    let mut received = Vec::with_capacity(data.len());
    while received.len() < 1024 * 1024 {
        received.extend_from_slice(&response.chunk().await.unwrap().expect("more body"));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );

    // New connections are refused once the signal is handled.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
            _ => {
                assert!(
                    Instant::now() < deadline,
                    "still accepting connections after SIGTERM:\n{}",
                    log_text()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "the process exited with a download in flight"
    );

    // The rest of the download still arrives, slowly at first.
    let mut slow = 0;
    while let Some(chunk) = response.chunk().await.unwrap() {
        received.extend_from_slice(&chunk);
        if slow < 20 {
            slow += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(received.len(), data.len());
    assert!(
        received == data,
        "the downloaded file differs from the stored one"
    );

    // Assert: the process then exits, successfully.
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "the process did not exit after the download finished:\n{}",
                log_text()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status:?}:\n{}", log_text());
}

#[tokio::test]
async fn on_sigterm_a_request_that_never_finishes_is_dropped_after_the_grace_period_and_the_process_exits_0()
 {
    let app = TestApp::spawn().await;
    let port = free_port();
    let log = tempfile::NamedTempFile::new().unwrap();
    let database_url = format!("postgres://{APP_ROLE}@127.0.0.1:5432/{}", app.db_name);
    let media_dir = tempfile::tempdir().unwrap();
    let media = media_dir.path().display().to_string();
    let mut child = plotcare(
        &["serve"],
        &[
            ("PORT", &port.to_string()),
            ("DATABASE_URL", &database_url),
            ("MEDIA_DIR", &media),
            ("REQUEST_TIMEOUT_SECS", "300"),
            ("SHUTDOWN_GRACE_SECS", "2"),
        ],
    )
    .stdout(Stdio::from(log.reopen().unwrap()))
    .stderr(Stdio::from(log.reopen().unwrap()))
    .spawn()
    .unwrap();
    let log_text = || std::fs::read_to_string(log.path()).unwrap_or_default();
    let started = Instant::now();
    while reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "did not start:\n{}",
            log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A slow client: a sign-in form (with its session and CSRF token) whose body never
    // finishes arriving.
    use tokio::io::AsyncWriteExt;
    let client = crate::common::TestClient::new(&format!("http://127.0.0.1:{port}"));
    let token = client.csrf_token().await;
    let mut slow = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let head = format!(
        "POST /sign-in?csrf_token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nemail=",
        client.cookie_header()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let signalled = Instant::now();

    // The process waits for it up to the grace period (2 s here), then exits 0.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(15),
            "still running after SIGTERM with a slow client:\n{}",
            log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status}:\n{}", log_text());
    assert!(
        signalled.elapsed() >= Duration::from_millis(1500),
        "did not wait for the request in flight"
    );
    drop(slow);
}
