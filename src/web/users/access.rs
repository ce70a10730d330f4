//! Access to a tenant: disabling and enabling a member, ending their sessions,
//! resetting their second factor, and emailing them a set-password link (an invitation
//! again, or a reset). Links go only to the person, through the outbox.

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{InvitedPage, LINK_DAYS, LINK_PREFIX, admin_only, back, day_label, link_url, load};
use crate::{
    AppError, AppState, Result,
    auth::{
        CurrentUser, TenantTx,
        cross_tenant::accounts,
        current_user::Via,
        policy,
        revoke::{self, Because},
        tokens,
    },
    db::{
        self,
        audit::{self, Changes},
        users::LinkPurpose,
    },
    domain::Email,
    email,
};

/// Makes a set-password link for `user_id` and emails it to them through the outbox
/// (in `tx`). The link is never shown to the admin. Returns when it expires.
pub(super) async fn email_link(
    tx: &mut TenantTx,
    state: &AppState,
    by: &CurrentUser,
    headers: &HeaderMap,
    user_id: Uuid,
    to: &Email,
    purpose: LinkPurpose,
) -> Result<OffsetDateTime> {
    let (token, hash) = tokens::new_secret(LINK_PREFIX);
    let expires = db::users::create_password_link(
        tx,
        user_id,
        &hash,
        time::Duration::days(LINK_DAYS),
        purpose,
    )
    .await?;
    let link = link_url(state, headers, &token);
    let (subject, body) = match purpose {
        LinkPurpose::Invitation => (
            format!("You're invited to {} on Plotcare", by.tenant_name),
            format!(
                "{} has invited you to join {} on Plotcare.\n\n\
                 To accept, open this link by {}:\n{link}\n\n\
                 If you did not expect this invitation, you can ignore this email.",
                by.name,
                by.tenant_name,
                day_label(expires),
            ),
        ),
        LinkPurpose::Reset => (
            "Set a new Plotcare password".to_owned(),
            format!(
                "{} of {} has sent you a link to set a new Plotcare password.\n\n\
                 Open it by {} to choose one:\n{link}\n\n\
                 Setting a new password signs you out everywhere and revokes your API tokens. \
                 If you did not ask for this, you can ignore this email: your password stays as it is.",
                by.name,
                by.tenant_name,
                day_label(expires),
            ),
        ),
    };
    email::queue(tx, to.as_str(), &subject, &body, None).await?;
    Ok(expires)
}

pub(super) async fn disable(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let scope = policy::user_scope(&user)?;
    let mut tx = user.begin(&state).await?;
    let target = load(&mut tx, scope, &id).await?;
    if target.id == user.id {
        drop(tx);
        user.flash(
            "error",
            "You can't disable your own account. Ask another admin to do it.",
        )
        .await?;
        return Ok(back(target.id).into_response());
    }
    if target.disabled_at.is_none() {
        db::users::set_disabled(&mut tx, target.id, true).await?;
        let ended =
            revoke::sign_out_everywhere(&mut tx, &user.actor(), target.id, None, Because::Disabled)
                .await?;
        let changes = Changes::new()
            .field("status", "active", "disabled")
            .note("sessions_ended", ended.sessions)
            .note("api_tokens_revoked", ended.tokens);
        audit::record(
            &mut tx,
            &user.actor(),
            "user.disabled",
            "user",
            Some(target.id),
            changes,
        )
        .await?;
    }
    tx.commit().await?;
    user.flash(
        "success",
        format!("{} is disabled and signed out everywhere.", target.name),
    )
    .await?;
    Ok(back(target.id).into_response())
}

pub(super) async fn enable(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let scope = policy::user_scope(&user)?;
    let mut tx = user.begin(&state).await?;
    let target = load(&mut tx, scope, &id).await?;
    if target.disabled_at.is_some() {
        db::users::set_disabled(&mut tx, target.id, false).await?;
        audit::record(
            &mut tx,
            &user.actor(),
            "user.enabled",
            "user",
            Some(target.id),
            Changes::new().field("status", "disabled", "active"),
        )
        .await?;
    }
    tx.commit().await?;
    user.flash("success", format!("{} can sign in again.", target.name))
        .await?;
    Ok(back(target.id).into_response())
}

pub(super) async fn end_sessions(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let scope = policy::user_scope(&user)?;
    let mut tx = user.begin(&state).await?;
    let target = load(&mut tx, scope, &id).await?;
    // Your own: every session but this one.
    let keep = match user.via {
        Via::Session(s) if target.id == user.id => Some(s),
        _ => None,
    };
    let ended = revoke::sign_out_everywhere(
        &mut tx,
        &user.actor(),
        target.id,
        keep,
        Because::EndedByAdmin,
    )
    .await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "user.sessions_ended",
        "user",
        Some(target.id),
        Changes::new()
            .note("sessions_ended", ended.sessions)
            .note("api_tokens_revoked", ended.tokens),
    )
    .await?;
    tx.commit().await?;
    let mut message = match ended.sessions {
        0 => format!("{} had no other sessions.", target.name),
        1 => format!("Ended 1 session of {}.", target.name),
        n => format!("Ended {n} sessions of {}.", target.name),
    };
    match ended.tokens {
        0 => {}
        1 => message.push_str(" Their API token was revoked."),
        n => message.push_str(&format!(" Their {n} API tokens were revoked.")),
    }
    user.flash("success", message).await?;
    Ok(back(target.id).into_response())
}

pub(super) async fn reset_mfa(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let scope = policy::user_scope(&user)?;
    let mut tx = user.begin(&state).await?;
    let target = load(&mut tx, scope, &id).await?;
    admin_only(scope, "Only admins can reset two-factor authentication.")?;
    if target.id == user.id {
        drop(tx);
        user.flash(
            "error",
            "You can't reset your own two-factor authentication here. Ask another admin to do it.",
        )
        .await?;
        return Ok(back(target.id).into_response());
    }
    // Their second factor is their one sign-in's, which an invitation does not hand to
    // the inviter: only someone who has joined can have it reset here.
    if !target.accepted {
        drop(tx);
        user.flash(
            "error",
            format!(
                "{} has not joined yet, so there is no two-factor authentication of theirs to reset.",
                target.name
            ),
        )
        .await?;
        return Ok(back(target.id).into_response());
    }
    accounts::reset_mfa(&mut tx, &user.actor(), target.id).await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "user.mfa_reset",
        "user",
        Some(target.id),
        Changes::new().field("mfa_enrolled", target.mfa_enrolled, false),
    )
    .await?;
    // It is their one sign-in's second factor: they hear of it, wherever they use it.
    let body = format!(
        "{} of {} has reset two-factor authentication for your Plotcare sign-in. \
         Set it up again the next time you sign in.\n\n\
         If you did not ask for this, tell your admin at once.",
        user.name, user.tenant_name
    );
    email::queue(
        &mut tx,
        &target.email,
        "Your Plotcare two-factor authentication was reset",
        &body,
        None,
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!(
            "Two-factor authentication for {} is reset. They set it up again after signing in.",
            target.name
        ),
    )
    .await?;
    Ok(back(target.id).into_response())
}

pub(super) async fn new_password_link(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let scope = policy::user_scope(&user)?;
    let mut tx = user.begin(&state).await?;
    let target = load(&mut tx, scope, &id).await?;
    if target.disabled_at.is_some() {
        drop(tx);
        user.flash(
            "error",
            format!(
                "{} is disabled. Enable them before making a set-password link.",
                target.name
            ),
        )
        .await?;
        return Ok(back(target.id).into_response());
    }
    // Someone who has not joined yet is sent the invitation again; anyone else a reset.
    let purpose = if target.accepted {
        LinkPurpose::Reset
    } else {
        LinkPurpose::Invitation
    };
    let email =
        Email::parse("email", &target.email).map_err(|e| AppError::BadRequest(e.message))?;
    let expires = email_link(&mut tx, &state, &user, &headers, target.id, &email, purpose).await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "user.password_link_created",
        "user",
        Some(target.id),
        Changes::new()
            .note("purpose", purpose.as_str())
            .note("expires_at", expires.to_string()),
    )
    .await?;
    tx.commit().await?;
    let heading = match purpose {
        LinkPurpose::Reset => format!("A new set-password link for {}", target.name),
        LinkPurpose::Invitation => format!("{}'s invitation is sent again", target.name),
    };
    let chrome = user.chrome("New set-password link").await?;
    Ok(InvitedPage::new(chrome, heading, &target, purpose, expires).into_response())
}

/// How soon an invitation may be sent again.
const RESEND_AFTER_SECS: f64 = 60.0;

/// "Resend invitation" for someone who has not joined yet: a fresh link emailed to them
/// (the earlier ones stop working), at most once a minute.
pub(super) async fn resend_invitation(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let scope = policy::user_scope(&user)?;
    let mut tx = user.begin(&state).await?;
    let target = load(&mut tx, scope, &id).await?;
    let refused = if target.accepted {
        Some(format!(
            "{} has already joined, so there is no invitation to send again. \
             Email them a set-password link instead.",
            target.name
        ))
    } else if target.disabled_at.is_some() {
        Some(format!(
            "{} is disabled. Enable them before sending the invitation again.",
            target.name
        ))
    } else {
        None
    };
    if let Some(message) = refused {
        drop(tx);
        user.flash("error", message).await?;
        return Ok(back(target.id).into_response());
    }
    // One at a time per person (the row lock), and not twice within a minute.
    sqlx::query("SELECT 1 FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
        .bind(tx.tenant_id())
        .bind(target.id)
        .execute(&mut *tx)
        .await?;
    let waited: Option<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM now() - max(l.created_at))::float8
           FROM users u LEFT JOIN password_links l
                ON l.tenant_id = u.tenant_id AND l.user_id = u.id AND l.purpose = 'invitation'
          WHERE u.tenant_id = $1 AND u.id = $2
          GROUP BY u.id",
    )
    .bind(tx.tenant_id())
    .bind(target.id)
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    if waited.is_some_and(|w| w < RESEND_AFTER_SECS) {
        drop(tx);
        user.flash(
            "error",
            format!(
                "An invitation was emailed to {} less than a minute ago. \
                 Give it a minute to arrive before sending another.",
                target.name
            ),
        )
        .await?;
        return Ok(back(target.id).into_response());
    }
    let email =
        Email::parse("email", &target.email).map_err(|e| AppError::BadRequest(e.message))?;
    let expires = email_link(
        &mut tx,
        &state,
        &user,
        &headers,
        target.id,
        &email,
        LinkPurpose::Invitation,
    )
    .await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "user.invitation_resent",
        "user",
        Some(target.id),
        Changes::new().note("expires_at", expires.to_string()),
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!(
            "We have emailed {} a new invitation ({}). It works until {}; links sent before no longer work.",
            target.name,
            target.email,
            day_label(expires)
        ),
    )
    .await?;
    Ok(back(target.id).into_response())
}
