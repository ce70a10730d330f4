//! The nominations section of a ticket page, and its routes: nominate a ticket
//! to a subcontractor company (those covering the ticket's trade listed first)
//! or to a staff member. Re-nominating ends the current nomination and keeps
//! the history. The nominee is emailed through the outbox.

use crate::domain::ticket_event::TicketEvent;
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

use super::schemes::{SelectOption, parse_id, unprocessable};
use crate::domain::when;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, csrf, policy, policy::TicketScope},
    db::{
        self,
        audit::{self, Changes},
        nominations::{Nominee, TicketFacts},
        tickets::TicketHeader,
    },
    domain::{Category, Priority, Status},
    email,
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

/// Whom the email goes to, and how to greet them.
struct Recipient {
    to: String,
    name: String,
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
    policy::may_manage_tickets(&user)?;
    if ticket.status == Status::Closed {
        return Err(AppError::Conflict(
            "This ticket is closed. Reopen it before nominating someone.".into(),
        ));
    }
    let facts = db::nominations::ticket_facts(&mut tx, ticket.id).await?;

    // Only a company or staff member from the list will do.
    let nominee = Nominee::parse(&form.nominee);
    let target = match nominee {
        Some(Nominee::Company(c)) => db::nominations::company(&mut tx, c, &facts.category)
            .await?
            .map(|c| {
                (
                    c.name,
                    Some(Recipient {
                        to: c.emails.join(", "),
                        name: String::new(),
                    })
                    .filter(|r| !r.to.is_empty()),
                )
            }),
        Some(Nominee::User(u)) => db::nominations::staff_member(&mut tx, u).await?.map(|s| {
            (
                s.name.clone(),
                Some(Recipient {
                    to: s.email,
                    name: s.name,
                }),
            )
        }),
        None => None,
    };
    let (Some(nominee), Some((name, recipient))) = (nominee, target) else {
        let message = if form.nominee.trim().is_empty() {
            "Choose a company or a staff member."
        } else {
            "Choose someone from the list."
        };
        let section = Section::build(
            &mut tx,
            &user,
            &scope,
            &ticket,
            &form.nominee,
            Some(message.into()),
        )
        .await?;
        tx.commit().await?;
        return Ok(unprocessable(NominatePage {
            chrome: user
                .chrome(format!("Nominate {}", ticket.reference()))
                .await?,
            nominations: section,
        }));
    };

    let done = db::nominations::nominate(&mut tx, ticket.id, nominee, user.id).await?;
    let email_id = match &recipient {
        Some(r) => {
            let link = super::absolute_url(&state, &headers, &format!("/tickets/{}", ticket.id));
            let (subject, body) =
                nomination_email(&ticket, &facts, &r.name, &user.tenant_name, &link);
            Some(email::queue(&mut tx, &r.to, &subject, &body, Some(ticket.id)).await?)
        }
        None => None,
    };
    let (kind, nominee_id) = match nominee {
        Nominee::Company(c) => ("company", c),
        Nominee::User(u) => ("user", u),
    };
    db::tickets::add_event(
        &mut tx,
        ticket.id,
        Some(user.id),
        &TicketEvent::Nominated {
            nominee_type: kind.to_owned(),
            nominee_id,
            nominee_name: name.to_owned(),
            emailed: email_id.is_some(),
        },
    )
    .await?;
    let (company_after, user_after) = match nominee {
        Nominee::Company(c) => (Some(c), None),
        Nominee::User(u) => (None, Some(u)),
    };
    audit::record(
        &mut tx,
        &user.actor(),
        "ticket.nominated",
        "ticket",
        Some(ticket.id),
        Changes::new()
            .field(
                "nominated_company_id",
                done.company_before.map(|c| c.to_string()),
                company_after.map(|c| c.to_string()),
            )
            .field(
                "nominated_user_id",
                done.user_before.map(|u| u.to_string()),
                user_after.map(|u| u.to_string()),
            )
            .field(
                "status",
                done.status_before.as_str(),
                done.status_after.as_str(),
            )
            .note("nomination_id", done.nomination_id.to_string())
            .note("email_id", email_id.map(|e| e.to_string())),
    )
    .await?;
    tx.commit().await?;
    let message = match email_id {
        Some(_) => format!(
            "{} is nominated to {name}. We are emailing them the details.",
            ticket.reference()
        ),
        None => format!(
            "{} is nominated to {name}. They have no email address on file, so let them know another way.",
            ticket.reference()
        ),
    };
    user.flash("success", message).await?;
    Ok(Redirect::to(&format!("/tickets/{}#nominations", ticket.id)).into_response())
}

/// The subject and plain-text body of the email to a new nominee.
fn nomination_email(
    ticket: &TicketHeader,
    facts: &TicketFacts,
    greet: &str,
    tenant_name: &str,
    link: &str,
) -> (String, String) {
    let address = facts.address();
    let subject = format!("{}: new job at {address}", ticket.reference());
    let due = facts
        .due_at
        .map(when)
        .unwrap_or_else(|| "no deadline set".into());
    let hello = if greet.is_empty() {
        "Hello,".to_owned()
    } else {
        format!("Hello {greet},")
    };
    let body = format!(
        "{hello}\n\n{tenant_name} has nominated you for {reference}.\n\n\
         What: {title}\n\
         Where: {address}\n\
         Trade: {trade}\n\
         Priority: {priority}\n\
         Due: {due}\n\n\
         See the details in Plotcare: {link}\n",
        reference = ticket.reference(),
        title = facts.title,
        trade = Category::label_of(&facts.category),
        priority = Priority::label_of(&facts.priority),
    );
    (subject, body)
}
