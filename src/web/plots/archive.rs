//! Archiving and restoring a plot.

use super::*;

// ---------------------------------------------------------------- archive

pub(super) async fn archive(
    state: State<AppState>,
    user: CurrentUser,
    id: Path<String>,
) -> Result<Response> {
    set_archived(state, user, id, true).await
}

pub(super) async fn restore(
    state: State<AppState>,
    user: CurrentUser,
    id: Path<String>,
) -> Result<Response> {
    set_archived(state, user, id, false).await
}

pub(super) async fn set_archived(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    archived: bool,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let plot = load(&mut tx, &user, &id).await?;
    // Archived once handed over and all its tickets are closed.
    if archived && plot.completion_date.is_none() {
        drop(tx);
        user.flash(
            "error",
            format!("Plot {} can't be archived until it has been handed over. Add its completion date first.", plot.plot_number),
        )
        .await?;
        return Ok(Redirect::to(&format!("/plots/{}", plot.id)).into_response());
    }
    if archived && db::plots::open_ticket_count(&mut tx, plot.id).await? > 0 {
        drop(tx);
        user.flash(
            "error",
            format!("Plot {} can't be archived while it has open tickets. Close or withdraw them first.", plot.plot_number),
        )
        .await?;
        return Ok(Redirect::to(&format!("/plots/{}", plot.id)).into_response());
    }
    db::plots::set_archived(&mut tx, plot.id, archived).await?;
    let action = if archived {
        "plot.archived"
    } else {
        "plot.restored"
    };
    audit::record(
        &mut tx,
        &user.actor(),
        action,
        "plot",
        Some(plot.id),
        Changes::new().field("archived", plot.archived_at.is_some(), archived),
    )
    .await?;
    tx.commit().await?;
    let message = if archived {
        format!("Plot {} archived.", plot.plot_number)
    } else {
        format!("Plot {} restored.", plot.plot_number)
    };
    user.flash("success", message).await?;
    Ok(Redirect::to(&format!("/plots/{}", plot.id)).into_response())
}
