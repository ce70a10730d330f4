//! Enum columns: every word the code knows is one its column's CHECK list allows,
//! and the other way round; a row holding a word the code does not know fails
//! loudly instead of being read as some default.

use plotcare::domain::{
    AbortiveReason, Category, ComplaintStage, Priority, ReportedVia, Role, Status, inspection,
};
use reqwest::StatusCode;

use crate::common::TestApp;

/// The words a column's CHECK constraint lists, e.g. `status IN ('open', …)`.
async fn check_words(app: &TestApp, table: &str, column: &str) -> Vec<String> {
    let defs: Vec<String> = sqlx::query_scalar(
        "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
          JOIN pg_class t ON t.oid = c.conrelid
         WHERE t.relname = $1 AND c.contype = 'c'",
    )
    .bind(table)
    .fetch_all(&app.admin_pool)
    .await
    .unwrap();
    // PostgreSQL prints `IN (…)` back as `= ANY (ARRAY['open'::text, …])`.
    let def = defs
        .iter()
        .find(|d| {
            d.starts_with(&format!("CHECK ((({column} = ANY"))
                || d.starts_with(&format!("CHECK (({column} = ANY"))
        })
        .unwrap_or_else(|| panic!("no CHECK list on {table}.{column}: {defs:?}"));
    let mut words: Vec<String> = def
        .split('\'')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    words.sort();
    words
}

fn sorted(words: impl IntoIterator<Item = &'static str>) -> Vec<String> {
    let mut v: Vec<String> = words.into_iter().map(str::to_string).collect();
    v.sort();
    v
}

#[tokio::test]
async fn every_enum_matches_its_columns_check_list() {
    let app = TestApp::spawn().await;
    let cases: Vec<(&str, &str, Vec<String>)> = vec![
        (
            "users",
            "role",
            sorted(Role::ALL.iter().map(|r| r.as_str())),
        ),
        (
            "tickets",
            "status",
            sorted(Status::ALL.iter().map(|v| v.as_str())),
        ),
        (
            "tickets",
            "priority",
            sorted(Priority::ALL.iter().map(|v| v.as_str())),
        ),
        (
            "sla_policies",
            "priority",
            sorted(Priority::ALL.iter().map(|v| v.as_str())),
        ),
        (
            "tickets",
            "category",
            sorted(Category::ALL.iter().map(|v| v.as_str())),
        ),
        (
            "tickets",
            "reported_via",
            sorted(ReportedVia::ALL.iter().map(|v| v.as_str())),
        ),
        (
            "tickets",
            "abortive_reason",
            sorted(AbortiveReason::ALL.iter().map(|v| v.as_str())),
        ),
        (
            "complaint_stages",
            "stage",
            sorted(ComplaintStage::ALL.iter().map(|v| v.as_str())),
        ),
        (
            "inspection_templates",
            "kind",
            sorted(inspection::TemplateKind::ALL.iter().map(|v| v.as_str())),
        ),
        (
            "inspections",
            "status",
            sorted(inspection::Status::ALL.iter().map(|v| v.as_str())),
        ),
        (
            "inspections",
            "outcome",
            sorted(inspection::Outcome::ALL.iter().map(|v| v.as_str())),
        ),
    ];
    for (table, column, known) in cases {
        assert_eq!(
            check_words(&app, table, column).await,
            known,
            "{table}.{column}"
        );
    }
}

#[tokio::test]
async fn a_role_the_code_does_not_know_is_an_error_not_a_reader_of_everything() {
    let app = TestApp::spawn().await;
    let tenant = app.create_tenant("acme").await;
    let user = app.create_user(&tenant, Role::Staff, None, false).await;
    let client = app.sign_in(&user).await;
    assert_eq!(client.get("/tickets").await.status(), StatusCode::OK);

    // A newer version's role word, written behind the app's back.
    sqlx::query("ALTER TABLE users DROP CONSTRAINT users_role_check")
        .execute(&app.admin_pool)
        .await
        .unwrap();
    sqlx::query("UPDATE users SET role = 'auditor' WHERE id = $1")
        .bind(user.id)
        .execute(&app.admin_pool)
        .await
        .unwrap();

    let response = client.get("/tickets").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let page = response.text().await.unwrap();
    assert!(
        !page.contains("T-0"),
        "no ticket is shown to an unknown role"
    );
}
