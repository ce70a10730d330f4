//! Inspections: template types, item answer kinds, statuses and outcomes, the
//! structure of a template version, and the check of a photo's content.

use serde::{Deserialize, Serialize};

use super::FormErrors;

/// The trades a ticket's category can be (as in the tickets schema).
pub const TRADES: [(&str, &str); 12] = [
    ("general", "General"),
    ("plumbing", "Plumbing"),
    ("electrical", "Electrical"),
    ("carpentry", "Carpentry"),
    ("roofing", "Roofing"),
    ("plastering", "Plastering"),
    ("decorating", "Decorating"),
    ("groundworks", "Groundworks"),
    ("heating", "Heating"),
    ("windows_doors", "Windows and doors"),
    ("kitchens", "Kitchens"),
    ("drainage", "Drainage"),
];

/// What a template checks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    PreCompletion,
    HomeDemonstration,
    CustomerCareVisit,
    TwelveMonth,
    EndOfWarranty,
}

impl TemplateKind {
    pub const ALL: [TemplateKind; 5] = [
        TemplateKind::PreCompletion,
        TemplateKind::HomeDemonstration,
        TemplateKind::CustomerCareVisit,
        TemplateKind::TwelveMonth,
        TemplateKind::EndOfWarranty,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::PreCompletion => "pre_completion",
            TemplateKind::HomeDemonstration => "home_demonstration",
            TemplateKind::CustomerCareVisit => "customer_care_visit",
            TemplateKind::TwelveMonth => "twelve_month",
            TemplateKind::EndOfWarranty => "end_of_warranty",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TemplateKind::PreCompletion => "Pre-completion quality check",
            TemplateKind::HomeDemonstration => "Home demonstration",
            TemplateKind::CustomerCareVisit => "Customer-care visit",
            TemplateKind::TwelveMonth => "12-month visit",
            TemplateKind::EndOfWarranty => "End of warranty",
        }
    }

    pub fn parse(value: &str) -> Option<TemplateKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }

    /// The label of a stored value.
    pub fn label_of(value: &str) -> &'static str {
        Self::parse(value).map_or("Inspection", Self::label)
    }
}

/// How an item is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    PassFail,
    Text,
    Number,
    Photo,
}

impl AnswerKind {
    pub const ALL: [AnswerKind; 4] = [
        AnswerKind::PassFail,
        AnswerKind::Text,
        AnswerKind::Number,
        AnswerKind::Photo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AnswerKind::PassFail => "pass_fail",
            AnswerKind::Text => "text",
            AnswerKind::Number => "number",
            AnswerKind::Photo => "photo",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AnswerKind::PassFail => "Pass / fail / n.a.",
            AnswerKind::Text => "Text",
            AnswerKind::Number => "Number",
            AnswerKind::Photo => "Photo",
        }
    }

    pub fn parse(value: &str) -> Option<AnswerKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == value)
    }
}

/// One checklist item of a template version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Unique within the version, e.g. "2-3" (section 2, item 3).
    pub key: String,
    pub label: String,
    pub kind: AnswerKind,
    #[serde(default)]
    pub photo_required_on_fail: bool,
    /// The trade a ticket raised from this item gets; "general" when absent.
    #[serde(default)]
    pub trade: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub items: Vec<Item>,
}

/// The full checklist of a template version, stored as jsonb.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Structure {
    pub sections: Vec<Section>,
}

impl Structure {
    pub fn item(&self, key: &str) -> Option<(&Section, &Item)> {
        self.sections
            .iter()
            .find_map(|s| s.items.iter().find(|i| i.key == key).map(|i| (s, i)))
    }

    pub fn item_count(&self) -> usize {
        self.sections.iter().map(|s| s.items.len()).sum()
    }
}

/// One row of the template editor, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemRow {
    pub section: String,
    pub label: String,
    pub kind: String,
    pub photo_required_on_fail: bool,
    pub trade: String,
}

/// Builds the structure from the editor's rows: blank rows are skipped, rows
/// group into sections by name in the order the sections first appear.
pub fn structure_from_rows(rows: &[ItemRow], errors: &mut FormErrors) -> Structure {
    let mut sections: Vec<Section> = Vec::new();
    for row in rows {
        let label = row.label.trim();
        if label.is_empty() {
            continue;
        }
        if let Some(c) = super::text::forbidden_char(label, super::text::Lines::One)
            .or_else(|| super::text::forbidden_char(row.section.trim(), super::text::Lines::One))
        {
            errors.add("items", super::text::forbidden_message(c));
            continue;
        }
        if label.chars().count() > 200 {
            errors.add(
                "items",
                format!(
                    "Keep each item under 200 characters (\"{}…\")",
                    label.chars().take(30).collect::<String>()
                ),
            );
            continue;
        }
        let Some(kind) = AnswerKind::parse(&row.kind) else {
            errors.add("items", format!("Choose how \"{label}\" is answered"));
            continue;
        };
        let trade = row.trade.trim();
        let trade = if trade.is_empty() {
            None
        } else if TRADES.iter().any(|(t, _)| *t == trade) {
            Some(trade.to_owned())
        } else {
            errors.add(
                "items",
                format!("Choose a trade from the list for \"{label}\""),
            );
            continue;
        };
        let title = match row.section.trim() {
            "" => "General".to_owned(),
            t => t.chars().take(100).collect(),
        };
        let index = match sections
            .iter()
            .position(|s| s.title.eq_ignore_ascii_case(&title))
        {
            Some(i) => i,
            None => {
                sections.push(Section {
                    title,
                    items: Vec::new(),
                });
                sections.len() - 1
            }
        };
        let section = &mut sections[index];
        let key = format!("{}-{}", index + 1, section.items.len() + 1);
        section.items.push(Item {
            key,
            label: label.to_owned(),
            kind,
            photo_required_on_fail: kind == AnswerKind::PassFail && row.photo_required_on_fail,
            trade,
        });
    }
    if sections.is_empty() && errors.get("items").is_none() {
        errors.add("items", "Add at least one item");
    }
    Structure { sections }
}

/// The editor's rows for an existing structure.
pub fn rows_from_structure(structure: &Structure) -> Vec<ItemRow> {
    structure
        .sections
        .iter()
        .flat_map(|s| {
            s.items.iter().map(|i| ItemRow {
                section: s.title.clone(),
                label: i.label.clone(),
                kind: i.kind.as_str().to_owned(),
                photo_required_on_fail: i.photo_required_on_fail,
                trade: i.trade.clone().unwrap_or_default(),
            })
        })
        .collect()
}

/// Checks an answer against the item's kind. `Ok(None)` clears it.
pub fn parse_answer(kind: AnswerKind, raw: &str) -> Result<Option<String>, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    match kind {
        AnswerKind::PassFail => match raw {
            "pass" | "fail" | "na" => Ok(Some(raw.to_owned())),
            _ => Err("Choose pass, fail or n.a.".into()),
        },
        AnswerKind::Number => raw
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|_| Some(raw.to_owned()))
            .ok_or_else(|| "Enter a number".into()),
        AnswerKind::Text => super::text::parse("answer", raw, super::text::Lines::Many, 4000)
            .map(Some)
            .map_err(|e| e.message),
        AnswerKind::Photo => Ok(None),
    }
}

pub fn answer_label(answer: &str) -> &str {
    match answer {
        "pass" => "Pass",
        "fail" => "Fail",
        "na" => "N/A",
        other => other,
    }
}

/// Where an inspection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Scheduled,
    InProgress,
    Completed,
    SignedOff,
}

impl Status {
    pub const ALL: [Status; 4] = [
        Status::Scheduled,
        Status::InProgress,
        Status::Completed,
        Status::SignedOff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::SignedOff => "signed_off",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Scheduled => "Scheduled",
            Status::InProgress => "In progress",
            Status::Completed => "Completed",
            Status::SignedOff => "Signed off",
        }
    }

    pub fn badge_class(self) -> &'static str {
        match self {
            Status::Scheduled => "info",
            Status::InProgress => "warn",
            Status::Completed | Status::SignedOff => "ok",
        }
    }

    pub fn parse(value: &str) -> Option<Status> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Answers can change until the inspection is completed.
    pub fn answers_open(self) -> bool {
        matches!(self, Status::Scheduled | Status::InProgress)
    }
}

/// The overall result of a completed inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    PassWithDefects,
    Fail,
}

impl Outcome {
    pub const ALL: [Outcome; 3] = [Outcome::Pass, Outcome::PassWithDefects, Outcome::Fail];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pass => "pass",
            Outcome::PassWithDefects => "pass_with_defects",
            Outcome::Fail => "fail",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Pass => "Pass",
            Outcome::PassWithDefects => "Pass with defects",
            Outcome::Fail => "Fail",
        }
    }

    pub fn badge_class(self) -> &'static str {
        match self {
            Outcome::Pass => "ok",
            Outcome::PassWithDefects => "warn",
            Outcome::Fail => "bad",
        }
    }

    pub fn parse(value: &str) -> Option<Outcome> {
        Self::ALL.into_iter().find(|o| o.as_str() == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(section: &str, label: &str, kind: &str) -> ItemRow {
        ItemRow {
            section: section.into(),
            label: label.into(),
            kind: kind.into(),
            ..Default::default()
        }
    }

    #[test]
    fn rows_group_into_sections_in_first_seen_order_with_positional_keys() {
        let mut errors = FormErrors::default();
        let rows = vec![
            row("Kitchen", "Worktops sealed", "pass_fail"),
            row("Bathroom", "Bath panel fitted", "pass_fail"),
            row("", "", "pass_fail"),
            row("kitchen", "Oven model", "text"),
        ];
        let s = structure_from_rows(&rows, &mut errors);
        assert!(errors.is_empty());
        assert_eq!(s.sections.len(), 2);
        assert_eq!(s.sections[0].items[1].key, "1-2");
        assert_eq!(s.sections[1].items[0].key, "2-1");
        assert_eq!(rows_from_structure(&s).len(), 3);
    }

    #[test]
    fn an_empty_template_and_an_unknown_trade_are_refused() {
        let mut errors = FormErrors::default();
        structure_from_rows(&[], &mut errors);
        assert_eq!(errors.get("items"), Some("Add at least one item"));
        let mut errors = FormErrors::default();
        let mut r = row("A", "B", "pass_fail");
        r.trade = "astrology".into();
        structure_from_rows(&[r], &mut errors);
        assert!(errors.get("items").unwrap().contains("trade"));
    }

    #[test]
    fn answers_are_checked_against_the_kind() {
        assert_eq!(
            parse_answer(AnswerKind::PassFail, "fail"),
            Ok(Some("fail".into()))
        );
        assert!(parse_answer(AnswerKind::PassFail, "maybe").is_err());
        assert_eq!(
            parse_answer(AnswerKind::Number, " 2.5 "),
            Ok(Some("2.5".into()))
        );
        assert!(parse_answer(AnswerKind::Number, "lots").is_err());
        assert_eq!(parse_answer(AnswerKind::Text, "  "), Ok(None));
    }

    #[test]
    fn images_are_told_by_content() {}
}

text_column!(TemplateKind, Status, Outcome);
