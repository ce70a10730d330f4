//! Logging a ticket on a plot and editing one.

use super::*;
use crate::tickets::{self, Actor};
use crate::web::kit::finish_create;
use axum::extract::FromRequest;

// ---------------------------------------------------------------- the form (log and edit)

#[derive(Deserialize, Default, Clone)]
pub(super) struct TicketForm {
    #[serde(default)]
    pub(super) title: String,
    #[serde(default)]
    pub(super) description: String,
    #[serde(default)]
    pub(super) category: String,
    #[serde(default)]
    pub(super) location: String,
    #[serde(default)]
    pub(super) reported_by: String,
    #[serde(default)]
    pub(super) reported_via: String,
    #[serde(default)]
    pub(super) reported_at: String,
    #[serde(default)]
    pub(super) priority: String,
    #[serde(default)]
    pub(super) is_complaint: String,
    #[serde(default)]
    pub(super) complaint_received_on: String,
    #[serde(default)]
    pub(super) internal_cost: String,
    /// The form's one-time key (logging only): a form sent twice logs one ticket.
    #[serde(default)]
    pub(super) form_key: String,
}

pub(super) const LOCAL_INPUT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]");

/// The value of a datetime-local input, in UK time.
pub(super) fn local_input(t: OffsetDateTime) -> String {
    uk_time(t).format(LOCAL_INPUT).unwrap_or_default()
}

pub(super) fn parse_local(input: &str) -> Option<OffsetDateTime> {
    let input = input.trim();
    let head = input.get(..16)?;
    let rest = &input[16..];
    if !(rest.is_empty() || (rest.len() == 3 && rest.starts_with(':')) || rest.starts_with(":00")) {
        return None;
    }
    PrimitiveDateTime::parse(head, LOCAL_INPUT)
        .ok()
        .map(clock::from_uk_time)
}

/// "125.50" from "£125.50", "1,200" or "99.5"; at most 2 decimal places.
pub(super) fn parse_cost(input: &str) -> std::result::Result<Option<String>, ()> {
    let s: String = input
        .trim()
        .trim_start_matches('£')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    if s.is_empty() {
        return Ok(None);
    }
    let (whole, pence) = s.split_once('.').unwrap_or((&s, ""));
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 10
        || !digits(whole)
        || pence.len() > 2
        || !digits(pence)
        || (s.contains('.') && pence.is_empty())
    {
        return Err(());
    }
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    Ok(Some(format!("{whole}.{:0<2}", pence)))
}

impl TicketForm {
    /// One field of a multipart form, by its name (unknown names, like the CSRF token, are skipped).
    pub(super) fn set(&mut self, name: &str, value: String) {
        let field = match name {
            "title" => &mut self.title,
            "description" => &mut self.description,
            "category" => &mut self.category,
            "location" => &mut self.location,
            "reported_by" => &mut self.reported_by,
            "reported_via" => &mut self.reported_via,
            "reported_at" => &mut self.reported_at,
            "priority" => &mut self.priority,
            "is_complaint" => &mut self.is_complaint,
            "complaint_received_on" => &mut self.complaint_received_on,
            "internal_cost" => &mut self.internal_cost,
            "form_key" => &mut self.form_key,
            _ => return,
        };
        *field = value;
    }

    pub(super) fn from_ticket(t: &Ticket) -> TicketForm {
        TicketForm {
            title: t.title.clone(),
            description: t.description.clone(),
            category: t.category.as_str().to_owned(),
            location: t.location.clone(),
            reported_by: t
                .reported_by_contact_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            reported_via: t.reported_via.as_str().to_owned(),
            reported_at: local_input(t.reported_at),
            priority: t.priority.as_str().to_owned(),
            is_complaint: if t.is_complaint {
                "on".into()
            } else {
                String::new()
            },
            complaint_received_on: t
                .complaint_received_on
                .map(|d| d.to_string())
                .unwrap_or_default(),
            internal_cost: t.internal_cost.clone().unwrap_or_default(),
            form_key: String::new(),
        }
    }

    /// The checked fields, or the problems found (the reporter is checked against the plot separately).
    pub(super) fn check(&self, errors: &mut FormErrors) -> Option<TicketFields> {
        let now = clock::now();
        let title = errors.text("title", &self.title, 200, Some("a short title"));
        let description = errors.long_text("description", &self.description, 20_000, None);
        let category = Category::parse(&self.category);
        if category.is_none() {
            errors.add("category", "Choose the trade");
        }
        let location = self.location.trim().to_owned();
        if !location.is_empty() && Location::parse(&location).is_none() {
            errors.add("location", "Choose a location from the list");
        }
        let reported_by = match self.reported_by.trim() {
            "" => None,
            v => match Uuid::parse_str(v) {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.add("reported_by", "Choose who reported it from the list");
                    None
                }
            },
        };
        let via = ReportedVia::parse(&self.reported_via);
        if via.is_none() {
            errors.add("reported_via", "Choose how it was reported");
        }
        let reported_at = match parse_local(&self.reported_at) {
            Some(t) if t > now + Duration::minutes(5) => {
                errors.add("reported_at", "The report time cannot be in the future");
                None
            }
            Some(t) => Some(t),
            None => {
                errors.add(
                    "reported_at",
                    "Enter the date and time it was reported, like 2025-03-31 09:30",
                );
                None
            }
        };
        let priority = Priority::parse(&self.priority);
        if priority.is_none() {
            errors.add("priority", "Choose a priority");
        }
        let is_complaint = !self.is_complaint.is_empty();
        let received = errors
            .check(parse_optional_date(
                "complaint_received_on",
                &self.complaint_received_on,
            ))
            .flatten();
        let complaint_received_on = if is_complaint {
            match received {
                None => {
                    if !errors.0.iter().any(|e| e.field == "complaint_received_on") {
                        errors.add(
                            "complaint_received_on",
                            "Enter the date the complaint was received",
                        );
                    }
                    None
                }
                Some(d) if d > clock::uk_date(now) => {
                    errors.add(
                        "complaint_received_on",
                        "The complaint cannot have been received in the future",
                    );
                    None
                }
                d => d,
            }
        } else {
            None
        };
        let internal_cost = match parse_cost(&self.internal_cost) {
            Ok(c) => c,
            Err(()) => {
                errors.add("internal_cost", "Enter an amount in pounds, like 125.50");
                None
            }
        };
        if !errors.is_empty() {
            return None;
        }
        Some(TicketFields {
            title,
            description,
            category: category?,
            location,
            reported_by_contact_id: reported_by,
            reported_via: via?.as_str().to_owned(),
            reported_at: reported_at?,
            priority: priority?,
            is_complaint,
            complaint_received_on,
            internal_cost,
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "tickets/form.html")]
pub(super) struct FormPage {
    pub(super) chrome: Chrome,
    pub(super) crumbs: Vec<Crumb>,
    pub(super) heading: String,
    pub(super) action: String,
    pub(super) submit: &'static str,
    pub(super) cancel: String,
    pub(super) form: TicketForm,
    /// "The warranty on this plot ended on …" when it has.
    pub(super) warranty_warning: String,
    pub(super) errors: FormErrors,
    pub(super) categories: Vec<SelectOption>,
    pub(super) locations: Vec<SelectOption>,
    pub(super) vias: Vec<SelectOption>,
    pub(super) priorities: Vec<SelectOption>,
    pub(super) homeowners: Vec<SelectOption>,
    pub(super) others: Vec<SelectOption>,
    pub(super) show_cost: bool,
    pub(super) targets: String,
    /// A new ticket takes its photos on the form itself.
    pub(super) with_photos: bool,
    pub(super) max_photos: usize,
}

impl FormPage {
    pub(super) async fn build(
        tx: &mut TenantTx,
        user: &CurrentUser,
        plot_id: Uuid,
        crumbs: Vec<Crumb>,
        (heading, action, submit, cancel): (String, String, &'static str, String),
        form: TicketForm,
        errors: FormErrors,
    ) -> Result<FormPage> {
        let with_photos = action.ends_with("/tickets/new");
        let reporters = db::tickets::reporters(tx, plot_id).await?;
        let sla = db::sla::policy(tx).await?;
        // The caller has checked the user reaches the plot.
        let warranty_warning = match db::plots::find(
            tx,
            &crate::db::scope::SchemeScope::All,
            plot_id,
        )
        .await?
        {
            Some(Plot {
                completion_date: Some(completed),
                warranty_months,
                ..
            }) if crate::domain::warranty_end(completed, warranty_months) < clock::today() => {
                format!(
                    "The warranty on this plot ended on {}. Check the defect is still covered before logging it.",
                    long_date(crate::domain::warranty_end(completed, warranty_months))
                )
            }
            _ => String::new(),
        };
        let option = |r: &db::tickets::Reporter| {
            SelectOption::new(r.id.to_string(), r.name.clone(), &form.reported_by)
        };
        let targets = sla
            .targets()
            .iter()
            .map(|(p, d)| format!("{} {}", p.label(), span(*d)))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(FormPage {
            warranty_warning,
            chrome: user.chrome(heading.clone()).await?,
            crumbs,
            heading,
            action,
            submit,
            cancel,
            categories: options(
                Category::ALL,
                Category::as_str,
                Category::label,
                &form.category,
            ),
            locations: options(
                Location::ALL,
                Location::as_str,
                Location::label,
                &form.location,
            ),
            vias: options(
                ReportedVia::ALL,
                ReportedVia::as_str,
                ReportedVia::label,
                &form.reported_via,
            ),
            priorities: options(
                Priority::ALL,
                Priority::as_str,
                Priority::label,
                &form.priority,
            ),
            homeowners: reporters
                .iter()
                .filter(|r| r.is_homeowner)
                .map(option)
                .collect(),
            others: reporters
                .iter()
                .filter(|r| !r.is_homeowner)
                .map(option)
                .collect(),
            show_cost: true,
            targets,
            with_photos,
            max_photos: super::photos::MAX_PHOTOS,
            form,
            errors,
        })
    }
}

pub(super) fn plot_crumbs(plot: &Plot) -> Vec<Crumb> {
    vec![
        Crumb::link("/schemes", "Schemes"),
        Crumb::link(
            format!("/schemes/{}", plot.scheme_id),
            plot.scheme_name.clone(),
        ),
        Crumb::link(
            format!("/contracts/{}", plot.contract_id),
            plot.contract_name.clone(),
        ),
        Crumb::link(
            format!("/plots/{}", plot.id),
            format!("Plot {}", plot.plot_number),
        ),
    ]
}

pub(super) async fn loggable_plot(
    tx: &mut TenantTx,
    user: &CurrentUser,
    plot_id: &str,
) -> Result<Plot> {
    policy::may_log_tickets(user)?;
    let plot_id = parse_id(plot_id)?;
    let scope = policy::record_scope(tx, user).await?;
    db::plots::find(tx, &scope, plot_id)
        .await?
        .ok_or(AppError::NotFound)
}

pub(super) fn new_labels(plot: &Plot) -> (String, String, &'static str, String) {
    (
        format!("Log a ticket on plot {}", plot.plot_number),
        format!("/plots/{}/tickets/new", plot.id),
        "Log ticket",
        format!("/plots/{}", plot.id),
    )
}

pub(super) async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(plot_id): Path<String>,
) -> Result<FormPage> {
    let mut tx = user.begin(&state).await?;
    let plot = loggable_plot(&mut tx, &user, &plot_id).await?;
    let mut crumbs = plot_crumbs(&plot);
    crumbs.push(Crumb::here("New ticket"));
    let form = TicketForm {
        reported_at: local_input(clock::now()),
        reported_via: "phone".into(),
        priority: "medium".into(),
        ..TicketForm::default()
    };
    let page = FormPage::build(
        &mut tx,
        &user,
        plot.id,
        crumbs,
        new_labels(&plot),
        form,
        FormErrors::default(),
    )
    .await?;
    tx.commit().await?;
    Ok(page)
}

/// The reporter must be one of the plot's homeowners (past or present) or a non-homeowner contact.
pub(super) async fn check_reporter(
    tx: &mut TenantTx,
    plot_id: Uuid,
    fields: &TicketFields,
    errors: &mut FormErrors,
) -> Result<()> {
    if let Some(contact) = fields.reported_by_contact_id
        && !db::tickets::reporter_allowed(tx, plot_id, contact).await?
    {
        errors.add("reported_by", "Choose who reported it from the list");
    }
    Ok(())
}

/// The form's fields checked, the reporter against the plot; or the form again with its errors (422).
pub(super) async fn checked(
    tx: &mut TenantTx,
    user: &CurrentUser,
    plot: &Plot,
    form: TicketForm,
    mut errors: FormErrors,
) -> Result<std::result::Result<TicketFields, Response>> {
    let fields = form.check(&mut errors);
    if let Some(f) = &fields {
        check_reporter(tx, plot.id, f, &mut errors).await?;
    }
    match fields.filter(|_| errors.is_empty()) {
        Some(fields) => Ok(Ok(fields)),
        None => {
            let mut crumbs = plot_crumbs(plot);
            crumbs.push(Crumb::here("New ticket"));
            let page =
                FormPage::build(tx, user, plot.id, crumbs, new_labels(plot), form, errors).await?;
            Ok(Err(unprocessable(page)))
        }
    }
}

/// Logs the checked ticket on the plot (in the caller's transaction).
pub(super) async fn log_on(
    tx: &mut TenantTx,
    user: &CurrentUser,
    plot: &Plot,
    fields: &TicketFields,
) -> Result<tickets::Logged> {
    let place = PlotPlace {
        plot_id: plot.id,
        scheme_id: plot.scheme_id,
        contract_id: plot.contract_id,
    };
    tickets::log(
        tx,
        &Actor::of(user),
        place,
        fields,
        tickets::Origin::Reported,
    )
    .await
}

/// Logging a ticket: a plain form, or (with photos) a multipart one, see [`super::photos`].
pub(super) async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(plot_id): Path<String>,
    request: axum::extract::Request,
) -> Result<Response> {
    if super::photos::is_multipart(&request) {
        return super::photos::create(state, user, plot_id, request).await;
    }
    let Form(form) = Form::<TicketForm>::from_request(request, &state)
        .await
        .map_err(|_| AppError::BadRequest("Send the ticket with the form on its page.".into()))?;
    let mut tx = user.begin(&state).await?;
    let plot = loggable_plot(&mut tx, &user, &plot_id).await?;
    let form_key = form.form_key.clone();
    let fields = match checked(&mut tx, &user, &plot, form, FormErrors::default()).await? {
        Ok(fields) => fields,
        Err(page) => return Ok(page),
    };
    let logged = log_on(&mut tx, &user, &plot, &fields).await?;
    let location = format!("/tickets/{}", logged.id);
    finish_create(
        tx,
        &user,
        &form_key,
        &location,
        format!("Ticket {} logged.", logged.reference),
    )
    .await
}

pub(super) fn edit_labels(t: &Ticket) -> (String, String, &'static str, String) {
    (
        format!("Edit {}", t.reference()),
        format!("/tickets/{}/edit", t.id),
        "Save changes",
        format!("/tickets/{}", t.id),
    )
}

pub(super) fn ticket_crumbs(t: &Ticket, subcontractor: bool) -> Vec<Crumb> {
    if subcontractor {
        return vec![
            Crumb::link("/tickets", "Tickets"),
            Crumb::here(t.reference()),
        ];
    }
    vec![
        Crumb::link("/schemes", "Schemes"),
        Crumb::link(format!("/schemes/{}", t.scheme_id), t.scheme_name.clone()),
        Crumb::link(
            format!("/contracts/{}", t.contract_id),
            t.contract_name.clone(),
        ),
        Crumb::link(
            format!("/plots/{}", t.plot_id),
            format!("Plot {}", t.plot_number),
        ),
        Crumb::link(format!("/tickets/{}", t.id), t.reference()),
    ]
}

pub(super) async fn managed_ticket(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: &str,
) -> Result<Ticket> {
    let id = parse_id(id)?;
    let (scope, _) = reach(tx, user, id).await?;
    policy::may_manage_tickets(user)?;
    db::tickets::find(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub(super) async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<FormPage> {
    let mut tx = user.begin(&state).await?;
    let t = managed_ticket(&mut tx, &user, &id).await?;
    let mut crumbs = ticket_crumbs(&t, false);
    crumbs.push(Crumb::here("Edit"));
    let page = FormPage::build(
        &mut tx,
        &user,
        t.plot_id,
        crumbs,
        edit_labels(&t),
        TicketForm::from_ticket(&t),
        FormErrors::default(),
    )
    .await?;
    tx.commit().await?;
    Ok(page)
}

pub(super) async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<TicketForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let t = managed_ticket(&mut tx, &user, &id).await?;
    let mut errors = FormErrors::default();
    let fields = form.check(&mut errors);
    if let Some(f) = &fields
        && f.reported_by_contact_id != t.reported_by_contact_id
    {
        check_reporter(&mut tx, t.plot_id, f, &mut errors).await?;
    }
    let Some(fields) = fields.filter(|_| errors.is_empty()) else {
        let mut crumbs = ticket_crumbs(&t, false);
        crumbs.push(Crumb::here("Edit"));
        let page = FormPage::build(
            &mut tx,
            &user,
            t.plot_id,
            crumbs,
            edit_labels(&t),
            form,
            errors,
        )
        .await?;
        return Ok(unprocessable(page));
    };
    if !tickets::edit(&mut tx, &Actor::of(&user), &t, &fields).await? {
        tx.commit().await?;
        user.flash("info", "Nothing was changed.").await?;
        return Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response());
    }
    tx.commit().await?;
    user.flash("success", format!("{} saved.", t.reference()))
        .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response())
}
