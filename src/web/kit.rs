//! The small helpers the record pages share: ids from paths (a malformed id is the
//! styled 404), list cursors and query strings, breadcrumbs and select options, form
//! values and audit changes, the 422 answer, and the tail every create handler ends with.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Redirect, Response},
};
use serde_json::{Value, json};
use time::Date;
use uuid::Uuid;

use crate::{
    AppError, Result,
    auth::{CurrentUser, TenantTx},
    db::{self, audit::Changes},
    domain::FormErrors,
};

/// Rows on one page of a record list.
pub(crate) const PAGE_SIZE: usize = 50;

// ---------------------------------------------------------------- shared helpers

/// One step of the breadcrumb trail; the last has no link.
pub(crate) struct Crumb {
    pub href: Option<String>,
    pub label: String,
}

impl Crumb {
    pub fn link(href: impl Into<String>, label: impl Into<String>) -> Self {
        Crumb {
            href: Some(href.into()),
            label: label.into(),
        }
    }
    pub fn here(label: impl Into<String>) -> Self {
        Crumb {
            href: None,
            label: label.into(),
        }
    }
}

/// An option of a `<select>`.
pub(crate) struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl SelectOption {
    pub fn new(value: impl Into<String>, label: impl Into<String>, current: &str) -> Self {
        let value = value.into();
        let selected = value == current;
        SelectOption {
            value,
            label: label.into(),
            selected,
        }
    }
}

/// A record id from the path: anything that is not an id is simply not found.
pub(crate) fn parse_id(raw: &str) -> Result<Uuid> {
    Uuid::parse_str(raw).map_err(|_| AppError::NotFound)
}

/// An optional id from a filter.
pub(crate) fn optional_id(raw: &str) -> Result<Option<Uuid>> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(raw)
        .map(Some)
        .map_err(|_| AppError::BadRequest("Choose a filter value from the list.".into()))
}

/// The `after` cursor of a list page: the last row's sort key and id.
pub(crate) fn parse_after(raw: &str) -> Result<Option<(String, Uuid)>> {
    if raw.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        AppError::BadRequest("That page link is not valid. Start again from the first page.".into())
    };
    let (key, id) = raw.rsplit_once(',').ok_or_else(invalid)?;
    Ok(Some((
        key.to_owned(),
        Uuid::parse_str(id).map_err(|_| invalid())?,
    )))
}

pub(crate) fn cursor(key: &str, id: Uuid) -> String {
    format!("{key},{id}")
}

/// A query string from the non-empty pairs.
pub(crate) fn query_string(path: &str, pairs: &[(&str, &str)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if !v.is_empty() {
            s.append_pair(k, v);
        }
    }
    let q = s.finish();
    if q.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{q}")
    }
}

pub(crate) fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// An optional whole number between `min` and `max`.
pub(crate) fn number_field(
    errors: &mut FormErrors,
    field: &'static str,
    value: &str,
    min: i32,
    max: i32,
) -> Option<i32> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    match value.parse::<i32>() {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            errors.add(field, format!("Enter a whole number from {min} to {max}"));
            None
        }
    }
}

pub(crate) fn date_value(d: Option<Date>) -> Value {
    d.map_or(Value::Null, |d| json!(d.to_string()))
}

/// The audit changes of a new record (`before` None) or of an edit (only the fields that changed).
pub(crate) fn diff(
    before: Option<Vec<(&'static str, Value)>>,
    after: Vec<(&'static str, Value)>,
) -> Changes {
    let mut changes = Changes::new();
    match before {
        None => {
            for (name, value) in after {
                changes = changes.set(name, value);
            }
        }
        Some(before) => {
            for ((name, b), (_, a)) in before.into_iter().zip(after) {
                changes = changes.field(name, b, a);
            }
        }
    }
    changes
}

/// A form shown again with its problems: 422.
pub(crate) fn unprocessable(page: impl IntoResponse) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
}

/// How every create handler ends: a form sent twice (the same `form_key`) goes to the
/// record the first one made, and this copy is rolled back; otherwise the change commits,
/// the user reads `message`, and is sent to `location`.
pub(crate) async fn finish_create(
    mut tx: TenantTx,
    user: &CurrentUser,
    form_key: &str,
    location: &str,
    message: String,
) -> Result<Response> {
    if let Some(earlier) = db::form_keys::resubmitted(&mut tx, form_key, location).await? {
        return Ok(Redirect::to(&earlier).into_response());
    }
    tx.commit().await?;
    user.flash("success", message).await?;
    Ok(Redirect::to(location).into_response())
}
