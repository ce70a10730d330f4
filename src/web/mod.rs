//! The web layer: one module per feature, composed here.
//!
//! Each feature module exposes `routes() -> Router<AppState>`; handlers read
//! like a paragraph: extract the user, ask the policy, call `db`, render.

pub mod account;
pub mod account_tokens;
pub mod admin_security;
pub mod admin_tokens;
pub mod api;
pub mod appointments;
pub mod audit;
pub mod chrome;
pub mod comments;
pub mod contacts;
pub mod contracts;
pub mod diary;
pub mod errors;
pub mod exports;
pub mod files;
pub mod find;
pub mod health;
pub mod home;
pub mod imports;
pub mod inspection_templates;
pub mod inspections;
pub mod kit;
pub mod media;
pub mod nominations;
pub mod outbox;
pub mod plots;
pub mod portal;
pub mod query;
pub mod schemes;
pub mod set_password;
pub mod sign_in;
pub mod sla;
pub mod tickets;
pub mod timeline;
pub mod users;

use std::path::PathBuf;

use axum::{
    Router,
    http::{HeaderMap, HeaderValue, header},
    middleware,
};
use tower::ServiceBuilder;
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

use crate::{
    AppState,
    auth::{csrf, session},
};

/// The full address of `path` in the app, for links in emails: from
/// `APP_BASE_URL` (required behind TLS), or else the address this request came
/// to (development), whatever the request's Host header says when the setting is there.
pub(crate) fn absolute_url(state: &AppState, headers: &HeaderMap, path: &str) -> String {
    if let Some(base) = &state.config.app_base_url {
        return format!("{base}{path}");
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if state.config.behind_tls {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}{path}")
}

/// Where the ticket service's emails point.
pub(crate) fn links(state: &AppState, headers: &HeaderMap) -> crate::tickets::Links {
    crate::tickets::Links::new(absolute_url(state, headers, ""))
}

pub fn router(state: AppState) -> Router {
    // Pages that know who is asking: the session cookie, then CSRF on every state change.
    let pages = Router::new()
        .merge(home::routes())
        .merge(sign_in::routes())
        .merge(account::routes())
        .merge(account_tokens::routes())
        .merge(admin_tokens::routes())
        .merge(admin_security::routes())
        .merge(api::routes(&state))
        .merge(users::routes())
        .merge(set_password::routes())
        .merge(audit::routes())
        .merge(schemes::routes())
        .merge(contracts::routes())
        .merge(plots::routes())
        .merge(contacts::routes())
        .merge(imports::routes())
        .merge(nominations::routes())
        .merge(outbox::routes())
        .merge(appointments::routes())
        .merge(comments::routes())
        .merge(files::routes())
        .merge(exports::routes())
        .merge(tickets::routes())
        .merge(diary::routes())
        .merge(sla::routes())
        .merge(find::routes())
        .merge(inspections::routes())
        .merge(inspection_templates::routes())
        .merge(portal::routes())
        // Inside the CSRF check: only a form that passed it is kept (see `auth::kept`).
        .layer(middleware::from_fn(crate::auth::kept::keep))
        .layer(middleware::from_fn_with_state(state.clone(), csrf::guard))
        .layer(session::layer(
            session::store(state.db.clone()),
            &state.config,
        ))
        .layer(middleware::from_fn(crate::outage::answer_honestly));

    Router::new()
        .merge(health::routes())
        .merge(media::routes())
        .merge(pages)
        .nest_service("/static", static_files())
        .fallback(errors::not_found)
        // Pages and API answers hold people's data: no browser or proxy may keep them
        // (the back button after signing out on a shared computer shows nothing).
        // Static files and media set their own caching.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .with_state(state)
}

/// Files under static/, cached for a day (they change only on deploy).
fn static_files() -> impl tower::Service<
    axum::extract::Request,
    Response = axum::response::Response<tower_http::services::fs::ServeFileSystemResponseBody>,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone {
    ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=86400"),
        ))
        .service(ServeDir::new(static_dir()))
}

/// static/ beside the working directory (the app root when deployed), else beside the sources.
pub fn static_dir() -> PathBuf {
    let here = PathBuf::from("static");
    if here.is_dir() {
        here
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("static")
    }
}
