//! Honest answers in an outage.
//!
//! Each request runs inside [`answer_honestly`], which keeps two facts about it in a
//! task-local: whether a change of the request committed ([`TenantTx::commit`] and the
//! cross-tenant paths say so), and whether saving its session failed. A failed session save
//! after a committed change is logged and otherwise ignored (the change is stored; its normal
//! answer is the true one). A failed save before any change answers the styled 503 page
//! (JSON under `/api`) instead of tower-sessions' blank 500.
//!
//! [`TenantTx::commit`]: crate::auth::TenantTx::commit

use std::cell::Cell;

use axum::{extract::Request, http::StatusCode, middleware::Next, response::Response};

use crate::AppError;

#[derive(Default)]
struct Outcome {
    committed: Cell<bool>,
    session_not_saved: Cell<bool>,
}

tokio::task_local! {
    static OUTCOME: Outcome;
}

/// Records that this request's change is stored for good.
pub fn mark_committed() {
    let _ = OUTCOME.try_with(|o| o.committed.set(true));
}

/// Whether a change of this request has committed.
pub fn committed() -> bool {
    OUTCOME.try_with(|o| o.committed.get()).unwrap_or(false)
}

pub(crate) fn session_not_saved() {
    let _ = OUTCOME.try_with(|o| o.session_not_saved.set(true));
}

/// The middleware (outside the session layer) that keeps the request's [`Outcome`].
pub async fn answer_honestly(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    OUTCOME
        .scope(Outcome::default(), async move {
            let response = next.run(request).await;
            let not_saved = OUTCOME.with(|o| o.session_not_saved.get() && !o.committed.get());
            if not_saved && response.status() == StatusCode::INTERNAL_SERVER_ERROR {
                return unavailable(is_api);
            }
            response
        })
        .await
}

/// The styled "busy, try again" answer: 503 with `Retry-After`.
pub fn unavailable(is_api: bool) -> Response {
    if is_api {
        AppError::Unavailable.into_json_response()
    } else {
        axum::response::IntoResponse::into_response(AppError::Unavailable)
    }
}

/// Whether a database error means "the database is away or overloaded", not a fault of
/// the request or the code: such failures answer 503, and clear up when the database does.
pub fn is_database_outage(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed
        // A connection answered with something that is not PostgreSQL's protocol (a
        // connection closed by a proxy or load balancer as the database went away).
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01-57P03: shutting down or not yet accepting;
            // 53300: too many connections; 57014: statement time-out (busy); 3D000: the
            // database is gone.
            code.starts_with("08")
                || code.starts_with("57P0")
                || code == "53300"
                || code == "57014"
                || code == "3D000"
        }),
        _ => false,
    }
}

/// Whether an unexpected error is, somewhere in its causes, a database outage.
pub fn caused_by_outage(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .is_some_and(is_database_outage)
    })
}
