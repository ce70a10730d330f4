//! The tenant's SLA policy (a target per priority; a missing row means the
//! default) and the extra non-working days it adds to the bank holidays.

use time::{Date, Duration};

use crate::{db::TenantTx, domain::Priority};

/// The target for each priority, defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy(Vec<(Priority, Duration)>);

impl Policy {
    pub fn defaults() -> Policy {
        Policy(
            Priority::ALL
                .iter()
                .map(|p| (*p, p.default_target()))
                .collect(),
        )
    }

    pub fn target(&self, priority: Priority) -> Duration {
        self.0
            .iter()
            .find(|(p, _)| *p == priority)
            .map_or(priority.default_target(), |(_, d)| *d)
    }

    pub fn targets(&self) -> &[(Priority, Duration)] {
        &self.0
    }
}

/// The tenant's policy.
pub async fn policy(tx: &mut TenantTx) -> sqlx::Result<Policy> {
    let rows: Vec<(String, i32)> =
        sqlx::query_as("SELECT priority, target_minutes FROM sla_policies WHERE tenant_id = $1")
            .bind(tx.tenant_id())
            .fetch_all(&mut **tx)
            .await?;
    Ok(Policy::from_rows(rows))
}

impl Policy {
    /// The defaults with the tenant's own targets (priority, minutes) laid over them.
    pub fn from_rows(rows: Vec<(String, i32)>) -> Policy {
        let mut policy = Policy::defaults();
        for (priority, minutes) in rows {
            if let Some(p) = Priority::parse(&priority) {
                for entry in &mut policy.0 {
                    if entry.0 == p {
                        entry.1 = Duration::minutes(i64::from(minutes));
                    }
                }
            }
        }
        policy
    }
}

/// Sets the target for one priority.
pub async fn set_target(tx: &mut TenantTx, priority: Priority, minutes: i32) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sla_policies (tenant_id, priority, target_minutes) VALUES ($1, $2, $3)
         ON CONFLICT (tenant_id, priority) DO UPDATE SET target_minutes = EXCLUDED.target_minutes",
    )
    .bind(tx.tenant_id())
    .bind(priority.as_str())
    .bind(minutes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Whether the scheme runs SLA clocks.
pub async fn scheme_sla_enabled(tx: &mut TenantTx, scheme_id: uuid::Uuid) -> sqlx::Result<bool> {
    let enabled: Option<bool> =
        sqlx::query_scalar("SELECT sla_enabled FROM schemes WHERE tenant_id = $1 AND id = $2")
            .bind(tx.tenant_id())
            .bind(scheme_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(enabled.unwrap_or(true))
}

/// One of the tenant's extra holidays.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Holiday {
    pub day: Date,
    pub name: String,
}

pub async fn holidays(tx: &mut TenantTx) -> sqlx::Result<Vec<Holiday>> {
    sqlx::query_as::<_, Holiday>(
        "SELECT day, name FROM tenant_holidays WHERE tenant_id = $1 ORDER BY day",
    )
    .bind(tx.tenant_id())
    .fetch_all(&mut **tx)
    .await
}

/// Just the days, for the business-day clock.
pub async fn holiday_days(tx: &mut TenantTx) -> sqlx::Result<Vec<Date>> {
    sqlx::query_scalar("SELECT day FROM tenant_holidays WHERE tenant_id = $1 ORDER BY day")
        .bind(tx.tenant_id())
        .fetch_all(&mut **tx)
        .await
}

/// Adds a holiday; `false` if the day is already one.
pub async fn add_holiday(tx: &mut TenantTx, day: Date, name: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("INSERT INTO tenant_holidays (tenant_id, day, name) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
        .bind(tx.tenant_id())
        .bind(day)
        .bind(name)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes a holiday; its name if there was one.
pub async fn remove_holiday(tx: &mut TenantTx, day: Date) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "DELETE FROM tenant_holidays WHERE tenant_id = $1 AND day = $2 RETURNING name",
    )
    .bind(tx.tenant_id())
    .bind(day)
    .fetch_optional(&mut **tx)
    .await
}
