//! The appointments section of a ticket page, and its routes: book an
//! appointment (a day and a time window, with whom, notes), change it, and
//! mark it attended or "no access". After no access the section offers to
//! set the ticket to Abortive Visit (the status route is the ticket page's).

use crate::domain::clock::today;
use axum::{
    Form, Router,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use serde::Deserialize;
use time::{Date, Time, macros::format_description};

use super::{kit::parse_id, nominations::csrf_token};
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy, policy::TicketScope},
    db::{
        self,
        appointments::{Appointment, AppointmentInput},
        tickets::TicketHeader,
    },
    domain::{FormErrors, Status, long_date},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tickets/{id}/appointments", post(book))
        .route("/tickets/{id}/appointments/{appointment_id}", post(change))
        .route(
            "/tickets/{id}/appointments/{appointment_id}/attended",
            post(attended),
        )
        .route(
            "/tickets/{id}/appointments/{appointment_id}/no-access",
            post(no_access),
        )
}

/// A booking form's values, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppointmentForm {
    #[serde(default)]
    pub day: String,
    #[serde(default)]
    pub window_start: String,
    #[serde(default)]
    pub window_end: String,
    #[serde(default)]
    pub with_whom: String,
    #[serde(default)]
    pub notes: String,
    /// "yes": the visit already happened and is being recorded (a past day is then allowed).
    #[serde(default)]
    pub past_visit: String,
}

impl AppointmentForm {
    fn from_appointment(a: &Appointment) -> Self {
        AppointmentForm {
            day: a.day.to_string(),
            window_start: hhmm(a.window_start),
            window_end: hhmm(a.window_end),
            with_whom: a.with_whom.clone(),
            notes: a.notes.clone(),
            past_visit: String::new(),
        }
    }

    fn check(&self) -> std::result::Result<AppointmentInput, FormErrors> {
        let mut errors = FormErrors::default();
        let day = match self.day.trim() {
            "" => {
                errors.add("day", "Enter the day of the appointment");
                None
            }
            raw => Date::parse(raw, format_description!("[year]-[month]-[day]"))
                .map_err(|_| errors.add("day", "Enter a real date, e.g. 2025-03-14"))
                .ok(),
        };
        let start = parse_time(
            &mut errors,
            "window_start",
            &self.window_start,
            "when the window starts, e.g. 08:00",
        );
        let end = parse_time(
            &mut errors,
            "window_end",
            &self.window_end,
            "when the window ends, e.g. 12:00",
        );
        if let Some(d) = day
            && d < today()
            && self.past_visit != "yes"
        {
            errors.add(
                "day",
                "A new appointment cannot be in the past. To record a visit that already happened, tick \"This visit already happened\".",
            );
        }
        if let (Some(s), Some(e)) = (start, end)
            && e <= s
        {
            errors.add("window_end", "The window must end after it starts.");
        }
        let with_whom = errors.text("with_whom", &self.with_whom, 200, None);
        let notes = errors.long_text("notes", &self.notes, 2000, None);
        match (day, start, end) {
            (Some(day), Some(window_start), Some(window_end)) if errors.is_empty() => {
                Ok(AppointmentInput {
                    day,
                    window_start,
                    window_end,
                    with_whom,
                    notes,
                })
            }
            _ => Err(errors),
        }
    }
}

fn parse_time(errors: &mut FormErrors, field: &'static str, raw: &str, what: &str) -> Option<Time> {
    let raw = raw.trim();
    if raw.is_empty() {
        errors.add(field, format!("Enter {what}"));
        return None;
    }
    let parsed = Time::parse(raw, format_description!("[hour]:[minute]"))
        .or_else(|_| Time::parse(raw, format_description!("[hour]:[minute]:[second]")));
    match parsed {
        Ok(t) => Some(t),
        Err(_) => {
            errors.add(field, format!("Enter {what}"));
            None
        }
    }
}

use crate::tickets::{self, Actor, VisitOutcome, hhmm};

pub(crate) fn status_label(status: &str) -> (&'static str, &'static str) {
    match status {
        "booked" => ("Booked", "info"),
        "attended" => ("Attended", "ok"),
        "no_access" => ("No access", "bad"),
        "cancelled" => ("Cancelled", ""),
        _ => ("Unknown", ""),
    }
}

/// One appointment as the section lists it.
pub struct Item {
    pub id: String,
    pub day: String,
    pub window: String,
    pub with_whom: String,
    pub notes: String,
    pub status_label: &'static str,
    pub badge: &'static str,
    pub booked: bool,
    pub upcoming: bool,
    /// The change form's values.
    pub form: AppointmentForm,
}

/// What the ticket page shows of this section.
#[derive(Default)]
pub struct Section {
    pub ticket_id: String,
    pub reference: String,
    pub csrf_token: String,
    pub can_manage: bool,
    pub items: Vec<Item>,
    /// The new-booking form's values.
    pub form: AppointmentForm,
    /// Which form the errors belong to: an appointment's id, or empty for a new booking.
    pub editing: String,
    pub errors: FormErrors,
    /// The latest visit found nobody in, and the ticket can become an Abortive Visit.
    pub offer_abortive: bool,
}

impl Section {
    pub async fn load(
        tx: &mut TenantTx,
        user: &CurrentUser,
        scope: &TicketScope,
        ticket: &TicketHeader,
    ) -> Result<Section> {
        Self::build(tx, user, scope, ticket).await
    }

    async fn build(
        tx: &mut TenantTx,
        user: &CurrentUser,
        _scope: &TicketScope,
        ticket: &TicketHeader,
    ) -> Result<Section> {
        let appointments = db::appointments::for_ticket(tx, ticket.id, today()).await?;
        let can_manage = policy::may_work_on_ticket(user, ticket.nominated_company_id).is_ok();
        let latest_visit = appointments
            .iter()
            .filter(|a| a.status != "booked")
            .max_by_key(|a| a.updated_at);
        let may_abort = ticket.status.can_move_to(Status::AbortiveVisit);
        Ok(Section {
            ticket_id: ticket.id.to_string(),
            reference: ticket.reference(),
            csrf_token: csrf_token(user).await?,
            can_manage,
            offer_abortive: policy::may_manage_tickets(user).is_ok()
                && may_abort
                && latest_visit.is_some_and(|a| a.status == "no_access"),
            items: appointments
                .iter()
                .map(|a| {
                    let (status_label, badge) = status_label(&a.status);
                    Item {
                        id: a.id.to_string(),
                        day: long_date(a.day),
                        window: format!("{}–{}", hhmm(a.window_start), hhmm(a.window_end)),
                        with_whom: a.with_whom.clone(),
                        notes: a.notes.clone(),
                        status_label,
                        badge,
                        booked: a.status == "booked",
                        upcoming: a.status == "booked" && a.day >= today(),
                        form: AppointmentForm::from_appointment(a),
                    }
                })
                .collect(),
            ..Section::default()
        })
    }

    /// The error for `field` of the form for `id` (empty: the new booking), if any.
    pub fn error_for(&self, id: &str, field: &str) -> Option<&str> {
        if self.editing == id {
            self.errors.get(field)
        } else {
            None
        }
    }
}

/// The section on a page of its own, when a form needs correcting (422).
/// The ticket, if the user's scope reaches it, and then whether they may change it.
async fn ticket_for_change(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: &str,
) -> Result<(TicketScope, TicketHeader)> {
    let id = parse_id(id)?;
    let scope = policy::ticket_scope(tx, user).await?;
    let ticket = db::tickets::header(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    policy::may_work_on_ticket(user, ticket.nominated_company_id)?;
    Ok((scope, ticket))
}

fn back_to(ticket: &TicketHeader) -> Response {
    Redirect::to(&format!("/tickets/{}#appointments", ticket.id)).into_response()
}

async fn book(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<AppointmentForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (scope, ticket) = ticket_for_change(&mut tx, &user, &id).await?;
    let input = match form.check() {
        Ok(input) => input,
        Err(errors) => {
            let mut section = Section::build(&mut tx, &user, &scope, &ticket).await?;
            section.form = form;
            section.errors = errors;
            return crate::web::tickets::with_appointments(&mut tx, &user, ticket.id, section)
                .await;
        }
    };
    tickets::book_appointment(&mut tx, &Actor::of(&user), ticket.id, &input).await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!(
            "Appointment booked for {}, {}–{}.",
            long_date(input.day),
            hhmm(input.window_start),
            hhmm(input.window_end)
        ),
    )
    .await?;
    Ok(back_to(&ticket))
}

async fn change(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, appointment_id)): Path<(String, String)>,
    Form(form): Form<AppointmentForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (scope, ticket) = ticket_for_change(&mut tx, &user, &id).await?;
    let before = db::appointments::find(&mut tx, ticket.id, parse_id(&appointment_id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    let input = match form.check() {
        Ok(input) => input,
        Err(errors) => {
            let mut section = Section::build(&mut tx, &user, &scope, &ticket).await?;
            if let Some(item) = section
                .items
                .iter_mut()
                .find(|i| i.id == before.id.to_string())
            {
                item.form = form;
            }
            section.editing = before.id.to_string();
            section.errors = errors;
            return crate::web::tickets::with_appointments(&mut tx, &user, ticket.id, section)
                .await;
        }
    };
    tickets::change_appointment(&mut tx, &Actor::of(&user), &before, &input).await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!(
            "Appointment changed to {}, {}–{}.",
            long_date(input.day),
            hhmm(input.window_start),
            hhmm(input.window_end)
        ),
    )
    .await?;
    Ok(back_to(&ticket))
}

async fn attended(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(ids): Path<(String, String)>,
) -> Result<Response> {
    record_visit(state, user, ids, VisitOutcome::Attended).await
}

async fn no_access(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(ids): Path<(String, String)>,
) -> Result<Response> {
    record_visit(state, user, ids, VisitOutcome::NoAccess).await
}

async fn record_visit(
    state: AppState,
    user: CurrentUser,
    (id, appointment_id): (String, String),
    outcome: VisitOutcome,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (_, ticket) = ticket_for_change(&mut tx, &user, &id).await?;
    let before = db::appointments::find(&mut tx, ticket.id, parse_id(&appointment_id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    let message = match outcome {
        VisitOutcome::Attended => "Marked as attended.",
        VisitOutcome::NoAccess => {
            "Marked as no access. You can set the ticket to Abortive Visit below."
        }
    };
    tickets::record_visit(&mut tx, &Actor::of(&user), &before, outcome).await?;
    tx.commit().await?;
    user.flash("success", message).await?;
    Ok(back_to(&ticket))
}
