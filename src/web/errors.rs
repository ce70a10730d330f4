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
