//! Inspections on plots: the list with filters, scheduling one on a plot, the
//! inspection form (saved answer by answer by static/inspection.js, or all at
//! once without JavaScript), photos, tickets raised from failed items,
//! completion, sign-off, commentary and the printable report.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Json, Router,
    extract::{Multipart, Path, State, multipart::Field},
    http::{HeaderMap, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};
use time::Date;
use uuid::Uuid;

use super::kit::{
    Crumb, PAGE_SIZE, SelectOption, optional_id, parse_id, query_string, unprocessable,
};
use crate::web::query::Query;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy},
    db::{
        self,
        audit::{self, Changes},
        inspections::{Inspection, InspectionFilter, ListRow, NewInspection, NewPhoto},
        tickets::{PlotPlace, TicketFields},
    },
    domain::{
        Category, FormErrors, Priority,
        clock::{self, today},
        file_type,
        inspection::{
            AnswerKind, Outcome, Status, TRADES, TemplateKind, answer_label, parse_answer,
        },
        long_date, parse_optional_date,
        text::{self, Lines},
    },
    error::ApiError,
    media::{Download, MediaKey},
    upload::{self, Accept, Refusal, Rules, Upload},
    web::chrome::Chrome,
};

mod complete;
mod list;
mod page;
mod raise;
mod report;
mod schedule;
pub use report::PlotSection;

use complete::*;
use list::*;
use page::*;
use raise::*;
use report::*;
use schedule::*;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inspections", get(list))
        .route("/plots/{id}/inspections/new", get(new_form).post(create))
        .route("/inspections/{id}", get(show))
        .route("/inspections/{id}/answers", post(save_all))
        .route("/inspections/{id}/items/{key}", post(save_one))
        .route("/inspections/{id}/items/{key}/photos", post(upload_photo))
        .route("/inspections/{id}/items/{key}/ticket", post(raise_ticket))
        .route("/inspections/{id}/photos/{photo}", get(photo))
        .route("/inspections/{id}/complete", post(complete))
        .route("/inspections/{id}/sign-off", post(sign_off))
        .route("/inspections/{id}/comments", post(add_comment))
        .route("/inspections/{id}/report", get(report))
}

/// The inspection, if the user's scope reaches it; otherwise 404.
async fn load(tx: &mut TenantTx, user: &CurrentUser, id: &str) -> Result<Inspection> {
    let id = parse_id(id)?;
    let scope = policy::record_scope(tx, user).await?;
    db::inspections::find(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)
}

fn status_of(i: &Inspection) -> Status {
    i.status
}

fn inspector_value(user: Option<Uuid>, contact: Option<Uuid>) -> String {
    match (user, contact) {
        (Some(u), _) => format!("user:{u}"),
        (_, Some(c)) => format!("contact:{c}"),
        _ => String::new(),
    }
}

/// "user:ID" or "contact:ID" from the inspector select.
fn parse_inspector(raw: &str) -> Option<(Option<Uuid>, Option<Uuid>)> {
    let (kind, id) = raw.split_once(':')?;
    let id = Uuid::parse_str(id).ok()?;
    match kind {
        "user" => Some((Some(id), None)),
        "contact" => Some((None, Some(id))),
        _ => None,
    }
}

async fn inspector_options(
    tx: &mut TenantTx,
    current: &str,
    blank: &str,
) -> Result<Vec<SelectOption>> {
    let mut options = vec![SelectOption::new("", blank, current)];
    for c in db::inspections::staff_inspectors(tx).await? {
        options.push(SelectOption::new(
            format!("user:{}", c.id),
            format!("{} (staff)", c.name),
            current,
        ));
    }
    for c in db::inspections::contact_inspectors(tx).await? {
        options.push(SelectOption::new(
            format!("contact:{}", c.id),
            format!("{} (external)", c.name),
            current,
        ));
    }
    Ok(options)
}
