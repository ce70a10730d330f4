//! One contact's page.

use super::*;

// ---------------------------------------------------------------- one contact

pub(super) struct PlotLine {
    pub(super) plot_id: Uuid,
    pub(super) plot_number: String,
    pub(super) scheme_name: String,
    pub(super) address: String,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) current: bool,
}

pub(super) struct Person {
    pub(super) id: Uuid,
    pub(super) name: String,
    pub(super) email: String,
    pub(super) phone: String,
    pub(super) archived: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/show.html")]
pub(super) struct ShowPage {
    pub(super) chrome: Chrome,
    pub(super) c: Contact,
    pub(super) kind_label: &'static str,
    pub(super) method_label: &'static str,
    pub(super) trades: String,
    pub(super) is_company: bool,
    pub(super) is_homeowner: bool,
    pub(super) people: Vec<Person>,
    pub(super) plots: Vec<PlotLine>,
    pub(super) can_edit: bool,
    pub(super) is_admin: bool,
}

/// A contact the user may see, or 404.
pub(super) async fn load(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: &str,
) -> Result<(Contact, policy::SchemeScope)> {
    let scope = policy::record_scope(tx, user).await?;
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    let contact = store::find(tx, id, scope.as_filter())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((contact, scope))
}

pub(super) async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<ShowPage> {
    let mut tx = user.begin(&state).await?;
    let (c, scope) = load(&mut tx, &user, &id).await?;
    let is_company = c.kind == "subcontractor_company";
    let is_homeowner = c.kind == "homeowner";
    let people = if is_company {
        store::people(&mut tx, c.id).await?
    } else {
        Vec::new()
    };
    let plots = if is_homeowner {
        store::owned_plots(&mut tx, c.id, scope.as_filter()).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    let date = |d: Option<time::Date>| d.map(long_date).unwrap_or_default();
    Ok(ShowPage {
        chrome: user.chrome(c.name.clone()).await?,
        kind_label: store::kind_label(&c.kind),
        method_label: store::method_label(&c.preferred_contact_method),
        trades: trade_labels(&c.trades),
        is_company,
        is_homeowner,
        people: people
            .into_iter()
            .map(|p| Person {
                email: p.emails.first().cloned().unwrap_or_default(),
                phone: p.phones.first().cloned().unwrap_or_default(),
                archived: p.archived_at.is_some(),
                id: p.id,
                name: p.name,
            })
            .collect(),
        plots: plots
            .into_iter()
            .map(|p| PlotLine {
                address: [
                    p.address_line1.as_str(),
                    p.town.as_str(),
                    p.postcode.as_str(),
                ]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
                from: date(p.from_date),
                to: date(p.to_date),
                current: p.to_date.is_none(),
                plot_id: p.plot_id,
                plot_number: p.plot_number,
                scheme_name: p.scheme_name,
            })
            .collect(),
        can_edit: policy::may_edit_records(&user).is_ok(),
        is_admin: user.role == crate::domain::Role::Admin,
        c,
    })
}
