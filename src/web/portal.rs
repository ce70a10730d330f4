//! The subcontractor portal, used from a phone on site: My jobs (the open
//! tickets nominated to the user's company, grouped by when they are due),
//! the job page (accept or decline, appointments, shared comments and photos,
//! mark the work complete), and the company summary for subcontractor admins.
//!
//! The customer-care side lives here too: a completed ticket is confirmed and
//! closed, or sent back with a reason, from its sign-off page.
//!
//! A subcontractor opening `/tickets/{id}` gets the job page (the ticket page
//! hands over to [`job_response`]), so every section's redirect lands here.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    http::HeaderMap,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::{
    appointments, comments,
    schemes::{Crumb, parse_id, unprocessable},
};
use crate::domain::when;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy},
    db::{
        self,
        audit::{self, Changes},
        portal::Job,
        tickets::{Event, StatusUpdate, Ticket},
    },
    domain::{
        FormErrors, Location, Status,
        clock::{self, uk_time},
        file_type::{is_image_content_type, label_for},
        text::{self, Lines},
        ticket::transition_refusal,
    },
    email,
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(my_jobs))
        .route("/jobs/summary", get(summary))
        .route("/jobs/{id}", get(job))
        .route("/jobs/{id}/accept", post(accept))
        .route("/jobs/{id}/decline", post(decline))
        .route("/jobs/{id}/complete", post(complete))
        .route(
            "/tickets/{id}/sign-off",
            get(sign_off_page).post(confirm_close),
        )
        .route("/tickets/{id}/send-back", post(send_back))
}

/// The longest reason or note, in characters.
const MAX_TEXT: usize = 5000;

// ---------------------------------------------------------------- a job as a card

/// A phone number and its `tel:` link.
pub struct Phone {
    pub display: String,
    pub tel: String,
}

/// What a job card and the job page show: never costs, homeowners' emails or notes.
pub struct JobCard {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub priority_label: &'static str,
    pub priority_class: &'static str,
    pub status_label: &'static str,
    pub status_class: &'static str,
    /// "Due 3 Mar 2025, 14:05", or "No deadline".
    pub due: String,
    pub due_class: &'static str,
    /// "Plot 12, Meadow View"
    pub plot: String,
    /// Address lines, the postcode last.
    pub address: Vec<String>,
    pub access_notes: String,
    pub homeowner: String,
    pub phones: Vec<Phone>,
    pub response_label: &'static str,
    pub response_class: &'static str,
}

/// Where a job falls in My jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Overdue,
    Today,
    ThisWeek,
    Later,
    NoDeadline,
    AwaitingSignOff,
}

impl Due {
    const ALL: [Due; 6] = [
        Due::Overdue,
        Due::Today,
        Due::ThisWeek,
        Due::Later,
        Due::NoDeadline,
        Due::AwaitingSignOff,
    ];

    fn of(job: &Job, now: OffsetDateTime) -> Due {
        let status = job.status;
        if status == Status::Completed {
            return Due::AwaitingSignOff;
        }
        let Some(due) = job.due_at else {
            return Due::NoDeadline;
        };
        let paused = job.on_hold_since.is_some() || status == Status::OnHold;
        if paused {
            return Due::Later;
        }
        if due < now {
            return Due::Overdue;
        }
        let today = clock::uk_date(now);
        let day = uk_time(due).date();
        if day <= today {
            Due::Today
        } else if day < today + Duration::days(7) {
            Due::ThisWeek
        } else {
            Due::Later
        }
    }

    fn key(self) -> &'static str {
        match self {
            Due::Overdue => "overdue",
            Due::Today => "today",
            Due::ThisWeek => "this-week",
            Due::Later => "later",
            Due::NoDeadline => "no-deadline",
            Due::AwaitingSignOff => "awaiting-sign-off",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Due::Overdue => "Overdue",
            Due::Today => "Due today",
            Due::ThisWeek => "Due this week",
            Due::Later => "Later",
            Due::NoDeadline => "No deadline",
            Due::AwaitingSignOff => "Completed – awaiting sign-off",
        }
    }

    fn badge_class(self) -> &'static str {
        match self {
            Due::Overdue => "bad",
            Due::Today => "warn",
            Due::ThisWeek => "info",
            Due::AwaitingSignOff => "ok",
            Due::Later | Due::NoDeadline => "",
        }
    }
}

fn phones(raw: Option<&str>) -> Vec<Phone> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| Phone {
            display: p.to_owned(),
            tel: p
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect(),
        })
        .collect()
}

fn card(job: &Job, now: OffsetDateTime) -> JobCard {
    let status = job.status;
    let priority = job.priority;
    let due = Due::of(job, now);
    let (response_label, response_class) = match job.response.as_deref() {
        Some("accepted") => ("Accepted", "ok"),
        Some("declined") => ("Declined", "bad"),
        _ => ("Awaiting your answer", "warn"),
    };
    JobCard {
        id: job.id.to_string(),
        reference: format!("T-{:05}", job.number),
        title: job.title.clone(),
        priority_label: priority.label(),
        priority_class: priority.badge_class(),
        status_label: status.label(),
        status_class: status.badge_class(),
        due: match job.due_at {
            Some(d) => format!("Due {}", when(d)),
            None => "No deadline".into(),
        },
        due_class: due.badge_class(),
        plot: format!("Plot {}, {}", job.plot_number, job.scheme_name),
        address: [
            &job.address_line1,
            &job.address_line2,
            &job.town,
            &job.postcode,
        ]
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .cloned()
        .collect(),
        access_notes: job.access_notes.clone(),
        homeowner: job.homeowner_names.clone().unwrap_or_default(),
        phones: phones(job.homeowner_phones.as_deref()),
        response_label,
        response_class,
    }
}

// ---------------------------------------------------------------- My jobs

pub struct Group {
    pub key: &'static str,
    pub label: &'static str,
    pub badge: &'static str,
    pub jobs: Vec<JobCard>,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/jobs.html")]
struct JobsPage {
    chrome: Chrome,
    company: String,
    total: usize,
    groups: Vec<Group>,
}

async fn my_jobs(State(state): State<AppState>, user: CurrentUser) -> Result<JobsPage> {
    let company = policy::portal_company(&user)?;
    let mut tx = user.begin(&state).await?;
    let jobs = db::portal::open_jobs(&mut tx, company).await?;
    let company_name = db::portal::company_name(&mut tx, company).await?;
    tx.commit().await?;
    let now = clock::now();
    let mut groups: Vec<Group> = Due::ALL
        .iter()
        .map(|d| Group {
            key: d.key(),
            label: d.label(),
            badge: d.badge_class(),
            jobs: Vec::new(),
        })
        .collect();
    for job in &jobs {
        let due = Due::of(job, now);
        if let Some(g) = groups.iter_mut().find(|g| g.key == due.key()) {
            g.jobs.push(card(job, now));
        }
    }
    groups.retain(|g| !g.jobs.is_empty());
    Ok(JobsPage {
        chrome: user.chrome("My jobs").await?,
        company: company_name,
        total: jobs.len(),
        groups,
    })
}

// ---------------------------------------------------------------- the job page

/// One entry of the job's (shared) timeline.
pub struct TimelineItem {
    pub when: String,
    pub who: String,
    pub headline: String,
    pub details: Vec<String>,
}

fn text(data: &Value, key: &str) -> Option<String> {
    data.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `current_comments`: what each comment the subcontractor sees says now (by id). An event
/// keeps the words a comment had when it was written; the subcontractor is shown only what
/// it says now (an edit takes words back; the earlier ones are for staff).
fn timeline_item(e: &Event, current_comments: &HashMap<String, String>) -> TimelineItem {
    let d = &e.data;
    let status = |k: &str| text(d, k).map_or("—", |s| Status::label_of(&s));
    let mut details = Vec::new();
    let headline = match e.kind.as_str() {
        "status_changed" | "reopened" => {
            if let Some(r) = text(d, "resolution") {
                details.push(format!("Resolution: {r}"));
            }
            if let Some(n) = text(d, "note") {
                details.push(n);
            }
            format!("Status changed: {} → {}", status("from"), status("to"))
        }
        "nominated" => match text(d, "nominee_name") {
            Some(name) => format!("Nominated to {name}"),
            None => "Nominated".into(),
        },
        "appointment_booked" | "appointment_changed" => {
            let day = text(d, "day").unwrap_or_default();
            let window = format!(
                "{}–{}",
                text(d, "window_start").unwrap_or_default(),
                text(d, "window_end").unwrap_or_default()
            );
            if e.kind == "appointment_booked" {
                format!("Appointment booked: {day}, {window}")
            } else {
                format!("Appointment changed: {day}, {window}")
            }
        }
        "appointment_attended" => "Appointment attended".into(),
        "appointment_no_access" => "No access at the appointment".into(),
        "comment_added" => {
            if let Some(now) = text(d, "comment_id").and_then(|id| current_comments.get(&id)) {
                details.push(comments::excerpt(now));
            }
            "Comment added".into()
        }
        "file_added" => match text(d, "name") {
            Some(name) => format!("Added {name}"),
            None => "File added".into(),
        },
        other => {
            if let Some(detail) = text(d, "detail") {
                details.push(detail);
            }
            text(d, "summary").unwrap_or_else(|| {
                let words = other.replace('_', " ");
                let mut c = words.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            })
        }
    };
    TimelineItem {
        when: when(e.occurred_at),
        who: e.actor_name.clone().unwrap_or_else(|| "Plotcare".into()),
        headline,
        details,
    }
}

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
    chrome: Chrome,
    crumbs: Vec<Crumb>,
    job: JobCard,
    description: String,
    category: &'static str,
    location: &'static str,
    reported_at: String,
    responded_at: String,
    pending: bool,
    may_decline: bool,
    may_complete: bool,
    errors: FormErrors,
    reason: String,
    note: String,
    photos: Vec<Photo>,
    timeline: Vec<TimelineItem>,
    appointments: appointments::Section,
    comments: comments::Section,
}

/// What the forms held, to show again beside their errors.
#[derive(Default)]
struct Typed {
    reason: String,
    note: String,
}

async fn job_page(
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
    let current_comments: HashMap<String, String> = comments
        .items
        .iter()
        .filter(|c| !c.deleted)
        .map(|c| (c.id.clone(), c.body.clone()))
        .collect();
    let timeline = db::tickets::events(tx, id, true)
        .await?
        .iter()
        .map(|e| timeline_item(e, &current_comments))
        .collect();
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

async fn job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    parse_id(&id)?;
    job_response(&state, &user, &id).await
}

/// The job page again with the problem beside its field: 422.
async fn refuse(
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
async fn company_job(tx: &mut TenantTx, user: &CurrentUser, raw_id: &str) -> Result<(Uuid, Job)> {
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

fn reference(job: &Job) -> String {
    format!("T-{:05}", job.number)
}

fn job_path(job: &Job) -> String {
    format!("/jobs/{}", job.id)
}

/// "12 Acacia Avenue, Leeds, LS1 1AA" (or the plot and scheme).
fn address(job: &Job) -> String {
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
async fn team_recipients(
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

fn hello(name: &str) -> String {
    if name.is_empty() {
        "Hello,".into()
    } else {
        format!("Hello {name},")
    }
}

/// A trimmed multi-line text, or what to say when it is missing, too long or holds a control character.
fn required_text(raw: &str, missing: &'static str) -> std::result::Result<String, String> {
    match text::parse("text", raw, Lines::Many, MAX_TEXT) {
        Ok(value) if value.is_empty() => Err(missing.into()),
        Ok(value) => Ok(value),
        Err(e) => Err(e.message),
    }
}

async fn accept(
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
        "nomination_accepted",
        true,
        json!({ "summary": format!("Accepted by {company_name}"), "company_id": company, "nomination_id": nomination_id }),
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
struct DeclineForm {
    #[serde(default)]
    reason: String,
}

async fn decline(
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
                link = super::absolute_url(&state, &headers, &format!("/tickets/{}", job.id)),
            );
            Some(email::queue(&mut tx, &to, &subject, &body, Some(job.id)).await?)
        }
        None => None,
    };
    db::tickets::add_event(
        &mut tx,
        job.id,
        Some(user.id),
        "nomination_declined",
        true,
        json!({
            "summary": format!("Declined by {company_name}"),
            "detail": format!("Reason: {reason}"),
            "reason": reason,
            "company_id": company,
            "nomination_id": nomination_id,
            "from": status_before,
            "to": status_after,
        }),
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
struct CompleteForm {
    #[serde(default)]
    note: String,
}

async fn complete(
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
                link =
                    super::absolute_url(&state, &headers, &format!("/tickets/{}/sign-off", job.id)),
            );
            Some(email::queue(&mut tx, &to, &subject, &body, Some(job.id)).await?)
        }
        None => None,
    };
    db::tickets::add_event(
        &mut tx,
        job.id,
        Some(user.id),
        "work_completed",
        true,
        json!({
            "summary": format!("Work marked complete by {company_name}"),
            "detail": note,
            "note": note,
            "company_id": company,
            "photos": photos,
            "from": status.as_str(),
            "to": Status::Completed.as_str(),
        }),
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

// ---------------------------------------------------------------- company summary

#[derive(Template, WebTemplate)]
#[template(path = "portal/summary.html")]
struct SummaryPage {
    chrome: Chrome,
    company: String,
    open_jobs: i64,
    awaiting_sign_off: i64,
    overdue_jobs: i64,
    completed_recently: i64,
    /// "3.5 days", or empty when nothing was completed.
    average: String,
}

/// "1 day", "3.5 days"
fn days(d: f64) -> String {
    let rounded = (d * 10.0).round() / 10.0;
    if (rounded - 1.0).abs() < f64::EPSILON {
        "1 day".into()
    } else {
        format!("{rounded:.1} days")
    }
}

async fn summary(State(state): State<AppState>, user: CurrentUser) -> Result<SummaryPage> {
    let company = policy::company_summary_scope(&user)?;
    let mut tx = user.begin(&state).await?;
    let s = db::portal::summary(&mut tx, company).await?;
    let company_name = db::portal::company_name(&mut tx, company).await?;
    tx.commit().await?;
    Ok(SummaryPage {
        chrome: user.chrome("Our work").await?,
        company: company_name,
        open_jobs: s.open_jobs,
        awaiting_sign_off: s.awaiting_sign_off,
        overdue_jobs: s.overdue_jobs,
        completed_recently: s.completed_recently,
        average: s.average_days.map(days).unwrap_or_default(),
    })
}

// ---------------------------------------------------------------- staff sign-off

#[derive(Template, WebTemplate)]
#[template(path = "portal/sign_off.html")]
struct SignOffPage {
    chrome: Chrome,
    crumbs: Vec<Crumb>,
    ticket_id: String,
    reference: String,
    title: String,
    company: String,
    completed_by: String,
    completed_at: String,
    note: String,
    resolution: String,
    reason: String,
    errors: FormErrors,
}

/// A ticket staff may change, if their scope reaches it.
async fn managed_ticket(tx: &mut TenantTx, user: &CurrentUser, raw_id: &str) -> Result<Ticket> {
    let id = parse_id(raw_id)?;
    let scope = policy::ticket_scope(tx, user).await?;
    let ticket = db::tickets::find(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    policy::may_manage_tickets(user)?;
    Ok(ticket)
}

async fn sign_off_view(
    tx: &mut TenantTx,
    user: &CurrentUser,
    t: &Ticket,
    resolution: Option<String>,
    reason: String,
    errors: FormErrors,
) -> Result<SignOffPage> {
    let completion = db::portal::latest_completion(tx, t.id).await?;
    let note = completion
        .as_ref()
        .and_then(|c| c.note.clone())
        .unwrap_or_default();
    Ok(SignOffPage {
        chrome: user.chrome(format!("Sign off {}", t.reference())).await?,
        crumbs: vec![
            Crumb::link(format!("/tickets/{}", t.id), t.reference()),
            Crumb::here("Sign-off"),
        ],
        ticket_id: t.id.to_string(),
        reference: t.reference(),
        title: t.title.clone(),
        company: t.nominated_company_name.clone().unwrap_or_default(),
        completed_by: completion
            .as_ref()
            .and_then(|c| c.by_name.clone())
            .unwrap_or_default(),
        completed_at: completion
            .as_ref()
            .map(|c| when(c.occurred_at))
            .unwrap_or_default(),
        resolution: resolution.unwrap_or_else(|| note.clone()),
        note,
        reason,
        errors,
    })
}

/// Not awaiting sign-off: back to the ticket with a message.
async fn not_awaiting(user: &CurrentUser, t: &Ticket) -> Result<Response> {
    user.flash(
        "info",
        format!(
            "{} is {}, not awaiting sign-off.",
            t.reference(),
            t.status().label().to_lowercase()
        ),
    )
    .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response())
}

async fn sign_off_page(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let t = managed_ticket(&mut tx, &user, &id).await?;
    if t.status() != Status::Completed {
        tx.commit().await?;
        return not_awaiting(&user, &t).await;
    }
    let page = sign_off_view(
        &mut tx,
        &user,
        &t,
        None,
        String::new(),
        FormErrors::default(),
    )
    .await?;
    tx.commit().await?;
    Ok(page.into_response())
}

#[derive(Deserialize)]
struct CloseForm {
    #[serde(default)]
    resolution: String,
}

async fn confirm_close(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<CloseForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let t = managed_ticket(&mut tx, &user, &id).await?;
    let from = t.status();
    if from != Status::Completed || transition_refusal(from, Status::Closed).is_some() {
        tx.commit().await?;
        return not_awaiting(&user, &t).await;
    }
    let resolution = match required_text(
        &form.resolution,
        "Say how the defect was resolved before closing the ticket.",
    ) {
        Ok(r) => r,
        Err(message) => {
            let mut errors = FormErrors::default();
            errors.add("resolution", message);
            let page = sign_off_view(
                &mut tx,
                &user,
                &t,
                Some(form.resolution),
                String::new(),
                errors,
            )
            .await?;
            return Ok(unprocessable(page));
        }
    };
    let now = clock::now();
    db::tickets::set_status(
        &mut tx,
        t.id,
        &StatusUpdate {
            status: Status::Closed,
            abortive_reason: None,
            abortive_note: None,
            resolution: Some(resolution.clone()),
            due_at: t.due_at,
            on_hold_since: None,
            closed_at: Some(now),
        },
    )
    .await?;
    db::tickets::add_event(
        &mut tx,
        t.id,
        Some(user.id),
        "status_changed",
        true,
        json!({ "from": from.as_str(), "to": Status::Closed.as_str(), "resolution": resolution, "signed_off": true }),
    )
    .await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "ticket.signed_off",
        "ticket",
        Some(t.id),
        Changes::new()
            .field("status", from.as_str(), Status::Closed.as_str())
            .note("resolution", resolution.as_str()),
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!("{} is confirmed and closed.", t.reference()),
    )
    .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response())
}

#[derive(Deserialize)]
struct SendBackForm {
    #[serde(default)]
    reason: String,
}

async fn send_back(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<SendBackForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let t = managed_ticket(&mut tx, &user, &id).await?;
    let from = t.status();
    if from != Status::Completed || transition_refusal(from, Status::InProgress).is_some() {
        tx.commit().await?;
        return not_awaiting(&user, &t).await;
    }
    let reason = match required_text(
        &form.reason,
        "Say what still needs doing, so the subcontractor knows.",
    ) {
        Ok(r) => r,
        Err(message) => {
            let mut errors = FormErrors::default();
            errors.add("reason", message);
            let page = sign_off_view(&mut tx, &user, &t, None, form.reason, errors).await?;
            return Ok(unprocessable(page));
        }
    };
    db::tickets::set_status(
        &mut tx,
        t.id,
        &StatusUpdate {
            status: Status::InProgress,
            abortive_reason: None,
            abortive_note: None,
            resolution: None,
            due_at: t.due_at,
            on_hold_since: None,
            closed_at: None,
        },
    )
    .await?;
    db::tickets::add_event(
        &mut tx,
        t.id,
        Some(user.id),
        "status_changed",
        true,
        json!({ "from": from.as_str(), "to": Status::InProgress.as_str(), "note": format!("Sent back: {reason}"), "sent_back": true }),
    )
    .await?;
    audit::record(
        &mut tx,
        &user.actor(),
        "ticket.sent_back",
        "ticket",
        Some(t.id),
        Changes::new()
            .field("status", from.as_str(), Status::InProgress.as_str())
            .note("reason", reason.as_str()),
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!(
            "{} is sent back to the subcontractor and in progress again.",
            t.reference()
        ),
    )
    .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_become_tel_links() {
        let p = phones(Some("07700 900123, +44 113 496 0000"));
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].tel, "07700900123");
        assert_eq!(p[1].tel, "+441134960000");
        assert!(phones(None).is_empty());
    }

    #[test]
    fn averages_read_in_days() {
        assert_eq!(days(1.0), "1 day");
        assert_eq!(days(3.25), "3.3 days");
    }
}
