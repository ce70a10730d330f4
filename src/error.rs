//! The one application error type. Handlers return [`Result`]; the error
//! renders a plain-English page (or JSON under `/api`), and only an
//! unexpected failure is logged with its cause and a reference the user can
//! quote to support.

use askama::Template;
use axum::{
    Json,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Absent, or not the user's to see: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    #[error("not signed in")]
    Unauthorized,
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The request was understood but wrong; the message is shown to the user.
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// A rule refused the change; `field` is the form field it concerns, and pages show
    /// the message next to it (422).
    #[error("refused ({field}): {message}")]
    Refused {
        field: &'static str,
        message: String,
    },
    #[error("too large: {0}")]
    PayloadTooLarge(String),
    #[error("throttled: {0}")]
    TooManyRequests(String),
    /// A state-changing request without a valid CSRF token, or from another site.
    #[error("csrf check failed")]
    Csrf,
    #[error("service unavailable")]
    Unavailable,
    /// The user must set up MFA first: pages send them to enrol, the API answers 403.
    #[error("mfa required")]
    MfaRequired,
    /// Anything unexpected: logged with a reference, shown as a plain 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => AppError::NotFound,
            e if crate::outage::is_database_outage(&e) => {
                tracing::warn!(error.cause = %e, "database unavailable");
                AppError::Unavailable
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Refused { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::MfaRequired => StatusCode::SEE_OTHER,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The sentence the user reads.
    pub fn message(&self) -> String {
        match self {
            AppError::NotFound => "We couldn't find that page. It may have moved, or you may not have access to it.".into(),
            AppError::Unauthorized => "Please sign in to continue.".into(),
            AppError::Forbidden(why) => (*why).into(),
            AppError::Refused { message, .. } => message.clone(),
            AppError::BadRequest(m) | AppError::Conflict(m) | AppError::PayloadTooLarge(m) | AppError::TooManyRequests(m) => m.clone(),
            AppError::Csrf => "This form has expired or came from another site. Go back, reload the page and try again.".into(),
            AppError::Unavailable => "Plotcare is busy right now. Please try again in a moment.".into(),
            AppError::MfaRequired => "Set up two-factor authentication to continue: it is required for your account.".into(),
            AppError::Internal(_) => "Something went wrong on our side. Please try again; if it keeps happening, quote the reference below to support.".into(),
        }
    }

    fn title(&self) -> &'static str {
        match self {
            AppError::NotFound => "Page not found",
            AppError::Unauthorized => "Sign in required",
            AppError::Forbidden(_) | AppError::Csrf => "Not allowed",
            AppError::BadRequest(_) | AppError::Refused { .. } => "Please check your request",
            AppError::Conflict(_) => "That clashes with something",
            AppError::PayloadTooLarge(_) => "File too large",
            AppError::TooManyRequests(_) => "Too many attempts",
            AppError::Unavailable => "Busy",
            AppError::MfaRequired => "Two-factor authentication needed",
            AppError::Internal(_) => "Something went wrong",
        }
    }

    /// Logs an unexpected failure and returns the reference shown to the user.
    fn log(&self) -> Option<String> {
        match self {
            AppError::Internal(cause) => {
                let reference = new_reference();
                tracing::error!(error.reference = %reference, error.cause = ?cause, "internal error");
                Some(reference)
            }
            AppError::Unavailable => None,
            _ => None,
        }
    }

    /// An unexpected error caused by the database being away is an outage: 503, not 500.
    fn outage_as_unavailable(self) -> Self {
        match self {
            AppError::Internal(cause) if crate::outage::caused_by_outage(&cause) => {
                tracing::warn!(error.cause = ?cause, "database unavailable");
                AppError::Unavailable
            }
            other => other,
        }
    }

    /// The JSON form, for the API.
    pub fn into_json_response(self) -> Response {
        let this = self.outage_as_unavailable();
        let is_unavailable = matches!(this, AppError::Unavailable);
        let mut response = this.json_body();
        if is_unavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after());
        }
        response
    }

    fn json_body(self) -> Response {
        let reference = self.log();
        let status = if matches!(self, AppError::MfaRequired) {
            StatusCode::FORBIDDEN
        } else {
            self.status()
        };
        let body = serde_json::json!({
            "error": self.title(),
            "message": self.message(),
            "reference": reference,
        });
        (status, Json(body)).into_response()
    }
}

/// A short id that is both on the 500 page and in the log line.
pub fn new_reference() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_uppercase()
}

#[derive(Template)]
#[template(path = "errors/error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub title: String,
    pub message: String,
    pub reference: Option<String>,
}

impl ErrorPage {
    pub fn render_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match self.render() {
            Ok(html) => (status, axum::response::Html(html)).into_response(),
            Err(_) => (status, self.message).into_response(),
        }
    }
}

/// How long to wait before trying again after a 503, in seconds.
fn retry_after() -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_static("5")
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let this = self.outage_as_unavailable();
        let is_unavailable = matches!(this, AppError::Unavailable);
        let mut response = this.page_response();
        if is_unavailable {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after());
        }
        response
    }
}

impl AppError {
    fn page_response(self) -> Response {
        if matches!(self, AppError::MfaRequired) {
            return axum::response::Redirect::to("/account/mfa").into_response();
        }
        let reference = self.log();
        let mut response = ErrorPage {
            status: self.status().as_u16(),
            title: self.title().into(),
            message: self.message(),
            reference,
        }
        .render_response();
        if matches!(self, AppError::Unauthorized) {
            // Browsers are sent to sign in; the API gets JSON instead (see web::api).
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// Wraps an error so that it renders as JSON (for `/api` handlers).
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(e: E) -> Self {
        ApiError(e.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.0.into_json_response()
    }
}
