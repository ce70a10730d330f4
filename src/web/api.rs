//! The JSON API (`/api/v1`). Callers authenticate with a personal API token
//! (`Authorization: Bearer pct_...`) or a browser session; errors answer JSON.
//! The tenant is always the caller's own: a tenant id in the request is never read.
//!
//! Every request passes [`guard`] first: it must be signed in, and a token must carry
//! the scope the method needs (`read` for GET and HEAD, `write` for the rest), whatever
//! the route.

use axum::{
    Json, Router,
    extract::{FromRequestParts, Request, State},
    middleware::{self, Next},
    response::Response,
    routing::get,
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    AppError, AppState,
    auth::{ApiUser, current_user::Via, tokens::Scope},
};

pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
}

/// Signed in, and a token only within its scopes. The user found here is kept in the
/// request, so the handler's own extractor does not look it up again.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let user = match ApiUser::from_request_parts(&mut parts, &state).await {
        Ok(ApiUser(user)) => user,
        Err(refused) => return refused,
    };
    if !user.has_scope(Scope::for_method(&parts.method)) {
        return AppError::Forbidden(
            "This token may only read. Make a token that may read and write to change data.",
        )
        .into_json_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

#[derive(Serialize)]
struct Me {
    user: MeUser,
    tenant: MeTenant,
    /// "token" or "session".
    via: &'static str,
}

#[derive(Serialize)]
struct MeUser {
    id: Uuid,
    name: String,
    email: String,
    role: &'static str,
    company_id: Option<Uuid>,
    is_company_admin: bool,
}

#[derive(Serialize)]
struct MeTenant {
    id: Uuid,
    name: String,
}

/// Who the caller is, and for which tenant.
async fn me(ApiUser(user): ApiUser) -> Json<Me> {
    Json(Me {
        user: MeUser {
            id: user.id,
            name: user.name,
            email: user.email,
            role: user.role.as_str(),
            company_id: user.company_id,
            is_company_admin: user.is_company_admin,
        },
        tenant: MeTenant {
            id: user.tenant.uuid(),
            name: user.tenant_name,
        },
        via: match user.via {
            Via::Token { .. } => "token",
            Via::Session(_) => "session",
        },
    })
}
