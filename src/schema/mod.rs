//! The structural-schema checker: validates a YAML document against a JSON
//! Schema the way the Kubernetes API server validates a custom resource, and
//! reports every problem with the node it points at.
//!
//! The walk follows Kubernetes' structural-schema rules rather than plain
//! JSON Schema: unknown fields are pruned by the API server (a warning here,
//! not an error), a `null` field counts as absent, patterns use Go's RE2
//! syntax, `status` is never looked at and `metadata` only loosely.

mod compile;
mod describe;
mod walk;

pub use compile::{Compiler, Schema};
pub use describe::describe;
#[cfg(test)]
pub(crate) use describe::pattern_help;

use crate::diagnostics::{Code, Severity};
use crate::load::{Node, PathSegment, Value};

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

impl Problem {
    /// The diagnostic code of this kind of problem.
    pub fn code(&self) -> Code {
        match self {
            Problem::UnknownField { .. } => Code::UnknownField,
            Problem::WrongType { .. } => Code::WrongType,
            Problem::NotInEnum { .. } => Code::ValueNotAllowed,
            Problem::MissingRequired { .. } => Code::MissingField,
            Problem::PatternMismatch { .. }
            | Problem::TooManyItems { .. }
            | Problem::TooFewItems { .. }
            | Problem::BelowMinimum { .. }
            | Problem::AboveMaximum { .. }
            | Problem::TooShort { .. }
            | Problem::TooLong { .. }
            | Problem::BadFormat { .. } => Code::InvalidValue,
        }
    }
}

/// Every problem of `root`, a whole document checked against `schema`, in
/// document order; the top-level fields in `ignored` are not looked at. An
/// empty result means the API server accepts it as written.
pub fn check<'a>(schema: &Schema, root: &'a Node, ignored: &[&str]) -> Vec<Finding<'a>> {
    let mut findings = Vec::new();
    let mut path = Vec::new();
    match &root.value {
        Value::Mapping(entries) => {
            walk::walk_mapping(root, entries, schema, ignored, &mut path, &mut findings)
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
