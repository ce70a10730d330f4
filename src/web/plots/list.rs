//! The plot list.

use super::*;

// ---------------------------------------------------------------- the list

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    pub(super) q: String,
    #[serde(default)]
    pub(super) scheme: String,
    #[serde(default)]
    pub(super) contract: String,
    #[serde(default)]
    pub(super) warranty: String,
    #[serde(default)]
    pub(super) archived: String,
    #[serde(default)]
    pub(super) sort: String,
    #[serde(default)]
    pub(super) after: String,
}

pub(super) struct ListItem {
    pub(super) plot: PlotItem,
    pub(super) scheme_name: String,
    pub(super) contract_name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "plots/list.html")]
pub(super) struct ListPage {
    pub(super) chrome: Chrome,
    pub(super) q: String,
    pub(super) schemes: Vec<SelectOption>,
    pub(super) contracts: Vec<SelectOption>,
    pub(super) warranties: Vec<SelectOption>,
    pub(super) archived: Vec<SelectOption>,
    pub(super) sorts: Vec<SelectOption>,
    pub(super) plots: Vec<ListItem>,
    pub(super) next: Option<String>,
    pub(super) first: Option<String>,
}

pub(super) fn options(all_label: &str, choices: Vec<Choice>, current: &str) -> Vec<SelectOption> {
    let mut options = vec![SelectOption::new("", all_label, current)];
    options.extend(
        choices
            .into_iter()
            .map(|c| SelectOption::new(c.id.to_string(), c.name, current)),
    );
    options
}

pub(super) async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<ListPage> {
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let warranty = WarrantyStatus::parse(&query.warranty);
    let archived = ArchivedFilter::parse(&query.archived);
    let sort = PlotSort::parse(&query.sort);
    let filter = PlotFilter {
        search: non_empty(&query.q),
        scheme_id: optional_id(&query.scheme)?,
        contract_id: optional_id(&query.contract)?,
        warranty,
        archived,
        sort,
        after: parse_after(&query.after)?,
        today: today(),
    };
    let mut rows = db::plots::list(&mut tx, &scope, &filter, PAGE_SIZE as i64 + 1).await?;
    let schemes = db::schemes::choices(&mut tx, &scope).await?;
    let contracts = db::contracts::choices(&mut tx, &scope).await?;
    tx.commit().await?;

    let page_query = |after: &str| {
        query_string(
            "/plots",
            &[
                ("q", query.q.trim()),
                ("scheme", &query.scheme),
                ("contract", &query.contract),
                ("warranty", &query.warranty),
                ("archived", &query.archived),
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
    let warranty_now = warranty.map_or("", WarrantyStatus::as_str);
    let mut warranties = vec![SelectOption::new("", "Any", warranty_now)];
    warranties.extend(
        WarrantyStatus::ALL
            .iter()
            .map(|w| SelectOption::new(w.as_str(), w.label(), warranty_now)),
    );
    Ok(ListPage {
        chrome: user.chrome("Plots").await?,
        q: query.q.trim().to_owned(),
        schemes: options("Every scheme", schemes, &query.scheme),
        contracts: options("Every contract", contracts, &query.contract),
        warranties,
        archived: ArchivedFilter::ALL
            .iter()
            .map(|a| SelectOption::new(a.as_str(), a.label(), archived.as_str()))
            .collect(),
        sorts: PlotSort::ALL
            .iter()
            .map(|s| SelectOption::new(s.as_str(), s.label(), sort.as_str()))
            .collect(),
        plots: rows
            .into_iter()
            .map(|r| {
                let scheme_name = r.scheme_name.clone();
                let contract_name = r.contract_name.clone();
                ListItem {
                    plot: PlotItem::from(r),
                    scheme_name,
                    contract_name,
                }
            })
            .collect(),
        next,
        first,
    })
}
