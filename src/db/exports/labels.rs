//! Stored codes as the labels people read, written into the sheets' statements as
//! `CASE` expressions (set-based: no lookups per row). A code without a label stays
//! as it is.

use crate::{
    db::{contacts, contracts::ContractType, schemes::WarrantyProvider},
    domain::{
        Role, inspection,
        ticket::{AbortiveReason, Category, Location, Priority, ReportedVia, Status},
    },
};

/// `CASE <expr> WHEN 'code' THEN 'Label' ... ELSE <expr> END`.
pub fn labelled<'a>(expr: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let whens: String = pairs
        .into_iter()
        .map(|(code, label)| format!(" WHEN {} THEN {}", quote(code), quote(label)))
        .collect();
    format!("CASE {expr}{whens} ELSE {expr} END")
}

/// The labels of a text array's codes, joined by "; ".
pub fn labelled_list<'a>(
    expr: &str,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    format!(
        "(SELECT string_agg({}, '; ' ORDER BY n) FROM unnest({expr}) WITH ORDINALITY AS l(code, n))",
        labelled("l.code", pairs)
    )
}

macro_rules! pairs_of {
    ($name:ident, $ty:ty) => {
        pub fn $name() -> Vec<(&'static str, &'static str)> {
            <$ty>::ALL.iter().map(|v| (v.as_str(), v.label())).collect()
        }
    };
}

pairs_of!(ticket_status, Status);
pairs_of!(priority, Priority);
pairs_of!(category, Category);
pairs_of!(reported_via, ReportedVia);
pairs_of!(location, Location);
pairs_of!(abortive_reason, AbortiveReason);
pairs_of!(role, Role);
pairs_of!(contract_type, ContractType);
pairs_of!(warranty_provider, WarrantyProvider);
pairs_of!(inspection_kind, inspection::TemplateKind);
pairs_of!(inspection_status, inspection::Status);
pairs_of!(inspection_outcome, inspection::Outcome);

pub fn contact_kind() -> Vec<(&'static str, &'static str)> {
    contacts::KINDS.to_vec()
}

pub fn trade() -> Vec<(&'static str, &'static str)> {
    contacts::TRADES.to_vec()
}

pub fn contact_method() -> Vec<(&'static str, &'static str)> {
    contacts::METHODS.to_vec()
}

pub fn scheme_status() -> Vec<(&'static str, &'static str)> {
    vec![("active", "Active"), ("archived", "Archived")]
}

pub fn visibility() -> Vec<(&'static str, &'static str)> {
    vec![
        ("internal", "Internal"),
        ("shared", "Shared with subcontractor"),
    ]
}

pub fn nomination_response() -> Vec<(&'static str, &'static str)> {
    vec![
        ("pending", "Awaiting reply"),
        ("accepted", "Accepted"),
        ("declined", "Declined"),
    ]
}

pub fn appointment_status() -> Vec<(&'static str, &'static str)> {
    vec![
        ("booked", "Booked"),
        ("attended", "Attended"),
        ("no_access", "No access"),
        ("cancelled", "Cancelled"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_become_labels_and_quotes_are_doubled() {
        assert_eq!(
            labelled("x.s", [("open", "Open"), ("o'k", "It's ok")]),
            "CASE x.s WHEN 'open' THEN 'Open' WHEN 'o''k' THEN 'It''s ok' ELSE x.s END"
        );
        assert!(ticket_status().contains(&("in_progress", "In progress")));
    }
}
