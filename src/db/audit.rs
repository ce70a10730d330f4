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
    pub actor_email: Option<String>,
    pub actor_token_id: Option<Uuid>,
    pub action: String,
    pub record_type: String,
    pub record_id: Option<Uuid>,
    pub changes: Value,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    /// The record's name as it is now ("Plot 7, Meadow View"), when it still exists.
    pub record_name: Option<String>,
    /// The number of the ticket the record is (or belongs to), for its "T-00042".
    pub record_ticket_number: Option<i64>,
    /// Where the record's page is, when it has one.
    pub record_link: Option<String>,
}

/// Filters of the audit trail page. All optional.
#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub user_id: Option<Uuid>,
    pub record_type: Option<String>,
    pub record_id: Option<Uuid>,
    /// An action ("ticket.created"), or every action of a record type when it ends in a dot ("ticket.").
    pub action: Option<String>,
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Keyset: rows strictly older than this (occurred_at, id).
    pub before: Option<(OffsetDateTime, Uuid)>,
}

/// Each record's current name and page, by record type: one lookup per row, in the
/// same statement (each branch runs only for its own record type).
const RECORD_LOOKUP: &str = "
  LEFT JOIN LATERAL (
    SELECT NULL::text AS name, t.number AS ticket_number, '/tickets/' || t.id AS link
      FROM tickets t WHERE a.record_type = 'ticket' AND t.tenant_id = a.tenant_id AND t.id = a.record_id
    UNION ALL
    SELECT 'Plot ' || p.plot_number || ', ' || s.name, NULL, '/plots/' || p.id
      FROM plots p JOIN schemes s ON s.tenant_id = p.tenant_id AND s.id = p.scheme_id
     WHERE a.record_type = 'plot' AND p.tenant_id = a.tenant_id AND p.id = a.record_id
    UNION ALL
    SELECT s.name, NULL, '/schemes/' || s.id
      FROM schemes s WHERE a.record_type = 'scheme' AND s.tenant_id = a.tenant_id AND s.id = a.record_id
    UNION ALL
    SELECT c.name, NULL, '/contracts/' || c.id
      FROM contracts c WHERE a.record_type = 'contract' AND c.tenant_id = a.tenant_id AND c.id = a.record_id
    UNION ALL
    SELECT c.name, NULL, '/contacts/' || c.id
      FROM contacts c WHERE a.record_type = 'contact' AND c.tenant_id = a.tenant_id AND c.id = a.record_id
    UNION ALL
    SELECT u.name, NULL, '/users/' || u.id
      FROM users u WHERE a.record_type = 'user' AND u.tenant_id = a.tenant_id AND u.id = a.record_id
    UNION ALL
    SELECT 'Comment', t.number, '/tickets/' || t.id
      FROM ticket_comments c JOIN tickets t ON t.tenant_id = c.tenant_id AND t.id = c.ticket_id
     WHERE a.record_type = 'ticket_comment' AND c.tenant_id = a.tenant_id AND c.id = a.record_id
    UNION ALL
    SELECT 'Appointment', t.number, '/tickets/' || t.id
      FROM appointments ap JOIN tickets t ON t.tenant_id = ap.tenant_id AND t.id = ap.ticket_id
     WHERE a.record_type = 'appointment' AND ap.tenant_id = a.tenant_id AND ap.id = a.record_id
    UNION ALL
    SELECT 'Nomination', t.number, '/tickets/' || t.id
      FROM nominations n JOIN tickets t ON t.tenant_id = n.tenant_id AND t.id = n.ticket_id
     WHERE a.record_type = 'nomination' AND n.tenant_id = a.tenant_id AND n.id = a.record_id
    UNION ALL
    SELECT f.original_name, t.number, '/tickets/' || t.id
      FROM media_files f
      LEFT JOIN ticket_comments fc ON fc.tenant_id = f.tenant_id AND fc.id = f.comment_id
      LEFT JOIN tickets t ON t.tenant_id = f.tenant_id AND t.id = coalesce(f.ticket_id, fc.ticket_id)
     WHERE a.record_type = 'media_file' AND f.tenant_id = a.tenant_id AND f.id = a.record_id
    UNION ALL
    SELECT 'Inspection of plot ' || p.plot_number || ', ' || s.name, NULL, '/inspections/' || i.id
      FROM inspections i
      JOIN plots p ON p.tenant_id = i.tenant_id AND p.id = i.plot_id
      JOIN schemes s ON s.tenant_id = p.tenant_id AND s.id = p.scheme_id
     WHERE a.record_type = 'inspection' AND i.tenant_id = a.tenant_id AND i.id = a.record_id
    UNION ALL
    SELECT it.name, NULL, '/inspection-templates/' || it.id
      FROM inspection_templates it
     WHERE a.record_type = 'inspection_template' AND it.tenant_id = a.tenant_id AND it.id = a.record_id
    UNION ALL
    SELECT CASE e.kind WHEN 'media' THEN 'Media export' ELSE 'Data return' END, NULL, '/admin/exports'
      FROM exports e WHERE a.record_type = 'export' AND e.tenant_id = a.tenant_id AND e.id = a.record_id
    UNION ALL
    SELECT k.name, NULL, '/admin/tokens'
      FROM api_tokens k WHERE a.record_type = 'api_token' AND k.tenant_id = a.tenant_id AND k.id = a.record_id
    LIMIT 1
  ) r ON true";

/// Newest first, `limit` rows at most, each with its record's name and page.
pub async fn list(
    tx: &mut TenantTx,
    filter: &AuditFilter,
    limit: i64,
) -> sqlx::Result<Vec<AuditRow>> {
    let tenant = tx.tenant_id();
    sqlx::query_as::<_, AuditRow>(&format!(
        "SELECT a.id, a.occurred_at, a.actor_user_id, u.name AS actor_name, u.email AS actor_email,
                a.actor_token_id, a.action, a.record_type, a.record_id, a.changes, host(a.ip) AS ip,
                a.request_id, r.name AS record_name, r.ticket_number AS record_ticket_number,
                r.link AS record_link
           FROM audit_events a
           LEFT JOIN users u ON u.tenant_id = a.tenant_id AND u.id = a.actor_user_id
           {RECORD_LOOKUP}
          WHERE a.tenant_id = $1
            AND ($2::uuid IS NULL OR a.actor_user_id = $2)
            AND ($3::text IS NULL OR a.record_type = $3)
            AND ($4::uuid IS NULL OR a.record_id = $4)
            AND ($5::text IS NULL OR a.action = $5
                 OR (right($5, 1) = '.' AND left(a.action, length($5)) = $5))
            AND ($6::timestamptz IS NULL OR a.occurred_at >= $6)
            AND ($7::timestamptz IS NULL OR a.occurred_at < $7)
            AND ($8::timestamptz IS NULL OR (a.occurred_at, a.id) < ($8, $9))
          ORDER BY a.occurred_at DESC, a.id DESC
          LIMIT $10"
    ))
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

/// The record types and actions in the tenant's trail, for the filters' choices.
/// Each is a skip along its index (one step per value), however long the trail.
pub async fn vocabulary(tx: &mut TenantTx) -> sqlx::Result<(Vec<String>, Vec<String>)> {
    let tenant = tx.tenant_id();
    let mut lists = Vec::new();
    for column in ["record_type", "action"] {
        let values: Vec<String> = sqlx::query_scalar(&format!(
            "WITH RECURSIVE v(value) AS (
                 (SELECT {column} FROM audit_events WHERE tenant_id = $1 ORDER BY {column} LIMIT 1)
                 UNION ALL
                 SELECT (SELECT a.{column} FROM audit_events a
                          WHERE a.tenant_id = $1 AND a.{column} > v.value
                          ORDER BY a.{column} LIMIT 1)
                   FROM v WHERE v.value IS NOT NULL)
             SELECT value FROM v WHERE value IS NOT NULL"
        ))
        .bind(tenant)
        .fetch_all(&mut **tx)
        .await?;
        lists.push(values);
    }
    let actions = lists.pop().unwrap_or_default();
    let record_types = lists.pop().unwrap_or_default();
    Ok((record_types, actions))
}
