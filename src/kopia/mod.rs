//! Kopia knowledge, kept as data where possible: the CLI grammar and the
//! policy fields of Kopia v0.23.1 (vendored JSON, see `data/README.md`), the
//! log settings Kopia accepts, and its storage backends (`backend`).

/// More index blobs than this after full maintenance and the maintenance
/// result warns: every Kopia run reads every index blob into memory, and so
/// many usually mean maintenance has fallen behind or another owner runs it
/// (Kopia's own compaction keeps a healthy repository far below).
pub const INDEX_BLOBS_WARNING: u64 = 1000;

pub mod args;
pub mod backend;
pub mod policy;

use std::sync::OnceLock;

use serde_json::Value;

/// The default Kopia image: the version the vendored grammar describes.
pub const DEFAULT_IMAGE: &str = "docker.io/kopia/kopia:0.23.1";

const CLI_JSON: &str = include_str!("data/kopia-cli.json");

/// Kopia's command tree, parsed once.
pub fn cli() -> &'static Value {
    static CLI: OnceLock<Value> = OnceLock::new();
    CLI.get_or_init(|| serde_json::from_str(CLI_JSON).unwrap_or(Value::Null))
}

/// The description of `kopia <path>` (such as `snapshot create`).
pub fn command(path: &str) -> Option<&'static Value> {
    fn find<'a>(nodes: &'a Value, path: &str) -> Option<&'a Value> {
        nodes.as_array()?.iter().find_map(|node| {
            if node.get("path")?.as_str()? == path {
                Some(node)
            } else {
                find(node.get("commands")?, path)
            }
        })
    }
    find(cli().get("tree")?, path)
}

/// The allowed values of an enum flag of a command.
pub fn flag_enum(command_path: &str, flag: &str) -> Vec<&'static str> {
    command(command_path)
        .and_then(|c| c.get("flags")?.as_array())
        .and_then(|flags| {
            flags
                .iter()
                .find(|f| f.get("name").and_then(Value::as_str) == Some(flag))
        })
        .and_then(|f| f.get("enum")?.as_array())
        .map(|values| values.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Compression algorithms a policy may name (`inherit` excluded).
pub fn compressors() -> Vec<&'static str> {
    flag_enum("policy set", "compression")
        .into_iter()
        .filter(|c| *c != "inherit")
        .collect()
}

/// Kopia's log levels (`--file-log-level`).
pub fn log_levels() -> Vec<&'static str> {
    global_flag_enum("file-log-level")
}

fn global_flag_enum(flag: &str) -> Vec<&'static str> {
    cli()
        .get("global_flags")
        .and_then(Value::as_array)
        .and_then(|flags| {
            flags
                .iter()
                .find(|f| f.get("name").and_then(Value::as_str) == Some(flag))
        })
        .and_then(|f| f.get("enum")?.as_array())
        .map(|values| values.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Checks a Go duration as Kopia's flag parser (kingpin v2.4) reads it:
/// a sequence of numbers with units ns, us, µs, ms, s, m, h, d, w.
/// The length of a Go duration in seconds (with Kopia's `d` and `w`), or
/// `None` when it is not one.
pub fn go_duration_seconds(text: &str) -> Option<f64> {
    if !is_go_duration(text) {
        return None;
    }
    let negative = text.starts_with('-');
    let mut rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    let mut total = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        let (unit, seconds) = [
            ("ns", 1e-9),
            ("us", 1e-6),
            ("µs", 1e-6),
            ("ms", 1e-3),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
            ("d", 86400.0),
            ("w", 604800.0),
        ]
        .into_iter()
        .filter(|(u, _)| rest.starts_with(u))
        .max_by_key(|(u, _)| u.len())
        .unwrap_or(("", 0.0));
        if unit.is_empty() && !rest.is_empty() {
            return None;
        }
        rest = &rest[unit.len()..];
        total += number * seconds;
    }
    Some(if negative { -total } else { total })
}

pub fn is_go_duration(text: &str) -> bool {
    let mut rest = text.strip_prefix(['+', '-']).unwrap_or(text);
    if rest == "0" {
        return true;
    }
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return false;
        }
        rest = &rest[number_len..];
        let unit = ["ns", "us", "µs", "ms", "s", "m", "h", "d", "w"]
            .iter()
            .filter(|u| rest.starts_with(**u))
            .max_by_key(|u| u.len());
        match unit {
            Some(unit) => rest = &rest[unit.len()..],
            None => return false,
        }
    }
    true
}

pub use backend::{CREDENTIAL_FILES, SCHEMES};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_grammar_is_kopia_0_23_1() {
        assert_eq!(
            cli().pointer("/kopia/version").and_then(Value::as_str),
            Some("0.23.1")
        );
        assert!(DEFAULT_IMAGE.ends_with(":0.23.1"));
        assert!(command("snapshot create").is_some());
        assert!(command("policy import").is_some());
    }

    #[test]
    fn compressors_and_log_levels_come_from_the_grammar() {
        let compressors = compressors();
        assert!(compressors.contains(&"zstd"));
        assert!(compressors.contains(&"s2-default"));
        assert!(!compressors.contains(&"inherit"));
        assert_eq!(log_levels(), vec!["debug", "info", "warning", "error"]);
    }

    #[test]
    fn go_durations() {
        for ok in ["4h", "30m", "7d", "1h30m", "1.5h", "2w", "0", "500ms"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["", "4", "4 hours", "h", "1x", "1..5h", "1h30"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
