//! The admin's audit trail: every change in the tenant, newest first, in words (each
//! record by its name, linked to its page; times in UK time), with filters as choices,
//! keyset pagination ("Older" carries the last row's time and id) and a download of
//! the filtered entries as a workbook ([`download`]).

mod download;

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{RawQuery, State},
    routing::get,
};
use time::{
    Date, OffsetDateTime, format_description::well_known::Rfc3339, macros::format_description,
};
use uuid::Uuid;

use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, policy},
    db::{
        self,
        audit::{AuditFilter, AuditRow},
        users::UserRecord,
    },
    domain::{TicketRef, audit as words, clock},
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/audit", get(audit_trail))
        .route("/admin/audit/download", get(download::download))
}

const PAGE_SIZE: i64 = 50;

/// The filters as typed, to show them back in the form and carry them to the next page.
#[derive(Debug, Default)]
struct Query {
    user: String,
    record_type: String,
    record_id: String,
    action: String,
    from: String,
    to: String,
    before: String,
}

impl Query {
    fn from_raw(raw: Option<&str>) -> Self {
        let mut q = Query::default();
        for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            let value = value.trim().to_owned();
            match key.as_ref() {
                "user" => q.user = value,
                "record_type" => q.record_type = value,
                "record_id" => q.record_id = value,
                "action" => q.action = value,
                "from" => q.from = value,
                "to" => q.to = value,
                "before" => q.before = value,
                _ => {}
            }
        }
        q
    }

    fn filter(&self) -> Result<AuditFilter> {
        let bad = |m: &str| AppError::BadRequest(m.to_owned());
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        let uuid = |s: &str, m: &str| {
            non_empty(s)
                .map(|v| Uuid::parse_str(&v).map_err(|_| bad(m)))
                .transpose()
        };
        let date = |s: &str, m: &str| {
            non_empty(s)
                .map(|v| {
                    Date::parse(&v, format_description!("[year]-[month]-[day]")).map_err(|_| bad(m))
                })
                .transpose()
        };
        let word = |s: &str, m: &str| match non_empty(s) {
            Some(v)
                if v.len() > 100
                    || !v.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'
                    }) =>
            {
                Err(bad(m))
            }
            other => Ok(other),
        };
        let from = date(&self.from, "The 'from' date must look like 2025-01-31.")?;
        let to = date(&self.to, "The 'to' date must look like 2025-01-31.")?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(bad("The 'from' date is after the 'to' date."));
        }
        let before = match non_empty(&self.before) {
            None => None,
            Some(v) => {
                let invalid =
                    || bad("That page link is not valid. Start again from the first page.");
                let (at, id) = v.rsplit_once(',').ok_or_else(invalid)?;
                Some((
                    OffsetDateTime::parse(at, &Rfc3339).map_err(|_| invalid())?,
                    Uuid::parse_str(id).map_err(|_| invalid())?,
                ))
            }
        };
        Ok(AuditFilter {
            user_id: uuid(&self.user, "Choose a user from the list.")?,
            record_type: word(
                &self.record_type,
                "A record type is a word like 'user' or 'ticket'.",
            )?,
            record_id: uuid(
                &self.record_id,
                "A record id looks like 0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b.",
            )?,
            action: word(
                &self.action,
                "An action is made of lower-case letters, digits, dots and underscores, like 'user.'.",
            )?,
            // The days are UK days, as the times on the page are UK times.
            from: from.map(|d| clock::from_uk_time(d.midnight())),
            until: to.map(|d| clock::from_uk_time(d.next_day().unwrap_or(d).midnight())),
            before,
        })
    }

    /// The page's address with the filters, and `before` set to `before`.
    fn href(&self, before: Option<&str>) -> String {
        format!("/admin/audit?{}", self.query_string(before))
    }

    /// The download's address with the filters.
    fn download_href(&self) -> String {
        format!("/admin/audit/download?{}", self.query_string(None))
    }

    /// The query string of the filters, with `before` set to `before`.
    fn query_string(&self, before: Option<&str>) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("user", &self.user),
            ("record_type", &self.record_type),
            ("record_id", &self.record_id),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if !v.is_empty() {
                s.append_pair(k, v);
            }
        }
        if let Some(b) = before {
            s.append_pair("before", b);
        }
        s.finish()
    }
}

/// A choice in a filter's list.
struct Choice {
    value: String,
    label: String,
}

/// The record an entry is about, by its name, and its page when it has one.
pub(crate) struct RecordView {
    pub kind: String,
    pub name: String,
    pub link: Option<String>,
}

impl RecordView {
    fn of(row: &AuditRow) -> Self {
        let kind = words::record_type(&row.record_type);
        let ticket = row.record_ticket_number.map(|n| TicketRef(n).to_string());
        let name = match (&row.record_name, ticket, row.record_id) {
            (Some(name), Some(ticket), _) => format!("{name} on {ticket}"),
            (None, Some(ticket), _) => ticket,
            (Some(name), None, _) => name.clone(),
            // Gone (or never a record of its own): the name the change gave it, else its id.
            (None, None, id) => match (words::name_in(&row.changes), id) {
                (Some(name), _) => name,
                (None, Some(id)) => id.to_string(),
                (None, None) => String::new(),
            },
        };
        RecordView {
            kind,
            name,
            link: row.record_link.clone(),
        }
    }
}

/// Who did it: the user's name, or the API token or the system.
pub(crate) fn actor(row: &AuditRow) -> String {
    match (&row.actor_name, row.actor_token_id) {
        (Some(name), Some(_)) => format!("{name} (API token)"),
        (Some(name), None) => name.clone(),
        (None, Some(_)) => "API token".into(),
        (None, None) => "System".into(),
    }
}

/// "3 Dec 2026, 14:05:09", in UK time (summer time included).
pub(crate) fn uk_when(t: OffsetDateTime) -> String {
    let t = clock::uk_time(t);
    t.format(format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute]:[second]"
    ))
    .unwrap_or_else(|_| t.to_string())
}

struct EventView {
    time: String,
    actor: String,
    action: String,
    action_code: String,
    record: RecordView,
    changes: Vec<String>,
    ip: String,
    request_id: String,
}

impl From<&AuditRow> for EventView {
    fn from(row: &AuditRow) -> Self {
        EventView {
            time: uk_when(row.occurred_at),
            actor: actor(row),
            action: words::action(&row.action),
            action_code: row.action.clone(),
            record: RecordView::of(row),
            changes: words::changes(&row.changes),
            ip: row.ip.clone().unwrap_or_default(),
            request_id: row.request_id.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    chrome: Chrome,
    q: Query,
    users: Vec<Choice>,
    record_types: Vec<Choice>,
    actions: Vec<Choice>,
    download: String,
    events: Vec<EventView>,
    older: Option<String>,
    paged: bool,
    first_page: String,
}

async fn audit_trail(
    State(state): State<AppState>,
    user: CurrentUser,
    RawQuery(raw): RawQuery,
) -> Result<AuditPage> {
    policy::require_admin(&user)?;
    crate::web::query::check(raw.as_deref())?;
    let q = Query::from_raw(raw.as_deref());
    let filter = q.filter()?;
    let mut tx = user.begin(&state).await?;
    let mut rows = db::audit::list(&mut tx, &filter, PAGE_SIZE + 1).await?;
    let users: Vec<UserRecord> = db::users::list(&mut tx, None).await?;
    let (record_types, actions) = db::audit::vocabulary(&mut tx).await?;
    tx.commit().await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let older = match rows.last() {
        Some(last) if more => {
            let at = last
                .occurred_at
                .format(&Rfc3339)
                .map_err(|e| AppError::Internal(e.into()))?;
            Some(q.href(Some(&format!("{at},{}", last.id))))
        }
        _ => None,
    };
    Ok(AuditPage {
        chrome: user.chrome("Audit trail").await?,
        users: users
            .iter()
            .map(|u| Choice {
                value: u.id.to_string(),
                label: format!("{} ({})", u.name, u.email),
            })
            .collect(),
        record_types: choices(record_types, &q.record_type, words::record_type),
        actions: choices(actions, &q.action, words::action),
        download: q.download_href(),
        events: rows.iter().map(EventView::from).collect(),
        older,
        paged: filter.before.is_some(),
        first_page: q.href(None),
        q,
    })
}

/// Codes as choices, in the order of their words (the chosen one too, when the trail has none of it).
fn choices(mut codes: Vec<String>, chosen: &str, words: fn(&str) -> String) -> Vec<Choice> {
    if !chosen.is_empty() && !codes.iter().any(|c| c == chosen) {
        codes.push(chosen.to_owned());
    }
    let mut choices: Vec<Choice> = codes
        .into_iter()
        .map(|code| Choice {
            label: words(&code),
            value: code,
        })
        .collect();
    choices.sort_by(|a, b| a.label.cmp(&b.label));
    choices
}
