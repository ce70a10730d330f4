//! Page latency at the server: starts the real app (release build) on a
//! loopback port against its own fresh database, loads a tenant of realistic
//! size, and times sequential requests to each page.
//!
//! Run: `cargo bench --bench pages` (PostgreSQL on 127.0.0.1:5432). The
//! figures in the README come from this.

#[path = "../tests/it/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::{Duration, Instant};

use common::{TestApp, TestClient};
use plotcare::domain::Role;

const WARM_UP: usize = 30;
const SAMPLES: usize = 400;

struct Figures {
    page: String,
    mean: Duration,
    p50: Duration,
    p95: Duration,
    p99: Duration,
}

async fn measure(client: &TestClient, page: &str, path: &str, bearer: Option<&str>) -> Figures {
    let request = |c: &TestClient| {
        let mut r = c.http.get(c.url(path));
        if let Some(token) = bearer {
            r = r.bearer_auth(token);
        }
        r
    };
    for _ in 0..WARM_UP {
        let r = request(client).send().await.unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.bytes().await.unwrap();
    }
    let mut times = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let r = request(client).send().await.unwrap();
        r.bytes().await.unwrap();
        times.push(start.elapsed());
    }
    times.sort();
    let pick = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
    Figures {
        page: page.into(),
        mean: times.iter().sum::<Duration>() / times.len() as u32,
        p50: pick(0.50),
        p95: pick(0.95),
        p99: pick(0.99),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let app = TestApp::spawn().await;
    // Another tenant of the same size first, so every query must find its tenant's rows among others.
    for slug in ["other", "bench"] {
        let tenant = app.create_tenant(slug).await;
        load_tenant(&app, tenant.id).await;
    }
    let bench = sqlx::query_scalar::<_, uuid::Uuid>("SELECT id FROM tenants WHERE slug = 'bench'")
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
    let admin = common::TestUser {
        id: sqlx::query_scalar("SELECT id FROM users WHERE email = 'admin@bench.test'")
            .fetch_one(&app.admin_pool)
            .await
            .unwrap(),
        email: "admin@bench.test".into(),
        password: "bench admin password".into(),
        role: Role::Admin,
    };
    let admin_client = app.sign_in_admin(&admin).await;
    let token = "pct_benchmarktokenbenchmarktokenbenchmarktokenbenchmarktoken0000";
    sqlx::query("INSERT INTO api_tokens (tenant_id, id, user_id, name, token_hash) VALUES ($1, $2, $3, 'bench', $4)")
        .bind(bench)
        .bind(uuid::Uuid::now_v7())
        .bind(admin.id)
        .bind(plotcare::auth::tokens::hash(token))
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let oldest: (time::OffsetDateTime, uuid::Uuid) = sqlx::query_as(
        "SELECT occurred_at, id FROM audit_events WHERE tenant_id = $1 ORDER BY occurred_at, id OFFSET 100 LIMIT 1",
    )
    .bind(bench)
    .fetch_one(&app.admin_pool)
    .await
    .unwrap();
    let deep = format!(
        "/admin/audit?before={},{}",
        oldest
            .0
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
            .replace('+', "%2B"),
        oldest.1
    );
    let anonymous = app.client();

    let mut rows = Vec::new();
    rows.push(measure(&anonymous, "GET /healthz", "/healthz", None).await);
    rows.push(measure(&anonymous, "GET /sign-in (anonymous)", "/sign-in", None).await);
    rows.push(measure(&admin_client, "GET / (home)", "/", None).await);
    rows.push(measure(&admin_client, "GET /users (1,000 users)", "/users", None).await);
    rows.push(
        measure(
            &admin_client,
            "GET /admin/audit (first page of 200,000)",
            "/admin/audit",
            None,
        )
        .await,
    );
    rows.push(measure(&admin_client, "GET /admin/audit (last page)", &deep, None).await);
    rows.push(
        measure(
            &admin_client,
            "GET /admin/audit?action=user. (filtered)",
            "/admin/audit?action=user.",
            None,
        )
        .await,
    );
    rows.push(
        measure(
            &anonymous,
            "GET /api/v1/me (API token)",
            "/api/v1/me",
            Some(token),
        )
        .await,
    );

    println!("\n| page | mean ms | p50 ms | p95 ms | p99 ms |\n|---|---:|---:|---:|---:|");
    for f in rows {
        println!(
            "| {} | {} | {} | {} | {} |",
            f.page,
            ms(f.mean),
            ms(f.p50),
            ms(f.p95),
            ms(f.p99)
        );
    }
    println!(
        "\n{SAMPLES} sequential requests each after {WARM_UP} warm-up, over loopback; two tenants of 1,000 users and 200,000 audit events each."
    );
}

/// 1,000 users and 200,000 audit events for a tenant, by set-based SQL (as a superuser).
async fn load_tenant(app: &TestApp, tenant: uuid::Uuid) {
    sqlx::query(
        "INSERT INTO users (tenant_id, id, email, name, role)
         SELECT $1, gen_random_uuid(), 'user' || g || '@' || (SELECT slug FROM tenants WHERE id = $1) || '.test',
                'User ' || g, (ARRAY['staff','emergency','admin'])[1 + g % 3]
           FROM generate_series(1, 1000) g",
    )
    .bind(tenant)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO audit_events (tenant_id, id, occurred_at, actor_user_id, action, record_type, record_id, changes, ip, request_id)
         SELECT $1, gen_random_uuid(), now() - (g || ' seconds')::interval, u.ids[1 + g % 1000],
                (ARRAY['user.created','user.role_changed','session.signed_in','session.signed_out','api_token.created'])[1 + g % 5],
                'user', u.ids[1 + g % 1000], '{\"role\": {\"before\": \"staff\", \"after\": \"admin\"}}', '127.0.0.1', gen_random_uuid()::text
           FROM generate_series(1, 200000) g,
                (SELECT array_agg(id) AS ids FROM users WHERE tenant_id = $1 AND email LIKE 'user%') u",
    )
    .bind(tenant)
    .execute(&app.admin_pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE")
        .execute(&app.admin_pool)
        .await
        .unwrap();
}
