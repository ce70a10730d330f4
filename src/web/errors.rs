//! The 404 fallback and the page shown when a handler panics.

use std::any::Any;

use axum::{
    body::Body,
    http::{Response, StatusCode},
    response::IntoResponse,
};

use crate::error::{AppError, ErrorPage, new_reference};

pub async fn not_found() -> AppError {
    AppError::NotFound
}

/// A panic is a bug: log it with a reference and show the plain 500 page.
pub fn panic_page(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    let reference = new_reference();
    tracing::error!(error.reference = %reference, error.cause = %detail, "handler panicked");
    let mut response = ErrorPage {
        status: 500,
        title: "Something went wrong".into(),
        message: "Something went wrong on our side. Please try again; if it keeps happening, quote the reference below to support.".into(),
        reference: Some(reference),
    }
    .render_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.into_response()
}

/// Error answers that did not come from our handlers (axum's extractor rejections, the
/// request time-out, the body limit, a method not allowed) arrive as plain text or with no
/// body: they get the styled error page, or JSON under `/api`, saying what to do.
pub async fn style_bare_errors(
    axum::extract::State(max_upload_mb): axum::extract::State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response<Body> {
    let is_api = request.uri().path().starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let styled = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html") || v.starts_with("application/json"));
    if styled {
        return response;
    }
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => AppError::PayloadTooLarge(format!(
            "That is larger than the {max_upload_mb} MB limit. Choose a smaller file, or send large videos another way."
        )),
        // The request time-out (see `crate::app`) and anything else busy.
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => AppError::Unavailable,
        StatusCode::NOT_FOUND => AppError::NotFound,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS => {
            return response;
        }
        _ if status.is_client_error() => {
            let message = match status {
                StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                    "We couldn't read that request: it was not sent as a form or JSON. Go back, reload the page and try again."
                }
                StatusCode::METHOD_NOT_ALLOWED => {
                    "That address does not take this kind of request. Go back and use the page's links and buttons."
                }
                _ => {
                    "We couldn't read that request: a value is missing or not in the expected form. Go back, reload the page and try again."
                }
            };
            let mut styled = if is_api {
                AppError::BadRequest(message.into()).into_json_response()
            } else {
                AppError::BadRequest(message.into()).into_response()
            };
            *styled.status_mut() = status;
            if let Some(allow) = response.headers().get(axum::http::header::ALLOW) {
                styled
                    .headers_mut()
                    .insert(axum::http::header::ALLOW, allow.clone());
            }
            return styled;
        }
        _ => AppError::Internal(anyhow::anyhow!("bare {status} answer")),
    };
    if is_api {
        error.into_json_response()
    } else {
        error.into_response()
    }
}
