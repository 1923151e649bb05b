//! Positions in the input, for diagnostics: a plan path translated to the
//! document (and field) it came from.

use crate::diagnostics::{Diagnostic, DiagnosticKind};
use crate::load::{Document, PathSegment, display_path};
use crate::model::Origin;
use crate::parse::Provenance;

/// A position in a plan, for building diagnostics. The plan's paths are
/// translated through its [`Provenance`] to the document (and field) it
/// came from: the plan itself, or the VolSync objects it was lowered from.
#[derive(Clone)]
pub(super) struct At<'a> {
    pub(super) documents: &'a [Document],
    pub(super) sources: &'a crate::diagnostics::SourceMap,
    pub(super) provenance: std::borrow::Cow<'a, Provenance>,
    pub(super) path: Vec<PathSegment>,
    /// Whether `path` is a BackupPlan path (else a context object's).
    pub(super) in_plan: bool,
}

impl<'a> At<'a> {
    /// The root of a plan.
    pub(super) fn plan(
        documents: &'a [Document],
        sources: &'a crate::diagnostics::SourceMap,
        provenance: &'a Provenance,
    ) -> At<'a> {
        At {
            documents,
            sources,
            provenance: std::borrow::Cow::Borrowed(provenance),
            path: Vec::new(),
            in_plan: true,
        }
    }

    pub(super) fn key(&self, key: &str) -> At<'a> {
        let mut at = self.clone();
        at.path.push(PathSegment::Key(key.to_owned()));
        at
    }

    /// A field that lowering set but no document holds (a VolSync
    /// repository's maintenance owner): this position, named with `key`.
    /// Not checked against the BackupPlan types, on purpose.
    pub(super) fn unwritten(&self, key: &str) -> At<'a> {
        let mut at = self.key(key);
        at.in_plan = false;
        at
    }

    /// A path in another document of the input (a context object).
    pub(super) fn in_document(&self, doc: crate::parse::DocId, path: Vec<PathSegment>) -> At<'a> {
        At {
            documents: self.documents,
            sources: self.sources,
            provenance: std::borrow::Cow::Owned(Provenance::Document(doc)),
            path,
            in_plan: false,
        }
    }

    pub(super) fn index(&self, index: usize) -> At<'a> {
        let mut at = self.clone();
        at.path.push(PathSegment::Index(index));
        at
    }

    /// The document and the path in it that this plan path came from.
    /// A plan path the BackupPlan types cannot have (a field renamed, a
    /// key mistyped) would silently point at the nearest existing parent:
    /// in debug builds, and so in every test, looking it up panics instead.
    pub(super) fn located(&self) -> (&'a Document, Vec<PathSegment>) {
        debug_assert!(
            !self.in_plan || plan_schema_has(&self.path),
            "`{}` is not a path of a BackupPlan",
            display_path(&self.path)
        );
        let (doc, path) = self.provenance.translate(&self.path);
        (&self.documents[doc.0], path)
    }

    /// The field path as the user wrote it (in the document it came from).
    pub(super) fn field_path(&self) -> String {
        display_path(&self.located().1)
    }

    /// The value's position (not its key's), for messages about a value.
    pub(super) fn value_span(&self) -> crate::diagnostics::Span {
        let (document, path) = self.located();
        let located = document.root.locate(&path);
        crate::load::span_of_node(document.file, located.node)
    }

    /// A problem with the value at this position.
    pub(super) fn error(&self, kind: &impl DiagnosticKind, help: impl Into<String>) -> Diagnostic {
        let (_, path) = self.located();
        Diagnostic::new(kind)
            .at(Some(self.value_span()))
            .field(display_path(&path))
            .help(help)
    }

    /// A name, namespace or label that Kubernetes would refuse.
    pub(super) fn invalid_name(
        &self,
        what: &str,
        value: &str,
        problem: String,
        help: impl Into<String>,
    ) -> Diagnostic {
        let kind = super::error::ResolveError::InvalidName {
            what: what.to_owned(),
            value: value.to_owned(),
            problem,
        };
        self.error(&kind, help)
    }

    /// Like [`At::error`], pointing at the key of the last path step.
    pub(super) fn key_error(
        &self,
        kind: &impl DiagnosticKind,
        help: impl Into<String>,
    ) -> Diagnostic {
        let (document, path) = self.located();
        Diagnostic::new(kind)
            .at(Some(document.span_of(&path)))
            .field(display_path(&path))
            .help(help)
    }

    /// Whether the document this path translates to has the field.
    pub(super) fn exists(&self) -> bool {
        let (document, path) = self.located();
        document.root.locate(&path).complete
    }

    pub(super) fn line(&self) -> u32 {
        self.value_span().line
    }

    /// Where this entry was written, for the source annotation.
    /// A lowered entry's origin is the start of the object it came from.
    pub(super) fn origin(&self) -> Origin {
        let (document, _) = self.located();
        let line = match self.provenance.as_ref() {
            Provenance::Document(_) => self.line(),
            Provenance::Lowered { .. } => document.root.position.line,
        };
        Origin {
            file: self.sources.file(document.file).relative_name.clone(),
            line,
        }
    }
}

/// Whether the BackupPlan JSON Schema (generated from the input types, with
/// their serde names) allows `path`. Free-form values (a Kopia policy,
/// labels) allow any path below them.
pub(super) fn plan_schema_has(path: &[PathSegment]) -> bool {
    use serde_json::Value;
    let root = crate::plan::schema();
    let defs = &root["$defs"];
    // Follows `$ref`, and the `anyOf: [X, null]` that optional fields become.
    let resolve = |mut schema: &'static Value| {
        for _ in 0..16 {
            if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
                match defs.get(name.trim_start_matches("#/$defs/")) {
                    Some(target) => schema = target,
                    None => break,
                }
            } else if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
                let mut non_null = options
                    .iter()
                    .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"));
                match (non_null.next(), non_null.next()) {
                    (Some(only), None) => schema = only,
                    _ => break,
                }
            } else {
                break;
            }
        }
        schema
    };
    let mut schema: &'static Value = root;
    for segment in path {
        schema = resolve(schema);
        let next = match segment {
            PathSegment::Key(key) => match schema.get("properties").and_then(|p| p.get(key)) {
                Some(field) => Some(field),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => None,
                    Some(Value::Bool(true)) => return true,
                    Some(values) => Some(values),
                    // A schema that names no fields takes any.
                    None if schema.get("properties").is_none() => return true,
                    None => None,
                },
            },
            PathSegment::Index(_) => match schema.get("items") {
                Some(items) => Some(items),
                None if schema.get("type").is_none() => return true,
                None => None,
            },
        };
        match next {
            Some(next) => schema = next,
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Vec<PathSegment> {
        text.split('.')
            .map(|part| match part.parse() {
                Ok(index) => PathSegment::Index(index),
                Err(_) => PathSegment::Key(part.to_owned()),
            })
            .collect()
    }

    #[test]
    fn the_schema_decides_which_plan_paths_exist() {
        for known in [
            "spec.kopia.logging.fileLevel",
            "spec.backups.0.mover.securityContext.runAsUser",
            "spec.defaults.jobs.backoffLimit",
            "metadata.labels.team",
            "spec.backups.3.policy.actions",
        ] {
            assert!(plan_schema_has(&path(known)), "{known}");
        }
        for unknown in [
            "spec.kopia.logging.level",
            "spec.backups.0.secretName",
            "spec.defaults.jobs.backoff",
        ] {
            assert!(!plan_schema_has(&path(unknown)), "{unknown}");
        }
    }

    /// Every field name the resolver asks a position for by its literal
    /// name is a field of some BackupPlan type: renaming a field's serde
    /// name fails here even where no test reaches the diagnostic.
    #[test]
    fn every_key_the_resolver_names_is_a_plan_field() {
        let schema = crate::plan::schema().to_string();
        // Every file of the resolver, read when the test runs, so that a
        // new file cannot be left out of the check.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/resolve");
        let mut sources = Vec::new();
        for file in std::fs::read_dir(&dir).expect("src/resolve") {
            let path = file.expect("a directory entry").path();
            if path.extension().is_some_and(|e| e == "rs") {
                sources.push(std::fs::read_to_string(&path).expect("a source file"));
            }
        }
        assert!(
            sources.len() > 15,
            "only {} files in {dir:?}",
            sources.len()
        );
        let mut checked = 0;
        for source in &sources {
            for piece in source.split(".key(\"").skip(1) {
                let name = piece.split('"').next().unwrap_or_default();
                assert!(
                    schema.contains(&format!("\"{name}\":")),
                    "`.key(\"{name}\")` names no field of a BackupPlan"
                );
                checked += 1;
            }
        }
        assert!(checked > 100, "only {checked} keys found");
    }
}
