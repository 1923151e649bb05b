//! YAML 1.1 pitfalls. kubectl, Helm, Argo CD and Flux read YAML as 1.1
//! (go-yaml v2): to them an unquoted `yes` is a boolean, `0755` is octal and
//! `2024-01-01` is a timestamp. kopiaplan reads YAML 1.2, so such a plain
//! scalar would mean one thing here and another thing to the cluster tools.
//! We refuse it and say how to quote it.

/// Why a plain scalar is read differently by YAML 1.1 tools, or `None`.
pub fn yaml11_reading(plain: &str) -> Option<String> {
    const BOOLEANS: [&str; 16] = [
        "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF",
    ];
    if BOOLEANS.contains(&plain) {
        let value = matches!(
            plain,
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON"
        );
        return Some(format!("a boolean ({value})"));
    }
    let unsigned = plain.strip_prefix(['-', '+']).unwrap_or(plain);
    if unsigned.len() > 1
        && unsigned.starts_with('0')
        && unsigned.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && unsigned.bytes().any(|b| b.is_ascii_digit() && b != b'0')
    {
        return Some(
            if unsigned
                .bytes()
                .all(|b| (b'0'..=b'7').contains(&b) || b == b'_')
            {
                "an octal number".to_owned()
            } else {
                "a number with a leading zero".to_owned()
            },
        );
    }
    if unsigned.contains('_')
        && unsigned.starts_with(|c: char| c.is_ascii_digit())
        && unsigned
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b'_' | b'.' | b'x' | b'b'))
    {
        return Some("a number (YAML 1.1 ignores `_` in numbers)".to_owned());
    }
    if is_sexagesimal(unsigned) {
        return Some("a base-60 number".to_owned());
    }
    if is_timestamp(plain) {
        return Some("a timestamp".to_owned());
    }
    if plain == "=" || plain == "<<" {
        return Some("a special YAML 1.1 key".to_owned());
    }
    None
}

/// `1:20`, `190:20:30`: YAML 1.1 base-60 integers.
fn is_sexagesimal(text: &str) -> bool {
    let mut parts = text.split(':');
    let Some(first) = parts.next() else {
        return false;
    };
    let rest: Vec<&str> = parts.collect();
    !rest.is_empty()
        && !first.is_empty()
        && !first.starts_with('0')
        && first.bytes().all(|b| b.is_ascii_digit() || b == b'_')
        && rest.iter().all(|p| {
            !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()) && p < &"60"
        })
}

/// `2024-01-01`, optionally followed by a time: a YAML 1.1 timestamp.
fn is_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() < 8 {
        return false;
    }
    let year = bytes.iter().take(4).all(u8::is_ascii_digit) && bytes[4] == b'-';
    if !year {
        return false;
    }
    let mut rest = text[5..].splitn(2, '-');
    let month = rest.next().unwrap_or("");
    let day_and_time = rest.next().unwrap_or("");
    let day: String = day_and_time
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let after_day = &day_and_time[day.len()..];
    (1..=2).contains(&month.len())
        && month.bytes().all(|b| b.is_ascii_digit())
        && (1..=2).contains(&day.len())
        && (after_day.is_empty() || is_time_of_timestamp(after_day))
}

/// What may follow the date of a YAML 1.1 timestamp, all of it: `T` or
/// blanks, `h:mm:ss`, a fraction, then `Z` or an offset, blanks allowed
/// before it. `2024-01-20T15:00x:00Z` is text to YAML 1.1 tools too.
fn is_time_of_timestamp(text: &str) -> bool {
    fn digits(text: &str, min: usize, max: usize) -> Option<&str> {
        let count = text.bytes().take_while(u8::is_ascii_digit).count();
        (min..=max).contains(&count).then(|| &text[count..])
    }
    let rest = match text.strip_prefix(['T', 't']) {
        Some(rest) => rest,
        None if text.starts_with([' ', '\t']) => text.trim_start_matches([' ', '\t']),
        None => return false,
    };
    let time = digits(rest, 1, 2)
        .and_then(|r| r.strip_prefix(':'))
        .and_then(|r| digits(r, 2, 2))
        .and_then(|r| r.strip_prefix(':'))
        .and_then(|r| digits(r, 2, 2));
    let Some(mut rest) = time else {
        return false;
    };
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let zone = rest.trim_start_matches([' ', '\t']);
    zone.is_empty()
        || zone == "Z"
        || zone
            .strip_prefix(['+', '-'])
            .and_then(|r| digits(r, 1, 2))
            .is_some_and(|r| {
                r.is_empty() || r.strip_prefix(':').and_then(|m| digits(m, 2, 2)) == Some("")
            })
}

#[cfg(test)]
mod tests {
    use super::yaml11_reading;

    #[test]
    fn flags_what_yaml_1_1_reads_differently() {
        for text in [
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "0755",
            "-012",
            "1_000",
            "0x1_F",
            "1:20",
            "190:20:30",
            "2024-01-01",
            "2024-1-1",
            "2001-12-14t21:59:43.10-05:00",
            "<<",
            "=",
            "09",
        ] {
            assert!(yaml11_reading(text).is_some(), "{text} should be flagged");
        }
    }

    #[test]
    fn leaves_unambiguous_text_alone() {
        for text in [
            "nightly",
            "0",
            "10",
            "-5",
            "0.5",
            "3Gi",
            "H 2 * * *",
            "*/30 * * * *",
            "Europe/Berlin",
            "s3://bucket/prefix",
            "web-data",
            "1:2:3:4:x",
            "12:00 noon",
            "v1.33.0",
            "2024",
            "2024-01",
            "0.23.1",
            "yesterday",
            "onion",
            "@daily",
            "",
        ] {
            assert_eq!(yaml11_reading(text), None, "{text} should not be flagged");
        }
    }
}
