//! Kopia snapshot policies as `kopia policy import` reads them: a JSON object
//! per source. Checked here against the vendored field list, because Kopia
//! rejects unknown fields and wrong types only when the job runs.

use std::sync::OnceLock;

use serde_json::Value;

use crate::diagnostics::nearest;

const FIELDS_JSON: &str = include_str!("data/kopia-policy-fields.json");

fn fields() -> &'static Value {
    static FIELDS: OnceLock<Value> = OnceLock::new();
    FIELDS.get_or_init(|| {
        serde_json::from_str::<Value>(FIELDS_JSON)
            .ok()
            .and_then(|v| v.get("fields").cloned())
            .unwrap_or(Value::Null)
    })
}

/// A problem in a policy, at a JSON path below the policy's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyProblem {
    pub path: String,
    pub message: String,
    pub help: String,
    /// The key itself is wrong (not its value).
    pub unknown_field: bool,
}

/// Every problem of `policy` against Kopia's policy fields.
pub fn check(policy: &Value) -> Vec<PolicyProblem> {
    let mut problems = Vec::new();
    check_object(policy, fields(), "", &mut problems);
    problems
}

fn check_object(value: &Value, fields: &Value, path: &str, problems: &mut Vec<PolicyProblem>) {
    let Some(object) = value.as_object() else {
        problems.push(PolicyProblem {
            path: path.to_owned(),
            message: format!("expected an object, found {}", kind_of(value)),
            help: "write the policy as a mapping of Kopia policy fields".to_owned(),
            unknown_field: false,
        });
        return;
    };
    let Some(known) = fields.as_object() else {
        return;
    };
    for (key, child) in object {
        let child_path = if path.is_empty() {
            key.clone()
        } else {
            format!("{path}.{key}")
        };
        match known.get(key) {
            Some(field) => check_value(child, field, &child_path, problems),
            None => {
                let help = match nearest(key, known.keys().map(String::as_str)) {
                    Some(name) => format!("did you mean `{name}`?"),
                    None => format!(
                        "Kopia policy fields here: {}",
                        known
                            .keys()
                            .map(String::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                problems.push(PolicyProblem {
                    path: child_path,
                    message: format!("`{key}` is not a Kopia policy field"),
                    help,
                    unknown_field: true,
                });
            }
        }
    }
}

fn check_value(value: &Value, field: &Value, path: &str, problems: &mut Vec<PolicyProblem>) {
    let expected = field.get("type").and_then(Value::as_str).unwrap_or("");
    let nullable = field
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if value.is_null() && nullable {
        return;
    }
    let ok = match expected {
        "object" => {
            if value.is_object() {
                check_object(
                    value,
                    field.get("fields").unwrap_or(&Value::Null),
                    path,
                    problems,
                );
            }
            value.is_object()
        }
        "array" => {
            if let (Some(items), Some(item_field)) = (value.as_array(), field.get("items")) {
                for (index, item) in items.iter().enumerate() {
                    check_value(item, item_field, &format!("{path}[{index}]"), problems);
                }
            }
            value.is_array()
        }
        "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
        "bool" => value.is_boolean(),
        "string" => value.is_string(),
        _ => true,
    };
    if ok {
        check_domain(value, path, problems);
    } else {
        let expected_text = match expected {
            "bool" => "true or false",
            "integer" => "a whole number",
            "string" => "a string",
            "array" => "a list",
            "object" => "a mapping",
            other => other,
        };
        problems.push(PolicyProblem {
            path: path.to_owned(),
            message: format!("expected {expected_text}, found {}", kind_of(value)),
            help: format!("Kopia reads `{path}` as {expected_text}"),
            unknown_field: false,
        });
    }
}

/// What Kopia accepts of a field beyond its JSON type.
enum Domain {
    /// One of these names (from Kopia 0.23.1's `policy set` flags).
    OneOf(Vec<&'static str>),
    /// A whole number in this range.
    Range(i64, i64),
}

/// The domain of the field at `path` (list indices left out).
fn domain(path: &str) -> Option<Domain> {
    let last = path.rsplit('.').next().unwrap_or(path);
    // `inherit` is the flag's way to unset a field; in a policy file the
    // field is left out instead.
    let enum_of = |flag| {
        let mut names = crate::kopia::flag_enum("policy set", flag);
        names.retain(|name| *name != "inherit");
        Domain::OneOf(names)
    };
    Some(match path {
        "compression.compressorName" | "metadataCompression.compressorName" => {
            Domain::OneOf(crate::kopia::compressors())
        }
        "splitter.algorithm" => enum_of("splitter"),
        _ if path.starts_with("actions.") && last == "mode" => enum_of("action-command-mode"),
        // Kopia's OSSnapshotMode: never, always, when-available.
        "osSnapshots.volumeShadowCopy.enable" => Domain::Range(0, 2),
        // Kopia's LogDetail: none (0) to max (10).
        _ if path.starts_with("logging.") => Domain::Range(0, 10),
        "scheduling.timeOfDay.hour" => Domain::Range(0, 23),
        "scheduling.timeOfDay.min" => Domain::Range(0, 59),
        // Counts, sizes, seconds: never negative.
        _ => Domain::Range(0, i64::MAX),
    })
}

fn check_domain(value: &Value, path: &str, problems: &mut Vec<PolicyProblem>) {
    let plain: String = {
        // `scheduling.timeOfDay[0].hour` → `scheduling.timeOfDay.hour`.
        let mut plain = String::with_capacity(path.len());
        let mut in_index = false;
        for c in path.chars() {
            match c {
                '[' => in_index = true,
                ']' => in_index = false,
                _ if !in_index => plain.push(c),
                _ => {}
            }
        }
        plain
    };
    let Some(domain) = domain(&plain) else {
        return;
    };
    match (domain, value) {
        (Domain::OneOf(names), Value::String(name))
            if !names.is_empty() && !names.contains(&name.as_str()) =>
        {
            let help = match nearest(name, names.iter().copied()) {
                Some(near) => format!(
                    "did you mean `{near}`? Kopia 0.23.1 accepts {}",
                    names.join(", ")
                ),
                None => format!("Kopia 0.23.1 accepts {}", names.join(", ")),
            };
            problems.push(PolicyProblem {
                path: path.to_owned(),
                message: format!("`{name}` is not a value Kopia accepts for `{path}`"),
                help,
                unknown_field: false,
            });
        }
        (Domain::Range(low, high), Value::Number(number)) => {
            let inside = match number.as_i64() {
                Some(n) => (low..=high).contains(&n),
                // Above i64: only the open range takes it.
                None => number.as_u64().is_some() && high == i64::MAX,
            };
            if !inside {
                let range = if high == i64::MAX {
                    format!("{low} or more")
                } else {
                    format!("from {low} to {high}")
                };
                problems.push(PolicyProblem {
                    path: path.to_owned(),
                    message: format!("`{path}` is {number}, out of range"),
                    help: format!("Kopia reads `{path}` as a whole number {range}"),
                    unknown_field: false,
                });
            }
        }
        _ => {}
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal number",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Keys of VolSync's own global policy format (what its mover read and
/// its docs show) and the Kopia policy field each one is.
pub const VOLSYNC_RENAMES: [(&str, &str); 4] = [
    ("retention.keepYearly", "retention.keepAnnual"),
    ("compression.compressor", "compression.compressorName"),
    ("scheduling.interval", "scheduling.intervalSeconds"),
    ("files.dotIgnoreFiles", "files.ignoreDotFiles"),
];

/// Keys VolSync's documented policy files and repository config show that
/// are no Kopia policy field or repository setting, by their last key, and
/// where Kopia's equivalent lives.
pub const VOLSYNC_EQUIVALENTS: [(&str, &str); 14] = [
    (
        "compressionLevel",
        "Kopia has no compression level: choose a compressor that names it in `compression.compressorName` (`zstd-fastest`, `zstd-better-compression`, `zstd-best-compression`)",
    ),
    (
        "uploadParallelism",
        "Kopia's `upload.maxParallelFileReads` policy field, or the backup's `parallelism` (`snapshot create --parallel`)",
    ),
    (
        "downloadParallelism",
        "Kopia's `snapshot restore --parallel`: `additionalArgs: [\"--parallel=8\"]` on the restore",
    ),
    (
        "maxCacheSize",
        "Kopia's cache limits (`kopia cache set`): `metadataCacheSizeLimitMB` and `contentCacheSizeLimitMB` (the entry's `cache`)",
    ),
    (
        "metadataCacheSize",
        "Kopia's `kopia cache set --metadata-cache-size-limit-mb`: `metadataCacheSizeLimitMB` (the entry's `cache`)",
    ),
    (
        "contentCacheSize",
        "Kopia's `kopia cache set --content-cache-size-limit-mb`: `contentCacheSizeLimitMB` (the entry's `cache`)",
    ),
    (
        "cacheDirectory",
        "Kopia's `--cache-directory`, which kopiaplan sets to the cache volume (the entry's `cache`)",
    ),
    (
        "encryptionAlgorithm",
        "fixed when the repository is created (`kopia repository create --encryption`)",
    ),
    (
        "hashingAlgorithm",
        "fixed when the repository is created (`kopia repository create --block-hash`)",
    ),
    (
        "ecc",
        "fixed when the repository is created (`kopia repository create --ecc`)",
    ),
    (
        "verifyData",
        "Kopia's `snapshot verify --verify-files-percent`: a `verify` entry of a BackupPlan",
    ),
    (
        "verifyChecksums",
        "Kopia's `snapshot verify`: a `verify` entry of a BackupPlan",
    ),
    ("bufferSize", "none, Kopia sizes its buffers itself"),
    (
        "actionCommandTimeout",
        "the timeout of kopiaplan's actions: `actions.timeoutSeconds` of a BackupPlan entry",
    ),
];

/// Where Kopia's equivalent of a key of VolSync's documented formats lives
/// (by the path's last key), when it is no field of its own.
pub fn volsync_equivalent(path: &str) -> Option<&'static str> {
    let last = path.rsplit('.').next().unwrap_or(path);
    let last = last.split('[').next().unwrap_or(last);
    VOLSYNC_EQUIVALENTS
        .iter()
        .find(|(key, _)| *key == last)
        .map(|(_, equivalent)| *equivalent)
}

/// A global policy in VolSync's format, in Kopia's: each key of
/// [`VOLSYNC_RENAMES`] moved to its Kopia field (a Go duration such as
/// `24h` becomes seconds), when the Kopia field is not also set. Returns
/// the policy and the renames made (VolSync path, Kopia path).
pub fn from_volsync(policy: &Value) -> (Value, Vec<(&'static str, &'static str)>) {
    let mut translated = policy.clone();
    let mut renamed = Vec::new();
    for (from, to) in VOLSYNC_RENAMES {
        let (section, key) = from.split_once('.').unwrap_or(("", from));
        let (_, new_key) = to.split_once('.').unwrap_or(("", to));
        let Some(object) = translated.get_mut(section).and_then(Value::as_object_mut) else {
            continue;
        };
        if object.contains_key(new_key) {
            continue;
        }
        let Some(value) = object.get(key) else {
            continue;
        };
        let value = if new_key == "intervalSeconds" {
            match value.as_str().and_then(duration_seconds) {
                Some(seconds) => Value::from(seconds),
                None => continue,
            }
        } else {
            value.clone()
        };
        object.remove(key);
        object.insert(new_key.to_owned(), value);
        renamed.push((from, to));
    }
    (translated, renamed)
}

/// A Go duration of hours, minutes and seconds (`24h`, `1h30m`, `90s`) in
/// whole seconds.
fn duration_seconds(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let value: u64 = number.parse().ok()?;
        total = total.checked_add(value.checked_mul(unit)?)?;
        number.clear();
        any = true;
    }
    (any && number.is_empty() && total > 0).then_some(total)
}

/// Deep-merges `over` onto `base`: mappings merge key by key, anything else
/// in `over` replaces what `base` had.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(base), Value::Object(over)) => {
            for (key, value) in over {
                match base.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, over) => *base = over.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_real_policy_fields() {
        let policy = json!({
            "retention": {"keepDaily": 7, "keepLatest": 10},
            "files": {"ignore": ["*.tmp"], "ignoreCacheDirs": true},
            "compression": {"compressorName": "zstd"}
        });
        assert_eq!(check(&policy), vec![]);
    }

    #[test]
    fn reports_unknown_fields_with_suggestions_and_wrong_types() {
        let policy = json!({
            "retention": {"keepDayly": 7, "keepLatest": "ten"},
            "files": {"ignore": [1]}
        });
        let problems = check(&policy);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(problems[0].path, "retention.keepDayly");
        assert_eq!(problems[0].help, "did you mean `keepDaily`?");
        assert_eq!(problems[1].path, "retention.keepLatest");
        assert_eq!(problems[2].path, "files.ignore[0]");
    }

    #[test]
    fn volsync_policy_keys_become_kopia_fields() {
        let (policy, renamed) = from_volsync(&json!({
            "retention": {"keepDaily": 7, "keepYearly": 2},
            "compression": {"compressor": "zstd"},
            "scheduling": {"interval": "1h30m"},
            "files": {"ignore": ["*.tmp"], "dotIgnoreFiles": [".kopiaignore"]}
        }));
        assert_eq!(
            policy,
            json!({
                "retention": {"keepDaily": 7, "keepAnnual": 2},
                "compression": {"compressorName": "zstd"},
                "scheduling": {"intervalSeconds": 5400},
                "files": {"ignore": ["*.tmp"], "ignoreDotFiles": [".kopiaignore"]}
            })
        );
        assert_eq!(renamed.len(), 4);
        assert_eq!(check(&policy), vec![]);
        // Kopia's own format is left as it is.
        let kopia = json!({"retention": {"keepAnnual": 1}, "scheduling": {"intervalSeconds": 60}});
        assert_eq!(from_volsync(&kopia), (kopia.clone(), vec![]));
        // A duration Kopia's flag would refuse is not guessed at.
        let (_, renamed) = from_volsync(&json!({"scheduling": {"interval": "7d"}}));
        assert!(renamed.is_empty());
    }

    #[test]
    fn volsync_keys_without_a_field_name_the_kopia_equivalent() {
        assert!(
            volsync_equivalent("compression.compressionLevel")
                .is_some_and(|e| e.contains("compressorName"))
        );
        assert!(volsync_equivalent("retention.keepDaily").is_none());
    }

    #[test]
    fn merge_is_deep() {
        let mut base = json!({"retention": {"keepDaily": 7}, "files": {"ignore": ["a"]}});
        merge(
            &mut base,
            &json!({"retention": {"keepLatest": 3}, "files": {"ignore": ["b"]}}),
        );
        assert_eq!(
            base,
            json!({"retention": {"keepDaily": 7, "keepLatest": 3}, "files": {"ignore": ["b"]}})
        );
    }
}
