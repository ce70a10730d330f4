//! Ticket lists: the filters, sorts and keyset pages of the ticket list, its
//! counts and menus, and a plot's tickets.

use super::*;

// ---------------------------------------------------------------- lists

/// One row of a ticket list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketSummary {
    pub id: Uuid,
    pub number: i64,
    pub title: String,
    pub status: Status,
    pub priority: Priority,
    pub category: Category,
    pub plot_id: Uuid,
    pub plot_number: String,
    pub postcode: String,
    pub scheme_name: String,
    pub nominated_name: Option<String>,
    pub is_complaint: bool,
    pub reported_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub due_at: Option<OffsetDateTime>,
    pub on_hold_since: Option<OffsetDateTime>,
    /// For a complaint: the day it was received, and the stages marked done.
    pub complaint_received_on: Option<Date>,
    pub complaint_done: Option<Vec<String>>,
}

impl TicketSummary {
    pub fn reference(&self) -> String {
        TicketRef(self.number).to_string()
    }
    pub fn status(&self) -> Status {
        self.status
    }
    pub fn priority(&self) -> Priority {
        self.priority
    }
}

/// Who a ticket is nominated to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nominee {
    Company(Uuid),
    User(Uuid),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketSort {
    /// Soonest due first; tickets without a due time last.
    #[default]
    Due,
    /// Newest reported first.
    Reported,
    /// Most recently changed first.
    Updated,
    /// Longest open first: the oldest reported.
    Oldest,
}

impl TicketSort {
    pub const ALL: [TicketSort; 4] = [
        TicketSort::Due,
        TicketSort::Oldest,
        TicketSort::Reported,
        TicketSort::Updated,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            TicketSort::Due => "due",
            TicketSort::Reported => "reported",
            TicketSort::Updated => "updated",
            TicketSort::Oldest => "oldest",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            TicketSort::Due => "Due soonest",
            TicketSort::Reported => "Newest reported",
            TicketSort::Updated => "Recently updated",
            TicketSort::Oldest => "Oldest first",
        }
    }
    pub fn parse(value: &str) -> Option<TicketSort> {
        TicketSort::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// Where the previous page ended: the last row's sort key and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The sort key; `None` only for due-sorted rows without a due time.
    pub key: Option<OffsetDateTime>,
    pub id: Uuid,
}

impl Cursor {
    /// For the query string: "<unix nanoseconds or 'none'>.<id>".
    pub fn encode(&self) -> String {
        match self.key {
            Some(k) => format!("{}.{}", k.unix_timestamp_nanos(), self.id),
            None => format!("none.{}", self.id),
        }
    }

    pub fn decode(raw: &str) -> Option<Cursor> {
        let (key, id) = raw.split_once('.')?;
        let id = Uuid::parse_str(id).ok()?;
        let key = if key == "none" {
            None
        } else {
            Some(OffsetDateTime::from_unix_timestamp_nanos(key.parse().ok()?).ok()?)
        };
        Some(Cursor { key, id })
    }

    /// The cursor after `row` in `sort` order.
    pub fn after(row: &TicketSummary, sort: TicketSort) -> Cursor {
        let key = match sort {
            TicketSort::Due => row.due_at,
            TicketSort::Reported | TicketSort::Oldest => Some(row.reported_at),
            TicketSort::Updated => Some(row.updated_at),
        };
        Cursor { key, id: row.id }
    }
}

/// The list's filters, all optional.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub scheme: Option<Uuid>,
    pub contract: Option<Uuid>,
    pub plot: Option<Uuid>,
    pub statuses: Vec<Status>,
    pub priority: Option<Priority>,
    pub category: Option<Category>,
    pub nominee: Option<Nominee>,
    pub overdue: bool,
    /// On hold with its review date come (today in UK time or earlier).
    pub hold_review_due: bool,
    pub complaint: Option<bool>,
    /// Reported on or after this day (UK time).
    pub reported_from: Option<Date>,
    /// Reported on or before this day (UK time).
    pub reported_to: Option<Date>,
    pub q: Option<String>,
    pub sort: TicketSort,
    pub after: Option<Cursor>,
}

impl TicketFilter {
    /// Whether the list is searched for words or a reference.
    pub fn has_search(&self) -> bool {
        self.q.as_deref().is_some_and(|q| !q.trim().is_empty())
    }

    /// Whether, statuses aside, the filter picks tickets by scheme at most.
    fn by_scheme_at_most(&self) -> bool {
        self.contract.is_none()
            && self.plot.is_none()
            && self.priority.is_none()
            && self.category.is_none()
            && self.nominee.is_none()
            && !self.overdue
            && !self.hold_review_due
            && self.complaint.is_none()
            && self.reported_from.is_none()
            && self.reported_to.is_none()
            && self.q.is_none()
    }
}

const SUMMARY_COLUMNS: &str = "t.id, t.number, t.title, t.status, t.priority, t.category, t.plot_id, p.plot_number, p.postcode,
    s.name AS scheme_name, coalesce(nc.name, nu.name) AS nominated_name, t.is_complaint, t.reported_at, t.updated_at,
    t.due_at, t.on_hold_since, t.complaint_received_on,
    CASE WHEN t.is_complaint THEN ARRAY(SELECT cs.stage FROM complaint_stages cs
        WHERE cs.tenant_id = t.tenant_id AND cs.ticket_id = t.id) END AS complaint_done";

/// The page's tickets (`t`, chosen by [`list_query`] from the tickets table alone) joined
/// to their plot, scheme and nominee: lookups for those rows only.
const SUMMARY_JOINS: &str = "
    JOIN plots p ON p.tenant_id = t.tenant_id AND p.id = t.plot_id
    JOIN schemes s ON s.tenant_id = t.tenant_id AND s.id = t.scheme_id
    LEFT JOIN contacts nc ON nc.tenant_id = t.tenant_id AND nc.id = t.nominated_company_id
    LEFT JOIN users nu ON nu.tenant_id = t.tenant_id AND nu.id = t.nominated_user_id";

/// The ticket columns the page and its joins need.
const PAGE_COLUMNS: &str = "t.tenant_id, t.id, t.number, t.title, t.status, t.priority, t.category, t.plot_id,
    t.scheme_id, t.nominated_company_id, t.nominated_user_id, t.is_complaint, t.reported_at, t.updated_at,
    t.due_at, t.on_hold_since, t.complaint_received_on";

/// The WHERE clause of a list: the tenant, the scope, then each filter (statuses only if `with_status`).
fn push_where(
    qb: &mut QueryBuilder<'_, Postgres>,
    tenant: Uuid,
    scope: &TicketScope,
    f: &TicketFilter,
    with_status: bool,
) {
    qb.push(" WHERE t.tenant_id = ").push_bind(tenant);
    match scope {
        TicketScope::Schemes(schemes) => {
            if let Some(ids) = schemes.as_filter() {
                qb.push(" AND t.scheme_id = ANY(")
                    .push_bind(ids.to_vec())
                    .push(")");
            }
        }
        TicketScope::Company(company) => {
            qb.push(" AND t.nominated_company_id = ")
                .push_bind(*company);
        }
    }
    if let Some(id) = f.scheme {
        qb.push(" AND t.scheme_id = ").push_bind(id);
    }
    if let Some(id) = f.contract {
        qb.push(" AND t.contract_id = ").push_bind(id);
    }
    if let Some(id) = f.plot {
        qb.push(" AND t.plot_id = ").push_bind(id);
    }
    if with_status && !f.statuses.is_empty() {
        let statuses: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
        qb.push(" AND t.status = ANY(")
            .push_bind(statuses)
            .push(")");
    }
    if let Some(p) = f.priority {
        qb.push(" AND t.priority = ").push_bind(p.as_str());
    }
    if let Some(c) = f.category {
        qb.push(" AND t.category = ").push_bind(c.as_str());
    }
    match f.nominee {
        Some(Nominee::Company(id)) => {
            qb.push(" AND t.nominated_company_id = ").push_bind(id);
        }
        Some(Nominee::User(id)) => {
            qb.push(" AND t.nominated_user_id = ").push_bind(id);
        }
        None => {}
    }
    if f.hold_review_due {
        qb.push(
            " AND t.status = 'on_hold' AND t.hold_review_on <= (now() AT TIME ZONE 'Europe/London')::date",
        );
    }
    if f.overdue {
        qb.push(" AND t.due_at < now() AND t.on_hold_since IS NULL AND t.status IN ('open', 'in_progress')");
    }
    if let Some(c) = f.complaint {
        qb.push(" AND t.is_complaint = ").push_bind(c);
    }
    if let Some(d) = f.reported_from {
        qb.push(" AND t.reported_at >= (")
            .push_bind(d)
            .push("::date::timestamp AT TIME ZONE 'Europe/London')");
    }
    if let Some(d) = f.reported_to {
        qb.push(" AND t.reported_at < ((")
            .push_bind(d)
            .push("::date + 1)::timestamp AT TIME ZONE 'Europe/London')");
    }
    // A reference ("T-00042") finds that ticket by its number, on the index.
    let reference = f.q.as_deref().filter(|q| {
        let q = q.trim();
        // By characters, not bytes: "Müller" or "’s" must not be cut inside a letter.
        q.len() > 2 && q.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("t-"))
    });
    if let Some(r) = reference.and_then(TicketRef::parse) {
        qb.push(" AND t.number = ").push_bind(r.0);
    } else if let Some(words) = f.q.as_deref().and_then(SearchWords::parse) {
        // Each word as the start of a word of the ticket's title or description, or of its
        // plot's number, address, postcode or homeowners (migrations/0012_search.sql).
        // The matches are one set (a union), not conditions joined by OR, so the planner
        // can start from the few tickets found instead of testing every ticket.
        qb.push(" AND t.id IN (");
        push_word_matches(qb, "ticket_search_words", "ticket_id", tenant, &words);
        qb.push(" UNION ALL SELECT m.id FROM tickets m WHERE m.tenant_id = ")
            .push_bind(tenant)
            .push(" AND m.plot_id IN (");
        push_word_matches(qb, "plot_search_words", "plot_id", tenant, &words);
        qb.push(")");
        if let Some(r) = f.q.as_deref().and_then(TicketRef::parse) {
            qb.push(" UNION ALL SELECT m.id FROM tickets m WHERE m.tenant_id = ")
                .push_bind(tenant)
                .push(" AND m.number = ")
                .push_bind(r.0);
        }
        qb.push(")");
    }
}

/// `SELECT` the records (`id`) of a words table that have, for every search word, a word
/// starting with it. Each word and its bound is its own parameter: a constant in the plan,
/// so the planner knows how many records each word matches, and comparisons of constants
/// are leakproof, so row-level security lets the index answer.
fn push_word_matches(
    qb: &mut QueryBuilder<'_, Postgres>,
    table: &str,
    id: &str,
    tenant: Uuid,
    words: &SearchWords,
) {
    for (i, (word, bound)) in words.words().iter().zip(words.bounds()).enumerate() {
        qb.push(if i == 0 {
            format!("SELECT w.{id} FROM {table} w WHERE w.tenant_id = ")
        } else {
            format!(" AND w.{id} IN (SELECT w.{id} FROM {table} w WHERE w.tenant_id = ")
        })
        .push_bind(tenant)
        .push(" AND w.word >= ")
        .push_bind(word.clone())
        .push(" COLLATE \"C\" AND w.word < ")
        .push_bind(bound)
        .push(" COLLATE \"C\"");
    }
    // Close the IN of every word after the first.
    qb.push(")".repeat(words.words().len() - 1));
}

/// One page of tickets: `limit` rows after the filter's cursor, in its sort order. One statement.
/// The ticket list's one statement (also printed by the benchmark, to run it alone under pgbench).
pub fn list_query<'a>(
    tenant: Uuid,
    scope: &TicketScope,
    f: &'a TicketFilter,
    limit: i64,
) -> QueryBuilder<'a, Postgres> {
    // The page is chosen from the tickets table alone, then joined for its 26 rows.
    let mut qb = QueryBuilder::<Postgres>::new("SELECT ");
    qb.push(SUMMARY_COLUMNS)
        .push(" FROM (SELECT ")
        .push(PAGE_COLUMNS)
        .push(" FROM tickets t");
    push_where(&mut qb, tenant, scope, f, true);
    match (f.sort, f.after) {
        (TicketSort::Due, Some(Cursor { key: Some(k), id })) => {
            qb.push(" AND (t.due_at > ").push_bind(k);
            qb.push(" OR (t.due_at = ")
                .push_bind(k)
                .push(" AND t.id > ")
                .push_bind(id);
            qb.push(") OR t.due_at IS NULL)");
        }
        (TicketSort::Due, Some(Cursor { key: None, id })) => {
            qb.push(" AND t.due_at IS NULL AND t.id > ").push_bind(id);
        }
        (TicketSort::Reported, Some(Cursor { key, id })) => {
            qb.push(" AND (t.reported_at, t.id) < (")
                .push_bind(key)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        (TicketSort::Oldest, Some(Cursor { key, id })) => {
            qb.push(" AND (t.reported_at, t.id) > (")
                .push_bind(key)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        (TicketSort::Updated, Some(Cursor { key, id })) => {
            qb.push(" AND (t.updated_at, t.id) < (")
                .push_bind(key)
                .push(", ")
                .push_bind(id)
                .push(")");
        }
        (_, None) => {}
    }
    let order = match f.sort {
        TicketSort::Due => " ORDER BY t.due_at ASC NULLS LAST, t.id ASC",
        TicketSort::Reported => " ORDER BY t.reported_at DESC, t.id DESC",
        TicketSort::Updated => " ORDER BY t.updated_at DESC, t.id DESC",
        TicketSort::Oldest => " ORDER BY t.reported_at ASC, t.id ASC",
    };
    qb.push(order);
    // The page size is written into the statement, not bound: with a bound limit the
    // planner cannot know it is small, and would never settle on one plan to reuse.
    qb.push(format!(" LIMIT {limit}) t"))
        .push(SUMMARY_JOINS)
        .push(order);
    qb
}

pub async fn list(
    tx: &mut TenantTx,
    scope: &TicketScope,
    f: &TicketFilter,
    limit: i64,
) -> sqlx::Result<Vec<TicketSummary>> {
    let tenant = tx.tenant_id();
    list_query(tenant, scope, f, limit)
        .build_query_as::<TicketSummary>()
        .fetch_all(&mut **tx)
        .await
}

/// What the ticket list shows besides its rows, read in one statement: the count per
/// status under the filters (all statuses), the SLA targets, and, for staff, the
/// choices of the scheme, contract and "nominated to" menus.
pub struct ListExtras {
    pub counts: Vec<(Status, i64)>,
    pub sla: crate::db::sla::Policy,
    pub menus: Option<ListMenus>,
}

#[derive(Default)]
pub struct ListMenus {
    pub schemes: Vec<Choice>,
    pub contracts: Vec<Choice>,
    pub companies: Vec<Choice>,
    pub staff: Vec<Choice>,
}

pub async fn list_extras(
    tx: &mut TenantTx,
    scope: &TicketScope,
    f: &TicketFilter,
) -> sqlx::Result<ListExtras> {
    let row = list_extras_query(tx.tenant_id(), scope, f)
        .build()
        .fetch_one(&mut **tx)
        .await?;
    let counts: sqlx::types::Json<Vec<(String, i64)>> = row.try_get("counts")?;
    let sla: sqlx::types::Json<Vec<(String, i32)>> = row.try_get("sla")?;
    let menus = match scope {
        TicketScope::Company(_) => None,
        TicketScope::Schemes(_) => {
            let menu = |name: &str| -> sqlx::Result<Vec<Choice>> {
                Ok(row.try_get::<sqlx::types::Json<Vec<Choice>>, _>(name)?.0)
            };
            Some(ListMenus {
                schemes: menu("schemes")?,
                contracts: menu("contracts")?,
                companies: menu("companies")?,
                staff: menu("staff")?,
            })
        }
    };
    Ok(ListExtras {
        counts: Status::ALL
            .iter()
            .map(|s| {
                let n = counts
                    .0
                    .iter()
                    .find(|(v, _)| v == s.as_str())
                    .map_or(0, |(_, n)| *n);
                (*s, n)
            })
            .collect(),
        sla: crate::db::sla::Policy::from_rows(sla.0),
        menus,
    })
}

/// The statement behind [`list_extras`] (also run alone by the benchmark).
pub fn list_extras_query<'a>(
    tenant: Uuid,
    scope: &TicketScope,
    f: &'a TicketFilter,
) -> QueryBuilder<'a, Postgres> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "SELECT (SELECT coalesce(json_agg(json_build_array(status, n)), '[]') FROM (",
    );
    match scope {
        // Filtered by scheme at most: add up the kept counts (ticket_status_counts).
        TicketScope::Schemes(schemes) if f.by_scheme_at_most() => {
            qb.push("SELECT t.status, sum(t.tickets)::int8 AS n FROM ticket_status_counts t WHERE t.tenant_id = ")
                .push_bind(tenant);
            if let Some(ids) = schemes.as_filter() {
                qb.push(" AND t.scheme_id = ANY(")
                    .push_bind(ids.to_vec())
                    .push(")");
            }
            if let Some(id) = f.scheme {
                qb.push(" AND t.scheme_id = ").push_bind(id);
            }
        }
        _ => {
            qb.push("SELECT t.status, count(*) AS n FROM tickets t");
            push_where(&mut qb, tenant, scope, f, false);
        }
    }
    qb.push(" GROUP BY t.status) c) AS counts, (SELECT coalesce(json_agg(json_build_array(priority, target_minutes)), '[]') FROM sla_policies WHERE tenant_id = ")
        .push_bind(tenant)
        .push(") AS sla");
    // Staff filter by scheme, contract and nominee; a subcontractor's list has no such menus.
    let schemes_only = match scope {
        TicketScope::Schemes(schemes) => Some(schemes.as_filter().map(<[Uuid]>::to_vec)),
        TicketScope::Company(_) => None,
    };
    if let Some(only) = &schemes_only {
        let menu = |qb: &mut QueryBuilder<'_, Postgres>, from: &str, order: &str| {
            qb.push(format!(
                ", (SELECT coalesce(json_agg(json_build_object('id', x.id, 'name', x.name) ORDER BY {order}), '[]') {from} = "
            ))
            .push_bind(tenant);
        };
        let in_scope = |qb: &mut QueryBuilder<'_, Postgres>, column: &str| {
            if let Some(ids) = only {
                qb.push(format!(" AND {column} = ANY("))
                    .push_bind(ids.clone())
                    .push(")");
            }
        };
        menu(
            &mut qb,
            "FROM schemes x WHERE x.tenant_id",
            "lower(x.name), x.id",
        );
        in_scope(&mut qb, "x.id");
        qb.push(") AS schemes");
        menu(
            &mut qb,
            "FROM (SELECT c.id, s.name || ': ' || c.name AS name, lower(s.name) AS s_sort, lower(c.name) AS c_sort, c.scheme_id, c.tenant_id
                     FROM contracts c JOIN schemes s ON s.tenant_id = c.tenant_id AND s.id = c.scheme_id) x WHERE x.tenant_id",
            "x.s_sort, x.c_sort, x.id",
        );
        in_scope(&mut qb, "x.scheme_id");
        qb.push(") AS contracts");
        menu(
            &mut qb,
            "FROM contacts x WHERE x.kind = 'subcontractor_company' AND x.tenant_id",
            "lower(x.name), x.id",
        );
        qb.push(") AS companies");
        menu(
            &mut qb,
            "FROM users x WHERE x.role IN ('admin', 'staff') AND x.disabled_at IS NULL AND x.tenant_id",
            "lower(x.name), x.id",
        );
        qb.push(") AS staff");
    }
    qb
}

/// A plot's tickets, newest reported first, for the plot page.
pub async fn for_plot(
    tx: &mut TenantTx,
    scope: &TicketScope,
    plot_id: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<TicketSummary>> {
    let filter = TicketFilter {
        plot: Some(plot_id),
        sort: TicketSort::Reported,
        ..TicketFilter::default()
    };
    list(tx, scope, &filter, limit).await
}

/// The tickets of `ids` the scope reaches, as list rows, oldest reported first (for a bulk export).
pub async fn summaries_of(
    tx: &mut TenantTx,
    scope: &TicketScope,
    ids: &[Uuid],
) -> sqlx::Result<Vec<TicketSummary>> {
    let tenant = tx.tenant_id();
    let filter = TicketFilter::default();
    let mut qb = QueryBuilder::<Postgres>::new("SELECT ");
    qb.push(SUMMARY_COLUMNS)
        .push(" FROM (SELECT ")
        .push(PAGE_COLUMNS)
        .push(" FROM tickets t");
    push_where(&mut qb, tenant, scope, &filter, true);
    qb.push(" AND t.id = ANY(")
        .push_bind(ids.to_vec())
        .push(")) t")
        .push(SUMMARY_JOINS)
        .push(" ORDER BY t.reported_at, t.id");
    qb.build_query_as::<TicketSummary>()
        .fetch_all(&mut **tx)
        .await
}
