//! What can go wrong while reading input bytes into YAML documents.

use std::fmt;

use crate::diagnostics::{Code, DiagnosticKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// A directory given as input holds no YAML file.
    EmptyDirectory { directory: String },
    /// A file, directory or standard input could not be read.
    Unreadable { name: String, reason: String },
    /// The inputs together exceed the size limit.
    InputTooLarge { limit_mib: u64 },
    /// A file is not UTF-8.
    NotUtf8 { name: String, byte: u8 },
    /// The YAML parser refused the text.
    InvalidYaml { reason: String },
    /// A mapping key that is a list or a mapping.
    ComplexKey,
    /// A plain scalar that YAML 1.1 tools (kubectl) read as something else.
    AmbiguousScalar { raw: String, reading: String },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyDirectory { directory } => {
                write!(f, "the directory {directory} holds no *.yaml or *.yml file")
            }
            Self::Unreadable { name, reason } => write!(f, "cannot read {name}: {reason}"),
            Self::InputTooLarge { limit_mib } => {
                write!(f, "the inputs are larger than {limit_mib} MiB in total")
            }
            Self::NotUtf8 { name, byte } => {
                write!(
                    f,
                    "{name} is not UTF-8 text: the byte 0x{byte:02x} here is not UTF-8"
                )
            }
            Self::InvalidYaml { reason } => write!(f, "invalid YAML: {reason}"),
            Self::ComplexKey => f.write_str("a mapping key is a list or a mapping"),
            Self::AmbiguousScalar { raw, reading } => write!(
                f,
                "`{raw}` is {reading} to kubectl and other YAML 1.1 tools, but text here"
            ),
        }
    }
}

impl DiagnosticKind for LoadError {
    fn code(&self) -> Code {
        match self {
            Self::EmptyDirectory { .. } => Code::EmptyInputDirectory,
            Self::Unreadable { .. } => Code::UnreadableInput,
            Self::InputTooLarge { .. } => Code::InputTooLarge,
            Self::NotUtf8 { .. } => Code::InputNotUtf8,
            Self::InvalidYaml { .. } => Code::InvalidYaml,
            Self::ComplexKey => Code::ComplexKey,
            Self::AmbiguousScalar { .. } => Code::AmbiguousScalar,
        }
    }
}
