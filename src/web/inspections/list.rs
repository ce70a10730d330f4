//! The inspection list.

use super::*;

// ---------------------------------------------------------------- the list

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    pub(super) scheme: String,
    #[serde(default)]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) status: String,
    #[serde(default)]
    pub(super) from: String,
    #[serde(default)]
    pub(super) until: String,
    #[serde(default)]
    pub(super) inspector: String,
    #[serde(default)]
    pub(super) after: String,
}

pub struct InspectionItem {
    pub id: Uuid,
    pub date: String,
    pub kind: &'static str,
    pub template: String,
    pub plot_id: Uuid,
    pub plot: String,
    pub scheme: String,
    pub inspector: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub outcome: &'static str,
    pub outcome_class: &'static str,
    pub failed: i64,
}

impl From<ListRow> for InspectionItem {
    fn from(r: ListRow) -> Self {
        let status = r.status;
        let outcome = r.outcome;
        InspectionItem {
            id: r.id,
            date: long_date(r.scheduled_on),
            kind: r.kind.label(),
            template: r.template_name,
            plot_id: r.plot_id,
            plot: r.plot_number,
            scheme: r.scheme_name,
            inspector: r.inspector_name.unwrap_or_default(),
            status: status.label(),
            status_class: status.badge_class(),
            outcome: outcome.map_or("", Outcome::label),
            outcome_class: outcome.map_or("", Outcome::badge_class),
            failed: r.failed,
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "inspections/list.html")]
pub(super) struct ListPage {
    pub(super) chrome: Chrome,
    pub(super) schemes: Vec<SelectOption>,
    pub(super) kinds: Vec<SelectOption>,
    pub(super) statuses: Vec<SelectOption>,
    pub(super) inspectors: Vec<SelectOption>,
    pub(super) from: String,
    pub(super) until: String,
    pub(super) inspections: Vec<InspectionItem>,
    pub(super) next: Option<String>,
    pub(super) first: Option<String>,
}

pub(super) fn bad_filter() -> AppError {
    AppError::BadRequest("Choose a filter value from the list.".into())
}

pub(super) fn filter_date(raw: &str) -> Result<Option<Date>> {
    parse_optional_date("date", raw)
        .map_err(|_| AppError::BadRequest("Enter dates like 2025-03-31.".into()))
}

pub(super) async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<ListQuery>,
) -> Result<ListPage> {
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let kind = match q.kind.as_str() {
        "" => None,
        k => Some(
            TemplateKind::parse(k)
                .ok_or_else(bad_filter)?
                .as_str()
                .to_owned(),
        ),
    };
    let status = match q.status.as_str() {
        "" => None,
        s => Some(Status::parse(s).ok_or_else(bad_filter)?.as_str().to_owned()),
    };
    let (inspector_user_id, inspector_contact_id) = if q.inspector.is_empty() {
        (None, None)
    } else {
        parse_inspector(&q.inspector).ok_or_else(bad_filter)?
    };
    let after = if q.after.is_empty() {
        None
    } else {
        let invalid = || {
            AppError::BadRequest(
                "That page link is not valid. Start again from the first page.".into(),
            )
        };
        let (d, id) = q.after.split_once(',').ok_or_else(invalid)?;
        Some((
            filter_date(d).map_err(|_| invalid())?.ok_or_else(invalid)?,
            Uuid::parse_str(id).map_err(|_| invalid())?,
        ))
    };
    let filter = InspectionFilter {
        scheme_id: optional_id(&q.scheme)?,
        kind,
        status,
        from: filter_date(&q.from)?,
        until: filter_date(&q.until)?,
        inspector_user_id,
        inspector_contact_id,
        after,
    };
    let mut rows = db::inspections::list(&mut tx, &scope, &filter, PAGE_SIZE as i64 + 1).await?;
    let schemes = db::schemes::choices(&mut tx, &scope).await?;
    let inspectors = inspector_options(&mut tx, &q.inspector, "Anyone").await?;
    tx.commit().await?;

    let page_query = |after: &str| {
        query_string(
            "/inspections",
            &[
                ("scheme", &q.scheme),
                ("kind", &q.kind),
                ("status", &q.status),
                ("from", &q.from),
                ("until", &q.until),
                ("inspector", &q.inspector),
                ("after", after),
            ],
        )
    };
    let next = if rows.len() > PAGE_SIZE {
        rows.truncate(PAGE_SIZE);
        rows.last()
            .map(|r| page_query(&format!("{},{}", r.scheduled_on, r.id)))
    } else {
        None
    };
    let first = filter.after.is_some().then(|| page_query(""));
    let mut scheme_options = vec![SelectOption::new("", "Every scheme", &q.scheme)];
    scheme_options.extend(
        schemes
            .into_iter()
            .map(|c| SelectOption::new(c.id.to_string(), c.name, &q.scheme)),
    );
    let mut kinds = vec![SelectOption::new("", "Every type", &q.kind)];
    kinds.extend(
        TemplateKind::ALL
            .iter()
            .map(|k| SelectOption::new(k.as_str(), k.label(), &q.kind)),
    );
    let mut statuses = vec![SelectOption::new("", "Any status", &q.status)];
    statuses.extend(
        Status::ALL
            .iter()
            .map(|s| SelectOption::new(s.as_str(), s.label(), &q.status)),
    );
    Ok(ListPage {
        chrome: user.chrome("Inspections").await?,
        schemes: scheme_options,
        kinds,
        statuses,
        inspectors,
        from: q.from.trim().to_owned(),
        until: q.until.trim().to_owned(),
        inspections: rows.into_iter().map(InspectionItem::from).collect(),
        next,
        first,
    })
}
