//! The ticket's timeline, one renderer for every page that shows it: the ticket page
//! (staff, or a subcontractor's view of it) and the subcontractor portal's job page.
//! What each reader is shown follows from the event and the audience
//! ([`TicketEvent::visible_to`]): a subcontractor is shown a comment's words as they are now (an edit takes
//! words back; the earlier ones are for staff), and never an internal event.

use std::collections::HashMap;

use time::{Date, Duration, macros::format_description};
use uuid::Uuid;

use crate::{
    db::tickets::Event,
    domain::{
        AbortiveReason, ComplaintStage, Status, long_date,
        ticket_event::{StatusChange, TicketEvent},
        when,
    },
    web::tickets::span,
};

pub use crate::domain::ticket_event::Audience;

/// One entry of the timeline, ready to show (`templates/partials/timeline.html`).
pub struct TimelineItem {
    pub when: String,
    pub who: String,
    pub headline: String,
    pub details: Vec<String>,
    /// Shown with an "Internal" badge (staff only).
    pub internal_badge: bool,
}

/// The entries `audience` may see, oldest first. `current_comments`: what each comment
/// the reader sees says now, by id.
pub fn items(
    events: &[Event],
    audience: Audience,
    current_comments: &HashMap<Uuid, String>,
) -> Vec<TimelineItem> {
    events
        .iter()
        .filter(|e| e.event.visible_to(audience))
        .map(|e| item(e, audience, current_comments))
        .collect()
}

fn item(e: &Event, audience: Audience, current_comments: &HashMap<Uuid, String>) -> TimelineItem {
    let mut details = Vec::new();
    let headline = match &e.event {
        TicketEvent::Created { summary, .. } => summary.clone(),
        TicketEvent::StatusChanged(c) => {
            status_details(c, &mut details);
            format!("Status changed: {} → {}", label(&c.from), label(&c.to))
        }
        TicketEvent::Reopened(c) => {
            status_details(c, &mut details);
            format!("Reopened (was {})", label(&c.from).to_lowercase())
        }
        TicketEvent::FieldsChanged { changes, .. } => {
            for c in changes {
                details.push(format!("{}: {} → {}", c.field, c.before, c.after));
            }
            "Details changed".into()
        }
        TicketEvent::ComplaintStage { stage, done_on } => {
            let on = Date::parse(done_on, format_description!("[year]-[month]-[day]")).ok();
            format!(
                "{} done{}",
                ComplaintStage::label_of(stage),
                on.map(|d| format!(" on {}", long_date(d)))
                    .unwrap_or_default()
            )
        }
        TicketEvent::Nominated { nominee_name, .. } => format!("Nominated to {nominee_name}"),
        TicketEvent::NominationAccepted { summary, .. } => summary.clone(),
        TicketEvent::NominationDeclined {
            summary, detail, ..
        }
        | TicketEvent::WorkCompleted {
            summary, detail, ..
        } => {
            if !detail.is_empty() {
                details.push(detail.clone());
            }
            summary.clone()
        }
        TicketEvent::CommentAdded(c) => {
            if audience != Audience::Staff
                && let Some(now) = current_comments.get(&c.comment_id)
            {
                details.push(crate::web::comments::excerpt(now));
            }
            "Comment added".into()
        }
        TicketEvent::CommentEdited(_) => "Comment edited".into(),
        TicketEvent::CommentDeleted { .. } => "Comment deleted".into(),
        TicketEvent::FileAdded { name, .. } => format!("Added {name}"),
        TicketEvent::AppointmentBooked(s) => format!(
            "Appointment booked: {}, {}–{}",
            s.day, s.window_start, s.window_end
        ),
        TicketEvent::AppointmentChanged(s) => format!(
            "Appointment changed: {}, {}–{}",
            s.day, s.window_start, s.window_end
        ),
        TicketEvent::AppointmentAttended(_) => "Appointment attended".into(),
        TicketEvent::AppointmentNoAccess(_) => "No access at the appointment".into(),
    };
    TimelineItem {
        when: when(e.occurred_at),
        who: e.actor_name.clone().unwrap_or_else(|| "Plotcare".into()),
        headline,
        details,
        internal_badge: audience == Audience::Staff && !e.shared,
    }
}

fn label(status: &str) -> &'static str {
    Status::label_of(status)
}

fn status_details(c: &StatusChange, details: &mut Vec<String>) {
    let given = |s: &Option<String>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(r) = given(&c.resolution) {
        details.push(format!("Resolution: {r}"));
    }
    if let Some(r) = given(&c.reason) {
        details.push(format!("Reason: {}", AbortiveReason::label_of(&r)));
    }
    if let Some(n) = given(&c.note) {
        details.push(n);
    }
    if let Some(s) = c.held_seconds {
        details.push(format!(
            "Clock restarted after {} on hold.",
            span(Duration::seconds(s))
        ));
    }
}
