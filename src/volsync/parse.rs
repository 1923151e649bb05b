//! The parse step of the VolSync front end: a VolSync document → a typed
//! object, after its check against VolSync's CRD schema, as BackupPlans are
//! parsed after theirs. Lowering then sees only these typed objects.

use super::error::VolSyncError;
use super::types::{
    KopiaMaintenance, Metadata, OTHER_MOVERS, ReplicationDestination, ReplicationSource,
};
use super::{KINDS, Options, crd};
use crate::diagnostics::{Diagnostic, DiagnosticKind, Diagnostics, Severity, nearest};
use crate::load::{Document, PathSegment, display_path, span_of_node};
use crate::parse::DocId;

/// VolSync's annotation for a verbose mover.
pub const DEBUG_MOVER: &str = "volsync.backube/enable-debug-mover";

/// A VolSync object read from the document `doc`.
#[derive(Debug, Clone)]
pub struct VolSyncInput {
    pub doc: DocId,
    pub object: VolSyncObject,
}

/// The VolSync kinds kopiaplan compiles, typed.
#[derive(Debug, Clone)]
pub enum VolSyncObject {
    Source(ReplicationSource),
    Destination(ReplicationDestination),
    Maintenance(KopiaMaintenance),
}

impl VolSyncObject {
    /// The `kind` as written in a document.
    pub fn kind(&self) -> &'static str {
        match self {
            VolSyncObject::Source(_) => "ReplicationSource",
            VolSyncObject::Destination(_) => "ReplicationDestination",
            VolSyncObject::Maintenance(_) => "KopiaMaintenance",
        }
    }

    pub fn metadata(&self) -> &Metadata {
        match self {
            VolSyncObject::Source(object) => &object.metadata,
            VolSyncObject::Destination(object) => &object.metadata,
            VolSyncObject::Maintenance(object) => &object.metadata,
        }
    }
}

/// Reads one VolSync document; `None` when it cannot be compiled (the
/// reasons are in `diagnostics`).
pub fn parse(
    document: &Document,
    options: &Options,
    diagnostics: &mut Diagnostics,
) -> Option<VolSyncObject> {
    let root = &document.root;
    let at = |keys: &[&str]| -> (Option<crate::diagnostics::Span>, String) {
        let path: Vec<PathSegment> = keys
            .iter()
            .map(|k| PathSegment::Key((*k).to_owned()))
            .collect();
        (Some(document.span_of(&path)), display_path(&path))
    };
    if root
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(DEBUG_MOVER))
        .is_some()
    {
        let (span, field) = at(&["metadata", "annotations", DEBUG_MOVER]);
        diagnostics.push(
            Diagnostic::new(&VolSyncError::DebugMoverIgnored)
                .at(span)
                .field(field)
                .help("for more detail in Kopia's logs, convert to a BackupPlan and set `spec.kopia.logging.fileLevel: debug`"),
        );
    }
    let kind = root.get("kind").and_then(|n| n.as_str()).unwrap_or("");
    let Some(crd_kind) = crd::CrdKind::from_name(kind) else {
        let help = match nearest(kind, KINDS) {
            Some(kind) => format!("did you mean `{kind}`?"),
            None => format!("kopiaplan compiles the VolSync kinds {}", KINDS.join(", ")),
        };
        let (span, field) = at(&["kind"]);
        diagnostics.push(
            Diagnostic::new(&VolSyncError::KindNotCompiled {
                kind: kind.to_owned(),
            })
            .at(span)
            .field(field)
            .help(help),
        );
        return None;
    };
    let spec = root.get("spec");
    if let Some(spec) = spec {
        for mover in OTHER_MOVERS {
            if spec.get(mover).is_some() {
                let (span, field) = at(&["spec", mover]);
                diagnostics.push(
                    Diagnostic::new(&VolSyncError::OtherMover {
                        mover: mover.to_owned(),
                    })
                    .at(span)
                    .field(field)
                    .help("keep this object with VolSync, or move it to `spec.kopia`"),
                );
                return None;
            }
        }
    }
    let has_kopia = spec
        .and_then(|s| s.get("kopia"))
        .is_some_and(|k| matches!(k.value, crate::load::Value::Mapping(_)));
    if crd_kind != crd::CrdKind::KopiaMaintenance && !has_kopia {
        let (span, field) = at(&["spec"]);
        diagnostics.push(
            Diagnostic::new(&VolSyncError::NoKopia {
                kind: kind.to_owned(),
            })
            .at(span)
            .field(field)
            .help("kopiaplan compiles VolSync objects that use the Kopia mover: add `spec.kopia`"),
        );
        return None;
    }
    let mut schema_errors = false;
    for finding in crd::check(crd_kind, root) {
        let (_, help) = crate::schema::describe(&finding.problem);
        let unknown = matches!(finding.problem, crate::schema::Problem::UnknownField { .. });
        let error = VolSyncError::Schema {
            problem: finding.problem.clone(),
            pruned: unknown && !options.strict,
        };
        schema_errors |= error.severity() == Severity::Error;
        diagnostics.push(
            Diagnostic::new(&error)
                .at(Some(span_of_node(document.file, finding.node)))
                .field(display_path(&finding.path))
                .help(help),
        );
    }
    if schema_errors {
        return None;
    }
    let object = match crd_kind {
        crd::CrdKind::ReplicationSource => deserialize(document).map(VolSyncObject::Source),
        crd::CrdKind::ReplicationDestination => {
            deserialize(document).map(VolSyncObject::Destination)
        }
        crd::CrdKind::KopiaMaintenance => deserialize(document).map(VolSyncObject::Maintenance),
    };
    object.map_err(|d| diagnostics.push(d)).ok()
}

/// The typed object, once the schema check passed.
fn deserialize<T: serde::de::DeserializeOwned>(document: &Document) -> Result<T, Diagnostic> {
    serde_path_to_error::deserialize::<_, T>(document.root.to_json()).map_err(|error| {
        Diagnostic::new(&VolSyncError::Unreadable {
            reason: error.inner().to_string(),
        })
        .at(Some(span_of_node(document.file, &document.root)))
        .field(error.path().to_string())
        .help("write the field as VolSync's CRD defines it")
    })
}
