//! The nominations section of a ticket page, and its routes: nominate a ticket
//! to a subcontractor company (those covering the ticket's trade listed first)
//! or to a staff member. Re-nominating ends the current nomination and keeps
//! the history. The nominee is emailed through the outbox.

use crate::tickets::{self, Actor};
use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use serde::Deserialize;
use uuid::Uuid;

use super::kit::{SelectOption, parse_id, unprocessable};
use crate::domain::when;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, csrf, policy, policy::TicketScope},
    db::{self, nominations::Nominee, tickets::TicketHeader},
    domain::{Category, Status},
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/tickets/{id}/nominate", post(nominate))
}

/// The session's CSRF token, for a section's forms.
pub(crate) async fn csrf_token(user: &CurrentUser) -> Result<String> {
    match user.session() {
        Some(s) => csrf::token(s).await,
        None => Ok(String::new()),
    }
}

/// A `<optgroup>` of the nominee select.
pub struct OptionGroup {
    pub label: String,
    pub(crate) options: Vec<SelectOption>,
}

/// One nomination in the history.
pub struct HistoryItem {
    pub who: String,
    pub kind: &'static str,
    pub by: String,
    pub when: String,
    pub response: String,
    pub ended: String,
    pub current: bool,
}

/// What the ticket page shows of this section.
#[derive(Default)]
pub struct Section {
    pub ticket_id: String,
    pub reference: String,
    pub csrf_token: String,
    /// Subcontractors do not see who else a ticket was nominated to.
    pub visible: bool,
    pub can_manage: bool,
    /// The ticket is closed: nothing to nominate.
    pub closed: bool,
    /// "Acme Plumbing", or empty when nobody is nominated.
    pub current: String,
    pub groups: Vec<OptionGroup>,
    pub error: Option<String>,
    pub history: Vec<HistoryItem>,
}

impl Section {
    pub async fn load(
        tx: &mut TenantTx,
        user: &CurrentUser,
        scope: &TicketScope,
        ticket: &TicketHeader,
    ) -> Result<Section> {
        Self::build(tx, user, scope, ticket, "", None).await
    }

    async fn build(
        tx: &mut TenantTx,
        user: &CurrentUser,
        scope: &TicketScope,
        ticket: &TicketHeader,
        selected: &str,
        error: Option<String>,
    ) -> Result<Section> {
        let mut section = Section {
            ticket_id: ticket.id.to_string(),
            reference: ticket.reference(),
            csrf_token: csrf_token(user).await?,
            visible: !scope.is_subcontractor(),
            ..Section::default()
        };
        if !section.visible {
            return Ok(section);
        }
        section.can_manage = policy::may_manage_tickets(user).is_ok();
        section.closed = ticket.status == Status::Closed;
        section.error = error;
        let history = db::nominations::history(tx, ticket.id).await?;
        section.current = history
            .iter()
            .find(|n| n.ended_at.is_none())
            .map(nominee_name)
            .unwrap_or_default();
        section.history = history
            .iter()
            .map(|n| HistoryItem {
                who: nominee_name(n),
                kind: if n.company_name.is_some() {
                    "Company"
                } else {
                    "Staff"
                },
                by: n.nominated_by_name.clone().unwrap_or_default(),
                when: when(n.nominated_at),
                response: match (n.response.as_str(), n.responded_at) {
                    ("accepted", Some(at)) => format!("Accepted {}", when(at)),
                    ("declined", Some(at)) => {
                        format!(
                            "Declined {}{}",
                            when(at),
                            n.decline_reason
                                .as_deref()
                                .map(|r| format!(": {r}"))
                                .unwrap_or_default()
                        )
                    }
                    _ => "Awaiting a reply".into(),
                },
                ended: n.ended_at.map(when).unwrap_or_default(),
                current: n.ended_at.is_none(),
            })
            .collect();
        if section.can_manage && !section.closed {
            let facts = db::nominations::ticket_facts(tx, ticket.id).await?;
            let trade = Category::label_of(&facts.category).to_lowercase();
            let (covering, others): (Vec<_>, Vec<_>) =
                db::nominations::companies(tx, &facts.category)
                    .await?
                    .into_iter()
                    .partition(|c| c.covers);
            let option = |id: Uuid, label: String, nominee: fn(Uuid) -> Nominee| {
                SelectOption::new(nominee(id).value(), label, selected)
            };
            if !covering.is_empty() {
                section.groups.push(OptionGroup {
                    label: format!("Companies covering {trade}"),
                    options: covering
                        .into_iter()
                        .map(|c| {
                            option(
                                c.id,
                                format!("{} (covers {trade})", c.name),
                                Nominee::Company,
                            )
                        })
                        .collect(),
                });
            }
            if !others.is_empty() {
                section.groups.push(OptionGroup {
                    label: "Other companies".into(),
                    options: others
                        .into_iter()
                        .map(|c| option(c.id, c.name, Nominee::Company))
                        .collect(),
                });
            }
            section.groups.push(OptionGroup {
                label: "Staff".into(),
                options: db::nominations::staff(tx)
                    .await?
                    .into_iter()
                    .map(|s| option(s.id, s.name, Nominee::User))
                    .collect(),
            });
        }
        Ok(section)
    }
}

fn nominee_name(n: &db::nominations::NominationRow) -> String {
    n.company_name
        .clone()
        .or_else(|| n.user_name.clone())
        .unwrap_or_default()
}

/// The section on a page of its own, when a form needs correcting (422).
#[derive(Template, WebTemplate)]
#[template(
    ext = "html",
    source = r#"{% extends "base.html" %}{% block content %}
<div class="page-head"><h1>Nominate {{ nominations.reference }}</h1><a href="/tickets/{{ nominations.ticket_id }}">Back to the ticket</a></div>
{% include "tickets/_nominations.html" %}
{% endblock %}"#
)]
struct NominatePage {
    chrome: Chrome,
    nominations: Section,
}

#[derive(Deserialize)]
struct NominateForm {
    #[serde(default)]
    nominee: String,
}

async fn nominate(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<NominateForm>,
) -> Result<Response> {
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let scope = policy::ticket_scope(&mut tx, &user).await?;
    let ticket = db::tickets::header(&mut tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let done = tickets::nominate(
        &mut tx,
        &Actor::of(&user),
        ticket.id,
        &form.nominee,
        &super::links(&state, &headers),
    )
    .await;
    let done = match done {
        Err(AppError::Refused { message, .. }) => {
            let section = Section::build(
                &mut tx,
                &user,
                &scope,
                &ticket,
                &form.nominee,
                Some(message),
            )
            .await?;
            tx.commit().await?;
            return Ok(unprocessable(NominatePage {
                chrome: user
                    .chrome(format!("Nominate {}", ticket.reference()))
                    .await?,
                nominations: section,
            }));
        }
        other => other?,
    };
    tx.commit().await?;
    let message = if done.emailed {
        format!(
            "{} is nominated to {}. We are emailing them the details.",
            done.reference, done.name
        )
    } else {
        format!(
            "{} is nominated to {}. They have no email address on file, so let them know another way.",
            done.reference, done.name
        )
    };
    user.flash("success", message).await?;
    Ok(Redirect::to(&format!("/tickets/{}#nominations", ticket.id)).into_response())
}
