//! Admins: the tenant's security settings. Who must use two-factor authentication
//! (admins always; the whole team; everyone, subcontractors too), and who of them has not
//! set it up yet. A user who must and has not reaches only the set-up page and sign-out,
//! from their next request on.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};
use serde::Deserialize;

use crate::{
    AppState, Result,
    auth::{CurrentUser, mfa::MfaPolicy, policy},
    db::{
        self,
        audit::{self, Changes},
    },
    domain::FormErrors,
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/security", get(page).post(save))
}

struct PolicyOption {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

/// Someone the policy covers who has not set up a second factor.
struct Missing {
    id: String,
    name: String,
    role_label: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/security.html")]
struct SecurityPage {
    chrome: Chrome,
    options: Vec<PolicyOption>,
    missing: Vec<Missing>,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct PolicyForm {
    #[serde(default)]
    mfa_required: String,
}

async fn render(
    state: &AppState,
    user: &CurrentUser,
    chosen: Option<MfaPolicy>,
    errors: FormErrors,
) -> Result<SecurityPage> {
    let mut tx = user.begin(state).await?;
    let policy = db::tenants::mfa_policy(&mut tx).await?;
    let users = db::users::list(&mut tx, None).await?;
    tx.commit().await?;
    let missing = users
        .iter()
        .filter(|u| u.disabled_at.is_none() && !u.mfa_enrolled && policy.requires(u.role()))
        .map(|u| Missing {
            id: u.id.to_string(),
            name: u.name.clone(),
            role_label: u.role().label(),
        })
        .collect();
    let shown = chosen.unwrap_or(policy);
    Ok(SecurityPage {
        chrome: user.chrome("Security").await?,
        options: MfaPolicy::ALL
            .into_iter()
            .map(|p| PolicyOption {
                value: p.as_str(),
                label: p.label(),
                checked: p == shown,
            })
            .collect(),
        missing,
        errors,
    })
}

async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<SecurityPage> {
    policy::require_admin(&user)?;
    render(&state, &user, None, FormErrors::default()).await
}

async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<PolicyForm>,
) -> Result<Response> {
    policy::require_admin(&user)?;
    let Some(chosen) = MfaPolicy::parse(form.mfa_required.trim()) else {
        let mut errors = FormErrors::default();
        errors.add(
            "mfa_required",
            "Choose who must use two-factor authentication.",
        );
        let page = render(&state, &user, None, errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let mut tx = user.begin(&state).await?;
    let before = db::tenants::mfa_policy(&mut tx).await?;
    if before != chosen {
        db::tenants::set_mfa_policy(&mut tx, chosen).await?;
        audit::record(
            &mut tx,
            &user.actor(),
            "tenant.mfa_policy_changed",
            "tenant",
            Some(user.tenant.uuid()),
            Changes::new().field("mfa_required", before.as_str(), chosen.as_str()),
        )
        .await?;
    }
    tx.commit().await?;
    let message = if before == chosen {
        "Nothing changed."
    } else {
        "Saved. Anyone it covers who has not set up two-factor authentication is asked to on their next click."
    };
    user.flash("success", message).await?;
    Ok(Redirect::to("/admin/security").into_response())
}
