//! A job as a card.

use super::*;

// ---------------------------------------------------------------- a job as a card

/// A phone number and its `tel:` link.
pub struct Phone {
    pub display: String,
    pub tel: String,
}

/// What a job card and the job page show: never costs, homeowners' emails or notes.
pub struct JobCard {
    pub id: String,
    pub reference: String,
    pub title: String,
    pub priority_label: &'static str,
    pub priority_class: &'static str,
    pub status_label: &'static str,
    pub status_class: &'static str,
    /// "Due 3 Mar 2025, 14:05", or "No deadline".
    pub due: String,
    pub due_class: &'static str,
    /// "Plot 12, Meadow View"
    pub plot: String,
    /// Address lines, the postcode last.
    pub address: Vec<String>,
    pub access_notes: String,
    pub homeowner: String,
    pub phones: Vec<Phone>,
    pub response_label: &'static str,
    pub response_class: &'static str,
}

/// Where a job falls in My jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Due {
    Overdue,
    Today,
    ThisWeek,
    Later,
    NoDeadline,
    AwaitingSignOff,
}

impl Due {
    pub(super) const ALL: [Due; 6] = [
        Due::Overdue,
        Due::Today,
        Due::ThisWeek,
        Due::Later,
        Due::NoDeadline,
        Due::AwaitingSignOff,
    ];

    pub(super) fn of(job: &Job, now: OffsetDateTime) -> Due {
        let status = job.status;
        if status == Status::Completed {
            return Due::AwaitingSignOff;
        }
        let Some(due) = job.due_at else {
            return Due::NoDeadline;
        };
        let paused = job.on_hold_since.is_some() || status == Status::OnHold;
        if paused {
            return Due::Later;
        }
        if due < now {
            return Due::Overdue;
        }
        let today = clock::uk_date(now);
        let day = uk_time(due).date();
        if day <= today {
            Due::Today
        } else if day < today + Duration::days(7) {
            Due::ThisWeek
        } else {
            Due::Later
        }
    }

    pub(super) fn key(self) -> &'static str {
        match self {
            Due::Overdue => "overdue",
            Due::Today => "today",
            Due::ThisWeek => "this-week",
            Due::Later => "later",
            Due::NoDeadline => "no-deadline",
            Due::AwaitingSignOff => "awaiting-sign-off",
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            Due::Overdue => "Overdue",
            Due::Today => "Due today",
            Due::ThisWeek => "Due this week",
            Due::Later => "Later",
            Due::NoDeadline => "No deadline",
            Due::AwaitingSignOff => "Completed – awaiting sign-off",
        }
    }

    pub(super) fn badge_class(self) -> &'static str {
        match self {
            Due::Overdue => "bad",
            Due::Today => "warn",
            Due::ThisWeek => "info",
            Due::AwaitingSignOff => "ok",
            Due::Later | Due::NoDeadline => "",
        }
    }
}

pub(super) fn phones(raw: Option<&str>) -> Vec<Phone> {
    raw.unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| Phone {
            display: p.to_owned(),
            tel: p
                .chars()
                .filter(|c| c.is_ascii_digit() || *c == '+')
                .collect(),
        })
        .collect()
}

pub(super) fn card(job: &Job, now: OffsetDateTime) -> JobCard {
    let status = job.status;
    let priority = job.priority;
    let due = Due::of(job, now);
    let (response_label, response_class) = match job.response.as_deref() {
        Some("accepted") => ("Accepted", "ok"),
        Some("declined") => ("Declined", "bad"),
        _ => ("Awaiting your answer", "warn"),
    };
    JobCard {
        id: job.id.to_string(),
        reference: format!("T-{:05}", job.number),
        title: job.title.clone(),
        priority_label: priority.label(),
        priority_class: priority.badge_class(),
        status_label: status.label(),
        status_class: status.badge_class(),
        due: match job.due_at {
            Some(d) => format!("Due {}", when(d)),
            None => "No deadline".into(),
        },
        due_class: due.badge_class(),
        plot: format!("Plot {}, {}", job.plot_number, job.scheme_name),
        address: [
            &job.address_line1,
            &job.address_line2,
            &job.town,
            &job.postcode,
        ]
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .cloned()
        .collect(),
        access_notes: job.access_notes.clone(),
        homeowner: job.homeowner_names.clone().unwrap_or_default(),
        phones: phones(job.homeowner_phones.as_deref()),
        response_label,
        response_class,
    }
}
