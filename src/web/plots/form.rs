//! Creating and editing a plot.

use super::*;
use crate::web::kit::finish_create;

// ---------------------------------------------------------------- create and edit

#[derive(Deserialize, Default)]
pub(super) struct PlotForm {
    /// The one-time key of the form that creates a plot (`db::form_keys`).
    #[serde(default)]
    pub(super) form_key: String,
    #[serde(default)]
    pub(super) plot_number: String,
    #[serde(default)]
    pub(super) address_line1: String,
    #[serde(default)]
    pub(super) address_line2: String,
    #[serde(default)]
    pub(super) town: String,
    #[serde(default)]
    pub(super) postcode: String,
    #[serde(default)]
    pub(super) house_type: String,
    #[serde(default)]
    pub(super) bedrooms: String,
    #[serde(default)]
    pub(super) reservation_date: String,
    #[serde(default)]
    pub(super) completion_date: String,
    #[serde(default)]
    pub(super) access_notes: String,
}

impl PlotForm {
    pub(super) fn from_plot(p: &Plot) -> Self {
        PlotForm {
            form_key: String::new(),
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

    pub(super) fn check(&self) -> std::result::Result<PlotInput, FormErrors> {
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

pub(super) fn plot_values(p: &Plot) -> Vec<(&'static str, Value)> {
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

pub(super) fn input_values(p: &PlotInput) -> Vec<(&'static str, Value)> {
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
pub(super) struct FormPage {
    pub(super) chrome: Chrome,
    pub(super) crumbs: Vec<Crumb>,
    pub(super) heading: String,
    pub(super) action: String,
    pub(super) cancel: String,
    pub(super) form: PlotForm,
    pub(super) errors: FormErrors,
}

pub(super) enum Target<'a> {
    New(&'a Contract),
    Edit(&'a Plot),
}

pub(super) async fn form_page(
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

pub(super) fn number_taken(number: &str) -> FormErrors {
    let mut errors = FormErrors::default();
    errors.add(
        "plot_number",
        format!("Plot {number} already exists in this scheme. Use another number."),
    );
    errors
}

pub(super) async fn new_form(
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

pub(super) async fn create(
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
    let location = format!("/plots/{plot_id}");
    finish_create(
        tx,
        &user,
        &form.form_key,
        &location,
        format!("Plot {} added to {}.", input.plot_number, contract.name),
    )
    .await
}

pub(super) async fn edit_form(
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

pub(super) async fn update(
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
