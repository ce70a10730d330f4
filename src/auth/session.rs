//! The server-side session: a cookie naming a row in PostgreSQL (tower-sessions),
//! so any instance can serve any request. What a session holds:
//!
//! - [`SIGNED_IN`]: the tenant and the `user_sessions` row of a signed-in user.
//!   Ending that row (sign-out, an admin, a disabled user, a password change)
//!   ends the session on its next request.
//! - [`CSRF`]: the synchroniser token for its forms.
//! - [`PENDING_MFA`]: a person who gave the right password and must now give a code.
//! - [`CHOOSING`]: a person who proved who they are and chooses one of their tenants.
//! - [`FLASH`]: messages for the next page.
//! - [`NEXT`]: where a person signing in goes once in; `auth::kept`'s forms kept when a
//!   session ended.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tower_sessions::{Expiry, Session, SessionManagerLayer, cookie::SameSite};
use uuid::Uuid;

use super::session_store::Store;
use crate::{config::Config, error::AppError};

pub const SIGNED_IN: &str = "signed_in";
pub const CSRF: &str = "csrf";
pub const PENDING_MFA: &str = "pending_mfa";
pub const FLASH: &str = "flash";
pub const MFA_ENROLMENT: &str = "mfa_enrolment";
/// A person signed in to several tenants, choosing one ([`PendingMfa`] with the factor given).
pub const CHOOSING: &str = "choosing_tenant";
/// Where a person signing in asked to go (a safe same-site path: `auth::kept`).
pub const NEXT: &str = "sign_in_next";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedIn {
    pub tenant_id: Uuid,
    pub user_session_id: Uuid,
    /// Set when the user gave a TOTP or recovery code in this session.
    pub mfa_verified: bool,
    /// The person belongs to other tenants too (the header offers to switch).
    #[serde(default)]
    pub can_switch: bool,
}

/// A person who gave the right password (and, for [`CHOOSING`], their second factor) and
/// has not yet started a session in one of their tenants.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingMfa {
    pub account_id: Uuid,
    /// The throttle's key for the account (hex), so the code counts against the same
    /// account and device as the password did.
    pub account_key: String,
    /// Given the second factor already (only while choosing a tenant).
    #[serde(default)]
    pub mfa_verified: bool,
    #[serde(with = "time::serde::timestamp")]
    pub since: OffsetDateTime,
}

/// The cookie: HttpOnly, SameSite=Lax; under TLS also Secure with the `__Host-` prefix.
pub fn layer(store: Store, config: &Config) -> SessionManagerLayer<Store> {
    let name = if config.behind_tls {
        "__Host-plotcare"
    } else {
        "plotcare"
    };
    let absolute = time::Duration::try_from(config.session_absolute_timeout)
        .unwrap_or(time::Duration::hours(12));
    SessionManagerLayer::new(store)
        .with_name(name)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.behind_tls)
        .with_path("/")
        // The stored record lives at most the absolute timeout from its last write;
        // the idle timeout is enforced on the user_sessions row (see current_user).
        .with_expiry(Expiry::OnInactivity(absolute))
}

pub fn store(pool: sqlx::PgPool) -> Store {
    Store::new(pool)
}

/// The store failing to answer is the database being away or busy: 503, try again.
fn session_error(e: tower_sessions::session::Error) -> AppError {
    match e {
        tower_sessions::session::Error::Store(tower_sessions::session_store::Error::Backend(
            cause,
        )) => {
            tracing::warn!(error.cause = %cause, "session store unavailable");
            AppError::Unavailable
        }
        other => AppError::Internal(anyhow::anyhow!("session store: {other}")),
    }
}

pub async fn get<T: serde::de::DeserializeOwned>(
    session: &Session,
    key: &str,
) -> Result<Option<T>, AppError> {
    session.get(key).await.map_err(session_error)
}

pub async fn insert(session: &Session, key: &str, value: impl Serialize) -> Result<(), AppError> {
    session.insert(key, value).await.map_err(session_error)
}

pub async fn remove<T: serde::de::DeserializeOwned>(
    session: &Session,
    key: &str,
) -> Result<Option<T>, AppError> {
    session.remove(key).await.map_err(session_error)
}

/// A new session id (on sign-in), keeping the data.
pub async fn cycle(session: &Session) -> Result<(), AppError> {
    session.cycle_id().await.map_err(session_error)
}

/// Deletes the session record and its data (on sign-out).
pub async fn flush(session: &Session) -> Result<(), AppError> {
    session.flush().await.map_err(session_error)
}

/// Adds a message to show on the next page.
pub async fn flash(
    session: &Session,
    kind: &str,
    message: impl Into<String>,
) -> Result<(), AppError> {
    let added = async {
        let mut messages: Vec<Flash> = get(session, FLASH).await?.unwrap_or_default();
        messages.push(Flash {
            kind: kind.into(),
            message: message.into(),
        });
        insert(session, FLASH, messages).await
    };
    match added.await {
        // After a committed change the message is a nicety: its loss must not turn the
        // change's answer into an error (the change is stored).
        Err(e) if crate::outage::committed() => {
            tracing::warn!(error = %e, "flash message lost after a committed change");
            Ok(())
        }
        other => other,
    }
}

/// Takes the messages waiting for this page.
/// Reads before removing: removing marks the session changed, and a changed session is
/// written back to the store, which most pages (with no messages) need not do.
pub async fn take_flash(session: &Session) -> Result<Vec<Flash>, AppError> {
    if get::<Vec<Flash>>(session, FLASH).await?.is_none() {
        return Ok(Vec::new());
    }
    Ok(remove(session, FLASH).await?.unwrap_or_default())
}

/// A message shown once on the next page (after a redirect).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Flash {
    /// "success", "info" or "error": a CSS class.
    pub kind: String,
    pub message: String,
}
