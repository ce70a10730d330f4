//! The ticket list: filters in the query string, keyset pages, counts per status.

use super::*;

// ---------------------------------------------------------------- the list

/// The list's query string, as typed (kept to re-render the filters and build links).
#[derive(Debug, Default, Clone)]
pub(super) struct ListParams {
    pub(super) q: String,
    pub(super) scheme: String,
    pub(super) contract: String,
    pub(super) plot: String,
    pub(super) statuses: Vec<String>,
    pub(super) priority: String,
    pub(super) category: String,
    pub(super) nominated: String,
    pub(super) overdue: bool,
    pub(super) review: String,
    pub(super) complaint: String,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) sort: String,
    pub(super) after: String,
}

impl ListParams {
    pub(super) fn read(pairs: Vec<(String, String)>) -> ListParams {
        let mut p = ListParams::default();
        for (k, v) in pairs {
            let v = v.trim().to_owned();
            match k.as_str() {
                "q" => p.q = v,
                "scheme" => p.scheme = v,
                "contract" => p.contract = v,
                "plot" => p.plot = v,
                "status" if !v.is_empty() => p.statuses.push(v),
                "priority" => p.priority = v,
                "category" => p.category = v,
                "nominated" => p.nominated = v,
                "overdue" => p.overdue = !v.is_empty(),
                "review" => p.review = v,
                "complaint" => p.complaint = v,
                "from" => p.from = v,
                "to" => p.to = v,
                "sort" => p.sort = v,
                "after" => p.after = v,
                _ => {}
            }
        }
        p
    }

    /// The filter, or a sentence saying which value is wrong.
    pub(super) fn filter(&self) -> std::result::Result<TicketFilter, String> {
        let id = |raw: &str, what: &str| -> std::result::Result<Option<Uuid>, String> {
            if raw.is_empty() {
                return Ok(None);
            }
            Uuid::parse_str(raw).map(Some).map_err(|_| {
                format!("The {what} filter is not valid. Choose a {what} from the list.")
            })
        };
        let mut statuses = Vec::new();
        for s in &self.statuses {
            statuses
                .push(Status::parse(s).ok_or_else(|| format!("“{s}” is not a ticket status."))?);
        }
        let priority = match self.priority.as_str() {
            "" => None,
            v => Some(Priority::parse(v).ok_or_else(|| format!("“{v}” is not a priority."))?),
        };
        let category = match self.category.as_str() {
            "" => None,
            v => Some(Category::parse(v).ok_or_else(|| format!("“{v}” is not a category."))?),
        };
        let nominee = match self.nominated.split_once(':') {
            _ if self.nominated.is_empty() => None,
            Some(("company", id)) => Some(Nominee::Company(Uuid::parse_str(id).map_err(|_| "The “nominated to” filter is not valid.".to_owned())?)),
            Some(("staff", id)) => Some(Nominee::User(Uuid::parse_str(id).map_err(|_| "The “nominated to” filter is not valid.".to_owned())?)),
            _ => return Err("The “nominated to” filter is not valid. Choose a company or a person from the list.".into()),
        };
        let complaint = match self.complaint.as_str() {
            "" => None,
            "yes" => Some(true),
            "no" => Some(false),
            _ => return Err("The complaint filter must be yes or no.".into()),
        };
        let date = |raw: &str, what: &str| {
            parse_optional_date("d", raw)
                .map_err(|_| format!("The “{what}” date must look like 2025-03-31."))
        };
        let reported_from = date(&self.from, "reported from")?;
        let reported_to = date(&self.to, "reported to")?;
        if let (Some(f), Some(t)) = (reported_from, reported_to)
            && t < f
        {
            return Err("The “reported to” date is before the “reported from” date.".into());
        }
        let sort = match self.sort.as_str() {
            "" => TicketSort::Due,
            v => TicketSort::parse(v)
                .ok_or_else(|| format!("“{v}” is not a way to sort tickets."))?,
        };
        let after = match self.after.as_str() {
            "" => None,
            v => Some(Cursor::decode(v).ok_or_else(|| {
                "That page link is not valid. Start again from the first page.".to_owned()
            })?),
        };
        let q = non_empty(&self.q);
        if q.as_ref().is_some_and(|q| q.chars().count() > 200) {
            return Err("Search for 200 characters or fewer.".into());
        }
        Ok(TicketFilter {
            scheme: id(&self.scheme, "scheme")?,
            contract: id(&self.contract, "contract")?,
            plot: id(&self.plot, "plot")?,
            statuses,
            priority,
            category,
            nominee,
            overdue: self.overdue,
            hold_review_due: match self.review.as_str() {
                "" => false,
                "due" => true,
                _ => return Err("The hold review filter must be “due”.".into()),
            },
            complaint,
            reported_from,
            reported_to,
            q,
            sort,
            after,
        })
    }

    /// The list's address with these filters, a different status set and cursor.
    pub(super) fn link(&self, statuses: &[String], after: &str) -> String {
        let mut pairs: Vec<(&str, &str)> = vec![
            ("q", &self.q),
            ("scheme", &self.scheme),
            ("contract", &self.contract),
            ("plot", &self.plot),
        ];
        for s in statuses {
            pairs.push(("status", s));
        }
        pairs.extend([
            ("priority", self.priority.as_str()),
            ("category", &self.category),
            ("nominated", &self.nominated),
            ("overdue", if self.overdue { "1" } else { "" }),
            ("review", &self.review),
            ("complaint", &self.complaint),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", &self.sort),
            ("after", after),
        ]);
        query_string("/tickets", &pairs)
    }
}

pub(super) struct Row {
    pub(super) id: Uuid,
    pub(super) reference: String,
    pub(super) title: String,
    pub(super) plot: String,
    pub(super) plot_id: Uuid,
    pub(super) status_label: &'static str,
    pub(super) status_class: &'static str,
    pub(super) priority_label: &'static str,
    pub(super) priority_class: &'static str,
    pub(super) category: &'static str,
    pub(super) nominated: String,
    pub(super) due: String,
    pub(super) due_label: &'static str,
    pub(super) due_class: &'static str,
    pub(super) reported: String,
    /// "3 Mar 2025" (the time is in the cell's title).
    pub(super) reported_day: String,
    pub(super) due_day: String,
    /// Whole days since it was reported.
    pub(super) days_open: i64,
    pub(super) is_complaint: bool,
    /// A complaint's next stage and the day it is due ("Eight-week letter by 12 Dec"), if any is left.
    pub(super) complaint_next: String,
    pub(super) complaint_class: &'static str,
}

/// A filter in force, shown as a chip that removes it.
pub(super) struct Chip {
    pub(super) label: String,
    pub(super) remove: String,
}

/// The chips for the filters `params` holds (names from the list's menus).
fn active_filters(params: &ListParams, menus: &db::tickets::ListMenus) -> Vec<Chip> {
    let name = |list: &[db::users::Choice], raw: &str| {
        let id = raw.rsplit(':').next().unwrap_or_default();
        list.iter()
            .find(|c| c.id.to_string() == id)
            .map_or_else(|| "chosen".to_owned(), |c| c.name.clone())
    };
    let without = |change: &dyn Fn(&mut ListParams)| {
        let mut p = params.clone();
        change(&mut p);
        p.link(&p.statuses, "")
    };
    let mut chips = Vec::new();
    let mut add = |label: String, change: &dyn Fn(&mut ListParams)| {
        chips.push(Chip {
            label,
            remove: without(change),
        })
    };
    if !params.q.is_empty() {
        add(format!("Search: {}", params.q), &|p| p.q.clear());
    }
    if !params.scheme.is_empty() {
        add(
            format!("Scheme: {}", name(&menus.schemes, &params.scheme)),
            &|p| p.scheme.clear(),
        );
    }
    if !params.contract.is_empty() {
        add(
            format!("Contract: {}", name(&menus.contracts, &params.contract)),
            &|p| p.contract.clear(),
        );
    }
    if !params.nominated.is_empty() {
        let list = if params.nominated.starts_with("staff:") {
            &menus.staff
        } else {
            &menus.companies
        };
        add(
            format!("Nominated to: {}", name(list, &params.nominated)),
            &|p| p.nominated.clear(),
        );
    }
    for s in &params.statuses {
        add(format!("Status: {}", Status::label_of(s)), &|p| {
            p.statuses.retain(|v| v != s)
        });
    }
    if !params.priority.is_empty() {
        add(
            format!("Priority: {}", Priority::label_of(&params.priority)),
            &|p| p.priority.clear(),
        );
    }
    if !params.category.is_empty() {
        add(
            format!("Trade: {}", Category::label_of(&params.category)),
            &|p| p.category.clear(),
        );
    }
    match params.complaint.as_str() {
        "yes" => add("Complaints only".into(), &|p| p.complaint.clear()),
        "no" => add("Not complaints".into(), &|p| p.complaint.clear()),
        _ => {}
    }
    if params.review == "due" {
        add("Hold review due".into(), &|p| p.review.clear());
    }
    if params.overdue {
        add("Overdue only".into(), &|p| p.overdue = false);
    }
    if !params.from.is_empty() {
        add(format!("Reported from {}", params.from), &|p| {
            p.from.clear()
        });
    }
    if !params.to.is_empty() {
        add(format!("Reported to {}", params.to), &|p| p.to.clear());
    }
    chips
}

pub(super) struct StatusCount {
    pub(super) label: &'static str,
    pub(super) count: i64,
    pub(super) href: String,
    pub(super) current: bool,
    pub(super) value: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "tickets/list.html")]
pub(super) struct ListPage {
    pub(super) chrome: Chrome,
    pub(super) rows: Vec<Row>,
    pub(super) counts: Vec<StatusCount>,
    pub(super) total: i64,
    pub(super) all_href: String,
    pub(super) q: String,
    pub(super) plot: String,
    pub(super) from: String,
    pub(super) to: String,
    pub(super) overdue: bool,
    pub(super) review: String,
    pub(super) show_record_filters: bool,
    pub(super) schemes: Vec<SelectOption>,
    pub(super) contracts: Vec<SelectOption>,
    pub(super) statuses: Vec<(SelectOption, bool)>,
    pub(super) priorities: Vec<SelectOption>,
    pub(super) categories: Vec<SelectOption>,
    pub(super) companies: Vec<SelectOption>,
    pub(super) staff: Vec<SelectOption>,
    pub(super) complaint: Vec<SelectOption>,
    pub(super) sorts: Vec<SelectOption>,
    pub(super) next: Option<String>,
    pub(super) first: Option<String>,
    /// Bulk actions are offered (to those who manage tickets).
    /// The filters in force, each with the link that drops it.
    pub(super) chips: Vec<Chip>,
    pub(super) can_bulk: bool,
    /// Whom the bulk action nominates: companies, then staff.
    pub(super) nominees: Vec<SelectOption>,
    /// This list, filters and all (for "every ticket matching the filter").
    pub(super) here: String,
    pub(super) today: String,
}

/// "3 Mar 2025", in UK time.
fn short_day(t: OffsetDateTime) -> String {
    uk_time(t)
        .date()
        .format(format_description!(
            "[day padding:none] [month repr:short] [year]"
        ))
        .unwrap_or_default()
}

/// A complaint's next stage letter and its due day, with the badge for how close it is.
fn complaint_next(
    t: &TicketSummary,
    holidays: &[time::Date],
    today: time::Date,
) -> (String, &'static str) {
    let Some(received) = t.complaint_received_on.filter(|_| t.is_complaint) else {
        return (String::new(), "");
    };
    let done: Vec<ComplaintStage> = t
        .complaint_done
        .iter()
        .flatten()
        .filter_map(|s| ComplaintStage::parse(s))
        .collect();
    let start = clock::complaint_start(received, holidays);
    match clock::next_stage(start, &done) {
        None => ("All stages done".into(), "ok"),
        Some((stage, due)) => {
            let class = if due < today {
                "bad"
            } else if (due - today).whole_days() <= 5 {
                "warn"
            } else {
                "info"
            };
            let day = due
                .format(format_description!(
                    "[day padding:none] [month repr:short] [year]"
                ))
                .unwrap_or_default();
            (format!("{} by {day}", stage.label()), class)
        }
    }
}

pub(super) fn summary_row(
    t: &TicketSummary,
    policy: &db::sla::Policy,
    now: OffsetDateTime,
    holidays: &[time::Date],
) -> Row {
    let (complaint_next, complaint_class) = complaint_next(t, holidays, uk_time(now).date());
    let status = t.status();
    let priority = t.priority();
    let due_state = DueState::of(
        status,
        t.due_at,
        t.on_hold_since,
        policy.target(priority),
        now,
    );
    Row {
        id: t.id,
        reference: t.reference(),
        title: t.title.clone(),
        plot: format!("{} · Plot {}", t.scheme_name, t.plot_number),
        plot_id: t.plot_id,
        status_label: status.label(),
        status_class: status.badge_class(),
        priority_label: priority.label(),
        priority_class: priority.badge_class(),
        category: t.category.label(),
        nominated: t.nominated_name.clone().unwrap_or_default(),
        due: t.due_at.map(when).unwrap_or_default(),
        due_label: due_state.label(),
        due_class: due_state.badge_class(),
        reported: when(t.reported_at),
        reported_day: short_day(t.reported_at),
        due_day: t.due_at.map(short_day).unwrap_or_default(),
        days_open: (now - t.reported_at).whole_days().max(0),
        is_complaint: t.is_complaint,
        complaint_next,
        complaint_class,
    }
}

pub(super) async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<ListPage> {
    let params = ListParams::read(pairs);
    let filter = params.filter().map_err(AppError::BadRequest)?;
    // The list's statement holds only the filters chosen, so it can keep one plan per
    // connection; a search is planned for its words (how many tickets each one matches).
    let mut tx = if filter.has_search() {
        user.begin(&state).await?
    } else {
        user.begin_reusing_plans(&state).await?
    };
    let scope = policy::ticket_scope(&mut tx, &user).await?;
    let mut found = db::tickets::list(&mut tx, &scope, &filter, PAGE_SIZE as i64 + 1).await?;
    let db::tickets::ListExtras { counts, sla, menus } =
        db::tickets::list_extras(&mut tx, &scope, &filter).await?;
    // Complaint deadlines skip the tenant's own holidays: read them only if a complaint is shown.
    let holidays = if found.iter().any(|t| t.is_complaint) {
        db::sla::holiday_days(&mut tx).await?
    } else {
        Vec::new()
    };
    tx.commit().await?;

    let more = found.len() > PAGE_SIZE;
    found.truncate(PAGE_SIZE);
    let next = more
        .then(|| {
            found.last().map(|last| {
                params.link(&params.statuses, &Cursor::after(last, filter.sort).encode())
            })
        })
        .flatten();
    let first = (!params.after.is_empty()).then(|| params.link(&params.statuses, ""));
    let now = clock::now();
    let rows = found
        .iter()
        .map(|t| summary_row(t, &sla, now, &holidays))
        .collect();
    let total = counts.iter().map(|(_, n)| n).sum();
    let counts = counts
        .iter()
        .map(|(s, n)| StatusCount {
            label: s.label(),
            count: *n,
            href: params.link(&[s.as_str().to_owned()], ""),
            current: params.statuses.len() == 1 && params.statuses[0] == s.as_str(),
            value: s.as_str(),
        })
        .collect();
    let has_menus = menus.is_some();
    let menus = menus.unwrap_or_default();
    let chips = active_filters(&params, &menus);
    let choice = |list: Vec<db::users::Choice>, current: &str, prefix: &str| -> Vec<SelectOption> {
        list.into_iter()
            .map(|c| SelectOption::new(format!("{prefix}{}", c.id), c.name, current))
            .collect()
    };
    Ok(ListPage {
        chrome: user.chrome("Tickets").await?,
        rows,
        counts,
        total,
        all_href: params.link(&[], ""),
        q: params.q.clone(),
        plot: params.plot.clone(),
        from: params.from.clone(),
        to: params.to.clone(),
        overdue: params.overdue,
        review: params.review.clone(),
        show_record_filters: has_menus,
        schemes: choice(menus.schemes, &params.scheme, ""),
        contracts: choice(menus.contracts, &params.contract, ""),
        statuses: Status::ALL
            .iter()
            .map(|s| {
                (
                    SelectOption::new(s.as_str(), s.label(), ""),
                    params.statuses.iter().any(|v| v == s.as_str()),
                )
            })
            .collect(),
        priorities: options(
            Priority::ALL,
            Priority::as_str,
            Priority::label,
            &params.priority,
        ),
        categories: options(
            Category::ALL,
            Category::as_str,
            Category::label,
            &params.category,
        ),
        nominees: choice(menus.companies.clone(), "", "company:")
            .into_iter()
            .chain(
                choice(menus.staff.clone(), "", "staff:")
                    .into_iter()
                    .map(|o| SelectOption {
                        value: o.value.replacen("staff:", "user:", 1),
                        ..o
                    }),
            )
            .filter(|o| !o.value.is_empty())
            .collect(),
        companies: choice(menus.companies, &params.nominated, "company:"),
        staff: choice(menus.staff, &params.nominated, "staff:"),
        complaint: vec![
            SelectOption::new("", "Any", &params.complaint),
            SelectOption::new("yes", "Complaints only", &params.complaint),
            SelectOption::new("no", "Not complaints", &params.complaint),
        ],
        sorts: TicketSort::ALL
            .iter()
            .map(|s| {
                SelectOption::new(
                    s.as_str(),
                    s.label(),
                    if params.sort.is_empty() {
                        "due"
                    } else {
                        &params.sort
                    },
                )
            })
            .collect(),
        next,
        first,
        chips,
        can_bulk: policy::may_manage_tickets(&user).is_ok(),
        here: params.link(&params.statuses, ""),
        today: clock::today().to_string(),
    })
}
