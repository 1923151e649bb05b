//! Problems in words: a message and a help text (how to fix it) for each.

use super::Problem;
use crate::diagnostics::nearest;

/// A user-facing message and a help text (how to fix it) for a problem.
pub fn describe(problem: &Problem) -> (String, String) {
    match problem {
        Problem::UnknownField { field, known } => {
            let pruned = "VolSync's API server would drop it";
            let help = match nearest(field, known.iter().map(String::as_str)) {
                Some(name) => format!("did you mean `{name}`? ({pruned})"),
                None if known.is_empty() => format!("no fields are allowed here; {pruned}"),
                None => format!("valid fields here: {}; {pruned}", known.join(", ")),
            };
            (format!("unknown field `{field}`"), help)
        }
        Problem::WrongType { expected } => {
            let help = match expected.as_str() {
                "a string" => "quote the value to make it text, e.g. \"5\" or \"true\"",
                "an integer" => "write a whole number without quotes",
                "a number" => "write a number without quotes",
                "a boolean" => "write true or false, without quotes",
                "a list" => "write a list: one `- item` per line, or [a, b]",
                "a mapping" => "write `key: value` pairs indented below the field",
                "an integer or a string" => "write a quantity such as 10Gi, or a whole number",
                _ => "change the value's type",
            };
            (format!("expected {expected}"), help.to_owned())
        }
        Problem::NotInEnum { allowed } => {
            let list = quoted_list(allowed);
            (
                format!("the value is not one of {list}"),
                format!("use one of {list} (names are case-sensitive)"),
            )
        }
        Problem::PatternMismatch { pattern } => (
            format!("the value does not match VolSync's pattern `{pattern}`"),
            pattern_help(pattern),
        ),
        Problem::MissingRequired { field } => (
            format!("missing required field `{field}`"),
            format!("add `{field}` here"),
        ),
        Problem::TooManyItems { max } => (
            format!("too many items: at most {max} are allowed"),
            format!("remove items until at most {max} remain"),
        ),
        Problem::TooFewItems { min } => (
            format!("too few items: at least {min} required"),
            format!("list at least {min}, or leave the field out"),
        ),
        Problem::BelowMinimum { min } => (
            format!("the value is below the minimum of {}", number(*min)),
            format!("use {} or more", number(*min)),
        ),
        Problem::AboveMaximum { max } => (
            format!("the value is above the maximum of {}", number(*max)),
            format!("use {} or less", number(*max)),
        ),
        Problem::TooShort { min_length: 1 } => (
            "the value is empty".to_owned(),
            "write a value, or leave the field out".to_owned(),
        ),
        Problem::TooShort { min_length } => (
            format!("the value is shorter than {min_length} characters"),
            format!("use at least {min_length} characters"),
        ),
        Problem::TooLong { max_length } => (
            format!("the value is longer than {max_length} characters"),
            format!("use at most {max_length} characters"),
        ),
        Problem::BadFormat { format } => match format.as_str() {
            "date-time" => (
                "the value is not an RFC 3339 date-time".to_owned(),
                "write it like 2025-11-20T00:00:00Z or 2025-11-20T00:00:00+01:00 (with `T` and an offset), quoted".to_owned(),
            ),
            "int32" => (
                "the number does not fit in a 32-bit integer".to_owned(),
                format!("use a whole number from {} to {}", i32::MIN, i32::MAX),
            ),
            "int64" => (
                "the number does not fit in a 64-bit integer".to_owned(),
                format!("use a whole number from {} to {}", i64::MIN, i64::MAX),
            ),
            other => (
                format!("the value is not in the `{other}` format"),
                format!("write a valid `{other}` value"),
            ),
        },
    }
}

fn quoted_list(items: &[String]) -> String {
    items
        .iter()
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        value.to_string()
    }
}

/// The patterns VolSync's schemas use, explained; others get a generic help.
pub(crate) fn pattern_help(pattern: &str) -> String {
    const QUANTITY: &str = "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";
    const CRON: &str = "^(@(annually|yearly|monthly|weekly|daily|hourly))|((((\\d+,)*\\d+|(\\d+(\\/|-)\\d+)|\\*(\\/\\d+)?)\\s?){5})$";
    const IDENTITY: &str = "^[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$|^[a-zA-Z0-9]$";
    const ABSOLUTE_PATH: &str = "^/.*";
    match pattern {
        QUANTITY => "write a Kubernetes quantity such as 10Gi, 500Mi or 1G".to_owned(),
        CRON => "write a cron schedule of 5 numeric fields such as \"0 2 * * *\", or @hourly, @daily, @weekly, @monthly, @yearly; names (MON, JAN) and `?` are not accepted".to_owned(),
        IDENTITY => "use letters, digits, `.`, `_` and `-` only, starting and ending with a letter or digit".to_owned(),
        ABSOLUTE_PATH => "write an absolute path, starting with /".to_owned(),
        _ => format!("change the value so that it matches `{pattern}`"),
    }
}
