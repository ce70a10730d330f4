//! Sign-in (password, then a TOTP or recovery code for people with MFA), choosing one of
//! the tenants a person belongs to, switching to another, and sign-out.
//!
//! One person has one account (email, password, second factor) and a membership in each
//! tenant they belong to. After proving who they are they enter their only tenant, or
//! choose one; a session belongs to one membership, and switching starts a fresh session
//! in the other. An unknown email and a wrong password get the same answer after the
//! same argon2 work. Failures are throttled per account, address and device; a browser
//! that signs in becomes a known device of the account (see `auth::device`).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    AppError, AppState, Result,
    auth::{
        CurrentUser, TenantTx, Visitor,
        cross_tenant::{
            self, Membership,
            accounts::{self, SecondFactor},
        },
        csrf,
        current_user::Via,
        device, kept, password,
        session::{self, PendingMfa, SignedIn},
        throttle,
    },
    db::{
        self,
        audit::{self, Changes},
    },
    domain::Email,
    web::{chrome::Chrome, query::Query},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sign-in", get(form).post(submit))
        .route("/sign-in/code", get(code_form).post(code_submit))
        .route("/sign-in/choose", get(choose_form).post(choose))
        .route("/switch", get(switch_form).post(switch))
        .route("/sign-out", post(sign_out))
}

const WRONG: &str = "That email and password don't match an account. Check them and try again.";
/// How long after the password the code may be given, and a tenant chosen.
const PENDING_MINUTES: i64 = 5;

#[derive(Template, WebTemplate)]
#[template(path = "sign_in/form.html")]
struct SignInPage {
    chrome: Chrome,
    email: String,
    error: Option<String>,
    /// Where to go after signing in (a safe same-site path), or empty.
    next: String,
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
    #[serde(default)]
    next: String,
}

#[derive(Deserialize, Default)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

/// `next` if it is a same-site path (else nothing: the home page).
fn safe(next: &str) -> String {
    kept::safe_next(next).unwrap_or_default().to_owned()
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn form(visitor: Visitor, Query(q): Query<NextQuery>) -> Result<SignInPage> {
    Ok(SignInPage {
        chrome: visitor.chrome("Sign in").await?,
        email: String::new(),
        error: None,
        next: safe(&q.next),
    })
}

/// The throttle's view of this attempt.
fn attempt<'a>(
    visitor: &Visitor,
    account_key: &'a [u8],
    known: Option<&'a device::KnownDevice>,
) -> throttle::Attempt<'a> {
    throttle::Attempt {
        account: account_key,
        ip: visitor.ip,
        device: known,
    }
}

async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<SignInForm>,
) -> Result<Response> {
    let account_key = throttle::account_key(&form.email);
    let known = device::recognise(&visitor.headers, &state.config, &account_key);
    let attempt = attempt(&visitor, &account_key, known.as_ref());
    throttle::check(&state.db, &attempt).await?;

    let found = match Email::parse("email", &form.email) {
        Ok(email) => cross_tenant::account_for_sign_in(&state.db, &email).await?,
        Err(_) => None,
    };
    // Always one argon2 verification, whether or not the account exists.
    let password_ok = password::verify(
        &form.password,
        found.as_ref().and_then(|(a, _)| a.password_hash.as_deref()),
    )
    .await;

    match found {
        Some((account, memberships)) if password_ok && memberships.iter().any(|m| m.active) => {
            throttle::clear(&state.db, &attempt).await?;
            // Where to land once in (after the code and the choice of tenant, if any).
            match kept::safe_next(&form.next) {
                Some(next) => session::insert(&visitor.session, session::NEXT, next).await?,
                None => {
                    session::remove::<String>(&visitor.session, session::NEXT).await?;
                }
            }
            let pending = PendingMfa {
                account_id: account.account_id,
                account_key: hex::encode(&account_key),
                mfa_verified: false,
                since: crate::domain::clock::now(),
            };
            if account.mfa_enabled {
                session::insert(&visitor.session, session::PENDING_MFA, pending).await?;
                return Ok(Redirect::to("/sign-in/code").into_response());
            }
            proven(&state, &visitor, pending, memberships).await
        }
        other => {
            throttle::record_failure(&state.db, &attempt).await?;
            if let Some((_, memberships)) = other {
                let reason = if !password_ok {
                    "wrong password"
                } else {
                    "account disabled"
                };
                let changes = Changes::new().note("reason", reason);
                audit_for_person(
                    &state,
                    &visitor,
                    &memberships,
                    "session.sign_in_failed",
                    changes,
                )
                .await?;
            }
            let page = SignInPage {
                chrome: visitor.chrome("Sign in").await?,
                email: form.email.trim().to_owned(),
                error: Some(WRONG.into()),
                next: safe(&form.next),
            };
            Ok((StatusCode::UNAUTHORIZED, page).into_response())
        }
    }
}

/// An event about the person before they are in one tenant (a failed password, a second
/// factor given or not): each of their tenants' audit trails records it.
async fn audit_for_person(
    state: &AppState,
    visitor: &Visitor,
    memberships: &[Membership],
    action: &str,
    changes: Changes,
) -> Result<()> {
    for m in memberships {
        let mut tx = TenantTx::begin(&state.db, m.tenant()).await?;
        let actor = visitor.actor(Some(m.user_id));
        audit::record(
            &mut tx,
            &actor,
            action,
            "user",
            Some(m.user_id),
            changes.clone(),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// The person proved who they are: into their only tenant, or on to choose one. This
/// browser becomes a known device of the account.
async fn proven(
    state: &AppState,
    visitor: &Visitor,
    mut pending: PendingMfa,
    memberships: Vec<Membership>,
) -> Result<Response> {
    let account_key = hex::decode(&pending.account_key).unwrap_or_default();
    let known_device = device::remember(&visitor.headers, &state.config, &account_key);
    let active: Vec<Membership> = memberships.into_iter().filter(|m| m.active).collect();
    let next = match active.as_slice() {
        [only] => enter(state, visitor, only, pending.mfa_verified, false).await?,
        _ => {
            pending.since = crate::domain::clock::now();
            session::remove::<PendingMfa>(&visitor.session, session::PENDING_MFA).await?;
            session::insert(&visitor.session, session::CHOOSING, pending).await?;
            Redirect::to("/sign-in/choose").into_response()
        }
    };
    Ok(([(header::SET_COOKIE, known_device)], next).into_response())
}

/// Starts a session in one membership: a new session id, a `user_sessions` row, the
/// membership accepted if it was an invitation, audit records, a new CSRF token. Sends
/// them to set up a second factor if their tenant requires one they have not set up.
async fn enter(
    state: &AppState,
    visitor: &Visitor,
    membership: &Membership,
    mfa_verified: bool,
    can_switch: bool,
) -> Result<Response> {
    session::cycle(&visitor.session).await?;
    let user_id = membership.user_id;
    let actor = visitor.actor(Some(user_id));
    let mut tx = TenantTx::begin(&state.db, membership.tenant()).await?;
    if accounts::accept_membership(&mut tx, user_id).await? {
        audit::record(
            &mut tx,
            &actor,
            "user.joined",
            "user",
            Some(user_id),
            Changes::new().field("status", "invited", "active"),
        )
        .await?;
    }
    let user_session_id =
        db::sessions::start(&mut tx, user_id, visitor.ip, visitor.user_agent.as_deref()).await?;
    // A form kept when their last session here ended goes back to its page.
    let back_to_kept = kept::claim(&visitor.session, &mut tx, user_id).await?;
    audit::record(
        &mut tx,
        &actor,
        "session.signed_in",
        "user",
        Some(user_id),
        Changes::new().note("second_factor", mfa_verified),
    )
    .await?;
    tx.commit().await?;
    session::remove::<PendingMfa>(&visitor.session, session::PENDING_MFA).await?;
    session::remove::<PendingMfa>(&visitor.session, session::CHOOSING).await?;
    session::insert(
        &visitor.session,
        session::SIGNED_IN,
        SignedIn {
            tenant_id: membership.tenant_id,
            user_session_id,
            mfa_verified,
            can_switch,
        },
    )
    .await?;
    csrf::renew(&visitor.session).await?;
    // Whoever gave a second factor has one: only those without may need to set one up.
    let asked = session::remove::<String>(&visitor.session, session::NEXT).await?;
    let to = if membership.requires_mfa() && !mfa_verified {
        "/account/mfa".to_owned()
    } else if let Some(page) = back_to_kept {
        session::flash(&visitor.session, "info", kept::KEPT_MESSAGE).await?;
        page
    } else {
        asked
            .as_deref()
            .and_then(kept::safe_next)
            .unwrap_or("/")
            .to_owned()
    };
    Ok(Redirect::to(&to).into_response())
}

/// What is waiting under `key` (a code, a choice), if it is recent enough.
async fn waiting(visitor: &Visitor, key: &str) -> Result<Option<PendingMfa>> {
    let pending = session::get::<PendingMfa>(&visitor.session, key).await?;
    Ok(pending.filter(|p| {
        crate::domain::clock::now() - p.since < time::Duration::minutes(PENDING_MINUTES)
    }))
}

async fn too_late(visitor: &Visitor) -> Result<Response> {
    session::flash(
        &visitor.session,
        "error",
        "That took too long. Please sign in again.",
    )
    .await?;
    Ok(Redirect::to("/sign-in").into_response())
}

// ---------------------------------------------------------------- the second factor

async fn code_form(visitor: Visitor) -> Result<Response> {
    if waiting(&visitor, session::PENDING_MFA).await?.is_none() {
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
    let Some(mut pending) = waiting(&visitor, session::PENDING_MFA).await? else {
        return too_late(&visitor).await;
    };
    let account_key = hex::decode(&pending.account_key).unwrap_or_default();
    let known = device::recognise(&visitor.headers, &state.config, &account_key);
    let attempt = attempt(&visitor, &account_key, known.as_ref());
    throttle::check(&state.db, &attempt).await?;
    let factor = accounts::consume_second_factor(&state.db, pending.account_id, &form.code).await?;
    let memberships = cross_tenant::memberships(&state.db, pending.account_id).await?;
    let Some(factor) = factor else {
        audit_for_person(&state, &visitor, &memberships, "mfa.failed", Changes::new()).await?;
        throttle::record_failure(&state.db, &attempt).await?;
        let page = CodePage {
            chrome: visitor.chrome("Enter your code").await?,
            error: Some("That code is not right, or has already been used. Enter the current code from your authenticator app.".into()),
        };
        return Ok((StatusCode::UNAUTHORIZED, page).into_response());
    };
    let how = match factor {
        SecondFactor::Totp => "authenticator code",
        SecondFactor::RecoveryCode => "recovery code",
    };
    let changes = Changes::new().note("method", how);
    audit_for_person(&state, &visitor, &memberships, "mfa.verified", changes).await?;
    throttle::clear(&state.db, &attempt).await?;
    if factor == SecondFactor::RecoveryCode {
        session::flash(&visitor.session, "info", "You used a recovery code. It won't work again: generate new codes on your account page if you are running low.").await?;
    }
    pending.mfa_verified = true;
    proven(&state, &visitor, pending, memberships).await
}

// ---------------------------------------------------------------- choosing a tenant

/// One tenant on the choose and switch pages.
struct Choice {
    user_id: Uuid,
    tenant_name: String,
    role_label: &'static str,
    /// Not joined yet: choosing it accepts the invitation.
    invitation: bool,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "sign_in/choose.html")]
struct ChoosePage {
    chrome: Chrome,
    /// Where the form posts: `/sign-in/choose` or `/switch`.
    action: &'static str,
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct ChooseForm {
    #[serde(default)]
    membership: String,
}

fn choices(memberships: &[Membership], current: Option<Uuid>) -> Vec<Choice> {
    memberships
        .iter()
        .filter(|m| m.active)
        .map(|m| Choice {
            user_id: m.user_id,
            tenant_name: m.tenant_name.clone(),
            role_label: m.role().label(),
            invitation: !m.accepted,
            current: current == Some(m.user_id),
        })
        .collect()
}

/// The chosen membership, if it is one of the account's active ones.
async fn chosen(state: &AppState, account: Uuid, form: &ChooseForm) -> Result<Membership> {
    let id = Uuid::parse_str(form.membership.trim()).map_err(|_| AppError::NotFound)?;
    cross_tenant::memberships(&state.db, account)
        .await?
        .into_iter()
        .find(|m| m.active && m.user_id == id)
        .ok_or(AppError::NotFound)
}

async fn choose_form(State(state): State<AppState>, visitor: Visitor) -> Result<Response> {
    let Some(pending) = waiting(&visitor, session::CHOOSING).await? else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    let memberships = cross_tenant::memberships(&state.db, pending.account_id).await?;
    Ok(ChoosePage {
        chrome: visitor.chrome("Choose an organisation").await?,
        action: "/sign-in/choose",
        choices: choices(&memberships, None),
    }
    .into_response())
}

async fn choose(
    State(state): State<AppState>,
    visitor: Visitor,
    Form(form): Form<ChooseForm>,
) -> Result<Response> {
    let Some(pending) = waiting(&visitor, session::CHOOSING).await? else {
        return too_late(&visitor).await;
    };
    let membership = chosen(&state, pending.account_id, &form).await?;
    enter(&state, &visitor, &membership, pending.mfa_verified, true).await
}

// ---------------------------------------------------------------- switching

async fn switch_form(State(state): State<AppState>, user: CurrentUser) -> Result<ChoosePage> {
    let memberships = cross_tenant::memberships(&state.db, user.account_id).await?;
    Ok(ChoosePage {
        chrome: user.chrome("Switch organisation").await?,
        action: "/switch",
        choices: choices(&memberships, Some(user.id)),
    })
}

/// Ends this session and starts a fresh one in another of the person's tenants, with the
/// second factor they gave at sign-in.
async fn switch(
    State(state): State<AppState>,
    user: CurrentUser,
    visitor: Visitor,
    Form(form): Form<ChooseForm>,
) -> Result<Response> {
    let membership = chosen(&state, user.account_id, &form).await?;
    if membership.user_id == user.id {
        return Ok(Redirect::to("/").into_response());
    }
    let mut tx = user.begin(&state).await?;
    if let Via::Session(id) = user.via {
        crate::auth::current_user::end_session(&mut tx, id, "switched organisation").await?;
    }
    audit::record(
        &mut tx,
        &user.actor(),
        "session.switched_away",
        "user",
        Some(user.id),
        Changes::new(),
    )
    .await?;
    tx.commit().await?;
    enter(&state, &visitor, &membership, user.mfa_verified, true).await
}

// ---------------------------------------------------------------- signing out

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
