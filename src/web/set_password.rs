//! The public page where an invited user (or one given a new link) sets their password.
//! The link's secret is in the path; only its hash is stored.

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
        TenantTx, Visitor, cross_tenant, password,
        revoke::{self, Because},
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
    token: String,
    errors: FormErrors,
) -> Result<Option<SetPasswordPage>> {
    let Some((tenant, _link, user_id)) =
        cross_tenant::password_link(&state.db, &tokens::hash(&token)).await?
    else {
        return Ok(None);
    };
    let mut tx = TenantTx::begin(&state.db, tenant).await?;
    let user = db::users::find(&mut tx, user_id).await?;
    tx.commit().await?;
    let Some(user) = user else {
        return Ok(None);
    };
    Ok(Some(SetPasswordPage {
        chrome: visitor.chrome("Set your password").await?,
        name: user.name,
        email: user.email,
        token,
        errors,
    }))
}

async fn form(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
) -> Result<Response> {
    Ok(
        match page(&state, &visitor, token, FormErrors::default()).await? {
            Some(page) => page.into_response(),
            None => expired(),
        },
    )
}

async fn submit(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(token): Path<String>,
    Form(form): Form<SetPasswordForm>,
) -> Result<Response> {
    let Some((tenant, link_id, user_id)) =
        cross_tenant::password_link(&state.db, &tokens::hash(&token)).await?
    else {
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
    let (Some(new_password), true) = (new_password, errors.is_empty()) else {
        return Ok(match page(&state, &visitor, token, errors).await? {
            Some(page) => (StatusCode::UNPROCESSABLE_ENTITY, page).into_response(),
            None => expired(),
        });
    };
    let hash = password::hash(&new_password).await?;
    let mut tx = TenantTx::begin(&state.db, tenant).await?;
    if !db::users::use_password_link(&mut tx, link_id, user_id, &hash).await? {
        return Ok(expired());
    }
    let actor = visitor.actor(Some(user_id));
    let ended =
        revoke::sign_out_everywhere(&mut tx, &actor, user_id, None, Because::PasswordReset).await?;
    audit::record(
        &mut tx,
        &actor,
        "user.password_set",
        "user",
        Some(user_id),
        Changes::new()
            .note("via", "set-password link")
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
