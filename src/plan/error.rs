//! What can go wrong parsing a document into a BackupPlan: the structural
//! check's findings in a plan author's words, and what serde still refuses.

use std::fmt;

use crate::diagnostics::{Code, DiagnosticKind, Severity};
use crate::schema::{Problem, describe};

#[derive(Debug, Clone, PartialEq)]
pub enum ParseError {
    /// A `kopiaplan.dev` document with an unknown `apiVersion` or `kind`.
    UnknownDocument {
        api_version: String,
        kind: String,
    },
    UnknownField {
        field: String,
    },
    /// A value that is not one of the field's allowed values.
    UnknownVariant {
        given: String,
    },
    MissingField {
        field: String,
    },
    /// Any other structural problem, in the checker's words.
    Schema {
        problem: Problem,
    },
    /// serde's type error, when the schema could not tell.
    InvalidType {
        reason: String,
    },
    /// Anything else serde refuses.
    Unreadable {
        reason: String,
    },
    /// A document that is neither a BackupPlan nor a VolSync object: it
    /// passes through, uncompiled (a warning).
    NotCompiled {
        kind: String,
    },
    /// A `kind: List` given as an ordinary input holds objects kopiaplan
    /// compiles: a List is cluster context, so they are read, not compiled
    /// (a warning).
    ListItemsNotCompiled {
        count: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownDocument { api_version, kind } => {
                write!(f, "unknown kopiaplan document `{api_version}` `{kind}`")
            }
            Self::UnknownField { field } => write!(f, "unknown field `{field}`"),
            Self::UnknownVariant { given } => write!(f, "unknown variant `{given}`"),
            Self::MissingField { field } => write!(f, "missing field `{field}`"),
            Self::Schema { problem } => f.write_str(&describe(problem).0),
            Self::InvalidType { reason } | Self::Unreadable { reason } => f.write_str(reason),
            Self::NotCompiled { kind } => write!(
                f,
                "a `{kind}` document is not compiled and is left out of the output"
            ),
            Self::ListItemsNotCompiled { count } => write!(
                f,
                "this `List` is read as cluster context: its {count} VolSync object(s) or plan(s) are looked up, not compiled"
            ),
        }
    }
}

impl DiagnosticKind for ParseError {
    fn code(&self) -> Code {
        match self {
            Self::UnknownDocument { .. } => Code::UnknownDocument,
            Self::UnknownField { .. } => Code::UnknownField,
            Self::UnknownVariant { .. } => Code::ValueNotAllowed,
            Self::MissingField { .. } => Code::MissingField,
            Self::Schema { problem } => problem.code(),
            Self::InvalidType { .. } => Code::WrongType,
            Self::Unreadable { .. } => Code::UnreadablePlan,
            Self::NotCompiled { .. } => Code::DocumentNotCompiled,
            Self::ListItemsNotCompiled { .. } => Code::ListItemsNotCompiled,
        }
    }

    fn severity(&self) -> Severity {
        match self {
            Self::NotCompiled { .. } | Self::ListItemsNotCompiled { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }
}
