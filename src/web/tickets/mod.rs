//! Tickets: the list (filters in the query string, keyset pages, counts per
//! status), logging a ticket on a plot, the ticket page with its timeline and
//! sections, editing, status changes and complaint stages: `list`, `form`
//! (log and edit), `page` (the ticket page and its timeline), `status` (status
//! changes and complaint stages); the helpers they share are here.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, macros::format_description};
use uuid::Uuid;

use super::kit::{
    Crumb, PAGE_SIZE, SelectOption, non_empty, parse_id, query_string, unprocessable,
};
use crate::domain::when;
use crate::web::query::Query;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy},
    db::{
        self,
        plots::Plot,
        tickets::{
            Cursor, Nominee, PlotPlace, Ticket, TicketFields, TicketFilter, TicketSort,
            TicketSummary,
        },
    },
    domain::{
        AbortiveReason, Category, ComplaintStage, DueState, FormErrors, Location, Priority,
        ReportedVia, Status,
        clock::{self, uk_time},
        long_date, parse_optional_date,
    },
    web::{appointments, chrome::Chrome, comments, files, nominations},
};

mod bulk;
mod bulk_export;
mod form;
mod list;
mod page;
mod photos;
mod status;

use bulk::*;
use form::*;
use list::*;
pub(crate) use page::with_appointments;
use page::*;
use status::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tickets", get(list))
        .route("/plots/{id}/tickets/new", get(new_form).post(create))
        .route("/tickets/{id}", get(show))
        .route("/tickets/{id}/edit", get(edit_form).post(update))
        .route("/tickets/{id}/status", post(change_status))
        .route("/tickets/bulk", post(bulk))
        .route("/tickets/{id}/complaint-stages", post(mark_stage))
}

// ---------------------------------------------------------------- shared helpers

/// A length of time in words: "12 hours", "7 days", "1 day 4 hours".
pub(crate) fn span(d: Duration) -> String {
    let minutes = d.whole_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    let unit = |n: i64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(unit(days, "day"));
    }
    if hours > 0 {
        parts.push(unit(hours, "hour"));
    }
    if mins > 0 && days == 0 {
        parts.push(unit(mins, "minute"));
    }
    if parts.is_empty() {
        "0 minutes".into()
    } else {
        parts.join(" ")
    }
}

fn options<T: Copy>(
    all: &[T],
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    current: &str,
) -> Vec<SelectOption> {
    all.iter()
        .map(|v| SelectOption::new(value(*v), label(*v), current))
        .collect()
}

/// The ticket the user's scope reaches, or 404.
async fn reach(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: Uuid,
) -> Result<(policy::TicketScope, db::tickets::TicketHeader)> {
    let scope = policy::ticket_scope(tx, user).await?;
    let header = db::tickets::header(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((scope, header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_are_read_as_pounds_and_pence() {
        assert_eq!(parse_cost(""), Ok(None));
        assert_eq!(parse_cost("£1,200"), Ok(Some("1200.00".into())));
        assert_eq!(parse_cost("99.5"), Ok(Some("99.50".into())));
        assert_eq!(parse_cost("0.07"), Ok(Some("0.07".into())));
        for bad in ["-5", "1.234", "abc", "12.", ".5", "1e3"] {
            assert_eq!(parse_cost(bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(Duration::hours(12)), "12 hours");
        assert_eq!(span(Duration::days(1)), "1 day");
        assert_eq!(span(Duration::hours(28)), "1 day 4 hours");
        assert_eq!(span(Duration::minutes(90)), "1 hour 30 minutes");
    }

    #[test]
    fn report_times_are_read_in_uk_time() {
        assert_eq!(
            parse_local("2025-07-10T13:00"),
            Some(time::macros::datetime!(2025-07-10 12:00 UTC))
        );
        assert_eq!(
            parse_local("2025-01-10T13:00:00"),
            Some(time::macros::datetime!(2025-01-10 13:00 UTC))
        );
        assert_eq!(parse_local("yesterday"), None);
    }
}
