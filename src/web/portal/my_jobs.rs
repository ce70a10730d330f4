//! My jobs: a subcontractor's open work, grouped by when it is due.

use super::*;

// ---------------------------------------------------------------- My jobs

pub struct Group {
    pub key: &'static str,
    pub label: &'static str,
    pub badge: &'static str,
    pub jobs: Vec<JobCard>,
}

#[derive(Template, WebTemplate)]
#[template(path = "portal/jobs.html")]
pub(super) struct JobsPage {
    pub(super) chrome: Chrome,
    pub(super) company: String,
    pub(super) total: usize,
    pub(super) groups: Vec<Group>,
}

pub(super) async fn my_jobs(State(state): State<AppState>, user: CurrentUser) -> Result<JobsPage> {
    let company = policy::portal_company(&user)?;
    let mut tx = user.begin(&state).await?;
    let jobs = db::portal::open_jobs(&mut tx, company).await?;
    let company_name = db::portal::company_name(&mut tx, company).await?;
    tx.commit().await?;
    let now = clock::now();
    let mut groups: Vec<Group> = Due::ALL
        .iter()
        .map(|d| Group {
            key: d.key(),
            label: d.label(),
            badge: d.badge_class(),
            jobs: Vec::new(),
        })
        .collect();
    for job in &jobs {
        let due = Due::of(job, now);
        if let Some(g) = groups.iter_mut().find(|g| g.key == due.key()) {
            g.jobs.push(card(job, now));
        }
    }
    groups.retain(|g| !g.jobs.is_empty());
    Ok(JobsPage {
        chrome: user.chrome("My jobs").await?,
        company: company_name,
        total: jobs.len(),
        groups,
    })
}
