//! The problems emitting reports, as typed kinds. The model is resolved, so
//! what can fail here is kopiaplan's own templates, and a generated object
//! that has the name of an input object passing through.

use crate::diagnostics::{Code, DiagnosticKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmitError {
    /// A mover script template of kopiaplan does not render: a bug.
    TemplateDoesNotRender { reason: String },
    /// An input object that passes through has the name of a generated one.
    InputNameClash {
        kind: String,
        namespace: String,
        name: String,
    },
}

impl std::fmt::Display for EmitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TemplateDoesNotRender { reason } => write!(
                f,
                "internal error: a mover script template does not render: {reason}"
            ),
            Self::InputNameClash {
                kind,
                namespace,
                name,
            } => write!(f, "two objects are named {kind} `{namespace}/{name}`"),
        }
    }
}

impl DiagnosticKind for EmitError {
    fn code(&self) -> Code {
        match self {
            Self::TemplateDoesNotRender { .. } => Code::TemplateDoesNotRender,
            Self::InputNameClash { .. } => Code::InputNameClash,
        }
    }
}
