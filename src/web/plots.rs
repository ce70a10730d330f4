//! Plots: the list (search by plot number, postcode, address or homeowner; filters;
//! keyset pages), the plot page with its homeowners over time, create, edit and archive.

use crate::domain::clock::today;
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
use uuid::Uuid;

use super::{
    contracts::{PlotItem, contract_crumbs},
    schemes::{
        Crumb, PAGE_SIZE, SelectOption, cursor, date_value, diff, non_empty, number_field,
        optional_id, parse_after, parse_id, query_string, unprocessable,
    },
};
use crate::web::query::Query;
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, TenantTx, policy},
    db::{
        self,
        audit::{self, Changes},
        contracts::Contract,
        plots::{ArchivedFilter, Ownership, Plot, PlotFilter, PlotInput, PlotSort},
        users::Choice,
    },
    domain::{Email, FormErrors, Postcode, WarrantyStatus, long_date, parse_optional_date},
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/plots", get(list))
        .route("/contracts/{id}/plots/new", get(new_form).post(create))
        .route("/plots/{id}", get(show))
        .route("/plots/{id}/edit", get(edit_form).post(update))
        .route("/plots/{id}/archive", post(archive))
        .route("/plots/{id}/restore", post(restore))
        .route("/plots/{id}/homeowners", post(add_homeowner))
        .route(
            "/plots/{id}/homeowners/{ownership}/end",
            post(end_homeowner),
        )
}

// ---------------------------------------------------------------- the list

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    scheme: String,
    #[serde(default)]
    contract: String,
    #[serde(default)]
    warranty: String,
    #[serde(default)]
    archived: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
}

struct ListItem {
    plot: PlotItem,
    scheme_name: String,
    contract_name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "plots/list.html")]
struct ListPage {
    chrome: Chrome,
    q: String,
    schemes: Vec<SelectOption>,
    contracts: Vec<SelectOption>,
    warranties: Vec<SelectOption>,
    archived: Vec<SelectOption>,
    sorts: Vec<SelectOption>,
    plots: Vec<ListItem>,
    next: Option<String>,
    first: Option<String>,
}

fn options(all_label: &str, choices: Vec<Choice>, current: &str) -> Vec<SelectOption> {
    let mut options = vec![SelectOption::new("", all_label, current)];
    options.extend(
        choices
            .into_iter()
            .map(|c| SelectOption::new(c.id.to_string(), c.name, current)),
    );
    options
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<ListPage> {
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let warranty = WarrantyStatus::parse(&query.warranty);
    let archived = ArchivedFilter::parse(&query.archived);
    let sort = PlotSort::parse(&query.sort);
    let filter = PlotFilter {
        search: non_empty(&query.q),
        scheme_id: optional_id(&query.scheme)?,
        contract_id: optional_id(&query.contract)?,
        warranty,
        archived,
        sort,
        after: parse_after(&query.after)?,
        today: today(),
    };
    let mut rows = db::plots::list(&mut tx, &scope, &filter, PAGE_SIZE as i64 + 1).await?;
    let schemes = db::schemes::choices(&mut tx, &scope).await?;
    let contracts = db::contracts::choices(&mut tx, &scope).await?;
    tx.commit().await?;

    let page_query = |after: &str| {
        query_string(
            "/plots",
            &[
                ("q", query.q.trim()),
                ("scheme", &query.scheme),
                ("contract", &query.contract),
                ("warranty", &query.warranty),
                ("archived", &query.archived),
                ("sort", &query.sort),
                ("after", after),
            ],
        )
    };
    let next = if rows.len() > PAGE_SIZE {
        rows.truncate(PAGE_SIZE);
        rows.last().map(|r| page_query(&cursor(&r.sort_key, r.id)))
    } else {
        None
    };
    let first = filter.after.is_some().then(|| page_query(""));
    let warranty_now = warranty.map_or("", WarrantyStatus::as_str);
    let mut warranties = vec![SelectOption::new("", "Any", warranty_now)];
    warranties.extend(
        WarrantyStatus::ALL
            .iter()
            .map(|w| SelectOption::new(w.as_str(), w.label(), warranty_now)),
    );
    Ok(ListPage {
        chrome: user.chrome("Plots").await?,
        q: query.q.trim().to_owned(),
        schemes: options("Every scheme", schemes, &query.scheme),
        contracts: options("Every contract", contracts, &query.contract),
        warranties,
        archived: ArchivedFilter::ALL
            .iter()
            .map(|a| SelectOption::new(a.as_str(), a.label(), archived.as_str()))
            .collect(),
        sorts: PlotSort::ALL
            .iter()
            .map(|s| SelectOption::new(s.as_str(), s.label(), sort.as_str()))
            .collect(),
        plots: rows
            .into_iter()
            .map(|r| {
                let scheme_name = r.scheme_name.clone();
                let contract_name = r.contract_name.clone();
                ListItem {
                    plot: PlotItem::from(r),
                    scheme_name,
                    contract_name,
                }
            })
            .collect(),
        next,
        first,
    })
}

// ---------------------------------------------------------------- the plot page

struct OwnerItem {
    id: Uuid,
    name: String,
    phone: String,
    email: String,
    from: String,
    to: String,
}

impl From<&Ownership> for OwnerItem {
    fn from(o: &Ownership) -> Self {
        OwnerItem {
            id: o.id,
            name: o.name.clone(),
            phone: o.phone.clone().unwrap_or_default(),
            email: o.email.clone().unwrap_or_default(),
            from: o
                .from_date
                .map(long_date)
                .unwrap_or_else(|| "Not recorded".into()),
            to: o.to_date.map(long_date).unwrap_or_default(),
        }
    }
}

#[derive(Deserialize, Default)]
struct OwnerForm {
    #[serde(default)]
    contact_id: String,
    #[serde(default)]
    new_name: String,
    #[serde(default)]
    new_phone: String,
    #[serde(default)]
    new_email: String,
    #[serde(default)]
    from_date: String,
    #[serde(default)]
    to_date: String,
}

#[derive(Deserialize, Default)]
struct EndForm {
    #[serde(default)]
    to_date: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "plots/show.html")]
struct ShowPage {
    chrome: Chrome,
    crumbs: Vec<Crumb>,
    plot: Plot,
    address: Vec<String>,
    bedrooms: String,
    reservation: String,
    completion: String,
    warranty_end: String,
    badge: &'static str,
    badge_class: &'static str,
    current_owners: Vec<OwnerItem>,
    past_owners: Vec<OwnerItem>,
    homeowner_choices: Vec<SelectOption>,
    owner_form: OwnerForm,
    errors: FormErrors,
    can_edit: bool,
    tickets: Vec<PlotTicket>,
    can_log_ticket: bool,
    appointments: Vec<PlotAppointmentItem>,
    inspections: crate::web::inspections::PlotSection,
}

/// A ticket as the plot page lists it.
struct PlotTicket {
    id: Uuid,
    reference: String,
    title: String,
    status: &'static str,
    status_class: &'static str,
    priority: &'static str,
    reported: String,
}

/// An upcoming appointment as the plot page lists it.
struct PlotAppointmentItem {
    ticket_id: Uuid,
    reference: String,
    title: String,
    day: String,
    window: String,
    with_whom: String,
}

const HOUR_MINUTE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[hour]:[minute]");

fn plot_crumbs(p: &Plot) -> Vec<Crumb> {
    vec![
        Crumb::link("/schemes", "Schemes"),
        Crumb::link(format!("/schemes/{}", p.scheme_id), p.scheme_name.clone()),
        Crumb::link(
            format!("/contracts/{}", p.contract_id),
            p.contract_name.clone(),
        ),
    ]
}

/// The plot page, with the homeowner form as given and its problems (if any).
async fn show_page(
    tx: &mut TenantTx,
    user: &CurrentUser,
    plot: Plot,
    owner_form: OwnerForm,
    errors: FormErrors,
) -> Result<ShowPage> {
    let today = today();
    let owners = db::plots::homeowners(tx, plot.id).await?;
    let choices = db::plots::homeowner_choices(tx).await?;
    let (status, end) = WarrantyStatus::of(plot.completion_date, plot.warranty_months, today);
    let (current, past): (Vec<&Ownership>, Vec<&Ownership>) = owners
        .iter()
        .partition(|o| o.to_date.is_none_or(|t| t > today));
    let mut homeowner_choices = vec![SelectOption::new(
        "",
        "Choose a homeowner",
        &owner_form.contact_id,
    )];
    homeowner_choices.extend(
        choices
            .into_iter()
            .map(|c| SelectOption::new(c.id.to_string(), c.name, &owner_form.contact_id)),
    );
    let mut crumbs = plot_crumbs(&plot);
    crumbs.push(Crumb::here(format!("Plot {}", plot.plot_number)));
    let scope = policy::record_scope(tx, user).await?;
    let tickets = db::tickets::for_plot(
        tx,
        &policy::TicketScope::Schemes(scope.clone()),
        plot.id,
        100,
    )
    .await?
    .into_iter()
    .map(|t| PlotTicket {
        id: t.id,
        reference: t.reference(),
        status: t.status().label(),
        status_class: t.status().badge_class(),
        priority: t.priority().label(),
        reported: long_date(t.reported_at.date()),
        title: t.title,
    })
    .collect();
    let appointments = db::appointments::upcoming_for_plot(tx, plot.id, today, 20)
        .await?
        .into_iter()
        .map(|a| PlotAppointmentItem {
            ticket_id: a.ticket_id,
            reference: a.reference(),
            day: long_date(a.day),
            window: format!(
                "{}–{}",
                a.window_start.format(&HOUR_MINUTE).unwrap_or_default(),
                a.window_end.format(&HOUR_MINUTE).unwrap_or_default()
            ),
            with_whom: a.with_whom,
            title: a.ticket_title,
        })
        .collect();
    let inspections = crate::web::inspections::PlotSection::load(tx, user, &scope, plot.id).await?;
    let address = [
        &plot.address_line1,
        &plot.address_line2,
        &plot.town,
        &plot.postcode,
    ]
    .into_iter()
    .filter(|s| !s.is_empty())
    .cloned()
    .collect();
    Ok(ShowPage {
        chrome: user
            .chrome(format!("Plot {}, {}", plot.plot_number, plot.scheme_name))
            .await?,
        crumbs,
        address,
        bedrooms: plot.bedrooms.map(|b| b.to_string()).unwrap_or_default(),
        reservation: plot
            .reservation_date
            .map(long_date)
            .unwrap_or_else(|| "Not recorded".into()),
        completion: plot
            .completion_date
            .map(long_date)
            .unwrap_or_else(|| "Not handed over yet".into()),
        warranty_end: end.map(long_date).unwrap_or_default(),
        badge: status.label(),
        badge_class: status.badge_class(),
        current_owners: current.into_iter().map(OwnerItem::from).collect(),
        past_owners: past.into_iter().map(OwnerItem::from).collect(),
        homeowner_choices,
        owner_form,
        errors,
        can_edit: policy::may_edit_records(user).is_ok(),
        tickets,
        can_log_ticket: policy::may_log_tickets(user).is_ok(),
        appointments,
        inspections,
        plot,
    })
}

async fn load(tx: &mut TenantTx, user: &CurrentUser, id: &str) -> Result<Plot> {
    let id = parse_id(id)?;
    let scope = policy::record_scope(tx, user).await?;
    db::plots::find(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<ShowPage> {
    let mut tx = user.begin(&state).await?;
    let plot = load(&mut tx, &user, &id).await?;
    let page = show_page(
        &mut tx,
        &user,
        plot,
        OwnerForm::default(),
        FormErrors::default(),
    )
    .await?;
    tx.commit().await?;
    Ok(page)
}

// ---------------------------------------------------------------- homeowners

async fn add_homeowner(
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

async fn end_homeowner(
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

// ---------------------------------------------------------------- create and edit

#[derive(Deserialize, Default)]
struct PlotForm {
    #[serde(default)]
    plot_number: String,
    #[serde(default)]
    address_line1: String,
    #[serde(default)]
    address_line2: String,
    #[serde(default)]
    town: String,
    #[serde(default)]
    postcode: String,
    #[serde(default)]
    house_type: String,
    #[serde(default)]
    bedrooms: String,
    #[serde(default)]
    reservation_date: String,
    #[serde(default)]
    completion_date: String,
    #[serde(default)]
    access_notes: String,
}

impl PlotForm {
    fn from_plot(p: &Plot) -> Self {
        PlotForm {
            plot_number: p.plot_number.clone(),
            address_line1: p.address_line1.clone(),
            address_line2: p.address_line2.clone(),
            town: p.town.clone(),
            postcode: p.postcode.clone(),
            house_type: p.house_type.clone(),
            bedrooms: p.bedrooms.map(|b| b.to_string()).unwrap_or_default(),
            reservation_date: p
                .reservation_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            completion_date: p.completion_date.map(|d| d.to_string()).unwrap_or_default(),
            access_notes: p.access_notes.clone(),
        }
    }

    fn check(&self) -> std::result::Result<PlotInput, FormErrors> {
        let mut errors = FormErrors::default();
        let plot_number = errors.text(
            "plot_number",
            &self.plot_number,
            20,
            Some("the plot number"),
        );
        let address_line1 = errors.text("address_line1", &self.address_line1, 200, None);
        let address_line2 = errors.text("address_line2", &self.address_line2, 200, None);
        let town = errors.text("town", &self.town, 100, None);
        let postcode = match self.postcode.trim() {
            "" => String::new(),
            raw => errors
                .check(Postcode::parse("postcode", raw))
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
        };
        let house_type = errors.text("house_type", &self.house_type, 100, None);
        let bedrooms = number_field(&mut errors, "bedrooms", &self.bedrooms, 0, 20);
        let reservation_date = errors
            .check(parse_optional_date(
                "reservation_date",
                &self.reservation_date,
            ))
            .flatten();
        let completion_date = errors
            .check(parse_optional_date(
                "completion_date",
                &self.completion_date,
            ))
            .flatten();
        if let (Some(r), Some(c)) = (reservation_date, completion_date)
            && c < r
        {
            errors.add(
                "completion_date",
                format!(
                    "The completion date can't be before the reservation date ({})",
                    long_date(r)
                ),
            );
        }
        let access_notes = errors.long_text("access_notes", &self.access_notes, 2000, None);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PlotInput {
            plot_number,
            address_line1,
            address_line2,
            town,
            postcode,
            house_type,
            bedrooms,
            reservation_date,
            completion_date,
            access_notes,
        })
    }
}

fn plot_values(p: &Plot) -> Vec<(&'static str, Value)> {
    vec![
        ("plot_number", json!(p.plot_number)),
        ("address_line1", json!(p.address_line1)),
        ("address_line2", json!(p.address_line2)),
        ("town", json!(p.town)),
        ("postcode", json!(p.postcode)),
        ("house_type", json!(p.house_type)),
        ("bedrooms", json!(p.bedrooms)),
        ("reservation_date", date_value(p.reservation_date)),
        ("completion_date", date_value(p.completion_date)),
        ("access_notes", json!(p.access_notes)),
    ]
}

fn input_values(p: &PlotInput) -> Vec<(&'static str, Value)> {
    vec![
        ("plot_number", json!(p.plot_number)),
        ("address_line1", json!(p.address_line1)),
        ("address_line2", json!(p.address_line2)),
        ("town", json!(p.town)),
        ("postcode", json!(p.postcode)),
        ("house_type", json!(p.house_type)),
        ("bedrooms", json!(p.bedrooms)),
        ("reservation_date", date_value(p.reservation_date)),
        ("completion_date", date_value(p.completion_date)),
        ("access_notes", json!(p.access_notes)),
    ]
}

#[derive(Template, WebTemplate)]
#[template(path = "plots/form.html")]
struct FormPage {
    chrome: Chrome,
    crumbs: Vec<Crumb>,
    heading: String,
    action: String,
    cancel: String,
    form: PlotForm,
    errors: FormErrors,
}

enum Target<'a> {
    New(&'a Contract),
    Edit(&'a Plot),
}

async fn form_page(
    user: &CurrentUser,
    target: Target<'_>,
    form: PlotForm,
    errors: FormErrors,
) -> Result<FormPage> {
    let (heading, action, cancel, crumbs) = match target {
        Target::New(c) => {
            let mut crumbs = contract_crumbs(c);
            crumbs.push(Crumb::link(format!("/contracts/{}", c.id), c.name.clone()));
            crumbs.push(Crumb::here("New plot"));
            (
                format!("New plot in {}", c.name),
                format!("/contracts/{}/plots/new", c.id),
                format!("/contracts/{}", c.id),
                crumbs,
            )
        }
        Target::Edit(p) => {
            let mut crumbs = plot_crumbs(p);
            crumbs.push(Crumb::link(
                format!("/plots/{}", p.id),
                format!("Plot {}", p.plot_number),
            ));
            crumbs.push(Crumb::here("Edit"));
            (
                format!("Edit plot {}", p.plot_number),
                format!("/plots/{}/edit", p.id),
                format!("/plots/{}", p.id),
                crumbs,
            )
        }
    };
    Ok(FormPage {
        chrome: user.chrome(heading.clone()).await?,
        crumbs,
        heading,
        action,
        cancel,
        form,
        errors,
    })
}

fn number_taken(number: &str) -> FormErrors {
    let mut errors = FormErrors::default();
    errors.add(
        "plot_number",
        format!("Plot {number} already exists in this scheme. Use another number."),
    );
    errors
}

async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<FormPage> {
    policy::may_edit_records(&user)?;
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let contract = db::contracts::find(&mut tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    form_page(
        &user,
        Target::New(&contract),
        PlotForm::default(),
        FormErrors::default(),
    )
    .await
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<PlotForm>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let contract = db::contracts::find(&mut tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let input = match form.check() {
        Ok(input) => input,
        Err(errors) => {
            return Ok(unprocessable(
                form_page(&user, Target::New(&contract), form, errors).await?,
            ));
        }
    };
    let Some(plot_id) = db::plots::insert(&mut tx, contract.scheme_id, contract.id, &input).await?
    else {
        drop(tx);
        let errors = number_taken(&input.plot_number);
        return Ok(unprocessable(
            form_page(&user, Target::New(&contract), form, errors).await?,
        ));
    };
    let changes = diff(None, input_values(&input))
        .set("contract_id", contract.id.to_string())
        .set("scheme_id", contract.scheme_id.to_string());
    audit::record(
        &mut tx,
        &user.actor(),
        "plot.created",
        "plot",
        Some(plot_id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!("Plot {} added to {}.", input.plot_number, contract.name),
    )
    .await?;
    Ok(Redirect::to(&format!("/plots/{plot_id}")).into_response())
}

async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<FormPage> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let plot = load(&mut tx, &user, &id).await?;
    tx.commit().await?;
    form_page(
        &user,
        Target::Edit(&plot),
        PlotForm::from_plot(&plot),
        FormErrors::default(),
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<PlotForm>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let plot = load(&mut tx, &user, &id).await?;
    let input = match form.check() {
        Ok(input) => input,
        Err(errors) => {
            return Ok(unprocessable(
                form_page(&user, Target::Edit(&plot), form, errors).await?,
            ));
        }
    };
    if !db::plots::update(&mut tx, plot.id, &input).await? {
        drop(tx);
        let errors = number_taken(&input.plot_number);
        return Ok(unprocessable(
            form_page(&user, Target::Edit(&plot), form, errors).await?,
        ));
    }
    let changes = diff(Some(plot_values(&plot)), input_values(&input));
    audit::record(
        &mut tx,
        &user.actor(),
        "plot.updated",
        "plot",
        Some(plot.id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash("success", format!("Plot {} saved.", input.plot_number))
        .await?;
    Ok(Redirect::to(&format!("/plots/{}", plot.id)).into_response())
}

// ---------------------------------------------------------------- archive

async fn archive(state: State<AppState>, user: CurrentUser, id: Path<String>) -> Result<Response> {
    set_archived(state, user, id, true).await
}

async fn restore(state: State<AppState>, user: CurrentUser, id: Path<String>) -> Result<Response> {
    set_archived(state, user, id, false).await
}

async fn set_archived(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    archived: bool,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let plot = load(&mut tx, &user, &id).await?;
    // Archived once handed over and all its tickets are closed.
    if archived && plot.completion_date.is_none() {
        drop(tx);
        user.flash(
            "error",
            format!("Plot {} can't be archived until it has been handed over. Add its completion date first.", plot.plot_number),
        )
        .await?;
        return Ok(Redirect::to(&format!("/plots/{}", plot.id)).into_response());
    }
    if archived && db::plots::open_ticket_count(&mut tx, plot.id).await? > 0 {
        drop(tx);
        user.flash(
            "error",
            format!("Plot {} can't be archived while it has open tickets. Close or withdraw them first.", plot.plot_number),
        )
        .await?;
        return Ok(Redirect::to(&format!("/plots/{}", plot.id)).into_response());
    }
    db::plots::set_archived(&mut tx, plot.id, archived).await?;
    let action = if archived {
        "plot.archived"
    } else {
        "plot.restored"
    };
    audit::record(
        &mut tx,
        &user.actor(),
        action,
        "plot",
        Some(plot.id),
        Changes::new().field("archived", plot.archived_at.is_some(), archived),
    )
    .await?;
    tx.commit().await?;
    let message = if archived {
        format!("Plot {} archived.", plot.plot_number)
    } else {
        format!("Plot {} restored.", plot.plot_number)
    };
    user.flash("success", message).await?;
    Ok(Redirect::to(&format!("/plots/{}", plot.id)).into_response())
}
