//! What can go wrong while writing the output, or reading a previous output
//! back (for `diff` and the guards that compare against it).

use std::fmt;

use crate::diagnostics::{Code, DiagnosticKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputError {
    /// The previous output (a file or directory) cannot be read.
    PreviousUnreadable { what: String, reason: String },
    /// A `List` document has no `items`.
    ListWithoutItems,
    /// A document lacks `kind` or `metadata.name`.
    ObjectWithoutName,
    /// The output would replace (or, as a directory, hold) an input file.
    ReplacesInput { target: String, input: String },
    /// An output file cannot be written.
    NotWritten { target: String, reason: String },
    /// The output cannot be serialised.
    Unserialisable { what: String, reason: String },
    /// The same object appears twice.
    DuplicateObject {
        kind: String,
        namespace: String,
        name: String,
        first: String,
    },
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PreviousUnreadable { what, reason } => write!(f, "cannot read {what}: {reason}"),
            Self::ReplacesInput { target, input } => {
                write!(f, "writing {target} would replace the input {input}")
            }
            Self::NotWritten { target, reason } => write!(f, "cannot write {target}: {reason}"),
            Self::Unserialisable { what, reason } => {
                write!(f, "cannot serialise {what}: {reason}")
            }
            Self::ListWithoutItems => f.write_str("a `List` without `items`"),
            Self::ObjectWithoutName => f.write_str("a document without `kind` or `metadata.name`"),
            Self::DuplicateObject {
                kind,
                namespace,
                name,
                first,
            } => write!(
                f,
                "the {kind} `{namespace}/{name}` appears twice (first at {first})"
            ),
        }
    }
}

impl DiagnosticKind for OutputError {
    fn code(&self) -> Code {
        match self {
            Self::PreviousUnreadable { .. } => Code::PreviousOutputUnreadable,
            Self::ReplacesInput { .. } => Code::OutputReplacesInput,
            Self::NotWritten { .. } => Code::OutputNotWritten,
            Self::Unserialisable { .. } => Code::UnserialisableOutput,
            Self::ListWithoutItems => Code::ListWithoutItems,
            Self::ObjectWithoutName => Code::ObjectWithoutName,
            Self::DuplicateObject { .. } => Code::DuplicateObject,
        }
    }
}
