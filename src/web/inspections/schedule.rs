//! Scheduling an inspection on a plot.

use super::*;

// ---------------------------------------------------------------- scheduling one on a plot

#[derive(Deserialize, Default)]
pub(super) struct NewForm {
    #[serde(default)]
    pub(super) template: String,
    #[serde(default)]
    pub(super) scheduled_on: String,
    #[serde(default)]
    pub(super) inspector: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "inspections/new.html")]
pub(super) struct NewPage {
    pub(super) chrome: Chrome,
    pub(super) crumbs: Vec<Crumb>,
    pub(super) plot_id: Uuid,
    pub(super) plot_number: String,
    pub(super) templates: Vec<SelectOption>,
    pub(super) inspectors: Vec<SelectOption>,
    pub(super) scheduled_on: String,
    pub(super) errors: FormErrors,
}

pub(super) async fn new_page(
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

pub(super) async fn find_plot(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: &str,
) -> Result<db::plots::Plot> {
    let id = parse_id(id)?;
    let scope = policy::record_scope(tx, user).await?;
    db::plots::find(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub(super) async fn new_form(
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

pub(super) async fn create(
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
