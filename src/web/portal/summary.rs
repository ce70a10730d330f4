//! The company summary.

use super::*;

// ---------------------------------------------------------------- company summary

#[derive(Template, WebTemplate)]
#[template(path = "portal/summary.html")]
pub(super) struct SummaryPage {
    pub(super) chrome: Chrome,
    pub(super) company: String,
    pub(super) open_jobs: i64,
    pub(super) awaiting_sign_off: i64,
    pub(super) overdue_jobs: i64,
    pub(super) completed_recently: i64,
    /// "3.5 days", or empty when nothing was completed.
    pub(super) average: String,
}

/// "1 day", "3.5 days"
pub(super) fn days(d: f64) -> String {
    let rounded = (d * 10.0).round() / 10.0;
    if (rounded - 1.0).abs() < f64::EPSILON {
        "1 day".into()
    } else {
        format!("{rounded:.1} days")
    }
}

pub(super) async fn summary(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<SummaryPage> {
    let company = policy::company_summary_scope(&user)?;
    let mut tx = user.begin(&state).await?;
    let s = db::portal::summary(&mut tx, company).await?;
    let company_name = db::portal::company_name(&mut tx, company).await?;
    tx.commit().await?;
    Ok(SummaryPage {
        chrome: user.chrome("Our work").await?,
        company: company_name,
        open_jobs: s.open_jobs,
        awaiting_sign_off: s.awaiting_sign_off,
        overdue_jobs: s.overdue_jobs,
        completed_recently: s.completed_recently,
        average: s.average_days.map(days).unwrap_or_default(),
    })
}
