//! What ends when a credential changes: a user's sessions and API tokens.
//!
//! A changed or reset password, an admin ending someone's sessions, and disabling a
//! user each end every session (but, for the user's own change, the one they are using)
//! and revoke every API token: a token made while someone else knew the password must
//! not outlive it.

use uuid::Uuid;

use super::TenantTx;
use crate::db::{
    self,
    audit::{self, Actor, Changes},
};

/// Why sessions and tokens ended: the reason stored on each and shown on the account pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Because {
    PasswordChanged,
    PasswordReset,
    EndedByAdmin,
    Disabled,
}

impl Because {
    pub fn as_str(self) -> &'static str {
        match self {
            Because::PasswordChanged => "password changed",
            Because::PasswordReset => "password reset",
            Because::EndedByAdmin => "sessions ended by an admin",
            Because::Disabled => "user disabled",
        }
    }
}

/// What [`sign_out_everywhere`] ended.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ended {
    pub sessions: u64,
    pub tokens: usize,
}

/// Ends every live session of `user_id` except `keep`, and revokes every live API token,
/// each token with its own audit record. The caller records the change that caused it.
pub async fn sign_out_everywhere(
    tx: &mut TenantTx,
    actor: &Actor,
    user_id: Uuid,
    keep: Option<Uuid>,
    because: Because,
) -> sqlx::Result<Ended> {
    let sessions = db::sessions::end_all_for_user(tx, user_id, keep, because.as_str()).await?;
    let revoked =
        db::api_tokens::revoke_all_for_user(tx, user_id, actor.user_id, because.as_str()).await?;
    for token in &revoked {
        audit::record(
            tx,
            actor,
            "api_token.revoked",
            "api_token",
            Some(token.id),
            Changes::new()
                .note("name", token.name.as_str())
                .note("owner_user_id", user_id.to_string())
                .note("reason", because.as_str()),
        )
        .await?;
    }
    Ok(Ended {
        sessions,
        tokens: revoked.len(),
    })
}
