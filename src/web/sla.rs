//! The SLA policy page (admins): the target per priority, and the tenant's
//! extra holidays that complaint clocks skip along with the bank holidays.

use askama::Template;
use askama_web::WebTemplate;
use axum::{
    Form, Router,
    extract::State,
    response::{IntoResponse, Redirect, Response},
    routing::{get, post},
};
use serde::Deserialize;
use time::Duration;

use super::kit::unprocessable;
use crate::{
    AppState, Result,
    auth::{CurrentUser, TenantTx, policy},
    db::{
        self,
        audit::{self, Changes},
    },
    domain::{FormErrors, Priority, long_date, parse_optional_date},
    web::{chrome::Chrome, tickets::span},
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/sla", get(page).post(save_targets))
        .route("/admin/sla/holidays", post(add_holiday))
        .route("/admin/sla/holidays/remove", post(remove_holiday))
}

/// The largest target the database takes: a year.
const MAX_MINUTES: i64 = 525_600;

struct TargetRow {
    key: &'static str,
    label: &'static str,
    amount: String,
    unit: &'static str,
    default: String,
}

struct HolidayRow {
    day: String,
    label: String,
    name: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "admin/sla.html")]
struct SlaPage {
    chrome: Chrome,
    targets: Vec<TargetRow>,
    holidays: Vec<HolidayRow>,
    errors: FormErrors,
    holiday_day: String,
    holiday_name: String,
}

/// "12" hours or "7" days: days when the target is whole days.
fn amount_and_unit(d: Duration) -> (String, &'static str) {
    let minutes = d.whole_minutes();
    if minutes % 1440 == 0 {
        ((minutes / 1440).to_string(), "days")
    } else if minutes % 60 == 0 {
        ((minutes / 60).to_string(), "hours")
    } else {
        (format!("{:.2}", minutes as f64 / 60.0), "hours")
    }
}

async fn build(
    tx: &mut TenantTx,
    user: &CurrentUser,
    errors: FormErrors,
    typed: Option<&TargetsForm>,
    holiday: (String, String),
) -> Result<SlaPage> {
    let sla = db::sla::policy(tx).await?;
    let holidays = db::sla::holidays(tx).await?;
    let targets = Priority::ALL
        .iter()
        .map(|p| {
            let (amount, unit) = amount_and_unit(sla.target(*p));
            let (amount, unit) = match typed {
                Some(f) => {
                    let (a, u) = f.get(*p);
                    (a.to_owned(), if u == "days" { "days" } else { "hours" })
                }
                None => (amount, unit),
            };
            TargetRow {
                key: p.as_str(),
                label: p.label(),
                amount,
                unit,
                default: span(p.default_target()),
            }
        })
        .collect();
    Ok(SlaPage {
        chrome: user.chrome("SLA policy").await?,
        targets,
        holidays: holidays
            .into_iter()
            .map(|h| HolidayRow {
                day: h.day.to_string(),
                label: format!("{} ({})", long_date(h.day), h.day.weekday()),
                name: h.name,
            })
            .collect(),
        errors,
        holiday_day: holiday.0,
        holiday_name: holiday.1,
    })
}

async fn page(State(state): State<AppState>, user: CurrentUser) -> Result<SlaPage> {
    policy::require_admin(&user)?;
    let mut tx = user.begin(&state).await?;
    let page = build(
        &mut tx,
        &user,
        FormErrors::default(),
        None,
        Default::default(),
    )
    .await?;
    tx.commit().await?;
    Ok(page)
}

#[derive(Deserialize, Default)]
struct TargetsForm {
    #[serde(default)]
    emergency: String,
    #[serde(default)]
    emergency_unit: String,
    #[serde(default)]
    high: String,
    #[serde(default)]
    high_unit: String,
    #[serde(default)]
    medium: String,
    #[serde(default)]
    medium_unit: String,
    #[serde(default)]
    low: String,
    #[serde(default)]
    low_unit: String,
}

impl TargetsForm {
    fn get(&self, p: Priority) -> (&str, &str) {
        match p {
            Priority::Emergency => (&self.emergency, &self.emergency_unit),
            Priority::High => (&self.high, &self.high_unit),
            Priority::Medium => (&self.medium, &self.medium_unit),
            Priority::Low => (&self.low, &self.low_unit),
        }
    }
}

/// Minutes from an amount of hours or days (hours may have decimals, e.g. 1.5).
fn minutes(amount: &str, unit: &str) -> Option<i64> {
    let amount: f64 = amount.trim().parse().ok()?;
    if !amount.is_finite() || amount <= 0.0 {
        return None;
    }
    let per = match unit {
        "days" => 1440.0,
        "hours" => 60.0,
        _ => return None,
    };
    let m = (amount * per).round() as i64;
    (1..=MAX_MINUTES).contains(&m).then_some(m)
}

async fn save_targets(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<TargetsForm>,
) -> Result<Response> {
    policy::require_admin(&user)?;
    let mut tx = user.begin(&state).await?;
    let mut errors = FormErrors::default();
    let mut wanted = Vec::new();
    for p in Priority::ALL {
        let (amount, unit) = form.get(*p);
        match minutes(amount, unit) {
            Some(m) => wanted.push((*p, m)),
            None => errors.add(
                p.as_str(),
                "Enter a target of more than zero, up to a year, in hours or days",
            ),
        }
    }
    if !errors.is_empty() {
        let page = build(&mut tx, &user, errors, Some(&form), Default::default()).await?;
        return Ok(unprocessable(page));
    }
    let before = db::sla::policy(&mut tx).await?;
    let mut changes = Changes::new();
    for (p, m) in wanted {
        let old = before.target(p).whole_minutes();
        if old != m {
            db::sla::set_target(&mut tx, p, i32::try_from(m).unwrap_or(i32::MAX)).await?;
            changes = changes.field(&format!("{}_target_minutes", p.as_str()), old, m);
        }
    }
    if changes.is_empty() {
        tx.commit().await?;
        user.flash("info", "Nothing was changed.").await?;
    } else {
        audit::record(
            &mut tx,
            &user.actor(),
            "sla.updated",
            "sla_policy",
            None,
            changes,
        )
        .await?;
        tx.commit().await?;
        user.flash(
            "success",
            "SLA targets saved. New tickets use them; existing tickets keep their due times.",
        )
        .await?;
    }
    Ok(Redirect::to("/admin/sla").into_response())
}

#[derive(Deserialize, Default)]
struct HolidayForm {
    #[serde(default)]
    day: String,
    #[serde(default)]
    name: String,
}

async fn add_holiday(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<HolidayForm>,
) -> Result<Response> {
    policy::require_admin(&user)?;
    let mut tx = user.begin(&state).await?;
    let mut errors = FormErrors::default();
    let day = match errors.check(parse_optional_date("holiday_day", &form.day)) {
        Some(Some(d)) => Some(d),
        Some(None) => {
            errors.add("holiday_day", "Enter the date of the holiday");
            None
        }
        None => None,
    };
    let name = errors.text(
        "holiday_name",
        &form.name,
        100,
        Some("a name, like “Office closed”"),
    );
    let Some(day) = day.filter(|_| errors.is_empty()) else {
        let page = build(&mut tx, &user, errors, None, (form.day, form.name)).await?;
        return Ok(unprocessable(page));
    };
    if !db::sla::add_holiday(&mut tx, day, &name).await? {
        errors.add("holiday_day", "That day is already a holiday");
        let page = build(&mut tx, &user, errors, None, (form.day, form.name)).await?;
        return Ok(unprocessable(page));
    }
    audit::record(
        &mut tx,
        &user.actor(),
        "sla.holiday_added",
        "tenant_holiday",
        None,
        Changes::new()
            .set("day", day.to_string())
            .set("name", name.clone()),
    )
    .await?;
    tx.commit().await?;
    user.flash("success", format!("{} added as a holiday.", long_date(day)))
        .await?;
    Ok(Redirect::to("/admin/sla").into_response())
}

async fn remove_holiday(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<HolidayForm>,
) -> Result<Response> {
    policy::require_admin(&user)?;
    let day = parse_optional_date("day", &form.day)
        .ok()
        .flatten()
        .ok_or_else(|| {
            crate::AppError::BadRequest("Choose a holiday to remove from the list.".into())
        })?;
    let mut tx = user.begin(&state).await?;
    let Some(name) = db::sla::remove_holiday(&mut tx, day).await? else {
        return Err(crate::AppError::NotFound);
    };
    audit::record(
        &mut tx,
        &user.actor(),
        "sla.holiday_removed",
        "tenant_holiday",
        None,
        Changes::new()
            .field("day", day.to_string(), Option::<String>::None)
            .note("name", name),
    )
    .await?;
    tx.commit().await?;
    user.flash(
        "success",
        format!("{} is no longer a holiday.", long_date(day)),
    )
    .await?;
    Ok(Redirect::to("/admin/sla").into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_read_in_hours_or_days() {
        assert_eq!(minutes("12", "hours"), Some(720));
        assert_eq!(minutes("1.5", "hours"), Some(90));
        assert_eq!(minutes("7", "days"), Some(10_080));
        assert_eq!(minutes("0", "days"), None);
        assert_eq!(minutes("366", "days"), None);
        assert_eq!(minutes("x", "hours"), None);
        assert_eq!(minutes("3", "weeks"), None);
        assert_eq!(amount_and_unit(Duration::hours(12)), ("12".into(), "hours"));
        assert_eq!(amount_and_unit(Duration::days(28)), ("28".into(), "days"));
    }
}
