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
    if !ok {
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
