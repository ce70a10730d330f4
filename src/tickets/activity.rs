//! What is added to a ticket's record as the work goes on: comments (added, edited,
//! deleted), files, and appointments (booked, changed, attended or no access). Each
//! writes its row, its timeline entry and its audit record.

use time::{Date, Time};
use uuid::Uuid;

use super::{Actor, add_event, store::Locked};
use crate::{
    AppError, Result,
    auth::{TenantTx, policy},
    db::{
        self,
        appointments::{Appointment, AppointmentInput},
        audit::{self, Changes},
        comments::{Comment, Visibility},
        files::NewFile,
    },
    domain::{
        Role,
        ticket_event::{AppointmentOutcome, AppointmentSlot, CommentChange, TicketEvent},
    },
};

/// How much of a comment the timeline quotes.
const EXCERPT: usize = 140;

/// The start of a comment, as the timeline quotes it.
pub fn excerpt(body: &str) -> String {
    let mut s: String = body.chars().take(EXCERPT).collect();
    if body.chars().count() > EXCERPT {
        s.push('…');
    }
    s
}

/// The ticket, if the actor may add to its record: staff, or the nominated company.
async fn workable(tx: &mut TenantTx, actor: &Actor, ticket_id: Uuid) -> Result<Locked> {
    let t = super::status::locked(tx, ticket_id).await?;
    if actor.role == Role::Subcontractor
        && actor
            .company_id
            .is_none_or(|c| t.nominated_company_id != Some(c))
    {
        return Err(AppError::NotFound);
    }
    Ok(t)
}

/// Adds a comment. A subcontractor's comment is always shared.
pub async fn comment(
    tx: &mut TenantTx,
    actor: &Actor,
    ticket_id: Uuid,
    visibility: Visibility,
    body: &str,
) -> Result<Uuid> {
    let t = workable(tx, actor, ticket_id).await?;
    let visibility = if actor.role == Role::Subcontractor {
        Visibility::Shared
    } else {
        visibility
    };
    let comment_id = db::comments::insert(tx, t.id, actor.user_id, visibility, body).await?;
    add_event(
        tx,
        actor,
        t.id,
        &TicketEvent::CommentAdded(CommentChange {
            comment_id,
            visibility: visibility.as_str().to_owned(),
            excerpt: excerpt(body),
        }),
    )
    .await?;
    audit::record(
        tx,
        &actor.audit,
        "comment.created",
        "ticket_comment",
        Some(comment_id),
        Changes::new()
            .set("ticket_id", t.id.to_string())
            .set("visibility", visibility.as_str()),
    )
    .await?;
    Ok(comment_id)
}

/// Changes the author's own comment; the earlier text is kept in its history.
/// False when the text is the same (nothing is written).
pub async fn edit_comment(
    tx: &mut TenantTx,
    actor: &Actor,
    comment: &Comment,
    body: &str,
) -> Result<bool> {
    let t = workable(tx, actor, comment.ticket_id).await?;
    if comment.author_user_id != actor.user_id {
        return Err(AppError::Forbidden("Only the author can change a comment."));
    }
    if body == comment.body {
        return Ok(false);
    }
    db::comments::edit(tx, comment.id, actor.user_id, &comment.body, body).await?;
    add_event(
        tx,
        actor,
        t.id,
        &TicketEvent::CommentEdited(CommentChange {
            comment_id: comment.id,
            visibility: comment.visibility.clone(),
            excerpt: excerpt(body),
        }),
    )
    .await?;
    audit::record(
        tx,
        &actor.audit,
        "comment.edited",
        "ticket_comment",
        Some(comment.id),
        Changes::new().field("body", comment.body.as_str(), body),
    )
    .await?;
    Ok(true)
}

/// Deletes a comment (admins only; its text stays in the history for the audit).
pub async fn delete_comment(tx: &mut TenantTx, actor: &Actor, comment: &Comment) -> Result<()> {
    if actor.role != Role::Admin {
        return Err(AppError::Forbidden("Only admins can delete comments."));
    }
    let t = workable(tx, actor, comment.ticket_id).await?;
    if db::comments::soft_delete(tx, comment.id, actor.user_id).await? {
        add_event(
            tx,
            actor,
            t.id,
            &TicketEvent::CommentDeleted {
                comment_id: comment.id,
                visibility: comment.visibility.clone(),
            },
        )
        .await?;
        audit::record(
            tx,
            &actor.audit,
            "comment.deleted",
            "ticket_comment",
            Some(comment.id),
            Changes::new()
                .set("ticket_id", t.id.to_string())
                .set("visibility", comment.visibility.as_str()),
        )
        .await?;
    }
    Ok(())
}

/// Records a stored file on the ticket. A subcontractor's own file is always visible to them.
pub async fn attach(tx: &mut TenantTx, actor: &Actor, file: NewFile<'_>) -> Result<Uuid> {
    let t = workable(tx, actor, file.ticket_id).await?;
    let file = NewFile {
        visible_to_subcontractor: file.visible_to_subcontractor
            || actor.role == Role::Subcontractor,
        uploaded_by: actor.user_id,
        ..file
    };
    let file_id = db::files::insert(tx, &file).await?;
    add_event(
        tx,
        actor,
        t.id,
        &TicketEvent::FileAdded {
            file_id,
            name: file.original_name.to_owned(),
            content_type: file.content_type.to_owned(),
            size_bytes: file.size_bytes,
            comment_id: file.comment_id,
        },
    )
    .await?;
    audit::record(
        tx,
        &actor.audit,
        "file.uploaded",
        "media_file",
        Some(file_id),
        Changes::new()
            .set("ticket_id", t.id.to_string())
            .set("original_name", file.original_name)
            .set("content_type", file.content_type)
            .set("size_bytes", file.size_bytes)
            .set("visible_to_subcontractor", file.visible_to_subcontractor),
    )
    .await?;
    Ok(file_id)
}

/// "09:30"
pub fn hhmm(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn slot(id: Uuid, input: &AppointmentInput) -> AppointmentSlot {
    AppointmentSlot {
        appointment_id: id,
        day: input.day.to_string(),
        window_start: hhmm(input.window_start),
        window_end: hhmm(input.window_end),
        with_whom: input.with_whom.clone(),
    }
}

/// Books a visit: staff who manage tickets, or the nominated company.
pub async fn book_appointment(
    tx: &mut TenantTx,
    actor: &Actor,
    ticket_id: Uuid,
    input: &AppointmentInput,
) -> Result<Uuid> {
    let t = workable(tx, actor, ticket_id).await?;
    policy::may_work_on_ticket(actor, t.nominated_company_id)?;
    let appointment_id =
        db::appointments::insert(tx, t.id, t.plot_id, input, actor.user_id).await?;
    add_event(
        tx,
        actor,
        t.id,
        &TicketEvent::AppointmentBooked(slot(appointment_id, input)),
    )
    .await?;
    audit::record(
        tx,
        &actor.audit,
        "appointment.booked",
        "appointment",
        Some(appointment_id),
        Changes::new()
            .set("ticket_id", t.id.to_string())
            .set("day", input.day.to_string())
            .set("window_start", hhmm(input.window_start))
            .set("window_end", hhmm(input.window_end))
            .set("with_whom", input.with_whom.as_str())
            .set("notes", input.notes.as_str()),
    )
    .await?;
    Ok(appointment_id)
}

/// Moves or edits a booked visit.
pub async fn change_appointment(
    tx: &mut TenantTx,
    actor: &Actor,
    before: &Appointment,
    input: &AppointmentInput,
) -> Result<()> {
    let t = workable(tx, actor, before.ticket_id).await?;
    policy::may_work_on_ticket(actor, t.nominated_company_id)?;
    db::appointments::update(tx, before.id, input).await?;
    add_event(
        tx,
        actor,
        t.id,
        &TicketEvent::AppointmentChanged(slot(before.id, input)),
    )
    .await?;
    audit::record(
        tx,
        &actor.audit,
        "appointment.changed",
        "appointment",
        Some(before.id),
        Changes::new()
            .field("day", before.day.to_string(), input.day.to_string())
            .field(
                "window_start",
                hhmm(before.window_start),
                hhmm(input.window_start),
            )
            .field(
                "window_end",
                hhmm(before.window_end),
                hhmm(input.window_end),
            )
            .field(
                "with_whom",
                before.with_whom.as_str(),
                input.with_whom.as_str(),
            )
            .field("notes", before.notes.as_str(), input.notes.as_str()),
    )
    .await?;
    Ok(())
}

/// How a visit went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitOutcome {
    Attended,
    NoAccess,
}

impl VisitOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            VisitOutcome::Attended => "attended",
            VisitOutcome::NoAccess => "no_access",
        }
    }
}

/// Records how a visit went (once: the same outcome again writes nothing).
pub async fn record_visit(
    tx: &mut TenantTx,
    actor: &Actor,
    before: &Appointment,
    outcome: VisitOutcome,
) -> Result<()> {
    let t = workable(tx, actor, before.ticket_id).await?;
    policy::may_work_on_ticket(actor, t.nominated_company_id)?;
    let status = outcome.as_str();
    if before.status == status {
        return Ok(());
    }
    db::appointments::set_status(tx, before.id, status).await?;
    let event = outcome_event(outcome, before.id, before.day);
    add_event(tx, actor, t.id, &event).await?;
    audit::record(
        tx,
        &actor.audit,
        &format!("appointment.{status}"),
        "appointment",
        Some(before.id),
        Changes::new().field("status", before.status.as_str(), status),
    )
    .await?;
    Ok(())
}

fn outcome_event(outcome: VisitOutcome, id: Uuid, day: Date) -> TicketEvent {
    let outcome_data = AppointmentOutcome {
        appointment_id: id,
        day: day.to_string(),
    };
    match outcome {
        VisitOutcome::Attended => TicketEvent::AppointmentAttended(outcome_data),
        VisitOutcome::NoAccess => TicketEvent::AppointmentNoAccess(outcome_data),
    }
}
