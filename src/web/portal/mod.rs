//! The subcontractor portal, used from a phone on site: My jobs (the open
//! tickets nominated to the user's company, grouped by when they are due),
//! the job page (accept or decline, appointments, shared comments and photos,
//! mark the work complete), and the company summary for subcontractor admins.
//!
//! The customer-care side lives here too: a completed ticket is confirmed and
//! closed, or sent back with a reason, from its sign-off page.
//!
//! A subcontractor opening `/tickets/{id}` gets the job page (the ticket page
//! hands over to [`job_response`]), so every section's redirect lands here.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{
    appointments, comments,
    kit::{Crumb, parse_id, unprocessable},
};
use crate::domain::when;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy},
    db::{self, portal::Job, tickets::Ticket},
    domain::{
        FormErrors, Location, Status,
        clock::{self, uk_time},
        file_type::{is_image_content_type, label_for},
        text::{self, Lines},
        ticket::transition_refusal,
    },
    web::chrome::Chrome,
};

mod card;
mod job;
mod my_jobs;
mod sign_off;
mod summary;
pub(crate) use job::{job_response, job_with_appointments};

use card::*;
use job::*;
use my_jobs::*;
use sign_off::*;
use summary::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(my_jobs))
        .route("/jobs/summary", get(summary))
        .route("/jobs/{id}", get(job))
        .route("/jobs/{id}/accept", post(accept))
        .route("/jobs/{id}/decline", post(decline))
        .route("/jobs/{id}/complete", post(complete))
        .route(
            "/tickets/{id}/sign-off",
            get(sign_off_page).post(confirm_close),
        )
        .route("/tickets/{id}/send-back", post(send_back))
}

/// The longest reason or note, in characters.
const MAX_TEXT: usize = 5000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_become_tel_links() {
        let p = phones(Some("07700 900123, +44 113 496 0000"));
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].tel, "07700900123");
        assert_eq!(p[1].tel, "+441134960000");
        assert!(phones(None).is_empty());
    }

    #[test]
    fn averages_read_in_days() {
        assert_eq!(days(1.0), "1 day");
        assert_eq!(days(3.25), "3.3 days");
    }
}
