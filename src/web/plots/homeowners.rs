//! A plot's homeowners, past and present.

use super::*;

// ---------------------------------------------------------------- homeowners

pub(super) async fn add_homeowner(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<OwnerForm>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let plot = load(&mut tx, &user, &id).await?;

    let mut errors = FormErrors::default();
    let existing = match form.contact_id.trim() {
        "" => None,
        raw => match Uuid::parse_str(raw) {
            Ok(contact_id) => match db::plots::homeowner_name(&mut tx, contact_id).await? {
                Some(name) => Some((contact_id, name)),
                None => {
                    errors.add("contact_id", "Choose a homeowner from the list");
                    None
                }
            },
            Err(_) => {
                errors.add("contact_id", "Choose a homeowner from the list");
                None
            }
        },
    };
    let new_name = errors.text("new_name", &form.new_name, 200, None);
    let new_phone = errors.text("new_phone", &form.new_phone, 50, None);
    let new_email = match form.new_email.trim() {
        "" => None,
        raw => errors.check(Email::parse("new_email", raw)),
    };
    if form.contact_id.trim().is_empty() && new_name.is_empty() {
        errors.add(
            "contact_id",
            "Choose a homeowner, or enter the new homeowner's name below",
        );
    } else if !form.contact_id.trim().is_empty() && !new_name.is_empty() {
        errors.add(
            "contact_id",
            "Choose an existing homeowner or enter a new one, not both",
        );
    }
    let from = errors
        .check(parse_optional_date("from_date", &form.from_date))
        .flatten();
    let to = errors
        .check(parse_optional_date("to_date", &form.to_date))
        .flatten();
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.add(
            "to_date",
            format!(
                "The 'to' date can't be before the 'from' date ({})",
                long_date(f)
            ),
        );
    }
    if !errors.is_empty() {
        let page = show_page(&mut tx, &user, plot, form, errors).await?;
        return Ok(unprocessable(page));
    }

    let (contact_id, name) = match existing {
        Some(found) => found,
        None => {
            let phone = (!new_phone.is_empty()).then_some(new_phone.as_str());
            let contact_id = db::plots::insert_homeowner_contact(
                &mut tx,
                &new_name,
                phone,
                new_email.as_ref().map(Email::as_str),
            )
            .await?;
            let changes = Changes::new()
                .set("kind", "homeowner")
                .set("name", new_name.as_str())
                .note("created_from_plot", plot.id.to_string());
            audit::record(
                &mut tx,
                &user.actor(),
                "contact.created",
                "contact",
                Some(contact_id),
                changes,
            )
            .await?;
            (contact_id, new_name)
        }
    };
    let ownership = db::plots::add_homeowner(&mut tx, plot.id, contact_id, from, to).await?;
    let changes = Changes::new()
        .set("ownership_id", ownership.to_string())
        .set("contact_id", contact_id.to_string())
        .set("homeowner", name.as_str())
        .set("from_date", date_value(from))
        .set("to_date", date_value(to));
    audit::record(
        &mut tx,
        &user.actor(),
        "plot.homeowner_added",
        "plot",
        Some(plot.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!("{name} added as a homeowner of plot {}.", plot.plot_number),
    )
    .await?;
    Ok(Redirect::to(&format!("/plots/{}", plot.id)).into_response())
}

pub(super) async fn end_homeowner(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, ownership)): Path<(String, String)>,
    Form(form): Form<EndForm>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let plot = load(&mut tx, &user, &id).await?;
    let ownership = parse_id(&ownership)?;
    let owners = db::plots::homeowners(&mut tx, plot.id).await?;
    let owner = owners
        .into_iter()
        .find(|o| o.id == ownership)
        .ok_or(AppError::NotFound)?;

    let mut errors = FormErrors::default();
    let to = errors
        .check(parse_optional_date("end_to_date", &form.to_date))
        .flatten()
        .unwrap_or_else(today);
    if let Some(from) = owner.from_date
        && to < from
    {
        errors.add(
            "end_to_date",
            format!(
                "{} can't stop owning the plot before they started ({}).",
                owner.name,
                long_date(from)
            ),
        );
    }
    if !errors.is_empty() {
        let page = show_page(&mut tx, &user, plot, OwnerForm::default(), errors).await?;
        return Ok(unprocessable(page));
    }
    db::plots::end_ownership(&mut tx, plot.id, owner.id, to).await?;
    let changes = Changes::new()
        .note("ownership_id", owner.id.to_string())
        .note("homeowner", owner.name.as_str())
        .field("to_date", date_value(owner.to_date), date_value(Some(to)));
    audit::record(
        &mut tx,
        &user.actor(),
        "plot.homeowner_ended",
        "plot",
        Some(plot.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!(
            "{} is recorded as the homeowner of plot {} until {}.",
            owner.name,
            plot.plot_number,
            long_date(to)
        ),
    )
    .await?;
    Ok(Redirect::to(&format!("/plots/{}", plot.id)).into_response())
}
