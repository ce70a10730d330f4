//! Schemes (developments): the list with search, filters and keyset pages; the
//! scheme page with its contracts and plot counts; create, edit and archive.

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

use super::kit::*;
use crate::web::query::Query;
use crate::{
    AppError, AppState, Result,
    auth::{
        CurrentUser,
        policy::{self, SchemeScope},
    },
    db::{
        self,
        audit::{self, Changes},
        schemes::{Scheme, SchemeFilter, SchemeInput, SchemeSort, WarrantyProvider},
    },
    domain::FormErrors,
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/schemes", get(list))
        .route("/schemes/new", get(new_form).post(create))
        .route("/schemes/{id}", get(show))
        .route("/schemes/{id}/edit", get(edit_form).post(update))
        .route("/schemes/{id}/archive", post(archive))
        .route("/schemes/{id}/restore", post(restore))
}

// ---------------------------------------------------------------- the list

#[derive(Deserialize, Default)]
struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    after: String,
}

struct SchemeItem {
    id: Uuid,
    name: String,
    reference: String,
    region: String,
    provider: &'static str,
    archived: bool,
    contracts: i64,
    plots: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "schemes/list.html")]
struct ListPage {
    chrome: Chrome,
    q: String,
    statuses: Vec<SelectOption>,
    regions: Vec<SelectOption>,
    sorts: Vec<SelectOption>,
    schemes: Vec<SchemeItem>,
    next: Option<String>,
    first: Option<String>,
    can_create: bool,
}

async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<ListPage> {
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let status = match query.status.as_str() {
        "archived" => "archived",
        "all" => "all",
        _ => "active",
    };
    let sort = SchemeSort::parse(&query.sort);
    let filter = SchemeFilter {
        search: non_empty(&query.q),
        status: (status != "all").then(|| status.to_owned()),
        region: non_empty(&query.region),
        sort,
        after: parse_after(&query.after)?,
    };
    let mut rows = db::schemes::list(&mut tx, &scope, &filter, PAGE_SIZE as i64 + 1).await?;
    let regions = db::schemes::regions(&mut tx, &scope).await?;
    tx.commit().await?;

    let page_query = |after: &str| {
        query_string(
            "/schemes",
            &[
                ("q", query.q.trim()),
                ("status", &query.status),
                ("region", &query.region),
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
    let mut region_options = vec![SelectOption::new("", "Every region", &query.region)];
    region_options.extend(
        regions
            .into_iter()
            .map(|r| SelectOption::new(r.clone(), r, &query.region)),
    );
    Ok(ListPage {
        chrome: user.chrome("Schemes").await?,
        q: query.q.trim().to_owned(),
        statuses: vec![
            SelectOption::new("active", "Active", status),
            SelectOption::new("archived", "Archived", status),
            SelectOption::new("all", "All", status),
        ],
        regions: region_options,
        sorts: SchemeSort::ALL
            .iter()
            .map(|s| SelectOption::new(s.as_str(), s.label(), sort.as_str()))
            .collect(),
        schemes: rows
            .into_iter()
            .map(|r| SchemeItem {
                id: r.id,
                name: r.name,
                reference: r.reference_code.unwrap_or_default(),
                region: r.region,
                provider: WarrantyProvider::label_of(&r.warranty_provider),
                archived: r.status == "archived",
                contracts: r.contract_count,
                plots: r.plot_count,
            })
            .collect(),
        next,
        first,
        can_create: policy::may_edit_records(&user).is_ok() && scope == SchemeScope::All,
    })
}

// ---------------------------------------------------------------- the scheme page

struct ContractItem {
    id: Uuid,
    name: String,
    kind: &'static str,
    client: String,
    defects_period: String,
    archived: bool,
    plots: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "schemes/show.html")]
struct ShowPage {
    chrome: Chrome,
    crumbs: Vec<Crumb>,
    scheme: Scheme,
    provider: &'static str,
    contracts: Vec<ContractItem>,
    plot_total: i64,
    can_edit: bool,
}

async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<ShowPage> {
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let scheme = db::schemes::find(&mut tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let contracts = db::contracts::for_scheme(&mut tx, &scope, id).await?;
    tx.commit().await?;
    let plot_total = contracts.iter().map(|c| c.plot_count).sum();
    Ok(ShowPage {
        chrome: user.chrome(scheme.name.clone()).await?,
        crumbs: vec![
            Crumb::link("/schemes", "Schemes"),
            Crumb::here(scheme.name.clone()),
        ],
        provider: WarrantyProvider::label_of(&scheme.warranty_provider),
        contracts: contracts
            .into_iter()
            .map(|c| ContractItem {
                id: c.id,
                name: c.name,
                kind: db::contracts::ContractType::label_of(&c.contract_type),
                client: c.client_name.unwrap_or_default(),
                defects_period: c
                    .defects_period_months
                    .map(|m| format!("{m} months"))
                    .unwrap_or_else(|| "Scheme's".into()),
                archived: c.archived_at.is_some(),
                plots: c.plot_count,
            })
            .collect(),
        plot_total,
        can_edit: policy::may_edit_records(&user).is_ok(),
        scheme,
    })
}

// ---------------------------------------------------------------- create and edit

#[derive(Deserialize, Default)]
struct SchemeForm {
    /// The one-time key of the form that creates a scheme (`db::form_keys`).
    #[serde(default)]
    form_key: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    reference_code: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    warranty_provider: String,
    #[serde(default)]
    warranty_months: String,
    #[serde(default)]
    sla_enabled: Option<String>,
    #[serde(default)]
    site_manager: String,
}

impl SchemeForm {
    fn blank() -> Self {
        SchemeForm {
            warranty_provider: WarrantyProvider::Nhbc.as_str().into(),
            warranty_months: "24".into(),
            sla_enabled: Some("on".into()),
            ..Default::default()
        }
    }

    fn from_scheme(s: &Scheme) -> Self {
        SchemeForm {
            form_key: String::new(),
            name: s.name.clone(),
            reference_code: s.reference_code.clone().unwrap_or_default(),
            address: s.address.clone(),
            region: s.region.clone(),
            warranty_provider: s.warranty_provider.clone(),
            warranty_months: s.warranty_months.to_string(),
            sla_enabled: s.sla_enabled.then(|| "on".into()),
            site_manager: s.site_manager.clone(),
        }
    }

    fn check(&self) -> std::result::Result<SchemeInput, FormErrors> {
        let mut errors = FormErrors::default();
        let name = errors.text("name", &self.name, 200, Some("the scheme's name"));
        let reference = errors.text("reference_code", &self.reference_code, 50, None);
        let address = errors.long_text("address", &self.address, 500, None);
        let region = errors.text("region", &self.region, 100, None);
        let site_manager = errors.text("site_manager", &self.site_manager, 200, None);
        let provider = WarrantyProvider::parse(&self.warranty_provider);
        if provider.is_none() {
            errors.add(
                "warranty_provider",
                "Choose a warranty provider from the list",
            );
        }
        let months = if self.warranty_months.trim().is_empty() {
            errors.add(
                "warranty_months",
                "Enter the warranty period in months, for example 24",
            );
            None
        } else {
            number_field(
                &mut errors,
                "warranty_months",
                &self.warranty_months,
                1,
                240,
            )
        };
        match (provider, months) {
            (Some(warranty_provider), Some(warranty_months)) if errors.is_empty() => {
                Ok(SchemeInput {
                    name,
                    reference_code: (!reference.is_empty()).then_some(reference),
                    address,
                    region,
                    warranty_provider,
                    warranty_months,
                    sla_enabled: self.sla_enabled.is_some(),
                    site_manager,
                })
            }
            _ => Err(errors),
        }
    }
}

fn scheme_values(s: &Scheme) -> Vec<(&'static str, Value)> {
    vec![
        ("name", json!(s.name)),
        ("reference_code", json!(s.reference_code)),
        ("address", json!(s.address)),
        ("region", json!(s.region)),
        ("warranty_provider", json!(s.warranty_provider)),
        ("warranty_months", json!(s.warranty_months)),
        ("sla_enabled", json!(s.sla_enabled)),
        ("site_manager", json!(s.site_manager)),
    ]
}

fn input_values(s: &SchemeInput) -> Vec<(&'static str, Value)> {
    vec![
        ("name", json!(s.name)),
        ("reference_code", json!(s.reference_code)),
        ("address", json!(s.address)),
        ("region", json!(s.region)),
        ("warranty_provider", json!(s.warranty_provider.as_str())),
        ("warranty_months", json!(s.warranty_months)),
        ("sla_enabled", json!(s.sla_enabled)),
        ("site_manager", json!(s.site_manager)),
    ]
}

#[derive(Template, WebTemplate)]
#[template(path = "schemes/form.html")]
struct FormPage {
    chrome: Chrome,
    crumbs: Vec<Crumb>,
    heading: String,
    action: String,
    cancel: String,
    form: SchemeForm,
    errors: FormErrors,
    providers: Vec<SelectOption>,
}

async fn form_page(
    user: &CurrentUser,
    existing: Option<&Scheme>,
    form: SchemeForm,
    errors: FormErrors,
) -> Result<FormPage> {
    let providers = WarrantyProvider::ALL
        .iter()
        .map(|p| SelectOption::new(p.as_str(), p.label(), &form.warranty_provider))
        .collect();
    let (heading, action, cancel, crumbs) = match existing {
        None => (
            "New scheme".to_owned(),
            "/schemes/new".to_owned(),
            "/schemes".to_owned(),
            vec![
                Crumb::link("/schemes", "Schemes"),
                Crumb::here("New scheme"),
            ],
        ),
        Some(s) => (
            format!("Edit {}", s.name),
            format!("/schemes/{}/edit", s.id),
            format!("/schemes/{}", s.id),
            vec![
                Crumb::link("/schemes", "Schemes"),
                Crumb::link(format!("/schemes/{}", s.id), s.name.clone()),
                Crumb::here("Edit"),
            ],
        ),
    };
    Ok(FormPage {
        chrome: user.chrome(heading.clone()).await?,
        crumbs,
        heading,
        action,
        cancel,
        form,
        errors,
        providers,
    })
}

/// Only users who see every scheme add schemes (a restricted user would not see the new one).
fn may_create(user: &CurrentUser, scope: &SchemeScope) -> Result<()> {
    policy::may_edit_records(user)?;
    if *scope != SchemeScope::All {
        return Err(AppError::Forbidden(
            "You work on some schemes only. Ask an admin to add a scheme.",
        ));
    }
    Ok(())
}

async fn new_form(State(state): State<AppState>, user: CurrentUser) -> Result<FormPage> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    tx.commit().await?;
    may_create(&user, &scope)?;
    form_page(&user, None, SchemeForm::blank(), FormErrors::default()).await
}

async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<SchemeForm>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    may_create(&user, &scope)?;
    let input = match form.check() {
        Ok(input) => input,
        Err(errors) => return Ok(unprocessable(form_page(&user, None, form, errors).await?)),
    };
    let Some(id) = db::schemes::insert(&mut tx, &input).await? else {
        drop(tx);
        let mut errors = FormErrors::default();
        errors.add(
            "reference_code",
            "Another scheme already has this reference code",
        );
        return Ok(unprocessable(form_page(&user, None, form, errors).await?));
    };
    audit::record(
        &mut tx,
        &user.actor(),
        "scheme.created",
        "scheme",
        Some(id),
        diff(None, input_values(&input)),
    )
    .await?;
    let location = format!("/schemes/{id}");
    finish_create(
        tx,
        &user,
        &form.form_key,
        &location,
        format!("Scheme {} added.", input.name),
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
    let scheme = db::schemes::find(&mut tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    form_page(
        &user,
        Some(&scheme),
        SchemeForm::from_scheme(&scheme),
        FormErrors::default(),
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    Form(form): Form<SchemeForm>,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let scheme = db::schemes::find(&mut tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let input = match form.check() {
        Ok(input) => input,
        Err(errors) => {
            return Ok(unprocessable(
                form_page(&user, Some(&scheme), form, errors).await?,
            ));
        }
    };
    if !db::schemes::update(&mut tx, id, &input).await? {
        drop(tx);
        let mut errors = FormErrors::default();
        errors.add(
            "reference_code",
            "Another scheme already has this reference code",
        );
        return Ok(unprocessable(
            form_page(&user, Some(&scheme), form, errors).await?,
        ));
    }
    let changes = diff(Some(scheme_values(&scheme)), input_values(&input));
    audit::record(
        &mut tx,
        &user.actor(),
        "scheme.updated",
        "scheme",
        Some(id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash("success", format!("Scheme {} saved.", input.name))
        .await?;
    Ok(Redirect::to(&format!("/schemes/{id}")).into_response())
}

// ---------------------------------------------------------------- archive

async fn archive(state: State<AppState>, user: CurrentUser, id: Path<String>) -> Result<Response> {
    set_status(state, user, id, true).await
}

async fn restore(state: State<AppState>, user: CurrentUser, id: Path<String>) -> Result<Response> {
    set_status(state, user, id, false).await
}

async fn set_status(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    archived: bool,
) -> Result<Response> {
    policy::may_edit_records(&user)?;
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let scheme = db::schemes::find(&mut tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let status = if archived { "archived" } else { "active" };
    db::schemes::set_status(&mut tx, id, status).await?;
    let action = if archived {
        "scheme.archived"
    } else {
        "scheme.restored"
    };
    audit::record(
        &mut tx,
        &user.actor(),
        action,
        "scheme",
        Some(id),
        Changes::new().field("status", scheme.status.as_str(), status),
    )
    .await?;
    tx.commit().await?;
    let message = if archived {
        format!(
            "Scheme {} archived. Its records stay, and you can restore it.",
            scheme.name
        )
    } else {
        format!("Scheme {} restored.", scheme.name)
    };
    user.flash("success", message).await?;
    Ok(Redirect::to(&format!("/schemes/{id}")).into_response())
}
