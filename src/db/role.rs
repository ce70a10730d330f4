//! Who the app connects to PostgreSQL as. Row-level security, the second wall
//! between tenants, does not apply to a superuser or to a role with BYPASSRLS,
//! so `serve` and `worker` look before they start: a warning in development,
//! a refusal in production (`BEHIND_TLS=true`). `plotcare demo` makes and uses
//! a role without those rights, as the tests do.

use sqlx::{Connection, PgConnection, PgPool};

/// The role `plotcare demo` connects as: owns the demo database, nothing more.
pub const DEMO_ROLE: &str = "plotcare_demo";

#[derive(Debug, sqlx::FromRow)]
pub struct Rights {
    pub name: String,
    pub superuser: bool,
    pub bypass_rls: bool,
}

impl Rights {
    /// Whether row-level security would not apply to this role.
    pub fn bypasses_row_security(&self) -> bool {
        self.superuser || self.bypass_rls
    }
}

const RIGHTS: &str = "SELECT rolname AS name, rolsuper AS superuser, rolbypassrls AS bypass_rls
                        FROM pg_roles WHERE rolname = current_user";

/// The connected role's rights.
pub async fn rights(pool: &PgPool) -> sqlx::Result<Rights> {
    sqlx::query_as(RIGHTS).fetch_one(pool).await
}

/// Refuses to start (in production) or warns (in development) when the role
/// bypasses row-level security. A database that does not answer yet is left to
/// `/readyz`: the process starts either way.
pub async fn check(pool: &PgPool, production: bool) -> anyhow::Result<()> {
    let rights = match rights(pool).await {
        Ok(rights) => rights,
        Err(e) => {
            tracing::warn!(error = %e, "could not check the database role's rights");
            return Ok(());
        }
    };
    if !rights.bypasses_row_security() {
        return Ok(());
    }
    let why = if rights.superuser {
        "is a superuser"
    } else {
        "has BYPASSRLS"
    };
    anyhow::ensure!(
        !production,
        "the database role {} {why}: row-level security would not apply, so Plotcare will not \
         start with BEHIND_TLS=true; connect as a role that owns the tables and is neither",
        rights.name
    );
    tracing::warn!(
        role = %rights.name,
        "the database role {why}: row-level security does not apply (acceptable in development only)"
    );
    Ok(())
}

/// For `plotcare demo`: creates the database named in `url` if missing, and,
/// when `url` connects as a superuser, the [`DEMO_ROLE`] that owns it. Returns
/// the URL to use from then on (the demo role's, when one was needed).
pub async fn demo_database(url: &str) -> anyhow::Result<(String, bool)> {
    let mut target = url::Url::parse(url)?;
    let name = target.path().trim_start_matches('/').to_owned();
    anyhow::ensure!(!name.is_empty(), "DATABASE_URL names no database");
    let mut server_url = target.clone();
    server_url.set_path("/postgres");
    let mut conn = PgConnection::connect(server_url.as_str()).await?;
    let me: Rights = sqlx::query_as(RIGHTS).fetch_one(&mut conn).await?;
    let exists: Option<String> = sqlx::query_scalar(
        "SELECT pg_get_userbyid(datdba)::text FROM pg_database WHERE datname = $1",
    )
    .bind(&name)
    .fetch_optional(&mut conn)
    .await?;
    let quoted = format!("\"{}\"", name.replace('"', "\"\""));
    if !me.bypasses_row_security() {
        if exists.is_none() {
            sqlx::query(&format!("CREATE DATABASE {quoted}"))
                .execute(&mut conn)
                .await?;
        }
        return Ok((url.to_owned(), exists.is_none()));
    }
    sqlx::query(&format!(
        "DO $$ BEGIN CREATE ROLE {DEMO_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    ))
    .execute(&mut conn)
    .await?;
    match exists.as_deref() {
        None => {
            sqlx::query(&format!("CREATE DATABASE {quoted} OWNER {DEMO_ROLE}"))
                .execute(&mut conn)
                .await?;
        }
        Some(DEMO_ROLE) => {}
        Some(owner) => anyhow::bail!(
            "the database {name} belongs to {owner}, not to the demo's role {DEMO_ROLE} (an \
             earlier version made it as a superuser): drop it (dropdb {name}) and run the demo again"
        ),
    }
    conn.close().await?;
    target
        .set_username(DEMO_ROLE)
        .map_err(|()| anyhow::anyhow!("DATABASE_URL cannot carry a user name"))?;
    target
        .set_password(None)
        .map_err(|()| anyhow::anyhow!("DATABASE_URL cannot carry a password"))?;
    Ok((target.to_string(), exists.is_none()))
}
