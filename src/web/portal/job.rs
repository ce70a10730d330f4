//! The job page: accept, decline, complete.

use super::*;
use crate::domain::ticket_event::TicketEvent;
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

pub(super) fn reference(job: &Job) -> String {
    format!("T-{:05}", job.number)
}

pub(super) fn job_path(job: &Job) -> String {
    format!("/jobs/{}", job.id)
}

/// "12 Acacia Avenue, Leeds, LS1 1AA" (or the plot and scheme).
pub(super) fn address(job: &Job) -> String {
    let parts: Vec<&str> = [
        job.address_line1.as_str(),
        job.town.as_str(),
        job.postcode.as_str(),
    ]
    .into_iter()
    .filter(|s| !s.trim().is_empty())
    .collect();
    if parts.is_empty() {
        format!("Plot {}, {}", job.plot_number, job.scheme_name)
    } else {
        parts.join(", ")
    }
}

/// Whom the customer-care team's emails go to: the user who nominated, else the tenant's admins.
/// Returns the addresses and whom to greet.
pub(super) async fn team_recipients(
    tx: &mut TenantTx,
    nomination_id: Option<Uuid>,
) -> Result<Option<(String, String)>> {
    if let Some(n) = nomination_id
        && let Some(r) = db::portal::nominator(tx, n).await?
    {
        return Ok(Some((r.email, r.name)));
    }
    let admins = db::portal::admins(tx).await?;
    if admins.is_empty() {
        return Ok(None);
    }
    let to: Vec<&str> = admins.iter().map(|a| a.email.as_str()).collect();
    Ok(Some((to.join(", "), String::new())))
}

pub(super) fn hello(name: &str) -> String {
    if name.is_empty() {
        "Hello,".into()
    } else {
        format!("Hello {name},")
    }
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
    Path(id): Path<String>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let (company, job) = company_job(&mut tx, &user, &id).await?;
    let accepted = match job.nomination_id {
        Some(n) if job.response.as_deref() == Some("pending") => {
            db::portal::accept(&mut tx, n).await?.then_some(n)
        }
        _ => None,
    };
    let Some(nomination_id) = accepted else {
        tx.commit().await?;
        user.flash("info", "You have already answered this nomination.")
            .await?;
        return Ok(Redirect::to(&job_path(&job)).into_response());
    };
    let company_name = db::portal::company_name(&mut tx, company).await?;
    db::tickets::add_event(
        &mut tx,
        job.id,
        Some(user.id),
        &TicketEvent::NominationAccepted {
            summary: format!("Accepted by {company_name}"),
            company_id: company,
            nomination_id,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "nomination.accepted",
        "nomination",
        Some(nomination_id),
        Changes::new()
            .field("response", "pending", "accepted")
            .note("ticket_id", job.id.to_string()),
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!("You accepted {}. It is on your list.", reference(&job)),
    )
    .await?;
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
    let (company, job) = company_job(&mut tx, &user, &id).await?;
    let status = job.status;
    let answerable = matches!(job.response.as_deref(), Some("pending" | "accepted"));
    let Some(nomination_id) = job
        .nomination_id
        .filter(|_| answerable && matches!(status, Status::Open | Status::InProgress))
    else {
        tx.commit().await?;
        user.flash(
            "error",
            "This job can no longer be declined. Add a comment for the customer care team instead.",
        )
        .await?;
        return Ok(Redirect::to(&job_path(&job)).into_response());
    };
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
    let Some((status_before, status_after)) =
        db::portal::decline(&mut tx, job.id, company, nomination_id, &reason).await?
    else {
        return Err(AppError::NotFound);
    };
    let company_name = db::portal::company_name(&mut tx, company).await?;
    let reference = reference(&job);
    let email_id = match team_recipients(&mut tx, Some(nomination_id)).await? {
        Some((to, name)) => {
            let subject = format!("{reference} declined by {company_name}");
            let body = format!(
                "{hello}\n\n{company_name} has declined {reference} ({title}) at {address}.\n\n\
                 Their reason: {reason}\n\n\
                 The ticket is open again and nominated to nobody. Nominate someone else in Plotcare: {link}\n",
                hello = hello(&name),
                title = job.title,
                address = address(&job),
                link = crate::web::absolute_url(&state, &headers, &format!("/tickets/{}", job.id)),
            );
            Some(email::queue(&mut tx, &to, &subject, &body, Some(job.id)).await?)
        }
        None => None,
    };
    db::tickets::add_event(
        &mut tx,
        job.id,
        Some(user.id),
        &TicketEvent::NominationDeclined {
            summary: format!("Declined by {company_name}"),
            detail: format!("Reason: {reason}"),
            reason: reason.to_string(),
            company_id: company,
            nomination_id,
            from: status_before.to_string(),
            to: status_after.to_string(),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "nomination.declined",
        "ticket",
        Some(job.id),
        Changes::new()
            .field("nominated_company_id", company.to_string(), Value::Null)
            .field("status", status_before.as_str(), status_after.as_str())
            .note("reason", reason.as_str())
            .note("nomination_id", nomination_id.to_string())
            .note("email_id", email_id.map(|e| e.to_string())),
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!("You declined {reference}. The customer care team has been told."),
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
    let (company, job) = company_job(&mut tx, &user, &id).await?;
    let status = job.status;
    let typed = || Typed {
        note: form.note.clone(),
        ..Typed::default()
    };
    if job.response.as_deref() != Some("accepted") {
        return refuse(
            &mut tx,
            &user,
            &id,
            "note",
            "Accept the job before marking it complete.",
            typed(),
        )
        .await;
    }
    if let Some(why) = transition_refusal(status, Status::Completed) {
        return refuse(&mut tx, &user, &id, "note", &why, typed()).await;
    }
    let note = match required_text(&form.note, "Say what you did to put the defect right.") {
        Ok(n) => n,
        Err(message) => return refuse(&mut tx, &user, &id, "note", &message, typed()).await,
    };
    if !db::portal::mark_completed(&mut tx, job.id).await? {
        return refuse(
            &mut tx,
            &user,
            &id,
            "note",
            "This job is not in progress any more.",
            typed(),
        )
        .await;
    }
    let photos = db::files::list(&mut tx, job.id, true)
        .await?
        .iter()
        .filter(|f| is_image_content_type(&f.content_type))
        .count();
    let company_name = db::portal::company_name(&mut tx, company).await?;
    let reference = reference(&job);
    let email_id = match team_recipients(&mut tx, job.nomination_id).await? {
        Some((to, name)) => {
            let subject = format!("{reference} is ready for sign-off");
            let body = format!(
                "{hello}\n\n{company_name} has marked {reference} ({title}) at {address} as complete.\n\n\
                 Their note: {note}\n\
                 Photos on the ticket: {photos}\n\n\
                 Confirm and close it, or send it back, in Plotcare: {link}\n",
                hello = hello(&name),
                title = job.title,
                address = address(&job),
                link = crate::web::absolute_url(
                    &state,
                    &headers,
                    &format!("/tickets/{}/sign-off", job.id)
                ),
            );
            Some(email::queue(&mut tx, &to, &subject, &body, Some(job.id)).await?)
        }
        None => None,
    };
    db::tickets::add_event(
        &mut tx,
        job.id,
        Some(user.id),
        &TicketEvent::WorkCompleted {
            summary: format!("Work marked complete by {company_name}"),
            detail: note.clone(),
            note: note.clone(),
            company_id: company,
            photos: json!(photos),
            from: status.as_str().to_owned(),
            to: Status::Completed.as_str().to_owned(),
        },
    )
    .await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "ticket.work_completed",
        "ticket",
        Some(job.id),
        Changes::new()
            .field("status", status.as_str(), Status::Completed.as_str())
            .note("note", note.as_str())
            .note("email_id", email_id.map(|e| e.to_string())),
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!(
            "{reference} is marked complete. The customer care team will check it and sign it off."
        ),
    )
    .await?;
    Ok(Redirect::to(&job_path(&job)).into_response())
}
