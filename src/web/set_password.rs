//! The public page a set-password link opens: a person invited to a tenant (or sent a
//! reset) chooses their password. An invitation for someone who already signs in to
//! Plotcare sets nothing: it says to sign in and choose the tenant. The link's secret is
//! in the path; only its hash is stored, and it reaches only the person (by email).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;

use crate::{
    AppState, Result,
    auth::{
        TenantTx, Visitor,
        cross_tenant::{self, PasswordLink, accounts},
        password,
        revoke::Because,
        session, tokens,
    },
    db::{
        self,
        audit::{self, Changes},
    },
    domain::{FormErrors, NewPassword},
    error::ErrorPage,
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/set-password/{token}", get(form).post(submit))
}

#[derive(Template, WebTemplate)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    chrome: Chrome,
    name: String,
    email: String,
    token: String,
    errors: FormErrors,
}

/// An invitation for someone who already has a Plotcare sign-in.
#[derive(Template, WebTemplate)]
#[template(path = "set_password_join.html")]
struct JoinPage {
    chrome: Chrome,
    name: String,
    tenant_name: String,
}

#[derive(Deserialize)]
struct SetPasswordForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
}

/// An unknown, used or expired link: the same answer for each.
fn expired() -> Response {
    ErrorPage {
        status: 404,
        title: "Link expired".into(),
        message: "This link has expired or has already been used. Ask your admin for a new one."
            .into(),
        reference: None,
    }
    .render_response()
}

async fn page(
    state: &AppState,
    visitor: &Visitor,
    link: &PasswordLink,
    token: String,
    errors: FormErrors,
) -> Result<Option<Response>> {
    let mut tx = TenantTx::begin(&state.db, link.tenant()).await?;
    let user = db::users::find(&mut tx, link.user_id).await?;
    tx.commit().await?;
    let Some(user) = user else {
        return Ok(None);
    };
    if link.only_joins() {
        let page = JoinPage {
            chrome: visitor.chrome(format!("Join {}", link.tenant_name)).await?,
            name: user.name,
            tenant_name: link.tenant_name.clone(),
        };
        return Ok(Some(page.into_response()));
    }
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = SetPasswordPage {
        chrome: visitor.chrome("Set your password").await?,
        name: user.name,
        email: user.email,
        token,
        errors,
    };
    Ok(Some((status, page).into_response()))
}

async fn form(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response> {
    let Some(link) = cross_tenant::password_link(&state.db, &tokens::hash(&token)).await? else {
        return Ok(expired());
    };
    Ok(page(&state, &visitor, &link, token, FormErrors::default())
        .await?
        .unwrap_or_else(expired))
}

async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
    Form(form): Form<SetPasswordForm>,
) -> Result<Response> {
    let Some(link) = cross_tenant::password_link(&state.db, &tokens::hash(&token)).await? else {
        return Ok(expired());
    };
    let mut errors = FormErrors::default();
    let new_password = errors.check(NewPassword::parse("new_password", &form.new_password));
    if new_password.is_some() && form.confirm != form.new_password {
        errors.add(
            "confirm",
            "The two passwords don't match. Type the same password in both boxes.",
        );
    }
    let (Some(new_password), true, false) = (new_password, errors.is_empty(), link.only_joins())
    else {
        // (An invitation for someone who already signs in sets no password: it shows how to join.)
        return Ok(page(&state, &visitor, &link, token, errors)
            .await?
            .unwrap_or_else(expired));
    };
    let hash = password::hash(&new_password).await?;
    let user_id = link.user_id;
    let mut tx = TenantTx::begin(&state.db, link.tenant()).await?;
    if !db::users::use_password_link(&mut tx, link.link_id, user_id).await? {
        return Ok(expired());
    }
    let actor = visitor.actor(Some(user_id));
    accounts::set_password(&mut tx, user_id, &hash).await?;
    let joined = accounts::accept_membership(&mut tx, user_id).await?;
    // Their one sign-in changed: every session and token of theirs ends, in every tenant.
    let ended =
        accounts::sign_out_everywhere(&mut tx, &actor, user_id, None, Because::PasswordReset)
            .await?;
    audit::record(
        &mut tx,
        &actor,
        "user.password_set",
        "user",
        Some(user_id),
        Changes::new()
            .note("via", "set-password link")
            .note("joined", joined)
            .note("sessions_ended", ended.sessions)
            .note("api_tokens_revoked", ended.tokens),
    )
    .await?;
    tx.commit().await?;
    session::flash(
        &visitor.session,
        "success",
        "Your password is set. Sign in with your email and your new password.",
    )
    .await?;
    Ok(Redirect::to("/sign-in").into_response())
}
