//! The contact list.

use super::*;

// ---------------------------------------------------------------- the list

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    #[serde(default)]
    pub(super) q: String,
    #[serde(default)]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) trade: String,
    #[serde(default)]
    pub(super) status: String,
    #[serde(default)]
    pub(super) sort: String,
    #[serde(default)]
    pub(super) after: String,
}

pub(super) struct Row {
    pub(super) id: Uuid,
    pub(super) name: String,
    pub(super) kind_label: &'static str,
    pub(super) company: String,
    pub(super) email: String,
    pub(super) phone: String,
    pub(super) trades: String,
    pub(super) archived: bool,
}

pub(super) struct SortChoice {
    pub(super) value: &'static str,
    pub(super) label: &'static str,
    pub(super) selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "contacts/list.html")]
pub(super) struct ListPage {
    pub(super) chrome: Chrome,
    pub(super) q: String,
    pub(super) kinds: Vec<Choice>,
    pub(super) trades: Vec<Choice>,
    pub(super) sorts: Vec<SortChoice>,
    pub(super) status: &'static str,
    pub(super) rows: Vec<Row>,
    pub(super) next_href: Option<String>,
    pub(super) paged: bool,
    pub(super) filtered: bool,
    pub(super) can_edit: bool,
}

/// The list's address with these settings and cursor.
pub(super) fn list_href(
    q: &str,
    kind: &str,
    trade: &str,
    status: Status,
    sort: Sort,
    after: Option<Uuid>,
) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in [("q", q), ("kind", kind), ("trade", trade)] {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    if status != Status::Active {
        s.append_pair("status", status.as_str());
    }
    if sort != Sort::default() {
        s.append_pair("sort", sort.as_str());
    }
    if let Some(after) = after {
        s.append_pair("after", &after.to_string());
    }
    let query = s.finish();
    if query.is_empty() {
        "/contacts".into()
    } else {
        format!("/contacts?{query}")
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<ListPage> {
    let mut tx = user.begin(&state).await?;
    let scope = policy::record_scope(&mut tx, &user).await?;
    let kind = KINDS
        .iter()
        .find(|(k, _)| *k == query.kind)
        .map(|(k, _)| *k);
    let trade = TRADES
        .iter()
        .find(|(t, _)| *t == query.trade)
        .map(|(t, _)| *t);
    let filter = ContactFilter {
        q: Some(query.q.trim().to_owned()).filter(|q| !q.is_empty()),
        kind: kind.map(str::to_owned),
        trade: trade.map(str::to_owned),
        status: Status::parse(&query.status),
        sort: Sort::parse(&query.sort),
        after: Uuid::parse_str(query.after.trim()).ok(),
    };
    let mut found = store::list(&mut tx, &filter, scope.as_filter(), PAGE_SIZE + 1).await?;
    tx.commit().await?;
    let more = found.len() as i64 > PAGE_SIZE;
    found.truncate(PAGE_SIZE as usize);
    let next_href = more.then(|| {
        let last = found.last().map(|c| c.id);
        list_href(
            &filter.q.clone().unwrap_or_default(),
            kind.unwrap_or(""),
            trade.unwrap_or(""),
            filter.status,
            filter.sort,
            last,
        )
    });
    let rows = found
        .into_iter()
        .map(|c| Row {
            kind_label: store::kind_label(&c.kind),
            company: c
                .company
                .clone()
                .filter(|_| c.company_name.is_empty())
                .unwrap_or(c.company_name),
            email: c.emails.first().cloned().unwrap_or_default(),
            phone: c.phones.first().cloned().unwrap_or_default(),
            trades: trade_labels(&c.trades),
            archived: c.archived_at.is_some(),
            id: c.id,
            name: c.name,
        })
        .collect();
    Ok(ListPage {
        chrome: user.chrome("Contacts").await?,
        kinds: choices(&KINDS, &[kind.unwrap_or("")]),
        trades: choices(&TRADES, &[trade.unwrap_or("")]),
        sorts: Sort::ALL
            .iter()
            .map(|s| SortChoice {
                value: s.as_str(),
                label: s.label(),
                selected: *s == filter.sort,
            })
            .collect(),
        status: filter.status.as_str(),
        rows,
        next_href,
        paged: filter.after.is_some(),
        filtered: filter.q.is_some()
            || kind.is_some()
            || trade.is_some()
            || filter.status != Status::Active,
        can_edit: policy::may_edit_records(&user).is_ok(),
        q: query.q,
    })
}
