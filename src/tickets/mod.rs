//! The ticket service: the one place that changes a ticket.
//!
//! Every surface (the staff pages, the subcontractor portal, inspections, the demo
//! data, and later the homeowner portal and the API) calls an operation here with
//! its tenant transaction and an [`Actor`]. Each operation checks the policy and the
//! transition table, then writes the change, its typed timeline event
//! ([`TicketEvent`]), its audit record and any email, all in that one transaction.
//! Nothing else writes `tickets` or `ticket_events`: the statements are in `store`.
//!
//! - `log`: log a ticket, edit its fields.
//! - `status`: status changes (staff), completion (subcontractor), sign-off and
//!   send-back, complaint stages.
//! - `nomination`: nominate a company or staff member; the company accepts or declines.
//! - `activity`: comments, files and appointments, each with its timeline entry.
//!
//! A rule that refuses an operation answers [`AppError::Refused`] with the form field it
//! concerns and a sentence for the user; the page shows it next to that field.

use uuid::Uuid;

use crate::{
    AppError,
    auth::{CurrentUser, TenantTx, policy::Who},
    db::audit,
    domain::{Role, Status, ticket::transition_refusal, ticket_event::TicketEvent},
};

mod activity;
mod log;
mod nomination;
mod status;
mod store;

pub use activity::*;
pub use log::*;
pub use nomination::*;
pub use status::*;

/// Who is changing the ticket, and from where (for the audit trail).
#[derive(Debug, Clone)]
pub struct Actor {
    /// Their membership in the tenant (`users.id`); the timeline names them.
    pub user_id: Uuid,
    pub role: Role,
    /// For subcontractors: the company they work for.
    pub company_id: Option<Uuid>,
    /// The housebuilder's name, as emails sign it.
    pub tenant_name: String,
    pub audit: audit::Actor,
}

impl Actor {
    pub fn of(user: &CurrentUser) -> Actor {
        Actor {
            user_id: user.id,
            role: user.role,
            company_id: user.company_id,
            tenant_name: user.tenant_name.clone(),
            audit: user.actor(),
        }
    }
}

impl Who for Actor {
    fn role(&self) -> Role {
        self.role
    }
    fn company_id(&self) -> Option<Uuid> {
        self.company_id
    }
}

/// Where emails point: the app's address (`APP_BASE_URL`, or the request's host).
/// [`Links::silent`] sends no email at all: for the demo and other history loaded in bulk.
#[derive(Debug, Clone)]
pub struct Links {
    base: Option<String>,
}

impl Links {
    /// `base` without a trailing slash, e.g. "https://care.example.com".
    pub fn new(base: impl Into<String>) -> Links {
        Links {
            base: Some(base.into().trim_end_matches('/').to_owned()),
        }
    }
    /// No emails: the operations record that nobody was emailed.
    pub fn silent() -> Links {
        Links { base: None }
    }
    /// The absolute link to `path`, or None when no email is to be sent.
    pub fn to(&self, path: &str) -> Option<String> {
        self.base.as_ref().map(|b| format!("{b}{path}"))
    }
}

/// A refusal of `field` with a sentence for the user.
pub(crate) fn refused(field: &'static str, message: impl Into<String>) -> AppError {
    AppError::Refused {
        field,
        message: message.into(),
    }
}

/// Refuses a status change the transition table does not allow.
fn check_transition(from: Status, to: Status, field: &'static str) -> Result<(), AppError> {
    match transition_refusal(from, to) {
        Some(why) => Err(refused(field, why)),
        None => Ok(()),
    }
}

/// Adds the event to the ticket's timeline, named to the actor.
async fn add_event(
    tx: &mut TenantTx,
    actor: &Actor,
    ticket_id: Uuid,
    event: &TicketEvent,
) -> sqlx::Result<()> {
    store::add_event(tx, ticket_id, Some(actor.user_id), event).await
}
