//! Schemas, compiled from JSON into what validation needs: keywords the
//! checker does not know are refused, so a schema update cannot silently
//! weaken the check.

use std::collections::HashMap;

use regex::Regex;
use serde_json::Value as Json;

/// A structural schema node, reduced to what validation needs.
#[derive(Debug, Default)]
pub struct Schema {
    pub(crate) kind: Option<Type>,
    /// `x-kubernetes-int-or-string`: an integer or a string.
    pub(crate) int_or_string: bool,
    /// `x-kubernetes-preserve-unknown-fields`: unknown fields are kept.
    pub(crate) preserve_unknown_fields: bool,
    /// In the order of the schema file.
    pub(crate) properties: Vec<(String, Schema)>,
    pub(crate) additional: Additional,
    pub(crate) items: Option<Box<Schema>>,
    pub(crate) required: Vec<String>,
    /// `enum`
    pub(crate) allowed: Vec<Json>,
    pub(crate) pattern: Option<Pattern>,
    pub(crate) minimum: Option<f64>,
    pub(crate) maximum: Option<f64>,
    pub(crate) min_items: Option<u64>,
    pub(crate) max_items: Option<u64>,
    pub(crate) min_length: Option<u64>,
    pub(crate) max_length: Option<u64>,
    pub(crate) format: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) enum Additional {
    /// No `additionalProperties`: an object with properties is closed.
    #[default]
    Unspecified,
    /// `additionalProperties: false`
    None,
    /// `additionalProperties: true`
    Any,
    /// A map whose values follow this schema.
    Schema(Box<Schema>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Type {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

#[derive(Debug)]
pub(crate) struct Pattern {
    /// As written in the schema (Go RE2 syntax).
    pub(crate) source: String,
    pub(crate) regex: Regex,
}

pub struct Compiler<'f> {
    files: &'f HashMap<&'static str, Json>,
    /// The same few patterns recur hundreds of times (quantities).
    patterns: HashMap<String, Regex>,
}

/// Keywords that document or describe list and map merging but do not
/// change what validates.
const ANNOTATIONS: [&str; 12] = [
    "$schema",
    "$id",
    "$defs",
    "description",
    "default",
    "$comment",
    "title",
    "example",
    "nullable",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
];

impl<'f> Compiler<'f> {
    /// A compiler resolving `$ref`s (`file#pointer`) among `files`.
    pub fn new(files: &'f HashMap<&'static str, Json>) -> Compiler<'f> {
        Compiler {
            files,
            patterns: HashMap::new(),
        }
    }

    /// Compiles one schema node; `at` names it in error messages. Unknown
    /// keywords are errors, so that a schema update cannot silently weaken
    /// the check.
    pub fn compile(&mut self, json: &Json, at: &str, depth: usize) -> Result<Schema, String> {
        if depth > 64 {
            return Err(format!("{at}: nested too deeply (a `$ref` cycle?)"));
        }
        let object = json
            .as_object()
            .ok_or_else(|| format!("{at}: a schema must be an object"))?;
        if let Some(reference) = object.get("$ref") {
            let reference = reference
                .as_str()
                .ok_or_else(|| format!("{at}: `$ref` must be a string"))?;
            if let Some(other) = object
                .keys()
                .find(|k| *k != "$ref" && !ANNOTATIONS.contains(&k.as_str()))
            {
                return Err(format!("{at}: `{other}` beside `$ref` would be ignored"));
            }
            let (file, pointer) = reference.split_once('#').unwrap_or((reference, ""));
            let target = self
                .files
                .get(file)
                .and_then(|document| document.pointer(pointer))
                .ok_or_else(|| format!("{at}: `$ref` {reference} points at nothing"))?;
            return self.compile(target, reference, depth + 1);
        }
        let mut schema = Schema::default();
        let mut any_of = None;
        for (keyword, value) in object {
            let here = format!("{at}/{keyword}");
            let wrong = || format!("{here}: unexpected value {value}");
            match keyword.as_str() {
                "type" => {
                    // `[T, "null"]` (an optional field, as schemars writes
                    // it) is T: a null field counts as absent anyway.
                    let name = match value {
                        Json::Array(names) => {
                            let mut non_null = names.iter().filter(|n| n.as_str() != Some("null"));
                            match (non_null.next(), non_null.next()) {
                                (Some(only), None) => only.as_str(),
                                _ => None,
                            }
                        }
                        other => other.as_str(),
                    };
                    schema.kind = Some(match name {
                        Some("object") => Type::Object,
                        Some("array") => Type::Array,
                        Some("string") => Type::String,
                        Some("integer") => Type::Integer,
                        Some("number") => Type::Number,
                        Some("boolean") => Type::Boolean,
                        _ => return Err(wrong()),
                    })
                }
                "properties" => {
                    for (name, property) in value.as_object().ok_or_else(wrong)? {
                        let child = self.compile(property, &format!("{here}/{name}"), depth + 1)?;
                        schema.properties.push((name.clone(), child));
                    }
                }
                "additionalProperties" => {
                    schema.additional = match value {
                        Json::Bool(true) => Additional::Any,
                        Json::Bool(false) => Additional::None,
                        _ => Additional::Schema(Box::new(self.compile(value, &here, depth + 1)?)),
                    }
                }
                "items" => schema.items = Some(Box::new(self.compile(value, &here, depth + 1)?)),
                "required" => {
                    for name in value.as_array().ok_or_else(wrong)? {
                        schema
                            .required
                            .push(name.as_str().ok_or_else(wrong)?.to_owned());
                    }
                }
                "enum" => schema.allowed = value.as_array().ok_or_else(wrong)?.clone(),
                "pattern" => {
                    let source = value.as_str().ok_or_else(wrong)?;
                    let regex = match self.patterns.get(source) {
                        Some(regex) => regex.clone(),
                        None => {
                            let regex = go_regex(source).map_err(|e| format!("{here}: {e}"))?;
                            self.patterns.insert(source.to_owned(), regex.clone());
                            regex
                        }
                    };
                    schema.pattern = Some(Pattern {
                        source: source.to_owned(),
                        regex,
                    });
                }
                "minimum" => schema.minimum = Some(value.as_f64().ok_or_else(wrong)?),
                "maximum" => schema.maximum = Some(value.as_f64().ok_or_else(wrong)?),
                "minItems" => schema.min_items = Some(value.as_u64().ok_or_else(wrong)?),
                "maxItems" => schema.max_items = Some(value.as_u64().ok_or_else(wrong)?),
                "minLength" => schema.min_length = Some(value.as_u64().ok_or_else(wrong)?),
                "maxLength" => schema.max_length = Some(value.as_u64().ok_or_else(wrong)?),
                // int32, int64 and date-time are checked; Kubernetes ignores
                // formats it does not know, and so do we.
                "format" => schema.format = Some(value.as_str().ok_or_else(wrong)?.to_owned()),
                "x-kubernetes-int-or-string" => {
                    schema.int_or_string = value.as_bool().ok_or_else(wrong)?
                }
                "x-kubernetes-preserve-unknown-fields" => {
                    schema.preserve_unknown_fields = value.as_bool().ok_or_else(wrong)?
                }
                "anyOf" => any_of = Some(value),
                "const" => schema.allowed = vec![value.clone()],
                "oneOf" => {
                    let (kind, allowed) = one_of_constants(value).ok_or_else(|| {
                        format!("{here}: only a choice among constants is supported")
                    })?;
                    schema.allowed = allowed;
                    if let Some(kind) = kind {
                        schema.kind = Some(
                            self.compile(&kind, &here, depth + 1)?
                                .kind
                                .ok_or_else(wrong)?,
                        );
                    }
                }
                _ if ANNOTATIONS.contains(&keyword.as_str()) => {}
                _ => return Err(format!("{here}: unsupported schema keyword")),
            }
        }
        // A schema that names no type and no fields (JSON Schema's `{}`, a
        // free-form value such as a plan's `policy`) accepts anything.
        // Structural schemas always name a type, so VolSync's have none.
        if schema.kind.is_none()
            && schema.properties.is_empty()
            && matches!(schema.additional, Additional::Unspecified)
            && !schema.int_or_string
            && any_of.is_none()
        {
            schema.preserve_unknown_fields = true;
        }
        // `anyOf: [X, {type: null}]` is schemars' optional X.
        if let Some(inner) = any_of.and_then(nullable) {
            if let Some(other) = object
                .keys()
                .find(|k| *k != "anyOf" && !ANNOTATIONS.contains(&k.as_str()))
            {
                return Err(format!("{at}: `{other}` beside a nullable `anyOf`"));
            }
            return self.compile(inner, &format!("{at}/anyOf"), depth + 1);
        }
        // Structural schemas allow `anyOf` only as the spelling of
        // int-or-string, which `int_or_string` already checks.
        if let Some(any_of) = any_of {
            let int_or_string = serde_json::json!([{"type": "integer"}, {"type": "string"}]);
            if !schema.int_or_string || *any_of != int_or_string {
                return Err(format!(
                    "{at}/anyOf: only the int-or-string form is supported"
                ));
            }
        }
        Ok(schema)
    }
}

/// The one non-null alternative of `anyOf: [X, {type: null}]`.
fn nullable(any_of: &Json) -> Option<&Json> {
    let alternatives = any_of.as_array()?;
    let is_null = |alternative: &Json| *alternative == serde_json::json!({"type": "null"});
    match alternatives.as_slice() {
        [a, b] if is_null(b) && !is_null(a) => Some(a),
        [a, b] if is_null(a) && !is_null(b) => Some(b),
        _ => None,
    }
}

/// `oneOf` whose alternatives are each one documented constant (a Rust
/// enum, as schemars writes it): the allowed values, and their shared type.
fn one_of_constants(one_of: &Json) -> Option<(Option<Json>, Vec<Json>)> {
    let mut kind = None;
    let mut allowed = Vec::new();
    for alternative in one_of.as_array()? {
        let alternative = alternative.as_object()?;
        if alternative
            .keys()
            .any(|k| !matches!(k.as_str(), "const" | "type" | "description"))
        {
            return None;
        }
        allowed.push(alternative.get("const")?.clone());
        let this = alternative.get("type").cloned();
        if kind.is_some() && kind != this {
            return None;
        }
        kind = this;
    }
    Some((kind.map(|k| serde_json::json!({"type": k})), allowed))
}

/// Compiles a pattern written for Go's RE2 (`regexp`), which the Kubernetes
/// API server uses. The `regex` crate reads the same syntax, but its `\d`,
/// `\s`, `\w` and `\b` are Unicode-aware where Go's are ASCII-only; they are
/// rewritten to Go's ASCII classes.
fn go_regex(pattern: &str) -> Result<Regex, regex::Error> {
    let mut translated = String::with_capacity(pattern.len());
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(class @ ('d' | 's' | 'w')) => {
                    let ascii = match class {
                        'd' => "0-9",
                        's' => "\\t\\n\\f\\r ",
                        _ => "0-9A-Za-z_",
                    };
                    if in_class {
                        translated.push_str(ascii);
                    } else {
                        translated.push('[');
                        translated.push_str(ascii);
                        translated.push(']');
                    }
                }
                Some(class @ ('D' | 'S' | 'W')) if !in_class => {
                    let ascii = match class {
                        'D' => "0-9",
                        'S' => "\\t\\n\\f\\r ",
                        _ => "0-9A-Za-z_",
                    };
                    translated.push_str("[^");
                    translated.push_str(ascii);
                    translated.push(']');
                }
                Some(boundary @ ('b' | 'B')) if !in_class => {
                    translated.push_str("(?-u:\\");
                    translated.push(boundary);
                    translated.push(')');
                }
                Some(other) => {
                    translated.push('\\');
                    translated.push(other);
                }
                None => translated.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                translated.push('[');
                if chars.peek() == Some(&'^') {
                    translated.push('^');
                    chars.next();
                }
                // A `]` first in a class is a literal.
                if chars.peek() == Some(&']') {
                    translated.push_str("\\]");
                    chars.next();
                }
            }
            // `[:alpha:]` inside a class: copy through to its `:]`.
            '[' if chars.peek() == Some(&':') => {
                translated.push('[');
                for inner in chars.by_ref() {
                    translated.push(inner);
                    if inner == ']' {
                        break;
                    }
                }
            }
            ']' if in_class => {
                in_class = false;
                translated.push(']');
            }
            _ => translated.push(c),
        }
    }
    Regex::new(&translated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_classes_are_ascii_only() {
        let regex = go_regex(r"^\d+\s\w$").expect("compiles");
        assert!(regex.is_match("12 a"));
        assert!(
            !regex.is_match("١٢ a"),
            "Arabic-Indic digits are not \\d in Go"
        );
        assert!(
            !regex.is_match("12\u{a0}a"),
            "a no-break space is not \\s in Go"
        );
        assert!(
            go_regex(r"^[\d.]+[^\s]$")
                .expect("compiles")
                .is_match("1.2x")
        );
        assert!(go_regex(r"^[]a]$").expect("compiles").is_match("]"));
        assert!(
            go_regex(r"^[[:alpha:]\d]+$")
                .expect("compiles")
                .is_match("ab12")
        );
        assert!(go_regex(r"^a\/b$").expect("compiles").is_match("a/b"));
    }
}
