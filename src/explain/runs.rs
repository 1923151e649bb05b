//! When Kubernetes starts a CronJob. The CronJob controller (robfig/cron)
//! matches the schedule against the wall clock of the CronJob's time zone:
//! a run is due at every instant whose local time matches. So a time that a
//! daylight-saving change skips does not run that day, and a time the change
//! repeats runs twice. croner finds the matching wall-clock times; chrono-tz
//! turns each into zero, one or two instants.

use std::str::FromStr;

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// More than any offset change in the time zone database (Samoa skipped a
/// whole day): wall-clock times this far apart are in instant order.
const MARGIN_HOURS: i64 = 26;
/// A schedule that matches nothing (such as 30 February) ends the search.
const MAX_WALL_CLOCK_TIMES: usize = 200_000;

/// The start times of one schedule in one time zone.
#[derive(Debug, Clone)]
pub struct Starts {
    cron: Cron,
    zone: Tz,
}

impl Starts {
    /// `cron` is a resolved schedule (no `H`); `time_zone` an IANA name, or
    /// `None` for the controller's zone, which is UTC on nearly every cluster.
    pub fn new(cron: &str, time_zone: Option<&str>) -> Result<Self, String> {
        let zone = match time_zone {
            Some(name) => Tz::from_str(name).map_err(|_| format!("unknown time zone `{name}`"))?,
            None => Tz::UTC,
        };
        let pattern = match cron.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other => other,
        };
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(pattern)
            .map_err(|error| format!("cannot read the schedule `{cron}`: {error}"))?;
        Ok(Self { cron, zone })
    }

    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// The first `count` starts after `now`.
    pub fn next(&self, now: DateTime<Utc>, count: usize) -> Vec<DateTime<Tz>> {
        let mut found: Vec<DateTime<Tz>> = Vec::new();
        if count == 0 {
            return found;
        }
        let margin = TimeDelta::hours(MARGIN_HOURS);
        let start = now.with_timezone(&self.zone).naive_local() - margin;
        for wall_clock in self.cron.iter_after(start).take(MAX_WALL_CLOCK_TIMES) {
            if found.len() >= count {
                // Later wall-clock times cannot give an earlier instant.
                let last = found[count - 1].naive_local();
                if wall_clock > last + margin {
                    break;
                }
            }
            found.extend(self.instants(wall_clock).filter(|instant| *instant > now));
            found.sort();
            found.dedup();
        }
        found.truncate(count);
        found
    }

    /// Every start in `[from, to)`, in order.
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Tz>> {
        let margin = TimeDelta::hours(MARGIN_HOURS);
        let start = from.with_timezone(&self.zone).naive_local() - margin;
        let end = to.with_timezone(&self.zone).naive_local() + margin;
        let mut found: Vec<DateTime<Tz>> = Vec::new();
        for wall_clock in self.cron.iter_after(start).take(MAX_WALL_CLOCK_TIMES) {
            if wall_clock > end {
                break;
            }
            found.extend(
                self.instants(wall_clock)
                    .filter(|instant| *instant >= from && *instant < to),
            );
        }
        found.sort();
        found.dedup();
        found
    }

    /// The instants a wall-clock time stands for: none in a gap, two in a
    /// repeated hour.
    fn instants(&self, wall_clock: NaiveDateTime) -> impl Iterator<Item = DateTime<Tz>> {
        let instants = match self.zone.from_local_datetime(&wall_clock) {
            LocalResult::Single(instant) => [Some(instant), None],
            LocalResult::Ambiguous(earlier, later) => [Some(earlier), Some(later)],
            LocalResult::None => [None, None],
        };
        instants.into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("RFC 3339")
            .with_timezone(&Utc)
    }

    fn rfc3339(times: &[DateTime<Tz>]) -> Vec<String> {
        times.iter().map(DateTime::to_rfc3339).collect()
    }

    #[test]
    fn a_time_the_spring_change_skips_does_not_run_that_day() {
        let starts = Starts::new("30 2 * * *", Some("Europe/Berlin")).expect("schedule");
        let next = starts.next(utc("2026-03-27T12:00:00Z"), 3);
        assert_eq!(
            rfc3339(&next),
            [
                "2026-03-28T02:30:00+01:00",
                "2026-03-30T02:30:00+02:00",
                "2026-03-31T02:30:00+02:00"
            ]
        );
    }

    #[test]
    fn a_time_the_autumn_change_repeats_runs_twice() {
        let starts = Starts::new("30 2 * * *", Some("Europe/Berlin")).expect("schedule");
        let next = starts.next(utc("2026-10-24T12:00:00Z"), 3);
        assert_eq!(
            rfc3339(&next),
            [
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:30:00+01:00",
                "2026-10-26T02:30:00+01:00"
            ]
        );
        // Starting inside the repeated hour, after its first 02:30.
        let next = starts.next(utc("2026-10-25T00:45:00Z"), 1);
        assert_eq!(rfc3339(&next), ["2026-10-25T02:30:00+01:00"]);
    }

    #[test]
    fn hourly_runs_follow_real_hours_across_changes() {
        let starts = Starts::new("@hourly", Some("Europe/Berlin")).expect("schedule");
        let spring = starts.between(utc("2026-03-29T00:00:00Z"), utc("2026-03-29T03:00:00Z"));
        assert_eq!(
            rfc3339(&spring),
            [
                "2026-03-29T01:00:00+01:00",
                "2026-03-29T03:00:00+02:00",
                "2026-03-29T04:00:00+02:00"
            ]
        );
        let autumn = starts.between(utc("2026-10-25T00:00:00Z"), utc("2026-10-25T02:00:00Z"));
        assert_eq!(
            rfc3339(&autumn),
            ["2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00"]
        );
    }

    #[test]
    fn no_time_zone_means_utc_and_macros_are_understood() {
        let starts = Starts::new("@weekly", None).expect("schedule");
        let next = starts.next(utc("2026-03-25T12:00:00+01:00"), 2);
        assert_eq!(
            rfc3339(&next),
            ["2026-03-29T00:00:00+00:00", "2026-04-05T00:00:00+00:00"]
        );
    }

    #[test]
    fn a_schedule_that_never_matches_ends() {
        let starts = Starts::new("0 0 30 2 *", None).expect("schedule");
        assert!(starts.next(utc("2026-01-01T00:00:00Z"), 3).is_empty());
    }
}
