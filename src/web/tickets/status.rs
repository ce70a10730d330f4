//! Status changes (with their rules) and complaint stages.

use super::*;
use crate::tickets::{self, Actor};

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
    #[serde(default)]
    pub(super) hold_reason: String,
    #[serde(default)]
    pub(super) review_on: String,
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
    let mut errors = FormErrors::default();
    let resolution = errors.long_text("resolution", &form.resolution, 5000, None);
    let note = errors.long_text("note", &form.note, 5000, None);
    let hold_reason = errors.long_text("hold_reason", &form.hold_reason, 2000, None);
    let review_on = match parse_optional_date("review_on", &form.review_on) {
        Ok(d) => d,
        Err(_) => {
            errors.add("review_on", "Enter the review date like 2026-12-14.");
            None
        }
    };
    if let Some(e) = errors.0.into_iter().next() {
        return refuse(&mut tx, &user, t.id, e.field, e.message).await;
    }
    let to = Status::parse(form.to.trim());
    let ask = tickets::Transition {
        to,
        resolution,
        reason: AbortiveReason::parse(form.reason.trim()),
        note: if to == Some(Status::OnHold) {
            hold_reason
        } else {
            note
        },
        review_on,
    };
    let moved = match tickets::transition(&mut tx, &Actor::of(&user), t.id, ask).await {
        Err(AppError::Refused { field, message }) => {
            return refuse(&mut tx, &user, t.id, field, message).await;
        }
        other => other?,
    };
    tx.commit().await?;
    let message = if moved.reopened {
        format!("{} reopened.", moved.reference)
    } else {
        format!(
            "{} is now {}.",
            moved.reference,
            moved.to.label().to_lowercase()
        )
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
    let Ok(Some(done_on)) = parse_optional_date("done_on", &form.done_on) else {
        return refuse(
            &mut tx,
            &user,
            t.id,
            "done_on",
            "Enter the date the stage was done, like 2025-03-31.".into(),
        )
        .await;
    };
    match tickets::mark_complaint_stage(&mut tx, &Actor::of(&user), t.id, stage, done_on).await {
        Err(AppError::Refused { field, message }) => {
            return refuse(&mut tx, &user, t.id, field, message).await;
        }
        other => other?,
    }
    tx.commit().await?;
    user.flash(
        "success",
        format!("{} marked done on {}.", stage.label(), long_date(done_on)),
    )
    .await?;
    Ok(Redirect::to(&format!("/tickets/{}#complaint", t.id)).into_response())
}
