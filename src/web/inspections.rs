//! Inspections on plots: the list with filters, scheduling one on a plot, the
//! inspection form (saved answer by answer by static/inspection.js, or all at
//! once without JavaScript), photos, tickets raised from failed items,
//! completion, sign-off, commentary and the printable report.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Json, Router,
    extract::{Multipart, Path, State, multipart::Field},
    http::{HeaderMap, header},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Date, Duration};
use uuid::Uuid;

use super::schemes::{
    Crumb, PAGE_SIZE, SelectOption, optional_id, parse_id, query_string, unprocessable,
};
use crate::web::query::Query;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy},
    db::{
        self,
        audit::{self, Changes},
        inspections::{Inspection, InspectionFilter, ListRow, NewInspection, NewPhoto},
        tickets::{PlotPlace, TicketFields},
    },
    domain::{
        Category, FormErrors, Priority, TicketRef,
        clock::{self, today},
        file_type,
        inspection::{
            AnswerKind, Outcome, Status, TRADES, TemplateKind, answer_label, parse_answer,
        },
        long_date, parse_optional_date,
        text::{self, Lines},
    },
    error::ApiError,
    media::{Download, MediaKey},
    upload::{self, Accept, Refusal, Rules, Upload},
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inspections", get(list))
        .route("/plots/{id}/inspections/new", get(new_form).post(create))
        .route("/inspections/{id}", get(show))
        .route("/inspections/{id}/answers", post(save_all))
        .route("/inspections/{id}/items/{key}", post(save_one))
        .route("/inspections/{id}/items/{key}/photos", post(upload_photo))
        .route("/inspections/{id}/items/{key}/ticket", post(raise_ticket))
        .route("/inspections/{id}/photos/{photo}", get(photo))
        .route("/inspections/{id}/complete", post(complete))
        .route("/inspections/{id}/sign-off", post(sign_off))
        .route("/inspections/{id}/comments", post(add_comment))
        .route("/inspections/{id}/report", get(report))
}

/// The inspection, if the user's scope reaches it; otherwise 404.
async fn load(tx: &mut TenantTx, user: &CurrentUser, id: &str) -> Result<Inspection> {
    let id = parse_id(id)?;
    let scope = policy::record_scope(tx, user).await?;
    db::inspections::find(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)
}

fn status_of(i: &Inspection) -> Status {
    i.status
}

fn inspector_value(user: Option<Uuid>, contact: Option<Uuid>) -> String {
    match (user, contact) {
        (Some(u), _) => format!("user:{u}"),
        (_, Some(c)) => format!("contact:{c}"),
        _ => String::new(),
    }
}

/// "user:ID" or "contact:ID" from the inspector select.
fn parse_inspector(raw: &str) -> Option<(Option<Uuid>, Option<Uuid>)> {
    let (kind, id) = raw.split_once(':')?;
    let id = Uuid::parse_str(id).ok()?;
    match kind {
        "user" => Some((Some(id), None)),
        "contact" => Some((None, Some(id))),
        _ => None,
    }
}

async fn inspector_options(
    tx: &mut TenantTx,
    current: &str,
    blank: &str,
) -> Result<Vec<SelectOption>> {
    let mut options = vec![SelectOption::new("", blank, current)];
    for c in db::inspections::staff_inspectors(tx).await? {
        options.push(SelectOption::new(
            format!("user:{}", c.id),
            format!("{} (staff)", c.name),
            current,
        ));
    }
    for c in db::inspections::contact_inspectors(tx).await? {
        options.push(SelectOption::new(
            format!("contact:{}", c.id),
            format!("{} (external)", c.name),
            current,
        ));
    }
    Ok(options)
}

// ---------------------------------------------------------------- the list

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    scheme: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    inspector: String,
    #[serde(default)]
    after: String,
}

pub struct InspectionItem {
    pub id: Uuid,
    pub date: String,
    pub kind: &'static str,
    pub template: String,
    pub plot_id: Uuid,
    pub plot: String,
    pub scheme: String,
    pub inspector: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub outcome: &'static str,
    pub outcome_class: &'static str,
    pub failed: i64,
}

impl From<ListRow> for InspectionItem {
    fn from(r: ListRow) -> Self {
        let status = r.status;
        let outcome = r.outcome;
        InspectionItem {
            id: r.id,
            date: long_date(r.scheduled_on),
            kind: r.kind.label(),
            template: r.template_name,
            plot_id: r.plot_id,
            plot: r.plot_number,
            scheme: r.scheme_name,
            inspector: r.inspector_name.unwrap_or_default(),
            status: status.label(),
            status_class: status.badge_class(),
            outcome: outcome.map_or("", Outcome::label),
            outcome_class: outcome.map_or("", Outcome::badge_class),
            failed: r.failed,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "inspections/list.html")]
struct ListPage {
    chrome: Chrome,
    schemes: Vec<SelectOption>,
    kinds: Vec<SelectOption>,
    statuses: Vec<SelectOption>,
    inspectors: Vec<SelectOption>,
    from: String,
    until: String,
    inspections: Vec<InspectionItem>,
    next: Option<String>,
    first: Option<String>,
}

fn bad_filter() -> AppError {
    AppError::BadRequest("Choose a filter value from the list.".into())
}

fn filter_date(raw: &str) -> Result<Option<Date>> {
    parse_optional_date("date", raw)
        .map_err(|_| AppError::BadRequest("Enter dates like 2025-03-31.".into()))
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<ListPage> {
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let kind = match q.kind.as_str() {
        "" => None,
        k => Some(
            TemplateKind::parse(k)
                .ok_or_else(bad_filter)?
                .as_str()
                .to_owned(),
        ),
    };
    let status = match q.status.as_str() {
        "" => None,
        s => Some(Status::parse(s).ok_or_else(bad_filter)?.as_str().to_owned()),
    };
    let (inspector_user_id, inspector_contact_id) = if q.inspector.is_empty() {
        (None, None)
    } else {
        parse_inspector(&q.inspector).ok_or_else(bad_filter)?
    };
    let after = if q.after.is_empty() {
        None
    } else {
        let invalid = || {
            AppError::BadRequest(
                "That page link is not valid. Start again from the first page.".into(),
            )
        };
        let (d, id) = q.after.split_once(',').ok_or_else(invalid)?;
        Some((
            filter_date(d).map_err(|_| invalid())?.ok_or_else(invalid)?,
            Uuid::parse_str(id).map_err(|_| invalid())?,
        ))
    };
    let filter = InspectionFilter {
        scheme_id: optional_id(&q.scheme)?,
        kind,
        status,
        from: filter_date(&q.from)?,
        until: filter_date(&q.until)?,
        inspector_user_id,
        inspector_contact_id,
        after,
    };
    let mut rows = db::inspections::list(&mut tx, &scope, &filter, PAGE_SIZE as i64 + 1).await?;
    let schemes = db::schemes::choices(&mut tx, &scope).await?;
    let inspectors = inspector_options(&mut tx, &q.inspector, "Anyone").await?;
    tx.commit().await?;

    let page_query = |after: &str| {
        query_string(
            "/inspections",
            &[
                ("scheme", &q.scheme),
                ("kind", &q.kind),
                ("status", &q.status),
                ("from", &q.from),
                ("until", &q.until),
                ("inspector", &q.inspector),
                ("after", after),
            ],
        )
    };
    let next = if rows.len() > PAGE_SIZE {
        rows.truncate(PAGE_SIZE);
        rows.last()
            .map(|r| page_query(&format!("{},{}", r.scheduled_on, r.id)))
    } else {
        None
    };
    let first = filter.after.is_some().then(|| page_query(""));
    let mut scheme_options = vec![SelectOption::new("", "Every scheme", &q.scheme)];
    scheme_options.extend(
        schemes
            .into_iter()
            .map(|c| SelectOption::new(c.id.to_string(), c.name, &q.scheme)),
    );
    let mut kinds = vec![SelectOption::new("", "Every type", &q.kind)];
    kinds.extend(
        TemplateKind::ALL
            .iter()
            .map(|k| SelectOption::new(k.as_str(), k.label(), &q.kind)),
    );
    let mut statuses = vec![SelectOption::new("", "Any status", &q.status)];
    statuses.extend(
        Status::ALL
            .iter()
            .map(|s| SelectOption::new(s.as_str(), s.label(), &q.status)),
    );
    Ok(ListPage {
        chrome: user.chrome("Inspections").await?,
        schemes: scheme_options,
        kinds,
        statuses,
        inspectors,
        from: q.from.trim().to_owned(),
        until: q.until.trim().to_owned(),
        inspections: rows.into_iter().map(InspectionItem::from).collect(),
        next,
        first,
    })
}

// ---------------------------------------------------------------- scheduling one on a plot

#[derive(Deserialize, Default)]
struct NewForm {
    #[serde(default)]
    template: String,
    #[serde(default)]
    scheduled_on: String,
    #[serde(default)]
    inspector: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "inspections/new.html")]
struct NewPage {
    chrome: Chrome,
    crumbs: Vec<Crumb>,
    plot_id: Uuid,
    plot_number: String,
    templates: Vec<SelectOption>,
    inspectors: Vec<SelectOption>,
    scheduled_on: String,
    errors: FormErrors,
}

async fn new_page(
    tx: &mut TenantTx,
    user: &CurrentUser,
    plot: &db::plots::Plot,
    form: &NewForm,
    errors: FormErrors,
) -> Result<NewPage> {
    let mut templates = vec![SelectOption::new("", "Choose a template", &form.template)];
    for t in db::inspection_templates::choices(tx).await? {
        let label = format!(
            "{} ({}, version {})",
            t.name,
            TemplateKind::label_of(&t.kind),
            t.version
        );
        templates.push(SelectOption::new(
            t.version_id.to_string(),
            label,
            &form.template,
        ));
    }
    let inspectors = inspector_options(tx, &form.inspector, "Choose an inspector").await?;
    Ok(NewPage {
        chrome: user
            .chrome(format!("New inspection on plot {}", plot.plot_number))
            .await?,
        crumbs: vec![
            Crumb::link(
                format!("/schemes/{}", plot.scheme_id),
                plot.scheme_name.clone(),
            ),
            Crumb::link(
                format!("/plots/{}", plot.id),
                format!("Plot {}", plot.plot_number),
            ),
            Crumb::here("New inspection"),
        ],
        plot_id: plot.id,
        plot_number: plot.plot_number.clone(),
        templates,
        inspectors,
        scheduled_on: if form.scheduled_on.is_empty() {
            today().to_string()
        } else {
            form.scheduled_on.clone()
        },
        errors,
    })
}

async fn find_plot(tx: &mut TenantTx, user: &CurrentUser, id: &str) -> Result<db::plots::Plot> {
    let id = parse_id(id)?;
    let scope = policy::record_scope(tx, user).await?;
    db::plots::find(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<NewPage> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let plot = find_plot(&mut tx, &user, &id).await?;
    let page = new_page(
        &mut tx,
        &user,
        &plot,
        &NewForm::default(),
        FormErrors::default(),
    )
    .await?;
    tx.commit().await?;
    Ok(page)
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<NewForm>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let plot = find_plot(&mut tx, &user, &id).await?;
    let mut errors = FormErrors::default();
    let version = match Uuid::parse_str(form.template.trim()) {
        Ok(v) => db::inspections::live_version(&mut tx, v).await?,
        Err(_) => None,
    };
    if version.is_none() {
        errors.add("template", "Choose a template");
    }
    let scheduled_on = match parse_optional_date("scheduled_on", &form.scheduled_on) {
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            errors.add("scheduled_on", "Enter the date of the inspection");
            None
        }
        Err(e) => {
            errors.add("scheduled_on", e.message);
            None
        }
    };
    let inspector = match parse_inspector(form.inspector.trim()) {
        Some((Some(u), None)) if db::inspections::is_staff_inspector(&mut tx, u).await? => {
            Some((Some(u), None))
        }
        Some((None, Some(c))) if db::inspections::is_contact_inspector(&mut tx, c).await? => {
            Some((None, Some(c)))
        }
        _ => None,
    };
    if inspector.is_none() {
        errors.add(
            "inspector",
            "Choose who inspects: a member of staff or an external contact",
        );
    }
    let (
        Some((version_id, kind)),
        Some(scheduled_on),
        Some((inspector_user_id, inspector_contact_id)),
    ) = (version, scheduled_on, inspector)
    else {
        let page = new_page(&mut tx, &user, &plot, &form, errors).await?;
        return Ok(unprocessable(page));
    };
    let id = db::inspections::create(
        &mut tx,
        &NewInspection {
            plot_id: plot.id,
            scheme_id: plot.scheme_id,
            template_version_id: version_id,
            kind: kind.clone(),
            scheduled_on,
            inspector_user_id,
            inspector_contact_id,
            created_by: Some(user.id),
        },
    )
    .await?;
    let changes = Changes::new()
        .set("plot_id", plot.id.to_string())
        .set("template_version_id", version_id.to_string())
        .set("kind", kind)
        .set("scheduled_on", scheduled_on.to_string())
        .set(
            "inspector",
            inspector_value(inspector_user_id, inspector_contact_id),
        );
    audit::record(
        &mut tx,
        &user.actor(),
        "inspection.scheduled",
        "inspection",
        Some(id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!("Inspection scheduled for {}.", long_date(scheduled_on)),
    )
    .await?;
    Ok(Redirect::to(&format!("/inspections/{id}")).into_response())
}

// ---------------------------------------------------------------- the inspection page

struct PhotoView {
    id: Uuid,
    name: String,
}

struct ItemView {
    key: String,
    label: String,
    kind: &'static str,
    photo_required: bool,
    trade: &'static str,
    answer: String,
    answer_label: String,
    notes: String,
    photos: Vec<PhotoView>,
    ticket: Option<(Uuid, String)>,
    failed: bool,
    missing_photo: bool,
    error: Option<String>,
}

struct SectionView {
    title: String,
    items: Vec<ItemView>,
}

struct CommentView {
    internal: bool,
    body: String,
    author: String,
    when: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "inspections/show.html")]
struct ShowPage {
    chrome: Chrome,
    crumbs: Vec<Crumb>,
    id: Uuid,
    plot_id: Uuid,
    plot: String,
    address: String,
    scheme: String,
    template: String,
    version: i32,
    kind: &'static str,
    date: String,
    inspector: String,
    status: &'static str,
    status_class: &'static str,
    outcome: &'static str,
    outcome_class: &'static str,
    signed_by: String,
    signed_on: String,
    sections: Vec<SectionView>,
    comments: Vec<CommentView>,
    outcomes: Vec<SelectOption>,
    can_edit: bool,
    answers_open: bool,
    can_complete: bool,
    can_sign_off: bool,
    today: String,
    errors: FormErrors,
}

/// Answers typed but not saved (a form shown again with its problems), by item key.
type Typed = BTreeMap<String, (String, String)>;

struct Loaded {
    sections: Vec<SectionView>,
    comments: Vec<CommentView>,
}

async fn load_items(
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

async fn show_page(
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

async fn show(
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
async fn apply_answer(
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
struct AnswerBody {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    notes: String,
}

/// Saves one answer, as the form's script sends it: JSON in, JSON out. Sending the same answer again changes nothing.
async fn save_one(
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
const PHOTO_RULES: Rules = Rules {
    folder: "inspections",
    accept: Accept::Photos,
    thumbnails: false,
};

/// Receives one photo field (outside any transaction). An empty file input gives `None`.
async fn receive_photo(state: &AppState, tenant: Uuid, field: Field<'_>) -> Result<Option<Upload>> {
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
async fn open_for_answers(tx: &mut TenantTx, user: &CurrentUser, id: &str) -> Result<Inspection> {
    let insp = load(tx, user, id).await?;
    if !status_of(&insp).answers_open() {
        return Err(AppError::Conflict(
            "This inspection is completed: its answers and photos can no longer change.".into(),
        ));
    }
    Ok(insp)
}

async fn record_photo(
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

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// Adds a photo to an item (multipart field `photo`). Answers JSON to the script, else back to the form.
async fn upload_photo(
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
struct AllAnswers {
    typed: Typed,
    photos: Vec<(String, Upload)>,
}

impl AllAnswers {
    async fn discard(self) {
        for (_, photo) in self.photos {
            photo.discard().await;
        }
    }
}

/// Longest answer or notes field the form sends (the answer rules allow 4,000 characters).
const MAX_ANSWER_FIELD: usize = 64 * 1024;

/// Reads the whole form, streaming each photo into the store (no transaction is open meanwhile).
async fn read_answers(
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
async fn save_all(
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
async fn save_answers(
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
async fn photo(
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

// ---------------------------------------------------------------- a ticket from a failed item

/// Raises a ticket from a failed item. The button sits in the inspection form, so the item's
/// answer and notes as typed come along and are saved first: marking "Fail" and raising is one step.
async fn raise_ticket(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, key)): Path<(String, String)>,
    Form(typed): Form<HashMap<String, String>>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    policy::may_log_tickets(&user)?;
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
    let sla = db::sla::policy(&mut tx).await?;
    let due_at = db::sla::scheme_sla_enabled(&mut tx, insp.scheme_id)
        .await?
        .then(|| clock::due_at(now, sla.target(Priority::Medium), Duration::ZERO));
    let place = PlotPlace {
        plot_id: insp.plot_id,
        scheme_id: insp.scheme_id,
        contract_id: insp.contract_id,
    };
    let (ticket_id, number) = db::tickets::insert(&mut tx, place, &fields, due_at, user.id).await?;
    db::inspections::link_ticket(&mut tx, insp.id, &key, ticket_id).await?;
    let reference = TicketRef(number).to_string();
    db::tickets::add_event(
        &mut tx,
        ticket_id,
        Some(user.id),
        "created",
        true,
        json!({
            "summary": format!("Ticket {reference} logged from the {} inspection on {}", insp.template_name, long_date(insp.scheduled_on)),
            "priority": Priority::Medium.as_str(),
            "reported_via": "inspection",
        }),
    )
    .await?;
    // The item's photos go with the ticket: each copied (streamed) to an object of its own.
    let photos: Vec<_> = db::inspections::photos(&mut tx, insp.id)
        .await?
        .into_iter()
        .filter(|p| p.item_key == key)
        .collect();
    // Each copy is removed again unless the transaction that records it commits.
    let mut copies = Vec::new();
    for p in &photos {
        let Some(source) = MediaKey::parse(&p.storage_key) else {
            continue;
        };
        let copy = upload::copy(
            &state.media,
            &source,
            tx.tenant_id(),
            "tickets",
            &p.content_type,
        )
        .await?;
        db::inspections::attach_ticket_photo(
            &mut tx,
            ticket_id,
            copy.key.as_str(),
            &p.original_name,
            &p.content_type,
            copy.size as i64,
            user.id,
        )
        .await?;
        copies.push(copy);
    }
    let changes = Changes::new()
        .set("reference", reference.clone())
        .set("title", title.clone())
        .set("category", category.as_str())
        .set("location", location)
        .set("priority", "medium")
        .set("reported_via", "inspection")
        .set("plot_id", insp.plot_id.to_string())
        .note("inspection_id", insp.id.to_string())
        .note("photos", photos.len());
    audit::record(
        &mut tx,
        &user.actor(),
        "ticket.created",
        "ticket",
        Some(ticket_id),
        changes,
    )
    .await?;
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
    for copy in copies {
        copy.recorded();
    }
    user.flash(
        "success",
        format!("Ticket {reference} raised for \"{title}\"."),
    )
    .await?;
    Ok(Redirect::to(&format!("/inspections/{}#item-{key}", insp.id)).into_response())
}

// ---------------------------------------------------------------- completion, sign-off, commentary

#[derive(Deserialize, Default)]
struct CompleteForm {
    #[serde(default)]
    outcome: String,
}

async fn complete(
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
struct SignOffForm {
    #[serde(default)]
    signed_by_name: String,
    #[serde(default)]
    signed_on: String,
}

async fn sign_off(
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
struct CommentForm {
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    body: String,
}

async fn add_comment(
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

// ---------------------------------------------------------------- the printable report

#[derive(Template, WebTemplate)]
#[template(path = "inspections/report.html")]
struct ReportPage {
    chrome: Chrome,
    page: ShowPage,
}

async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<ReportPage> {
    let mut tx = user.begin(&state).await?;
    let insp = load(&mut tx, &user, &id).await?;
    let mut page = show_page(
        &mut tx,
        &user,
        &insp,
        FormErrors::default(),
        None,
        &BTreeMap::new(),
    )
    .await?;
    tx.commit().await?;
    // The report is for the homeowner or client: shared commentary only.
    page.comments.retain(|c| !c.internal);
    Ok(ReportPage {
        chrome: page.chrome.clone(),
        page,
    })
}

// ---------------------------------------------------------------- the plot page's section

/// The inspections section of a plot page: `{% include "inspections/plot_section.html" %}`
/// with this struct in a field named `inspections`.
pub struct PlotSection {
    pub plot_id: Uuid,
    pub items: Vec<InspectionItem>,
    pub can_schedule: bool,
}

impl PlotSection {
    /// Call after the plot's own access check, with the same scope.
    pub async fn load(
        tx: &mut TenantTx,
        user: &CurrentUser,
        scope: &policy::SchemeScope,
        plot_id: Uuid,
    ) -> Result<PlotSection> {
        let rows = db::inspections::for_plot(tx, scope, plot_id).await?;
        Ok(PlotSection {
            plot_id,
            items: rows.into_iter().map(InspectionItem::from).collect(),
            can_schedule: policy::may_edit_records(user).is_ok(),
        })
    }
}
