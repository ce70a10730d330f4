//! The choices a contact form offers.

use super::*;

// ---------------------------------------------------------------- choices

pub(super) struct Choice {
    pub(super) value: &'static str,
    pub(super) label: &'static str,
    pub(super) selected: bool,
}

pub(super) fn choices(list: &[(&'static str, &'static str)], selected: &[&str]) -> Vec<Choice> {
    list.iter()
        .map(|(value, label)| Choice {
            value,
            label,
            selected: selected.contains(value),
        })
        .collect()
}

pub(super) fn trade_labels(trades: &[String]) -> String {
    trades
        .iter()
        .map(|t| store::trade_label(t))
        .collect::<Vec<_>>()
        .join(", ")
}
