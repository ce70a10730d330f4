//! The JSON API (`/api/v1`). Callers authenticate with a personal API token
//! (`Authorization: Bearer pct_...`) or a browser session; errors answer JSON.
//! The tenant is always the caller's own: a tenant id in the request is never read.

use axum::{Json, Router, routing::get};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    AppState,
    auth::{ApiUser, current_user::Via},
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(me))
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
            Via::Token(_) => "token",
            Via::Session(_) => "session",
        },
    })
}
