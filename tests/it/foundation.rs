//! The plumbing every request goes through: health checks, the 404 page,
//! request ids and security headers, static files, compression, body limits.

use std::{collections::HashMap, time::Duration};

use plotcare::{AppState, config::Config, media::MediaStore};
use reqwest::{StatusCode, header};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use crate::common::{APP_ROLE, Options, TestApp};

#[tokio::test]
async fn health_and_readiness_answer_ok() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let (status, body) = client.page("/healthz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ok"));
    let (status, body) = client.page("/readyz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready"));
}

#[tokio::test]
async fn an_unknown_address_shows_the_styled_not_found_page() {
    let app = TestApp::spawn().await;
    let response = app.client().get("/no/such/page?x=1").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let body = response.text().await.unwrap();
    assert!(body.contains("Page not found"), "{body}");
    assert!(body.contains("<link rel=\"stylesheet\" href=\"/static/app.css\">"));
    for internal in [
        "AppError",
        "NotFound",
        "panicked",
        "src/",
        "sqlx",
        "/no/such/page",
    ] {
        assert!(!body.contains(internal), "the 404 page shows {internal:?}");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_the_security_headers() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let mut ids = Vec::new();
    for path in [
        "/healthz",
        "/sign-in",
        "/",
        "/no-such-page",
        "/static/app.css",
        "/media/download?key=x",
    ] {
        let response = client.get(path).await;
        let h = response.headers();
        let id = h
            .get("x-request-id")
            .unwrap_or_else(|| panic!("{path}: no x-request-id"))
            .to_str()
            .unwrap()
            .to_owned();
        assert!(!id.is_empty());
        ids.push(id);

        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        let script_src = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .expect("script-src");
        assert!(!script_src.contains("'unsafe-inline'"), "{path}: {csp}");
        assert!(
            csp.split(';').any(|d| d.trim() == "frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert!(h.contains_key(header::REFERRER_POLICY), "{path}");
        assert!(
            !h.contains_key(header::STRICT_TRANSPORT_SECURITY),
            "{path}: HSTS without TLS"
        );
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6, "request ids are unique");

    // A request id sent by the caller (e.g. Heroku's router) is kept.
    let response = client
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "abc-123");
}

#[tokio::test]
async fn behind_tls_responses_ask_for_https_only() {
    let app = TestApp::spawn_with(Options {
        env: vec![
            ("BEHIND_TLS", "true".into()),
            (
                "SECRET_KEY",
                "a-production-like-secret-key-0123456789".into(),
            ),
            ("APP_BASE_URL", "https://plotcare.example".into()),
        ],
        ..Default::default()
    })
    .await;
    for path in ["/healthz", "/sign-in", "/no-such-page"] {
        let response = app.client().get(path).await;
        let hsts = response
            .headers()
            .get(header::STRICT_TRANSPORT_SECURITY)
            .unwrap_or_else(|| panic!("{path}: no HSTS"));
        assert!(hsts.to_str().unwrap().contains("max-age="), "{path}");
    }
}

#[tokio::test]
async fn the_stylesheet_is_served_cached_and_compressed_on_request() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let plain = client.get("/static/app.css").await;
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(
        plain.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert!(
        plain.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    assert!(!plain.headers().contains_key(header::CONTENT_ENCODING));
    let plain = plain.bytes().await.unwrap();
    assert!(std::str::from_utf8(&plain).unwrap().contains('{'));

    let gzipped = client
        .http
        .get(app.url("/static/app.css"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gzipped.status(), StatusCode::OK);
    assert_eq!(gzipped.headers()[header::CONTENT_ENCODING], "gzip");
    assert!(
        gzipped.headers()[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let gzipped = gzipped.bytes().await.unwrap();
    assert_eq!(&gzipped[..2], &[0x1f, 0x8b], "a gzip stream");
    assert!(gzipped.len() < plain.len());
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_as_too_large() {
    let app = TestApp::spawn_with(Options {
        env: vec![("MAX_UPLOAD_MB", "1".into())],
        ..Default::default()
    })
    .await;
    let client = app.client();
    let token = client.csrf_token().await;
    let big = format!(
        "email=a%40b.test&password={}&csrf_token={token}",
        "x".repeat(3 * 1024 * 1024)
    );

    // With its length announced.
    let response = client
        .http
        .post(app.url("/sign-in"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // And streamed in chunks, its length unknown until the end.
    let status = post_chunked(
        &app.addr,
        "/sign-in",
        &client.cookie_header(),
        big.as_bytes(),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(app.count("SELECT count(*) FROM user_sessions").await, 0);
}

/// Sends a chunked POST by hand and returns the response's status code.
async fn post_chunked(addr: &str, path: &str, cookie: &str, body: &[u8]) -> u16 {
    let host = addr.trim_start_matches("http://");
    let stream = TcpStream::connect(host).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nCookie: {cookie}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let body = body.to_vec();
    // Write in the background: the server may answer (and stop reading) before the body ends.
    let writer = tokio::spawn(async move {
        write.write_all(head.as_bytes()).await?;
        for chunk in body.chunks(64 * 1024) {
            write
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            write.write_all(chunk).await?;
            write.write_all(b"\r\n").await?;
        }
        write.write_all(b"0\r\n\r\n").await?;
        Ok::<_, std::io::Error>(write)
    });
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while !response.windows(2).any(|w| w == b"\r\n") {
        match tokio::time::timeout(Duration::from_secs(10), read.read(&mut buf))
            .await
            .expect("an answer")
        {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    writer.abort();
    let line = String::from_utf8_lossy(&response);
    line.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {line:?}"))
}

/// The app on its own port, with a pool pointing at `database_url`.
async fn serve_with_database(
    database_url: String,
) -> (String, tempfile::TempDir, tokio::task::JoinHandle<()>) {
    let media_dir = tempfile::tempdir().unwrap();
    let env = HashMap::from([
        ("DATABASE_URL", database_url),
        ("MEDIA_DIR", media_dir.path().display().to_string()),
        ("DATABASE_POOL_SIZE", "2".to_owned()),
    ]);
    let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
    let pool = plotcare::db::pool(&config).unwrap();
    let media = MediaStore::from_config(&config.media, &config.secret_key)
        .await
        .unwrap();
    let state = AppState::new(config, pool, media);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let limits = plotcare::ServeLimits::from(&*state.config);
        let _ = plotcare::serve(listener, plotcare::app(state), limits).await;
    });
    (addr, media_dir, server)
}

#[tokio::test]
async fn readiness_fails_while_the_database_is_away_and_recovers_when_it_returns() {
    let app = TestApp::spawn().await;
    // A port with nothing listening yet: the database is "away".
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let (addr, _media, server) = serve_with_database(format!(
        "postgres://{APP_ROLE}@127.0.0.1:{port}/{}",
        app.db_name
    ))
    .await;
    let client = crate::common::TestClient::new(&addr);

    // The process is up, but not ready.
    assert_eq!(client.get("/healthz").await.status(), StatusCode::OK);
    let (status, body) = client.page("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!body.contains("127.0.0.1"), "{body}");

    // The database comes back on that port (a relay to the real server): the same pool reconnects.
    let relay = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let relay = tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = relay.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect("127.0.0.1:5432").await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    let (status, body) = client.page("/readyz").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "ready"));

    server.abort();
    relay.abort();
}
