//! Compiling plans that arrive inside another tool's stream: Helm's rendered
//! manifests ([`post_render`]) and kustomize's and kpt's ResourceLists
//! ([`krm`]). The documents kopiaplan compiles ([`crate::parse::Role`]) are
//! replaced by their objects; every other document passes through.
//!
//! Both modes pick documents out of a larger input, compile them together
//! (so cross-checks and name collisions span the whole input) and then sort
//! the generated objects back to the document each came from, by the
//! `kopiaplan.dev/source` annotation every generated object carries.

pub mod bare;
mod error;
mod item_text;
pub mod krm;
pub mod post_render;

use std::collections::BTreeMap;

pub use error::IntegrationError;

use crate::diagnostics::{Diagnostic, Diagnostics, FileId, SourceMap};
use crate::emit::labels;
use crate::load::{Document, Node, Value};
use crate::output::Object;

/// The name diagnostics give to standard input.
pub const STDIN: &str = crate::load::STDIN;

/// Helm 4 names the template each document came from in this annotation, and
/// files the post-renderer's output by it.
pub const HELM_FILENAME: &str = "postrenderer.helm.sh/postrender-filename";

/// Annotations orchestrators put on documents for their own bookkeeping.
/// They are taken off a plan before it is compiled, so that the generated
/// objects (and their pod templates) do not inherit them; each mode then
/// puts back, on the generated objects only, the ones that belong there.
const BOOKKEEPING_PREFIXES: [&str; 4] = [
    "internal.config.kubernetes.io/",
    "config.k8s.io/",
    "kustomize.config.k8s.io/",
    "postrenderer.helm.sh/",
];
const BOOKKEEPING_KEYS: [&str; 4] = [
    "config.kubernetes.io/path",
    "config.kubernetes.io/index",
    "config.kubernetes.io/local-config",
    "config.kubernetes.io/function",
];

fn is_bookkeeping(key: &str) -> bool {
    BOOKKEEPING_KEYS.contains(&key) || BOOKKEEPING_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Removes the bookkeeping annotations from a document's
/// `metadata.annotations` and returns them.
fn take_bookkeeping(root: &mut Node) -> BTreeMap<String, String> {
    let mut taken = BTreeMap::new();
    let Some(annotations) = mapping_entry_mut(root, "metadata")
        .and_then(|metadata| mapping_entry_mut(metadata, "annotations"))
    else {
        return taken;
    };
    if let Value::Mapping(entries) = &mut annotations.value {
        entries.retain(|(key, value)| match key.as_str() {
            Some(key) if is_bookkeeping(key) => {
                taken.insert(key.to_owned(), value.scalar_text().unwrap_or_default());
                false
            }
            _ => true,
        });
    }
    taken
}

fn mapping_entry_mut<'a>(node: &'a mut Node, key: &str) -> Option<&'a mut Node> {
    match &mut node.value {
        Value::Mapping(entries) => entries
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, value)| value),
        _ => None,
    }
}

/// A document whose generated objects are collected, and how they name it.
#[derive(Debug, Clone)]
struct Owner {
    file: FileId,
    /// The lines of `file` that belong to the document: from `first_line` up
    /// to (not including) `end_line`.
    first_line: u32,
    end_line: u32,
    /// The name the `kopiaplan.dev/source` annotation gives the document;
    /// `None` keeps the input's name and line.
    name: Option<String>,
    /// The input line that is line 1 of the document named `name`; `None`
    /// when the orchestrator reformatted the document (kpt, kustomize, Helm
    /// 4), so that no line of the input is a line of the user's file: the
    /// annotation then names the file only.
    line_base: Option<u32>,
}

/// Compiles the documents picked out of an input, then hands each owner the
/// generated objects compiled from it (in output order). Input objects
/// passed through (context documents) are left out: the caller has them.
/// With `input_written_by_caller`, they are not even built, and the caller
/// checks their names against the generated objects'.
fn compile_owned(
    sources: &SourceMap,
    documents: &[Document],
    diagnostics: Diagnostics,
    owners: &[Owner],
    infer: bool,
    input_written_by_caller: bool,
) -> Result<(Vec<Vec<Object>>, Diagnostics), Diagnostics> {
    let options = crate::volsync::Options {
        no_infer: !infer,
        input_written_by_caller,
        ..Default::default()
    };
    // Every object is edited before it is written (its source annotation,
    // the caller's annotations): written as JSON, it reads back fast.
    let compiled = crate::output::written_as_json(|| {
        crate::compile_documents_with(sources, documents, diagnostics, &options)
    })?;
    let mut owned: Vec<Vec<Object>> = vec![Vec::new(); owners.len()];
    for mut object in compiled.objects.into_iter().filter(|o| o.generated) {
        let owner = source_of(&object)
            .and_then(|(name, line)| {
                owners.iter().position(|owner| {
                    sources.file(owner.file).name == name
                        && (owner.first_line..owner.end_line).contains(&line)
                })
            })
            .map(|index| (index, &owners[index]));
        let Some((index, owner)) = owner else {
            return Err(Diagnostics::from(Diagnostic::new(
                &IntegrationError::MissingSourceAnnotation {
                    kind: object.kind.clone(),
                    name: object.name.clone(),
                    annotation: labels::SOURCE.to_owned(),
                },
            )));
        };
        if let Some(name) = &owner.name
            && let Some((_, line)) = source_of(&object)
        {
            let source = match owner.line_base {
                Some(base) => format!("{name}:{}", line.saturating_sub(base) + 1),
                None => name.clone(),
            };
            object.rename_source(&source);
        }
        owned[index].push(object);
    }
    Ok((owned, compiled.diagnostics))
}

/// The input name and line in an object's `kopiaplan.dev/source` annotation.
fn source_of(object: &Object) -> Option<(String, u32)> {
    let (name, line) = object.source()?.rsplit_once(':')?;
    Some((name.to_owned(), line.parse().ok()?))
}

/// Sets annotations on an object's own metadata.
fn annotate(object: &mut Object, annotations: &BTreeMap<String, String>) {
    if !annotations.is_empty() {
        object.annotate(annotations);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookkeeping_annotations_are_taken_off_and_others_stay() {
        let text = "metadata:\n  annotations:\n    config.kubernetes.io/index: '0'\n    \
                    internal.config.kubernetes.io/path: a.yaml\n    team: web\n    \
                    postrenderer.helm.sh/postrender-filename: c/templates/p.yaml\n    \
                    config.kubernetes.io/depends-on: x\n";
        let mut root: Node = serde_saphyr::from_str(text).expect("yaml");
        let taken = take_bookkeeping(&mut root);
        assert_eq!(
            taken.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "config.kubernetes.io/index",
                "internal.config.kubernetes.io/path",
                "postrenderer.helm.sh/postrender-filename"
            ]
        );
        let left = root.to_json();
        assert_eq!(
            left["metadata"]["annotations"],
            serde_json::json!({"team": "web", "config.kubernetes.io/depends-on": "x"})
        );
    }
}
