//! Tickets: the list (filters in the query string, keyset pages, counts per
//! status), logging a ticket on a plot, the ticket page with its timeline and
//! sections, editing, status changes and complaint stages.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, macros::format_description};
use uuid::Uuid;

use super::schemes::{
    Crumb, PAGE_SIZE, SelectOption, non_empty, parse_id, query_string, unprocessable,
};
use crate::domain::when;
use crate::web::query::Query;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy},
    db::{
        self,
        audit::{self, Changes},
        plots::Plot,
        tickets::{
            Cursor, Event, Nominee, PlotPlace, StatusUpdate, Ticket, TicketFields, TicketFilter,
            TicketSort, TicketSummary,
        },
    },
    domain::{
        AbortiveReason, Category, ComplaintStage, DueState, FormErrors, Location, Priority,
        ReportedVia, Status, TicketRef,
        clock::{self, uk_time},
        long_date, parse_optional_date,
        ticket::transition_refusal,
    },
    web::{appointments, chrome::Chrome, comments, files, nominations},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tickets", get(list))
        .route("/plots/{id}/tickets/new", get(new_form).post(create))
        .route("/tickets/{id}", get(show))
        .route("/tickets/{id}/edit", get(edit_form).post(update))
        .route("/tickets/{id}/status", post(change_status))
        .route("/tickets/{id}/complaint-stages", post(mark_stage))
}

// ---------------------------------------------------------------- shared helpers

/// A length of time in words: "12 hours", "7 days", "1 day 4 hours".
pub(crate) fn span(d: Duration) -> String {
    let minutes = d.whole_minutes().max(0);
    let (days, hours, mins) = (minutes / 1440, (minutes % 1440) / 60, minutes % 60);
    let unit = |n: i64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(unit(days, "day"));
    }
    if hours > 0 {
        parts.push(unit(hours, "hour"));
    }
    if mins > 0 && days == 0 {
        parts.push(unit(mins, "minute"));
    }
    if parts.is_empty() {
        "0 minutes".into()
    } else {
        parts.join(" ")
    }
}

fn options<T: Copy>(
    all: &[T],
    value: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    current: &str,
) -> Vec<SelectOption> {
    all.iter()
        .map(|v| SelectOption::new(value(*v), label(*v), current))
        .collect()
}

/// The ticket the user's scope reaches, or 404.
async fn reach(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: Uuid,
) -> Result<(policy::TicketScope, db::tickets::TicketHeader)> {
    let scope = policy::ticket_scope(tx, user).await?;
    let header = db::tickets::header(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((scope, header))
}

// ---------------------------------------------------------------- the list

/// The list's query string, as typed (kept to re-render the filters and build links).
#[derive(Debug, Default, Clone)]
struct ListParams {
    q: String,
    scheme: String,
    contract: String,
    plot: String,
    statuses: Vec<String>,
    priority: String,
    category: String,
    nominated: String,
    overdue: bool,
    complaint: String,
    from: String,
    to: String,
    sort: String,
    after: String,
}

impl ListParams {
    fn read(pairs: Vec<(String, String)>) -> ListParams {
        let mut p = ListParams::default();
        for (k, v) in pairs {
            let v = v.trim().to_owned();
            match k.as_str() {
                "q" => p.q = v,
                "scheme" => p.scheme = v,
                "contract" => p.contract = v,
                "plot" => p.plot = v,
                "status" if !v.is_empty() => p.statuses.push(v),
                "priority" => p.priority = v,
                "category" => p.category = v,
                "nominated" => p.nominated = v,
                "overdue" => p.overdue = !v.is_empty(),
                "complaint" => p.complaint = v,
                "from" => p.from = v,
                "to" => p.to = v,
                "sort" => p.sort = v,
                "after" => p.after = v,
                _ => {}
            }
        }
        p
    }

    /// The filter, or a sentence saying which value is wrong.
    fn filter(&self) -> std::result::Result<TicketFilter, String> {
        let id = |raw: &str, what: &str| -> std::result::Result<Option<Uuid>, String> {
            if raw.is_empty() {
                return Ok(None);
            }
            Uuid::parse_str(raw).map(Some).map_err(|_| {
                format!("The {what} filter is not valid. Choose a {what} from the list.")
            })
        };
        let mut statuses = Vec::new();
        for s in &self.statuses {
            statuses
                .push(Status::parse(s).ok_or_else(|| format!("“{s}” is not a ticket status."))?);
        }
        let priority = match self.priority.as_str() {
            "" => None,
            v => Some(Priority::parse(v).ok_or_else(|| format!("“{v}” is not a priority."))?),
        };
        let category = match self.category.as_str() {
            "" => None,
            v => Some(Category::parse(v).ok_or_else(|| format!("“{v}” is not a category."))?),
        };
        let nominee = match self.nominated.split_once(':') {
            _ if self.nominated.is_empty() => None,
            Some(("company", id)) => Some(Nominee::Company(Uuid::parse_str(id).map_err(|_| "The “nominated to” filter is not valid.".to_owned())?)),
            Some(("staff", id)) => Some(Nominee::User(Uuid::parse_str(id).map_err(|_| "The “nominated to” filter is not valid.".to_owned())?)),
            _ => return Err("The “nominated to” filter is not valid. Choose a company or a person from the list.".into()),
        };
        let complaint = match self.complaint.as_str() {
            "" => None,
            "yes" => Some(true),
            "no" => Some(false),
            _ => return Err("The complaint filter must be yes or no.".into()),
        };
        let date = |raw: &str, what: &str| {
            parse_optional_date("d", raw)
                .map_err(|_| format!("The “{what}” date must look like 2025-03-31."))
        };
        let reported_from = date(&self.from, "reported from")?;
        let reported_to = date(&self.to, "reported to")?;
        if let (Some(f), Some(t)) = (reported_from, reported_to)
            && t < f
        {
            return Err("The “reported to” date is before the “reported from” date.".into());
        }
        let sort = match self.sort.as_str() {
            "" => TicketSort::Due,
            v => TicketSort::parse(v)
                .ok_or_else(|| format!("“{v}” is not a way to sort tickets."))?,
        };
        let after = match self.after.as_str() {
            "" => None,
            v => Some(Cursor::decode(v).ok_or_else(|| {
                "That page link is not valid. Start again from the first page.".to_owned()
            })?),
        };
        let q = non_empty(&self.q);
        if q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err("Search for 200 characters or fewer.".into());
        }
        Ok(TicketFilter {
            scheme: id(&self.scheme, "scheme")?,
            contract: id(&self.contract, "contract")?,
            plot: id(&self.plot, "plot")?,
            statuses,
            priority,
            category,
            nominee,
            overdue: self.overdue,
            complaint,
            reported_from,
            reported_to,
            q,
            sort,
            after,
        })
    }

    /// The list's address with these filters, a different status set and cursor.
    fn link(&self, statuses: &[String], after: &str) -> String {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("q", &self.q),
            ("scheme", &self.scheme),
            ("contract", &self.contract),
            ("plot", &self.plot),
        ];
        for s in statuses {
            pairs.push(("status", s));
        }
        pairs.extend([
            ("priority", self.priority.as_str()),
            ("category", &self.category),
            ("nominated", &self.nominated),
            ("overdue", if self.overdue { "1" } else { "" }),
            ("complaint", &self.complaint),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", &self.sort),
            ("after", after),
        ]);
        query_string("/tickets", &pairs)
    }
}

struct Row {
    id: Uuid,
    reference: String,
    title: String,
    plot: String,
    plot_id: Uuid,
    status_label: &'static str,
    status_class: &'static str,
    priority_label: &'static str,
    priority_class: &'static str,
    category: &'static str,
    nominated: String,
    due: String,
    due_label: &'static str,
    due_class: &'static str,
    reported: String,
    is_complaint: bool,
}

struct StatusCount {
    label: &'static str,
    count: i64,
    href: String,
    current: bool,
    value: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "tickets/list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    counts: Vec<StatusCount>,
    total: i64,
    all_href: String,
    q: String,
    plot: String,
    from: String,
    to: String,
    overdue: bool,
    show_record_filters: bool,
    schemes: Vec<SelectOption>,
    contracts: Vec<SelectOption>,
    statuses: Vec<(SelectOption, bool)>,
    priorities: Vec<SelectOption>,
    categories: Vec<SelectOption>,
    companies: Vec<SelectOption>,
    staff: Vec<SelectOption>,
    complaint: Vec<SelectOption>,
    sorts: Vec<SelectOption>,
    next: Option<String>,
    first: Option<String>,
}

fn summary_row(t: &TicketSummary, policy: &db::sla::Policy, now: OffsetDateTime) -> Row {
    let status = t.status();
    let priority = t.priority();
    let due_state = DueState::of(
        status,
        t.due_at,
        t.on_hold_since,
        policy.target(priority),
        now,
    );
    Row {
        id: t.id,
        reference: t.reference(),
        title: t.title.clone(),
        plot: format!("{} · Plot {}", t.scheme_name, t.plot_number),
        plot_id: t.plot_id,
        status_label: status.label(),
        status_class: status.badge_class(),
        priority_label: priority.label(),
        priority_class: priority.badge_class(),
        category: t.category.label(),
        nominated: t.nominated_name.clone().unwrap_or_default(),
        due: t.due_at.map(when).unwrap_or_default(),
        due_label: due_state.label(),
        due_class: due_state.badge_class(),
        reported: when(t.reported_at),
        is_complaint: t.is_complaint,
    }
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<ListPage> {
    let params = ListParams::read(pairs);
    let filter = params.filter().map_err(AppError::BadRequest)?;
    // The list's statement holds only the filters chosen, so it can keep one plan per
    // connection; a search is planned for its words (how many tickets each one matches).
    let mut tx = if filter.has_search() {
        user.begin(&state).await?
    } else {
        user.begin_reusing_plans(&state).await?
    };
    let scope = policy::ticket_scope(&mut tx, &user).await?;
    let mut found = db::tickets::list(&mut tx, &scope, &filter, PAGE_SIZE as i64 + 1).await?;
    let db::tickets::ListExtras { counts, sla, menus } =
        db::tickets::list_extras(&mut tx, &scope, &filter).await?;
    tx.commit().await?;

    let more = found.len() > PAGE_SIZE;
    found.truncate(PAGE_SIZE);
    let next = more
        .then(|| {
            found.last().map(|last| {
                params.link(&params.statuses, &Cursor::after(last, filter.sort).encode())
            })
        })
        .flatten();
    let first = (!params.after.is_empty()).then(|| params.link(&params.statuses, ""));
    let now = clock::now();
    let rows = found.iter().map(|t| summary_row(t, &sla, now)).collect();
    let total = counts.iter().map(|(_, n)| n).sum();
    let counts = counts
        .iter()
        .map(|(s, n)| StatusCount {
            label: s.label(),
            count: *n,
            href: params.link(&[s.as_str().to_owned()], ""),
            current: params.statuses.len() == 1 && params.statuses[0] == s.as_str(),
            value: s.as_str(),
        })
        .collect();
    let has_menus = menus.is_some();
    let menus = menus.unwrap_or_default();
    let choice = |list: Vec<db::users::Choice>, current: &str, prefix: &str| -> Vec<SelectOption> {
        list.into_iter()
            .map(|c| SelectOption::new(format!("{prefix}{}", c.id), c.name, current))
            .collect()
    };
    Ok(ListPage {
        chrome: user.chrome("Tickets").await?,
        rows,
        counts,
        total,
        all_href: params.link(&[], ""),
        q: params.q.clone(),
        plot: params.plot.clone(),
        from: params.from.clone(),
        to: params.to.clone(),
        overdue: params.overdue,
        show_record_filters: has_menus,
        schemes: choice(menus.schemes, &params.scheme, ""),
        contracts: choice(menus.contracts, &params.contract, ""),
        statuses: Status::ALL
            .iter()
            .map(|s| {
                (
                    SelectOption::new(s.as_str(), s.label(), ""),
                    params.statuses.iter().any(|v| v == s.as_str()),
                )
            })
            .collect(),
        priorities: options(
            Priority::ALL,
            Priority::as_str,
            Priority::label,
            &params.priority,
        ),
        categories: options(
            Category::ALL,
            Category::as_str,
            Category::label,
            &params.category,
        ),
        companies: choice(menus.companies, &params.nominated, "company:"),
        staff: choice(menus.staff, &params.nominated, "staff:"),
        complaint: vec![
            SelectOption::new("", "Any", &params.complaint),
            SelectOption::new("yes", "Complaints only", &params.complaint),
            SelectOption::new("no", "Not complaints", &params.complaint),
        ],
        sorts: TicketSort::ALL
            .iter()
            .map(|s| {
                SelectOption::new(
                    s.as_str(),
                    s.label(),
                    if params.sort.is_empty() {
                        "due"
                    } else {
                        &params.sort
                    },
                )
            })
            .collect(),
        next,
        first,
    })
}

// ---------------------------------------------------------------- the form (log and edit)

#[derive(Deserialize, Default, Clone)]
struct TicketForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    reported_by: String,
    #[serde(default)]
    reported_via: String,
    #[serde(default)]
    reported_at: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    is_complaint: String,
    #[serde(default)]
    complaint_received_on: String,
    #[serde(default)]
    internal_cost: String,
    /// The form's one-time key (logging only): a form sent twice logs one ticket.
    #[serde(default)]
    form_key: String,
}

const LOCAL_INPUT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]");

/// The value of a datetime-local input, in UK time.
fn local_input(t: OffsetDateTime) -> String {
    uk_time(t).format(LOCAL_INPUT).unwrap_or_default()
}

fn parse_local(input: &str) -> Option<OffsetDateTime> {
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
fn parse_cost(input: &str) -> std::result::Result<Option<String>, ()> {
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
    fn from_ticket(t: &Ticket) -> TicketForm {
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
    fn check(&self, errors: &mut FormErrors) -> Option<TicketFields> {
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
struct FormPage {
    chrome: Chrome,
    crumbs: Vec<Crumb>,
    heading: String,
    action: String,
    submit: &'static str,
    cancel: String,
    form: TicketForm,
    errors: FormErrors,
    categories: Vec<SelectOption>,
    locations: Vec<SelectOption>,
    vias: Vec<SelectOption>,
    priorities: Vec<SelectOption>,
    homeowners: Vec<SelectOption>,
    others: Vec<SelectOption>,
    show_cost: bool,
    targets: String,
}

impl FormPage {
    async fn build(
        tx: &mut TenantTx,
        user: &CurrentUser,
        plot_id: Uuid,
        crumbs: Vec<Crumb>,
        (heading, action, submit, cancel): (String, String, &'static str, String),
        form: TicketForm,
        errors: FormErrors,
    ) -> Result<FormPage> {
        let reporters = db::tickets::reporters(tx, plot_id).await?;
        let sla = db::sla::policy(tx).await?;
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
            form,
            errors,
        })
    }
}

fn plot_crumbs(plot: &Plot) -> Vec<Crumb> {
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

async fn loggable_plot(tx: &mut TenantTx, user: &CurrentUser, plot_id: &str) -> Result<Plot> {
    policy::may_log_tickets(user)?;
    let plot_id = parse_id(plot_id)?;
    let scope = policy::record_scope(tx, user).await?;
    db::plots::find(tx, &scope, plot_id)
        .await?
        .ok_or(AppError::NotFound)
}

fn new_labels(plot: &Plot) -> (String, String, &'static str, String) {
    (
        format!("Log a ticket on plot {}", plot.plot_number),
        format!("/plots/{}/tickets/new", plot.id),
        "Log ticket",
        format!("/plots/{}", plot.id),
    )
}

async fn new_form(
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
async fn check_reporter(
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

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(plot_id): Path<String>,
    Form(form): Form<TicketForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let plot = loggable_plot(&mut tx, &user, &plot_id).await?;
    let form_key = form.form_key.clone();
    let mut errors = FormErrors::default();
    let fields = form.check(&mut errors);
    if let Some(f) = &fields {
        check_reporter(&mut tx, plot.id, f, &mut errors).await?;
    }
    let Some(fields) = fields.filter(|_| errors.is_empty()) else {
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
    };
    let sla = db::sla::policy(&mut tx).await?;
    let due_at = db::sla::scheme_sla_enabled(&mut tx, plot.scheme_id)
        .await?
        .then(|| {
            clock::due_at(
                fields.reported_at,
                sla.target(fields.priority),
                Duration::ZERO,
            )
        });
    let place = PlotPlace {
        plot_id: plot.id,
        scheme_id: plot.scheme_id,
        contract_id: plot.contract_id,
    };
    let (id, number) = db::tickets::insert(&mut tx, place, &fields, due_at, user.id).await?;
    let reference = TicketRef(number).to_string();
    db::tickets::add_event(
        &mut tx,
        id,
        Some(user.id),
        "created",
        true,
        json!({ "summary": format!("Ticket {reference} logged"), "priority": fields.priority.as_str(), "reported_via": fields.reported_via }),
    )
    .await?;
    let changes = Changes::new()
        .set("reference", reference.clone())
        .set("plot_id", plot.id.to_string())
        .set("title", fields.title.clone())
        .set("category", fields.category.as_str())
        .set("priority", fields.priority.as_str())
        .set("reported_via", fields.reported_via.clone())
        .set("reported_at", fields.reported_at.to_string())
        .set("is_complaint", fields.is_complaint)
        .set("internal_cost", fields.internal_cost.clone());
    audit::record(
        &mut tx,
        &user.actor(),
        "ticket.created",
        "ticket",
        Some(id),
        changes,
    )
    .await?;
    let location = format!("/tickets/{id}");
    if let Some(key) = db::form_keys::parse(&form_key) {
        if let Some(earlier) = db::form_keys::claim(&mut tx, key, &location).await? {
            // Sent before and stored then: this copy is rolled back.
            return Ok(Redirect::to(&earlier).into_response());
        }
    }
    tx.commit().await?;
    user.flash("success", format!("Ticket {reference} logged."))
        .await?;
    Ok(Redirect::to(&location).into_response())
}

fn edit_labels(t: &Ticket) -> (String, String, &'static str, String) {
    (
        format!("Edit {}", t.reference()),
        format!("/tickets/{}/edit", t.id),
        "Save changes",
        format!("/tickets/{}", t.id),
    )
}

fn ticket_crumbs(t: &Ticket, subcontractor: bool) -> Vec<Crumb> {
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

async fn managed_ticket(tx: &mut TenantTx, user: &CurrentUser, id: &str) -> Result<Ticket> {
    let id = parse_id(id)?;
    let (scope, _) = reach(tx, user, id).await?;
    policy::may_manage_tickets(user)?;
    db::tickets::find(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn edit_form(
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

/// One field's change, as the timeline and the audit trail show it.
struct FieldChange {
    key: &'static str,
    label: &'static str,
    before: String,
    after: String,
}

fn field_changes(
    t: &Ticket,
    f: &TicketFields,
    reporter_before: &str,
    reporter_after: &str,
) -> Vec<FieldChange> {
    let opt_label = |v: &str| {
        if v.is_empty() {
            "—".to_owned()
        } else {
            Location::label_of(v).to_owned()
        }
    };
    let date = |d: Option<Date>| d.map(long_date).unwrap_or_else(|| "—".into());
    let cost = |c: Option<&str>| c.map(|c| format!("£{c}")).unwrap_or_else(|| "—".into());
    let yes_no = |b: bool| if b { "Yes".to_owned() } else { "No".to_owned() };
    let all = [
        ("title", "Title", t.title.clone(), f.title.clone()),
        (
            "description",
            "Description",
            t.description.clone(),
            f.description.clone(),
        ),
        (
            "category",
            "Category",
            t.category.label().to_owned(),
            f.category.label().to_owned(),
        ),
        (
            "location",
            "Location",
            opt_label(&t.location),
            opt_label(&f.location),
        ),
        (
            "reported_by",
            "Reported by",
            reporter_before.to_owned(),
            reporter_after.to_owned(),
        ),
        (
            "reported_via",
            "Reported via",
            t.reported_via.label().to_owned(),
            ReportedVia::label_of(&f.reported_via).to_owned(),
        ),
        (
            "reported_at",
            "Reported at",
            when(t.reported_at),
            when(f.reported_at),
        ),
        (
            "priority",
            "Priority",
            t.priority().label().to_owned(),
            f.priority.label().to_owned(),
        ),
        (
            "is_complaint",
            "Complaint",
            yes_no(t.is_complaint),
            yes_no(f.is_complaint),
        ),
        (
            "complaint_received_on",
            "Complaint received",
            date(t.complaint_received_on),
            date(f.complaint_received_on),
        ),
        (
            "internal_cost",
            "Internal cost",
            cost(t.internal_cost.as_deref()),
            cost(f.internal_cost.as_deref()),
        ),
    ];
    all.into_iter()
        .filter(|(_, _, b, a)| b != a)
        .map(|(key, label, before, after)| FieldChange {
            key,
            label,
            before,
            after,
        })
        .collect()
}

async fn update(
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
    let reporter_after = match fields.reported_by_contact_id {
        Some(c) if Some(c) == t.reported_by_contact_id => {
            t.reported_by_name.clone().unwrap_or_default()
        }
        Some(c) => db::tickets::reporters(&mut tx, t.plot_id)
            .await?
            .into_iter()
            .find(|r| r.id == c)
            .map(|r| r.name)
            .unwrap_or_else(|| "Another contact".into()),
        None => "—".into(),
    };
    let reporter_before = t.reported_by_name.clone().unwrap_or_else(|| "—".into());
    let changes = field_changes(&t, &fields, &reporter_before, &reporter_after);
    if changes.is_empty() {
        tx.commit().await?;
        user.flash("info", "Nothing was changed.").await?;
        return Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response());
    }
    // A new priority or report time moves the due time; time already spent On Hold still counts.
    let mut due_at = t.due_at;
    if t.due_at.is_some()
        && (fields.priority != t.priority() || fields.reported_at != t.reported_at)
    {
        let sla = db::sla::policy(&mut tx).await?;
        let held = db::tickets::held_so_far(&mut tx, t.id).await?;
        due_at = Some(clock::due_at(
            fields.reported_at,
            sla.target(fields.priority),
            held,
        ));
    }
    db::tickets::update_fields(&mut tx, t.id, &fields, due_at).await?;

    let entry = |c: &FieldChange| json!({ "field": c.label, "before": c.before, "after": c.after });
    let (internal, shared): (Vec<&FieldChange>, Vec<&FieldChange>) =
        changes.iter().partition(|c| c.key == "internal_cost");
    if !shared.is_empty() {
        let list: Vec<Value> = shared.iter().map(|c| entry(c)).collect();
        db::tickets::add_event(
            &mut tx,
            t.id,
            Some(user.id),
            "fields_changed",
            true,
            json!({ "changes": list }),
        )
        .await?;
    }
    if !internal.is_empty() {
        let list: Vec<Value> = internal.iter().map(|c| entry(c)).collect();
        db::tickets::add_event(
            &mut tx,
            t.id,
            Some(user.id),
            "fields_changed",
            false,
            json!({ "changes": list }),
        )
        .await?;
    }
    let mut audit_changes = Changes::new();
    for c in &changes {
        audit_changes = audit_changes.field(c.key, c.before.clone(), c.after.clone());
    }
    if due_at != t.due_at {
        audit_changes = audit_changes.field(
            "due_at",
            t.due_at.map(|d| d.to_string()),
            due_at.map(|d| d.to_string()),
        );
    }
    audit::record(
        &mut tx,
        &user.actor(),
        "ticket.updated",
        "ticket",
        Some(t.id),
        audit_changes,
    )
    .await?;
    tx.commit().await?;
    user.flash("success", format!("{} saved.", t.reference()))
        .await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response())
}

// ---------------------------------------------------------------- the ticket page

struct Transition {
    to: &'static str,
    label: &'static str,
    needs_resolution: bool,
    needs_reason: bool,
    reopens: bool,
}

struct StageView {
    key: &'static str,
    label: &'static str,
    due: String,
    done_on: String,
    is_next: bool,
    overdue: bool,
}

struct ComplaintView {
    received: String,
    start: String,
    next: Option<String>,
    stages: Vec<StageView>,
}

/// One entry of the timeline, ready to show.
pub(crate) struct TimelineItem {
    when: String,
    who: String,
    headline: String,
    details: Vec<String>,
    internal: bool,
}

fn text(data: &Value, key: &str) -> Option<String> {
    data.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn timeline_item(e: &Event) -> TimelineItem {
    let d = &e.data;
    let status = |k: &str| text(d, k).map(|s| Status::label_of(&s)).unwrap_or("—");
    let mut details = Vec::new();
    let headline = match e.kind.as_str() {
        "status_changed" | "reopened" => {
            if let Some(r) = text(d, "resolution") {
                details.push(format!("Resolution: {r}"));
            }
            if let Some(r) = text(d, "reason") {
                details.push(format!("Reason: {}", AbortiveReason::label_of(&r)));
            }
            if let Some(n) = text(d, "note") {
                details.push(n);
            }
            if let Some(s) = d.get("held_seconds").and_then(Value::as_i64) {
                details.push(format!(
                    "Clock restarted after {} on hold.",
                    span(Duration::seconds(s))
                ));
            }
            if e.kind == "reopened" {
                format!("Reopened (was {})", status("from").to_lowercase())
            } else {
                format!("Status changed: {} → {}", status("from"), status("to"))
            }
        }
        "fields_changed" => {
            for c in d
                .get("changes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let get = |k| c.get(k).and_then(Value::as_str).unwrap_or("");
                details.push(format!(
                    "{}: {} → {}",
                    get("field"),
                    get("before"),
                    get("after")
                ));
            }
            "Details changed".to_owned()
        }
        "complaint_stage" => {
            let stage = text(d, "stage")
                .map(|s| ComplaintStage::label_of(&s))
                .unwrap_or("Complaint stage");
            let on = text(d, "done_on")
                .and_then(|s| Date::parse(&s, format_description!("[year]-[month]-[day]")).ok());
            format!(
                "{stage} done{}",
                on.map(|d| format!(" on {}", long_date(d)))
                    .unwrap_or_default()
            )
        }
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
        internal: !e.shared,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "tickets/show.html")]
struct TicketPage {
    chrome: Chrome,
    crumbs: Vec<Crumb>,
    ticket: Ticket,
    reference: String,
    address: Vec<String>,
    status_label: &'static str,
    status_class: &'static str,
    priority_label: &'static str,
    priority_class: &'static str,
    category: &'static str,
    location: &'static str,
    reported_via: &'static str,
    reported_at: String,
    reported_by: String,
    nominated: String,
    due: String,
    due_label: &'static str,
    due_class: &'static str,
    target: String,
    abortive_reason: String,
    closed_at: String,
    show_cost: bool,
    cost: String,
    can_manage: bool,
    is_subcontractor: bool,
    transitions: Vec<Transition>,
    reasons: Vec<SelectOption>,
    complaint: Option<ComplaintView>,
    timeline: Vec<TimelineItem>,
    errors: FormErrors,
    today: String,
    nominations: nominations::Section,
    appointments: appointments::Section,
    comments: comments::Section,
    files: files::Section,
    /// The inspection this ticket was raised from: (link, title, item).
    raised_from: Option<(String, String, String)>,
}

async fn ticket_page(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: Uuid,
    errors: FormErrors,
) -> Result<TicketPage> {
    let (scope, header) = reach(tx, user, id).await?;
    let t = db::tickets::find(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let subcontractor = scope.is_subcontractor();
    let can_manage = policy::may_manage_tickets(user).is_ok();
    let sla = db::sla::policy(tx).await?;
    let now = clock::now();
    let status = t.status();
    let priority = t.priority();
    let due_state = DueState::of(status, t.due_at, t.on_hold_since, sla.target(priority), now);
    let complaint = if t.is_complaint
        && let Some(received) = t.complaint_received_on
    {
        let holidays = db::sla::holiday_days(tx).await?;
        let done = db::tickets::complaint_stages(tx, t.id).await?;
        let start = clock::complaint_start(received, &holidays);
        let done_stages: Vec<ComplaintStage> = done.iter().map(|(s, _)| *s).collect();
        let next = clock::next_stage(start, &done_stages);
        let today = clock::uk_date(now);
        Some(ComplaintView {
            received: long_date(received),
            start: long_date(start),
            next: next.map(|(s, d)| format!("{} due {}", s.label(), long_date(d))),
            stages: ComplaintStage::ALL
                .iter()
                .map(|s| {
                    let due = clock::stage_due(start, *s);
                    let done_on = done
                        .iter()
                        .find(|(d, _)| d == s)
                        .map(|(_, d)| long_date(*d))
                        .unwrap_or_default();
                    StageView {
                        key: s.as_str(),
                        label: s.label(),
                        due: long_date(due),
                        is_next: next.is_some_and(|(n, _)| n == *s),
                        overdue: done_on.is_empty() && due < today,
                        done_on,
                    }
                })
                .collect(),
        })
    } else {
        None
    };
    let events = db::tickets::events(tx, t.id, subcontractor).await?;
    let nominations = nominations::Section::load(tx, user, &scope, &header).await?;
    let appointments = appointments::Section::load(tx, user, &scope, &header).await?;
    let comments = comments::Section::load(tx, user, &scope, &header).await?;
    let files = files::Section::load(tx, user, &scope, &header).await?;
    let raised_from = match subcontractor {
        true => None,
        false => db::inspections::for_ticket(tx, t.id)
            .await?
            .map(|s| (s.href(), s.title(), s.item_label())),
    };

    let address = [&t.address_line1, &t.address_line2, &t.town, &t.postcode]
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .cloned()
        .collect();
    let transitions = if can_manage {
        status
            .next()
            .into_iter()
            .map(|to| Transition {
                to: to.as_str(),
                label: if status.is_reopening(to) {
                    "Reopen ticket"
                } else {
                    to.action_label()
                },
                needs_resolution: to == Status::Closed,
                needs_reason: to == Status::AbortiveVisit,
                reopens: status.is_reopening(to),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(TicketPage {
        chrome: user
            .chrome(format!("{} {}", t.reference(), t.title))
            .await?,
        crumbs: {
            let mut c = ticket_crumbs(&t, subcontractor);
            c.pop();
            c.push(Crumb::here(t.reference()));
            c
        },
        reference: t.reference(),
        address,
        status_label: status.label(),
        status_class: status.badge_class(),
        priority_label: priority.label(),
        priority_class: priority.badge_class(),
        category: t.category.label(),
        location: if t.location.is_empty() {
            ""
        } else {
            Location::label_of(&t.location)
        },
        reported_via: t.reported_via.label(),
        reported_at: when(t.reported_at),
        reported_by: t.reported_by_name.clone().unwrap_or_default(),
        nominated: t
            .nominated_company_name
            .clone()
            .or_else(|| t.nominated_user_name.clone())
            .unwrap_or_default(),
        due: t.due_at.map(when).unwrap_or_default(),
        due_label: due_state.label(),
        due_class: due_state.badge_class(),
        target: span(sla.target(priority)),
        abortive_reason: t
            .abortive_reason
            .as_deref()
            .map(AbortiveReason::label_of)
            .unwrap_or_default()
            .to_owned(),
        closed_at: t.closed_at.map(when).unwrap_or_default(),
        show_cost: !subcontractor,
        cost: if subcontractor {
            String::new()
        } else {
            t.internal_cost
                .as_deref()
                .map(|c| format!("£{c}"))
                .unwrap_or_default()
        },
        can_manage,
        is_subcontractor: subcontractor,
        transitions,
        reasons: options(
            AbortiveReason::ALL,
            AbortiveReason::as_str,
            AbortiveReason::label,
            "",
        ),
        complaint,
        timeline: events.iter().map(timeline_item).collect(),
        errors,
        today: clock::uk_date(now).to_string(),
        nominations,
        appointments,
        comments,
        files,
        ticket: t,
        raised_from,
    })
}

async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    // A subcontractor's view of a ticket is the portal's job page.
    if user.role == crate::domain::Role::Subcontractor {
        return super::portal::job_response(&state, &user, &id).await;
    }
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let page = ticket_page(&mut tx, &user, id, FormErrors::default()).await?;
    tx.commit().await?;
    Ok(page.into_response())
}

// ---------------------------------------------------------------- status changes

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    to: String,
    #[serde(default)]
    resolution: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

/// The ticket page again with the problem shown: 422.
async fn refuse(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: Uuid,
    field: &'static str,
    message: String,
) -> Result<Response> {
    let mut errors = FormErrors::default();
    errors.add(field, message);
    let page = ticket_page(tx, user, id, errors).await?;
    Ok(unprocessable(page))
}

async fn change_status(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let t = managed_ticket(&mut tx, &user, &id).await?;
    let from = t.status();
    let Some(to) = Status::parse(form.to.trim()) else {
        return refuse(
            &mut tx,
            &user,
            t.id,
            "status",
            "Choose a status from the ticket page.".into(),
        )
        .await;
    };
    if let Some(why) = transition_refusal(from, to) {
        return refuse(&mut tx, &user, t.id, "status", why).await;
    }
    let mut errors = FormErrors::default();
    let resolution = errors.long_text("resolution", &form.resolution, 5000, None);
    let note = errors.long_text("note", &form.note, 5000, None);
    if let Some(e) = errors.0.into_iter().next() {
        return refuse(&mut tx, &user, t.id, e.field, e.message).await;
    }
    let reason = AbortiveReason::parse(form.reason.trim());
    if to == Status::Closed && resolution.is_empty() {
        return refuse(
            &mut tx,
            &user,
            t.id,
            "resolution",
            "Say how the defect was resolved before closing the ticket.".into(),
        )
        .await;
    }
    if to == Status::AbortiveVisit && reason.is_none() {
        return refuse(
            &mut tx,
            &user,
            t.id,
            "reason",
            "Choose why the visit was abortive.".into(),
        )
        .await;
    }

    let now = clock::now();
    let mut due_at = t.due_at;
    let mut on_hold_since = t.on_hold_since;
    let mut held = None;
    if let Some(since) = t.on_hold_since
        && to != Status::OnHold
    {
        let (due, h) = clock::resume(t.due_at, since, now);
        due_at = due;
        on_hold_since = None;
        held = Some(h);
    }
    if to == Status::OnHold {
        on_hold_since = Some(now);
    }
    let update = StatusUpdate {
        status: to,
        abortive_reason: (to == Status::AbortiveVisit)
            .then(|| reason.map(|r| r.as_str().to_owned()))
            .flatten(),
        abortive_note: (to == Status::AbortiveVisit && !note.is_empty()).then(|| note.clone()),
        resolution: (to == Status::Closed).then(|| resolution.clone()),
        due_at,
        on_hold_since,
        closed_at: (to == Status::Closed).then_some(now),
    };
    db::tickets::set_status(&mut tx, t.id, &update).await?;

    let reopens = from.is_reopening(to);
    let mut data = json!({ "from": from.as_str(), "to": to.as_str() });
    let mut changes = Changes::new().field("status", from.as_str(), to.as_str());
    if to == Status::Closed {
        data["resolution"] = json!(resolution);
        changes = changes.note("resolution", resolution.clone());
    }
    if let Some(r) = update.abortive_reason.as_deref() {
        data["reason"] = json!(r);
        changes = changes.note("reason", r);
    }
    if to == Status::AbortiveVisit && !note.is_empty() {
        data["note"] = json!(note);
    }
    if let Some(h) = held {
        data["held_seconds"] = json!(h.whole_seconds());
        changes = changes.field(
            "due_at",
            t.due_at.map(|d| d.to_string()),
            due_at.map(|d| d.to_string()),
        );
    }
    let kind = if reopens {
        "reopened"
    } else {
        "status_changed"
    };
    db::tickets::add_event(&mut tx, t.id, Some(user.id), kind, true, data).await?;
    let action = if reopens {
        "ticket.reopened"
    } else {
        "ticket.status_changed"
    };
    audit::record(
        &mut tx,
        &user.actor(),
        action,
        "ticket",
        Some(t.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    let message = if reopens {
        format!("{} reopened.", t.reference())
    } else {
        format!("{} is now {}.", t.reference(), to.label().to_lowercase())
    };
    user.flash("success", message).await?;
    Ok(Redirect::to(&format!("/tickets/{}", t.id)).into_response())
}

// ---------------------------------------------------------------- complaint stages

#[derive(Deserialize)]
struct StageForm {
    #[serde(default)]
    stage: String,
    #[serde(default)]
    done_on: String,
}

async fn mark_stage(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<StageForm>,
) -> Result<Response> {
    let mut tx = user.begin(&state).await?;
    let t = managed_ticket(&mut tx, &user, &id).await?;
    if !t.is_complaint {
        return refuse(
            &mut tx,
            &user,
            t.id,
            "stage",
            "This ticket is not flagged as a complaint.".into(),
        )
        .await;
    }
    let Some(stage) = ComplaintStage::parse(form.stage.trim()) else {
        return refuse(
            &mut tx,
            &user,
            t.id,
            "stage",
            "Choose a complaint stage from the list.".into(),
        )
        .await;
    };
    let done_on = match parse_optional_date("done_on", &form.done_on) {
        Ok(Some(d)) if d > clock::today() => {
            return refuse(
                &mut tx,
                &user,
                t.id,
                "done_on",
                "The date a stage was done cannot be in the future.".into(),
            )
            .await;
        }
        Ok(Some(d)) => d,
        _ => {
            return refuse(
                &mut tx,
                &user,
                t.id,
                "done_on",
                "Enter the date the stage was done, like 2025-03-31.".into(),
            )
            .await;
        }
    };
    let before = db::tickets::mark_stage(&mut tx, t.id, stage, done_on, user.id).await?;
    db::tickets::add_event(
        &mut tx,
        t.id,
        Some(user.id),
        "complaint_stage",
        false,
        json!({ "stage": stage.as_str(), "done_on": done_on.to_string() }),
    )
    .await?;
    let changes = Changes::new().note("stage", stage.as_str()).field(
        "done_on",
        before.map(|d| d.to_string()),
        done_on.to_string(),
    );
    audit::record(
        &mut tx,
        &user.actor(),
        "ticket.complaint_stage_done",
        "ticket",
        Some(t.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!("{} marked done on {}.", stage.label(), long_date(done_on)),
    )
    .await?;
    Ok(Redirect::to(&format!("/tickets/{}#complaint", t.id)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_are_read_as_pounds_and_pence() {
        assert_eq!(parse_cost(""), Ok(None));
        assert_eq!(parse_cost("£1,200"), Ok(Some("1200.00".into())));
        assert_eq!(parse_cost("99.5"), Ok(Some("99.50".into())));
        assert_eq!(parse_cost("0.07"), Ok(Some("0.07".into())));
        for bad in ["-5", "1.234", "abc", "12.", ".5", "1e3"] {
            assert_eq!(parse_cost(bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(Duration::hours(12)), "12 hours");
        assert_eq!(span(Duration::days(1)), "1 day");
        assert_eq!(span(Duration::hours(28)), "1 day 4 hours");
        assert_eq!(span(Duration::minutes(90)), "1 hour 30 minutes");
    }

    #[test]
    fn report_times_are_read_in_uk_time() {
        assert_eq!(
            parse_local("2025-07-10T13:00"),
            Some(time::macros::datetime!(2025-07-10 12:00 UTC))
        );
        assert_eq!(
            parse_local("2025-01-10T13:00:00"),
            Some(time::macros::datetime!(2025-01-10 13:00 UTC))
        );
        assert_eq!(parse_local("yesterday"), None);
    }
}
