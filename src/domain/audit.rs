//! The audit trail's vocabulary, in the users' words: actions ("Changed status"),
//! record types ("Comment"), field names ("Due") and stored values ("In progress").

use serde_json::Value;

use crate::domain::{
    Role,
    ticket::{AbortiveReason, Category, ComplaintStage, Location, Priority, ReportedVia, Status},
};

/// Every action the app records, and what it is called.
const ACTIONS: &[(&str, &str)] = &[
    ("api_token.created", "Created an API token"),
    ("api_token.revoked", "Revoked an API token"),
    ("appointment.attended", "Marked appointment attended"),
    ("appointment.booked", "Booked an appointment"),
    ("appointment.cancelled", "Cancelled an appointment"),
    ("appointment.changed", "Changed an appointment"),
    ("appointment.no_access", "Marked appointment no access"),
    ("audit.downloaded", "Downloaded audit trail"),
    ("comment.created", "Added a comment"),
    ("comment.deleted", "Deleted a comment"),
    ("comment.edited", "Edited a comment"),
    ("contact.archived", "Archived contact"),
    ("contact.created", "Added contact"),
    ("contact.restored", "Restored contact"),
    ("contact.updated", "Edited contact"),
    ("contract.archived", "Archived contract"),
    ("contract.created", "Added contract"),
    ("contract.restored", "Restored contract"),
    ("contract.updated", "Edited contract"),
    ("demo.loaded", "Loaded demo data"),
    ("export.downloaded", "Downloaded an export"),
    ("export.expired", "Export expired"),
    ("export.requested", "Requested an export"),
    ("export.retried", "Retried an export"),
    ("file.uploaded", "Uploaded a file"),
    ("file.visibility_changed", "Changed who sees a file"),
    ("import.completed", "Imported records"),
    ("inspection.answered", "Answered inspection items"),
    ("inspection.commented", "Commented on an inspection"),
    ("inspection.completed", "Completed an inspection"),
    ("inspection.photo_added", "Added an inspection photo"),
    ("inspection.scheduled", "Scheduled an inspection"),
    ("inspection.signed_off", "Signed off an inspection"),
    (
        "inspection.ticket_raised",
        "Raised a ticket from an inspection",
    ),
    (
        "inspection_template.archived",
        "Archived inspection template",
    ),
    ("inspection_template.created", "Added inspection template"),
    (
        "inspection_template.published",
        "Published inspection template",
    ),
    (
        "inspection_template.restored",
        "Restored inspection template",
    ),
    ("mfa.enrolled", "Set up two-factor authentication"),
    ("mfa.recovery_codes_replaced", "Replaced recovery codes"),
    ("nomination.accepted", "Accepted a nomination"),
    ("nomination.declined", "Declined a nomination"),
    ("plot.archived", "Archived plot"),
    ("plot.created", "Added plot"),
    ("plot.homeowner_added", "Added a homeowner"),
    ("plot.homeowner_ended", "Ended a homeowner"),
    ("plot.restored", "Restored plot"),
    ("plot.updated", "Edited plot"),
    ("scheme.archived", "Archived scheme"),
    ("scheme.created", "Added scheme"),
    ("scheme.restored", "Restored scheme"),
    ("scheme.updated", "Edited scheme"),
    ("session.ended", "Ended a session"),
    ("session.ended_others", "Signed out other devices"),
    ("session.signed_in", "Signed in"),
    ("session.signed_out", "Signed out"),
    ("session.switched_away", "Switched organisation"),
    ("sla.holiday_added", "Added a holiday"),
    ("sla.holiday_removed", "Removed a holiday"),
    ("sla.updated", "Changed SLA targets"),
    ("tenant.generated", "Generated sample data"),
    ("tenant.mfa_policy_changed", "Changed the two-factor rule"),
    ("ticket.closed", "Closed ticket"),
    (
        "ticket.complaint_stage_done",
        "Marked a complaint stage done",
    ),
    ("ticket.created", "Logged ticket"),
    ("ticket.nominated", "Nominated ticket"),
    ("ticket.reopened", "Reopened ticket"),
    ("ticket.sent_back", "Sent ticket back"),
    ("ticket.signed_off", "Signed off ticket"),
    ("ticket.status_changed", "Changed status"),
    ("ticket.updated", "Edited ticket"),
    ("ticket.work_completed", "Marked work completed"),
    ("user.created", "Invited user"),
    ("user.disabled", "Disabled user"),
    ("user.enabled", "Enabled user"),
    ("user.invitation_resent", "Resent invitation"),
    ("user.joined", "Joined"),
    ("user.mfa_reset", "Reset two-factor authentication"),
    ("user.password_changed", "Changed password"),
    ("user.password_link_created", "Sent a password link"),
    ("user.password_set", "Set password"),
    ("user.role_changed", "Changed role"),
    ("user.schemes_changed", "Changed schemes"),
    ("user.sessions_ended", "Signed user out everywhere"),
    ("user.signed_out_everywhere", "Signed out everywhere"),
];

/// Record types and what they are called.
const RECORD_TYPES: &[(&str, &str)] = &[
    ("api_token", "API token"),
    ("appointment", "Appointment"),
    ("audit_trail", "Audit trail"),
    ("contact", "Contact"),
    ("contract", "Contract"),
    ("export", "Export"),
    ("import_batch", "Import"),
    ("inspection", "Inspection"),
    ("inspection_template", "Inspection template"),
    ("media_file", "File"),
    ("nomination", "Nomination"),
    ("plot", "Plot"),
    ("scheme", "Scheme"),
    ("sla_policy", "SLA targets"),
    ("tenant", "Organisation"),
    ("tenant_holiday", "Holiday"),
    ("ticket", "Ticket"),
    ("ticket_comment", "Comment"),
    ("user", "User"),
    ("user_session", "Session"),
];

/// Field names that read differently from their stored name.
const FIELDS: &[(&str, &str)] = &[
    ("abortive_reason", "Abortive reason"),
    ("due_at", "Due"),
    ("hold_reason", "Reason for hold"),
    ("hold_review_on", "Review hold on"),
    ("internal_cost", "Internal cost (£)"),
    ("is_complaint", "Complaint"),
    ("mfa_enabled", "Two-factor authentication"),
    ("mfa_enrolled", "Two-factor authentication set up"),
    ("mfa_required", "Two-factor authentication required"),
    ("nominated_company_id", "Nominated company"),
    ("nominated_user_id", "Nominated user"),
    ("original_name", "File name"),
    ("reported_at", "Reported"),
    ("reported_by_contact_id", "Reported by"),
    ("scheme_restricted", "Limited to schemes"),
    ("sla_enabled", "SLA clocks on"),
    ("visible_to_subcontractor", "Visible to subcontractor"),
];

/// Every action with its words (for the data return's `CASE`).
pub fn actions() -> Vec<(&'static str, &'static str)> {
    ACTIONS.to_vec()
}

/// Every record type with its words.
pub fn record_types() -> Vec<(&'static str, &'static str)> {
    RECORD_TYPES.to_vec()
}

fn find(list: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    list.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// "some_field_id" as "Some field".
fn plain(code: &str) -> String {
    let code = code.strip_suffix("_id").unwrap_or(code);
    let mut words = code.replace(['_', '.'], " ");
    if let Some(first) = words.get(0..1) {
        let upper = first.to_uppercase();
        words.replace_range(0..1, &upper);
    }
    words
}

/// "ticket.status_changed" as "Changed status".
pub fn action(code: &str) -> String {
    match find(ACTIONS, code) {
        Some(words) => words.to_owned(),
        None => match code.split_once('.') {
            Some((record, "")) => format!("Any {} action", record_type(record).to_lowercase()),
            Some((record, what)) => {
                format!("{}: {}", record_type(record), plain(what).to_lowercase())
            }
            None => plain(code),
        },
    }
}

/// "ticket_comment" as "Comment".
pub fn record_type(code: &str) -> String {
    find(RECORD_TYPES, code).map_or_else(|| plain(code), str::to_owned)
}

/// "nominated_company_id" as "Nominated company".
pub fn field(code: &str) -> String {
    find(FIELDS, code).map_or_else(|| plain(code), str::to_owned)
}

/// A stored value as people read it: codes as labels, true/false as Yes/No.
pub fn value(field: &str, value: &Value) -> String {
    match value {
        Value::Null => "(none)".into(),
        Value::Bool(true) => "Yes".into(),
        Value::Bool(false) => "No".into(),
        Value::String(s) if s.is_empty() => "(none)".into(),
        Value::String(s) => label(field, s).map_or_else(|| s.clone(), str::to_owned),
        Value::Array(items) if items.is_empty() => "(none)".into(),
        Value::Array(items) => items
            .iter()
            .map(|v| self::value(field, v))
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// The label of a code stored in `field`, when the field holds codes.
fn label(field: &str, code: &str) -> Option<&'static str> {
    match field {
        "status" => Status::parse(code).map(Status::label),
        "priority" => Priority::parse(code).map(Priority::label),
        "category" | "trade" => Category::parse(code).map(Category::label),
        "reported_via" => ReportedVia::parse(code).map(ReportedVia::label),
        "location" => Location::parse(code).map(Location::label),
        "reason" | "abortive_reason" => AbortiveReason::parse(code).map(AbortiveReason::label),
        "stage" => ComplaintStage::parse(code).map(ComplaintStage::label),
        "role" => Role::parse(code).map(Role::label),
        "visibility" => match code {
            "internal" => Some("Internal"),
            "shared" => Some("Shared with subcontractor"),
            _ => None,
        },
        _ => None,
    }
}

/// Each field a change touched, in words: "Status: Open → Closed".
pub fn changes(value: &Value) -> Vec<String> {
    let Value::Object(map) = value else {
        return Vec::new();
    };
    map.iter()
        .map(|(name, v)| {
            let words = field(name);
            match v {
                Value::Object(o) if o.contains_key("after") => match o.get("before") {
                    Some(before) => format!(
                        "{words}: {} → {}",
                        self::value(name, before),
                        self::value(name, &o["after"])
                    ),
                    None => format!("{words}: {}", self::value(name, &o["after"])),
                },
                other => format!("{words}: {}", self::value(name, other)),
            }
        })
        .collect()
}

/// The name a change gives a record (for one that no longer exists).
pub fn name_in(changes: &Value) -> Option<String> {
    let name = changes.get("name")?;
    let name = name
        .get("after")
        .or_else(|| name.get("before"))
        .unwrap_or(name);
    name.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn actions_fields_and_values_read_in_words() {
        assert_eq!(action("ticket.status_changed"), "Changed status");
        assert_eq!(
            action("appointment.no_access"),
            "Marked appointment no access"
        );
        assert_eq!(action("plot.something_new"), "Plot: something new");
        assert_eq!(record_type("ticket_comment"), "Comment");
        assert_eq!(field("nominated_company_id"), "Nominated company");
        assert_eq!(field("house_type"), "House type");
        assert_eq!(
            changes(&json!({"status": {"before": "in_progress", "after": "closed"}})),
            vec!["Status: In progress → Closed"]
        );
        assert_eq!(
            changes(
                &json!({"sla_enabled": {"before": true, "after": false}, "reason": "no_access"})
            ),
            vec!["Reason: No access", "SLA clocks on: Yes → No"]
        );
        assert_eq!(
            name_in(&json!({"name": {"after": "Meadow View"}})).as_deref(),
            Some("Meadow View")
        );
    }
}
