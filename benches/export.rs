//! The data export at scale: loads a tenant with N tickets and 3N comments
//! (N from EXPORT_BENCH_TICKETS, default 1,000,000), runs the export (release
//! build), and prints the time, rows per second and peak RSS, beside a
//! `COPY (SELECT ...) TO STDOUT (FORMAT csv)` of the same rows as the floor.
//!
//! Ids are time-ordered, as the app's are (UUIDv7): id order is insertion order.
//!
//! Run: `EXPORT_BENCH_TICKETS=100000 cargo bench --bench export` (PostgreSQL on 127.0.0.1:5432).
//! BENCH_KEEP_DB=1 keeps the loaded database afterwards, to look at query plans;
//! EXPORT_BENCH_SHEET_ROWS=300001 gives sheets of 300,000 rows (a smaller export of the same shape);
//! EXPORT_BENCH_RUNS=3 exports the loaded data three times, in this one process: after each
//! run it prints that run's peak resident memory (VmHWM, reset before the run), the
//! process's peak so far, and the memory still resident after the run (VmRSS).
//! The process runs with MALLOC_ARENA_MAX=2, as the Procfile's processes do (it starts
//! itself again with it when it is unset: glibc reads it only at start-up).

#[path = "../tests/it/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::Instant;

use common::{Options, TestApp};
use futures_util::StreamExt;
use plotcare::{
    auth::cross_tenant::tenant_by_slug,
    export::{self, Settings},
};
use uuid::Uuid;

/// A line of /proc/self/status in MB (VmHWM: peak resident memory since the last reset;
/// VmRSS: resident now).
fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

fn rss_mb() -> f64 {
    status_mb("VmRSS:")
}

/// Starts measuring the peak afresh (Linux: writing 5 to clear_refs resets VmHWM).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() {
    // As in the Procfile: glibc reads MALLOC_ARENA_MAX when the process starts, so set it
    // by starting this benchmark again with it.
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args(std::env::args_os().skip(1))
            .env("MALLOC_ARENA_MAX", "2")
            .status()
            .expect("the benchmark starts again with MALLOC_ARENA_MAX=2");
        std::process::exit(status.code().unwrap_or(1));
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench());
}

async fn bench() {
    let n: i64 = std::env::var("EXPORT_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    // EXPORT_BENCH_TEMPLATE=<database kept by BENCH_KEEP_DB> copies that database's
    // data instead of loading afresh (minutes instead of ten at 1,000,000 tickets).
    let template = std::env::var("EXPORT_BENCH_TEMPLATE").ok();
    let app = TestApp::spawn_with(Options {
        template: template.clone(),
        ..Options::default()
    })
    .await;
    let loading = Instant::now();
    let (tenant, admin) = match template {
        Some(_) => {
            let tenant = tenant_by_slug(&app.pool, "bench")
                .await
                .unwrap()
                .expect("the kept database has the tenant bench");
            let admin: Uuid = sqlx::query_scalar(
                "SELECT id FROM users WHERE tenant_id = $1 AND email = 'admin@bench.test'",
            )
            .bind(tenant.uuid())
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
            (tenant, admin)
        }
        None => {
            let acme = app.create_tenant("bench").await;
            load_tickets(&app, acme.id, acme.admin.id, n).await;
            (acme.tenant, acme.admin.id)
        }
    };
    // As autovacuum leaves a live database: the visibility map set, so the primary keys
    // answer index-only scans.
    sqlx::raw_sql("VACUUM (ANALYZE) tickets, ticket_comments")
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let tenant_id = tenant.uuid();
    println!(
        "loaded {n} tickets and {} comments in {:.1} s",
        3 * n,
        loading.elapsed().as_secs_f64()
    );

    // The floor: the same rows as CSV straight out of PostgreSQL.
    let copy = Instant::now();
    let mut copied = 0usize;
    let mut conn = app.admin_pool.acquire().await.unwrap();
    for table in ["tickets", "ticket_comments"] {
        let mut out = conn
            .copy_out_raw(&format!(
                "COPY (SELECT * FROM {table} WHERE tenant_id = '{}') TO STDOUT (FORMAT csv)",
                tenant_id
            ))
            .await
            .unwrap();
        while let Some(chunk) = out.next().await {
            copied += chunk.unwrap().len();
        }
    }
    drop(conn);
    let copy_secs = copy.elapsed().as_secs_f64();

    // EXPORT_BENCH_RUNS exports the same data several times (the machine's noise shows).
    let runs: usize = std::env::var("EXPORT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    println!(
        "MALLOC_ARENA_MAX={}; resident before the exports: {:.0} MB (peak so far {:.0} MB)",
        std::env::var("MALLOC_ARENA_MAX").unwrap_or_default(),
        rss_mb(),
        peak_rss_mb()
    );
    let mut process_peak = 0f64;
    println!(
        "| what | rows | time (s) | rows/s | size (MB) | peak RSS of the run (MB) | process peak so far (MB) | RSS after (MB) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    println!(
        "| COPY ... TO STDOUT (FORMAT csv), floor | {} | {copy_secs:.1} | {:.0} | {:.1} | | | |",
        4 * n,
        (4 * n) as f64 / copy_secs,
        copied as f64 / 1_048_576.0
    );
    for _ in 0..runs.max(1) {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO exports (tenant_id, id, kind, requested_by) VALUES ($1, $2, 'data', $3)",
        )
        .bind(tenant_id)
        .bind(id)
        .bind(admin)
        .execute(&app.admin_pool)
        .await
        .unwrap();
        // The process's peak before the reset counts towards its peak so far.
        process_peak = process_peak.max(peak_rss_mb());
        reset_peak_rss();
        let before = rss_mb();
        let started = Instant::now();
        // EXPORT_BENCH_SHEET_ROWS makes sheets shorter, to see a big export's shape at a smaller size.
        let mut settings = Settings::default();
        if let Some(rows) = std::env::var("EXPORT_BENCH_SHEET_ROWS")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            settings.max_sheet_rows = rows;
        }
        // EXPORT_LANES as the app reads it.
        if let Some(lanes) = std::env::var("EXPORT_LANES")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            settings.lanes = lanes;
        }
        export::run(&app.state, tenant, id, &settings)
            .await
            .unwrap();
        let secs = started.elapsed().as_secs_f64();
        let (rows, size): (i64, i64) = sqlx::query_as(
            "SELECT rows_done, size_bytes FROM exports WHERE id = $1 AND status = 'done'",
        )
        .bind(id)
        .fetch_one(&app.admin_pool)
        .await
        .expect("the export finished");
        let run_peak = peak_rss_mb();
        process_peak = process_peak.max(run_peak);
        println!(
            "| data export (xlsx in zip) | {rows} | {secs:.1} | {:.0} | {:.1} | {run_peak:.0} (from {before:.0} before) | {process_peak:.0} | {:.0} |",
            rows as f64 / secs,
            size as f64 / 1_048_576.0,
            rss_mb()
        );
    }
    if std::env::var_os("BENCH_KEEP_DB").is_some() {
        println!(
            "\nKept the database {} (BENCH_KEEP_DB); tenant {}.",
            app.db_name, tenant_id
        );
        std::mem::forget(app);
    }
}

/// N tickets with three comments each, for one tenant.
async fn load_tickets(app: &TestApp, tenant: Uuid, admin: Uuid, n: i64) {
    let sql = format!(
        "INSERT INTO schemes (tenant_id, id, name, reference_code) VALUES ('{t}', '{s}', 'Meadow View', 'MV01');
         INSERT INTO contracts (tenant_id, id, scheme_id, name) VALUES ('{t}', '{c}', '{s}', 'Phase 1');
         INSERT INTO plots (tenant_id, id, scheme_id, contract_id, plot_number) VALUES ('{t}', '{p}', '{s}', '{c}', '1');
         INSERT INTO tickets (tenant_id, id, number, plot_id, scheme_id, contract_id, title, description, category,
                              reported_via, reported_at, priority, created_by)
         SELECT '{t}', ('00000000-0000-7000-8000-' || lpad(to_hex(g), 12, '0'))::uuid, g, '{p}', '{s}', '{c}', 'Dripping tap ' || g,
                'The kitchen tap drips when closed; reported by the homeowner on the phone.', 'plumbing', 'phone',
                now() - g * interval '1 minute', 'medium', '{u}'
           FROM generate_series(1, {n}) g;
         INSERT INTO ticket_comments (tenant_id, id, ticket_id, author_user_id, visibility, body)
         SELECT t.tenant_id, ('00000001-0000-7000-8000-' || lpad(to_hex(3 * t.number + k), 12, '0'))::uuid, t.id, '{u}', 'internal', 'Called the homeowner, visit booked for Tuesday. Note ' || k
           FROM tickets t, generate_series(1, 3) k WHERE t.tenant_id = '{t}';
         ANALYZE;",
        t = tenant,
        s = Uuid::now_v7(),
        c = Uuid::now_v7(),
        p = Uuid::now_v7(),
        u = admin,
    );
    sqlx::raw_sql(&sql).execute(&app.admin_pool).await.unwrap();
}
