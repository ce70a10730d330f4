//! Raising a ticket from a failed item.

use super::*;
use crate::tickets::{self, Actor};

// ---------------------------------------------------------------- a ticket from a failed item

/// Raises a ticket from a failed item. The button sits in the inspection form, so the item's
/// answer and notes as typed come along and are saved first: marking "Fail" and raising is one step.
pub(super) async fn raise_ticket(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, key)): Path<(String, String)>,
    Form(typed): Form<HashMap<String, String>>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    policy::may_log_tickets(&user)?;
    // The item's photos go with the ticket, each copied (streamed) to an object of its own
    // before the transaction that records them opens: no transaction waits on the store,
    // and a copy is removed again unless that transaction commits.
    let copies = copy_item_photos(&state, &user, &id, &key).await?;
    let mut tx = user.begin(&state).await?;
    let insp = load(&mut tx, &user, &id).await?;
    let (section, item) = insp.structure.item(&key).ok_or(AppError::NotFound)?;
    if let Some(answer) = typed.get(&format!("answer_{key}"))
        && status_of(&insp).answers_open()
    {
        let notes = typed
            .get(&format!("notes_{key}"))
            .map_or("", String::as_str);
        apply_answer(&mut tx, &user, &insp, &key, answer, notes)
            .await
            .map_err(AppError::BadRequest)?;
    }
    let result = db::inspections::result(&mut tx, insp.id, &key).await?;
    if result.as_ref().and_then(|r| r.answer.as_deref()) != Some("fail") {
        return Err(AppError::BadRequest(
            "Only a failed item raises a ticket. Mark the item as failed first.".into(),
        ));
    }
    if let Some(t) = db::inspections::raised_tickets(&mut tx, insp.id)
        .await?
        .into_iter()
        .find(|t| t.item_key == key)
    {
        user.flash(
            "info",
            format!("This item already raised {}.", t.reference()),
        )
        .await?;
        return Ok(Redirect::to(&format!("/inspections/{}#item-{key}", insp.id)).into_response());
    }
    let notes = result.map(|r| r.notes).unwrap_or_default();
    let title: String = item.label.chars().take(200).collect();
    let mut description = if notes.is_empty() {
        format!("Failed at inspection: {}.", item.label)
    } else {
        notes
    };
    description.push_str(&format!(
        "\n\nRaised from the {} inspection ({}) on {}: {} › {}.",
        insp.kind.label().to_lowercase(),
        insp.template_name,
        long_date(insp.scheduled_on),
        section.title,
        item.label
    ));
    let category = item
        .trade
        .as_deref()
        .and_then(Category::parse)
        .unwrap_or(Category::General);
    let location: String = section.title.chars().take(100).collect();
    let now = clock::now();
    let fields = TicketFields {
        title: title.clone(),
        description,
        category,
        location: location.clone(),
        reported_by_contact_id: None,
        reported_via: "inspection".into(),
        reported_at: now,
        priority: Priority::Medium,
        is_complaint: false,
        complaint_received_on: None,
        internal_cost: None,
    };
    let place = PlotPlace {
        plot_id: insp.plot_id,
        scheme_id: insp.scheme_id,
        contract_id: insp.contract_id,
    };
    let origin = tickets::Origin::Inspection {
        inspection_id: insp.id,
        template_name: insp.template_name.clone(),
        scheduled_on: insp.scheduled_on,
        photos: copies.len(),
    };
    let logged = tickets::log(&mut tx, &Actor::of(&user), place, &fields, origin).await?;
    let (ticket_id, reference) = (logged.id, logged.reference);
    db::inspections::link_ticket(&mut tx, insp.id, &key, ticket_id).await?;
    for (photo, copy) in &copies {
        db::inspections::attach_ticket_photo(
            &mut tx,
            ticket_id,
            copy.key.as_str(),
            &photo.original_name,
            &photo.content_type,
            copy.size as i64,
            user.id,
        )
        .await?;
    }
    let changes = Changes::new()
        .note("item", key.clone())
        .set("ticket", reference.clone());
    audit::record(
        &mut tx,
        &user.actor(),
        "inspection.ticket_raised",
        "inspection",
        Some(insp.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    for (_, copy) in copies {
        copy.recorded();
    }
    user.flash(
        "success",
        format!("Ticket {reference} raised for \"{title}\"."),
    )
    .await?;
    Ok(Redirect::to(&format!("/inspections/{}#item-{key}", insp.id)).into_response())
}

/// Copies the failed item's photos for the ticket, outside any transaction (the photo
/// list is read in a short one of its own). Each copy is removed when dropped unless
/// marked recorded.
async fn copy_item_photos(
    state: &AppState,
    user: &CurrentUser,
    id: &str,
    key: &str,
) -> Result<Vec<(db::inspections::Photo, upload::StoredCopy)>> {
    let photos: Vec<_> = {
        let mut tx = user.begin(state).await?;
        let insp = load(&mut tx, user, id).await?;
        let photos = db::inspections::photos(&mut tx, insp.id).await?;
        tx.commit().await?;
        photos.into_iter().filter(|p| p.item_key == key).collect()
    };
    let mut copies = Vec::new();
    for photo in photos {
        let Some(source) = MediaKey::parse(&photo.storage_key) else {
            continue;
        };
        let copy = upload::copy(
            &state.media,
            &source,
            user.tenant.uuid(),
            "tickets",
            &photo.content_type,
        )
        .await?;
        copies.push((photo, copy));
    }
    Ok(copies)
}
