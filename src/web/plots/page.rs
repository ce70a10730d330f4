//! The plot page.

use super::*;

// ---------------------------------------------------------------- the plot page

pub(super) struct OwnerItem {
    pub(super) id: Uuid,
    pub(super) name: String,
    pub(super) phone: String,
    pub(super) email: String,
    pub(super) from: String,
    pub(super) to: String,
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
pub(super) struct OwnerForm {
    #[serde(default)]
    pub(super) contact_id: String,
    #[serde(default)]
    pub(super) new_name: String,
    #[serde(default)]
    pub(super) new_phone: String,
    #[serde(default)]
    pub(super) new_email: String,
    #[serde(default)]
    pub(super) from_date: String,
    #[serde(default)]
    pub(super) to_date: String,
}

#[derive(Deserialize, Default)]
pub(super) struct EndForm {
    #[serde(default)]
    pub(super) to_date: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "plots/show.html")]
pub(super) struct ShowPage {
    pub(super) chrome: Chrome,
    pub(super) crumbs: Vec<Crumb>,
    pub(super) plot: Plot,
    pub(super) address: Vec<String>,
    pub(super) bedrooms: String,
    pub(super) reservation: String,
    pub(super) completion: String,
    pub(super) warranty_end: String,
    pub(super) badge: &'static str,
    pub(super) badge_class: &'static str,
    pub(super) current_owners: Vec<OwnerItem>,
    pub(super) past_owners: Vec<OwnerItem>,
    pub(super) homeowner_choices: Vec<SelectOption>,
    pub(super) owner_form: OwnerForm,
    pub(super) errors: FormErrors,
    pub(super) can_edit: bool,
    pub(super) tickets: Vec<PlotTicket>,
    pub(super) can_log_ticket: bool,
    pub(super) appointments: Vec<PlotAppointmentItem>,
    pub(super) inspections: crate::web::inspections::PlotSection,
}

/// A ticket as the plot page lists it.
pub(super) struct PlotTicket {
    pub(super) id: Uuid,
    pub(super) reference: String,
    pub(super) title: String,
    pub(super) status: &'static str,
    pub(super) status_class: &'static str,
    pub(super) priority: &'static str,
    pub(super) reported: String,
}

/// An upcoming appointment as the plot page lists it.
pub(super) struct PlotAppointmentItem {
    pub(super) ticket_id: Uuid,
    pub(super) reference: String,
    pub(super) title: String,
    pub(super) day: String,
    pub(super) window: String,
    pub(super) with_whom: String,
}

pub(super) const HOUR_MINUTE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[hour]:[minute]");

pub(super) fn plot_crumbs(p: &Plot) -> Vec<Crumb> {
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
pub(super) async fn show_page(
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

pub(super) async fn load(tx: &mut TenantTx, user: &CurrentUser, id: &str) -> Result<Plot> {
    let id = parse_id(id)?;
    let scope = policy::record_scope(tx, user).await?;
    db::plots::find(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub(super) async fn show(
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
