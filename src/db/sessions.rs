//! Signed-in sessions (`user_sessions`): each belongs to one membership (a user of one tenant).

use std::net::IpAddr;

use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::TenantTx;

pub async fn start(
    tx: &mut TenantTx,
    user_id: Uuid,
    ip: Option<IpAddr>,
    user_agent: Option<&str>,
) -> sqlx::Result<Uuid> {
    let id = Uuid::now_v7();
    sqlx::query("INSERT INTO user_sessions (tenant_id, id, user_id, ip, user_agent) VALUES ($1, $2, $3, $4::inet, $5)")
        .bind(tx.tenant_id())
        .bind(id)
        .bind(user_id)
        .bind(ip.map(|i| i.to_string()))
        .bind(user_agent)
        .execute(&mut **tx)
        .await?;
    Ok(id)
}

/// Ends every live session of a user (disabled, signed out everywhere), except `keep`.
/// Returns how many ended.
pub async fn end_all_for_user(
    tx: &mut TenantTx,
    user_id: Uuid,
    keep: Option<Uuid>,
    reason: &str,
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE user_sessions SET ended_at = now(), end_reason = $4
          WHERE tenant_id = $1 AND user_id = $2 AND ended_at IS NULL AND ($3::uuid IS NULL OR id <> $3)",
    )
    .bind(tx.tenant_id())
    .bind(user_id)
    .bind(keep)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

#[derive(Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
    pub ended_at: Option<OffsetDateTime>,
    pub end_reason: Option<String>,
}

/// A user's sessions, live ones first, newest first.
pub async fn for_user(
    tx: &mut TenantTx,
    user_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<SessionRow>> {
    sqlx::query_as::<_, SessionRow>(
        "SELECT id, user_id, host(ip) AS ip, user_agent, created_at, last_seen_at, ended_at, end_reason
           FROM user_sessions WHERE tenant_id = $1 AND user_id = $2
          ORDER BY ended_at IS NOT NULL, created_at DESC LIMIT $3",
    )
    .bind(tx.tenant_id())
    .bind(user_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}

/// Ends one session of a user. False if it was not theirs or already over.
pub async fn end_one(
    tx: &mut TenantTx,
    user_id: Uuid,
    session_id: Uuid,
    reason: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE user_sessions SET ended_at = now(), end_reason = $4
          WHERE tenant_id = $1 AND user_id = $2 AND id = $3 AND ended_at IS NULL",
    )
    .bind(tx.tenant_id())
    .bind(user_id)
    .bind(session_id)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}
