//! Nominations: staff nominate a subcontractor company or a staff member (the nominee is
//! emailed and an open ticket starts work); the company accepts, or declines with a
//! reason (the ticket is handed back, open again, and the team is emailed).

use serde_json::Value;
use uuid::Uuid;

use super::{Actor, Links, add_event, refused, status::follow_on, store};
use crate::{
    AppError, Result,
    auth::{TenantTx, policy},
    db::{
        self,
        audit::{self, Changes},
        nominations::{Nominee, TicketFacts},
        portal::Job,
    },
    domain::{Category, Priority, Status, ticket_event::TicketEvent, when},
    email,
};

/// What a nomination did.
#[derive(Debug, Clone)]
pub struct Nominated {
    pub reference: String,
    pub nomination_id: Uuid,
    /// The company's or staff member's name.
    pub name: String,
    /// Whether an email went to them (false when they have no address on file).
    pub emailed: bool,
}

/// Nominates the company or staff member chosen (`choice`: "company:<id>" or
/// "user:<id>", one of the ticket's choices); the nominee is emailed.
pub async fn nominate(
    tx: &mut TenantTx,
    actor: &Actor,
    ticket_id: Uuid,
    choice: &str,
    links: &Links,
) -> Result<Nominated> {
    policy::may_manage_tickets(actor)?;
    let t = super::status::locked(tx, ticket_id).await?;
    if t.status == Status::Closed {
        return Err(AppError::Conflict(
            "This ticket is closed. Reopen it before nominating someone.".into(),
        ));
    }
    if choice.trim().is_empty() {
        return Err(refused("nominee", "Choose a company or a staff member."));
    }
    let facts = db::nominations::ticket_facts(tx, t.id).await?;
    // Only a company or staff member from the list will do; (name, email addresses, whom to greet).
    let nominee = Nominee::parse(choice);
    let target = match nominee {
        Some(Nominee::Company(c)) => db::nominations::company(tx, c, &facts.category)
            .await?
            .map(|c| (c.name, c.emails.join(", "), String::new())),
        Some(Nominee::User(u)) => db::nominations::staff_member(tx, u)
            .await?
            .map(|s| (s.name.clone(), s.email, s.name)),
        None => None,
    };
    let (Some(nominee), Some((name, to, greet))) = (nominee, target) else {
        return Err(refused("nominee", "Choose someone from the list."));
    };

    let nomination_id = db::nominations::start(tx, t.id, nominee, actor.user_id).await?;
    let (company_after, user_after) = match nominee {
        Nominee::Company(c) => (Some(c), None),
        Nominee::User(u) => (None, Some(u)),
    };
    store::set_nominee(tx, t.id, company_after, user_after).await?;
    let status_after = if t.status == Status::Open {
        follow_on(tx, &t, Status::InProgress).await?
    } else {
        t.status
    };
    let email_id = match links.to(&format!("/tickets/{}", t.id)) {
        Some(link) if !to.is_empty() => {
            let (subject, body) =
                nomination_email(&t.reference(), &facts, &greet, &actor.tenant_name, &link);
            Some(email::queue(tx, &to, &subject, &body, Some(t.id)).await?)
        }
        _ => None,
    };
    let (kind, nominee_id) = match nominee {
        Nominee::Company(c) => ("company", c),
        Nominee::User(u) => ("user", u),
    };
    add_event(
        tx,
        actor,
        t.id,
        &TicketEvent::Nominated {
            nominee_type: kind.to_owned(),
            nominee_id,
            nominee_name: name.clone(),
            emailed: email_id.is_some(),
        },
    )
    .await?;
    audit::record(
        tx,
        &actor.audit,
        "ticket.nominated",
        "ticket",
        Some(t.id),
        Changes::new()
            .field(
                "nominated_company_id",
                t.nominated_company_id.map(|c| c.to_string()),
                company_after.map(|c| c.to_string()),
            )
            .field(
                "nominated_user_id",
                t.nominated_user_id.map(|u| u.to_string()),
                user_after.map(|u| u.to_string()),
            )
            .field("status", t.status.as_str(), status_after.as_str())
            .note("nomination_id", nomination_id.to_string())
            .note("email_id", email_id.map(|e| e.to_string())),
    )
    .await?;
    Ok(Nominated {
        reference: t.reference(),
        nomination_id,
        name,
        emailed: email_id.is_some(),
    })
}

/// The subject and plain-text body of the email to a new nominee.
fn nomination_email(
    reference: &str,
    facts: &TicketFacts,
    greet: &str,
    tenant_name: &str,
    link: &str,
) -> (String, String) {
    let address = facts.address();
    let subject = format!("{reference}: new job at {address}");
    let due = facts
        .due_at
        .map(when)
        .unwrap_or_else(|| "no deadline set".into());
    let body = format!(
        "{hello}\n\n{tenant_name} has nominated you for {reference}.\n\n\
         What: {title}\n\
         Where: {address}\n\
         Trade: {trade}\n\
         Priority: {priority}\n\
         Due: {due}\n\n\
         See the details in Plotcare: {link}\n",
        hello = hello(greet),
        title = facts.title,
        trade = Category::label_of(&facts.category),
        priority = Priority::label_of(&facts.priority),
    );
    (subject, body)
}

/// How a company answers its nomination.
#[derive(Debug, Clone)]
pub enum Answer {
    Accept,
    /// With the reason, required.
    Decline(String),
}

/// What the answer did: None when there was nothing left to answer (already answered, or
/// the job moved on), so the page can say so.
#[derive(Debug, Clone)]
pub struct Answered {
    pub reference: String,
    pub nomination_id: Uuid,
}

/// The nominated company accepts or declines its nomination.
pub async fn respond_to_nomination(
    tx: &mut TenantTx,
    actor: &Actor,
    ticket_id: Uuid,
    answer: Answer,
    links: &Links,
) -> Result<Option<Answered>> {
    let t = super::status::locked(tx, ticket_id).await?;
    let company = policy::may_act_for_company(actor, t.nominated_company_id)?;
    let job = db::portal::job(tx, company, t.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let company_name = db::portal::company_name(tx, company).await?;
    let reference = t.reference();
    match answer {
        Answer::Accept => {
            let accepted = match job.nomination_id {
                Some(n) if job.response.as_deref() == Some("pending") => {
                    db::portal::accept(tx, n).await?.then_some(n)
                }
                _ => None,
            };
            let Some(nomination_id) = accepted else {
                return Ok(None);
            };
            add_event(
                tx,
                actor,
                t.id,
                &TicketEvent::NominationAccepted {
                    summary: format!("Accepted by {company_name}"),
                    company_id: company,
                    nomination_id,
                },
            )
            .await?;
            audit::record(
                tx,
                &actor.audit,
                "nomination.accepted",
                "nomination",
                Some(nomination_id),
                Changes::new()
                    .field("response", "pending", "accepted")
                    .note("ticket_id", t.id.to_string()),
            )
            .await?;
            Ok(Some(Answered {
                reference,
                nomination_id,
            }))
        }
        Answer::Decline(reason) => {
            let answerable = matches!(job.response.as_deref(), Some("pending" | "accepted"));
            let Some(nomination_id) = job
                .nomination_id
                .filter(|_| answerable && matches!(t.status, Status::Open | Status::InProgress))
            else {
                return Ok(None);
            };
            let reason = reason.trim().to_owned();
            if reason.is_empty() {
                return Err(refused("reason", "Say why you are declining this job."));
            }
            db::nominations::decline(tx, nomination_id, &reason).await?;
            store::set_nominee(tx, t.id, None, t.nominated_user_id).await?;
            let status_after = if t.status == Status::InProgress {
                follow_on(tx, &t, Status::Open).await?
            } else {
                t.status
            };
            let address = job_address(&job);
            let email_id = email_team(
                tx,
                &job,
                links.to(&format!("/tickets/{}", t.id)),
                format!("{reference} declined by {company_name}"),
                |hello, link| {
                    format!(
                        "{hello}\n\n{company_name} has declined {reference} ({title}) at {address}.\n\n\
                         Their reason: {reason}\n\n\
                         The ticket is open again and nominated to nobody. Nominate someone else in Plotcare: {link}\n",
                        title = job.title,
                    )
                },
            )
            .await?;
            add_event(
                tx,
                actor,
                t.id,
                &TicketEvent::NominationDeclined {
                    summary: format!("Declined by {company_name}"),
                    detail: format!("Reason: {reason}"),
                    reason: reason.clone(),
                    company_id: company,
                    nomination_id,
                    from: t.status.as_str().to_owned(),
                    to: status_after.as_str().to_owned(),
                },
            )
            .await?;
            audit::record(
                tx,
                &actor.audit,
                "nomination.declined",
                "ticket",
                Some(t.id),
                Changes::new()
                    .field("nominated_company_id", company.to_string(), Value::Null)
                    .field("status", t.status.as_str(), status_after.as_str())
                    .note("reason", reason.as_str())
                    .note("nomination_id", nomination_id.to_string())
                    .note("email_id", email_id.map(|e| e.to_string())),
            )
            .await?;
            Ok(Some(Answered {
                reference,
                nomination_id,
            }))
        }
    }
}

/// Emails the customer-care team about the company's job: whoever nominated, else the
/// tenant's admins. `body` gets the greeting and the link. None when nobody can be told, or
/// the links are silent.
pub(super) async fn email_team(
    tx: &mut TenantTx,
    job: &Job,
    link: Option<String>,
    subject: String,
    body: impl FnOnce(&str, &str) -> String,
) -> Result<Option<Uuid>> {
    let Some(link) = link else {
        return Ok(None);
    };
    let Some((to, name)) = team_recipients(tx, job.nomination_id).await? else {
        return Ok(None);
    };
    let body = body(&hello(&name), &link);
    Ok(Some(
        email::queue(tx, &to, &subject, &body, Some(job.id)).await?,
    ))
}

/// Whom the customer-care team's emails go to: the user who nominated, else the tenant's
/// admins. Returns the addresses and whom to greet.
async fn team_recipients(
    tx: &mut TenantTx,
    nomination_id: Option<Uuid>,
) -> Result<Option<(String, String)>> {
    if let Some(n) = nomination_id
        && let Some(r) = db::portal::nominator(tx, n).await?
    {
        return Ok(Some((r.email, r.name)));
    }
    let admins = db::portal::admins(tx).await?;
    if admins.is_empty() {
        return Ok(None);
    }
    let to: Vec<&str> = admins.iter().map(|a| a.email.as_str()).collect();
    Ok(Some((to.join(", "), String::new())))
}

pub(super) fn hello(name: &str) -> String {
    if name.is_empty() {
        "Hello,".into()
    } else {
        format!("Hello {name},")
    }
}

/// "12 Acacia Avenue, Leeds, LS1 1AA" (or the plot and scheme).
pub(crate) fn job_address(job: &Job) -> String {
    let parts: Vec<&str> = [
        job.address_line1.as_str(),
        job.town.as_str(),
        job.postcode.as_str(),
    ]
    .into_iter()
    .filter(|s| !s.trim().is_empty())
    .collect();
    if parts.is_empty() {
        format!("Plot {}, {}", job.plot_number, job.scheme_name)
    } else {
        parts.join(", ")
    }
}
