//! Plotcare: customer care for housebuilders.
//!
//! A tour of the crate, in the order a request meets it:
//!
//! - [`config`]: settings from the environment, parsed once.
//! - [`telemetry`]: tracing to stdout; the per-request span.
//! - [`web`]: one module per feature, each with its routes, handlers and page structs.
//! - [`auth`]: who is asking (sessions, API tokens, MFA, CSRF) and what they may do (the policy).
//! - [`domain`]: types that parse user input once, so the rest of the code can trust it.
//! - [`db`]: queries, one module per aggregate, each taking the tenant first.
//! - [`media`]: photos and documents in S3 or a local directory; [`upload`]: the one way a file gets there from a form.
//! - [`error`]: the one error type and how it is shown.
//!
//! [`app`] builds the router that both `main` and the tests serve.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod demo;
pub mod demo_tickets;
pub mod domain;
pub mod email;
pub mod error;
pub mod export;
pub mod generate;
pub mod import;
pub mod jobs;
pub mod media;
pub mod outage;
pub mod serve;
pub mod state;
pub mod telemetry;
pub mod thumbnails;
pub mod tickets;
pub mod upload;
pub mod web;

/// Applies migrations/ and creates the session store's table: the release phase, and every test database.
pub async fn migrate(pool: &sqlx::PgPool) -> anyhow::Result<()> {
    db::migrate(pool).await?;
    auth::session::store(pool.clone()).migrate().await?;
    Ok(())
}

use std::time::Duration;

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderName, HeaderValue, StatusCode, header},
};
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    limit::RequestBodyLimitLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    set_header::SetResponseHeaderLayer,
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

pub use error::{AppError, Result};
pub use serve::{ServeLimits, serve, shutdown_signal};
pub use state::AppState;

pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The content security policy: scripts and styles only from our own static files.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; \
     connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Builds the whole application: routes, then the layers every request passes through.
pub fn app(state: AppState) -> Router {
    let config = state.config.clone();
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    // Room for an upload of the largest allowed size plus its form fields.
    let body_limit = config.max_upload_bytes + 1024 * 1024;
    let max_upload_mb = config.max_upload_bytes / (1024 * 1024);

    let security_headers = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(self), geolocation=(), microphone=()"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            config
                .behind_tls
                .then(|| HeaderValue::from_static("max-age=63072000; includeSubDomains")),
        ));

    web::router(state).layer(
        // Outermost first: the request id exists before the span that logs it.
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(telemetry::request_span)
                    .on_request(())
                    .on_response(telemetry::on_response)
                    .on_failure(()),
            )
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(security_headers)
            .layer(CatchPanicLayer::custom(web::errors::panic_page))
            .layer(CompressionLayer::new())
            .layer(axum::middleware::from_fn_with_state(
                max_upload_mb,
                web::errors::style_bare_errors,
            ))
            .layer(RequestBodyLimitLayer::new(body_limit))
            // A request that takes too long answers the styled busy page (503).
            .layer(TimeoutLayer::with_status_code(
                StatusCode::SERVICE_UNAVAILABLE,
                config.request_timeout,
            ))
            .layer(DefaultBodyLimit::max(body_limit)),
    )
}

/// How long a download link stays valid.
pub const DOWNLOAD_LINK_TTL: Duration = Duration::from_secs(300);
