//! The ticket page: its sections and its timeline.

use super::*;
use crate::web::timeline::{self, Audience, TimelineItem};

// ---------------------------------------------------------------- the ticket page

/// A status change offered on the ticket page: a button that opens its own small form.
pub(super) struct Transition {
    pub(super) to: &'static str,
    pub(super) label: &'static str,
    pub(super) needs_resolution: bool,
    pub(super) needs_reason: bool,
    pub(super) needs_hold: bool,
    pub(super) reopens: bool,
    /// Shown open: the form came back with a problem in one of its fields.
    pub(super) open: bool,
}

/// The one next step the ticket's status calls for, as the page's primary button.
pub(super) struct NextStep {
    pub(super) href: String,
    pub(super) label: &'static str,
    pub(super) id: &'static str,
}

/// What the next step is for a ticket in `status`; None when it waits on nobody here.
fn next_step(id: Uuid, status: Status, nominated: bool) -> Option<NextStep> {
    match status {
        Status::Open if !nominated => Some(NextStep {
            href: "#nominations".into(),
            label: "Nominate",
            id: "next-nominate",
        }),
        Status::Open | Status::InProgress => Some(NextStep {
            href: "#appointments".into(),
            label: "Book appointment",
            id: "next-book",
        }),
        Status::Completed => Some(NextStep {
            href: format!("/tickets/{id}/sign-off"),
            label: "Sign off or send back",
            id: "next-sign-off",
        }),
        _ => None,
    }
}

pub(super) struct StageView {
    pub(super) key: &'static str,
    pub(super) label: &'static str,
    pub(super) due: String,
    pub(super) done_on: String,
    pub(super) is_next: bool,
    pub(super) overdue: bool,
}

pub(super) struct ComplaintView {
    pub(super) received: String,
    pub(super) start: String,
    pub(super) next: Option<String>,
    pub(super) stages: Vec<StageView>,
}

#[derive(Template, WebTemplate)]
#[template(path = "tickets/show.html")]
pub(super) struct TicketPage {
    pub(super) chrome: Chrome,
    pub(super) crumbs: Vec<Crumb>,
    pub(super) ticket: Ticket,
    pub(super) reference: String,
    pub(super) address: Vec<String>,
    pub(super) status_label: &'static str,
    pub(super) status_class: &'static str,
    pub(super) priority_label: &'static str,
    pub(super) priority_class: &'static str,
    pub(super) category: &'static str,
    pub(super) location: &'static str,
    pub(super) reported_via: &'static str,
    pub(super) reported_at: String,
    pub(super) reported_by: String,
    pub(super) nominated: String,
    pub(super) due: String,
    pub(super) due_label: &'static str,
    pub(super) due_class: &'static str,
    pub(super) target: String,
    pub(super) abortive_reason: String,
    pub(super) closed_at: String,
    pub(super) show_cost: bool,
    pub(super) cost: String,
    pub(super) can_manage: bool,
    pub(super) transitions: Vec<Transition>,
    pub(super) next: Option<NextStep>,
    /// "Waiting for parts – review on Monday 14 December 2026" while on hold.
    pub(super) hold: String,
    /// The hold's review date has come.
    pub(super) hold_review_due: bool,
    pub(super) reasons: Vec<SelectOption>,
    pub(super) complaint: Option<ComplaintView>,
    pub(super) timeline: Vec<TimelineItem>,
    pub(super) errors: FormErrors,
    pub(super) today: String,
    pub(super) nominations: nominations::Section,
    pub(super) appointments: appointments::Section,
    pub(super) comments: comments::Section,
    pub(super) files: files::Section,
    /// The inspection this ticket was raised from: (link, title, item).
    pub(super) raised_from: Option<(String, String, String)>,
}

pub(super) async fn ticket_page(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: Uuid,
    errors: FormErrors,
) -> Result<TicketPage> {
    let (scope, header) = reach(tx, user, id).await?;
    let t = db::tickets::find(tx, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let subcontractor = scope.is_subcontractor();
    let can_manage = policy::may_manage_tickets(user).is_ok();
    let sla = db::sla::policy(tx).await?;
    let now = clock::now();
    let status = t.status();
    let priority = t.priority();
    let due_state = DueState::of(status, t.due_at, t.on_hold_since, sla.target(priority), now);
    let complaint = if t.is_complaint
        && let Some(received) = t.complaint_received_on
    {
        let holidays = db::sla::holiday_days(tx).await?;
        let done = db::tickets::complaint_stages(tx, t.id).await?;
        let start = clock::complaint_start(received, &holidays);
        let done_stages: Vec<ComplaintStage> = done.iter().map(|(s, _)| *s).collect();
        let next = clock::next_stage(start, &done_stages);
        let today = clock::uk_date(now);
        Some(ComplaintView {
            received: long_date(received),
            start: long_date(start),
            next: next.map(|(s, d)| format!("{} due {}", s.label(), long_date(d))),
            stages: ComplaintStage::ALL
                .iter()
                .map(|s| {
                    let due = clock::stage_due(start, *s);
                    let done_on = done
                        .iter()
                        .find(|(d, _)| d == s)
                        .map(|(_, d)| long_date(*d))
                        .unwrap_or_default();
                    StageView {
                        key: s.as_str(),
                        label: s.label(),
                        due: long_date(due),
                        is_next: next.is_some_and(|(n, _)| n == *s),
                        overdue: done_on.is_empty() && due < today,
                        done_on,
                    }
                })
                .collect(),
        })
    } else {
        None
    };
    let events = db::tickets::events(tx, t.id, subcontractor).await?;
    let nominations = nominations::Section::load(tx, user, &scope, &header).await?;
    let appointments = appointments::Section::load(tx, user, &scope, &header).await?;
    let comments = comments::Section::load(tx, user, &scope, &header).await?;
    let files = files::Section::load(tx, user, &scope, &header).await?;
    let audience = if subcontractor {
        Audience::Subcontractor
    } else {
        Audience::Staff
    };
    let current_comments = comments.current_words();
    let raised_from = match subcontractor {
        true => None,
        false => db::inspections::for_ticket(tx, t.id)
            .await?
            .map(|s| (s.href(), s.title(), s.item_label())),
    };

    let address = [&t.address_line1, &t.address_line2, &t.town, &t.postcode]
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .cloned()
        .collect();
    let transitions = if can_manage {
        status
            .next()
            .into_iter()
            .map(|to| Transition {
                to: to.as_str(),
                label: if status.is_reopening(to) {
                    "Reopen ticket"
                } else {
                    to.action_label()
                },
                needs_resolution: to == Status::Closed,
                needs_reason: to == Status::AbortiveVisit,
                needs_hold: to == Status::OnHold,
                reopens: status.is_reopening(to),
                open: match to {
                    Status::Closed => errors.get("resolution").is_some(),
                    Status::AbortiveVisit => {
                        errors.get("reason").is_some() || errors.get("note").is_some()
                    }
                    Status::OnHold => {
                        errors.get("hold_reason").is_some() || errors.get("review_on").is_some()
                    }
                    _ => false,
                },
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(TicketPage {
        chrome: user
            .chrome(format!("{} {}", t.reference(), t.title))
            .await?,
        crumbs: {
            let mut c = ticket_crumbs(&t, subcontractor);
            c.pop();
            c.push(Crumb::here(t.reference()));
            c
        },
        reference: t.reference(),
        address,
        status_label: status.label(),
        status_class: status.badge_class(),
        priority_label: priority.label(),
        priority_class: priority.badge_class(),
        category: t.category.label(),
        location: if t.location.is_empty() {
            ""
        } else {
            Location::label_of(&t.location)
        },
        reported_via: t.reported_via.label(),
        reported_at: when(t.reported_at),
        reported_by: t.reported_by_name.clone().unwrap_or_default(),
        nominated: t
            .nominated_company_name
            .clone()
            .or_else(|| t.nominated_user_name.clone())
            .unwrap_or_default(),
        due: t.due_at.map(when).unwrap_or_default(),
        due_label: due_state.label(),
        due_class: due_state.badge_class(),
        target: span(sla.target(priority)),
        abortive_reason: t
            .abortive_reason
            .as_deref()
            .map(AbortiveReason::label_of)
            .unwrap_or_default()
            .to_owned(),
        closed_at: t.closed_at.map(when).unwrap_or_default(),
        show_cost: !subcontractor,
        cost: if subcontractor {
            String::new()
        } else {
            t.internal_cost
                .as_deref()
                .map(|c| format!("£{c}"))
                .unwrap_or_default()
        },
        can_manage,
        transitions,
        next: can_manage
            .then(|| {
                next_step(
                    t.id,
                    status,
                    t.nominated_company_id.is_some() || t.nominated_user_id.is_some(),
                )
            })
            .flatten(),
        hold: match (&t.hold_reason, t.hold_review_on) {
            (Some(reason), Some(on)) if status == Status::OnHold => {
                format!("{reason} – review on {}", long_date(on))
            }
            _ => String::new(),
        },
        hold_review_due: status == Status::OnHold
            && t.hold_review_on.is_some_and(|on| on <= clock::uk_date(now)),
        reasons: options(
            AbortiveReason::ALL,
            AbortiveReason::as_str,
            AbortiveReason::label,
            "",
        ),
        complaint,
        timeline: timeline::items(&events, audience, &current_comments),
        errors,
        today: clock::uk_date(now).to_string(),
        nominations,
        appointments,
        comments,
        files,
        ticket: t,
        raised_from,
    })
}

/// The ticket page (a subcontractor's job page) with its appointments section as given:
/// a booking form shown again, with its problems next to its fields (422).
pub(crate) async fn with_appointments(
    tx: &mut TenantTx,
    user: &CurrentUser,
    id: Uuid,
    section: appointments::Section,
) -> Result<Response> {
    if user.role == crate::domain::Role::Subcontractor {
        return crate::web::portal::job_with_appointments(tx, user, id, section).await;
    }
    let mut page = ticket_page(tx, user, id, FormErrors::default()).await?;
    page.appointments = section;
    Ok(unprocessable(page))
}

pub(super) async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    // A subcontractor's view of a ticket is the portal's job page.
    if user.role == crate::domain::Role::Subcontractor {
        return crate::web::portal::job_response(&state, &user, &id).await;
    }
    let id = parse_id(&id)?;
    let mut tx = user.begin(&state).await?;
    let page = ticket_page(&mut tx, &user, id, FormErrors::default()).await?;
    tx.commit().await?;
    Ok(page.into_response())
}
