//! The data return's sheets of a ticket's history: its complaint stages with their
//! dates, its status changes (from the timeline), and the earlier versions of edited
//! comments. Times here are UK times, as the ticket page shows them.

use super::{
    labels::{abortive_reason, labelled, ticket_status},
    sheets::{Kind, SheetSpec, c, spec, ticket_ref},
};
use crate::domain::ticket::ComplaintStage;

/// A timestamp column's expression read as a UK wall-clock time (the sheet's
/// date-times are written as they read, with no zone).
fn uk(expr: &str) -> String {
    format!("(({expr}) AT TIME ZONE 'Europe/London')")
}

/// The timeline entries that move a ticket's status (each holds `from` and `to`).
const STATUS_KINDS: &str =
    "x.kind IN ('status_changed', 'reopened', 'work_completed', 'nomination_declined')";

pub fn ticket_history_sheets() -> Vec<SheetSpec> {
    use Kind::*;
    let stage_columns = ComplaintStage::ALL.iter().flat_map(|stage| {
        let code = stage.as_str();
        // One lookup per stage by the primary key (tenant, ticket, stage).
        let done = |what: &str| {
            format!(
                "(SELECT {what} FROM complaint_stages cs
                   LEFT JOIN users du ON du.tenant_id = cs.tenant_id AND du.id = cs.done_by
                  WHERE cs.tenant_id = x.tenant_id AND cs.ticket_id = x.id AND cs.stage = '{code}')"
            )
        };
        let (on, by): (&'static str, &'static str) = match stage {
            ComplaintStage::Acknowledgement => (
                "Written acknowledgement done on",
                "Written acknowledgement done by",
            ),
            ComplaintStage::PathToResolution => (
                "Path-to-resolution letter done on",
                "Path-to-resolution letter done by",
            ),
            ComplaintStage::Assessment => (
                "Assessment and response done on",
                "Assessment and response done by",
            ),
            ComplaintStage::EightWeekLetter => {
                ("Eight-week letter done on", "Eight-week letter done by")
            }
        };
        [
            c(on, Date, 14.0, &done("cs.done_on")),
            c(by, Text, 28.0, &done("du.email")),
        ]
    });
    let mut complaint = vec![
        c("Ticket", Text, 10.0, &ticket_ref("x.number")),
        c("Scheme", Text, 30.0, "s.name"),
        c("Plot number", Text, 10.0, "p.plot_number"),
        c("Title", Text, 40.0, "x.title"),
        c("Status", Text, 18.0, &labelled("x.status", ticket_status())),
        c(
            "Complaint received on",
            Date,
            12.0,
            "x.complaint_received_on",
        ),
    ];
    complaint.extend(stage_columns);
    complaint.push(c("Ticket id", Uuid, 38.0, "x.id"));

    vec![
        spec(
            "complaint_stages.xlsx",
            "Complaint stages",
            "tickets",
            complaint,
            "LEFT JOIN schemes s ON s.tenant_id = x.tenant_id AND s.id = x.scheme_id
             LEFT JOIN plots p ON p.tenant_id = x.tenant_id AND p.id = x.plot_id",
        )
        .only("x.is_complaint"),
        spec(
            "ticket_status_history.xlsx",
            "Ticket status history",
            "ticket_events",
            vec![
                c("Ticket", Text, 10.0, &ticket_ref("t.number")),
                c("When (UK time)", DateTime, 19.0, &uk("x.occurred_at")),
                c(
                    "From",
                    Text,
                    18.0,
                    &labelled("x.data->>'from'", ticket_status()),
                ),
                c(
                    "To",
                    Text,
                    18.0,
                    &labelled("x.data->>'to'", ticket_status()),
                ),
                c("Who", Text, 28.0, "u.email"),
                c("Who (name)", Text, 20.0, "u.name"),
                c(
                    "Reason",
                    LongText,
                    30.0,
                    &labelled("x.data->>'reason'", abortive_reason()),
                ),
                c(
                    "Note",
                    LongText,
                    40.0,
                    "coalesce(x.data->>'note', x.data->>'detail')",
                ),
                c("Resolution", LongText, 40.0, "x.data->>'resolution'"),
                c("From code", Text, 14.0, "x.data->>'from'"),
                c("To code", Text, 14.0, "x.data->>'to'"),
                c("Entry id", Uuid, 38.0, "x.id"),
                c("Ticket id", Uuid, 38.0, "x.ticket_id"),
            ],
            "LEFT JOIN tickets t ON t.tenant_id = x.tenant_id AND t.id = x.ticket_id
             LEFT JOIN users u ON u.tenant_id = x.tenant_id AND u.id = x.actor_user_id",
        )
        .only(STATUS_KINDS),
        spec(
            "comment_revisions.xlsx",
            "Comment revisions",
            "ticket_comment_revisions",
            vec![
                c("Ticket", Text, 10.0, &ticket_ref("cm.ticket_number")),
                c("Earlier text", LongText, 80.0, "x.body"),
                c("Replaced by", Text, 28.0, "u.email"),
                c("Replaced by (name)", Text, 20.0, "u.name"),
                c("Replaced at (UK time)", DateTime, 19.0, &uk("x.edited_at")),
                c("Comment now", LongText, 80.0, "cm.body"),
                c("Revision id", Uuid, 38.0, "x.id"),
                c("Comment id", Uuid, 38.0, "x.comment_id"),
                c("Ticket id", Uuid, 38.0, "cm.ticket_id"),
            ],
            "LEFT JOIN ticket_comments cm ON cm.tenant_id = x.tenant_id AND cm.id = x.comment_id
             LEFT JOIN users u ON u.tenant_id = x.tenant_id AND u.id = x.edited_by",
        ),
    ]
}
