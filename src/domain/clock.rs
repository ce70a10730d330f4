//! Ticket clocks, pure and unit-tested: the SLA due time (which On Hold
//! pauses), how close a ticket is to it, business days, and the New Homes
//! Quality Code complaint stages.
//!
//! The ticket row keeps `due_at` and `on_hold_since`: entering On Hold sets
//! `on_hold_since`; leaving it moves `due_at` later by the time held.

use time::{Date, Duration, OffsetDateTime, Weekday, macros::date};

use super::ticket::{ComplaintStage, Status};

/// The due time of a ticket reported at `reported_at` with `target`, after `held` time On Hold.
pub fn due_at(reported_at: OffsetDateTime, target: Duration, held: Duration) -> OffsetDateTime {
    reported_at + target + held.max(Duration::ZERO)
}

/// Leaving On Hold at `now`: the new due time (moved by the time held) and the time held.
pub fn resume(
    due_at: Option<OffsetDateTime>,
    on_hold_since: OffsetDateTime,
    now: OffsetDateTime,
) -> (Option<OffsetDateTime>, Duration) {
    let held = (now - on_hold_since).max(Duration::ZERO);
    (due_at.map(|d| d + held), held)
}

/// Why a ticket counts as due soon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoonBecause {
    /// Less than a fifth of the target is left.
    FifthOfTarget,
    /// Less than 24 hours are left.
    Day,
}

/// Where a ticket stands against its SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueState {
    Overdue,
    DueSoon(SoonBecause),
    OnTime,
    /// On Hold: the clock is stopped.
    Paused,
    /// The scheme's SLA clocks are off.
    NoSla,
    /// Completed, closed or abortive: the clock no longer matters.
    Finished,
}

impl DueState {
    /// Due soon when the time left is within 20% of the target or within 24 hours,
    /// whichever is shorter (so an emergency is not "due soon" from the moment it is logged).
    pub fn of(
        status: Status,
        due_at: Option<OffsetDateTime>,
        on_hold_since: Option<OffsetDateTime>,
        target: Duration,
        now: OffsetDateTime,
    ) -> DueState {
        if status.is_finished() {
            return DueState::Finished;
        }
        let Some(due) = due_at else {
            return DueState::NoSla;
        };
        if on_hold_since.is_some() || status == Status::OnHold {
            return DueState::Paused;
        }
        let left = due - now;
        if left <= Duration::ZERO {
            return DueState::Overdue;
        }
        let fifth = target / 5;
        let day = Duration::days(1);
        let (threshold, because) = if fifth <= day {
            (fifth, SoonBecause::FifthOfTarget)
        } else {
            (day, SoonBecause::Day)
        };
        if left <= threshold {
            DueState::DueSoon(because)
        } else {
            DueState::OnTime
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DueState::Overdue => "Overdue",
            DueState::DueSoon(SoonBecause::Day) => "Due within 24 hours",
            DueState::DueSoon(SoonBecause::FifthOfTarget) => "Due soon",
            DueState::OnTime => "On time",
            DueState::Paused => "Clock paused",
            DueState::NoSla => "No SLA",
            DueState::Finished => "Clock stopped",
        }
    }

    pub fn badge_class(self) -> &'static str {
        match self {
            DueState::Overdue => "bad",
            DueState::DueSoon(_) => "warn",
            DueState::OnTime => "ok",
            DueState::Paused | DueState::Finished => "info",
            DueState::NoSla => "",
        }
    }
}

/// England & Wales bank holidays, including substitute days (and the 2023 coronation).
pub const BANK_HOLIDAYS: &[Date] = &[
    date!(2023 - 01 - 02),
    date!(2023 - 04 - 07),
    date!(2023 - 04 - 10),
    date!(2023 - 05 - 01),
    date!(2023 - 05 - 08),
    date!(2023 - 05 - 29),
    date!(2023 - 08 - 28),
    date!(2023 - 12 - 25),
    date!(2023 - 12 - 26),
    date!(2024 - 01 - 01),
    date!(2024 - 03 - 29),
    date!(2024 - 04 - 01),
    date!(2024 - 05 - 06),
    date!(2024 - 05 - 27),
    date!(2024 - 08 - 26),
    date!(2024 - 12 - 25),
    date!(2024 - 12 - 26),
    date!(2025 - 01 - 01),
    date!(2025 - 04 - 18),
    date!(2025 - 04 - 21),
    date!(2025 - 05 - 05),
    date!(2025 - 05 - 26),
    date!(2025 - 08 - 25),
    date!(2025 - 12 - 25),
    date!(2025 - 12 - 26),
    date!(2026 - 01 - 01),
    date!(2026 - 04 - 03),
    date!(2026 - 04 - 06),
    date!(2026 - 05 - 04),
    date!(2026 - 05 - 25),
    date!(2026 - 08 - 31),
    date!(2026 - 12 - 25),
    date!(2026 - 12 - 28),
    date!(2027 - 01 - 01),
    date!(2027 - 03 - 26),
    date!(2027 - 03 - 29),
    date!(2027 - 05 - 03),
    date!(2027 - 05 - 31),
    date!(2027 - 08 - 30),
    date!(2027 - 12 - 27),
    date!(2027 - 12 - 28),
    date!(2028 - 01 - 03),
    date!(2028 - 04 - 14),
    date!(2028 - 04 - 17),
    date!(2028 - 05 - 01),
    date!(2028 - 05 - 29),
    date!(2028 - 08 - 28),
    date!(2028 - 12 - 25),
    date!(2028 - 12 - 26),
    date!(2029 - 01 - 01),
    date!(2029 - 03 - 30),
    date!(2029 - 04 - 02),
    date!(2029 - 05 - 07),
    date!(2029 - 05 - 28),
    date!(2029 - 08 - 27),
    date!(2029 - 12 - 25),
    date!(2029 - 12 - 26),
    date!(2030 - 01 - 01),
    date!(2030 - 04 - 19),
    date!(2030 - 04 - 22),
    date!(2030 - 05 - 06),
    date!(2030 - 05 - 27),
    date!(2030 - 08 - 26),
    date!(2030 - 12 - 25),
    date!(2030 - 12 - 26),
];

/// Whether `day` is a working day: not a weekend, a bank holiday or one of the tenant's own holidays.
pub fn is_business_day(day: Date, tenant_holidays: &[Date]) -> bool {
    !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday)
        && !BANK_HOLIDAYS.contains(&day)
        && !tenant_holidays.contains(&day)
}

/// The first business day after `day`.
pub fn next_business_day(day: Date, tenant_holidays: &[Date]) -> Date {
    let mut d = day;
    loop {
        match d.next_day() {
            Some(next) => d = next,
            None => return Date::MAX,
        }
        if is_business_day(d, tenant_holidays) {
            return d;
        }
    }
}

/// The complaint's start date: the first business day after it was received.
pub fn complaint_start(received_on: Date, tenant_holidays: &[Date]) -> Date {
    next_business_day(received_on, tenant_holidays)
}

/// A stage's due date: calendar days from the start date.
pub fn stage_due(start: Date, stage: ComplaintStage) -> Date {
    start
        .checked_add(Duration::days(stage.days()))
        .unwrap_or(Date::MAX)
}

/// The first stage not yet done, in the Code's order, and when it is due.
pub fn next_stage(start: Date, done: &[ComplaintStage]) -> Option<(ComplaintStage, Date)> {
    ComplaintStage::ALL
        .iter()
        .copied()
        .find(|s| !done.contains(s))
        .map(|s| (s, stage_due(start, s)))
}

/// British Summer Time in `year`: from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of October.
fn summer_time(year: i32) -> Option<(OffsetDateTime, OffsetDateTime)> {
    let last_sunday = |month: time::Month| -> Option<Date> {
        let mut d = Date::from_calendar_date(year, month, 31).ok()?;
        while d.weekday() != Weekday::Sunday {
            d = d.previous_day()?;
        }
        Some(d)
    };
    let one_am = time::Time::from_hms(1, 0, 0).ok()?;
    Some((
        last_sunday(time::Month::March)?
            .with_time(one_am)
            .assume_utc(),
        last_sunday(time::Month::October)?
            .with_time(one_am)
            .assume_utc(),
    ))
}

fn uk_offset_at(utc: OffsetDateTime) -> time::UtcOffset {
    match summer_time(utc.year()) {
        Some((start, end)) if utc >= start && utc < end => {
            time::UtcOffset::from_hms(1, 0, 0).unwrap_or(time::UtcOffset::UTC)
        }
        _ => time::UtcOffset::UTC,
    }
}

/// Now: the one clock every page, rule and job reads.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Today's date in the UK: what "today" means on every page, in every rule and
/// as every query's date parameter (SQL never reads `current_date`, which is the
/// database server's date, not the customer's).
pub fn today() -> Date {
    uk_date(now())
}

/// The UK date at a moment (after midnight in summer it is a day ahead of UTC).
pub fn uk_date(t: OffsetDateTime) -> Date {
    uk_time(t).date()
}

/// A moment as a UK clock shows it.
pub fn uk_time(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(uk_offset_at(t))
}

/// A UK wall-clock time (as typed into a form) as a moment.
pub fn from_uk_time(local: time::PrimitiveDateTime) -> OffsetDateTime {
    let as_summer =
        local.assume_offset(time::UtcOffset::from_hms(1, 0, 0).unwrap_or(time::UtcOffset::UTC));
    if uk_offset_at(as_summer) != time::UtcOffset::UTC {
        as_summer
    } else {
        local.assume_utc()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn today_is_the_uk_date_after_midnight_in_summer() {
        // 00:30 in London on 2 July is still 1 July in UTC.
        assert_eq!(
            uk_date(datetime!(2025-07-01 23:30 UTC)),
            date!(2025 - 07 - 02)
        );
        // In winter the UK date is the UTC date.
        assert_eq!(
            uk_date(datetime!(2025-01-01 23:30 UTC)),
            date!(2025 - 01 - 01)
        );
    }

    #[test]
    fn due_time_is_reported_plus_target_plus_time_held() {
        let reported = datetime!(2025-03-03 09:00 UTC);
        assert_eq!(
            due_at(reported, Duration::hours(12), Duration::ZERO),
            datetime!(2025-03-03 21:00 UTC)
        );
        assert_eq!(
            due_at(reported, Duration::days(7), Duration::hours(5)),
            datetime!(2025-03-10 14:00 UTC)
        );
        let (due, held) = resume(
            Some(datetime!(2025-03-10 09:00 UTC)),
            datetime!(2025-03-04 09:00 UTC),
            datetime!(2025-03-06 12:00 UTC),
        );
        assert_eq!(held, Duration::hours(51));
        assert_eq!(due, Some(datetime!(2025-03-12 12:00 UTC)));
        assert_eq!(
            resume(
                None,
                datetime!(2025-03-04 09:00 UTC),
                datetime!(2025-03-06 12:00 UTC)
            )
            .0,
            None
        );
    }

    #[test]
    fn due_states_follow_the_time_left() {
        let now = datetime!(2025-03-03 09:00 UTC);
        let week = Duration::days(7);
        let open = Status::Open;
        assert_eq!(
            DueState::of(open, Some(now - Duration::minutes(1)), None, week, now),
            DueState::Overdue
        );
        assert_eq!(
            DueState::of(open, Some(now + Duration::hours(23)), None, week, now),
            DueState::DueSoon(SoonBecause::Day)
        );
        assert_eq!(
            DueState::of(open, Some(now + Duration::hours(30)), None, week, now),
            DueState::OnTime
        );
        // 12 hours: a fifth is 2.4 hours.
        let twelve = Duration::hours(12);
        assert_eq!(
            DueState::of(open, Some(now + Duration::hours(2)), None, twelve, now),
            DueState::DueSoon(SoonBecause::FifthOfTarget)
        );
        assert_eq!(
            DueState::of(open, Some(now + Duration::hours(3)), None, twelve, now),
            DueState::OnTime
        );
        assert_eq!(
            DueState::of(
                Status::OnHold,
                Some(now - Duration::days(3)),
                Some(now),
                week,
                now
            ),
            DueState::Paused
        );
        assert_eq!(DueState::of(open, None, None, week, now), DueState::NoSla);
        assert_eq!(
            DueState::of(
                Status::Closed,
                Some(now - Duration::days(3)),
                None,
                week,
                now
            ),
            DueState::Finished
        );
    }

    #[test]
    fn bank_holidays_are_never_weekends() {
        for d in BANK_HOLIDAYS {
            assert!(
                !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday),
                "{d}"
            );
        }
    }

    #[test]
    fn complaint_clocks_skip_weekends_and_bank_holidays() {
        // Friday 22 December 2023: the weekend, Christmas Day and Boxing Day follow.
        let start = complaint_start(date!(2023 - 12 - 22), &[]);
        assert_eq!(start, date!(2023 - 12 - 27));
        assert_eq!(
            stage_due(start, ComplaintStage::Acknowledgement),
            date!(2024 - 01 - 01)
        );
        assert_eq!(
            stage_due(start, ComplaintStage::PathToResolution),
            date!(2024 - 01 - 06)
        );
        assert_eq!(
            stage_due(start, ComplaintStage::Assessment),
            date!(2024 - 01 - 26)
        );
        assert_eq!(
            stage_due(start, ComplaintStage::EightWeekLetter),
            date!(2024 - 02 - 21)
        );
        // A tenant's own holiday is skipped too.
        assert_eq!(
            complaint_start(date!(2023 - 12 - 22), &[date!(2023 - 12 - 27)]),
            date!(2023 - 12 - 28)
        );
        // A weekday received complaint starts the next day.
        assert_eq!(
            complaint_start(date!(2025 - 03 - 04), &[]),
            date!(2025 - 03 - 05)
        );
        assert_eq!(
            next_stage(start, &[]),
            Some((ComplaintStage::Acknowledgement, date!(2024 - 01 - 01)))
        );
        assert_eq!(
            next_stage(start, &[ComplaintStage::Acknowledgement]),
            Some((ComplaintStage::PathToResolution, date!(2024 - 01 - 06)))
        );
        assert_eq!(next_stage(start, ComplaintStage::ALL), None);
    }

    #[test]
    fn uk_clock_times_follow_summer_time() {
        assert_eq!(uk_time(datetime!(2025-01-10 12:00 UTC)).hour(), 12);
        assert_eq!(uk_time(datetime!(2025-07-10 12:00 UTC)).hour(), 13);
        assert_eq!(
            from_uk_time(datetime!(2025-07-10 13:00)),
            datetime!(2025-07-10 12:00 UTC)
        );
        assert_eq!(
            from_uk_time(datetime!(2025-01-10 13:00)),
            datetime!(2025-01-10 13:00 UTC)
        );
        // Clocks go forward at 01:00 UTC on 30 March 2025.
        assert_eq!(uk_time(datetime!(2025-03-30 00:59 UTC)).hour(), 0);
        assert_eq!(uk_time(datetime!(2025-03-30 01:00 UTC)).hour(), 2);
    }
}
