//! The tenant's own settings (its row in `tenants`, which only it can see and change).

use crate::{db::TenantTx, domain::access::MfaPolicy};

/// Who in the tenant must use two-factor authentication.
pub async fn mfa_policy(tx: &mut TenantTx) -> sqlx::Result<MfaPolicy> {
    let word: String = sqlx::query_scalar("SELECT mfa_required FROM tenants WHERE id = $1")
        .bind(tx.tenant_id())
        .fetch_one(&mut **tx)
        .await?;
    Ok(MfaPolicy::parse(&word).unwrap_or(MfaPolicy::Everyone))
}

pub async fn set_mfa_policy(tx: &mut TenantTx, policy: MfaPolicy) -> sqlx::Result<()> {
    sqlx::query("UPDATE tenants SET mfa_required = $2 WHERE id = $1")
        .bind(tx.tenant_id())
        .bind(policy.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
