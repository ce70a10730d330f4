//! What a ticket's timeline records: one typed event per kind of change.
//!
//! Each event is stored as a `ticket_events` row: its kind (the variant's name in
//! snake_case, e.g. `comment_added`) and its data (the variant's fields as JSON), and
//! whether the nominated subcontractor may see it ([`TicketEvent::shared`]). The
//! JSON keeps the field names the timeline has always stored, so earlier rows read
//! back as the same variants; an unknown kind is an error, never a default.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// A field's change as the timeline shows it (its label, the words before and after).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    #[serde(default)]
    pub before: String,
    #[serde(default)]
    pub after: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum TicketEvent {
    /// The ticket was logged (from the ticket form or from a failed inspection item).
    Created {
        summary: String,
        priority: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reported_via: Option<String>,
    },
    /// Fields of the record changed; `internal` ones (the internal cost) staff only.
    FieldsChanged {
        changes: Vec<FieldChange>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        internal: bool,
    },
    /// The status moved on (closed with a resolution, an abortive visit with its reason,
    /// a hold ended with how long it held the clock, a sign-off or a send-back).
    StatusChanged(StatusChange),
    /// A closed or cancelled ticket was opened again.
    Reopened(StatusChange),
    /// A complaint stage of the New Homes Quality Code was marked done (staff only).
    ComplaintStage {
        stage: String,
        done_on: String,
    },
    Nominated {
        nominee_type: String,
        nominee_id: Uuid,
        nominee_name: String,
        emailed: bool,
    },
    NominationAccepted {
        summary: String,
        company_id: Uuid,
        nomination_id: Uuid,
    },
    NominationDeclined {
        summary: String,
        detail: String,
        reason: String,
        company_id: Uuid,
        nomination_id: Uuid,
        from: String,
        to: String,
    },
    /// The subcontractor marked the work complete.
    WorkCompleted {
        summary: String,
        #[serde(default)]
        detail: String,
        #[serde(default)]
        note: String,
        company_id: Uuid,
        #[serde(default)]
        photos: Value,
        from: String,
        to: String,
    },
    CommentAdded(CommentChange),
    CommentEdited(CommentChange),
    CommentDeleted {
        comment_id: Uuid,
        visibility: String,
    },
    FileAdded {
        file_id: Uuid,
        name: String,
        content_type: String,
        size_bytes: i64,
        #[serde(default)]
        comment_id: Option<Uuid>,
    },
    AppointmentBooked(AppointmentSlot),
    AppointmentChanged(AppointmentSlot),
    AppointmentAttended(AppointmentOutcome),
    AppointmentNoAccess(AppointmentOutcome),
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StatusChange {
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// An abortive visit's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// How long a hold that ended here stopped the clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_seconds: Option<i64>,
    /// A hold's review date (the reason is the note).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_on: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub signed_off: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sent_back: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentChange {
    pub comment_id: Uuid,
    pub visibility: String,
    pub excerpt: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentSlot {
    pub appointment_id: Uuid,
    pub day: String,
    pub window_start: String,
    pub window_end: String,
    pub with_whom: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppointmentOutcome {
    pub appointment_id: Uuid,
    pub day: String,
}

/// Who reads a ticket's timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The housebuilder's team: every event.
    Staff,
    /// The nominated subcontractor: what is shared with them ([`TicketEvent::shared`]).
    Subcontractor,
    /// The homeowner: how their defect is getting on (logged, its status, the visits
    /// booked and made, the work reported done), never the team's or the
    /// subcontractor's workings (comments, files, nominations, field changes, costs,
    /// complaint stages).
    Homeowner,
}

impl TicketEvent {
    /// Whether `audience` may see it.
    pub fn visible_to(&self, audience: Audience) -> bool {
        match audience {
            Audience::Staff => true,
            Audience::Subcontractor => self.shared(),
            Audience::Homeowner => matches!(
                self,
                TicketEvent::Created { .. }
                    | TicketEvent::StatusChanged(_)
                    | TicketEvent::Reopened(_)
                    | TicketEvent::WorkCompleted { .. }
                    | TicketEvent::AppointmentBooked(_)
                    | TicketEvent::AppointmentChanged(_)
                    | TicketEvent::AppointmentAttended(_)
                    | TicketEvent::AppointmentNoAccess(_)
            ),
        }
    }

    /// Whether the nominated subcontractor may see it (staff see every event); stored on
    /// the row, so a subcontractor's timeline is one indexed read.
    pub fn shared(&self) -> bool {
        match self {
            TicketEvent::FieldsChanged { internal, .. } => !internal,
            TicketEvent::ComplaintStage { .. } => false,
            TicketEvent::CommentAdded(c) | TicketEvent::CommentEdited(c) => {
                c.visibility == "shared"
            }
            TicketEvent::CommentDeleted { visibility, .. } => visibility == "shared",
            _ => true,
        }
    }

    /// The kind and data columns of its row.
    pub fn to_row(&self) -> (String, Value) {
        let mut tagged = serde_json::to_value(self).expect("an event is always JSON");
        let kind = tagged["kind"].as_str().unwrap_or_default().to_owned();
        (kind, tagged["data"].take())
    }

    /// The event a row holds; an unknown kind or a malformed payload is an error.
    pub fn from_row(kind: &str, data: &Value) -> serde_json::Result<TicketEvent> {
        serde_json::from_value(serde_json::json!({ "kind": kind, "data": data }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_audience_sees_its_own_part_of_the_timeline() {
        let internal = TicketEvent::FieldsChanged {
            changes: vec![],
            internal: true,
        };
        let comment = TicketEvent::CommentAdded(CommentChange {
            comment_id: uuid::Uuid::nil(),
            visibility: "shared".into(),
            excerpt: "On my way".into(),
        });
        let closed = TicketEvent::StatusChanged(StatusChange {
            from: "open".into(),
            to: "closed".into(),
            ..Default::default()
        });
        for (event, staff, subcontractor, homeowner) in [
            (&internal, true, false, false),
            (&comment, true, true, false),
            (&closed, true, true, true),
        ] {
            assert_eq!(event.visible_to(Audience::Staff), staff);
            assert_eq!(event.visible_to(Audience::Subcontractor), subcontractor);
            assert_eq!(event.visible_to(Audience::Homeowner), homeowner);
        }
    }

    #[test]
    fn a_row_written_before_events_were_typed_reads_back_as_its_variant() {
        let row = json!({ "from": "open", "to": "closed", "resolution": "Fixed" });
        let event = TicketEvent::from_row("status_changed", &row).unwrap();
        assert_eq!(
            event,
            TicketEvent::StatusChanged(StatusChange {
                from: "open".into(),
                to: "closed".into(),
                resolution: Some("Fixed".into()),
                ..Default::default()
            })
        );
        assert_eq!(event.to_row(), ("status_changed".into(), row));
    }

    #[test]
    fn an_unknown_kind_is_an_error_not_a_default() {
        assert!(TicketEvent::from_row("teleported", &json!({})).is_err());
    }

    #[test]
    fn internal_comments_and_costs_are_not_shared_with_the_subcontractor() {
        let comment = |visibility: &str| {
            TicketEvent::CommentAdded(CommentChange {
                comment_id: Uuid::nil(),
                visibility: visibility.into(),
                excerpt: "x".into(),
            })
        };
        assert!(comment("shared").shared());
        assert!(!comment("internal").shared());
        let cost = TicketEvent::FieldsChanged {
            changes: vec![],
            internal: true,
        };
        assert!(!cost.shared());
        assert_eq!(cost.to_row().1, json!({ "changes": [], "internal": true }));
    }
}
