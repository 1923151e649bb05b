//! The walk: a document against a compiled schema, node by node.

use serde_json::Value as Json;

use super::compile::{Additional, Schema, Type};
use super::{Finding, Problem};
use crate::load::{Node, PathSegment, Value};

fn walk<'a>(
    node: &'a Node,
    schema: &Schema,
    path: &mut Vec<PathSegment>,
    findings: &mut Vec<Finding<'a>>,
) {
    let mut report = |path: &[PathSegment], problem| {
        findings.push(Finding {
            path: path.to_vec(),
            node,
            problem,
        })
    };
    if let Some(expected) = type_mismatch(node, schema) {
        report(
            path,
            Problem::WrongType {
                expected: expected.to_owned(),
            },
        );
        return;
    }
    if !schema.allowed.is_empty() && !schema.allowed.contains(&node.to_json()) {
        let allowed = schema
            .allowed
            .iter()
            .map(|value| match value {
                Json::String(text) => text.clone(),
                other => other.to_string(),
            })
            .collect();
        report(path, Problem::NotInEnum { allowed });
    }
    match &node.value {
        Value::String(text) => {
            for problem in string_problems(text, schema) {
                report(path, problem);
            }
        }
        Value::Number(value) => {
            for problem in number_problems(value, schema) {
                report(path, problem);
            }
        }
        Value::Sequence(items) => {
            if let Some(max) = schema.max_items.filter(|max| items.len() as u64 > *max) {
                report(path, Problem::TooManyItems { max });
            }
            if let Some(min) = schema.min_items.filter(|min| (items.len() as u64) < *min) {
                report(path, Problem::TooFewItems { min });
            }
            if let Some(item_schema) = &schema.items {
                for (index, item) in items.iter().enumerate() {
                    path.push(PathSegment::Index(index));
                    walk(item, item_schema, path, findings);
                    path.pop();
                }
            }
        }
        Value::Mapping(entries) => walk_mapping(node, entries, schema, &[], path, findings),
        Value::Bool(_) | Value::Null => {}
    }
}

/// The fields of an object: known ones are walked, unknown ones reported
/// (unless the schema keeps unknown fields), then the required ones checked.
/// Fields named in `ignored` are skipped.
pub(super) fn walk_mapping<'a>(
    node: &'a Node,
    entries: &'a [(Node, Node)],
    schema: &Schema,
    ignored: &[&str],
    path: &mut Vec<PathSegment>,
    findings: &mut Vec<Finding<'a>>,
) {
    for (key, value) in entries {
        let name = key.scalar_text().unwrap_or_default();
        if ignored.contains(&name.as_str()) {
            continue;
        }
        path.push(PathSegment::Key(name.clone()));
        let child = schema
            .properties
            .iter()
            .find(|(property, _)| *property == name)
            .map(|(_, child)| child);
        match (child, &schema.additional) {
            // A null field is absent to the API server.
            (_, _) if matches!(value.value, Value::Null) => {}
            (Some(child), _) => walk(value, child, path, findings),
            (None, Additional::Schema(child)) => walk(value, child, path, findings),
            (None, Additional::Any) => {}
            (None, Additional::Unspecified | Additional::None) => {
                if !schema.preserve_unknown_fields {
                    findings.push(Finding {
                        path: path.clone(),
                        node: key,
                        problem: Problem::UnknownField {
                            field: name,
                            known: schema
                                .properties
                                .iter()
                                .map(|(property, _)| property.clone())
                                .collect(),
                        },
                    });
                }
            }
        }
        path.pop();
    }
    for field in &schema.required {
        let present = entries.iter().any(|(key, value)| {
            key.scalar_text().as_deref() == Some(field.as_str())
                && !matches!(value.value, Value::Null)
        });
        if !present {
            path.push(PathSegment::Key(field.clone()));
            findings.push(Finding {
                path: path.clone(),
                node,
                problem: Problem::MissingRequired {
                    field: field.clone(),
                },
            });
            path.pop();
        }
    }
}

/// The type the schema expects, in words, when `node` is not of it.
fn type_mismatch(node: &Node, schema: &Schema) -> Option<&'static str> {
    if schema.int_or_string {
        return match &node.value {
            Value::String(_) => None,
            Value::Number(n) if is_integer(n) => None,
            _ => Some("an integer or a string"),
        };
    }
    let kind = schema.kind?;
    let matches = match (kind, &node.value) {
        (Type::Object, Value::Mapping(_))
        | (Type::Array, Value::Sequence(_))
        | (Type::String, Value::String(_))
        | (Type::Number, Value::Number(_))
        | (Type::Boolean, Value::Bool(_)) => true,
        (Type::Integer, Value::Number(n)) => is_integer(n),
        _ => false,
    };
    (!matches).then_some(match kind {
        Type::Object => "a mapping",
        Type::Array => "a list",
        Type::String => "a string",
        Type::Integer => "an integer",
        Type::Number => "a number",
        Type::Boolean => "a boolean",
    })
}

/// Whole numbers, `5.0` included: JSON, and so Kubernetes, does not tell
/// them apart.
fn is_integer(number: &serde_json::Number) -> bool {
    number.is_i64() || number.is_u64() || number.as_f64().is_some_and(|f| f.fract() == 0.0)
}

fn string_problems(text: &str, schema: &Schema) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Some(pattern) = &schema.pattern
        && !pattern.regex.is_match(text)
    {
        problems.push(Problem::PatternMismatch {
            pattern: pattern.source.clone(),
        });
    }
    // Kubernetes counts lengths in characters (runes), not bytes.
    let length = text.chars().count() as u64;
    if let Some(min_length) = schema.min_length.filter(|min| length < *min) {
        problems.push(Problem::TooShort { min_length });
    }
    if let Some(max_length) = schema.max_length.filter(|max| length > *max) {
        problems.push(Problem::TooLong { max_length });
    }
    if schema.format.as_deref() == Some("date-time") && !is_date_time(text) {
        problems.push(Problem::BadFormat {
            format: "date-time".into(),
        });
    }
    problems
}

/// RFC 3339 as Kubernetes parses it (Go's `time.RFC3339`): chrono's parser,
/// minus the lenient forms Go refuses (a space or `t` for the `T`, a `z`).
fn is_date_time(text: &str) -> bool {
    text.as_bytes().get(10) == Some(&b'T')
        && !text.ends_with('z')
        && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

fn number_problems(value: &serde_json::Number, schema: &Schema) -> Vec<Problem> {
    let mut problems = Vec::new();
    let as_float = value.as_f64().unwrap_or(f64::NAN);
    if let Some(min) = schema.minimum.filter(|min| as_float < *min) {
        problems.push(Problem::BelowMinimum { min });
    }
    if let Some(max) = schema.maximum.filter(|max| as_float > *max) {
        problems.push(Problem::AboveMaximum { max });
    }
    let in_range = |low: i64, high: i64| match (value.as_i64(), value.as_u64()) {
        (Some(v), _) => (low..=high).contains(&v),
        (None, Some(v)) => i64::try_from(v).is_ok_and(|v| (low..=high).contains(&v)),
        // Floats: the comparison is exact for these bounds' magnitudes
        // except at the very edge of int64, which no VolSync field nears.
        (None, None) => as_float >= low as f64 && as_float <= high as f64,
    };
    let fits = match schema.format.as_deref() {
        Some("int32") => in_range(i64::from(i32::MIN), i64::from(i32::MAX)),
        Some("int64") => in_range(i64::MIN, i64::MAX),
        _ => true,
    };
    if !fits {
        problems.push(Problem::BadFormat {
            format: schema.format.clone().unwrap_or_default(),
        });
    }
    problems
}
