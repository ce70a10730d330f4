//! The durable job queue: retries with backoff, one run per job across
//! runners, recovery after a worker dies, and enqueueing inside the caller's
//! transaction.

use std::time::Duration;

use plotcare::{
    auth::{TenantTx, cross_tenant},
    db::{
        self,
        audit::{self, Actor, Changes},
        jobs::Job,
    },
    jobs::{self, Context, Handler, JobFuture, Options, Runner},
};
use serde_json::json;
use uuid::Uuid;

use crate::common::{TestApp, TestTenant};

/// The production registry plus two kinds for these tests.
fn test_registry(kind: &str) -> Option<Handler> {
    match kind {
        "test.flaky" => Some(flaky),
        "test.count" => Some(count),
        "test.panic" => Some(panicking),
        "test.slow" => Some(slow),
        other => jobs::handler(other),
    }
}

/// Records each successful run in the audit trail (a table we can count).
async fn record_run(tx: &mut TenantTx, job: &Job) -> anyhow::Result<()> {
    audit::record(
        tx,
        &Actor::default(),
        "test.job_ran",
        "job",
        Some(job.id),
        Changes::new().note("attempt", job.attempts),
    )
    .await?;
    Ok(())
}

/// Fails until the attempt named in its payload.
fn flaky<'a>(tx: &'a mut TenantTx, job: &'a Job, _: &'a Context) -> JobFuture<'a> {
    Box::pin(async move {
        let succeed_at = job.payload["succeed_at_attempt"].as_i64().unwrap_or(1);
        if i64::from(job.attempts) < succeed_at {
            anyhow::bail!("not yet (attempt {})", job.attempts);
        }
        record_run(tx, job).await
    })
}

/// Takes a moment, so concurrent runners overlap, and counts its runs.
fn count<'a>(tx: &'a mut TenantTx, job: &'a Job, _: &'a Context) -> JobFuture<'a> {
    Box::pin(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        record_run(tx, job).await
    })
}

/// Runs for three seconds, then counts its run.
fn slow<'a>(tx: &'a mut TenantTx, job: &'a Job, _: &'a Context) -> JobFuture<'a> {
    Box::pin(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        record_run(tx, job).await
    })
}

/// Panics, as a bug in a handler would.
fn panicking<'a>(_: &'a mut TenantTx, _: &'a Job, _: &'a Context) -> JobFuture<'a> {
    Box::pin(async move { panic!("a bug in the handler") })
}

fn runner(app: &TestApp) -> Runner {
    Runner::new(app.pool.clone(), app.state.media.clone(), &app.state.config)
        .unwrap()
        .with_registry(test_registry)
}

async fn enqueue(
    app: &TestApp,
    tenant: &TestTenant,
    kind: &str,
    payload: serde_json::Value,
) -> Uuid {
    let mut tx = TenantTx::begin(&app.pool, tenant.tenant).await.unwrap();
    let id = jobs::enqueue(&mut tx, kind, payload).await.unwrap();
    tx.commit().await.unwrap();
    id
}

/// Seconds until the job's next run (negative: it is due).
async fn seconds_until_run(app: &TestApp, id: Uuid) -> f64 {
    sqlx::query_scalar("SELECT extract(epoch FROM run_at - now())::float8 FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap()
}

async fn make_due(app: &TestApp, id: Uuid) {
    sqlx::query("UPDATE jobs SET run_at = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(&app.admin_pool)
        .await
        .unwrap();
}

async fn runs_of(app: &TestApp, id: Uuid) -> i64 {
    app.count(&format!(
        "SELECT count(*) FROM audit_events WHERE action = 'test.job_ran' AND record_id = '{id}'"
    ))
    .await
}

#[tokio::test]
async fn a_failing_job_waits_longer_after_each_failure_then_succeeds() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let id = enqueue(
        &app,
        &acme,
        "test.flaky",
        json!({ "succeed_at_attempt": 3 }),
    )
    .await;
    let runner = runner(&app).with_options(Options {
        backoff_base: Duration::from_secs(60),
        ..Options::default()
    });

    // Attempt 1 fails: the error is kept and the job waits (30-60 s with jitter).
    assert_eq!(runner.run_once().await.unwrap(), 1);
    let (attempts, error): (i32, Option<String>) =
        sqlx::query_as("SELECT attempts, last_error FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    assert!(error.unwrap().contains("not yet (attempt 1)"));
    let first_wait = seconds_until_run(&app, id).await;
    assert!((25.0..=61.0).contains(&first_wait), "{first_wait}");
    // Not due yet: nothing to run.
    assert_eq!(runner.run_once().await.unwrap(), 0);

    // Attempt 2 fails too, and waits longer (60-120 s).
    make_due(&app, id).await;
    assert_eq!(runner.run_once().await.unwrap(), 1);
    let second_wait = seconds_until_run(&app, id).await;
    assert!((55.0..=121.0).contains(&second_wait), "{second_wait}");
    assert_eq!(runs_of(&app, id).await, 0);

    // Attempt 3 succeeds: done, once.
    make_due(&app, id).await;
    assert_eq!(runner.run_once().await.unwrap(), 1);
    let (attempts, done, error): (i32, bool, Option<String>) =
        sqlx::query_as("SELECT attempts, done_at IS NOT NULL, last_error FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!((attempts, done, error), (3, true, None));
    assert_eq!(runs_of(&app, id).await, 1);
    assert_eq!(runner.run_once().await.unwrap(), 0);
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_marked_failed_after_its_last_attempt() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let id = enqueue(
        &app,
        &acme,
        "test.flaky",
        json!({ "succeed_at_attempt": 99 }),
    )
    .await;
    sqlx::query("UPDATE jobs SET max_attempts = 2 WHERE id = $1")
        .bind(id)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    let runner = runner(&app);

    runner.run_once().await.unwrap();
    make_due(&app, id).await;
    runner.run_once().await.unwrap();

    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM jobs WHERE id = '{id}' AND failed_at IS NOT NULL AND attempts = 2"
        ))
        .await,
        1
    );
    make_due(&app, id).await;
    assert_eq!(
        runner.run_once().await.unwrap(),
        0,
        "a failed job is not run again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_runners_at_once_never_run_one_job_twice() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let globex = app.create_tenant("globex").await;
    {
        let mut a = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
        let mut g = TenantTx::begin(&app.pool, globex.tenant).await.unwrap();
        for _ in 0..20 {
            jobs::enqueue(&mut a, "test.count", json!({}))
                .await
                .unwrap();
            jobs::enqueue(&mut g, "test.count", json!({}))
                .await
                .unwrap();
        }
        a.commit().await.unwrap();
        g.commit().await.unwrap();
    }
    let options = Options {
        batch: 2,
        ..Options::default()
    };
    let one = runner(&app).with_options(options.clone());
    let two = runner(&app).with_options(options);
    assert_ne!(one.worker_id(), two.worker_id());

    let drain = |r: Runner| async move {
        let mut ran = 0;
        loop {
            match r.run_once().await.unwrap() {
                0 => return ran,
                n => ran += n,
            }
        }
    };
    let (a, b) = tokio::join!(tokio::spawn(drain(one)), tokio::spawn(drain(two)));
    let (a, b) = (a.unwrap(), b.unwrap());

    assert_eq!(a + b, 40, "every job claimed exactly once ({a} + {b})");
    assert!(a > 0 && b > 0, "both runners took work ({a} + {b})");
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'test.job_ran'")
            .await,
        40
    );
    assert_eq!(
        app.count(
            "SELECT count(DISTINCT record_id) FROM audit_events WHERE action = 'test.job_ran'"
        )
        .await,
        40
    );
    assert_eq!(
        app.count("SELECT count(*) FROM jobs WHERE done_at IS NOT NULL AND attempts = 1")
            .await,
        40
    );
    // Each job ran in its own tenant: its audit row is in the job's tenant.
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events a JOIN jobs j ON j.id = a.record_id WHERE a.action = 'test.job_ran' AND a.tenant_id = j.tenant_id")
            .await,
        40
    );
}

#[tokio::test]
async fn a_job_whose_worker_died_is_picked_up_when_its_lease_ends() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let id = enqueue(&app, &acme, "test.count", json!({})).await;
    // A worker claims it, then dies without finishing.
    let claimed = cross_tenant::claim_jobs(&app.pool, "dead-worker", Duration::from_secs(300), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let (tenant, dead_claim) = claimed.into_iter().next().unwrap();
    let runner = runner(&app);
    assert_eq!(runner.run_once().await.unwrap(), 0, "the lease still holds");

    // The lease runs out.
    sqlx::query("UPDATE jobs SET locked_until = now() - interval '1 second' WHERE id = $1")
        .bind(id)
        .execute(&app.admin_pool)
        .await
        .unwrap();
    assert_eq!(runner.run_once().await.unwrap(), 1);

    assert_eq!(runs_of(&app, id).await, 1);
    assert_eq!(app.count(&format!("SELECT count(*) FROM jobs WHERE id = '{id}' AND done_at IS NOT NULL AND attempts = 2 AND locked_by IS NULL")).await, 1);
    // Should the dead worker wake up, its claim no longer counts.
    let mut tx = TenantTx::begin(&app.pool, tenant).await.unwrap();
    assert!(
        !db::jobs::complete(&mut tx, &dead_claim, "dead-worker")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_job_enqueued_in_a_transaction_that_rolls_back_never_exists() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;

    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    jobs::enqueue(&mut tx, "test.count", json!({}))
        .await
        .unwrap();
    drop(tx); // rolled back

    assert_eq!(app.count("SELECT count(*) FROM jobs").await, 0);
    assert_eq!(runner(&app).run_once().await.unwrap(), 0);

    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    jobs::enqueue(&mut tx, "test.count", json!({}))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(app.count("SELECT count(*) FROM jobs").await, 1);
    assert_eq!(runner(&app).run_once().await.unwrap(), 1);
}

#[tokio::test]
async fn the_worker_stops_when_asked_and_leaves_nothing_claimed() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    for _ in 0..3 {
        enqueue(&app, &acme, "test.count", json!({})).await;
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(
        runner(&app)
            .with_options(Options {
                idle_poll: Duration::from_millis(50),
                ..Options::default()
            })
            .run(async {
                let _ = stopped.await;
            }),
    );
    // Wait for the work to be done, then stop.
    for _ in 0..100 {
        if app
            .count("SELECT count(*) FROM jobs WHERE done_at IS NULL")
            .await
            == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), worker)
        .await
        .expect("the worker stops")
        .unwrap();
    assert_eq!(
        // (The worker also scheduled the daily expiry of old exports at start-up.)
        app.count("SELECT count(*) FROM jobs WHERE done_at IS NOT NULL AND locked_by IS NULL AND kind <> 'export.expire'")
            .await,
        3
    );
}

#[tokio::test]
async fn a_panicking_job_is_recorded_as_failed_and_the_worker_goes_on() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let panics = enqueue(&app, &acme, "test.panic", json!({})).await;
    let runner = runner(&app).with_options(Options {
        backoff_base: Duration::from_secs(60),
        ..Options::default()
    });
    assert_eq!(runner.run_once().await.unwrap(), 1);
    let (attempts, error, locked_by): (i32, Option<String>, Option<String>) =
        sqlx::query_as("SELECT attempts, last_error, locked_by FROM jobs WHERE id = $1")
            .bind(panics)
            .fetch_one(&app.admin_pool)
            .await
            .unwrap();
    assert_eq!(attempts, 1);
    let error = error.unwrap();
    assert!(
        error.contains("panicked") && error.contains("a bug in the handler"),
        "{error}"
    );
    assert_eq!(locked_by, None, "the job was left claimed");
    // The same runner claims and runs the next job.
    let next = enqueue(&app, &acme, "test.count", json!({})).await;
    assert_eq!(runner.run_once().await.unwrap(), 1);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM jobs WHERE id = '{next}' AND done_at IS NOT NULL"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn a_running_jobs_lease_is_renewed_so_no_other_worker_takes_it_over() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let id = enqueue(&app, &acme, "test.slow", json!({})).await;
    // A lease of one second, renewed every 300 ms, on a job that runs for three.
    let options = Options {
        lease: Duration::from_secs(1),
        heartbeat: Duration::from_millis(300),
        ..Options::default()
    };
    let one = runner(&app).with_options(options.clone());
    let two = runner(&app).with_options(options);
    let first = tokio::spawn(async move { one.run_once().await.unwrap() });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Long after the first lease would have run out, the other worker finds nothing to take.
    for _ in 0..8 {
        assert_eq!(
            two.run_once().await.unwrap(),
            0,
            "the running job was taken over"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(first.await.unwrap(), 1);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM jobs WHERE id = '{id}' AND done_at IS NOT NULL"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT count(*) FROM audit_events WHERE action = 'test.job_ran'")
            .await,
        1
    );
}
