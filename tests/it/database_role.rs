//! Row-level security applies only to a role that is not a superuser and has no
//! BYPASSRLS: production refuses to start as such a role, and the demo makes
//! and uses one without those rights.

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use sqlx::{Connection, PgConnection};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_plotcare");

fn server_url() -> String {
    std::env::var("TEST_DATABASE_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

#[test]
fn production_refuses_to_start_as_a_superuser() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let mut child = Command::new(BIN)
        .arg("serve")
        .env_clear()
        .envs([
            ("DATABASE_URL", format!("{}/postgres", server_url())),
            ("BEHIND_TLS", "true".into()),
            (
                "SECRET_KEY",
                "a-production-like-secret-key-0123456789".into(),
            ),
            ("APP_BASE_URL", "https://plotcare.example".into()),
            ("RUN_WORKER", "false".into()),
            ("PORT", port),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It must stop by itself; a server that started would be killed here and fail below.
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("row-level security would not apply"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_demo_runs_as_a_role_row_level_security_applies_to() {
    let name = format!("plotcare_test_{}", Uuid::new_v4().simple());
    let (url, created) = plotcare::db::role::demo_database(&format!("{}/{name}", server_url()))
        .await
        .unwrap();
    assert!(created);
    assert!(url.contains(plotcare::db::role::DEMO_ROLE), "{url}");

    let mut conn = PgConnection::connect(&url).await.unwrap();
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(!superuser && !bypass);
    conn.close().await.unwrap();

    // A second run finds the same database and role.
    let (again, created) = plotcare::db::role::demo_database(&format!("{}/{name}", server_url()))
        .await
        .unwrap();
    assert_eq!(again, url);
    assert!(!created);

    let mut server = PgConnection::connect(&format!("{}/postgres", server_url()))
        .await
        .unwrap();
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut server)
        .await
        .unwrap();
}
