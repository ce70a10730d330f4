//! The signed-in user's own account: profile, password, two-factor
//! authentication and sessions (their API tokens are in [`super::account_tokens`]).
//!
//! Secrets (new API tokens, recovery codes) are shown once, on the page that
//! answers the form that made them, and never again: only hashes are kept.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::when;
use crate::{
    AppError, AppState, Result,
    auth::{
        CurrentUser,
        cross_tenant::accounts,
        current_user::Via,
        device, mfa, password,
        revoke::Because,
        session::{self, SignedIn},
        throttle, tokens,
    },
    db::{
        self,
        audit::{self, Changes},
        sessions::SessionRow,
    },
    domain::{FormErrors, NewPassword},
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/account", get(profile))
        .route(
            "/account/password",
            get(password_form).post(change_password),
        )
        .route("/account/mfa", get(mfa_page).post(mfa_enrol))
        .route("/account/mfa/recovery-codes", post(replace_recovery_codes))
        .route("/account/sessions", get(sessions))
        .route("/account/sessions/end-others", post(end_other_sessions))
        .route("/account/sessions/{id}/end", post(end_session))
}

/// How many recovery codes a user gets.
const RECOVERY_CODES: usize = 10;
/// How many sessions the sessions page lists.
const SESSIONS_SHOWN: i64 = 50;
const WRONG_CODE: &str = "That code is not right, or has already been used. Enter the current 6-digit code from your authenticator app.";

/// Pages that show a secret once must not be kept by the browser's cache.
pub(crate) fn shown_once(status: StatusCode, page: impl IntoResponse) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], page).into_response()
}

// ---------------------------------------------------------------- profile

#[derive(Template, WebTemplate)]
#[template(path = "account/index.html")]
struct ProfilePage {
    chrome: Chrome,
    name: String,
    email: String,
    role_label: &'static str,
    tenant_name: String,
    mfa_enrolled: bool,
    can_switch: bool,
}

async fn profile(user: CurrentUser) -> Result<ProfilePage> {
    Ok(ProfilePage {
        chrome: user.chrome("My account").await?,
        name: user.name.clone(),
        email: user.email.clone(),
        role_label: user.role.label(),
        tenant_name: user.tenant_name.clone(),
        mfa_enrolled: user.mfa_enrolled,
        can_switch: user.can_switch,
    })
}

// ---------------------------------------------------------------- password

#[derive(Template, WebTemplate)]
#[template(path = "account/password.html")]
struct PasswordPage {
    chrome: Chrome,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

async fn password_form(user: CurrentUser) -> Result<PasswordPage> {
    Ok(PasswordPage {
        chrome: user.chrome("Change your password").await?,
        errors: FormErrors::default(),
    })
}

/// The throttle's view of this user proving who they are again (a password or a code).
fn attempt<'a>(
    user: &CurrentUser,
    account_key: &'a [u8],
    device: Option<&'a device::KnownDevice>,
) -> throttle::Attempt<'a> {
    throttle::Attempt {
        account: account_key,
        ip: user.ip,
        device,
    }
}

async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response> {
    let account_key = throttle::account_key(&user.email);
    let known = device::recognise(&headers, &state.config, &account_key);
    let attempt = attempt(&user, &account_key, known.as_ref());
    throttle::check(&state.db, &attempt).await?;

    let mut tx = user.begin(&state).await?;
    let stored = accounts::password_hash(&mut tx, user.id).await?;
    drop(tx);

    let mut errors = FormErrors::default();
    if !password::verify(&form.current_password, stored.as_deref()).await {
        throttle::record_failure(&state.db, &attempt).await?;
        errors.add("current_password", "That is not your current password.");
    }
    let new_password = errors.check(NewPassword::parse("new_password", &form.new_password));
    if new_password.is_some() && form.confirm_password != form.new_password {
        errors.add(
            "confirm_password",
            "The two new passwords are different. Type the same password in both boxes.",
        );
    }
    let Some(new_password) = new_password.filter(|_| errors.is_empty()) else {
        let page = PasswordPage {
            chrome: user.chrome("Change your password").await?,
            errors,
        };
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };

    let hash = password::hash(&new_password).await?;
    let keep = match user.via {
        Via::Session(id) => Some(id),
        Via::Token { .. } => None,
    };
    let mut tx = user.begin(&state).await?;
    accounts::set_password(&mut tx, user.id, &hash).await?;
    let ended = accounts::sign_out_everywhere(
        &mut tx,
        &user.actor(),
        user.id,
        keep,
        Because::PasswordChanged,
    )
    .await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "user.password_changed",
        "user",
        Some(user.id),
        Changes::new()
            .note("other_sessions_ended", ended.sessions)
            .note("api_tokens_revoked", ended.tokens),
    )
    .await?;
    tx.commit().await?;

    let mut message = String::from("Your password has been changed.");
    if ended.sessions > 0 {
        message.push_str(" You have been signed out everywhere else.");
    }
    match ended.tokens {
        0 => {}
        1 => message.push_str(" Your API token was revoked: make a new one if you still need it."),
        n => message.push_str(&format!(
            " Your {n} API tokens were revoked: make new ones if you still need them."
        )),
    }
    user.flash("success", message).await?;
    Ok(Redirect::to("/account").into_response())
}

// ---------------------------------------------------------------- MFA

#[derive(Template, WebTemplate)]
#[template(path = "account/mfa_enrol.html")]
struct MfaEnrolPage {
    chrome: Chrome,
    /// The tenant requires it: nothing else opens until it is set up.
    required: bool,
    qr_data_uri: String,
    secret: String,
    errors: FormErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/mfa.html")]
struct MfaStatusPage {
    chrome: Chrome,
    unused_codes: i64,
    errors: FormErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "account/recovery_codes.html")]
struct RecoveryCodesPage {
    chrome: Chrome,
    codes: Vec<String>,
    just_enrolled: bool,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

/// The secret being enrolled: the one kept in the session, or a new one (kept there until confirmed).
async fn pending_secret(user: &CurrentUser) -> Result<String> {
    let Some(s) = user.session() else {
        return Err(AppError::BadRequest(
            "Set up two-factor authentication from your browser.".into(),
        ));
    };
    if let Some(secret) = session::get::<String>(s, session::MFA_ENROLMENT).await? {
        return Ok(secret);
    }
    let secret = mfa::new_secret();
    session::insert(s, session::MFA_ENROLMENT, &secret).await?;
    Ok(secret)
}

async fn enrol_page(
    user: &CurrentUser,
    secret: String,
    errors: FormErrors,
) -> Result<MfaEnrolPage> {
    let (_url, qr_data_uri) = mfa::enrolment(&secret, &user.email)?;
    Ok(MfaEnrolPage {
        chrome: user.chrome("Set up two-factor authentication").await?,
        required: user.mfa_required,
        qr_data_uri,
        secret,
        errors,
    })
}

async fn status_page(
    state: &AppState,
    user: &CurrentUser,
    errors: FormErrors,
) -> Result<MfaStatusPage> {
    let mut tx = user.begin(state).await?;
    let unused_codes = accounts::unused_recovery_codes(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(MfaStatusPage {
        chrome: user.chrome("Two-factor authentication").await?,
        unused_codes,
        errors,
    })
}

/// Ten new recovery codes: the codes to show once, and the hashes to store.
fn new_recovery_codes() -> (Vec<String>, Vec<Vec<u8>>) {
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| tokens::new_recovery_code())
        .collect();
    let hashes = codes
        .iter()
        .map(|c| tokens::hash(&c.to_lowercase()))
        .collect();
    (codes, hashes)
}

async fn mfa_page(State(state): State<AppState>, user: CurrentUser) -> Result<Response> {
    if user.mfa_enrolled {
        return Ok(status_page(&state, &user, FormErrors::default())
            .await?
            .into_response());
    }
    let secret = pending_secret(&user).await?;
    Ok(shown_once(
        StatusCode::OK,
        enrol_page(&user, secret, FormErrors::default()).await?,
    ))
}

async fn mfa_enrol(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<CodeForm>,
) -> Result<Response> {
    if user.mfa_enrolled {
        return Ok(Redirect::to("/account/mfa").into_response());
    }
    let secret = pending_secret(&user).await?;
    let Some(step) = mfa::matching_step(&secret, &form.code)? else {
        let mut errors = FormErrors::default();
        errors.add("code", WRONG_CODE);
        return Ok(shown_once(
            StatusCode::UNPROCESSABLE_ENTITY,
            enrol_page(&user, secret, errors).await?,
        ));
    };

    let (codes, hashes) = new_recovery_codes();
    let mut tx = user.begin(&state).await?;
    if !accounts::enrol_mfa(&mut tx, &user.actor(), user.id, &secret, step).await? {
        // Enrolled meanwhile (another tab): nothing to do here.
        return Ok(Redirect::to("/account/mfa").into_response());
    }
    accounts::replace_recovery_codes(&mut tx, user.id, &hashes).await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "mfa.enrolled",
        "user",
        Some(user.id),
        Changes::new().field("mfa_enabled", false, true),
    )
    .await?;
    tx.commit().await?;

    if let Some(s) = user.session() {
        session::remove::<String>(s, session::MFA_ENROLMENT).await?;
        if let Some(mut signed_in) = session::get::<SignedIn>(s, session::SIGNED_IN).await? {
            signed_in.mfa_verified = true;
            session::insert(s, session::SIGNED_IN, signed_in).await?;
        }
    }
    let page = RecoveryCodesPage {
        chrome: user.chrome("Two-factor authentication is on").await?,
        codes,
        just_enrolled: true,
    };
    Ok(shown_once(StatusCode::OK, page))
}

async fn replace_recovery_codes(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response> {
    if !user.mfa_enrolled {
        return Ok(Redirect::to("/account/mfa").into_response());
    }
    let account_key = throttle::account_key(&user.email);
    let known = device::recognise(&headers, &state.config, &account_key);
    let attempt = attempt(&user, &account_key, known.as_ref());
    throttle::check(&state.db, &attempt).await?;

    let mut tx = user.begin(&state).await?;
    if !accounts::consume_totp(&mut tx, user.id, &form.code).await? {
        drop(tx);
        throttle::record_failure(&state.db, &attempt).await?;
        let mut errors = FormErrors::default();
        errors.add("code", WRONG_CODE);
        let page = status_page(&state, &user, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    let (codes, hashes) = new_recovery_codes();
    accounts::replace_recovery_codes(&mut tx, user.id, &hashes).await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "mfa.recovery_codes_replaced",
        "user",
        Some(user.id),
        Changes::new().note("codes", RECOVERY_CODES),
    )
    .await?;
    tx.commit().await?;

    let page = RecoveryCodesPage {
        chrome: user.chrome("New recovery codes").await?,
        codes,
        just_enrolled: false,
    };
    Ok(shown_once(StatusCode::OK, page))
}

// ---------------------------------------------------------------- sessions

struct SessionView {
    id: Uuid,
    started: String,
    last_seen: String,
    ip: String,
    device: String,
    ended: Option<String>,
    current: bool,
}

impl SessionView {
    fn new(row: SessionRow, current: Option<Uuid>) -> Self {
        SessionView {
            id: row.id,
            started: when(row.created_at),
            last_seen: when(row.last_seen_at),
            ip: row.ip.unwrap_or_else(|| "Unknown".into()),
            device: device(row.user_agent.as_deref()),
            ended: row.ended_at.map(|at| match row.end_reason {
                Some(reason) => format!("{} ({reason})", when(at)),
                None => when(at),
            }),
            current: current == Some(row.id),
        }
    }
}

/// A short description of a browser from its user agent: "Firefox on Windows".
fn device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|ua| !ua.trim().is_empty()) else {
        return "Unknown device".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    let system = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("Windows", "Windows"),
        ("Mac OS", "Mac"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.into(),
        (None, Some(s)) => s.into(),
        (None, None) => ua.chars().take(60).collect(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "account/sessions.html")]
struct SessionsPage {
    chrome: Chrome,
    sessions: Vec<SessionView>,
    others_live: bool,
}

fn current_session(user: &CurrentUser) -> Option<Uuid> {
    match user.via {
        Via::Session(id) => Some(id),
        Via::Token { .. } => None,
    }
}

async fn sessions(State(state): State<AppState>, user: CurrentUser) -> Result<SessionsPage> {
    let mut tx = user.begin(&state).await?;
    let rows = db::sessions::for_user(&mut tx, user.id, SESSIONS_SHOWN).await?;
    tx.commit().await?;
    let current = current_session(&user);
    let sessions: Vec<SessionView> = rows
        .into_iter()
        .map(|r| SessionView::new(r, current))
        .collect();
    let others_live = sessions.iter().any(|s| !s.current && s.ended.is_none());
    Ok(SessionsPage {
        chrome: user.chrome("Your sessions").await?,
        sessions,
        others_live,
    })
}

async fn end_session(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = super::kit::parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    if !db::sessions::end_one(&mut tx, user.id, id, "ended by the user").await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        &user.actor(),
        "session.ended",
        "user_session",
        Some(id),
        Changes::new().note("reason", "ended by the user"),
    )
    .await?;
    tx.commit().await?;
    if current_session(&user) == Some(id) {
        return Ok(Redirect::to("/sign-in").into_response());
    }
    user.flash(
        "success",
        "That session has ended. It will be signed out on its next click.",
    )
    .await?;
    Ok(Redirect::to("/account/sessions").into_response())
}

async fn end_other_sessions(State(state): State<AppState>, user: CurrentUser) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let ended = db::sessions::end_all_for_user(
        &mut tx,
        user.id,
        current_session(&user),
        "ended by the user",
    )
    .await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "session.ended_others",
        "user",
        Some(user.id),
        Changes::new().note("sessions_ended", ended),
    )
    .await?;
    tx.commit().await?;
    let message = match ended {
        0 => "You had no other sessions.".to_owned(),
        1 => "Your other session has ended.".to_owned(),
        n => format!("Your {n} other sessions have ended."),
    };
    user.flash("success", message).await?;
    Ok(Redirect::to("/account/sessions").into_response())
}
