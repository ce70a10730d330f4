//! Tenant isolation in depth: the schema rule, row-level security under the
//! app's own (non-superuser) role, and the transaction-local tenant setting.

use plotcare::{auth::TenantTx, domain::Role};

use crate::common::TestApp;

#[tokio::test]
async fn the_app_connects_as_a_role_that_cannot_bypass_row_level_security() {
    let app = TestApp::spawn().await;
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!superuser && !bypass);
}

#[tokio::test]
async fn every_tenant_owned_table_forces_row_level_security_and_keys_on_tenant_id() {
    let app = TestApp::spawn().await;
    let tables: Vec<(String, bool, bool, i64, Option<String>)> = sqlx::query_as(
        "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity,
                (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid),
                (SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                  WHERE i.indrelid = c.oid AND i.indisprimary)
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r'
            AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)",
    )
    .fetch_all(&app.admin_pool)
    .await
    .unwrap();
    assert!(
        tables.len() >= 9,
        "expected the tenant-owned tables, found {tables:?}"
    );
    for (table, rls, forced, policies, first_key) in tables {
        assert!(
            rls && forced,
            "{table}: row-level security must be enabled and forced"
        );
        assert!(policies >= 1, "{table}: needs a tenant_isolation policy");
        assert_eq!(
            first_key.as_deref(),
            Some("tenant_id"),
            "{table}: primary key must lead with tenant_id"
        );
    }
    // Every foreign key between tenant-owned tables carries tenant_id (a membership's
    // reference to its person's account, a platform-level row, is the one other kind).
    let loose: Vec<String> = sqlx::query_scalar(
        "SELECT con.conname::text FROM pg_constraint con
           JOIN pg_class c ON c.oid = con.conrelid
          WHERE con.contype = 'f'
            AND con.confrelid NOT IN ('tenants'::regclass, 'accounts'::regclass)
            AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = con.conrelid
                              AND a.attnum = ANY (con.conkey) AND a.attname = 'tenant_id')",
    )
    .fetch_all(&app.admin_pool)
    .await
    .unwrap();
    assert!(
        loose.is_empty(),
        "foreign keys without tenant_id: {loose:?}"
    );
}

/// The tables that belong to no tenant, each for a reason.
const PLATFORM_TABLES: [&str; 5] = [
    // sqlx's record of applied migrations.
    "_sqlx_migrations",
    // A person's one sign-in across Plotcare; only reviewed cross-tenant paths see it.
    "account_recovery_codes",
    "accounts",
    // Failed sign-ins by hashed email, address and device: no personal data.
    "sign_in_failures",
    "tenants",
];

#[tokio::test]
async fn the_only_tables_without_a_tenant_are_the_platform_level_ones() {
    let app = TestApp::spawn().await;
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind = 'r'
            AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                              AND a.attname = 'tenant_id' AND NOT a.attisdropped)
          ORDER BY 1",
    )
    .fetch_all(&app.admin_pool)
    .await
    .unwrap();
    assert_eq!(tables, PLATFORM_TABLES);
    // The accounts are hidden behind forced row-level security like tenant rows.
    for table in ["accounts", "account_recovery_codes"] {
        let (rls, forced): (bool, bool) = sqlx::query_as(
            "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE relname = $1",
        )
        .bind(table)
        .fetch_one(&app.admin_pool)
        .await
        .unwrap();
        assert!(rls && forced, "{table}");
    }
}

#[tokio::test]
async fn a_tenant_transaction_sees_no_account_not_even_its_own_members() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let staff = app.create_user(&acme, Role::Staff, None, false).await;
    app.enrol_mfa(&staff).await;
    assert!(app.count("SELECT count(*) FROM accounts").await >= 2);

    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    for table in ["accounts", "account_recovery_codes"] {
        let seen: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(seen, 0, "{table} is visible to a tenant");
    }
    let err = sqlx::query("UPDATE accounts SET password_hash = NULL")
        .execute(&mut *tx)
        .await
        .map(|r| r.rows_affected());
    assert_eq!(
        err.ok(),
        Some(0),
        "no account row can be changed from a tenant"
    );
}

#[tokio::test]
async fn a_raw_select_without_a_tenant_set_returns_no_rows() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    app.create_user(&acme, Role::Staff, None, false).await;
    assert!(app.count("SELECT count(*) FROM users").await >= 2);
    for table in [
        "users",
        "tenants",
        "audit_events",
        "schemes",
        "contacts",
        "user_sessions",
        "api_tokens",
        "accounts",
        "account_recovery_codes",
    ] {
        let seen: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(seen, 0, "{table} leaked rows without a tenant set");
    }
}

#[tokio::test]
async fn a_transaction_for_one_tenant_sees_none_of_another_tenants_rows() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let bolt = app.create_tenant("bolt").await;
    app.create_user(&bolt, Role::Staff, None, false).await;

    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    // No WHERE clause at all: row-level security alone must hide bolt.
    let emails: Vec<String> = sqlx::query_scalar("SELECT email FROM users")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(emails, vec![acme.admin.email.clone()]);
    let audit_tenants: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT DISTINCT tenant_id FROM audit_events")
            .fetch_all(&mut *tx)
            .await
            .unwrap();
    assert_eq!(audit_tenants, vec![acme.id]);
}

#[tokio::test]
async fn a_row_cannot_be_written_into_another_tenant() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let bolt = app.create_tenant("bolt").await;
    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    let result = sqlx::query("INSERT INTO schemes (tenant_id, id, name) VALUES ($1, $2, 'Stolen')")
        .bind(bolt.id)
        .bind(uuid::Uuid::now_v7())
        .execute(&mut *tx)
        .await;
    let err = result.expect_err("WITH CHECK must refuse another tenant's id");
    assert!(err.to_string().contains("row-level security"), "{err}");
}

#[tokio::test]
async fn the_tenant_setting_does_not_outlive_its_transaction() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let mut conn = app.pool.acquire().await.unwrap();
    {
        let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(acme.id.to_string())
            .execute(&mut *tx)
            .await
            .unwrap();
        let inside: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(inside, 1);
        tx.commit().await.unwrap();
    }
    // The same pooled connection, next "request": nothing visible.
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(after, 0);
}

#[tokio::test]
async fn the_audit_trail_cannot_be_edited_or_deleted() {
    let app = TestApp::spawn().await;
    let acme = app.create_tenant("acme").await;
    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    let err = sqlx::query("UPDATE audit_events SET action = 'forged'")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    drop(tx);
    let mut tx = TenantTx::begin(&app.pool, acme.tenant).await.unwrap();
    let err = sqlx::query("DELETE FROM audit_events")
        .execute(&mut *tx)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
}
