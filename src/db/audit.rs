//! The audit trail: who did what, to which record, when, and from where.
//! Written in the same transaction as the change, so there is never a change
//! without its record (or a record of a change that rolled back).

use std::net::IpAddr;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::TenantTx;

/// Who acted, and from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<Uuid>,
    pub token_id: Option<Uuid>,
    pub ip: Option<IpAddr>,
    pub request_id: Option<String>,
}

/// The fields a change touched, before and after. Never passwords, secrets or tokens.
#[derive(Debug, Clone, Default)]
pub struct Changes(Map<String, Value>);

impl Changes {
    pub fn new() -> Self {
        Changes::default()
    }
    /// Records a field only if it changed.
    pub fn field(mut self, name: &str, before: impl Into<Value>, after: impl Into<Value>) -> Self {
        let (before, after) = (before.into(), after.into());
        if before != after {
            self.0
                .insert(name.to_owned(), json!({ "before": before, "after": after }));
        }
        self
    }
    /// Records a value set on a new record.
    pub fn set(mut self, name: &str, after: impl Into<Value>) -> Self {
        self.0
            .insert(name.to_owned(), json!({ "after": after.into() }));
        self
    }
    /// Records a note that is not a field, e.g. a reason.
    pub fn note(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.0.insert(name.to_owned(), value.into());
        self
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Appends one event to the tenant's audit trail.
pub async fn record(
    tx: &mut TenantTx,
    actor: &Actor,
    action: &str,
    record_type: &str,
    record_id: Option<Uuid>,
    changes: Changes,
) -> sqlx::Result<()> {
    let tenant = tx.tenant_id();
    sqlx::query(
        "INSERT INTO audit_events
             (tenant_id, id, actor_user_id, actor_token_id, action, record_type, record_id, changes, ip, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::inet, $10)",
    )
    .bind(tenant)
    .bind(Uuid::now_v7())
    .bind(actor.user_id)
    .bind(actor.token_id)
    .bind(action)
    .bind(record_type)
    .bind(record_id)
    .bind(Value::Object(changes.0))
    .bind(actor.ip.map(|ip| ip.to_string()))
    .bind(actor.request_id.as_deref())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One row of the audit trail page.
#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: Uuid,
    pub occurred_at: OffsetDateTime,
    pub actor_user_id: Option<Uuid>,
    pub actor_name: Option<String>,
    pub actor_token_id: Option<Uuid>,
    pub action: String,
    pub record_type: String,
    pub record_id: Option<Uuid>,
    pub changes: Value,
    pub ip: Option<String>,
    pub request_id: Option<String>,
}

/// Filters of the audit trail page. All optional.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub user_id: Option<Uuid>,
    pub record_type: Option<String>,
    pub record_id: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Keyset: rows strictly older than this (occurred_at, id).
    pub before: Option<(OffsetDateTime, Uuid)>,
}

/// Newest first, `limit` rows at most.
pub async fn list(
    tx: &mut TenantTx,
    filter: &AuditFilter,
    limit: i64,
) -> sqlx::Result<Vec<AuditRow>> {
    let tenant = tx.tenant_id();
    sqlx::query_as::<_, AuditRow>(
        "SELECT a.id, a.occurred_at, a.actor_user_id, u.name AS actor_name, a.actor_token_id,
                a.action, a.record_type, a.record_id, a.changes, host(a.ip) AS ip, a.request_id
           FROM audit_events a
           LEFT JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.actor_user_id
          WHERE a.tenant_id = $1
            AND ($2::uuid IS NULL OR a.actor_user_id = $2)
            AND ($3::text IS NULL OR a.record_type = $3)
            AND ($4::uuid IS NULL OR a.record_id = $4)
            AND ($5::text IS NULL OR a.action LIKE $5 || '%')
            AND ($6::timestamptz IS NULL OR a.occurred_at >= $6)
            AND ($7::timestamptz IS NULL OR a.occurred_at < $7)
            AND ($8::timestamptz IS NULL OR (a.occurred_at, a.id) < ($8, $9))
          ORDER BY a.occurred_at DESC, a.id DESC
          LIMIT $10",
    )
    .bind(tenant)
    .bind(filter.user_id)
    .bind(filter.record_type.as_deref())
    .bind(filter.record_id)
    .bind(filter.action.as_deref())
    .bind(filter.from)
    .bind(filter.until)
    .bind(filter.before.map(|b| b.0))
    .bind(filter.before.map(|b| b.1))
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}
