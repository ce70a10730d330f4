//! The front door: signed-in users see their home page, everyone else the sign-in page.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    response::{IntoResponse, Redirect, Response},
    routing::get,
};

use crate::{
    AppState, Result,
    auth::{CurrentUser, current_user::AuthRejection},
    domain::Role,
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
struct HomePage {
    chrome: Chrome,
    first_name: String,
    is_admin: bool,
    needs_mfa: bool,
    manages_company: bool,
}

async fn home(user: std::result::Result<CurrentUser, AuthRejection>) -> Result<Response> {
    let Ok(user) = user else {
        return Ok(Redirect::to("/sign-in").into_response());
    };
    if user.role == Role::Subcontractor {
        return Ok(Redirect::to("/jobs").into_response());
    }
    let page = HomePage {
        chrome: user.chrome("Home").await?,
        first_name: user
            .name
            .split_whitespace()
            .next()
            .unwrap_or(&user.name)
            .to_owned(),
        is_admin: user.role == Role::Admin,
        needs_mfa: user.role == Role::Admin && !user.mfa_enrolled,
        manages_company: user.is_company_admin,
    };
    Ok(page.into_response())
}
