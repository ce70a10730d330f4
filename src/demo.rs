//! Demo data for `plotcare demo`: a housebuilder with an admin (MFA not yet
//! enrolled), a customer-care user and a subcontractor. Loading twice is harmless.

use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    auth::{TenantTx, cross_tenant, password},
    db::{
        audit::{self, Actor, Changes},
        users::{self, NewUser},
    },
    domain::{Email, NewPassword, Role, Slug},
};

pub const SLUG: &str = "meadowbank";

/// A demo sign-in, printed for the person trying Plotcare.
pub struct DemoLogin {
    pub role: &'static str,
    pub email: &'static str,
    pub password: &'static str,
}

pub const LOGINS: [DemoLogin; 4] = [
    DemoLogin { role: "Admin (sets up MFA at first sign-in)", email: "admin@meadowbank.test", password: "meadowbank admin demo" },
    DemoLogin { role: "Customer care", email: "care@meadowbank.test", password: "meadowbank care demo" },
    DemoLogin { role: "Subcontractor admin (Brightwater Plumbing)", email: "dan@brightwater.test", password: "brightwater plumbing demo" },
    DemoLogin { role: "Out of hours", email: "oncall@meadowbank.test", password: "meadowbank on call demo" },
];

async fn hash(pw: &str) -> anyhow::Result<String> {
    password::hash(&NewPassword::parse("password", pw).map_err(|e| anyhow::anyhow!(e.message))?).await
}

/// Loads the demo tenant unless it is already there.
pub async fn load(pool: &PgPool) -> anyhow::Result<()> {
    if cross_tenant::tenant_by_slug(pool, SLUG).await?.is_some() {
        return Ok(());
    }
    let admin = &LOGINS[0];
    let (tenant, _) = cross_tenant::create_tenant(
        pool,
        &Slug::parse(SLUG).map_err(anyhow::Error::msg)?,
        "Meadowbank Homes",
        &Email::parse("email", admin.email).map_err(|e| anyhow::anyhow!(e.message))?,
        "Alex Morgan",
        &hash(admin.password).await?,
    )
    .await?;

    let mut tx = TenantTx::begin(pool, tenant).await?;
    let actor = Actor::default();
    let company = Uuid::now_v7();
    sqlx::query("INSERT INTO contacts (tenant_id, id, kind, name) VALUES ($1, $2, 'subcontractor_company', 'Brightwater Plumbing Ltd')")
        .bind(tx.tenant_id())
        .bind(company)
        .execute(&mut *tx)
        .await?;
    for scheme in ["Meadowbank Park", "Riverside Quarter", "Oakfield Grange"] {
        sqlx::query("INSERT INTO schemes (tenant_id, id, name) VALUES ($1, $2, $3)")
            .bind(tx.tenant_id())
            .bind(Uuid::now_v7())
            .bind(scheme)
            .execute(&mut *tx)
            .await?;
    }
    let people = [
        (&LOGINS[1], "Priya Shah", Role::Staff, None, false),
        (&LOGINS[2], "Dan Fletcher", Role::Subcontractor, Some(company), true),
        (&LOGINS[3], "Sam Okafor", Role::Emergency, None, false),
    ];
    for (login, name, role, company_id, is_company_admin) in people {
        let email = Email::parse("email", login.email).map_err(|e| anyhow::anyhow!(e.message))?;
        let hash = hash(login.password).await?;
        let new = NewUser { email: &email, name, role, company_id, is_company_admin, password_hash: Some(&hash) };
        if let Some(id) = users::insert(&mut tx, &new).await? {
            audit::record(&mut tx, &actor, "user.created", "user", Some(id), Changes::new().set("email", login.email).set("role", role.as_str()).note("via", "plotcare demo")).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

pub fn print_logins(port: u16) {
    println!("\nPlotcare demo is ready: open http://127.0.0.1:{port}/ and sign in as\n");
    for login in &LOGINS {
        println!("  {:<45} {:<28} password: {}", login.role, login.email, login.password);
    }
    println!();
}
