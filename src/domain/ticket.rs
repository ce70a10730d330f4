//! A ticket's vocabulary: priorities and their default SLA targets, statuses
//! and the transitions allowed between them (in one table), abortive-visit
//! reasons, categories (trades), how a defect was reported, where in the home,
//! complaint stages and the "T-00042" reference.

use time::Duration;

/// Declares a closed set of values stored as text, with labels.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = ($value:literal, $label:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// As stored in the database and sent in forms.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $value),+
                }
            }

            /// What people read.
            pub fn label(self) -> &'static str {
                match self {
                    $($name::$variant => $label),+
                }
            }

            pub fn parse(value: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str() == value)
            }

            /// The label of a stored value (for rows read as text).
            pub fn label_of(value: &str) -> &'static str {
                $name::parse(value).map_or("Unknown", $name::label)
            }
        }

        text_column!($name);
    };
}

text_enum!(
    /// How urgent a defect is; each has an SLA target.
    Priority {
        Emergency = ("emergency", "Emergency"),
        High = ("high", "High"),
        Medium = ("medium", "Medium"),
        Low = ("low", "Low"),
    }
);

impl Priority {
    /// The target when the tenant has not set one: 12 hours, 1 day, 7 days, 28 days.
    pub fn default_target(self) -> Duration {
        match self {
            Priority::Emergency => Duration::hours(12),
            Priority::High => Duration::days(1),
            Priority::Medium => Duration::days(7),
            Priority::Low => Duration::days(28),
        }
    }

    /// The badge's CSS class.
    pub fn badge_class(self) -> &'static str {
        match self {
            Priority::Emergency => "bad",
            Priority::High => "warn",
            Priority::Medium => "info",
            Priority::Low => "",
        }
    }
}

text_enum!(
    /// Where a ticket is in its life.
    Status {
        Open = ("open", "Open"),
        InProgress = ("in_progress", "In progress"),
        OnHold = ("on_hold", "On hold"),
        AbortiveVisit = ("abortive_visit", "Abortive visit"),
        Completed = ("completed", "Completed – awaiting sign-off"),
        Closed = ("closed", "Closed"),
    }
);

/// Every allowed status change, in one place. Anything not listed is refused.
pub const TRANSITIONS: &[(Status, Status)] = {
    use Status::*;
    &[
        (Open, InProgress),
        (Open, OnHold),
        (Open, AbortiveVisit),
        (Open, Closed),
        (InProgress, Open),
        (InProgress, OnHold),
        (InProgress, AbortiveVisit),
        (InProgress, Completed),
        (InProgress, Closed),
        (OnHold, Open),
        (OnHold, InProgress),
        (OnHold, Closed),
        (Completed, InProgress),
        (Completed, Closed),
        (AbortiveVisit, Open),
        (Closed, Open),
    ]
};

impl Status {
    /// Whether the table allows moving from `self` to `to`.
    pub fn can_move_to(self, to: Status) -> bool {
        TRANSITIONS.contains(&(self, to))
    }

    /// The statuses this one may move to, in the table's order.
    pub fn next(self) -> Vec<Status> {
        TRANSITIONS
            .iter()
            .filter(|(from, _)| *from == self)
            .map(|(_, to)| *to)
            .collect()
    }

    /// The ticket is finished with (its SLA clock no longer runs).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            Status::Completed | Status::Closed | Status::AbortiveVisit
        )
    }

    /// Moving out of a finished state back to Open.
    pub fn is_reopening(self, to: Status) -> bool {
        matches!(self, Status::Closed | Status::AbortiveVisit) && to == Status::Open
    }

    /// The button that moves a ticket into this status.
    pub fn action_label(self) -> &'static str {
        match self {
            Status::Open => "Set back to open",
            Status::InProgress => "Mark in progress",
            Status::OnHold => "Put on hold",
            Status::AbortiveVisit => "Record abortive visit",
            Status::Completed => "Mark completed",
            Status::Closed => "Close ticket",
        }
    }

    pub fn badge_class(self) -> &'static str {
        match self {
            Status::Open => "info",
            Status::InProgress => "warn",
            Status::OnHold => "",
            Status::AbortiveVisit => "bad",
            Status::Completed | Status::Closed => "ok",
        }
    }
}

/// Why a status change is refused.
pub fn transition_refusal(from: Status, to: Status) -> Option<String> {
    if from == to {
        return Some(format!(
            "The ticket is already {}.",
            to.label().to_lowercase()
        ));
    }
    (!from.can_move_to(to)).then(|| {
        format!(
            "A ticket that is {} cannot be changed to {}.",
            from.label().to_lowercase(),
            to.label().to_lowercase()
        )
    })
}

text_enum!(
    /// Why a visit was abortive.
    AbortiveReason {
        NoAccess = ("no_access", "No access"),
        Withdrawn = ("withdrawn", "Withdrawn by the homeowner"),
        Misuse = ("misuse", "Misuse or damage"),
        Duplicate = ("duplicate", "Duplicate"),
        NotADefect = ("not_a_defect", "Not a defect"),
    }
);

text_enum!(
    /// The trade a defect belongs to (the same list as subcontractors' trades).
    Category {
        Plumbing = ("plumbing", "Plumbing"),
        Electrical = ("electrical", "Electrical"),
        Carpentry = ("carpentry", "Carpentry"),
        Roofing = ("roofing", "Roofing"),
        Plastering = ("plastering", "Plastering"),
        Decorating = ("decorating", "Decorating"),
        Groundworks = ("groundworks", "Groundworks"),
        Heating = ("heating", "Heating"),
        WindowsDoors = ("windows_doors", "Windows and doors"),
        Kitchens = ("kitchens", "Kitchens"),
        Drainage = ("drainage", "Drainage"),
        General = ("general", "General"),
    }
);

text_enum!(
    /// How the defect reached us.
    ReportedVia {
        Phone = ("phone", "Phone"),
        Email = ("email", "Email"),
        Portal = ("portal", "Portal"),
        Inspection = ("inspection", "Inspection"),
        Visit = ("visit", "Visit"),
    }
);

text_enum!(
    /// Where in the home.
    Location {
        Kitchen = ("kitchen", "Kitchen"),
        Bathroom = ("bathroom", "Bathroom"),
        EnSuite = ("en_suite", "En-suite"),
        Bedroom = ("bedroom", "Bedroom"),
        LivingRoom = ("living_room", "Living room"),
        Hall = ("hall", "Hall"),
        Landing = ("landing", "Landing"),
        Stairs = ("stairs", "Stairs"),
        Loft = ("loft", "Loft"),
        Garage = ("garage", "Garage"),
        Garden = ("garden", "Garden"),
        Exterior = ("exterior", "Exterior"),
        Roof = ("roof", "Roof"),
        Utility = ("utility", "Utility"),
        WholeHouse = ("whole_house", "Whole house"),
        Other = ("other", "Other"),
    }
);

text_enum!(
    /// The New Homes Quality Code's complaint stages, in order.
    ComplaintStage {
        Acknowledgement = ("acknowledgement", "Written acknowledgement"),
        PathToResolution = ("path_to_resolution", "Path-to-resolution letter"),
        Assessment = ("assessment", "Assessment and response"),
        EightWeekLetter = ("eight_week_letter", "Eight-week letter"),
    }
);

impl ComplaintStage {
    /// Calendar days from the complaint start date.
    pub fn days(self) -> i64 {
        match self {
            ComplaintStage::Acknowledgement => 5,
            ComplaintStage::PathToResolution => 10,
            ComplaintStage::Assessment => 30,
            ComplaintStage::EightWeekLetter => 56,
        }
    }
}

/// A ticket's reference: "T-00042".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketRef(pub i64);

impl TicketRef {
    /// Reads "T-00042", "t-42", "T42" or "42".
    pub fn parse(input: &str) -> Option<TicketRef> {
        let s = input.trim();
        let digits = s
            .strip_prefix(['T', 't'])
            .map(|r| r.strip_prefix('-').unwrap_or(r))
            .unwrap_or(s);
        if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0).map(TicketRef)
    }
}

impl std::fmt::Display for TicketRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "T-{:05}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_padded_and_parsed_loosely() {
        assert_eq!(TicketRef(42).to_string(), "T-00042");
        assert_eq!(TicketRef(123456).to_string(), "T-123456");
        for s in ["T-00042", "t-42", "T42", "42", " 00042 "] {
            assert_eq!(TicketRef::parse(s), Some(TicketRef(42)), "{s}");
        }
        for s in ["", "T-", "boiler", "T-4a", "-42", "0"] {
            assert_eq!(TicketRef::parse(s), None, "{s}");
        }
    }

    #[test]
    fn the_transition_table_is_the_only_authority() {
        assert!(Status::Open.can_move_to(Status::InProgress));
        assert!(Status::Closed.can_move_to(Status::Open));
        assert!(!Status::Closed.can_move_to(Status::InProgress));
        assert!(!Status::Open.can_move_to(Status::Completed));
        assert!(Status::Closed.is_reopening(Status::Open));
        assert!(Status::AbortiveVisit.is_reopening(Status::Open));
        assert!(!Status::OnHold.is_reopening(Status::Open));
        assert!(transition_refusal(Status::Open, Status::Open).is_some());
        assert_eq!(
            transition_refusal(Status::Closed, Status::OnHold).unwrap(),
            "A ticket that is closed cannot be changed to on hold."
        );
        assert_eq!(Status::Closed.next(), vec![Status::Open]);
    }

    #[test]
    fn default_targets_follow_the_policy() {
        assert_eq!(Priority::Emergency.default_target(), Duration::hours(12));
        assert_eq!(Priority::High.default_target(), Duration::hours(24));
        assert_eq!(Priority::Medium.default_target(), Duration::days(7));
        assert_eq!(Priority::Low.default_target(), Duration::days(28));
        assert_eq!(Category::ALL.len(), 12);
        assert_eq!(
            Location::parse("en_suite").map(Location::label),
            Some("En-suite")
        );
    }
}
