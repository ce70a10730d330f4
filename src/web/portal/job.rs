//! The job page: accept, decline, complete.

use super::*;
use crate::tickets::{self, Actor};
use crate::web::links;
use crate::web::timeline::{self, Audience, TimelineItem};

// ---------------------------------------------------------------- the job page

/// A photo or document the subcontractor may see.
pub struct Photo {
    pub id: String,
    pub name: String,
    pub has_thumbnail: bool,
    pub label: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/job.html")]
pub(crate) struct JobPage {
    pub(super) chrome: Chrome,
    pub(super) crumbs: Vec<Crumb>,
    pub(super) job: JobCard,
    pub(super) description: String,
    pub(super) category: &'static str,
    pub(super) location: &'static str,
    pub(super) reported_at: String,
    pub(super) responded_at: String,
    pub(super) pending: bool,
    pub(super) may_decline: bool,
    pub(super) may_complete: bool,
    pub(super) errors: FormErrors,
    pub(super) reason: String,
    pub(super) note: String,
    pub(super) photos: Vec<Photo>,
    pub(super) timeline: Vec<TimelineItem>,
    pub(super) appointments: appointments::Section,
    pub(super) comments: comments::Section,
}

/// What the forms held, to show again beside their errors.
#[derive(Default)]
pub(super) struct Typed {
    pub(super) reason: String,
    pub(super) note: String,
}

pub(super) async fn job_page(
    tx: &mut TenantTx,
    user: &CurrentUser,
    raw_id: &str,
    errors: FormErrors,
    typed: Typed,
) -> Result<JobPage> {
    let company = policy::portal_company(user)?;
    let id = parse_id(raw_id)?;
    let scope = policy::ticket_scope(tx, user).await?;
    let header = db::tickets::header(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let job = db::portal::job(tx, company, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let status = job.status;
    let pending = job.nomination_id.is_some() && job.response.as_deref() == Some("pending");
    let accepted = job.response.as_deref() == Some("accepted");
    let photos = db::files::list(tx, id, true)
        .await?
        .into_iter()
        .map(|f| Photo {
            id: f.id.to_string(),
            has_thumbnail: f.thumbnail_key.is_some() && is_image_content_type(&f.content_type),
            label: label_for(&f.content_type),
            name: f.original_name,
        })
        .collect();
    let appointments = appointments::Section::load(tx, user, &scope, &header).await?;
    let comments = comments::Section::load(tx, user, &scope, &header).await?;
    let events = db::tickets::events(tx, id, true).await?;
    let timeline = timeline::items(&events, Audience::Subcontractor, &comments.current_words());
    let now = clock::now();
    let card = card(&job, now);
    Ok(JobPage {
        chrome: user
            .chrome(format!("{} {}", card.reference, job.title))
            .await?,
        crumbs: vec![
            Crumb::link("/jobs", "My jobs"),
            Crumb::here(card.reference.clone()),
        ],
        description: job.description.clone(),
        category: job.category.label(),
        location: if job.location.is_empty() {
            ""
        } else {
            Location::label_of(&job.location)
        },
        reported_at: when(job.reported_at),
        responded_at: job.responded_at.map(when).unwrap_or_default(),
        pending,
        may_decline: (pending || accepted) && matches!(status, Status::Open | Status::InProgress),
        may_complete: accepted && status.can_move_to(Status::Completed),
        errors,
        reason: typed.reason,
        note: typed.note,
        photos,
        timeline,
        appointments,
        comments,
        job: card,
    })
}

/// The job page for a subcontractor: at `/jobs/{id}`, and at `/tickets/{id}` (the ticket page hands over).
pub(crate) async fn job_response(
    state: &AppState,
    user: &CurrentUser,
    raw_id: &str,
) -> Result<Response> {
    let mut tx = user.begin(state).await?;
    let page = job_page(
        &mut tx,
        user,
        raw_id,
        FormErrors::default(),
        Typed::default(),
    )
    .await?;
    tx.commit().await?;
    Ok(page.into_response())
}

/// The job page with its appointments section as given (a booking shown again with its problems): 422.
pub(crate) async fn job_with_appointments(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: Uuid,
    section: appointments::Section,
) -> Result<Response> {
    let mut page = job_page(
        tx,
        user,
        &id.to_string(),
        FormErrors::default(),
        Typed::default(),
    )
    .await?;
    page.appointments = section;
    Ok(unprocessable(page))
}

pub(super) async fn job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    parse_id(&id)?;
    job_response(&state, &user, &id).await
}

/// The job page again with the problem beside its field: 422.
pub(super) async fn refuse(
    tx: &mut TenantTx,
    user: &CurrentUser,
    raw_id: &str,
    field: &'static str,
    message: &str,
    typed: Typed,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    errors.add(field, message);
    let page = job_page(tx, user, raw_id, errors, typed).await?;
    Ok(unprocessable(page))
}

/// The job, if it is nominated to the user's company; staff are refused, other companies get 404.
pub(super) async fn company_job(
    tx: &mut TenantTx,
    user: &CurrentUser,
    raw_id: &str,
) -> Result<(Uuid, Job)> {
    let id = parse_id(raw_id)?;
    let scope = policy::ticket_scope(tx, user).await?;
    let header = db::tickets::header(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let company = policy::may_act_for_company(user, header.nominated_company_id)?;
    let job = db::portal::job(tx, company, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((company, job))
}

pub(super) fn job_path(job: &Job) -> String {
    format!("/jobs/{}", job.id)
}

/// A trimmed multi-line text, or what to say when it is missing, too long or holds a control character.
pub(super) fn required_text(
    raw: &str,
    missing: &'static str,
) -> std::result::Result<String, String> {
    match text::parse("text", raw, Lines::Many, MAX_TEXT) {
        Ok(value) if value.is_empty() => Err(missing.into()),
        Ok(value) => Ok(value),
        Err(e) => Err(e.message),
    }
}

pub(super) async fn accept(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (_, job) = company_job(&mut tx, &user, &id).await?;
    let answered = tickets::respond_to_nomination(
        &mut tx,
        &Actor::of(&user),
        job.id,
        tickets::Answer::Accept,
        &links(&state, &headers),
    )
    .await?;
    tx.commit().await?;
    match answered {
        Some(a) => {
            user.flash(
                "success",
                format!("You accepted {}. It is on your list.", a.reference),
            )
            .await?
        }
        None => {
            user.flash("info", "You have already answered this nomination.")
                .await?
        }
    }
    Ok(Redirect::to(&job_path(&job)).into_response())
}

#[derive(Deserialize)]
pub(super) struct DeclineForm {
    #[serde(default)]
    pub(super) reason: String,
}

pub(super) async fn decline(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<DeclineForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (_, job) = company_job(&mut tx, &user, &id).await?;
    let reason = match required_text(&form.reason, "Say why you are declining this job.") {
        Ok(r) => r,
        Err(message) => {
            let typed = Typed {
                reason: form.reason,
                ..Typed::default()
            };
            return refuse(&mut tx, &user, &id, "reason", &message, typed).await;
        }
    };
    let answered = tickets::respond_to_nomination(
        &mut tx,
        &Actor::of(&user),
        job.id,
        tickets::Answer::Decline(reason),
        &links(&state, &headers),
    )
    .await?;
    let Some(answered) = answered else {
        tx.commit().await?;
        user.flash(
            "error",
            "This job can no longer be declined. Add a comment for the customer care team instead.",
        )
        .await?;
        return Ok(Redirect::to(&job_path(&job)).into_response());
    };
    tx.commit().await?;
    user.flash(
        "success",
        format!(
            "You declined {}. The customer care team has been told.",
            answered.reference
        ),
    )
    .await?;
    Ok(Redirect::to("/jobs").into_response())
}

#[derive(Deserialize)]
pub(super) struct CompleteForm {
    #[serde(default)]
    pub(super) note: String,
}

pub(super) async fn complete(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CompleteForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (_, job) = company_job(&mut tx, &user, &id).await?;
    let typed = || Typed {
        note: form.note.clone(),
        ..Typed::default()
    };
    let note = match required_text(&form.note, "Say what you did to put the defect right.") {
        Ok(n) => n,
        Err(message) => return refuse(&mut tx, &user, &id, "note", &message, typed()).await,
    };
    let done = tickets::complete(
        &mut tx,
        &Actor::of(&user),
        job.id,
        &note,
        &links(&state, &headers),
    )
    .await;
    let moved = match done {
        Err(AppError::Refused { field, message }) => {
            return refuse(&mut tx, &user, &id, field, &message, typed()).await;
        }
        other => other?,
    };
    tx.commit().await?;
    user.flash(
        "success",
        format!(
            "{} is marked complete. The customer care team will check it and sign it off.",
            moved.reference
        ),
    )
    .await?;
    Ok(Redirect::to(&job_path(&job)).into_response())
}
