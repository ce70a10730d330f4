//! The printable report and the plot page's section.

use super::*;

// ---------------------------------------------------------------- the printable report

#[derive(Template, WebTemplate)]
#[template(path = "inspections/report.html")]
pub(super) struct ReportPage {
    pub(super) chrome: Chrome,
    pub(super) page: ShowPage,
}

pub(super) async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<ReportPage> {
    let mut tx = user.begin(&state).await?;
    let insp = load(&mut tx, &user, &id).await?;
    let mut page = show_page(
        &mut tx,
        &user,
        &insp,
        FormErrors::default(),
        None,
        &BTreeMap::new(),
    )
    .await?;
    tx.commit().await?;
    // The report is for the homeowner or client: shared commentary only.
    page.comments.retain(|c| !c.internal);
    Ok(ReportPage {
        chrome: page.chrome.clone(),
        page,
    })
}

// ---------------------------------------------------------------- the plot page's section

/// The inspections section of a plot page: `{% include "inspections/plot_section.html" %}`
/// with this struct in a field named `inspections`.
pub struct PlotSection {
    pub plot_id: Uuid,
    pub items: Vec<InspectionItem>,
    pub can_schedule: bool,
}

impl PlotSection {
    /// Call after the plot's own access check, with the same scope.
    pub async fn load(
        tx: &mut TenantTx,
        user: &CurrentUser,
        scope: &policy::SchemeScope,
        plot_id: Uuid,
    ) -> Result<PlotSection> {
        let rows = db::inspections::for_plot(tx, scope, plot_id).await?;
        Ok(PlotSection {
            plot_id,
            items: rows.into_iter().map(InspectionItem::from).collect(),
            can_schedule: policy::may_edit_records(user).is_ok(),
        })
    }
}
