//! Contracts within a scheme: the contract page with its plots; create, edit and archive.

use crate::domain::clock::today;
use crate::web::kit::finish_create;
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

use super::kit::{Crumb, SelectOption, date_value, diff, number_field, parse_id, unprocessable};
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, policy},
    db::{
        self,
        audit::{self, Changes},
        contracts::{Contract, ContractInput, ContractType},
        schemes::Scheme,
        users::Choice,
    },
    domain::{FormErrors, WarrantyStatus, long_date, parse_optional_date},
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/schemes/{id}/contracts/new", get(new_form).post(create))
        .route("/contracts/{id}", get(show))
        .route("/contracts/{id}/edit", get(edit_form).post(update))
        .route("/contracts/{id}/archive", post(archive))
        .route("/contracts/{id}/restore", post(restore))
}

/// Plots shown on a contract's page; the plot list has the rest.
const PLOTS_SHOWN: usize = 200;

// ---------------------------------------------------------------- the contract page

/// A plot as the contract page lists it.
pub(crate) struct PlotItem {
    pub id: Uuid,
    pub number: String,
    pub address: String,
    pub postcode: String,
    pub homeowners: String,
    pub completion: String,
    pub badge: &'static str,
    pub badge_class: &'static str,
    pub archived: bool,
}

impl From<db::plots::PlotRow> for PlotItem {
    fn from(p: db::plots::PlotRow) -> Self {
        let (status, _) = WarrantyStatus::of(p.completion_date, p.warranty_months, today());
        let address = [p.address_line1.as_str(), p.town.as_str()]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        PlotItem {
            id: p.id,
            number: p.plot_number,
            address,
            postcode: p.postcode,
            homeowners: p.homeowners.unwrap_or_default(),
            completion: p.completion_date.map(long_date).unwrap_or_default(),
            badge: status.label(),
            badge_class: status.badge_class(),
            archived: p.archived_at.is_some(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "contracts/show.html")]
struct ShowPage {
    chrome: Chrome,
    crumbs: Vec<Crumb>,
    contract: Contract,
    kind: &'static str,
    client: String,
    defects_period: String,
    start: String,
    end: String,
    plots: Vec<PlotItem>,
    more_plots: bool,
    can_edit: bool,
}

pub(crate) fn contract_crumbs(c: &Contract) -> Vec<Crumb> {
    vec![
        Crumb::link("/schemes", "Schemes"),
        Crumb::link(format!("/schemes/{}", c.scheme_id), c.scheme_name.clone()),
    ]
}

async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<ShowPage> {
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let contract = db::contracts::find(&mut tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut plots =
        db::plots::for_contract(&mut tx, &scope, id, today(), PLOTS_SHOWN as i64 + 1).await?;
    tx.commit().await?;
    let more_plots = plots.len() > PLOTS_SHOWN;
    plots.truncate(PLOTS_SHOWN);
    let mut crumbs = contract_crumbs(&contract);
    crumbs.push(Crumb::here(contract.name.clone()));
    Ok(ShowPage {
        chrome: user.chrome(contract.name.clone()).await?,
        crumbs,
        kind: ContractType::label_of(&contract.contract_type),
        client: contract.client_name.clone().unwrap_or_default(),
        defects_period: match contract.defects_period_months {
            Some(m) => format!("{m} months"),
            None => format!("{} months (the scheme's)", contract.scheme_warranty_months),
        },
        start: contract.start_date.map(long_date).unwrap_or_default(),
        end: contract.end_date.map(long_date).unwrap_or_default(),
        plots: plots.into_iter().map(PlotItem::from).collect(),
        more_plots,
        can_edit: policy::may_edit_records(&user).is_ok(),
        contract,
    })
}

// ---------------------------------------------------------------- create and edit

#[derive(Deserialize, Default)]
struct ContractForm {
    /// The one-time key of the form that creates a contract (`db::form_keys`).
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    contract_type: String,
    #[serde(default)]
    client_contact_id: String,
    #[serde(default)]
    defects_period_months: String,
    #[serde(default)]
    start_date: String,
    #[serde(default)]
    end_date: String,
}

impl ContractForm {
    fn from_contract(c: &Contract) -> Self {
        ContractForm {
            form_key: String::new(),
            name: c.name.clone(),
            contract_type: c.contract_type.clone(),
            client_contact_id: c
                .client_contact_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            defects_period_months: c
                .defects_period_months
                .map(|m| m.to_string())
                .unwrap_or_default(),
            start_date: c.start_date.map(|d| d.to_string()).unwrap_or_default(),
            end_date: c.end_date.map(|d| d.to_string()).unwrap_or_default(),
        }
    }

    async fn check(
        &self,
        tx: &mut crate::auth::TenantTx,
    ) -> Result<std::result::Result<ContractInput, FormErrors>> {
        let mut errors = FormErrors::default();
        let name = errors.text(
            "name",
            &self.name,
            200,
            Some("the contract's name or reference"),
        );
        let contract_type = ContractType::parse(&self.contract_type);
        if contract_type.is_none() {
            errors.add("contract_type", "Choose a contract type from the list");
        }
        let client = match self.client_contact_id.trim() {
            "" => None,
            raw => match Uuid::parse_str(raw) {
                Ok(id) if db::contracts::client_exists(tx, id).await? => Some(id),
                _ => {
                    errors.add("client_contact_id", "Choose a client from the list");
                    None
                }
            },
        };
        let defects = number_field(
            &mut errors,
            "defects_period_months",
            &self.defects_period_months,
            1,
            240,
        );
        let start = errors
            .check(parse_optional_date("start_date", &self.start_date))
            .flatten();
        let end = errors
            .check(parse_optional_date("end_date", &self.end_date))
            .flatten();
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            errors.add(
                "end_date",
                format!(
                    "The end date can't be before the start date ({})",
                    long_date(s)
                ),
            );
        }
        Ok(match contract_type {
            Some(contract_type) if errors.is_empty() => Ok(ContractInput {
                name,
                contract_type,
                client_contact_id: client,
                defects_period_months: defects,
                start_date: start,
                end_date: end,
            }),
            _ => Err(errors),
        })
    }
}

fn contract_values(c: &Contract) -> Vec<(&'static str, Value)> {
    vec![
        ("name", json!(c.name)),
        ("contract_type", json!(c.contract_type)),
        ("client_contact_id", json!(c.client_contact_id)),
        ("defects_period_months", json!(c.defects_period_months)),
        ("start_date", date_value(c.start_date)),
        ("end_date", date_value(c.end_date)),
    ]
}

fn input_values(c: &ContractInput) -> Vec<(&'static str, Value)> {
    vec![
        ("name", json!(c.name)),
        ("contract_type", json!(c.contract_type.as_str())),
        ("client_contact_id", json!(c.client_contact_id)),
        ("defects_period_months", json!(c.defects_period_months)),
        ("start_date", date_value(c.start_date)),
        ("end_date", date_value(c.end_date)),
    ]
}

#[derive(Template, WebTemplate)]
#[template(path = "contracts/form.html")]
struct FormPage {
    chrome: Chrome,
    crumbs: Vec<Crumb>,
    heading: String,
    action: String,
    cancel: String,
    form: ContractForm,
    errors: FormErrors,
    types: Vec<SelectOption>,
    clients: Vec<SelectOption>,
    scheme_months: i32,
}

enum Target<'a> {
    New(&'a Scheme),
    Edit(&'a Contract),
}

async fn form_page(
    user: &CurrentUser,
    target: Target<'_>,
    clients: Vec<Choice>,
    form: ContractForm,
    errors: FormErrors,
) -> Result<FormPage> {
    let types = ContractType::ALL
        .iter()
        .map(|t| SelectOption::new(t.as_str(), t.label(), &form.contract_type))
        .collect();
    let mut client_options = vec![SelectOption::new("", "None", &form.client_contact_id)];
    client_options.extend(
        clients
            .into_iter()
            .map(|c| SelectOption::new(c.id.to_string(), c.name, &form.client_contact_id)),
    );
    let (heading, action, cancel, crumbs, scheme_months) = match target {
        Target::New(s) => (
            format!("New contract in {}", s.name),
            format!("/schemes/{}/contracts/new", s.id),
            format!("/schemes/{}", s.id),
            vec![
                Crumb::link("/schemes", "Schemes"),
                Crumb::link(format!("/schemes/{}", s.id), s.name.clone()),
                Crumb::here("New contract"),
            ],
            s.warranty_months,
        ),
        Target::Edit(c) => {
            let mut crumbs = contract_crumbs(c);
            crumbs.push(Crumb::link(format!("/contracts/{}", c.id), c.name.clone()));
            crumbs.push(Crumb::here("Edit"));
            (
                format!("Edit {}", c.name),
                format!("/contracts/{}/edit", c.id),
                format!("/contracts/{}", c.id),
                crumbs,
                c.scheme_warranty_months,
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
        types,
        clients: client_options,
        scheme_months,
    })
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
    let scheme = db::schemes::find(&mut tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let clients = db::contracts::clients(&mut tx).await?;
    tx.commit().await?;
    let form = ContractForm {
        contract_type: ContractType::PrivateSale.as_str().into(),
        ..Default::default()
    };
    form_page(
        &user,
        Target::New(&scheme),
        clients,
        form,
        FormErrors::default(),
    )
    .await
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<ContractForm>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let scheme = db::schemes::find(&mut tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let input = match form.check(&mut tx).await? {
        Ok(input) => input,
        Err(errors) => {
            let clients = db::contracts::clients(&mut tx).await?;
            drop(tx);
            return Ok(unprocessable(
                form_page(&user, Target::New(&scheme), clients, form, errors).await?,
            ));
        }
    };
    let contract_id = db::contracts::insert(&mut tx, scheme.id, &input).await?;
    let changes = diff(None, input_values(&input)).set("scheme_id", scheme.id.to_string());
    audit::record(
        &mut tx,
        &user.actor(),
        "contract.created",
        "contract",
        Some(contract_id),
        changes,
    )
    .await?;
    let location = format!("/contracts/{contract_id}");
    finish_create(
        tx,
        &user,
        &form.form_key,
        &location,
        format!("Contract {} added to {}.", input.name, scheme.name),
    )
    .await
}

async fn edit_form(
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
    let clients = db::contracts::clients(&mut tx).await?;
    tx.commit().await?;
    let form = ContractForm::from_contract(&contract);
    form_page(
        &user,
        Target::Edit(&contract),
        clients,
        form,
        FormErrors::default(),
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<ContractForm>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let contract = db::contracts::find(&mut tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let input = match form.check(&mut tx).await? {
        Ok(input) => input,
        Err(errors) => {
            let clients = db::contracts::clients(&mut tx).await?;
            drop(tx);
            return Ok(unprocessable(
                form_page(&user, Target::Edit(&contract), clients, form, errors).await?,
            ));
        }
    };
    db::contracts::update(&mut tx, id, &input).await?;
    let changes = diff(Some(contract_values(&contract)), input_values(&input));
    audit::record(
        &mut tx,
        &user.actor(),
        "contract.updated",
        "contract",
        Some(id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash("success", format!("Contract {} saved.", input.name))
        .await?;
    Ok(Redirect::to(&format!("/contracts/{id}")).into_response())
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
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let contract = db::contracts::find(&mut tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::contracts::set_archived(&mut tx, id, archived).await?;
    let action = if archived {
        "contract.archived"
    } else {
        "contract.restored"
    };
    audit::record(
        &mut tx,
        &user.actor(),
        action,
        "contract",
        Some(id),
        Changes::new().field("archived", contract.archived_at.is_some(), archived),
    )
    .await?;
    tx.commit().await?;
    let message = if archived {
        format!(
            "Contract {} archived. Its plots stay, and you can restore it.",
            contract.name
        )
    } else {
        format!("Contract {} restored.", contract.name)
    };
    user.flash("success", message).await?;
    Ok(Redirect::to(&format!("/contracts/{id}")).into_response())
}
