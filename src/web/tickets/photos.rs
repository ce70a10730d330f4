//! Logging a ticket with its photos in one step.
//!
//! The log form is sent as multipart, its photos last. The fields are read and
//! checked first, so a form with a mistake stores nothing; then each photo
//! streams into the media store (no transaction open, see [`crate::upload`]);
//! then the ticket, its photos, their timeline entries and audit records are
//! written in one transaction. If anything fails after a photo was stored, the
//! photos are removed again.

use axum::extract::{FromRequest, Multipart, Request};

use super::*;
use crate::{
    db::files::NewFile,
    domain::FormErrors,
    media::MediaKey,
    tickets::{self, Actor},
    upload::{self, Accept, Refusal, Rules, Upload},
};

/// At most this many photos with one ticket (more can be added on the ticket page).
pub(super) const MAX_PHOTOS: usize = 10;
/// The longest text field the form has (the description).
const MAX_FIELD_BYTES: usize = 80_000;

const RULES: Rules = Rules {
    folder: crate::web::files::FOLDER,
    accept: Accept::Photos,
    thumbnails: true,
};

pub(super) fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"))
}

/// The photos stored so far: removed unless the ticket that records them commits.
struct Stored(Vec<Upload>);

impl Stored {
    async fn discard(self) {
        for upload in self.0 {
            upload.discard().await;
        }
    }
}

pub(super) async fn create(
    state: AppState,
    user: CurrentUser,
    plot_id: String,
    request: Request,
) -> Result<Response> {
    let mut multipart = Multipart::from_request(request, &state)
        .await
        .map_err(|_| AppError::BadRequest("Send the ticket with the form on its page.".into()))?;

    // The fields come first; they are checked when the first photo arrives (or the form
    // ends), before anything is stored.
    let mut form = TicketForm::default();
    let mut photos_visible = false;
    let mut fields: Option<TicketFields> = None;
    let mut stored = Stored(Vec::new());
    let mut refused: Option<String> = None;
    let limit = state.config.max_upload_bytes;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                stored.discard().await;
                return Err(upload::field_error(e));
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name != "photos" {
            let mut field = field;
            let value = match upload::small_text(&mut field, MAX_FIELD_BYTES).await {
                Ok(value) => value,
                Err(e) => {
                    stored.discard().await;
                    return Err(e);
                }
            };
            if name == "photos_visible" {
                photos_visible = !value.is_empty();
            } else {
                form.set(&name, value);
            }
            continue;
        }
        if fields.is_none() {
            match check(&state, &user, &plot_id, &form).await? {
                Ok(checked) => fields = Some(checked),
                Err(page) => {
                    drop(field);
                    upload::drain(&mut multipart).await;
                    return Ok(page);
                }
            }
        }
        if stored.0.len() == MAX_PHOTOS {
            refused = Some(format!(
                "Add at most {MAX_PHOTOS} photos when logging a ticket (more can be added on its page)."
            ));
            drop(field);
            break;
        }
        match upload::receive(&state, user.tenant.uuid(), RULES, field).await {
            Ok(Ok(photo)) => stored.0.push(photo),
            // A photo field left empty.
            Ok(Err(Refusal::Empty)) => {}
            Ok(Err(refusal)) => {
                refused = Some(refusal.message(limit));
                break;
            }
            Err(e) => {
                upload::drain(&mut multipart).await;
                stored.discard().await;
                return Err(e);
            }
        }
    }
    if let Some(message) = refused {
        upload::drain(&mut multipart).await;
        stored.discard().await;
        let mut errors = FormErrors::default();
        errors.add(
            "photos",
            format!("{message} Nothing was saved: choose the photos again."),
        );
        let mut tx = user.begin(&state).await?;
        let plot = loggable_plot(&mut tx, &user, &plot_id).await?;
        let mut crumbs = plot_crumbs(&plot);
        crumbs.push(Crumb::here("New ticket"));
        let page = FormPage::build(
            &mut tx,
            &user,
            plot.id,
            crumbs,
            new_labels(&plot),
            form,
            errors,
        )
        .await?;
        return Ok(unprocessable(page));
    }
    let fields = match fields {
        Some(fields) => fields,
        None => match check(&state, &user, &plot_id, &form).await? {
            Ok(fields) => fields,
            Err(page) => return Ok(page),
        },
    };

    // 4. The ticket and its photos, together.
    match record(
        &state,
        &user,
        &plot_id,
        &fields,
        &form.form_key,
        &stored,
        photos_visible,
    )
    .await
    {
        Ok(Recorded::New { location, message }) => {
            for upload in stored.0 {
                upload.recorded();
            }
            user.flash("success", message).await?;
            Ok(Redirect::to(&location).into_response())
        }
        Ok(Recorded::Again(earlier)) => {
            stored.discard().await;
            Ok(Redirect::to(&earlier).into_response())
        }
        Err(e) => {
            stored.discard().await;
            Err(e)
        }
    }
}

/// The fields checked in a short transaction of their own (committed before photos stream).
async fn check(
    state: &AppState,
    user: &CurrentUser,
    plot_id: &str,
    form: &TicketForm,
) -> Result<std::result::Result<TicketFields, Response>> {
    let mut tx = user.begin(state).await?;
    let plot = loggable_plot(&mut tx, user, plot_id).await?;
    let checked = checked(&mut tx, user, &plot, form.clone(), FormErrors::default()).await?;
    tx.commit().await?;
    Ok(checked)
}

enum Recorded {
    New {
        location: String,
        message: String,
    },
    /// The same form was sent before: where its ticket is.
    Again(String),
}

async fn record(
    state: &AppState,
    user: &CurrentUser,
    plot_id: &str,
    fields: &TicketFields,
    form_key: &str,
    stored: &Stored,
    visible: bool,
) -> Result<Recorded> {
    let mut tx = user.begin(state).await?;
    let plot = loggable_plot(&mut tx, user, plot_id).await?;
    let logged = log_on(&mut tx, user, &plot, fields).await?;
    let actor = Actor::of(user);
    for photo in &stored.0 {
        let size = i64::try_from(photo.size).map_err(|e| AppError::Internal(e.into()))?;
        tickets::attach(
            &mut tx,
            &actor,
            NewFile {
                ticket_id: logged.id,
                comment_id: None,
                storage_key: photo.key.as_str(),
                thumbnail_key: photo.thumbnail_key.as_ref().map(MediaKey::as_str),
                original_name: &photo.name,
                content_type: photo.content_type(),
                size_bytes: size,
                visible_to_subcontractor: visible,
                uploaded_by: user.id,
            },
        )
        .await?;
    }
    let location = format!("/tickets/{}", logged.id);
    if let Some(earlier) = db::form_keys::resubmitted(&mut tx, form_key, &location).await? {
        return Ok(Recorded::Again(earlier));
    }
    tx.commit().await?;
    let message = match stored.0.len() {
        0 => format!("Ticket {} logged.", logged.reference),
        1 => format!("Ticket {} logged with 1 photo.", logged.reference),
        n => format!("Ticket {} logged with {n} photos.", logged.reference),
    };
    Ok(Recorded::New { location, message })
}
