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
    manages_company: bool,
}

async fn home(user: std::result::Result<CurrentUser, AuthRejection>) -> Result<Response> {
    let user = match user {
        Ok(user) => user,
        Err(AuthRejection::SignIn { .. }) => return Ok(Redirect::to("/sign-in").into_response()),
        // E.g. two-factor authentication to set up first.
        Err(AuthRejection::Error(e)) => return Err(e),
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
        manages_company: user.is_company_admin,
    };
    Ok(page.into_response())
}
