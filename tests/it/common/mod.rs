//! The test harness: each test gets a fresh database (owned by a
//! non-superuser role, so row-level security applies as on Heroku), the real
//! app on a random loopback port, and clients that keep cookies.

#![allow(dead_code)]

pub mod browser;
pub mod corpus;
pub mod proxy;
pub mod s3;

use std::collections::HashMap;

use plotcare::{
    AppState,
    auth::{TenantTx, cross_tenant, password},
    config::Config,
    db::users::NewUser,
    domain::{Email, NewPassword, Role, Slug},
    media::MediaStore,
};
use reqwest::{StatusCode, redirect::Policy};
use sqlx::{PgPool, postgres::PgPoolOptions};
use uuid::Uuid;

/// Superuser connection used only to create and drop test databases (and to look behind RLS in assertions).
fn admin_url(db: &str) -> String {
    let base = std::env::var("TEST_DATABASE_ADMIN_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    format!("{base}/{db}")
}

/// The role the app connects as in tests: owns its tables, is not a superuser, cannot bypass RLS.
pub const APP_ROLE: &str = "plotcare_app";

fn app_url(db: &str) -> String {
    format!("postgres://{APP_ROLE}@127.0.0.1:5432/{db}")
}

pub struct TestApp {
    /// e.g. "http://127.0.0.1:41234"
    pub addr: String,
    /// Connected as the app's role: row-level security applies.
    pub pool: PgPool,
    /// Connected as a superuser to the same database: sees every row (for assertions only).
    pub admin_pool: PgPool,
    pub state: AppState,
    pub db_name: String,
    pub media_dir: tempfile::TempDir,
    /// With [`Options::through_proxy`]: the cuttable way from the app to its database.
    pub proxy: Option<proxy::Proxy>,
    server: tokio::task::JoinHandle<()>,
}

/// Options for [`TestApp::spawn_with`].
#[derive(Default)]
pub struct Options {
    /// Extra environment settings, e.g. ("SESSION_IDLE_MINUTES", "1").
    pub env: Vec<(&'static str, String)>,
    /// Use this media store instead of a local directory (e.g. an S3 store on a test server).
    pub media: Option<MediaStore>,
    /// Copy this database (a benchmark's kept data) instead of starting empty.
    pub template: Option<String>,
    /// Connect the app to PostgreSQL through a proxy the test can cut ([`TestApp::proxy`]).
    pub through_proxy: bool,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Options::default()).await
    }

    pub async fn spawn_with(options: Options) -> TestApp {
        if std::env::var("TEST_LOG").is_ok() {
            plotcare::telemetry::init(plotcare::config::LogFormat::Pretty);
        }
        let db_name = format!("plotcare_test_{}", Uuid::new_v4().simple());
        let server_admin = PgPoolOptions::new()
            .max_connections(1)
            .connect(&admin_url("postgres"))
            .await
            .expect("PostgreSQL on 127.0.0.1:5432 (see README)");
        sqlx::query(&format!(
            "DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ))
        .execute(&server_admin)
        .await
        .expect("create app role");
        let template = options
            .template
            .map(|t| format!(" TEMPLATE {t}"))
            .unwrap_or_default();
        sqlx::query(&format!(
            "CREATE DATABASE {db_name}{template} OWNER {APP_ROLE}"
        ))
        .execute(&server_admin)
        .await
        .expect("create test database");
        server_admin.close().await;

        let media_dir = tempfile::tempdir().expect("temp dir");
        let proxy = if options.through_proxy {
            Some(proxy::Proxy::start("127.0.0.1:5432".parse().unwrap()).await)
        } else {
            None
        };
        let database_url = match &proxy {
            Some(p) => format!("postgres://{APP_ROLE}@{}/{db_name}", p.addr),
            None => app_url(&db_name),
        };
        let mut env: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), database_url),
            ("MEDIA_DIR".into(), media_dir.path().display().to_string()),
            ("DATABASE_POOL_SIZE".into(), "5".into()),
        ]);
        for (k, v) in options.env {
            env.insert(k.into(), v);
        }
        let config = Config::from_lookup(|k| env.get(k).cloned()).expect("test config");
        let pool = plotcare::db::pool(&config).expect("pool");
        plotcare::migrate(&pool).await.expect("migrate");
        let media = match options.media {
            Some(m) => m,
            None => MediaStore::from_config(&config.media, &config.secret_key)
                .await
                .expect("media"),
        };
        let state = AppState::new(config, pool.clone(), media);

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let app = plotcare::app(state.clone());
        let limits = plotcare::ServeLimits::from(&*state.config);
        let server = tokio::spawn(async move {
            let _ = plotcare::serve(listener, app, limits).await;
        });
        let admin_pool = PgPoolOptions::new()
            .max_connections(2)
            .connect(&admin_url(&db_name))
            .await
            .expect("admin pool");
        TestApp {
            addr,
            pool,
            admin_pool,
            state,
            db_name,
            media_dir,
            proxy,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.addr, path)
    }

    /// A new browser-like client with its own cookie jar (not signed in).
    pub fn client(&self) -> TestClient {
        TestClient::new(&self.addr)
    }

    /// A tenant with an admin whose password is known.
    pub async fn create_tenant(&self, slug: &str) -> TestTenant {
        let password = format!("{slug} admin password");
        let hash = password::hash(&NewPassword::parse("p", &password).unwrap())
            .await
            .unwrap();
        let email = format!("admin@{slug}.test");
        let (tenant, admin_id) = cross_tenant::create_tenant(
            &self.pool,
            &Slug::parse(slug).unwrap(),
            &format!("{slug} Homes"),
            &Email::parse("e", &email).unwrap(),
            "Ada Admin",
            &hash,
        )
        .await
        .expect("create tenant");
        TestTenant {
            id: tenant.uuid(),
            tenant,
            slug: slug.into(),
            admin: TestUser {
                id: admin_id,
                email,
                password,
                role: Role::Admin,
            },
        }
    }

    /// A subcontractor company (a contact) in the tenant.
    pub async fn create_company(&self, tenant: &TestTenant, name: &str) -> Uuid {
        let id = Uuid::now_v7();
        let mut tx = TenantTx::begin(&self.pool, tenant.tenant).await.unwrap();
        sqlx::query("INSERT INTO contacts (tenant_id, id, kind, name) VALUES ($1, $2, 'subcontractor_company', $3)")
            .bind(tx.tenant_id())
            .bind(id)
            .bind(name)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// A scheme in the tenant.
    pub async fn create_scheme(&self, tenant: &TestTenant, name: &str) -> Uuid {
        let id = Uuid::now_v7();
        let mut tx = TenantTx::begin(&self.pool, tenant.tenant).await.unwrap();
        sqlx::query("INSERT INTO schemes (tenant_id, id, name) VALUES ($1, $2, $3)")
            .bind(tx.tenant_id())
            .bind(id)
            .bind(name)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    }

    /// Restricts a staff user to one scheme (they see only its records and tickets).
    pub async fn restrict_to_scheme(&self, tenant: &TestTenant, user: &TestUser, scheme: Uuid) {
        sqlx::query("UPDATE users SET scheme_restricted = true WHERE id = $1")
            .bind(user.id)
            .execute(&self.admin_pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO user_schemes (tenant_id, user_id, scheme_id) VALUES ($1, $2, $3)")
            .bind(tenant.id)
            .bind(user.id)
            .bind(scheme)
            .execute(&self.admin_pool)
            .await
            .unwrap();
    }

    /// A user with a known password. `company` is required for subcontractors.
    pub async fn create_user(
        &self,
        tenant: &TestTenant,
        role: Role,
        company: Option<Uuid>,
        company_admin: bool,
    ) -> TestUser {
        let n = Uuid::new_v4().simple().to_string();
        let email = format!("{}-{}@{}.test", role.as_str(), &n[..8], tenant.slug);
        let password = format!("{} test password {}", role.as_str(), &n[..6]);
        let hash = password::hash(&NewPassword::parse("p", &password).unwrap())
            .await
            .unwrap();
        let parsed = Email::parse("e", &email).unwrap();
        let name = format!("{} {}", role.label(), &n[..4]);
        let mut tx = TenantTx::begin(&self.pool, tenant.tenant).await.unwrap();
        let id = plotcare::auth::cross_tenant::accounts::add_person(
            &mut tx,
            &NewUser {
                email: &parsed,
                name: &name,
                role,
                company_id: company,
                is_company_admin: company_admin,
                password_hash: Some(&hash),
            },
        )
        .await
        .unwrap()
        .expect("unique email");
        tx.commit().await.unwrap();
        TestUser {
            id,
            email,
            password,
            role,
        }
    }

    /// Enrols a user in MFA directly in the database; returns the TOTP secret.
    pub async fn enrol_mfa(&self, user: &TestUser) -> String {
        let secret = plotcare::auth::mfa::new_secret();
        // The second factor is the person's account's; each joined membership shows it.
        sqlx::query(
            "UPDATE accounts SET mfa_secret = $1, mfa_enabled_at = now(), mfa_last_step = NULL
              WHERE id = (SELECT account_id FROM users WHERE id = $2)",
        )
        .bind(&secret)
        .bind(user.id)
        .execute(&self.admin_pool)
        .await
        .unwrap();
        sqlx::query(
            "UPDATE users SET mfa_enabled_at = now()
              WHERE account_id = (SELECT account_id FROM users WHERE id = $1) AND accepted_at IS NOT NULL",
        )
        .bind(user.id)
        .execute(&self.admin_pool)
        .await
        .unwrap();
        secret
    }

    /// Signs a user in with their password (no second factor). Panics unless it lands.
    pub async fn sign_in(&self, user: &TestUser) -> TestClient {
        let client = self.client();
        let response = client.sign_in(&user.email, &user.password).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {} failed",
            user.email
        );
        client
    }

    /// Signs an admin in fully: enrols MFA if needed, then password and a fresh TOTP code.
    pub async fn sign_in_admin(&self, admin: &TestUser) -> TestClient {
        let secret = self.enrol_mfa(admin).await;
        let client = self.client();
        let response = client.sign_in(&admin.email, &admin.password).await;
        assert_eq!(response.headers()["location"], "/sign-in/code");
        let code = plotcare::auth::mfa::current_code(&secret).unwrap();
        let response = client.post_form("/sign-in/code", &[("code", &code)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()["location"], "/");
        client
    }

    /// Rows of `sql` counted as a superuser (behind RLS).
    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.admin_pool)
            .await
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        let db_name = self.db_name.clone();
        // Drop the database from a separate runtime: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok(pool) = PgPoolOptions::new()
                    .max_connections(1)
                    .connect(&admin_url("postgres"))
                    .await
                {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
                        .execute(&pool)
                        .await;
                }
            });
        })
        .join();
    }
}

pub struct TestTenant {
    pub id: Uuid,
    pub tenant: plotcare::auth::TenantId,
    pub slug: String,
    pub admin: TestUser,
}

#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: Uuid,
    pub email: String,
    pub password: String,
    pub role: Role,
}

/// A client with its own cookie jar that does not follow redirects (so tests can assert them).
#[derive(Clone)]
pub struct TestClient {
    pub http: reqwest::Client,
    pub base: String,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
}

impl TestClient {
    pub fn new(base: &str) -> Self {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(Policy::none())
            // The server closes a kept-alive connection left idle for its header-read
            // timeout (10 s); never reuse one that old, or a request can race the close
            // (seen as IncompleteMessage on a loaded machine).
            .pool_idle_timeout(std::time::Duration::from_secs(4))
            .build()
            .unwrap();
        TestClient {
            http,
            base: base.to_owned(),
            jar,
        }
    }

    /// The Cookie header this client would send (to replay it elsewhere).
    pub fn cookie_header(&self) -> String {
        use reqwest::cookie::CookieStore;
        self.jar
            .cookies(&self.base.parse().unwrap())
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    /// Status and body of a page.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        let status = r.status();
        (status, r.text().await.unwrap())
    }

    /// The session's CSRF token, read from a page's <meta name="csrf-token">.
    pub async fn csrf_token(&self) -> String {
        let (_, body) = self.page("/sign-in").await;
        extract_attr(&body, "<meta name=\"csrf-token\" content=\"").expect("csrf meta tag")
    }

    /// Posts a form with the session's CSRF token added.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let token = self.csrf_token().await;
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        all.push(("csrf_token", &token));
        self.http
            .post(self.url(path))
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    /// Posts a form exactly as given (no CSRF token added).
    pub async fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_form("/sign-in", &[("email", email), ("password", password)])
            .await
    }
}

/// The text after `prefix` up to the next double quote.
pub fn extract_attr(html: &str, prefix: &str) -> Option<String> {
    let start = html.find(prefix)? + prefix.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}
