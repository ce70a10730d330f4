//! A headless Chromium driven over WebDriver (chromedriver + fantoccini).
//!
//! ```ignore
//! let browser = Browser::start().await;
//! browser.run("staff_sign_in", |c| async move {
//!     c.goto(&app.url("/")).await?;
//!     wait_for_text(&c, "Sign in to Plotcare").await?;
//!     Ok(())
//! }).await;
//! ```
//! When the body fails or panics, a screenshot is saved to
//! `target/screenshots/<name>.png` before the test fails.

use std::{
    future::Future,
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use tempfile::TempDir;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long the `wait_for_*` helpers wait.
pub const WAIT: Duration = Duration::from_secs(10);

pub struct Browser {
    pub client: Client,
    driver: Child,
    profile: TempDir,
}

impl Browser {
    /// A desktop-sized window (1280×900).
    pub async fn start() -> Browser {
        Self::launch((1280, 900)).await
    }

    /// A wide desktop window (1440×900).
    pub async fn start_desktop() -> Browser {
        Self::launch((1440, 900)).await
    }

    /// A phone-sized screen (390×844). Chromium's windows are never narrower than
    /// 500 px, so the page's viewport is emulated at the phone's size.
    pub async fn start_phone() -> Browser {
        Self::launch_with((390, 844), true).await
    }

    async fn launch(size: (u32, u32)) -> Browser {
        Self::launch_with(size, false).await
    }

    async fn launch_with((width, height): (u32, u32), phone: bool) -> Browser {
        assert!(
            Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists(),
            "browser tests need Chromium and chromedriver: run `apt-get install -y chromium chromium-driver` (CI installs them)"
        );
        let profile = tempfile::tempdir().expect("profile dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own process group, so Drop can stop chromedriver and the browsers it started together.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let driver = command.spawn().expect("start chromedriver");
        let mut browser_guard = DriverGuard(Some(driver));

        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "chrome".into());
        let mut options = serde_json::json!({ "binary": CHROMIUM, "args": args });
        if phone {
            options["mobileEmulation"] = serde_json::json!({
                "deviceMetrics": { "width": width, "height": height, "pixelRatio": 1.0, "touch": false }
            });
        }
        capabilities.insert("goog:chromeOptions".into(), options);
        // chromedriver speaks plain HTTP on loopback: no TLS stack needed.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("start a Chromium session");
        // The window size includes the browser's own frame: grow the window until the page
        // itself (the viewport) has the size asked for.
        if let Ok(inner) = client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            && let Some([w, h]) = inner.as_array().map(|a| {
                [0, 1].map(|i| a.get(i).and_then(|v| v.as_u64()).unwrap_or_default() as u32)
            })
            && (w, h) != (width, height)
        {
            let _ = client
                .set_window_size(2 * width - w.min(width), 2 * height - h.min(height))
                .await;
        }
        let driver = browser_guard.0.take().unwrap();
        Browser {
            client,
            driver,
            profile,
        }
    }

    /// Runs a test body with the browser. If it returns an error or panics,
    /// saves a screenshot to target/screenshots/<name>.png, then fails.
    pub async fn run<F, Fut>(self, name: &str, body: F)
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let outcome = AssertUnwindSafe(body(self.client.clone()))
            .catch_unwind()
            .await;
        let failed = !matches!(outcome, Ok(Ok(())));
        if failed {
            match self.screenshot(name).await {
                Ok(path) => eprintln!("screenshot of the failure: {}", path.display()),
                Err(e) => eprintln!("could not save a screenshot: {e:#}"),
            }
        }
        self.close().await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("browser test {name} failed: {e:#}"),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Saves what the browser shows to target/screenshots/<name>.png.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        let png = self.client.screenshot().await?;
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// Ends the WebDriver session (closing Chromium); Drop then stops chromedriver.
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.clone().close()).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        stop_group(&mut self.driver);
        let _ = &self.profile;
    }
}

/// Stops chromedriver if start-up fails half way.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            stop_group(child);
        }
    }
}

/// Kills the process group led by `child` (chromedriver and its browsers), then reaps it.
fn stop_group(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// The visible text of the page.
pub async fn body_text(c: &Client) -> anyhow::Result<String> {
    Ok(c.find(Locator::Css("body")).await?.text().await?)
}

/// Waits until the page shows `text`.
pub async fn wait_for_text(c: &Client, text: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if let Ok(body) = body_text(c).await
            && body.contains(text)
        {
            return Ok(());
        }
        if started.elapsed() > WAIT {
            let body = body_text(c).await.unwrap_or_default();
            anyhow::bail!("the page never showed {text:?}; it shows:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the browser is at `path` (e.g. "/sign-in").
pub async fn wait_for_path(c: &Client, path: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let url = c.current_url().await?;
        if url.path() == path {
            return Ok(());
        }
        if started.elapsed() > WAIT {
            anyhow::bail!("expected to be at {path}, but at {url}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types `value` into the field matching the CSS selector.
pub async fn fill(c: &Client, css: &str, value: &str) -> anyhow::Result<()> {
    let field = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await?;
    field.clear().await?;
    field.send_keys(value).await?;
    Ok(())
}

/// Clicks the element matching the CSS selector.
pub async fn click(c: &Client, css: &str) -> anyhow::Result<()> {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await?
        .click()
        .await?;
    Ok(())
}
