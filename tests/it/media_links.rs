//! Local media links: without SECRET_KEY each process signs with its own random key
//! (no public development key to forge links with), and only images, PDF and video
//! are ever shown inline, whatever a link asks for.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::stream;
use plotcare::{
    config::Secret,
    domain::Role,
    media::{Download, MediaKey, MediaStore},
};
use reqwest::{StatusCode, header};
use uuid::Uuid;

use crate::{
    comments::create_ticket,
    common::{APP_ROLE, Options, TestApp, TestClient},
    files,
};

/// The key every copy of Plotcare used to sign with when SECRET_KEY was unset.
const OLD_DEVELOPMENT_KEY: &str = "plotcare-development-key-not-for-production-use";

async fn put(store: &MediaStore, key: &MediaKey, content_type: &str, data: &'static [u8]) {
    store
        .put(
            key,
            content_type,
            stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(data))]),
        )
        .await
        .unwrap();
}

/// A link to `key` signed with `secret` by a store of its own.
async fn link_signed_with(secret: &str, key: &MediaKey, download: &Download<'_>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let store = MediaStore::local(dir.path(), Secret::new(secret))
        .await
        .unwrap();
    store
        .download_url(key, download, Duration::from_secs(3600))
        .await
        .unwrap()
}

#[tokio::test]
async fn without_a_secret_key_a_link_forged_with_the_old_development_key_is_refused() {
    // Arrange: an app with no SECRET_KEY (the test harness sets none) holding a file.
    let app = TestApp::spawn().await;
    assert!(app.state.config.secret_key_generated);
    let key = MediaKey::new(Uuid::new_v4(), "tickets");
    put(
        &app.state.media,
        &key,
        "application/pdf",
        b"%PDF-1.4 survey",
    )
    .await;
    let report = Download {
        filename: "survey.pdf",
        content_type: "application/pdf",
        inline: false,
    };

    // Act: a link forged with the old public key, and one the app made.
    let forged = link_signed_with(OLD_DEVELOPMENT_KEY, &key, &report).await;
    let genuine = app
        .state
        .media
        .download_url(&key, &report, Duration::from_secs(300))
        .await
        .unwrap();

    // Assert: only the app's own link downloads the file.
    let (status, body) = app.client().page(&forged).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("survey"));
    assert_eq!(app.client().get(&genuine).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_link_asking_to_show_html_inline_downloads_it_as_an_attachment() {
    // Arrange: an app with a known key, so the test can sign any link it likes.
    let secret = "a-signing-key-this-test-shares-with-the-app";
    let app = TestApp::spawn_with(Options {
        env: vec![("SECRET_KEY", secret.into())],
        ..Default::default()
    })
    .await;
    let key = MediaKey::new(Uuid::new_v4(), "tickets");
    put(
        &app.state.media,
        &key,
        "text/html",
        b"<script>alert(document.cookie)</script>",
    )
    .await;

    for content_type in ["text/html", "image/svg+xml", "application/xhtml+xml"] {
        // Act: a correctly signed link that asks for the bytes shown in the page.
        let link = link_signed_with(
            secret,
            &key,
            &Download {
                filename: "page.html",
                content_type,
                inline: true,
            },
        )
        .await;
        let response = app.client().get(&link).await;

        // Assert: the browser is told to save it, never to show it.
        assert_eq!(response.status(), StatusCode::OK, "{content_type}");
        let disposition = response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap();
        assert!(
            disposition.starts_with("attachment;"),
            "{content_type}: {disposition}"
        );
    }

    // A photo still shows in the page.
    let photo = link_signed_with(
        secret,
        &key,
        &Download {
            filename: "door.jpg",
            content_type: "image/jpeg",
            inline: true,
        },
    )
    .await;
    let response = app.client().get(&photo).await;
    assert!(
        response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("inline;")
    );
}

/// A `plotcare serve` process without SECRET_KEY on `database` and `media`; its log file.
fn serve(port: u16, database: &str, media: &str) -> (Child, tempfile::NamedTempFile) {
    let log = tempfile::NamedTempFile::new().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_plotcare"))
        .arg("serve")
        .env_clear()
        .envs([
            ("PORT", port.to_string().as_str()),
            (
                "DATABASE_URL",
                &format!("postgres://{APP_ROLE}@127.0.0.1:5432/{database}"),
            ),
            ("MEDIA_DIR", media),
            ("RUN_WORKER", "false"),
        ])
        .stdout(Stdio::from(log.reopen().unwrap()))
        .stderr(Stdio::from(log.reopen().unwrap()))
        .spawn()
        .unwrap();
    (child, log)
}

async fn wait_until_up(base: &str, child: &mut Child, log: &tempfile::NamedTempFile) {
    let started = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        let log = std::fs::read_to_string(log.path()).unwrap_or_default();
        assert!(child.try_wait().unwrap().is_none(), "exited:\n{log}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not up:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn two_processes_without_a_secret_key_sign_links_each_with_its_own_key() {
    // Arrange: a file on a ticket, and two processes on the same database and media.
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let ticket = create_ticket(&app, &acme, None).await;
    let user = app.create_user(&acme, Role::Staff, None, false).await;
    let staff = app.sign_in(&user).await;
    let uploaded = files::upload(
        &staff,
        ticket,
        "Survey.pdf",
        "application/pdf",
        &files::pdf(),
        false,
    )
    .await;
    assert_eq!(uploaded.status(), StatusCode::SEE_OTHER);
    let file = files::newest_file(&app, ticket).await;
    let media = app.media_dir.path().display().to_string();
    let mut processes = Vec::new();
    for _ in 0..2 {
        let port = free_port();
        let (mut child, log) = serve(port, &app.db_name, &media);
        let base = format!("http://127.0.0.1:{port}");
        wait_until_up(&base, &mut child, &log).await;
        processes.push((child, log, base));
    }

    // Act: each process gives the same person a link to the same file.
    let mut links = Vec::new();
    for (_, _, base) in &processes {
        let client = TestClient::new(base);
        let signed_in = client.sign_in(&user.email, &user.password).await;
        assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
        let response = client.get(&format!("/tickets/{ticket}/files/{file}")).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        links.push(
            response.headers()[header::LOCATION]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }

    // Assert: the signatures differ; each link works only on the process that made it.
    let signature = |link: &str| link.rsplit_once("signature=").unwrap().1.to_owned();
    assert_ne!(signature(&links[0]), signature(&links[1]));
    let (a, b) = (&processes[0].2, &processes[1].2);
    let get = |base: &str, link: &str| reqwest::get(format!("{base}{link}"));
    assert_eq!(get(a, &links[0]).await.unwrap().status(), StatusCode::OK);
    assert_eq!(get(b, &links[1]).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        get(b, &links[0]).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(a, &links[1]).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );

    // Each says so at start-up.
    for (mut child, log, _) in processes {
        let _ = child.kill();
        let _ = child.wait();
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(text.contains("SECRET_KEY is not set"), "{text}");
        assert!(text.contains("stop working when it restarts"), "{text}");
    }
}
