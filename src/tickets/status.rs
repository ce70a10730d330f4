//! Status changes: by staff from the ticket page, work completed by the nominated
//! subcontractor, sign-off and send-back of completed work; and complaint stages.
//! Every one is checked against the transition table (`domain::ticket::TRANSITIONS`).

use serde_json::json;
use time::Date;
use uuid::Uuid;

use super::{
    Actor, Links, add_event, check_transition, refused,
    store::{self, Locked, StatusUpdate},
};
use crate::{
    AppError, Result,
    auth::{TenantTx, policy},
    db::{
        self,
        audit::{self, Changes},
    },
    domain::{
        AbortiveReason, ComplaintStage, Status,
        clock::{self},
        file_type::is_image_content_type,
        ticket_event::{StatusChange, TicketEvent},
    },
};

/// A status change asked for on the ticket page.
#[derive(Debug, Clone, Default)]
pub struct Transition {
    pub to: Option<Status>,
    /// How the defect was resolved: required to close.
    pub resolution: String,
    /// Why a visit was abortive: required for an abortive visit.
    pub reason: Option<AbortiveReason>,
    /// Why the ticket is on hold, or the abortive visit's note.
    pub note: String,
    /// When to look at a held ticket again: required to put it on hold, today or later.
    pub review_on: Option<Date>,
}

/// What a status change did.
#[derive(Debug, Clone)]
pub struct Moved {
    pub reference: String,
    pub from: Status,
    pub to: Status,
    pub reopened: bool,
}

/// The ticket, locked, or 404.
pub(super) async fn locked(tx: &mut TenantTx, id: Uuid) -> Result<Locked> {
    store::lock(tx, id).await?.ok_or(AppError::NotFound)
}

/// The row update for moving `t` to `to` now: a hold that ends gives its time back to
/// the due time (returned as the seconds it held), a new hold starts its clock.
fn update_for(t: &Locked, to: Status) -> (StatusUpdate, Option<i64>) {
    let now = clock::now();
    let mut due_at = t.due_at;
    let mut on_hold_since = t.on_hold_since;
    let mut held = None;
    if let Some(since) = t.on_hold_since
        && to != Status::OnHold
    {
        let (due, h) = clock::resume(t.due_at, since, now);
        due_at = due;
        on_hold_since = None;
        held = Some(h.whole_seconds());
    }
    if to == Status::OnHold {
        on_hold_since = Some(now);
    }
    let update = StatusUpdate {
        status: to,
        abortive_reason: None,
        abortive_note: None,
        resolution: None,
        due_at,
        on_hold_since,
        closed_at: (to == Status::Closed).then_some(now),
        hold: None,
    };
    (update, held)
}

/// Moves a ticket as staff ask on the ticket page.
pub async fn transition(
    tx: &mut TenantTx,
    actor: &Actor,
    ticket_id: Uuid,
    ask: Transition,
) -> Result<Moved> {
    policy::may_manage_tickets(actor)?;
    let t = locked(tx, ticket_id).await?;
    let from = t.status;
    let to = ask
        .to
        .ok_or_else(|| refused("status", "Choose a status from the ticket page."))?;
    check_transition(from, to, "status")?;
    let resolution = ask.resolution.trim().to_owned();
    let note = ask.note.trim().to_owned();
    if to == Status::Closed && resolution.is_empty() {
        return Err(refused(
            "resolution",
            "Say how the defect was resolved before closing the ticket.",
        ));
    }
    if to == Status::AbortiveVisit && ask.reason.is_none() {
        return Err(refused("reason", "Choose why the visit was abortive."));
    }
    let hold = if to == Status::OnHold {
        if note.is_empty() {
            return Err(refused(
                "hold_reason",
                "Say why the ticket is on hold, so the team knows what it waits for.",
            ));
        }
        match ask.review_on {
            None => {
                return Err(refused(
                    "review_on",
                    "Choose the date to review the hold, like 2026-12-14.",
                ));
            }
            Some(on) if on < clock::today() => {
                return Err(refused(
                    "review_on",
                    "The review date cannot be in the past.",
                ));
            }
            Some(on) => Some((note.clone(), on)),
        }
    } else {
        None
    };
    let (mut update, held) = update_for(&t, to);
    if to == Status::AbortiveVisit {
        update.abortive_reason = ask.reason.map(|r| r.as_str().to_owned());
        update.abortive_note = (!note.is_empty()).then(|| note.clone());
    }
    if to == Status::Closed {
        update.resolution = Some(resolution.clone());
    }
    update.hold = hold.clone();
    store::set_status(tx, t.id, &update).await?;

    let reopened = from.is_reopening(to);
    let mut change = StatusChange {
        from: from.as_str().to_owned(),
        to: to.as_str().to_owned(),
        resolution: update.resolution.clone(),
        reason: update.abortive_reason.clone(),
        note: update
            .abortive_note
            .clone()
            .or_else(|| hold.as_ref().map(|(reason, _)| reason.clone())),
        review_on: hold.as_ref().map(|(_, on)| on.to_string()),
        held_seconds: held,
        ..Default::default()
    };
    let mut changes = Changes::new().field("status", from.as_str(), to.as_str());
    if let Some(r) = &change.resolution {
        changes = changes.note("resolution", r.as_str());
    }
    if let Some(r) = &change.reason {
        changes = changes.note("reason", r.as_str());
    }
    if let Some((reason, on)) = &hold {
        changes = changes
            .note("hold_reason", reason.as_str())
            .note("hold_review_on", on.to_string());
    }
    if held.is_some() {
        changes = changes.field(
            "due_at",
            t.due_at.map(|d| d.to_string()),
            update.due_at.map(|d| d.to_string()),
        );
    }
    let (event, action) = if reopened {
        change.held_seconds = held;
        (TicketEvent::Reopened(change), "ticket.reopened")
    } else {
        (TicketEvent::StatusChanged(change), "ticket.status_changed")
    };
    add_event(tx, actor, t.id, &event).await?;
    audit::record(tx, &actor.audit, action, "ticket", Some(t.id), changes).await?;
    Ok(Moved {
        reference: t.reference(),
        from,
        to,
        reopened,
    })
}

/// The nominated subcontractor reports the work done: the ticket awaits sign-off,
/// and the team (whoever nominated, else the admins) is emailed.
pub async fn complete(
    tx: &mut TenantTx,
    actor: &Actor,
    ticket_id: Uuid,
    note: &str,
    links: &Links,
) -> Result<Moved> {
    let t = locked(tx, ticket_id).await?;
    let company = policy::may_act_for_company(actor, t.nominated_company_id)?;
    let note = note.trim();
    if note.is_empty() {
        return Err(refused("note", "Say what you did to put the defect right."));
    }
    let job = db::portal::job(tx, company, t.id)
        .await?
        .ok_or(AppError::NotFound)?;
    if job.response.as_deref() != Some("accepted") {
        return Err(refused(
            "note",
            "Accept the job before marking it complete.",
        ));
    }
    check_transition(t.status, Status::Completed, "note")?;
    if t.status != Status::InProgress {
        return Err(refused("note", "This job is not in progress any more."));
    }
    let (update, _) = update_for(&t, Status::Completed);
    store::set_status(tx, t.id, &update).await?;
    let photos = db::files::list(tx, t.id, true)
        .await?
        .iter()
        .filter(|f| is_image_content_type(&f.content_type))
        .count();
    let company_name = db::portal::company_name(tx, company).await?;
    let reference = t.reference();
    let address = super::nomination::job_address(&job);
    let email_id = super::nomination::email_team(
        tx,
        &job,
        links.to(&format!("/tickets/{}/sign-off", t.id)),
        format!("{reference} is ready for sign-off"),
        |hello, link| {
            format!(
                "{hello}\n\n{company_name} has marked {reference} ({title}) at {address} as complete.\n\n\
                 Their note: {note}\n\
                 Photos on the ticket: {photos}\n\n\
                 Confirm and close it, or send it back, in Plotcare: {link}\n",
                title = job.title,
            )
        },
    )
    .await?;
    add_event(
        tx,
        actor,
        t.id,
        &TicketEvent::WorkCompleted {
            summary: format!("Work marked complete by {company_name}"),
            detail: note.to_owned(),
            note: note.to_owned(),
            company_id: company,
            photos: json!(photos),
            from: t.status.as_str().to_owned(),
            to: Status::Completed.as_str().to_owned(),
        },
    )
    .await?;
    audit::record(
        tx,
        &actor.audit,
        "ticket.work_completed",
        "ticket",
        Some(t.id),
        Changes::new()
            .field("status", t.status.as_str(), Status::Completed.as_str())
            .note("note", note)
            .note("email_id", email_id.map(|e| e.to_string())),
    )
    .await?;
    Ok(Moved {
        reference,
        from: t.status,
        to: Status::Completed,
        reopened: false,
    })
}

/// Refuses anything but a ticket awaiting sign-off.
fn awaiting_sign_off(t: &Locked, to: Status) -> Result<()> {
    if t.status != Status::Completed {
        return Err(refused(
            "status",
            format!(
                "{} is not awaiting sign-off: it is {}.",
                t.reference(),
                t.status.label().to_lowercase()
            ),
        ));
    }
    check_transition(t.status, to, "status")
}

/// Staff confirm completed work and close the ticket.
pub async fn sign_off(
    tx: &mut TenantTx,
    actor: &Actor,
    ticket_id: Uuid,
    resolution: &str,
) -> Result<Moved> {
    policy::may_manage_tickets(actor)?;
    let t = locked(tx, ticket_id).await?;
    awaiting_sign_off(&t, Status::Closed)?;
    let resolution = resolution.trim();
    if resolution.is_empty() {
        return Err(refused(
            "resolution",
            "Say how the defect was resolved before closing the ticket.",
        ));
    }
    let (mut update, _) = update_for(&t, Status::Closed);
    update.resolution = Some(resolution.to_owned());
    store::set_status(tx, t.id, &update).await?;
    let change = StatusChange {
        from: t.status.as_str().to_owned(),
        to: Status::Closed.as_str().to_owned(),
        resolution: Some(resolution.to_owned()),
        signed_off: true,
        ..Default::default()
    };
    add_event(tx, actor, t.id, &TicketEvent::StatusChanged(change)).await?;
    audit::record(
        tx,
        &actor.audit,
        "ticket.signed_off",
        "ticket",
        Some(t.id),
        Changes::new()
            .field("status", t.status.as_str(), Status::Closed.as_str())
            .note("resolution", resolution),
    )
    .await?;
    Ok(Moved {
        reference: t.reference(),
        from: t.status,
        to: Status::Closed,
        reopened: false,
    })
}

/// Staff send completed work back to the subcontractor: in progress again.
pub async fn send_back(
    tx: &mut TenantTx,
    actor: &Actor,
    ticket_id: Uuid,
    reason: &str,
) -> Result<Moved> {
    policy::may_manage_tickets(actor)?;
    let t = locked(tx, ticket_id).await?;
    awaiting_sign_off(&t, Status::InProgress)?;
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(refused(
            "reason",
            "Say what still needs doing, so the subcontractor knows.",
        ));
    }
    let (update, _) = update_for(&t, Status::InProgress);
    store::set_status(tx, t.id, &update).await?;
    let change = StatusChange {
        from: t.status.as_str().to_owned(),
        to: Status::InProgress.as_str().to_owned(),
        note: Some(format!("Sent back: {reason}")),
        sent_back: true,
        ..Default::default()
    };
    add_event(tx, actor, t.id, &TicketEvent::StatusChanged(change)).await?;
    audit::record(
        tx,
        &actor.audit,
        "ticket.sent_back",
        "ticket",
        Some(t.id),
        Changes::new()
            .field("status", t.status.as_str(), Status::InProgress.as_str())
            .note("reason", reason),
    )
    .await?;
    Ok(Moved {
        reference: t.reference(),
        from: t.status,
        to: Status::InProgress,
        reopened: false,
    })
}

/// Marks a complaint stage done on `done_on` (again: the date is corrected).
pub async fn mark_complaint_stage(
    tx: &mut TenantTx,
    actor: &Actor,
    ticket_id: Uuid,
    stage: ComplaintStage,
    done_on: Date,
) -> Result<()> {
    policy::may_manage_tickets(actor)?;
    let t = locked(tx, ticket_id).await?;
    if !t.is_complaint {
        return Err(refused(
            "stage",
            "This ticket is not flagged as a complaint.",
        ));
    }
    if done_on > clock::today() {
        return Err(refused(
            "done_on",
            "The date a stage was done cannot be in the future.",
        ));
    }
    let before = db::tickets::mark_stage(tx, t.id, stage, done_on, actor.user_id).await?;
    add_event(
        tx,
        actor,
        t.id,
        &TicketEvent::ComplaintStage {
            stage: stage.as_str().to_owned(),
            done_on: done_on.to_string(),
        },
    )
    .await?;
    let changes = Changes::new().note("stage", stage.as_str()).field(
        "done_on",
        before.map(|d| d.to_string()),
        done_on.to_string(),
    );
    audit::record(
        tx,
        &actor.audit,
        "ticket.complaint_stage_done",
        "ticket",
        Some(t.id),
        changes,
    )
    .await?;
    Ok(())
}

/// Moves the ticket as a side effect of another operation (a nomination starts work,
/// a declined nomination hands it back), when the table allows it.
pub(super) async fn follow_on(tx: &mut TenantTx, t: &Locked, to: Status) -> Result<Status> {
    if !t.status.can_move_to(to) {
        return Ok(t.status);
    }
    let (update, _) = update_for(t, to);
    store::set_status(tx, t.id, &update).await?;
    Ok(to)
}
