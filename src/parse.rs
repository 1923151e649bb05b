//! Parsing: YAML documents → input types. Each document is recognised by its
//! `apiVersion` and `kind`: a BackupPlan, a context object (Secret,
//! ConfigMap, PersistentVolumeClaim, Namespace) or something else.

use crate::diagnostics::{Diagnostic, Diagnostics, nearest};
use crate::load::{Document, PathSegment, display_path};
use crate::plan::error::ParseError;
use crate::plan::{self, BackupPlan};
use crate::volsync::{self, VolSyncInput};

pub mod context;
mod scan;
pub mod workload;
pub use context::{ContextContent, ContextObject, Files, ObjectFile};
pub use scan::{may_be_compiled, plain, plain_and_no_resource_list};
pub use workload::Workload;

/// The index of a document in the list `load::parse` returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocId(pub usize);

#[derive(Debug, Clone)]
pub struct Inputs {
    pub plans: Vec<PlanInput>,
    pub context: Vec<ContextObject>,
    /// VolSync objects, lowered into plans by [`crate::volsync::lower`].
    pub volsync: Vec<VolSyncInput>,
    /// ReplicationSources of the cluster context, read for destinations'
    /// `sourceIdentity` discovery only: never lowered or written.
    pub cluster_sources: Vec<VolSyncInput>,
    /// Documents kopiaplan does not compile or use.
    pub others: Vec<DocId>,
    /// Workloads of the input and of the cluster context: what
    /// `statefulSet` expands and what settings are inferred from.
    pub workloads: Vec<Workload>,
    /// Whether settings are inferred from workloads (`--no-infer`: not).
    pub infer: bool,
    /// Whether the context objects of the input are part of the output:
    /// not when the caller writes the input itself (the post-renderer),
    /// which then need not hold a second copy of each.
    pub context_in_output: bool,
}

/// A plan to resolve, and where its fields were written.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub plan: BackupPlan,
    pub provenance: Provenance,
}

/// Where a plan's fields come from, so diagnostics point at what the user
/// wrote: the plan document itself, or the objects a plan was lowered from.
#[derive(Debug, Clone)]
pub enum Provenance {
    /// A BackupPlan document.
    Document(DocId),
    /// A plan built from other documents (VolSync objects).
    Lowered {
        /// Plan path prefixes and the document paths they were written at.
        mappings: Vec<Mapping>,
        /// Where a plan path no mapping covers points.
        fallback: (DocId, Vec<PathSegment>),
    },
}

/// One plan path prefix and where in which document it was written; the
/// rest of a longer path is looked up below `source`.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub plan: Vec<PathSegment>,
    pub doc: DocId,
    pub source: Vec<PathSegment>,
}

impl Provenance {
    /// The document and document path a plan path was written at.
    pub fn translate(&self, path: &[PathSegment]) -> (DocId, Vec<PathSegment>) {
        match self {
            Provenance::Document(doc) => (*doc, path.to_vec()),
            Provenance::Lowered { mappings, fallback } => mappings
                .iter()
                .filter(|m| path.starts_with(&m.plan))
                .max_by_key(|m| m.plan.len())
                .map(|m| {
                    let mut source = m.source.clone();
                    source.extend_from_slice(&path[m.plan.len()..]);
                    (m.doc, source)
                })
                .unwrap_or_else(|| fallback.clone()),
        }
    }
}

/// kopiaplan's API group: its objects are compiled.
pub(crate) const PLAN_GROUP: &str = "kopiaplan.dev/";

/// VolSync's API group: its objects are compiled (or reported).
pub(crate) const VOLSYNC_GROUP: &str = "volsync.backube/";

const CONTEXT_KINDS: [&str; 4] = ["Secret", "ConfigMap", "PersistentVolumeClaim", "Namespace"];

/// What kopiaplan does with a document, decided by its `apiVersion` and
/// `kind` alone. [`parse`] sorts documents by it, and the post-renderer and
/// the KRM function ask it for every document of a stream: a new input
/// format becomes compiled everywhere by being `Compiled` here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// An input kopiaplan compiles (or reports as an error); in a stream it
    /// is replaced by the objects compiled from it.
    Compiled,
    /// A Kubernetes object read for compile-time cross-checks and passed
    /// through unchanged.
    Context,
    /// A workload (Deployment, StatefulSet, DaemonSet, Job, CronJob,
    /// Pod): read for `statefulSet` and for the settings inferred from it,
    /// passed through by the post-renderer and the KRM function, left out
    /// (without a warning) by `compile`.
    Workload,
    /// Anything else: passed through by the post-renderer and the KRM
    /// function, left out (with a warning) by `compile`.
    Other,
}

pub fn role(api_version: Option<&str>, kind: Option<&str>) -> Role {
    match (api_version, kind) {
        (Some(version), Some(_)) if version.starts_with(PLAN_GROUP) => Role::Compiled,
        (Some(version), Some(_)) if version.starts_with(VOLSYNC_GROUP) => Role::Compiled,
        (Some("v1"), Some(kind)) if CONTEXT_KINDS.contains(&kind) => Role::Context,
        (Some(version), Some(kind)) if workload::is_workload(version, kind) => Role::Workload,
        _ => Role::Other,
    }
}

/// [`role`] of a parsed document.
pub fn role_of(root: &crate::load::Node) -> Role {
    role(
        root.get("apiVersion").and_then(|n| n.as_str()),
        root.get("kind").and_then(|n| n.as_str()),
    )
}

/// Sorts `documents` by [`role`] and reads each compiled one into its
/// typed input; `options` says how VolSync objects are read.
pub fn parse(documents: &[Document], options: &volsync::Options) -> (Inputs, Diagnostics) {
    let mut inputs = Inputs {
        plans: Vec::new(),
        context: Vec::new(),
        volsync: Vec::new(),
        cluster_sources: Vec::new(),
        others: Vec::new(),
        workloads: Vec::new(),
        infer: !options.no_infer,
        context_in_output: !options.input_written_by_caller,
    };
    let mut diagnostics = Diagnostics::default();
    for (index, document) in documents.iter().enumerate() {
        let id = DocId(index);
        let root = &document.root;
        let api_version = root.get("apiVersion").and_then(|n| n.as_str());
        let kind = root.get("kind").and_then(|n| n.as_str());
        if document.cluster {
            read_cluster_object(id, document, options, &mut inputs);
            continue;
        }
        match (api_version, kind) {
            (Some(plan::API_VERSION), Some(plan::KIND)) => {
                // Every structural problem at once; serde reads the plan
                // only when there is none.
                let problems = plan::check::check(document);
                if !problems.is_empty() {
                    problems.into_iter().for_each(|d| diagnostics.push(d));
                    continue;
                }
                match deserialize::<BackupPlan>(document) {
                    Ok(plan) => inputs.plans.push(PlanInput {
                        plan,
                        provenance: Provenance::Document(id),
                    }),
                    Err(diagnostic) => diagnostics.push(diagnostic),
                }
            }
            (Some(version), Some(kind)) if version.starts_with("kopiaplan.dev/") => {
                let (field, help) = if kind == plan::KIND {
                    (
                        "apiVersion",
                        format!("use `apiVersion: {}`", plan::API_VERSION),
                    )
                } else {
                    let suggestion = nearest(kind, [plan::KIND])
                        .map(|k| format!("did you mean `{k}`? "))
                        .unwrap_or_default();
                    (
                        "kind",
                        format!("{suggestion}kopiaplan.dev knows the kind `{}`", plan::KIND),
                    )
                };
                diagnostics.push(
                    Diagnostic::new(&ParseError::UnknownDocument {
                        api_version: version.to_owned(),
                        kind: kind.to_owned(),
                    })
                    .at(Some(document.span_of(&[PathSegment::Key(field.into())])))
                    .field(field)
                    .help(help),
                );
            }
            (Some(version), Some(_)) if version.starts_with(VOLSYNC_GROUP) => {
                if let Some(object) = volsync::parse::parse(document, options, &mut diagnostics) {
                    inputs.volsync.push(VolSyncInput { doc: id, object });
                }
            }
            (_, Some(kind)) if role(api_version, Some(kind)) == Role::Context => {
                inputs
                    .context
                    .extend(ContextObject::read(id, kind, &root.to_json(), false));
            }
            (_, Some(kind)) if role(api_version, Some(kind)) == Role::Workload => {
                match Workload::read(id, &root.to_json(), false) {
                    Some(workload) => inputs.workloads.push(workload),
                    // Not a workload Kubernetes would accept: not used.
                    None => inputs.others.push(id),
                }
            }
            _ => inputs.others.push(id),
        }
    }
    (inputs, diagnostics)
}

/// Reads an object of the cluster context: the kinds of context objects,
/// and ReplicationSources (for destinations' `sourceIdentity`). Whatever
/// else the cluster holds is not kopiaplan's business, and what it thinks
/// of a cluster object (an unknown field of a newer VolSync) is not the
/// user's problem here: no diagnostic comes from the cluster context.
fn read_cluster_object(
    id: DocId,
    document: &Document,
    options: &volsync::Options,
    inputs: &mut Inputs,
) {
    let root = &document.root;
    let api_version = root.get("apiVersion").and_then(|n| n.as_str());
    let Some(kind) = root.get("kind").and_then(|n| n.as_str()) else {
        return;
    };
    if role(api_version, Some(kind)) == Role::Context {
        inputs
            .context
            .extend(ContextObject::read(id, kind, &root.to_json(), true));
    } else if role(api_version, Some(kind)) == Role::Workload {
        inputs
            .workloads
            .extend(Workload::read(id, &root.to_json(), true));
    } else if api_version.is_some_and(|v| v.starts_with(VOLSYNC_GROUP))
        && kind == "ReplicationSource"
        && let Some(object) = volsync::parse::parse(
            document,
            &volsync::Options {
                strict: false,
                ..options.clone()
            },
            &mut Diagnostics::default(),
        )
    {
        inputs
            .cluster_sources
            .push(VolSyncInput { doc: id, object });
    }
}

/// Typed deserialization with the failing field's path and position.
fn deserialize<T: serde::de::DeserializeOwned>(document: &Document) -> Result<T, Diagnostic> {
    let json = document.root.to_json();
    serde_path_to_error::deserialize::<_, T>(json).map_err(|error| {
        let mut path: Vec<PathSegment> = error
            .path()
            .iter()
            .filter_map(|segment| match segment {
                serde_path_to_error::Segment::Seq { index } => Some(PathSegment::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(PathSegment::Key(key.clone())),
                serde_path_to_error::Segment::Enum { variant } => {
                    Some(PathSegment::Key(variant.clone()))
                }
                serde_path_to_error::Segment::Unknown => None,
            })
            .collect();
        let message = error.inner().to_string();
        let (error, help) = explain_serde_error(&message);
        if let ParseError::UnknownField { field } = &error {
            path.push(PathSegment::Key(field.clone()));
        }
        Diagnostic::new(&error)
            .at(Some(document.span_of(&path)))
            .field(display_path(&path))
            .help(help)
    })
}

fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// Turns serde's messages into a kind and a fix.
fn explain_serde_error(message: &str) -> (ParseError, String) {
    if let Some(field) = unknown_field_name(message) {
        let expected: Vec<&str> = message
            .split_once("expected ")
            .map(|(_, list)| list)
            .unwrap_or("")
            .split(['`'])
            .enumerate()
            .filter(|(i, _)| i % 2 == 1)
            .map(|(_, name)| name)
            .collect();
        let help = match nearest(&field, expected.iter().copied()) {
            Some(name) => format!("did you mean `{name}`?"),
            None if expected.is_empty() => "remove this field".to_owned(),
            None => format!("valid fields here: {}", expected.join(", ")),
        };
        return (ParseError::UnknownField { field }, help);
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
    {
        return (
            ParseError::MissingField {
                field: field.to_owned(),
            },
            format!("add `{field}` here"),
        );
    }
    if message.starts_with("unknown variant") {
        let given = message.split('`').nth(1).unwrap_or("");
        let list = message
            .split_once("expected ")
            .map(|(_, list)| list)
            .unwrap_or("");
        let variants: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
        let help = match nearest(given, variants.iter().copied()) {
            Some(variant) => format!("did you mean `{variant}`?"),
            None if list.is_empty() => "use one of the documented values".to_owned(),
            None => format!("use {list}"),
        };
        return (
            ParseError::UnknownVariant {
                given: given.to_owned(),
            },
            help,
        );
    }
    if message.starts_with("invalid type") {
        return (
            ParseError::InvalidType {
                reason: message.to_owned(),
            },
            "write the value in the form the field expects (quote text)".to_owned(),
        );
    }
    (
        ParseError::Unreadable {
            reason: message.to_owned(),
        },
        "fix this value".to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SourceMap;

    /// Plain text wins over base64 for a key written in both fields, and
    /// every key is found.
    #[test]
    fn a_plain_file_wins_over_a_base64_one_of_the_same_key() {
        let secret = serde_json::json!({
            "metadata": {"name": "s"},
            "data": {"z": "ZW5jb2RlZA==", "b": "Yg==", "a": "ZW5jb2RlZA=="},
            "stringData": {"a": "plain", "c": "c"},
        });
        let object = ContextObject::read(DocId(0), "Secret", &secret, false).expect("a secret");
        let file = |key: &str| object.file(key).and_then(|f| f.text.clone());
        assert_eq!(file("a").as_deref(), Some("plain"));
        assert_eq!(object.file("a").map(|f| f.field), Some("stringData"));
        assert_eq!(file("b").as_deref(), Some("b"));
        assert_eq!(file("c").as_deref(), Some("c"));
        assert_eq!(file("z").as_deref(), Some("encoded"));
        assert!(object.file("d").is_none());
        assert_eq!(object.data_keys(), ["z", "b", "a", "a", "c"]);
    }

    /// `parse` and `role` must agree: the post-renderer decides by `role`
    /// what `parse` will compile.
    #[test]
    fn parse_sorts_documents_as_role_says() {
        let documents = [
            ("kopiaplan.dev/v1alpha1", "BackupPlan", Role::Compiled),
            ("kopiaplan.dev/v1alpha1", "BackupPlna", Role::Compiled),
            ("kopiaplan.dev/v1", "BackupPlan", Role::Compiled),
            ("v1", "Secret", Role::Context),
            ("v1", "ConfigMap", Role::Context),
            ("v1", "PersistentVolumeClaim", Role::Context),
            ("v1", "Namespace", Role::Context),
            (
                "volsync.backube/v1alpha1",
                "ReplicationSource",
                Role::Compiled,
            ),
            (
                "volsync.backube/v1alpha1",
                "ReplicationDestination",
                Role::Compiled,
            ),
            (
                "volsync.backube/v1alpha1",
                "KopiaMaintenance",
                Role::Compiled,
            ),
            (
                "volsync.backube/v1alpha1",
                "ReplicationSorce",
                Role::Compiled,
            ),
            ("v1", "ServiceAccount", Role::Other),
            ("apps/v1", "Deployment", Role::Workload),
            ("apps/v1", "StatefulSet", Role::Workload),
            ("batch/v1", "Job", Role::Workload),
            ("v1", "Pod", Role::Workload),
            ("apps/v1beta1", "Deployment", Role::Other),
            ("example.com/v1", "Secret", Role::Other),
        ];
        let text: String = documents
            .iter()
            .map(|(version, kind, _)| {
                format!(
                    "---\napiVersion: {version}\nkind: {kind}\nmetadata: {{name: x}}\nspec: {{}}\n"
                )
            })
            .collect();
        let mut sources = SourceMap::default();
        sources.add("t.yaml".into(), text);
        let (parsed, _) = crate::load::parse(&sources);
        let (inputs, _) = parse(&parsed, &volsync::Options::default());
        for (index, (version, kind, expected)) in documents.iter().enumerate() {
            assert_eq!(role_of(&parsed[index].root), *expected, "{version} {kind}");
            let id = DocId(index);
            let sorted = if inputs.others.contains(&id) {
                Role::Other
            } else if inputs.context.iter().any(|c| c.doc == id) {
                Role::Context
            } else if inputs.workloads.iter().any(|w| w.doc == id) {
                Role::Workload
            } else {
                Role::Compiled
            };
            assert_eq!(sorted, *expected, "{version} {kind}");
        }
    }
}
