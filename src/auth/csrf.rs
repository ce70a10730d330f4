//! CSRF protection for every state-changing request, forms and fetches alike.
//!
//! 1. A request from another site is refused on its `Sec-Fetch-Site` or `Origin` header.
//! 2. It must carry the session's synchroniser token: the `csrf_token` form
//!    field, the `X-CSRF-Token` header (fetches), or a `csrf_token` query
//!    parameter (multipart uploads, whose bodies are not buffered here).
//!
//! Requests authenticated by an API token and no cookie are exempt: nothing
//! ambient authorises them. GET never changes state, so it is never checked.

use axum::{
    body::{Body, to_bytes},
    extract::{Request, State},
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use rand::RngCore;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::session;
use crate::{AppState, error::AppError};

pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
/// Forms are small; uploads send the token in the query string instead.
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// The session's token, made on first use.
pub async fn token(session: &Session) -> Result<String, AppError> {
    if let Some(token) = session::get::<String>(session, session::CSRF).await? {
        return Ok(token);
    }
    renew(session).await
}

/// A fresh token (on sign-in, so a token seen before sign-in is useless after).
pub async fn renew(session: &Session) -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    session::insert(session, session::CSRF, &token).await?;
    Ok(token)
}

pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let scheme = if state.config.behind_tls {
        "https"
    } else {
        "http"
    };
    let is_api = request.uri().path().starts_with("/api/");
    match check(request, scheme).await {
        Ok(request) => next.run(request).await,
        Err(e) if is_api => e.into_json_response(),
        Err(e) => e.into_response(),
    }
}

/// Whether `origin` (an Origin header) is this site: the same scheme, host and port as
/// the page the browser was shown. Behind TLS the browser's scheme is https.
fn same_origin(origin: &str, scheme: &str, host: &str) -> bool {
    let Some((origin_scheme, origin_host)) = origin.split_once("://") else {
        return false; // "null", or nothing like an origin
    };
    !host.is_empty()
        && origin_scheme.eq_ignore_ascii_case(scheme)
        && origin_host.eq_ignore_ascii_case(host)
}

async fn check(request: Request, scheme: &str) -> Result<Request, AppError> {
    let headers = request.headers();
    let has_cookie = headers.contains_key(header::COOKIE);
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "));
    if bearer && !has_cookie {
        return Ok(request);
    }
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(AppError::Csrf);
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !same_origin(origin, scheme, host) {
            return Err(AppError::Csrf);
        }
    }
    let session = request
        .extensions()
        .get::<Session>()
        .cloned()
        .ok_or(AppError::Csrf)?;
    let expected = session::get::<String>(&session, session::CSRF)
        .await?
        .ok_or(AppError::Csrf)?;

    let from_header = headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let from_query = request.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == FIELD)
            .map(|(_, v)| v.into_owned())
    });
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));

    let (request, presented) = match from_header.or(from_query) {
        Some(token) => (request, Some(token)),
        None if is_form => {
            let (parts, body) = request.into_parts();
            let bytes = to_bytes(body, MAX_FORM_BYTES)
                .await
                .map_err(|_| AppError::PayloadTooLarge("That form is too large to send.".into()))?;
            let token = url::form_urlencoded::parse(&bytes)
                .find(|(k, _)| k == FIELD)
                .map(|(_, v)| v.into_owned());
            (Request::from_parts(parts, Body::from(bytes)), token)
        }
        None => (request, None),
    };
    match presented {
        Some(token) if bool::from(token.as_bytes().ct_eq(expected.as_bytes())) => Ok(request),
        _ => Err(AppError::Csrf),
    }
}

#[cfg(test)]
mod tests {
    use super::same_origin;

    #[test]
    fn an_origin_matches_only_with_the_same_scheme_host_and_port() {
        assert!(same_origin(
            "http://127.0.0.1:8080",
            "http",
            "127.0.0.1:8080"
        ));
        assert!(same_origin(
            "https://Plotcare.example",
            "https",
            "plotcare.example"
        ));
        assert!(!same_origin(
            "https://127.0.0.1:8080",
            "http",
            "127.0.0.1:8080"
        ));
        assert!(!same_origin(
            "http://plotcare.example",
            "https",
            "plotcare.example"
        ));
        assert!(!same_origin(
            "http://127.0.0.1:8081",
            "http",
            "127.0.0.1:8080"
        ));
        assert!(!same_origin("null", "http", "127.0.0.1:8080"));
        assert!(!same_origin("http://", "http", ""));
    }
}
