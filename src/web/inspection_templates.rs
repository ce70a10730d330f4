//! Inspection templates, for admins: the list, a template with its versions,
//! create and edit. Every save publishes a new version; inspections already
//! started keep theirs.

use std::collections::BTreeMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde_json::json;
use uuid::Uuid;

use super::kit::{SelectOption, parse_id, unprocessable};
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, policy},
    db::{
        self,
        audit::{self, Changes},
    },
    domain::{
        FormErrors,
        inspection::{
            AnswerKind, ItemRow, Structure, TRADES, TemplateKind, rows_from_structure,
            structure_from_rows,
        },
        long_date,
    },
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/inspection-templates", get(list))
        .route("/inspection-templates/new", get(new_form).post(create))
        .route("/inspection-templates/{id}", get(show))
        .route(
            "/inspection-templates/{id}/edit",
            get(edit_form).post(update),
        )
        .route("/inspection-templates/{id}/archive", post(archive))
        .route("/inspection-templates/{id}/restore", post(restore))
}

/// Blank rows offered under the existing items.
const BLANK_ROWS: usize = 8;
const MAX_ROWS: usize = 400;

// ---------------------------------------------------------------- list

struct TemplateItem {
    id: Uuid,
    name: String,
    kind: &'static str,
    version: i32,
    archived: bool,
    inspections: i64,
    updated: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "inspection_templates/list.html")]
struct ListPage {
    chrome: Chrome,
    templates: Vec<TemplateItem>,
}

async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<ListPage> {
    policy::require_admin(&user)?;
    let mut tx = user.begin(&state).await?;
    let rows = db::inspection_templates::list(&mut tx).await?;
    tx.commit().await?;
    Ok(ListPage {
        chrome: user.chrome("Inspection templates").await?,
        templates: rows
            .into_iter()
            .map(|r| TemplateItem {
                id: r.id,
                name: r.name,
                kind: TemplateKind::label_of(&r.kind),
                version: r.current_version,
                archived: r.archived_at.is_some(),
                inspections: r.inspections,
                updated: long_date(r.updated_at.date()),
            })
            .collect(),
    })
}

// ---------------------------------------------------------------- show

struct VersionItem {
    version: i32,
    published: String,
    by: String,
    inspections: i64,
}

#[derive(Template, WebTemplate)]
#[template(path = "inspection_templates/show.html")]
struct ShowPage {
    chrome: Chrome,
    id: Uuid,
    name: String,
    kind: &'static str,
    version: i32,
    archived: bool,
    structure: Structure,
    versions: Vec<VersionItem>,
}

async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<ShowPage> {
    policy::require_admin(&user)?;
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let template = db::inspection_templates::find(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let versions = db::inspection_templates::versions(&mut tx, id).await?;
    tx.commit().await?;
    Ok(ShowPage {
        chrome: user.chrome(template.name.clone()).await?,
        id,
        name: template.name,
        kind: TemplateKind::label_of(&template.kind),
        version: template.current_version,
        archived: template.archived_at.is_some(),
        structure: template.structure.0,
        versions: versions
            .into_iter()
            .map(|v| VersionItem {
                version: v.version,
                published: long_date(v.created_at.date()),
                by: v.created_by_name.unwrap_or_else(|| "Plotcare".into()),
                inspections: v.inspections,
            })
            .collect(),
    })
}

// ---------------------------------------------------------------- the form

struct RowView {
    index: usize,
    section: String,
    label: String,
    kinds: Vec<SelectOption>,
    photo: bool,
    trades: Vec<SelectOption>,
}

#[derive(Template, WebTemplate)]
#[template(path = "inspection_templates/form.html")]
struct FormPage {
    chrome: Chrome,
    action: String,
    cancel: String,
    heading: String,
    name: String,
    kinds: Vec<SelectOption>,
    rows: Vec<RowView>,
    errors: FormErrors,
    editing: bool,
}

fn form_page(
    chrome: Chrome,
    id: Option<Uuid>,
    name: &str,
    kind: &str,
    rows: &[ItemRow],
    errors: FormErrors,
) -> FormPage {
    let mut kinds = vec![SelectOption::new("", "Choose a type", kind)];
    kinds.extend(
        TemplateKind::ALL
            .iter()
            .map(|k| SelectOption::new(k.as_str(), k.label(), kind)),
    );
    let blank = ItemRow {
        kind: AnswerKind::PassFail.as_str().to_owned(),
        ..Default::default()
    };
    let rows = rows
        .iter()
        .chain(std::iter::repeat_n(&blank, BLANK_ROWS))
        .enumerate()
        .map(|(index, r)| {
            let mut trades = vec![SelectOption::new("", "None", &r.trade)];
            trades.extend(
                TRADES
                    .iter()
                    .map(|(v, l)| SelectOption::new(*v, *l, &r.trade)),
            );
            RowView {
                index,
                section: r.section.clone(),
                label: r.label.clone(),
                kinds: AnswerKind::ALL
                    .iter()
                    .map(|k| SelectOption::new(k.as_str(), k.label(), &r.kind))
                    .collect(),
                photo: r.photo_required_on_fail,
                trades,
            }
        })
        .collect();
    FormPage {
        action: id.map_or("/inspection-templates/new".into(), |id| {
            format!("/inspection-templates/{id}/edit")
        }),
        cancel: id.map_or("/inspection-templates".into(), |id| {
            format!("/inspection-templates/{id}")
        }),
        heading: if id.is_some() {
            format!("Edit {name}")
        } else {
            "New inspection template".into()
        },
        chrome,
        name: name.to_owned(),
        kinds,
        rows,
        errors,
        editing: id.is_some(),
    }
}

/// The submitted form: name, type and the item rows (`section_N`, `label_N`, `kind_N`, `photo_N`, `trade_N`).
struct Submitted {
    name: String,
    kind: String,
    rows: Vec<ItemRow>,
}

fn parse_form(body: &[u8]) -> Submitted {
    let mut name = String::new();
    let mut kind = String::new();
    let mut rows: BTreeMap<usize, ItemRow> = BTreeMap::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        match k.as_ref() {
            "name" => name = v.into_owned(),
            "kind" => kind = v.into_owned(),
            other => {
                let Some((field, n)) = other.rsplit_once('_') else {
                    continue;
                };
                let Ok(n) = n.parse::<usize>() else { continue };
                if n >= MAX_ROWS {
                    continue;
                }
                let row = rows.entry(n).or_default();
                match field {
                    "section" => row.section = v.into_owned(),
                    "label" => row.label = v.into_owned(),
                    "kind" => row.kind = v.into_owned(),
                    "photo" => row.photo_required_on_fail = !v.is_empty(),
                    "trade" => row.trade = v.into_owned(),
                    _ => {}
                }
            }
        }
    }
    Submitted {
        name,
        kind,
        rows: rows.into_values().collect(),
    }
}

/// Checks the form; on success the name, type and structure.
fn check(form: &Submitted) -> std::result::Result<(String, TemplateKind, Structure), FormErrors> {
    let mut errors = FormErrors::default();
    let name = errors.text("name", &form.name, 200, Some("a name"));
    let kind = TemplateKind::parse(&form.kind);
    if kind.is_none() {
        errors.add("kind", "Choose the type of inspection");
    }
    let structure = structure_from_rows(&form.rows, &mut errors);
    match kind {
        Some(kind) if errors.is_empty() => Ok((name, kind, structure)),
        _ => Err(errors),
    }
}

fn kept_rows(form: &Submitted) -> Vec<ItemRow> {
    form.rows
        .iter()
        .filter(|r| !r.label.trim().is_empty())
        .cloned()
        .collect()
}

async fn new_form(user: CurrentUser) -> Result<FormPage> {
    policy::require_admin(&user)?;
    Ok(form_page(
        user.chrome("New inspection template").await?,
        None,
        "",
        "",
        &[],
        FormErrors::default(),
    ))
}

async fn create(State(state): State<AppState>, user: CurrentUser, body: Bytes) -> Result<Response> {
    policy::require_admin(&user)?;
    let form = parse_form(&body);
    let (name, kind, structure) = match check(&form) {
        Ok(v) => v,
        Err(errors) => {
            let chrome = user.chrome("New inspection template").await?;
            return Ok(unprocessable(form_page(
                chrome,
                None,
                &form.name,
                &form.kind,
                &kept_rows(&form),
                errors,
            )));
        }
    };
    let mut tx = user.begin(&state).await?;
    let id =
        db::inspection_templates::create(&mut tx, &name, kind.as_str(), &structure, Some(user.id))
            .await?;
    let changes = Changes::new()
        .set("name", name.clone())
        .set("kind", kind.as_str())
        .set("version", 1)
        .set("items", structure.item_count());
    audit::record(
        &mut tx,
        &user.actor(),
        "inspection_template.created",
        "inspection_template",
        Some(id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash("success", format!("Template {name} created."))
        .await?;
    Ok(Redirect::to(&format!("/inspection-templates/{id}")).into_response())
}

async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<FormPage> {
    policy::require_admin(&user)?;
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let template = db::inspection_templates::find(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let chrome = user.chrome(format!("Edit {}", template.name)).await?;
    Ok(form_page(
        chrome,
        Some(id),
        &template.name,
        &template.kind,
        &rows_from_structure(&template.structure),
        FormErrors::default(),
    ))
}

async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    policy::require_admin(&user)?;
    let id = parse_id(&id)?;
    let form = parse_form(&body);
    let mut tx = user.begin(&state).await?;
    let before = db::inspection_templates::find(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (name, kind, structure) = match check(&form) {
        Ok(v) => v,
        Err(errors) => {
            drop(tx);
            let chrome = user.chrome(format!("Edit {}", before.name)).await?;
            return Ok(unprocessable(form_page(
                chrome,
                Some(id),
                &form.name,
                &form.kind,
                &kept_rows(&form),
                errors,
            )));
        }
    };
    if name == before.name && kind.as_str() == before.kind && structure == before.structure.0 {
        drop(tx);
        user.flash("info", "Nothing changed, so no new version was published.")
            .await?;
        return Ok(Redirect::to(&format!("/inspection-templates/{id}")).into_response());
    }
    let version = db::inspection_templates::publish(
        &mut tx,
        id,
        &name,
        kind.as_str(),
        &structure,
        Some(user.id),
    )
    .await?;
    let changes = Changes::new()
        .field("name", before.name.clone(), name.clone())
        .field("kind", before.kind.clone(), kind.as_str())
        .field("version", before.current_version, version)
        .field(
            "items",
            before.structure.item_count(),
            structure.item_count(),
        );
    audit::record(
        &mut tx,
        &user.actor(),
        "inspection_template.published",
        "inspection_template",
        Some(id),
        changes,
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!(
            "Version {version} of {name} published. Inspections already started keep their version."
        ),
    )
    .await?;
    Ok(Redirect::to(&format!("/inspection-templates/{id}")).into_response())
}

async fn set_archived(
    state: AppState,
    user: CurrentUser,
    id: String,
    archived: bool,
) -> Result<Response> {
    policy::require_admin(&user)?;
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let template = db::inspection_templates::find(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    db::inspection_templates::set_archived(&mut tx, id, archived).await?;
    let action = if archived {
        "inspection_template.archived"
    } else {
        "inspection_template.restored"
    };
    let changes = Changes::new().field(
        "archived",
        json!(template.archived_at.is_some()),
        json!(archived),
    );
    audit::record(
        &mut tx,
        &user.actor(),
        action,
        "inspection_template",
        Some(id),
        changes,
    )
    .await?;
    tx.commit().await?;
    let message = if archived {
        "Template archived: it is no longer offered for new inspections."
    } else {
        "Template restored."
    };
    user.flash("success", message).await?;
    Ok(Redirect::to(&format!("/inspection-templates/{id}")).into_response())
}

async fn archive(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    set_archived(state, user, id, true).await
}

async fn restore(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    set_archived(state, user, id, false).await
}
