//! Status changes (with their rules) and complaint stages.

use super::*;
use crate::domain::ticket_event::{StatusChange, TicketEvent};

// ---------------------------------------------------------------- status changes

#[derive(Deserialize)]
pub(super) struct StatusForm {
    #[serde(default)]
    pub(super) to: String,
    #[serde(default)]
    pub(super) resolution: String,
    #[serde(default)]
    pub(super) reason: String,
    #[serde(default)]
    pub(super) note: String,
}

/// The ticket page again with the problem shown: 422.
pub(super) async fn refuse(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: Uuid,
    field: &'static str,
    message: String,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    errors.add(field, message);
    let page = ticket_page(tx, user, id, errors).await?;
    Ok(unprocessable(page))
}

pub(super) async fn change_status(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let t = managed_ticket(&mut tx, &user, &id).await?;
    let from = t.status();
    let Some(to) = Status::parse(form.to.trim()) else {
        return refuse(
            &mut tx,
            &user,
            t.id,
            "status",
            "Choose a status from the ticket page.".into(),
        )
        .await;
    };
    if let Some(why) = transition_refusal(from, to) {
        return refuse(&mut tx, &user, t.id, "status", why).await;
    }
    let mut errors = FormErrors::default();
    let resolution = errors.long_text("resolution", &form.resolution, 5000, None);
    let note = errors.long_text("note", &form.note, 5000, None);
    if let Some(e) = errors.0.into_iter().next() {
        return refuse(&mut tx, &user, t.id, e.field, e.message).await;
    }
    let reason = AbortiveReason::parse(form.reason.trim());
    if to == Status::Closed && resolution.is_empty() {
        return refuse(
            &mut tx,
            &user,
            t.id,
            "resolution",
            "Say how the defect was resolved before closing the ticket.".into(),
        )
        .await;
    }
    if to == Status::AbortiveVisit && reason.is_none() {
        return refuse(
            &mut tx,
            &user,
            t.id,
            "reason",
            "Choose why the visit was abortive.".into(),
        )
        .await;
    }

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
        held = Some(h);
    }
    if to == Status::OnHold {
        on_hold_since = Some(now);
    }
    let update = StatusUpdate {
        status: to,
        abortive_reason: (to == Status::AbortiveVisit)
            .then(|| reason.map(|r| r.as_str().to_owned()))
            .flatten(),
        abortive_note: (to == Status::AbortiveVisit && !note.is_empty()).then(|| note.clone()),
        resolution: (to == Status::Closed).then(|| resolution.clone()),
        due_at,
        on_hold_since,
        closed_at: (to == Status::Closed).then_some(now),
    };
    db::tickets::set_status(&mut tx, t.id, &update).await?;

    let reopens = from.is_reopening(to);
    let mut change = StatusChange {
        from: from.as_str().to_owned(),
        to: to.as_str().to_owned(),
        ..Default::default()
    };
    let mut changes = Changes::new().field("status", from.as_str(), to.as_str());
    if to == Status::Closed {
        change.resolution = Some(resolution.clone());
        changes = changes.note("resolution", resolution.clone());
    }
    if let Some(r) = update.abortive_reason.as_deref() {
        change.reason = Some(r.to_owned());
        changes = changes.note("reason", r);
    }
    if to == Status::AbortiveVisit && !note.is_empty() {
        change.note = Some(note.clone());
    }
    if let Some(h) = held {
        change.held_seconds = Some(h.whole_seconds());
        changes = changes.field(
            "due_at",
            t.due_at.map(|d| d.to_string()),
            due_at.map(|d| d.to_string()),
        );
    }
    let event = if reopens {
        TicketEvent::Reopened(change)
    } else {
        TicketEvent::StatusChanged(change)
    };
    db::tickets::add_event(&mut tx, t.id, Some(user.id), &event).await?;
    let action = if reopens {
        "ticket.reopened"
    } else {
        "ticket.status_changed"
    };
    audit::record(
        &mut tx,
        &user.actor(),
        action,
        "ticket",
        Some(t.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    let message = if reopens {
        format!("{} reopened.", t.reference())
    } else {
        format!("{} is now {}.", t.reference(), to.label().to_lowercase())
    };
    user.flash("success", message).await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response())
}

// ---------------------------------------------------------------- complaint stages

#[derive(Deserialize)]
pub(super) struct StageForm {
    #[serde(default)]
    pub(super) stage: String,
    #[serde(default)]
    pub(super) done_on: String,
}

pub(super) async fn mark_stage(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<StageForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let t = managed_ticket(&mut tx, &user, &id).await?;
    if !t.is_complaint {
        return refuse(
            &mut tx,
            &user,
            t.id,
            "stage",
            "This ticket is not flagged as a complaint.".into(),
        )
        .await;
    }
    let Some(stage) = ComplaintStage::parse(form.stage.trim()) else {
        return refuse(
            &mut tx,
            &user,
            t.id,
            "stage",
            "Choose a complaint stage from the list.".into(),
        )
        .await;
    };
    let done_on = match parse_optional_date("done_on", &form.done_on) {
        Ok(Some(d)) if d > clock::today() => {
            return refuse(
                &mut tx,
                &user,
                t.id,
                "done_on",
                "The date a stage was done cannot be in the future.".into(),
            )
            .await;
        }
        Ok(Some(d)) => d,
        _ => {
            return refuse(
                &mut tx,
                &user,
                t.id,
                "done_on",
                "Enter the date the stage was done, like 2025-03-31.".into(),
            )
            .await;
        }
    };
    let before = db::tickets::mark_stage(&mut tx, t.id, stage, done_on, user.id).await?;
    db::tickets::add_event(
        &mut tx,
        t.id,
        Some(user.id),
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
        &mut tx,
        &user.actor(),
        "ticket.complaint_stage_done",
        "ticket",
        Some(t.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!("{} marked done on {}.", stage.label(), long_date(done_on)),
    )
    .await?;
    Ok(Redirect::to(&format!("/tickets/{}#complaint", t.id)).into_response())
}
