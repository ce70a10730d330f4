//! The inspection page: answers, photos and commentary.

use super::*;

// ---------------------------------------------------------------- the inspection page

pub(super) struct PhotoView {
    pub(super) id: Uuid,
    pub(super) name: String,
}

pub(super) struct ItemView {
    pub(super) key: String,
    pub(super) label: String,
    pub(super) kind: &'static str,
    pub(super) photo_required: bool,
    pub(super) trade: &'static str,
    pub(super) answer: String,
    pub(super) answer_label: String,
    pub(super) notes: String,
    pub(super) photos: Vec<PhotoView>,
    pub(super) ticket: Option<(Uuid, String)>,
    pub(super) failed: bool,
    pub(super) missing_photo: bool,
    pub(super) error: Option<String>,
}

pub(super) struct SectionView {
    pub(super) title: String,
    pub(super) items: Vec<ItemView>,
}

pub(super) struct CommentView {
    pub(super) internal: bool,
    pub(super) body: String,
    pub(super) author: String,
    pub(super) when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "inspections/show.html")]
pub(super) struct ShowPage {
    pub(super) chrome: Chrome,
    pub(super) crumbs: Vec<Crumb>,
    pub(super) id: Uuid,
    pub(super) plot_id: Uuid,
    pub(super) plot: String,
    pub(super) address: String,
    pub(super) scheme: String,
    pub(super) template: String,
    pub(super) version: i32,
    pub(super) kind: &'static str,
    pub(super) date: String,
    pub(super) inspector: String,
    pub(super) status: &'static str,
    pub(super) status_class: &'static str,
    pub(super) outcome: &'static str,
    pub(super) outcome_class: &'static str,
    pub(super) signed_by: String,
    pub(super) signed_on: String,
    pub(super) sections: Vec<SectionView>,
    pub(super) comments: Vec<CommentView>,
    pub(super) outcomes: Vec<SelectOption>,
    pub(super) can_edit: bool,
    pub(super) answers_open: bool,
    pub(super) can_complete: bool,
    pub(super) can_sign_off: bool,
    pub(super) today: String,
    pub(super) errors: FormErrors,
}

/// Answers typed but not saved (a form shown again with its problems), by item key.
pub(super) type Typed = BTreeMap<String, (String, String)>;

pub(super) struct Loaded {
    pub(super) sections: Vec<SectionView>,
    pub(super) comments: Vec<CommentView>,
}

pub(super) async fn load_items(
    tx: &mut TenantTx,
    insp: &Inspection,
    typed: Option<&Typed>,
    item_errors: &BTreeMap<String, String>,
) -> Result<Loaded> {
    let results = db::inspections::results(tx, insp.id).await?;
    let photos = db::inspections::photos(tx, insp.id).await?;
    let tickets = db::inspections::raised_tickets(tx, insp.id).await?;
    let comments = db::inspections::comments(tx, insp.id).await?;
    let sections = insp
        .structure
        .sections
        .iter()
        .map(|s| SectionView {
            title: s.title.clone(),
            items: s
                .items
                .iter()
                .map(|item| {
                    let saved = results.iter().find(|r| r.item_key == item.key);
                    let (answer, notes) = match typed.and_then(|t| t.get(&item.key)) {
                        Some((a, n)) => (a.clone(), n.clone()),
                        None => (
                            saved.and_then(|r| r.answer.clone()).unwrap_or_default(),
                            saved.map(|r| r.notes.clone()).unwrap_or_default(),
                        ),
                    };
                    let item_photos: Vec<PhotoView> = photos
                        .iter()
                        .filter(|p| p.item_key == item.key)
                        .map(|p| PhotoView {
                            id: p.id,
                            name: p.original_name.clone(),
                        })
                        .collect();
                    let failed = answer == "fail";
                    ItemView {
                        key: item.key.clone(),
                        label: item.label.clone(),
                        kind: item.kind.as_str(),
                        photo_required: item.photo_required_on_fail,
                        trade: item
                            .trade
                            .as_deref()
                            .and_then(|t| TRADES.iter().find(|(v, _)| *v == t))
                            .map_or("", |(_, l)| *l),
                        answer_label: answer_label(&answer).to_owned(),
                        missing_photo: failed
                            && item.photo_required_on_fail
                            && item_photos.is_empty(),
                        answer,
                        notes,
                        photos: item_photos,
                        ticket: tickets
                            .iter()
                            .find(|t| t.item_key == item.key)
                            .map(|t| (t.ticket_id, t.reference())),
                        failed,
                        error: item_errors.get(&item.key).cloned(),
                    }
                })
                .collect(),
        })
        .collect();
    let comments = comments
        .into_iter()
        .map(|c| CommentView {
            internal: c.visibility == "internal",
            body: c.body,
            author: c.author_name,
            when: format!(
                "{} {:02}:{:02}",
                long_date(c.created_at.date()),
                c.created_at.hour(),
                c.created_at.minute()
            ),
        })
        .collect();
    Ok(Loaded { sections, comments })
}

pub(super) async fn show_page(
    tx: &mut TenantTx,
    user: &CurrentUser,
    insp: &Inspection,
    errors: FormErrors,
    typed: Option<&Typed>,
    item_errors: &BTreeMap<String, String>,
) -> Result<ShowPage> {
    let loaded = load_items(tx, insp, typed, item_errors).await?;
    let status = status_of(insp);
    let outcome = insp.outcome;
    let can_edit = policy::may_edit_records(user).is_ok();
    let mut outcomes = vec![SelectOption::new("", "Choose the outcome", "")];
    outcomes.extend(
        Outcome::ALL
            .iter()
            .map(|o| SelectOption::new(o.as_str(), o.label(), "")),
    );
    Ok(ShowPage {
        chrome: user
            .chrome(format!(
                "{} · plot {}",
                insp.template_name, insp.plot_number
            ))
            .await?,
        crumbs: vec![
            Crumb::link("/inspections", "Inspections"),
            Crumb::link(
                format!("/plots/{}", insp.plot_id),
                format!("Plot {}", insp.plot_number),
            ),
            Crumb::here(insp.template_name.clone()),
        ],
        id: insp.id,
        plot_id: insp.plot_id,
        plot: insp.plot_number.clone(),
        address: [insp.plot_address.as_str(), insp.plot_postcode.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", "),
        scheme: insp.scheme_name.clone(),
        template: insp.template_name.clone(),
        version: insp.template_version,
        kind: insp.kind.label(),
        date: long_date(insp.scheduled_on),
        inspector: insp.inspector_name.clone().unwrap_or_default(),
        status: status.label(),
        status_class: status.badge_class(),
        outcome: outcome.map_or("", Outcome::label),
        outcome_class: outcome.map_or("", Outcome::badge_class),
        signed_by: insp.signed_by_name.clone().unwrap_or_default(),
        signed_on: insp.signed_on.map(long_date).unwrap_or_default(),
        sections: loaded.sections,
        comments: loaded.comments,
        outcomes,
        can_edit,
        answers_open: can_edit && status.answers_open(),
        can_complete: can_edit && status.answers_open(),
        can_sign_off: can_edit && status == Status::Completed,
        today: today().to_string(),
        errors,
    })
}

pub(super) async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<ShowPage> {
    let mut tx = user.begin(&state).await?;
    let insp = load(&mut tx, &user, &id).await?;
    let page = show_page(
        &mut tx,
        &user,
        &insp,
        FormErrors::default(),
        None,
        &BTreeMap::new(),
    )
    .await?;
    tx.commit().await?;
    Ok(page)
}

/// Checks and saves one answer, with its audit record. Returns whether anything changed.
pub(super) async fn apply_answer(
    tx: &mut TenantTx,
    user: &CurrentUser,
    insp: &Inspection,
    key: &str,
    answer: &str,
    notes: &str,
) -> std::result::Result<bool, String> {
    let Some((_, item)) = insp.structure.item(key) else {
        return Err("That item is not on this inspection.".into());
    };
    let answer = parse_answer(item.kind, answer)?;
    let notes = text::parse("notes", notes, Lines::Many, 4000).map_err(|e| e.message)?;
    let notes = notes.as_str();
    let saved = db::inspections::save_result(tx, insp.id, key, answer.as_deref(), notes, user.id)
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, "saving an inspection answer");
            "The answer could not be saved. Please try again.".to_owned()
        })?;
    let Some(before) = saved else {
        return Ok(false);
    };
    let changes = Changes::new()
        .note("item", key)
        .field(
            "answer",
            json!(before.as_ref().and_then(|b| b.answer.clone())),
            json!(answer),
        )
        .field(
            "notes",
            json!(before.as_ref().map(|b| b.notes.clone()).unwrap_or_default()),
            json!(notes),
        );
    let started = db::inspections::mark_started(tx, insp.id)
        .await
        .map_err(|_| "The answer could not be saved.".to_owned())?;
    let changes = if started {
        changes.field("status", "scheduled", "in_progress")
    } else {
        changes
    };
    audit::record(
        tx,
        &user.actor(),
        "inspection.answered",
        "inspection",
        Some(insp.id),
        changes,
    )
    .await
    .map_err(|_| "The answer could not be saved.".to_owned())?;
    Ok(true)
}

#[derive(Deserialize)]
pub(super) struct AnswerBody {
    #[serde(default)]
    pub(super) answer: String,
    #[serde(default)]
    pub(super) notes: String,
}

/// Saves one answer, as the form's script sends it: JSON in, JSON out. Sending the same answer again changes nothing.
pub(super) async fn save_one(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, key)): Path<(String, String)>,
    Json(body): Json<AnswerBody>,
) -> Result<Json<Value>, ApiError> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let insp = load(&mut tx, &user, &id).await?;
    if !status_of(&insp).answers_open() {
        return Err(AppError::Conflict(
            "This inspection is completed: its answers can no longer change.".into(),
        )
        .into());
    }
    let changed = apply_answer(&mut tx, &user, &insp, &key, &body.answer, &body.notes)
        .await
        .map_err(AppError::BadRequest)?;
    tx.commit().await?;
    let photo_needed = insp
        .structure
        .item(&key)
        .is_some_and(|(_, i)| i.photo_required_on_fail)
        && body.answer.trim() == "fail";
    Ok(Json(
        json!({ "saved": true, "changed": changed, "item": key, "photo_needed": photo_needed }),
    ))
}

/// Inspection photos go through the one upload path: photos only, no thumbnails.
pub(super) const PHOTO_RULES: Rules = Rules {
    folder: "inspections",
    accept: Accept::Photos,
    thumbnails: false,
};

/// Receives one photo field (outside any transaction). An empty file input gives `None`.
pub(super) async fn receive_photo(
    state: &AppState,
    tenant: Uuid,
    field: Field<'_>,
) -> Result<Option<Upload>> {
    match upload::receive(state, tenant, PHOTO_RULES, field).await? {
        Ok(photo) => Ok(Some(photo)),
        Err(Refusal::Empty) => Ok(None),
        Err(Refusal::TooLarge) => Err(AppError::PayloadTooLarge(format!(
            "That photo is larger than {} MB. Take it at a lower resolution and try again.",
            state.config.max_upload_bytes / (1024 * 1024)
        ))),
        Err(refusal) => Err(AppError::BadRequest(
            refusal.message(state.config.max_upload_bytes),
        )),
    }
}

/// The inspection again, checked to take answers and photos (in the transaction that records them).
pub(super) async fn open_for_answers(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: &str,
) -> Result<Inspection> {
    let insp = load(tx, user, id).await?;
    if !status_of(&insp).answers_open() {
        return Err(AppError::Conflict(
            "This inspection is completed: its answers and photos can no longer change.".into(),
        ));
    }
    Ok(insp)
}

pub(super) async fn record_photo(
    tx: &mut TenantTx,
    user: &CurrentUser,
    insp: &Inspection,
    item_key: &str,
    p: &Upload,
) -> Result<Uuid> {
    let photo_id = db::inspections::add_photo(
        tx,
        &NewPhoto {
            inspection_id: insp.id,
            item_key,
            storage_key: p.key.as_str(),
            original_name: &p.name,
            content_type: p.content_type(),
            size_bytes: p.size as i64,
            uploaded_by: user.id,
        },
    )
    .await?;
    let changes = Changes::new()
        .note("item", item_key)
        .set("photo", p.name.clone())
        .set("size_bytes", p.size);
    audit::record(
        tx,
        &user.actor(),
        "inspection.photo_added",
        "inspection",
        Some(insp.id),
        changes,
    )
    .await?;
    Ok(photo_id)
}

pub(super) fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// Adds a photo to an item (multipart field `photo`). Answers JSON to the script, else back to the form.
pub(super) async fn upload_photo(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path((id, key)): Path<(String, String)>,
    mut multipart: Multipart,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    // Checked first, in a transaction of its own: none is open while the photo streams.
    {
        let mut tx = user.begin(&state).await?;
        let insp = open_for_answers(&mut tx, &user, &id).await?;
        if insp.structure.item(&key).is_none() {
            return Err(AppError::NotFound);
        }
        tx.commit().await?;
    }
    let mut stored = None;
    while let Some(field) = multipart.next_field().await.map_err(upload::field_error)? {
        if field.name() == Some("photo") && stored.is_none() {
            match receive_photo(&state, user.tenant.uuid(), field).await {
                Ok(photo) => stored = photo,
                Err(e) => {
                    upload::drain(&mut multipart).await;
                    return Err(e);
                }
            }
        }
    }
    let Some(photo) = stored else {
        return Err(AppError::BadRequest("Choose a photo to upload.".into()));
    };
    let recorded = async {
        let mut tx = user.begin(&state).await?;
        let insp = open_for_answers(&mut tx, &user, &id).await?;
        let photo_id = record_photo(&mut tx, &user, &insp, &key, &photo).await?;
        db::inspections::mark_started(&mut tx, insp.id).await?;
        tx.commit().await?;
        Ok::<_, AppError>((insp.id, photo_id))
    }
    .await;
    let (inspection_id, photo_id) = match recorded {
        Ok(ids) => ids,
        Err(e) => {
            photo.discard().await;
            return Err(e);
        }
    };
    let name = photo.name.clone();
    photo.recorded();
    if wants_json(&headers) {
        return Ok(Json(json!({ "saved": true, "photo": { "id": photo_id, "name": name, "href": format!("/inspections/{inspection_id}/photos/{photo_id}") } }))
            .into_response());
    }
    user.flash("success", "Photo added.").await?;
    Ok(Redirect::to(&format!("/inspections/{inspection_id}#item-{key}")).into_response())
}

/// The no-JavaScript form as sent: answers and notes by item, and the photos it carried (stored, not yet recorded).
#[derive(Default)]
pub(super) struct AllAnswers {
    pub(super) typed: Typed,
    pub(super) photos: Vec<(String, Upload)>,
}

impl AllAnswers {
    pub(super) async fn discard(self) {
        for (_, photo) in self.photos {
            photo.discard().await;
        }
    }
}

/// Longest answer or notes field the form sends (the answer rules allow 4,000 characters).
pub(super) const MAX_ANSWER_FIELD: usize = 64 * 1024;

/// Reads the whole form, streaming each photo into the store (no transaction is open meanwhile).
pub(super) async fn read_answers(
    state: &AppState,
    user: &CurrentUser,
    insp: &Inspection,
    multipart: &mut Multipart,
) -> Result<AllAnswers> {
    let mut all = AllAnswers::default();
    let result = async {
        while let Some(mut field) = multipart.next_field().await.map_err(upload::field_error)? {
            let name = field.name().unwrap_or_default().to_owned();
            if let Some(key) = name.strip_prefix("photo_") {
                if insp.structure.item(key).is_none() {
                    continue;
                }
                let key = key.to_owned();
                if let Some(photo) = receive_photo(state, user.tenant.uuid(), field).await? {
                    all.photos.push((key, photo));
                }
            } else if let Some(key) = name.strip_prefix("answer_") {
                let key = key.to_owned();
                let value = upload::small_text(&mut field, MAX_ANSWER_FIELD).await?;
                all.typed.entry(key).or_default().0 = value;
            } else if let Some(key) = name.strip_prefix("notes_") {
                let key = key.to_owned();
                let value = upload::small_text(&mut field, MAX_ANSWER_FIELD).await?;
                all.typed.entry(key).or_default().1 = value;
            }
        }
        Ok::<_, AppError>(())
    }
    .await;
    match result {
        Ok(()) => Ok(all),
        Err(e) => {
            upload::drain(multipart).await;
            all.discard().await;
            Err(e)
        }
    }
}

/// Every answer at once: the form without JavaScript (multipart: `answer_KEY`, `notes_KEY`, `photo_KEY`).
/// All or nothing: when an answer is refused, no answer is saved and no photo kept.
pub(super) async fn save_all(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    mut multipart: Multipart,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let insp = {
        let mut tx = user.begin(&state).await?;
        let insp = open_for_answers(&mut tx, &user, &id).await?;
        tx.commit().await?;
        insp
    };
    let all = read_answers(&state, &user, &insp, &mut multipart).await?;
    let mut tx = match user.begin(&state).await {
        Ok(tx) => tx,
        Err(e) => {
            all.discard().await;
            return Err(e);
        }
    };
    let saved = save_answers(&mut tx, &user, &id, &all).await;
    match saved {
        Ok(Ok((insp, changed))) => {
            if let Err(e) = tx.commit().await {
                all.discard().await;
                return Err(e.into());
            }
            let photos = all.photos.len();
            for (_, photo) in all.photos {
                photo.recorded();
            }
            let message = match (changed, photos) {
                (0, 0) => "Nothing had changed.".to_owned(),
                (n, 0) => format!("{n} answer{} saved.", if n == 1 { "" } else { "s" }),
                (n, p) => format!(
                    "{n} answer{} and {p} photo{} saved.",
                    if n == 1 { "" } else { "s" },
                    if p == 1 { "" } else { "s" }
                ),
            };
            user.flash("success", message).await?;
            Ok(Redirect::to(&format!("/inspections/{}", insp.id)).into_response())
        }
        Ok(Err((insp, item_errors))) => {
            drop(tx);
            let typed = all.typed.clone();
            all.discard().await;
            let mut tx = user.begin(&state).await?;
            let mut errors = FormErrors::default();
            errors.add(
                "answers",
                "Some answers need another look; nothing was saved.",
            );
            let page = show_page(&mut tx, &user, &insp, errors, Some(&typed), &item_errors).await?;
            Ok(unprocessable(page))
        }
        Err(e) => {
            drop(tx);
            all.discard().await;
            Err(e)
        }
    }
}

/// Applies the answers and records the photos in `tx`: the number changed, or each refused item's message.
#[allow(clippy::type_complexity)]
pub(super) async fn save_answers(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: &str,
    all: &AllAnswers,
) -> Result<std::result::Result<(Inspection, usize), (Inspection, BTreeMap<String, String>)>> {
    let insp = open_for_answers(tx, user, id).await?;
    let mut item_errors = BTreeMap::new();
    let mut changed = 0;
    for (key, (answer, notes)) in &all.typed {
        match apply_answer(tx, user, &insp, key, answer, notes).await {
            Ok(true) => changed += 1,
            Ok(false) => {}
            Err(message) => {
                item_errors.insert(key.clone(), message);
            }
        }
    }
    if !item_errors.is_empty() {
        return Ok(Err((insp, item_errors)));
    }
    for (key, photo) in &all.photos {
        record_photo(tx, user, &insp, key, photo).await?;
    }
    if !all.photos.is_empty() {
        db::inspections::mark_started(tx, insp.id).await?;
    }
    Ok(Ok((insp, changed)))
}

/// Opens a photo through a short-lived link, after the access check.
pub(super) async fn photo(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, photo_id)): Path<(String, String)>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let insp = load(&mut tx, &user, &id).await?;
    let photo = db::inspections::photo(&mut tx, insp.id, parse_id(&photo_id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let key = MediaKey::parse(&photo.storage_key).ok_or(AppError::NotFound)?;
    let filename = file_type::download_name(&photo.original_name, &photo.content_type);
    let download = Download {
        filename: &filename,
        content_type: &photo.content_type,
        inline: file_type::is_image_content_type(&photo.content_type),
    };
    let url = state
        .media
        .download_url(&key, &download, crate::DOWNLOAD_LINK_TTL)
        .await?;
    Ok(Redirect::to(&url).into_response())
}
