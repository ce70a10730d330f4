//! Logging: tracing to stdout, JSON in production and readable locally.
//!
//! Every request runs inside a `request` span carrying the request id, the
//! method and the matched route (never the raw URI, which may hold a token);
//! the response line adds status and latency. Headers, cookies and bodies
//! are never logged.

use std::time::Duration;

use axum::{extract::MatchedPath, http::Request, http::Response};
use tracing::Span;
use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::LogFormat;

/// Installs the global subscriber. `RUST_LOG` overrides the default filter.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,aws=warn,hyper=warn,tower_sessions=warn")
    });
    let registry = tracing_subscriber::registry().with(filter);
    // try_init: a second call (tests start many apps in one process) is harmless.
    let _ = match format {
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(fmt::layer().compact()).try_init(),
    };
}

/// The span every request runs in.
pub fn request_span<B>(request: &Request<B>) -> Span {
    let request_id = request
        .headers()
        .get(crate::REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched");
    tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        route = %route,
        tenant = tracing::field::Empty,
        user = tracing::field::Empty,
    )
}

/// One line a response: status and latency, inside the request span.
pub fn on_response<B>(response: &Response<B>, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(status, latency_ms, "response");
    } else {
        tracing::info!(status, latency_ms, "response");
    }
}
