//! The diary: appointments by day or by week (Monday to Sunday), narrowed by
//! scheme, subcontractor and engineer (whom the visit is booked with), with
//! no-access and abortive visits marked and cancelled ones struck through; then
//! the jobs a company has accepted that have no visit booked, and the visits up
//! to today whose outcome nobody has recorded.
//!
//! Staff, admins and the out-of-hours role see the tickets their scope reaches
//! (a scheme-restricted user only their schemes); a subcontractor sees only the
//! jobs nominated to their own company, without the scheme and company menus.

use askama::Template;
use askama_web::WebTemplate;
use axum::{Router, extract::State, routing::get};
use serde::Deserialize;
use time::{Date, Duration, macros::format_description};
use uuid::Uuid;

use super::{
    appointments::status_label,
    kit::{SelectOption, query_string},
};
use crate::{
    AppError, AppState, Result,
    auth::{CurrentUser, policy},
    db::{
        self,
        diary::{DiaryFilter, DiaryVisit, UnbookedJob},
    },
    domain::{Status, clock, long_date, when},
    tickets::hhmm,
    web::{chrome::Chrome, query::Query},
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/diary", get(index))
}

/// Rows shown in each of the two lists below the diary.
const LIST_CAP: i64 = 50;

/// The diary's query string, as typed (kept to re-render the filters and build links).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DiaryParams {
    pub view: String,
    pub day: String,
    pub scheme: String,
    pub company: String,
    pub engineer: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Day,
    Week,
}

impl DiaryParams {
    fn trimmed(self) -> DiaryParams {
        DiaryParams {
            view: self.view.trim().to_owned(),
            day: self.day.trim().to_owned(),
            scheme: self.scheme.trim().to_owned(),
            company: self.company.trim().to_owned(),
            engineer: self.engineer.trim().to_owned(),
        }
    }

    fn view(&self) -> std::result::Result<View, String> {
        match self.view.as_str() {
            "" | "week" => Ok(View::Week),
            "day" => Ok(View::Day),
            _ => Err("The diary shows a day or a week: choose one of those.".into()),
        }
    }

    /// The day asked for, or today in the UK.
    fn day(&self) -> std::result::Result<Date, String> {
        if self.day.is_empty() {
            return Ok(clock::today());
        }
        let day = Date::parse(&self.day, format_description!("[year]-[month]-[day]"))
            .map_err(|_| "The day must be a real date like 2025-03-31.".to_owned())?;
        if !(1900..=2199).contains(&day.year()) {
            return Err("Choose a day between the years 1900 and 2199.".into());
        }
        Ok(day)
    }

    fn filter(&self) -> std::result::Result<DiaryFilter, String> {
        let id = |raw: &str, what: &str| -> std::result::Result<Option<Uuid>, String> {
            if raw.is_empty() {
                return Ok(None);
            }
            Uuid::parse_str(raw).map(Some).map_err(|_| {
                format!("The {what} filter is not valid. Choose a {what} from the list.")
            })
        };
        if self.engineer.chars().count() > 200 {
            return Err("The engineer filter is too long: choose a name from the list.".into());
        }
        Ok(DiaryFilter {
            scheme: id(&self.scheme, "scheme")?,
            company: id(&self.company, "subcontractor")?,
            engineer: (!self.engineer.is_empty()).then(|| self.engineer.clone()),
        })
    }

    /// The diary's address with these filters, for `view` ("day" or "week") and `day` (empty: today).
    fn link(&self, view: View, day: &str) -> String {
        let view = match view {
            View::Day => "day",
            View::Week => "",
        };
        query_string(
            "/diary",
            &[
                ("view", view),
                ("day", day),
                ("scheme", &self.scheme),
                ("company", &self.company),
                ("engineer", &self.engineer),
            ],
        )
    }
}

/// An appointment as the diary lists it.
struct VisitView {
    id: String,
    ticket_id: String,
    reference: String,
    title: String,
    day: String,
    window: String,
    address: String,
    scheme: String,
    company: String,
    engineer: String,
    status_label: &'static str,
    badge: &'static str,
    /// The ticket ended in an abortive visit.
    abortive: bool,
    /// Shown struck through.
    cancelled: bool,
    /// The ticket page's appointment, where the outcome is recorded.
    outcome_href: String,
}

impl VisitView {
    fn of(v: &DiaryVisit) -> VisitView {
        let (status_label, badge) = status_label(&v.status);
        VisitView {
            id: v.id.to_string(),
            ticket_id: v.ticket_id.to_string(),
            reference: v.reference(),
            title: v.ticket_title.clone(),
            day: long_date(v.day),
            window: format!("{}–{}", hhmm(v.window_start), hhmm(v.window_end)),
            address: v.address(),
            scheme: v.scheme_name.clone(),
            company: v.company_name.clone().unwrap_or_default(),
            engineer: v.with_whom.clone(),
            status_label,
            badge,
            abortive: v.ticket_status == Status::AbortiveVisit.as_str(),
            cancelled: v.status == "cancelled",
            outcome_href: format!("/tickets/{}#appointment-{}", v.ticket_id, v.id),
        }
    }
}

/// One day of the diary.
struct DayColumn {
    /// "Monday 1 December"
    label: String,
    /// "2025-12-01", for the day view's link.
    iso: String,
    day_href: String,
    is_today: bool,
    visits: Vec<VisitView>,
}

struct UnbookedView {
    ticket_id: String,
    reference: String,
    title: String,
    address: String,
    scheme: String,
    company: String,
    status_label: &'static str,
    reported: String,
    accepted: String,
}

impl UnbookedView {
    fn of(j: &UnbookedJob) -> UnbookedView {
        UnbookedView {
            ticket_id: j.ticket_id.to_string(),
            reference: j.reference(),
            title: j.ticket_title.clone(),
            address: j.address(),
            scheme: j.scheme_name.clone(),
            company: j.company_name.clone(),
            status_label: Status::label_of(&j.ticket_status),
            reported: when(j.reported_at),
            accepted: j.accepted_at.map(when).unwrap_or_default(),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "diary/index.html")]
struct DiaryPage {
    chrome: Chrome,
    heading: String,
    is_week: bool,
    /// The day shown (or the week's day asked for), for the date field.
    day: String,
    prev_href: Option<String>,
    next_href: Option<String>,
    today_href: String,
    day_view_href: String,
    week_view_href: String,
    days: Vec<DayColumn>,
    /// How many appointments the days hold.
    visit_count: usize,
    /// Staff filter by scheme and subcontractor; a subcontractor's diary is their company's.
    show_record_filters: bool,
    schemes: Vec<SelectOption>,
    companies: Vec<SelectOption>,
    engineers: Vec<SelectOption>,
    filtered: bool,
    unbooked: Vec<UnbookedView>,
    unbooked_total: i64,
    /// The ticket list, when the unbooked list is cut short.
    unbooked_more_href: Option<String>,
    pending: Vec<VisitView>,
    pending_capped: bool,
}

fn day_label(d: Date) -> String {
    format!("{} {} {}", d.weekday(), d.day(), d.month())
}

async fn index(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(params): Query<DiaryParams>,
) -> Result<DiaryPage> {
    let params = params.trimmed();
    let view = params.view().map_err(AppError::BadRequest)?;
    let day = params.day().map_err(AppError::BadRequest)?;
    let filter = params.filter().map_err(AppError::BadRequest)?;
    let (from, to) = match view {
        View::Day => (day, day),
        View::Week => {
            let monday = day
                .checked_sub(Duration::days(
                    day.weekday().number_days_from_monday().into(),
                ))
                .ok_or_else(|| AppError::BadRequest("That week is out of range.".into()))?;
            let sunday = monday
                .checked_add(Duration::days(6))
                .ok_or_else(|| AppError::BadRequest("That week is out of range.".into()))?;
            (monday, sunday)
        }
    };
    let today = clock::today();

    let mut tx = user.begin(&state).await?;
    let scope = policy::ticket_scope(&mut tx, &user).await?;
    let visits = db::diary::visits(&mut tx, &scope, &filter, from, to).await?;
    let names = db::diary::engineers(&mut tx, &scope, &filter, from, to).await?;
    let unbooked = db::diary::unbooked(&mut tx, &scope, &filter, today, LIST_CAP).await?;
    let pending = db::diary::without_outcome(&mut tx, &scope, &filter, today, LIST_CAP).await?;
    let schemes = db::diary::schemes(&mut tx, &scope).await?;
    let companies = db::diary::companies(&mut tx, &scope).await?;
    tx.commit().await?;

    let step = match view {
        View::Day => Duration::days(1),
        View::Week => Duration::days(7),
    };
    // A week's neighbours start on their Mondays; a day's are the days either side.
    let near = |d: Option<Date>| d.map(|d| params.link(view, &d.to_string()));
    let mut days = Vec::new();
    let mut d = from;
    loop {
        days.push(DayColumn {
            label: day_label(d),
            iso: d.to_string(),
            day_href: params.link(View::Day, &d.to_string()),
            is_today: d == today,
            visits: visits
                .iter()
                .filter(|v| v.day == d)
                .map(VisitView::of)
                .collect(),
        });
        match d.next_day() {
            Some(next) if next <= to => d = next,
            _ => break,
        }
    }
    let heading = match view {
        View::Day => format!("{} {}", day.weekday(), long_date(day)),
        View::Week => format!("Week of {} {}", from.weekday(), long_date(from)),
    };
    let mut engineers: Vec<SelectOption> = names
        .iter()
        .map(|n| SelectOption::new(n.as_str(), n.as_str(), &params.engineer))
        .collect();
    if !params.engineer.is_empty() && !names.contains(&params.engineer) {
        engineers.push(SelectOption::new(
            params.engineer.as_str(),
            params.engineer.as_str(),
            &params.engineer,
        ));
    }
    let unbooked_total = unbooked.first().map_or(0, |j| j.total);
    let unbooked_more_href = (unbooked_total > unbooked.len() as i64).then(|| {
        let nominated = filter
            .company
            .map(|c| format!("company:{c}"))
            .unwrap_or_default();
        query_string(
            "/tickets",
            &[
                ("scheme", &params.scheme),
                ("nominated", &nominated),
                ("status", "in_progress"),
                ("status", "on_hold"),
                ("status", "open"),
            ],
        )
    });
    let choice = |list: Vec<db::users::Choice>, current: &str| -> Vec<SelectOption> {
        list.into_iter()
            .map(|c| SelectOption::new(c.id.to_string(), c.name, current))
            .collect()
    };
    Ok(DiaryPage {
        chrome: user.chrome("Diary").await?,
        heading,
        is_week: view == View::Week,
        day: day.to_string(),
        prev_href: near(from.checked_sub(step)),
        next_href: near(from.checked_add(step)),
        today_href: params.link(view, ""),
        day_view_href: params.link(View::Day, &day.to_string()),
        week_view_href: params.link(View::Week, &day.to_string()),
        visit_count: visits.len(),
        days,
        show_record_filters: !scope.is_subcontractor(),
        schemes: choice(schemes, &params.scheme),
        companies: choice(companies, &params.company),
        engineers,
        filtered: filter != DiaryFilter::default(),
        unbooked: unbooked.iter().map(UnbookedView::of).collect(),
        unbooked_total,
        unbooked_more_href,
        pending_capped: pending.len() as i64 >= LIST_CAP,
        pending: pending.iter().map(VisitView::of).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(view: &str, day: &str) -> DiaryParams {
        DiaryParams {
            view: view.into(),
            day: day.into(),
            ..DiaryParams::default()
        }
    }

    #[test]
    fn the_view_and_day_are_checked_with_a_sentence() {
        assert_eq!(params("", "").view(), Ok(View::Week));
        assert_eq!(params("day", "").view(), Ok(View::Day));
        assert!(params("month", "").view().is_err());
        assert_eq!(params("", "").day(), Ok(clock::today()));
        assert_eq!(
            params("", "2025-03-31").day().unwrap().to_string(),
            "2025-03-31"
        );
        assert!(params("", "0001-01-01").day().unwrap_err().contains("1900"));
        assert!(
            params("", "2025-02-30")
                .day()
                .unwrap_err()
                .contains("2025-03-31")
        );
        let bad = DiaryParams {
            scheme: "nope".into(),
            ..DiaryParams::default()
        };
        assert!(bad.filter().unwrap_err().contains("scheme filter"));
    }

    #[test]
    fn links_keep_the_filters_and_leave_out_the_defaults() {
        let p = DiaryParams {
            engineer: "Sam Jones".into(),
            ..DiaryParams::default()
        };
        assert_eq!(p.link(View::Week, ""), "/diary?engineer=Sam+Jones");
        assert_eq!(
            p.link(View::Day, "2025-03-31"),
            "/diary?view=day&day=2025-03-31&engineer=Sam+Jones"
        );
    }
}
