//! Connections that never poison: requests cancelled mid-flight (the client hangs up)
//! leave no pooled connection inside a transaction, and the requests after them succeed.

use std::time::Duration;

use plotcare::domain::Role;
use reqwest::StatusCode;
use tokio::{io::AsyncWriteExt, net::TcpStream};

use crate::common::{Options, TestApp};

/// Connections of this test's database that sit inside a transaction with nothing running.
async fn idle_in_transaction(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
          WHERE datname = current_database() AND state LIKE 'idle in transaction%'
            AND pid <> pg_backend_pid()",
    )
    .fetch_one(&app.admin_pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_thousand_cancelled_requests_leave_no_connection_in_a_transaction() {
    let app = TestApp::spawn_with(Options {
        env: vec![("DATABASE_POOL_SIZE", "4".into())],
        ..Default::default()
    })
    .await;
    let tenant = app.create_tenant("cancelled").await;
    let staff = app.create_user(&tenant, Role::Staff, None, false).await;
    let client = app.sign_in(&staff).await;
    let cookie = client.cookie_header();
    let host = app.addr.trim_start_matches("http://").to_owned();
    let request = format!(
        "GET /tickets HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
    );

    // Hang up at every moment of the request: before the session is read, during BEGIN,
    // during the list's statements. 40 at a time, each after a different pause.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..1000u64 {
        let (host, request) = (host.clone(), request.clone());
        tasks.spawn(async move {
            let mut stream = TcpStream::connect(&host).await.unwrap();
            stream.write_all(request.as_bytes()).await.unwrap();
            let micros = (i * 7919) % 4000;
            tokio::time::sleep(Duration::from_micros(micros)).await;
            drop(stream);
        });
        if tasks.len() >= 40 {
            tasks.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }

    // The same inside the process, to the poll: the request is dropped after its n-th
    // wait (reading the session, BEGIN, each statement), for every n up to 60.
    let router = plotcare::app(app.state.clone());
    for i in 0..1000usize {
        let request = axum::http::Request::get("/tickets")
            .header("host", &host)
            .header("cookie", &cookie)
            .extension(axum::extract::ConnectInfo(
                "127.0.0.1:9".parse::<std::net::SocketAddr>().unwrap(),
            ))
            .body(axum::body::Body::empty())
            .unwrap();
        let mut response = std::pin::pin!(tower::ServiceExt::oneshot(router.clone(), request));
        let waits = 1 + i % 60;
        for _ in 0..waits {
            tokio::select! {
                biased;
                _ = &mut response => break,
                _ = tokio::task::yield_now() => {}
            }
        }
    }

    // Connections go back to the pool in the background; give them a moment.
    let mut stuck = 0;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stuck = idle_in_transaction(&app).await;
        if stuck == 0 {
            break;
        }
    }
    assert_eq!(stuck, 0, "connections left idle in transaction");

    // Every connection of the pool serves the requests after them.
    let mut failures = Vec::new();
    for _ in 0..40 {
        let (status, _) = client.page("/tickets").await;
        if status != StatusCode::OK {
            failures.push(status);
        }
    }
    assert!(
        failures.is_empty(),
        "requests failed after the cancellations: {failures:?}"
    );
    // The session store's writes (outside any tenant transaction) are not caught in one.
    assert_eq!(idle_in_transaction(&app).await, 0);
}

#[tokio::test]
async fn connections_sending_a_byte_at_a_time_are_closed_after_the_header_read_timeout() {
    use tokio::io::AsyncReadExt;
    let app = TestApp::spawn_with(Options {
        env: vec![("HEADER_READ_TIMEOUT_SECS", "1".into())],
        ..Default::default()
    })
    .await;
    let host = app.addr.trim_start_matches("http://").to_owned();

    // 50 clients trickle a request's headers, a byte every 100 ms.
    let mut slow = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let host = host.clone();
        slow.spawn(async move {
            let mut stream = TcpStream::connect(&host).await.unwrap();
            let started = std::time::Instant::now();
            for byte in b"GET /healthz HTTP/1.1\r\nHost: slow.example\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n" {
                if stream.write_all(&[*byte]).await.is_err() {
                    return started.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                // Closed by the server: reading gives end-of-file (or an error).
                let mut buf = [0u8; 256];
                if let Ok(Ok(n)) =
                    tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await
                {
                    assert!(n == 0 || buf.starts_with(b"HTTP/1.1 408"), "answered {:?}", &buf[..n]);
                    return started.elapsed();
                }
            }
            panic!("a connection trickling its headers for {:?} was never closed", started.elapsed());
        });
    }

    // Meanwhile /healthz answers.
    let client = app.client();
    for _ in 0..10 {
        let (status, _) = client.page("/healthz").await;
        assert_eq!(status, StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while let Some(closed_after) = slow.join_next().await {
        let closed_after = closed_after.unwrap();
        assert!(
            closed_after < Duration::from_secs(5),
            "closed after {closed_after:?}"
        );
    }
}
