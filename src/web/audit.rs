//! The admin's audit trail: every change in the tenant, newest first, with filters
//! and keyset pagination ("Older" carries the last row's time and id).

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Router,
    extract::{RawQuery, State},
    routing::get,
};
use serde_json::Value;
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
    web::chrome::Chrome,
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/audit", get(audit_trail))
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
            from: from.map(|d| d.midnight().assume_utc()),
            until: to.map(|d| d.next_day().unwrap_or(d).midnight().assume_utc()),
            before,
        })
    }

    /// The query string of the filters, with `before` set to `before`.
    fn href(&self, before: Option<&str>) -> String {
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
        format!("/admin/audit?{}", s.finish())
    }
}

struct UserOption {
    id: String,
    name: String,
}

struct EventView {
    time: String,
    actor: String,
    action: String,
    record: String,
    changes: Vec<String>,
    ip: String,
    request_id: String,
}

fn compact(value: &Value) -> String {
    match value {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "(none)".into(),
        Value::Array(items) => items.iter().map(compact).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn changes(value: &Value) -> Vec<String> {
    let Value::Object(map) = value else {
        return Vec::new();
    };
    map.iter()
        .map(|(field, v)| match v {
            Value::Object(o) if o.contains_key("after") => match o.get("before") {
                Some(before) => format!("{field}: {} → {}", compact(before), compact(&o["after"])),
                None => format!("{field}: {}", compact(&o["after"])),
            },
            other => format!("{field}: {}", compact(other)),
        })
        .collect()
}

impl From<&AuditRow> for EventView {
    fn from(row: &AuditRow) -> Self {
        let actor = match (&row.actor_name, row.actor_user_id, row.actor_token_id) {
            (Some(name), _, Some(_)) => format!("{name} (API token)"),
            (Some(name), _, None) => name.clone(),
            (None, _, Some(_)) => "token".into(),
            (None, _, None) => "system".into(),
        };
        let t = row.occurred_at;
        EventView {
            time: format!(
                "{} {:02}:{:02}:{:02}",
                t.date(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            actor,
            action: row.action.clone(),
            record: match row.record_id {
                Some(id) => format!("{} {id}", row.record_type),
                None => row.record_type.clone(),
            },
            changes: changes(&row.changes),
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
    users: Vec<UserOption>,
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
            .map(|u| UserOption {
                id: u.id.to_string(),
                name: format!("{} ({})", u.name, u.email),
            })
            .collect(),
        events: rows.iter().map(EventView::from).collect(),
        older,
        paged: filter.before.is_some(),
        first_page: q.href(None),
        q,
    })
}
