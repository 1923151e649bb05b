//! What can go wrong in the integration modes: the Helm post-renderer, the
//! kustomize exec plugin and the KRM function.

use std::fmt;

use crate::diagnostics::{Code, DiagnosticKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntegrationError {
    /// A generated object lost the annotation naming its input document.
    MissingSourceAnnotation {
        kind: String,
        name: String,
        annotation: String,
    },
    /// The rendered stream cannot be written back.
    Unserialisable { reason: String },
    /// The kustomize plugin configuration is empty.
    EmptyPluginConfig,
    /// The kustomize plugin configuration is not a document kopiaplan compiles.
    PluginConfigNotAPlan { kind: String },
    /// An object passing through has the name of a generated one.
    PassThroughNameClash {
        kind: String,
        namespace: String,
        name: String,
    },
    /// Two plans of a ResourceList start on one line (flow YAML).
    PlansOnOneLine,
    /// Standard input is empty where a ResourceList was expected.
    EmptyResourceList,
    /// The KRM input is not a ResourceList.
    NotAResourceList { kind: String },
    /// A ResourceList's `items` is not a list.
    ItemsNotAList,
}

impl fmt::Display for IntegrationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingSourceAnnotation {
                kind,
                name,
                annotation,
            } => write!(
                f,
                "internal error: the {kind} `{name}` has no `{annotation}` annotation that names its input document"
            ),
            Self::Unserialisable { reason } => write!(f, "cannot serialise the output: {reason}"),
            Self::EmptyPluginConfig => f.write_str("the plugin configuration is empty"),
            Self::PluginConfigNotAPlan { kind } => write!(
                f,
                "the plugin configuration is a `{kind}`, not a document kopiaplan compiles"
            ),
            Self::PassThroughNameClash {
                kind,
                namespace,
                name,
            } => write!(
                f,
                "the {kind} `{namespace}/{name}` of the input has the name of an object compiled from a plan"
            ),
            Self::PlansOnOneLine => {
                f.write_str("two plans start on the same line of the ResourceList")
            }
            Self::EmptyResourceList => {
                f.write_str("standard input is empty; a KRM function reads a ResourceList")
            }
            Self::NotAResourceList { kind } => {
                write!(f, "the input is a `{kind}`, not a ResourceList")
            }
            Self::ItemsNotAList => f.write_str("`items` of a ResourceList must be a list"),
        }
    }
}

impl DiagnosticKind for IntegrationError {
    fn code(&self) -> Code {
        match self {
            Self::MissingSourceAnnotation { .. } => Code::MissingSourceAnnotation,
            Self::Unserialisable { .. } => Code::UnserialisableOutput,
            Self::EmptyPluginConfig => Code::EmptyPluginConfig,
            Self::PluginConfigNotAPlan { .. } => Code::PluginConfigNotAPlan,
            Self::PassThroughNameClash { .. } => Code::PassThroughNameClash,
            Self::PlansOnOneLine => Code::PlansOnOneLine,
            Self::EmptyResourceList => Code::EmptyResourceList,
            Self::NotAResourceList { .. } => Code::NotAResourceList,
            Self::ItemsNotAList => Code::ResourceListItemsNotAList,
        }
    }
}
