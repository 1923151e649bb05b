//! Schedules: the cron dialect of Kubernetes CronJobs (five fields or an
//! `@daily`-style macro) plus Jenkins-style `H` tokens, which a stable hash
//! of the entry replaces so that many entries spread over the hour and day
//! instead of all starting at once.

use std::str::FromStr;

use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};

use super::names::stable_hash;
use crate::diagnostics::nearest;

/// The macros Kubernetes accepts (robfig/cron's descriptors).
const MACROS: [&str; 7] = [
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// Bounds of each field, for `H`: minute, hour, day of month (1–28 so that
/// every month has the day), month, day of week.
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 28),
    ("month", 1, 12),
    ("day of week", 0, 6),
];

#[derive(Debug, PartialEq, Eq)]
pub struct ScheduleError {
    pub message: String,
    pub help: String,
}

fn error(message: impl Into<String>, help: impl Into<String>) -> ScheduleError {
    ScheduleError {
        message: message.into(),
        help: help.into(),
    }
}

/// Replaces `H` tokens using `seed` and checks the result is a schedule
/// Kubernetes accepts. Returns the schedule to put in the CronJob.
pub fn resolve(written: &str, seed: &str) -> Result<String, ScheduleError> {
    let text = written.trim();
    if text.starts_with("TZ=") || text.starts_with("CRON_TZ=") {
        return Err(error(
            "time zones inside the schedule are not allowed by Kubernetes",
            "remove the TZ= prefix and set `timeZone` instead",
        ));
    }
    if text.starts_with('@') {
        if MACROS.contains(&text) {
            return Ok(text.to_owned());
        }
        let help = match nearest(text, MACROS) {
            Some(m) => format!("did you mean `{m}`?"),
            None => format!("use one of {}", MACROS.join(", ")),
        };
        return Err(error(format!("unknown schedule macro `{text}`"), help));
    }
    let fields: Vec<&str> = text.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(error(
            format!(
                "a schedule has 5 fields (minute hour day-of-month month day-of-week), this one has {}",
                fields.len()
            ),
            "write it like `30 2 * * *`, `H 2 * * *` or `@daily`",
        ));
    }
    let mut resolved = Vec::with_capacity(5);
    for (index, field) in fields.iter().enumerate() {
        let (name, low, high) = FIELDS[index];
        if field.contains(['L', 'W', '#']) && !field.chars().any(|c| c.is_ascii_lowercase()) {
            return Err(error(
                format!(
                    "the {name} field `{field}` uses L, W or #, which Kubernetes does not support"
                ),
                "use plain numbers, ranges, lists and steps",
            ));
        }
        let field_seed = format!("{seed}/{index}");
        resolved.push(replace_h(field, low, high, &field_seed).map_err(|message| {
            error(
                format!("the {name} field `{field}` {message}"),
                "write `H`, `H(a-b)`, `H/step` or `H(a-b)/step`",
            )
        })?);
    }
    for (index, field) in resolved.iter().enumerate() {
        let (name, low, _) = FIELDS[index];
        let high = if index == 2 { 31 } else { FIELDS[index].2 };
        // Empty list elements (`,15`) are skipped, as the CronJob
        // controller skips them; but croner and the controller also accept
        // a field of commas alone (`,`), which holds no value at all.
        if field.split(',').all(str::is_empty) {
            return Err(error(
                format!("the {name} field `{}` has no value", fields[index]),
                "write a value, a range, a list such as `1,15`, or `*`",
            ));
        }
        for element in field.split(',') {
            // Only month and day of week take names (croner also takes
            // `JAN` as a day of month; Kubernetes does not).
            if index < 3 && element.bytes().any(|b| b.is_ascii_alphabetic()) {
                return Err(error(
                    format!(
                        "the {name} field `{}` has a name; only month and day of week take names",
                        fields[index]
                    ),
                    format!("use numbers from {low} to {high} in the {name} field"),
                ));
            }
            // Kubernetes reads a step as a plain number; croner also takes
            // `*/5sun`, which the CronJob controller refuses.
            if let Some((_, step)) = element.split_once('/')
                && (step.is_empty() || !step.bytes().all(|b| b.is_ascii_digit()))
            {
                return Err(error(
                    format!(
                        "the {name} field `{}` has the step `{step}`, which is not a number",
                        fields[index]
                    ),
                    "write a step as a number, such as `*/15`",
                ));
            }
            let range = element.split('/').next().unwrap_or("");
            // Kubernetes reads each end of a range as a number or, in the
            // month and day-of-week fields, as exactly a name (`JAN`,
            // `sun`); croner also takes `0JAN`, which the controller refuses.
            let names: &[&str] = match index {
                3 => &[
                    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
                    "dec",
                ],
                4 => &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
                _ => &[],
            };
            // (An empty list item, `,1`, is dropped by Kubernetes' parser.)
            for token in range.split('-').filter(|_| !element.is_empty()) {
                let readable = matches!(token, "*" | "?")
                    || (!token.is_empty() && token.bytes().all(|b| b.is_ascii_digit()))
                    || names.contains(&token.to_ascii_lowercase().as_str());
                if !readable {
                    return Err(error(
                        format!(
                            "the {name} field `{}` has `{token}`, which is neither a number nor a name Kubernetes reads",
                            fields[index]
                        ),
                        format!("use numbers from {low} to {high} in the {name} field"),
                    ));
                }
            }
            for number in range.split('-').filter_map(|n| n.parse::<u32>().ok()) {
                if number < low || number > high {
                    return Err(error(
                        format!(
                            "the {name} field `{}` has {number}, outside {low}-{high}",
                            fields[index]
                        ),
                        format!("use values from {low} to {high} in the {name} field"),
                    ));
                }
            }
            // Kubernetes refuses a range that runs backwards (`1-sun`: Sunday
            // is 0); croner reads it as wrapping or as Sunday 7.
            let value = |token: &str| -> Option<usize> {
                let name = names.iter().position(|n| n.eq_ignore_ascii_case(token));
                let first = usize::from(index == 3);
                name.map(|p| p + first).or_else(|| token.parse().ok())
            };
            if let Some((from, to)) = range.split_once('-')
                && let (Some(start), Some(end)) = (value(from), value(to))
                && start > end
            {
                return Err(error(
                    format!(
                        "the {name} field `{}` has the range `{range}`, which runs backwards",
                        fields[index]
                    ),
                    "write a range from its lower end to its higher one (Sunday is 0), or a list such as `5,0`",
                ));
            }
        }
    }
    let cron = resolved.join(" ");
    if let Some(dow) = resolved.get(4)
        && dow.split([',', '-', '/']).any(|part| part == "7")
    {
        return Err(error(
            "day of week 7 is not accepted by Kubernetes",
            "use 0 for Sunday",
        ));
    }
    parses(&cron).map_err(|e| {
        error(
            format!("invalid schedule `{written}`: {e}"),
            "write five fields like `30 2 * * *`, or `@daily`",
        )
    })?;
    Ok(cron)
}

/// Whether croner parses `cron`, remembered per thread: thousands of
/// entries share a few hundred schedules, and parsing one is most of what
/// checking it costs. Bounded: a long-lived caller (a fuzzer) starts over
/// after 4,096 schedules.
fn parses(cron: &str) -> Result<(), String> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static PARSED: RefCell<HashMap<String, Result<(), String>>> = RefCell::new(HashMap::new());
    }
    if let Some(known) = PARSED.with_borrow(|parsed| parsed.get(cron).cloned()) {
        return known;
    }
    let result = parser().parse(cron).map(drop).map_err(|e| e.to_string());
    PARSED.with_borrow_mut(|parsed| {
        if parsed.len() >= 4096 {
            parsed.clear();
        }
        parsed.insert(cron.to_owned(), result.clone())
    });
    result
}

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

/// `H`, `H(a-b)`, `H/n`, `H(a-b)/n`, in each element of a comma list.
fn replace_h(field: &str, low: u32, high: u32, seed: &str) -> Result<String, String> {
    if !field.contains('H') {
        return Ok(field.to_owned());
    }
    let mut parts = Vec::new();
    for (i, element) in field.split(',').enumerate() {
        if !element.contains('H') {
            parts.push(element.to_owned());
            continue;
        }
        let (base, step) = match element.split_once('/') {
            Some((base, step)) => {
                let step: u32 = step
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("has an invalid step `{step}`"))?;
                (base, Some(step))
            }
            None => (element, None),
        };
        let (from, to) = if base == "H" {
            (low, high)
        } else {
            let range = base
                .strip_prefix("H(")
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("has `{element}`, which is not an H form"))?;
            let (a, b) = range
                .split_once('-')
                .ok_or_else(|| format!("has `{element}`: the range needs `a-b`"))?;
            let a: u32 = a
                .parse()
                .map_err(|_| format!("has a bad range start `{a}`"))?;
            let b: u32 = b
                .parse()
                .map_err(|_| format!("has a bad range end `{b}`"))?;
            if a > b || a < low || b > high {
                return Err(format!("has the range {a}-{b} outside {low}-{high}"));
            }
            (a, b)
        };
        let hash = stable_hash(&format!("{seed}/{i}"));
        match step {
            None => parts.push((from + hash % (to - from + 1)).to_string()),
            Some(step) => {
                let offset = hash % step.min(to - from + 1);
                parts.push(format!("{}-{to}/{step}", from + offset));
            }
        }
    }
    Ok(parts.join(","))
}

/// Checks an IANA time zone name; suggests the closest on a typo.
pub fn check_time_zone(name: &str) -> Result<(), ScheduleError> {
    if Tz::from_str(name).is_ok() {
        return Ok(());
    }
    let names = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name());
    let help = match nearest(name, names) {
        Some(tz) => format!("did you mean `{tz}`?"),
        None => "use an IANA name such as `Europe/Berlin` or `UTC`".to_owned(),
    };
    Err(error(format!("unknown time zone `{name}`"), help))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_kubernetes_schedules() {
        for s in [
            "*/30 * * * *",
            "0 2 * * 1-5",
            "15 3 1,15 * *",
            "@daily",
            "@hourly",
            "0 0 * JAN SUN",
        ] {
            assert!(resolve(s, "x").is_ok(), "{s}");
        }
    }

    #[test]
    fn rejects_what_kubernetes_rejects() {
        for s in [
            "* * * *",
            "0 0 * * * *",
            "61 * * * *",
            "0 25 * * *",
            "@daly",
            "TZ=UTC 0 * * * *",
            "0 0 L * *",
            "0 0 * * 7",
        ] {
            assert!(resolve(s, "x").is_err(), "{s} should be rejected");
        }
        let e = resolve("@daly", "x").unwrap_err();
        assert_eq!(e.help, "did you mean `@daily`?");
    }

    #[test]
    fn h_is_stable_per_seed_and_within_bounds() {
        let a = resolve("H H * * *", "plan/ns/a").unwrap();
        assert_eq!(a, resolve("H H * * *", "plan/ns/a").unwrap());
        let spread: std::collections::BTreeSet<String> = (0..50)
            .map(|i| resolve("H 2 * * *", &format!("plan/ns/{i}")).unwrap())
            .collect();
        assert!(spread.len() > 20, "H should spread entries: {spread:?}");
        for i in 0..200 {
            let s = resolve("H H(1-5) H * H", &format!("s{i}")).unwrap();
            let f: Vec<u32> = s
                .split(' ')
                .filter(|f| *f != "*")
                .map(|f| f.parse().unwrap())
                .collect();
            assert!(
                f[0] <= 59 && (1..=5).contains(&f[1]) && (1..=28).contains(&f[2]) && f[3] <= 6,
                "{s}"
            );
        }
        let stepped = resolve("H/15 * * * *", "seed").unwrap();
        assert!(stepped.ends_with("-59/15 * * * *"), "{stepped}");
    }

    #[test]
    fn time_zones_are_iana_names() {
        assert!(check_time_zone("Europe/Berlin").is_ok());
        assert!(check_time_zone("UTC").is_ok());
        let e = check_time_zone("Europe/Berln").unwrap_err();
        assert_eq!(e.help, "did you mean `Europe/Berlin`?");
    }
}
