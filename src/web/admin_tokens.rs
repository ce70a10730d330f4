//! Admins: every personal API token in the tenant, with its owner and last use; revoke any of them.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};

use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, policy},
    db::{
        self,
        audit::{self, Changes},
    },
    web::{account_tokens::TokenView, chrome::Chrome},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/tokens", get(list))
        .route("/admin/tokens/{id}/revoke", post(revoke))
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/tokens.html")]
struct AdminTokensPage {
    chrome: Chrome,
    tokens: Vec<TokenView>,
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<AdminTokensPage> {
    policy::require_admin(&user)?;
    let mut tx = user.begin(&state).await?;
    let tokens = db::api_tokens::all(&mut tx)
        .await?
        .into_iter()
        .map(TokenView::from)
        .collect();
    tx.commit().await?;
    Ok(AdminTokensPage {
        chrome: user.chrome("API tokens").await?,
        tokens,
    })
}

async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let id = super::kit::parse_id(&id)?;
    policy::require_admin(&user)?;
    let mut tx = user.begin(&state).await?;
    let token = db::api_tokens::find(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !policy::may_revoke_token(&user, token.user_id) {
        return Err(AppError::NotFound);
    }
    let message = if db::api_tokens::revoke(&mut tx, id, user.id, "revoked by an admin").await? {
        let changes = Changes::new()
            .note("name", token.name.as_str())
            .note("owner_user_id", token.user_id.to_string());
        audit::record(
            &mut tx,
            &user.actor(),
            "api_token.revoked",
            "api_token",
            Some(id),
            changes,
        )
        .await?;
        format!(
            "{}\u{2019}s token \u{201c}{}\u{201d} has been revoked. It no longer works.",
            token.owner_name, token.name
        )
    } else {
        format!(
            "{}\u{2019}s token \u{201c}{}\u{201d} was already revoked.",
            token.owner_name, token.name
        )
    };
    tx.commit().await?;
    user.flash("success", message).await?;
    Ok(Redirect::to("/admin/tokens").into_response())
}
