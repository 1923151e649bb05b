//! Positions in the input, for diagnostics: a plan path translated to the
//! document (and field) it came from.

use crate::diagnostics::Diagnostic;
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
}

impl<'a> At<'a> {
    pub(super) fn key(&self, key: &str) -> At<'a> {
        let mut at = self.clone();
        at.path.push(PathSegment::Key(key.to_owned()));
        at
    }

    /// A path in another document of the input (a context object).
    pub(super) fn in_document(&self, doc: crate::parse::DocId, path: Vec<PathSegment>) -> At<'a> {
        At {
            documents: self.documents,
            sources: self.sources,
            provenance: std::borrow::Cow::Owned(Provenance::Document(doc)),
            path,
        }
    }

    pub(super) fn index(&self, index: usize) -> At<'a> {
        let mut at = self.clone();
        at.path.push(PathSegment::Index(index));
        at
    }

    /// The document and the path in it that this plan path came from.
    pub(super) fn located(&self) -> (&'a Document, Vec<PathSegment>) {
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

    pub(super) fn error(&self, message: impl Into<String>, help: impl Into<String>) -> Diagnostic {
        let (_, path) = self.located();
        Diagnostic::error(message)
            .at(Some(self.value_span()))
            .field(display_path(&path))
            .help(help)
    }

    /// Like [`At::error`], pointing at the key of the last path step.
    pub(super) fn key_error(
        &self,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Diagnostic {
        let (document, path) = self.located();
        Diagnostic::error(message)
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
