//! How long an entry may go without a successful run: the longest gap
//! between two consecutive scheduled starts in the CronJob's time zone
//! (daylight-saving changes included), plus the starting and active
//! deadlines, within which a run that was due may still start and finish.
//! The alerts and `kopiaplan status` both use this one number.

use chrono::{DateTime, TimeDelta, Utc};

use crate::explain::runs::Starts;

/// Where the search starts: a fixed instant, so the output never depends on
/// the clock.
const SEARCH_FROM: &str = "2026-01-01T00:00:00Z";
/// Gaps repeat within four years (a leap year, daylight-saving changes);
/// four years and a month after the first start covers every gap, the one
/// around the turn of a year included.
const CYCLE_DAYS: i64 = 4 * 365 + 31;
/// A schedule on 29 February repeats every 4 years, 8 across 2100.
const SEARCH_YEARS: i64 = 9;
/// A schedule this dense (every few minutes) shows its longest gap in the
/// starts seen (more than 50 a day: its pattern repeats daily or weekly,
/// and a daylight-saving change adds no gap to a schedule that runs in
/// every hour).
const MAX_STARTS: usize = 20_000;
const WINDOW_DAYS: i64 = 30;

/// The longest time between two consecutive starts of `cron` (resolved, no
/// `H`) in `time_zone`, in seconds; `None` for a schedule that starts fewer
/// than twice in nine years (such as 31 February).
pub fn longest_gap(cron: &str, time_zone: Option<&str>) -> Option<i64> {
    let starts = Starts::new(cron, time_zone).ok()?;
    let from: DateTime<Utc> = DateTime::parse_from_rfc3339(SEARCH_FROM)
        .ok()?
        .with_timezone(&Utc);
    // One search first: a schedule that never matches (31 February) would
    // make every window below search the calendar to its end.
    if starts.next(from, 2).len() < 2 {
        return None;
    }
    let last_window = from + TimeDelta::days(365 * SEARCH_YEARS);
    let mut window = from;
    let mut first: Option<DateTime<Utc>> = None;
    let mut previous: Option<DateTime<Utc>> = None;
    let mut longest: Option<i64> = None;
    let mut seen = 0usize;
    while window < last_window && seen < MAX_STARTS {
        let end = window + TimeDelta::days(WINDOW_DAYS);
        for start in starts.between(window, end) {
            let start = start.with_timezone(&Utc);
            if let Some(previous) = previous {
                let gap = (start - previous).num_seconds();
                longest = Some(longest.map_or(gap, |l| l.max(gap)));
            }
            first.get_or_insert(start);
            previous = Some(start);
            seen += 1;
        }
        window = end;
        if let (Some(first), Some(_)) = (first, longest)
            && window > first + TimeDelta::days(CYCLE_DAYS)
        {
            break;
        }
    }
    longest
}

/// Seconds without a success after which an entry is stale.
pub fn threshold(
    cron: &str,
    time_zone: Option<&str>,
    starting_deadline_seconds: i64,
    active_deadline_seconds: i64,
) -> Option<i64> {
    longest_gap(cron, time_zone)
        .map(|gap| gap + starting_deadline_seconds.max(0) + active_deadline_seconds.max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    #[test]
    fn each_schedule_has_its_own_gap() {
        assert_eq!(longest_gap("*/15 * * * *", None), Some(15 * 60));
        assert_eq!(longest_gap("0 3 * * 0", None), Some(7 * DAY));
        assert_eq!(longest_gap("0 2 * * *", Some("UTC")), Some(DAY));
        // Weekdays only: Friday to Monday.
        assert_eq!(longest_gap("0 2 * * 1-5", None), Some(3 * DAY));
        // 31-day months, and February to March.
        assert_eq!(longest_gap("0 0 31 * *", None), Some(61 * DAY));
        assert_eq!(longest_gap("@yearly", None), Some(366 * DAY));
    }

    #[test]
    fn a_time_the_spring_change_skips_makes_a_two_day_gap() {
        assert_eq!(
            longest_gap("30 2 * * *", Some("Europe/Berlin")),
            Some(2 * DAY - HOUR)
        );
        // Hourly runs follow real hours: the skipped hour is no gap.
        assert_eq!(longest_gap("0 * * * *", Some("Europe/Berlin")), Some(HOUR));
    }

    #[test]
    fn leap_days_and_impossible_dates() {
        assert_eq!(longest_gap("0 0 29 2 *", None), Some((4 * 365 + 1) * DAY));
        assert_eq!(longest_gap("0 0 31 2 *", None), None);
    }

    #[test]
    fn the_threshold_adds_both_deadlines() {
        assert_eq!(
            threshold("0 3 * * 0", None, 600, 3600),
            Some(7 * DAY + 4200)
        );
    }
}
