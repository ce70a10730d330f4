//! Completion, sign-off and commentary.

use super::*;

// ---------------------------------------------------------------- completion, sign-off, commentary

#[derive(Deserialize, Default)]
pub(super) struct CompleteForm {
    #[serde(default)]
    pub(super) outcome: String,
}

pub(super) async fn complete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<CompleteForm>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let insp = load(&mut tx, &user, &id).await?;
    let status = status_of(&insp);
    if !status.answers_open() {
        return Err(AppError::Conflict(
            "This inspection is already completed.".into(),
        ));
    }
    let mut errors = FormErrors::default();
    let outcome = Outcome::parse(form.outcome.trim());
    if outcome.is_none() {
        errors.add("outcome", "Choose the overall outcome");
    }
    let results = db::inspections::results(&mut tx, insp.id).await?;
    let photos = db::inspections::photos(&mut tx, insp.id).await?;
    let missing: Vec<String> = insp
        .structure
        .sections
        .iter()
        .flat_map(|s| s.items.iter().map(move |i| (s, i)))
        .filter(|(_, i)| i.photo_required_on_fail && i.kind == AnswerKind::PassFail)
        .filter(|(_, i)| {
            results
                .iter()
                .any(|r| r.item_key == i.key && r.answer.as_deref() == Some("fail"))
        })
        .filter(|(_, i)| !photos.iter().any(|p| p.item_key == i.key))
        .map(|(s, i)| format!("{}: {}", s.title, i.label))
        .collect();
    if !missing.is_empty() {
        errors.add(
            "photos",
            format!(
                "Add a photo to each failed item that needs one before completing: {}.",
                missing.join("; ")
            ),
        );
    }
    let Some(outcome) = outcome.filter(|_| errors.is_empty()) else {
        let page = show_page(&mut tx, &user, &insp, errors, None, &BTreeMap::new()).await?;
        return Ok(unprocessable(page));
    };
    db::inspections::complete(&mut tx, insp.id, outcome.as_str()).await?;
    let changes = Changes::new()
        .field("status", status.as_str(), "completed")
        .set("outcome", outcome.as_str());
    audit::record(
        &mut tx,
        &user.actor(),
        "inspection.completed",
        "inspection",
        Some(insp.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!("Inspection completed: {}.", outcome.label()),
    )
    .await?;
    Ok(Redirect::to(&format!("/inspections/{}", insp.id)).into_response())
}

#[derive(Deserialize, Default)]
pub(super) struct SignOffForm {
    #[serde(default)]
    pub(super) signed_by_name: String,
    #[serde(default)]
    pub(super) signed_on: String,
}

pub(super) async fn sign_off(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<SignOffForm>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let insp = load(&mut tx, &user, &id).await?;
    if status_of(&insp) != Status::Completed {
        return Err(AppError::Conflict(
            "Only a completed inspection can be signed off.".into(),
        ));
    }
    let mut errors = FormErrors::default();
    let name = errors.text(
        "signed_by_name",
        &form.signed_by_name,
        200,
        Some("the name of the homeowner or client who signed"),
    );
    let signed_on = match parse_optional_date("signed_on", &form.signed_on) {
        Ok(Some(d)) if d <= today() => Some(d),
        Ok(Some(_)) => {
            errors.add("signed_on", "The date of signing cannot be in the future");
            None
        }
        Ok(None) => {
            errors.add("signed_on", "Enter the date they signed");
            None
        }
        Err(e) => {
            errors.add("signed_on", e.message);
            None
        }
    };
    let Some(signed_on) = signed_on.filter(|_| errors.is_empty()) else {
        let page = show_page(&mut tx, &user, &insp, errors, None, &BTreeMap::new()).await?;
        return Ok(unprocessable(page));
    };
    db::inspections::sign_off(&mut tx, insp.id, &name, signed_on).await?;
    let changes = Changes::new()
        .field("status", "completed", "signed_off")
        .set("signed_by_name", name.clone())
        .set("signed_on", signed_on.to_string());
    audit::record(
        &mut tx,
        &user.actor(),
        "inspection.signed_off",
        "inspection",
        Some(insp.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash("success", format!("Signed off by {name}."))
        .await?;
    Ok(Redirect::to(&format!("/inspections/{}", insp.id)).into_response())
}

#[derive(Deserialize, Default)]
pub(super) struct CommentForm {
    #[serde(default)]
    pub(super) visibility: String,
    #[serde(default)]
    pub(super) body: String,
}

pub(super) async fn add_comment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<CommentForm>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let insp = load(&mut tx, &user, &id).await?;
    let mut errors = FormErrors::default();
    let body = errors.long_text("comment", &form.body, 20000, Some("a comment"));
    let visibility = match form.visibility.as_str() {
        "internal" | "shared" => form.visibility.as_str(),
        _ => {
            errors.add(
                "comment",
                "Choose whether the comment is internal or shared",
            );
            "internal"
        }
    };
    if !errors.is_empty() {
        let page = show_page(&mut tx, &user, &insp, errors, None, &BTreeMap::new()).await?;
        return Ok(unprocessable(page));
    }
    let comment_id =
        db::inspections::add_comment(&mut tx, insp.id, user.id, visibility, &body).await?;
    let changes = Changes::new()
        .set("visibility", visibility)
        .note("comment_id", comment_id.to_string());
    audit::record(
        &mut tx,
        &user.actor(),
        "inspection.commented",
        "inspection",
        Some(insp.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash("success", "Comment added.").await?;
    Ok(Redirect::to(&format!("/inspections/{}#commentary", insp.id)).into_response())
}
