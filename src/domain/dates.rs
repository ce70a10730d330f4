//! Dates typed into forms, and the warranty a plot is under.

use time::{Date, Month, macros::format_description};

use super::FieldError;

/// An optional date from a form field (`<input type="date">` sends YYYY-MM-DD); blank is `None`.
pub fn parse_optional_date(field: &'static str, input: &str) -> Result<Option<Date>, FieldError> {
    let input = input.trim();
    if input.is_empty() {
        return Ok(None);
    }
    Date::parse(input, format_description!("[year]-[month]-[day]"))
        .map(Some)
        .map_err(|_| FieldError::new(field, "Enter a date like 2025-03-31"))
}

/// `date` plus `months` calendar months. A day the target month lacks becomes its last day
/// (31 January + 1 month = 28 or 29 February), as PostgreSQL's `date + interval` does.
pub fn add_months(date: Date, months: u32) -> Date {
    let index =
        i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + i64::from(months);
    let Ok(year) = i32::try_from(index.div_euclid(12)) else {
        return Date::MAX;
    };
    let Ok(month) = Month::try_from((index.rem_euclid(12) + 1) as u8) else {
        return Date::MAX;
    };
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MAX)
}

/// A moment as people in the UK read it: "3 Mar 2025, 14:05" (UK time, summer time included).
pub fn when(t: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute]"
    );
    let t = super::clock::uk_time(t);
    t.format(&format).unwrap_or_else(|_| t.to_string())
}

/// "31 March 2025".
pub fn long_date(date: Date) -> String {
    format!("{} {} {}", date.day(), date.month(), date.year())
}

/// Where a plot is in its builder warranty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarrantyStatus {
    /// No legal completion yet.
    NotHandedOver,
    /// Completed, and the warranty end is still ahead.
    InWarranty,
    /// The warranty end has come.
    Expired,
}

impl WarrantyStatus {
    pub const ALL: [WarrantyStatus; 3] = [
        WarrantyStatus::NotHandedOver,
        WarrantyStatus::InWarranty,
        WarrantyStatus::Expired,
    ];

    /// The status on `today`, and the warranty end (completion plus `months`), if handed over.
    pub fn of(
        completion: Option<Date>,
        months: i32,
        today: Date,
    ) -> (WarrantyStatus, Option<Date>) {
        match completion {
            None => (WarrantyStatus::NotHandedOver, None),
            Some(completed) => {
                let end = warranty_end(completed, months);
                let status = if today < end {
                    WarrantyStatus::InWarranty
                } else {
                    WarrantyStatus::Expired
                };
                (status, Some(end))
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WarrantyStatus::NotHandedOver => "not_handed_over",
            WarrantyStatus::InWarranty => "in_warranty",
            WarrantyStatus::Expired => "expired",
        }
    }

    pub fn parse(value: &str) -> Option<WarrantyStatus> {
        WarrantyStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            WarrantyStatus::NotHandedOver => "Not handed over",
            WarrantyStatus::InWarranty => "In warranty",
            WarrantyStatus::Expired => "Warranty expired",
        }
    }

    /// The badge's CSS class.
    pub fn badge_class(self) -> &'static str {
        match self {
            WarrantyStatus::NotHandedOver => "info",
            WarrantyStatus::InWarranty => "ok",
            WarrantyStatus::Expired => "bad",
        }
    }
}

/// The day the warranty ends: completion plus the period in months.
pub fn warranty_end(completion: Date, months: i32) -> Date {
    add_months(completion, u32::try_from(months).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn blank_dates_are_none_and_bad_ones_are_refused() {
        assert_eq!(parse_optional_date("d", "  ").unwrap(), None);
        assert_eq!(
            parse_optional_date("d", "2025-03-31").unwrap(),
            Some(date!(2025 - 03 - 31))
        );
        for bad in ["31/03/2025", "2025-02-30", "tomorrow", "2025-13-01"] {
            assert_eq!(
                parse_optional_date("d", bad).unwrap_err().field,
                "d",
                "{bad}"
            );
        }
    }

    #[test]
    fn months_are_added_clamping_to_the_end_of_the_month() {
        assert_eq!(add_months(date!(2024 - 01 - 15), 24), date!(2026 - 01 - 15));
        assert_eq!(add_months(date!(2024 - 01 - 31), 1), date!(2024 - 02 - 29));
        assert_eq!(add_months(date!(2023 - 01 - 31), 1), date!(2023 - 02 - 28));
        assert_eq!(add_months(date!(2024 - 02 - 29), 12), date!(2025 - 02 - 28));
        assert_eq!(add_months(date!(2024 - 11 - 30), 3), date!(2025 - 02 - 28));
        assert_eq!(add_months(date!(2024 - 12 - 01), 0), date!(2024 - 12 - 01));
    }

    #[test]
    fn the_badge_follows_completion_and_the_warranty_end() {
        let today = date!(2025 - 06 - 01);
        assert_eq!(
            WarrantyStatus::of(None, 24, today),
            (WarrantyStatus::NotHandedOver, None)
        );
        assert_eq!(
            WarrantyStatus::of(Some(date!(2024 - 01 - 31)), 24, today),
            (WarrantyStatus::InWarranty, Some(date!(2026 - 01 - 31)))
        );
        assert_eq!(
            WarrantyStatus::of(Some(date!(2023 - 06 - 01)), 24, today),
            (WarrantyStatus::Expired, Some(date!(2025 - 06 - 01)))
        );
        assert_eq!(
            WarrantyStatus::of(Some(date!(2024 - 06 - 02)), 12, today).0,
            WarrantyStatus::InWarranty
        );
        assert_eq!(
            WarrantyStatus::parse("expired"),
            Some(WarrantyStatus::Expired)
        );
        assert_eq!(WarrantyStatus::parse("nope"), None);
    }

    #[test]
    fn long_dates_read_naturally() {
        assert_eq!(long_date(date!(2025 - 03 - 01)), "1 March 2025");
    }
}
