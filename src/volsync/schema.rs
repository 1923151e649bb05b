//! Validation of VolSync objects against VolSync's own CRD schemas, so that
//! kopiaplan accepts and rejects what VolSync's API server would. Owns the
//! embedded schemas (`crds/`): the seed version's ReplicationSource and
//! ReplicationDestination CRDs, vendored byte for byte; a hand-written
//! overlay with the fields they lack (`extensions.json`); and a hand-written
//! KopiaMaintenance schema.
//!
//! The walk follows Kubernetes' structural-schema rules rather than plain
//! JSON Schema: unknown fields are pruned by the API server (a warning here,
//! not an error), a `null` field counts as absent, patterns use Go's RE2
//! syntax, `status` is never looked at and `metadata` only loosely.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value as Json;

use crate::diagnostics::{Diagnostic, FileId, Severity, nearest};
use crate::load::{Node, PathSegment, Value, display_path, span_of_node};

/// The `apiVersion` of every VolSync kind.
pub const API_VERSION: &str = "volsync.backube/v1alpha1";

const REPLICATION_SOURCE_FILE: &str = "replicationsource.schema.json";
const REPLICATION_DESTINATION_FILE: &str = "replicationdestination.schema.json";
const KOPIA_MAINTENANCE_FILE: &str = "kopiamaintenance.schema.json";

/// The embedded schema files, by the name `$ref`s use.
const SCHEMA_FILES: [(&str, &str); 3] = [
    (
        REPLICATION_SOURCE_FILE,
        include_str!("crds/replicationsource.schema.json"),
    ),
    (
        REPLICATION_DESTINATION_FILE,
        include_str!("crds/replicationdestination.schema.json"),
    ),
    (
        KOPIA_MAINTENANCE_FILE,
        include_str!("crds/kopiamaintenance.schema.json"),
    ),
];
const EXTENSIONS: &str = include_str!("crds/extensions.json");

/// The VolSync kinds kopiaplan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrdKind {
    ReplicationSource,
    ReplicationDestination,
    KopiaMaintenance,
}

impl CrdKind {
    pub const ALL: [CrdKind; 3] = [
        CrdKind::ReplicationSource,
        CrdKind::ReplicationDestination,
        CrdKind::KopiaMaintenance,
    ];

    /// The `kind` as written in a document.
    pub fn name(self) -> &'static str {
        match self {
            CrdKind::ReplicationSource => "ReplicationSource",
            CrdKind::ReplicationDestination => "ReplicationDestination",
            CrdKind::KopiaMaintenance => "KopiaMaintenance",
        }
    }

    /// The kind named `kind`, if it is one of VolSync's that kopiaplan reads.
    pub fn from_name(kind: &str) -> Option<CrdKind> {
        CrdKind::ALL.into_iter().find(|k| k.name() == kind)
    }

    fn file(self) -> &'static str {
        match self {
            CrdKind::ReplicationSource => REPLICATION_SOURCE_FILE,
            CrdKind::ReplicationDestination => REPLICATION_DESTINATION_FILE,
            CrdKind::KopiaMaintenance => KOPIA_MAINTENANCE_FILE,
        }
    }
}

/// One place where a document breaks the schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding<'a> {
    /// Where: for an unknown field the path ends with that field; for a
    /// missing required field it ends with the missing field's name.
    pub path: Vec<PathSegment>,
    /// What to point at: the key node of an unknown field, the mapping that
    /// lacks a required field, else the offending value.
    pub node: &'a Node,
    pub problem: Problem,
}

/// What is wrong, in terms of the schema keyword that failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// A field the schema does not know; the API server drops it silently,
    /// so it is a warning. `known` lists the fields allowed there.
    UnknownField {
        field: String,
        known: Vec<String>,
    },
    /// `expected` in words: "a string", "an integer", "a list", …
    WrongType {
        expected: String,
    },
    NotInEnum {
        allowed: Vec<String>,
    },
    /// The value does not match the schema's (RE2) `pattern`.
    PatternMismatch {
        pattern: String,
    },
    MissingRequired {
        field: String,
    },
    TooManyItems {
        max: u64,
    },
    TooFewItems {
        min: u64,
    },
    BelowMinimum {
        min: f64,
    },
    AboveMaximum {
        max: f64,
    },
    TooShort {
        min_length: u64,
    },
    TooLong {
        max_length: u64,
    },
    /// `date-time` that is not RFC 3339, or an `int32`/`int64` out of range.
    BadFormat {
        format: String,
    },
}

impl Problem {
    /// Unknown fields are warnings (VolSync's API server prunes them); every
    /// other problem makes the API server reject the object, so is an error.
    pub fn severity(&self) -> Severity {
        match self {
            Problem::UnknownField { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl Finding<'_> {
    /// The finding as a diagnostic pointing into `file`.
    pub fn diagnostic(&self, file: FileId) -> Diagnostic {
        let (message, help) = describe(&self.problem);
        let diagnostic = match self.problem.severity() {
            Severity::Error => Diagnostic::error(message),
            Severity::Warning => Diagnostic::warning(message),
        };
        diagnostic
            .at(Some(span_of_node(file, self.node)))
            .field(display_path(&self.path))
            .help(help)
    }
}

/// Every problem of `root`, a whole document of the given kind, in document
/// order. An empty result means VolSync's API server accepts it as written.
pub fn check<'a>(kind: CrdKind, root: &'a Node) -> Vec<Finding<'a>> {
    let schema = &schemas().of(kind);
    let mut findings = Vec::new();
    let mut path = Vec::new();
    match &root.value {
        // The status belongs to the controller: a written one is ignored.
        Value::Mapping(entries) => {
            walk_mapping(root, entries, schema, &["status"], &mut path, &mut findings)
        }
        _ => findings.push(Finding {
            path,
            node: root,
            problem: Problem::WrongType {
                expected: "a mapping".into(),
            },
        }),
    }
    findings
}

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
fn pattern_help(pattern: &str) -> String {
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

// ---------------------------------------------------------------------------
// The walk

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
fn walk_mapping<'a>(
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

// ---------------------------------------------------------------------------
// The schemas, compiled once from the embedded JSON

/// A structural schema node, reduced to what validation needs.
#[derive(Debug, Default)]
struct Schema {
    kind: Option<Type>,
    /// `x-kubernetes-int-or-string`: an integer or a string.
    int_or_string: bool,
    /// `x-kubernetes-preserve-unknown-fields`: unknown fields are kept.
    preserve_unknown_fields: bool,
    /// In the order of the schema file.
    properties: Vec<(String, Schema)>,
    additional: Additional,
    items: Option<Box<Schema>>,
    required: Vec<String>,
    /// `enum`
    allowed: Vec<Json>,
    pattern: Option<Pattern>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    min_items: Option<u64>,
    max_items: Option<u64>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    format: Option<String>,
}

#[derive(Debug, Default)]
enum Additional {
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
enum Type {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

#[derive(Debug)]
struct Pattern {
    /// As written in the schema (Go RE2 syntax).
    source: String,
    regex: Regex,
}

struct Schemas {
    replication_source: Schema,
    replication_destination: Schema,
    kopia_maintenance: Schema,
}

impl Schemas {
    fn of(&self, kind: CrdKind) -> &Schema {
        match kind {
            CrdKind::ReplicationSource => &self.replication_source,
            CrdKind::ReplicationDestination => &self.replication_destination,
            CrdKind::KopiaMaintenance => &self.kopia_maintenance,
        }
    }
}

fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(|| {
        // The schemas are part of the binary, not input: the unit test
        // `embedded_schemas_load` makes sure this cannot fail.
        load_schemas().unwrap_or_else(|error| panic!("the embedded VolSync schemas: {error}"))
    })
}

/// Parses the embedded files, merges the overlay into the vendored CRDs and
/// compiles the three schemas.
fn load_schemas() -> Result<Schemas, String> {
    let extensions: Json =
        serde_json::from_str(EXTENSIONS).map_err(|error| format!("extensions.json: {error}"))?;
    let mut files = HashMap::new();
    for (name, text) in SCHEMA_FILES {
        let json: Json = serde_json::from_str(text).map_err(|error| format!("{name}: {error}"))?;
        files.insert(name, json);
    }
    for kind in CrdKind::ALL {
        let schema = files
            .get_mut(kind.file())
            .ok_or_else(|| format!("no schema file for {}", kind.name()))?;
        apply_additions(kind, schema, &extensions)?;
    }
    let mut compiler = Compiler {
        files: &files,
        patterns: HashMap::new(),
    };
    let metadata = extensions
        .get("metadata")
        .ok_or("extensions.json has no `metadata`")?;
    let mut compile_kind = |kind: CrdKind| -> Result<Schema, String> {
        let root = &files[kind.file()];
        let mut schema = compiler.compile(root, kind.file(), 0)?;
        // The envelope: apiVersion and kind are fixed, metadata is checked
        // loosely (the CRDs only say `type: object`).
        schema.required.extend(["apiVersion".into(), "kind".into()]);
        for (name, property) in &mut schema.properties {
            match name.as_str() {
                "apiVersion" => property.allowed = vec![Json::from(API_VERSION)],
                "kind" => property.allowed = vec![Json::from(kind.name())],
                "metadata" => {
                    *property = compiler.compile(metadata, "extensions.json#/metadata", 0)?
                }
                _ => {}
            }
        }
        Ok(schema)
    };
    Ok(Schemas {
        replication_source: compile_kind(CrdKind::ReplicationSource)?,
        replication_destination: compile_kind(CrdKind::ReplicationDestination)?,
        kopia_maintenance: compile_kind(CrdKind::KopiaMaintenance)?,
    })
}

/// Adds the overlay's properties for `kind`; replacing a property of the
/// vendored schema is refused, so the overlay can only extend VolSync's CRDs.
fn apply_additions(kind: CrdKind, schema: &mut Json, extensions: &Json) -> Result<(), String> {
    let additions = extensions
        .get("additions")
        .and_then(Json::as_array)
        .ok_or("extensions.json has no `additions` list")?;
    for addition in additions {
        let applies = addition
            .get("kinds")
            .and_then(Json::as_array)
            .is_some_and(|kinds| kinds.iter().any(|k| k.as_str() == Some(kind.name())));
        if !applies {
            continue;
        }
        let at = addition
            .get("at")
            .and_then(Json::as_str)
            .ok_or("an addition has no `at`")?;
        let added = addition
            .get("properties")
            .and_then(Json::as_object)
            .ok_or_else(|| format!("the addition at {at} has no `properties`"))?;
        let target = schema
            .pointer_mut(at)
            .and_then(Json::as_object_mut)
            .ok_or_else(|| format!("{}: nothing at {at}", kind.name()))?;
        let properties = target
            .entry("properties")
            .or_insert_with(|| Json::Object(serde_json::Map::new()))
            .as_object_mut()
            .ok_or_else(|| format!("{}: {at}/properties is not an object", kind.name()))?;
        for (name, property) in added {
            if properties.contains_key(name) {
                return Err(format!(
                    "{}: the overlay would replace {at}/properties/{name}",
                    kind.name()
                ));
            }
            properties.insert(name.clone(), property.clone());
        }
    }
    Ok(())
}

struct Compiler<'f> {
    files: &'f HashMap<&'static str, Json>,
    /// The same few patterns recur hundreds of times (quantities).
    patterns: HashMap<String, Regex>,
}

/// Keywords that document or describe list and map merging but do not
/// change what validates.
const ANNOTATIONS: [&str; 9] = [
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

impl Compiler<'_> {
    /// Compiles one schema node; `at` names it in error messages. Unknown
    /// keywords are errors, so that a schema update cannot silently weaken
    /// the check.
    fn compile(&mut self, json: &Json, at: &str, depth: usize) -> Result<Schema, String> {
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
                    schema.kind = Some(match value.as_str() {
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
                _ if ANNOTATIONS.contains(&keyword.as_str()) => {}
                _ => return Err(format!("{here}: unsupported schema keyword")),
            }
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
    use crate::diagnostics::SourceMap;

    fn parse(text: &str) -> Node {
        let mut sources = SourceMap::default();
        sources.add("t.yaml".into(), text.into());
        let (mut documents, diagnostics) = crate::load::parse(&sources);
        assert!(!diagnostics.has_errors(), "{diagnostics:?}");
        documents.remove(0).root
    }

    fn problems(kind: CrdKind, text: &str) -> Vec<(String, Problem)> {
        let root = parse(text);
        check(kind, &root)
            .into_iter()
            .map(|f| (display_path(&f.path), f.problem))
            .collect()
    }

    fn source(kopia: &str) -> String {
        format!(
            "apiVersion: volsync.backube/v1alpha1\nkind: ReplicationSource\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  sourcePVC: web-data\n  trigger:\n    schedule: \"0 2 * * *\"\n  kopia:\n    repository: kopia-config\n    copyMethod: Clone\n{kopia}"
        )
    }

    fn destination(kopia: &str) -> String {
        format!(
            "apiVersion: volsync.backube/v1alpha1\nkind: ReplicationDestination\nmetadata:\n  name: web\nspec:\n  trigger:\n    manual: once\n  kopia:\n    repository: kopia-config\n    destinationPVC: web-data\n    copyMethod: Direct\n{kopia}"
        )
    }

    fn maintenance(spec: &str) -> String {
        format!(
            "apiVersion: volsync.backube/v1alpha1\nkind: KopiaMaintenance\nmetadata:\n  name: nightly\n  namespace: apps\nspec:\n{spec}"
        )
    }

    #[test]
    fn embedded_schemas_load() {
        load_schemas().expect("the embedded schemas compile");
    }

    #[test]
    fn a_complete_source_destination_and_maintenance_pass() {
        let kopia = "    retain: {daily: 7, latest: 3}\n    cacheCapacity: 2Gi\n    moverResources:\n      limits: {memory: 1Gi, cpu: 2}\n    additionalArgs: [\"--tags=a:b\"]\n    metadataCacheSizeLimitMB: 500\n";
        assert_eq!(problems(CrdKind::ReplicationSource, &source(kopia)), vec![]);
        let kopia = "    restoreAsOf: \"2025-11-20T00:00:00+01:00\"\n    previous: 1\n    moverVolumes:\n      - mountPath: repo\n        volumeSource:\n          persistentVolumeClaim: {claimName: backups}\n";
        assert_eq!(
            problems(CrdKind::ReplicationDestination, &destination(kopia)),
            vec![]
        );
        let spec = "  repository:\n    repository: kopia-config\n    customCA: {configMapName: ca, key: ca.crt}\n  trigger: {schedule: \"0 3 * * 0\"}\n  activeDeadlineSeconds: 3600\n  resources: {requests: {memory: 256Mi}}\n  containerSecurityContext:\n    capabilities: {drop: [ALL]}\n    seccompProfile: {type: RuntimeDefault}\n  tolerations: [{key: k, operator: Exists}]\n";
        assert_eq!(
            problems(CrdKind::KopiaMaintenance, &maintenance(spec)),
            vec![]
        );
    }

    #[test]
    fn unknown_fields_are_warnings_with_a_suggestion() {
        let root = parse(&source("    retian: {daily: 7}\n"));
        let findings = check(CrdKind::ReplicationSource, &root);
        assert_eq!(findings.len(), 1, "{findings:?}");
        let finding = &findings[0];
        assert_eq!(display_path(&finding.path), "spec.kopia.retian");
        // The key is pointed at, not its value.
        assert_eq!(finding.node.as_str(), Some("retian"));
        assert_eq!(finding.problem.severity(), Severity::Warning);
        let (message, help) = describe(&finding.problem);
        assert_eq!(message, "unknown field `retian`");
        assert!(help.starts_with("did you mean `retain`?"), "{help}");
    }

    #[test]
    fn wrong_types_are_errors_and_plain_scalars_are_typed() {
        let found = problems(
            CrdKind::ReplicationSource,
            &source(
                "    parallelism: \"4\"\n    compression: 5\n    accessModes: ReadWriteOnce\n    moverPodLabels: {tier: 1}\n",
            ),
        );
        let expected = |path: &str, what: &str| {
            (
                path.to_owned(),
                Problem::WrongType {
                    expected: what.into(),
                },
            )
        };
        assert_eq!(
            found,
            vec![
                expected("spec.kopia.parallelism", "an integer"),
                expected("spec.kopia.compression", "a string"),
                expected("spec.kopia.accessModes", "a list"),
                expected("spec.kopia.moverPodLabels.tier", "a string"),
            ]
        );
        assert_eq!(found[0].1.severity(), Severity::Error);
        // A plain `true` is a boolean; quoted it is text.
        assert_eq!(
            problems(
                CrdKind::ReplicationDestination,
                &destination("    enableFileDeletion: \"true\"\n")
            ),
            vec![expected("spec.kopia.enableFileDeletion", "a boolean")]
        );
        assert_eq!(
            problems(
                CrdKind::ReplicationDestination,
                &destination("    enableFileDeletion: true\n")
            ),
            vec![]
        );
    }

    #[test]
    fn copy_method_must_be_one_of_the_enum() {
        let root = parse(&source("").replace("copyMethod: Clone", "copyMethod: clone"));
        let findings = check(CrdKind::ReplicationSource, &root);
        assert_eq!(findings.len(), 1);
        assert_eq!(display_path(&findings[0].path), "spec.kopia.copyMethod");
        assert_eq!(findings[0].node.as_str(), Some("clone"));
        assert_eq!(
            findings[0].problem,
            Problem::NotInEnum {
                allowed: vec![
                    "Direct".into(),
                    "None".into(),
                    "Clone".into(),
                    "Snapshot".into()
                ]
            }
        );
    }

    #[test]
    fn the_seed_cron_pattern_is_as_loose_as_volsyncs() {
        let check_schedule = |schedule: &str| {
            let text = source("").replace("\"0 2 * * *\"", &format!("\"{schedule}\""));
            problems(CrdKind::ReplicationSource, &text)
        };
        for accepted in [
            "0 2 * * *",
            "*/30 * * * *",
            "0,30 1-5 * * *",
            "@daily",
            "@hourly",
            // What Go's RE2 accepts too, because `^` and `$` bind to one
            // alternative each (see api-surface.md).
            "@dailyGARBAGE",
            "foo 0 2 * * *",
            "0 0 2 * * *",
        ] {
            assert_eq!(check_schedule(accepted), vec![], "{accepted}");
        }
        for rejected in [
            "foo",
            "0 2 * * MON",
            "@every 1h",
            "0 2 ? * *",
            "0 2 * *",
            "0 ٢ * * *",
        ] {
            let found = check_schedule(rejected);
            assert_eq!(found.len(), 1, "{rejected}: {found:?}");
            assert_eq!(found[0].0, "spec.trigger.schedule");
            let Problem::PatternMismatch { pattern } = &found[0].1 else {
                panic!("{rejected}: {found:?}");
            };
            let (_, help) = describe(&found[0].1);
            assert!(help.contains("5 numeric fields"), "{pattern}: {help}");
        }
    }

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

    #[test]
    fn quantities_are_int_or_string_with_a_pattern() {
        assert_eq!(
            problems(
                CrdKind::ReplicationSource,
                &source("    cacheCapacity: 1073741824\n    capacity: 10Gi\n")
            ),
            vec![]
        );
        let found = problems(
            CrdKind::ReplicationSource,
            &source("    cacheCapacity: 10GB\n    capacity: [1]\n"),
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(matches!(found[0].1, Problem::PatternMismatch { .. }));
        assert_eq!(
            found[1].1,
            Problem::WrongType {
                expected: "an integer or a string".into()
            }
        );
        assert!(describe(&found[0].1).1.contains("10Gi"));
    }

    #[test]
    fn additional_args_take_at_most_20_items() {
        let args = |n: usize| {
            let list: Vec<String> = (0..n).map(|i| format!("\"--tags=n:{i}\"")).collect();
            format!("    additionalArgs: [{}]\n", list.join(", "))
        };
        assert_eq!(
            problems(CrdKind::ReplicationSource, &source(&args(20))),
            vec![]
        );
        assert_eq!(
            problems(CrdKind::ReplicationSource, &source(&args(21))),
            vec![(
                "spec.kopia.additionalArgs".into(),
                Problem::TooManyItems { max: 20 }
            )]
        );
        assert_eq!(
            problems(CrdKind::ReplicationDestination, &destination(&args(21))),
            vec![(
                "spec.kopia.additionalArgs".into(),
                Problem::TooManyItems { max: 20 }
            )]
        );
    }

    #[test]
    fn mover_volumes_need_a_mount_path_and_a_volume_source() {
        let root = parse(&source(
            "    moverVolumes:\n      - volumeSource:\n          nfs: {server: nas}\n      - mountPath: repo\n",
        ));
        let findings = check(CrdKind::ReplicationSource, &root);
        let found: Vec<(String, Problem)> = findings
            .iter()
            .map(|f| (display_path(&f.path), f.problem.clone()))
            .collect();
        let missing = |path: &str, field: &str| {
            (
                path.to_owned(),
                Problem::MissingRequired {
                    field: field.into(),
                },
            )
        };
        assert_eq!(
            found,
            vec![
                missing("spec.kopia.moverVolumes[0].volumeSource.nfs.path", "path"),
                missing("spec.kopia.moverVolumes[0].mountPath", "mountPath"),
                missing("spec.kopia.moverVolumes[1].volumeSource", "volumeSource"),
            ]
        );
        // A missing field is pointed at by the mapping that lacks it.
        assert_eq!(
            findings[2].node.get("mountPath").and_then(Node::as_str),
            Some("repo")
        );
    }

    #[test]
    fn kopia_maintenance_requires_its_repository() {
        assert_eq!(
            problems(CrdKind::KopiaMaintenance, &maintenance("  enabled: true\n")),
            vec![(
                "spec.repository".into(),
                Problem::MissingRequired {
                    field: "repository".into()
                }
            )]
        );
        assert_eq!(
            problems(
                CrdKind::KopiaMaintenance,
                &maintenance("  repository:\n    customCA: {secretName: ca, key: ca.crt}\n")
            ),
            vec![(
                "spec.repository.repository".into(),
                Problem::MissingRequired {
                    field: "repository".into()
                }
            )]
        );
        let found = problems(
            CrdKind::KopiaMaintenance,
            &maintenance(
                "  repository: {repository: \"\"}\n  activeDeadlineSeconds: 60\n  failedJobsHistoryLimit: -1\n  schedule: weekly\n",
            ),
        );
        let kinds: Vec<&Problem> = found.iter().map(|(_, p)| p).collect();
        assert_eq!(
            kinds,
            vec![
                &Problem::TooShort { min_length: 1 },
                &Problem::BelowMinimum { min: 600.0 },
                &Problem::BelowMinimum { min: 0.0 },
                &Problem::PatternMismatch {
                    pattern: r"^(@(annually|yearly|monthly|weekly|daily|hourly))|((((\d+,)*\d+|(\d+(\/|-)\d+)|\*(\/\d+)?)\s?){5})$".into()
                },
            ],
            "{found:?}"
        );
        assert_eq!(
            describe(kinds[1]).0,
            "the value is below the minimum of 600"
        );
    }

    #[test]
    fn status_is_ignored_and_metadata_checked_loosely() {
        let text = format!(
            "{}status:\n  lastSyncTime: not-a-time\n  anything: [1, 2]\n",
            source("")
        );
        assert_eq!(problems(CrdKind::ReplicationSource, &text), vec![]);
        let text = source("").replace(
            "  name: web\n",
            "  name: web\n  uid: 1234-5678\n  labels: {app: web, tier: 3}\n",
        );
        assert_eq!(
            problems(CrdKind::ReplicationSource, &text),
            vec![(
                "metadata.labels.tier".into(),
                Problem::WrongType {
                    expected: "a string".into()
                }
            )]
        );
    }

    #[test]
    fn api_version_and_kind_are_fixed() {
        let text = source("").replace("volsync.backube/v1alpha1", "volsync.backube/v1");
        assert_eq!(
            problems(CrdKind::ReplicationSource, &text),
            vec![(
                "apiVersion".into(),
                Problem::NotInEnum {
                    allowed: vec![API_VERSION.into()]
                }
            )]
        );
        let found = problems(CrdKind::ReplicationDestination, &source(""));
        assert!(
            found.contains(&(
                "kind".into(),
                Problem::NotInEnum {
                    allowed: vec!["ReplicationDestination".into()]
                }
            )),
            "{found:?}"
        );
    }

    #[test]
    fn nulls_are_absent_and_formats_are_checked() {
        // `trigger:` with no value is no trigger, not a type error.
        let text = source("    retain:\n")
            .replace("  trigger:\n    schedule: \"0 2 * * *\"\n", "  trigger:\n");
        assert_eq!(problems(CrdKind::ReplicationSource, &text), vec![]);
        let found = problems(
            CrdKind::ReplicationDestination,
            &destination(
                "    restoreAsOf: \"2025-11-20 00:00:00Z\"\n    previous: 3000000000\n    shallow: 2.0\n",
            ),
        );
        assert_eq!(
            found,
            vec![
                (
                    "spec.kopia.restoreAsOf".into(),
                    Problem::BadFormat {
                        format: "date-time".into()
                    }
                ),
                (
                    "spec.kopia.previous".into(),
                    Problem::BadFormat {
                        format: "int32".into()
                    }
                ),
            ]
        );
        let items = problems(
            CrdKind::ReplicationSource,
            &source("    accessModes: []\n    cacheAccessModes: [~]\n"),
        );
        assert_eq!(
            items,
            vec![
                (
                    "spec.kopia.accessModes".into(),
                    Problem::TooFewItems { min: 1 }
                ),
                (
                    "spec.kopia.cacheAccessModes[0]".into(),
                    Problem::WrongType {
                        expected: "a string".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn every_pattern_of_the_schemas_is_explained() {
        fn patterns(json: &Json, found: &mut BTreeSet<String>) {
            match json {
                Json::Object(map) => {
                    for (key, value) in map {
                        match (key.as_str(), value) {
                            ("pattern", Json::String(pattern)) => {
                                found.insert(pattern.clone());
                            }
                            _ => patterns(value, found),
                        }
                    }
                }
                Json::Array(items) => items.iter().for_each(|item| patterns(item, found)),
                _ => {}
            }
        }
        use std::collections::BTreeSet;
        let mut found = BTreeSet::new();
        // The status has patterns too (conditions), but is never checked.
        for (_, text) in SCHEMA_FILES {
            let json: Json = serde_json::from_str(text).expect("JSON");
            patterns(&json["properties"]["spec"], &mut found);
        }
        assert!(found.len() >= 4, "{found:?}");
        for pattern in found {
            let help = pattern_help(&pattern);
            assert!(!help.contains(&pattern), "no specific help for {pattern}");
        }
    }

    #[test]
    fn every_problem_has_a_message_and_a_help() {
        let all = [
            Problem::UnknownField {
                field: "x".into(),
                known: vec![],
            },
            Problem::WrongType {
                expected: "a list".into(),
            },
            Problem::NotInEnum {
                allowed: vec!["A".into()],
            },
            Problem::PatternMismatch {
                pattern: "^a$".into(),
            },
            Problem::MissingRequired { field: "x".into() },
            Problem::TooManyItems { max: 2 },
            Problem::TooFewItems { min: 1 },
            Problem::BelowMinimum { min: 0.5 },
            Problem::AboveMaximum { max: 9.0 },
            Problem::TooShort { min_length: 3 },
            Problem::TooLong { max_length: 3 },
            Problem::BadFormat {
                format: "int64".into(),
            },
        ];
        for problem in all {
            let (message, help) = describe(&problem);
            assert!(!message.is_empty() && !help.is_empty(), "{problem:?}");
        }
    }

    /// The vendored CRDs are VolSync's, unchanged: their SHA-256 is that of
    /// `reference/volsync-crds/` (perfectra1n/volsync@5d7eefce's CRDs as
    /// JSON). The hash works on any clone; where the reference directory
    /// exists (the development machine, not CI), the bytes are compared too.
    #[test]
    fn vendored_crds_are_byte_identical_to_the_reference() {
        use sha2::{Digest, Sha256};
        let expected = [
            (
                REPLICATION_SOURCE_FILE,
                "d61e8ccb71650705f0b329bff312581c7aefe9cbb13a1b4fe8efffe5b01175ff",
            ),
            (
                REPLICATION_DESTINATION_FILE,
                "ed018e999ae1054ae56d24e6ca0e41a12f3cf8b7008071fee65675137aa0072f",
            ),
        ];
        for (name, hash) in expected {
            let (_, text) = SCHEMA_FILES
                .iter()
                .find(|(file, _)| *file == name)
                .expect("embedded");
            let digest: String = Sha256::digest(text.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(digest, hash, "{name} differs from VolSync's CRD");
            let reference = std::path::Path::new("/work/shared/reference/volsync-crds").join(name);
            if reference.exists() {
                let bytes = std::fs::read(&reference).expect("readable");
                assert_eq!(bytes, text.as_bytes(), "{name}");
            }
        }
    }

    #[test]
    fn the_overlay_only_adds() {
        let extensions: Json = serde_json::from_str(EXTENSIONS).expect("JSON");
        let mut schema: Json = serde_json::from_str(SCHEMA_FILES[0].1).expect("JSON");
        apply_additions(CrdKind::ReplicationSource, &mut schema, &extensions).expect("applies");
        let error = apply_additions(CrdKind::ReplicationSource, &mut schema, &extensions)
            .expect_err("a second application would replace properties");
        assert!(error.contains("would replace"), "{error}");
    }
}
