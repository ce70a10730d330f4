//! Sign-in (password, then a TOTP or recovery code for users with MFA) and sign-out.
//!
//! An unknown email and a wrong password get the same answer after the same
//! argon2 work. Failures are throttled per account, address and device; a browser that
//! signs in becomes a known device of the account (see `auth::device`).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    AppState, Result,
    auth::{
        CurrentUser, TenantId, TenantTx, Visitor, cross_tenant, csrf,
        current_user::Via,
        device, password,
        session::{self, PendingMfa, SignedIn},
        throttle,
    },
    db::{
        self,
        audit::{self, Changes},
    },
    domain::Email,
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(form).post(submit))
        .route("/sign-in/code", get(code_form).post(code_submit))
        .route("/sign-out", post(sign_out))
}

const WRONG: &str = "That email and password don't match an account. Check them and try again.";
/// How long after the password the code may be given.
const PENDING_MFA_MINUTES: i64 = 5;

#[derive(Template, WebTemplate)]
#[template(path = "sign_in/form.html")]
struct SignInPage {
    chrome: Chrome,
    email: String,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "sign_in/code.html")]
struct CodePage {
    chrome: Chrome,
    error: Option<String>,
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn form(visitor: Visitor) -> Result<SignInPage> {
    Ok(SignInPage {
        chrome: visitor.chrome("Sign in").await?,
        email: String::new(),
        error: None,
    })
}

async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<SignInForm>,
) -> Result<Response> {
    let account_key = throttle::account_key(&form.email);
    let device = device::recognise(&visitor.headers, &state.config, &account_key);
    let attempt = throttle::Attempt {
        account: &account_key,
        ip: visitor.ip,
        device: device.as_ref(),
    };
    throttle::check(&state.db, &attempt).await?;

    let account = match Email::parse("email", &form.email) {
        Ok(email) => cross_tenant::account_for_sign_in(&state.db, &email).await?,
        Err(_) => None,
    };
    // Always one argon2 verification, whether or not the account exists.
    let password_ok = password::verify(
        &form.password,
        account.as_ref().and_then(|a| a.password_hash.as_deref()),
    )
    .await;

    match account {
        Some(account) if password_ok && account.active => {
            throttle::clear(&state.db, &attempt).await?;
            if account.mfa_enabled {
                let pending = PendingMfa {
                    tenant_id: account.tenant_id,
                    user_id: account.user_id,
                    account_key: hex::encode(&account_key),
                    since: OffsetDateTime::now_utc(),
                };
                session::insert(&visitor.session, session::PENDING_MFA, pending).await?;
                return Ok(Redirect::to("/sign-in/code").into_response());
            }
            let must_set_up_mfa = account.must_set_up_mfa();
            let device = complete(
                &state,
                &visitor,
                account.tenant(),
                account.user_id,
                &account_key,
                false,
            )
            .await?;
            let to = if must_set_up_mfa { "/account/mfa" } else { "/" };
            Ok(([(header::SET_COOKIE, device)], Redirect::to(to)).into_response())
        }
        other => {
            throttle::record_failure(&state.db, &attempt).await?;
            if let Some(account) = other {
                let reason = if !password_ok {
                    "wrong password"
                } else {
                    "account disabled"
                };
                let mut tx = TenantTx::begin(&state.db, account.tenant()).await?;
                audit::record(
                    &mut tx,
                    &visitor.actor(Some(account.user_id)),
                    "session.sign_in_failed",
                    "user",
                    Some(account.user_id),
                    Changes::new().note("reason", reason),
                )
                .await?;
                tx.commit().await?;
            }
            let page = SignInPage {
                chrome: visitor.chrome("Sign in").await?,
                email: form.email.trim().to_owned(),
                error: Some(WRONG.into()),
            };
            Ok((StatusCode::UNAUTHORIZED, page).into_response())
        }
    }
}

/// Starts the signed-in session: a new session id, a `user_sessions` row, an audit record,
/// a new CSRF token. Returns the Set-Cookie that makes this browser a known device.
async fn complete(
    state: &AppState,
    visitor: &Visitor,
    tenant: TenantId,
    user_id: Uuid,
    account_key: &[u8],
    mfa_verified: bool,
) -> Result<HeaderValue> {
    session::cycle(&visitor.session).await?;
    let mut tx = TenantTx::begin(&state.db, tenant).await?;
    let user_session_id =
        db::sessions::start(&mut tx, user_id, visitor.ip, visitor.user_agent.as_deref()).await?;
    audit::record(
        &mut tx,
        &visitor.actor(Some(user_id)),
        "session.signed_in",
        "user",
        Some(user_id),
        Changes::new().note("second_factor", mfa_verified),
    )
    .await?;
    tx.commit().await?;
    session::remove::<PendingMfa>(&visitor.session, session::PENDING_MFA).await?;
    session::insert(
        &visitor.session,
        session::SIGNED_IN,
        SignedIn {
            tenant_id: tenant.uuid(),
            user_session_id,
            mfa_verified,
        },
    )
    .await?;
    csrf::renew(&visitor.session).await?;
    Ok(device::remember(
        &visitor.headers,
        &state.config,
        account_key,
    ))
}

async fn pending(visitor: &Visitor) -> Result<Option<PendingMfa>> {
    let pending = session::get::<PendingMfa>(&visitor.session, session::PENDING_MFA).await?;
    Ok(pending.filter(|p| {
        OffsetDateTime::now_utc() - p.since < time::Duration::minutes(PENDING_MFA_MINUTES)
    }))
}

async fn code_form(visitor: Visitor) -> Result<Response> {
    if pending(&visitor).await?.is_none() {
        return Ok(Redirect::to("/sign-in").into_response());
    }
    Ok(CodePage {
        chrome: visitor.chrome("Enter your code").await?,
        error: None,
    }
    .into_response())
}

async fn code_submit(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<CodeForm>,
) -> Result<Response> {
    let Some(pending) = pending(&visitor).await? else {
        session::flash(
            &visitor.session,
            "error",
            "That took too long. Please sign in again.",
        )
        .await?;
        return Ok(Redirect::to("/sign-in").into_response());
    };
    let account_key = hex::decode(&pending.account_key).unwrap_or_default();
    let device = device::recognise(&visitor.headers, &state.config, &account_key);
    let attempt = throttle::Attempt {
        account: &account_key,
        ip: visitor.ip,
        device: device.as_ref(),
    };
    throttle::check(&state.db, &attempt).await?;
    let tenant = TenantId::trusted(pending.tenant_id);
    let mut tx = TenantTx::begin(&state.db, tenant).await?;
    let factor = db::sessions::consume_second_factor(&mut tx, pending.user_id, &form.code).await?;
    let actor = visitor.actor(Some(pending.user_id));
    match factor {
        Some(factor) => {
            let how = match factor {
                db::sessions::SecondFactor::Totp => "authenticator code",
                db::sessions::SecondFactor::RecoveryCode => "recovery code",
            };
            audit::record(
                &mut tx,
                &actor,
                "mfa.verified",
                "user",
                Some(pending.user_id),
                Changes::new().note("method", how),
            )
            .await?;
            tx.commit().await?;
            throttle::clear(&state.db, &attempt).await?;
            let device = complete(
                &state,
                &visitor,
                tenant,
                pending.user_id,
                &account_key,
                true,
            )
            .await?;
            if factor == db::sessions::SecondFactor::RecoveryCode {
                session::flash(&visitor.session, "info", "You used a recovery code. It won't work again: generate new codes on your account page if you are running low.").await?;
            }
            Ok(([(header::SET_COOKIE, device)], Redirect::to("/")).into_response())
        }
        None => {
            audit::record(
                &mut tx,
                &actor,
                "mfa.failed",
                "user",
                Some(pending.user_id),
                Changes::new(),
            )
            .await?;
            tx.commit().await?;
            throttle::record_failure(&state.db, &attempt).await?;
            let page = CodePage {
                chrome: visitor.chrome("Enter your code").await?,
                error: Some("That code is not right, or has already been used. Enter the current code from your authenticator app.".into()),
            };
            Ok((StatusCode::UNAUTHORIZED, page).into_response())
        }
    }
}

async fn sign_out(State(state): State<AppState>, user: CurrentUser) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    if let Via::Session(id) = user.via {
        crate::auth::current_user::end_session(&mut tx, id, "signed out").await?;
    }
    audit::record(
        &mut tx,
        &user.actor(),
        "session.signed_out",
        "user",
        Some(user.id),
        Changes::new(),
    )
    .await?;
    tx.commit().await?;
    if let Some(s) = user.session() {
        session::flush(s).await?;
        session::flash(s, "success", "You have signed out.").await?;
    }
    Ok(Redirect::to("/sign-in").into_response())
}
