//! Reading a previous output back: a multi-document YAML file as `compile`
//! writes it, a JSON `List` (`--format json`), or a directory written by
//! `--output-dir` (YAML or JSON files, searched recursively). Kustomization
//! files are skipped. Problems are diagnostics with file and line, like any
//! other input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Object;
use super::error::OutputError;
use crate::diagnostics::{Diagnostic, Diagnostics, SourceMap, Span};
use crate::load;

/// The objects of a previous output, in the order they were found.
pub fn read(path: &Path) -> (SourceMap, Result<Vec<Object>, Diagnostics>) {
    let files = match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_dir() => match files_below(path) {
            Ok(files) => files,
            Err(error) => {
                return (
                    SourceMap::default(),
                    Err(Diagnostic::new(&OutputError::PreviousUnreadable {
                        what: format!("the directory {}", path.display()),
                        reason: error.to_string(),
                    })
                    .into()),
                );
            }
        },
        Ok(_) => vec![path.to_owned()],
        Err(_) if path.as_os_str() == "-" => vec![path.to_owned()],
        Err(error) => {
            return (
                SourceMap::default(),
                Err(Diagnostic::new(&OutputError::PreviousUnreadable {
                    what: format!("the previous output {}", path.display()),
                    reason: error.to_string(),
                })
                .help(format!(
                    "write it first with `kopiaplan compile … --output-dir {}` (or `-o` for one file)",
                    path.display()
                ))
                .into()),
            );
        }
    };
    let sources = match load::read_inputs(&files) {
        Ok(sources) => sources,
        Err((sources, diagnostics)) => return (sources, Err(diagnostics)),
    };
    let result = objects(&sources);
    (sources, result)
}

fn objects(sources: &SourceMap) -> Result<Vec<Object>, Diagnostics> {
    let (documents, mut diagnostics) = load::parse(sources);
    let mut objects = Vec::new();
    let mut seen: BTreeMap<(String, String, String), Span> = BTreeMap::new();
    for document in &documents {
        let span = load::span_of_node(document.file, &document.root);
        let value = document.root.to_json();
        let items = match value.get("kind").and_then(Value::as_str) {
            Some("List") => match value.get("items") {
                Some(Value::Array(items)) => items.clone(),
                _ => {
                    diagnostics.push(
                        Diagnostic::new(&OutputError::ListWithoutItems)
                            .at(Some(span))
                            .help("write the objects under `items:`"),
                    );
                    continue;
                }
            },
            Some("Kustomization") => continue,
            _ => vec![value],
        };
        for item in items {
            let object = Object::passthrough(item);
            if object.kind.is_empty() || object.name.is_empty() {
                diagnostics.push(
                    Diagnostic::new(&OutputError::ObjectWithoutName)
                        .at(Some(span))
                        .help("compare against a file or directory written by `kopiaplan compile`"),
                );
                continue;
            }
            let key = (
                object.kind.clone(),
                object.namespace.clone(),
                object.name.clone(),
            );
            if let Some(first) = seen.get(&key) {
                let first = sources.file(first.file).name.clone() + ":" + &first.line.to_string();
                diagnostics.push(
                    Diagnostic::new(&OutputError::DuplicateObject {
                        kind: object.kind.clone(),
                        namespace: object.namespace.clone(),
                        name: object.name.clone(),
                        first,
                    })
                    .at(Some(span))
                    .help("remove one of them: each object must be written once"),
                );
                continue;
            }
            seen.insert(key, span);
            objects.push(object);
        }
    }
    if diagnostics.has_errors() {
        Err(diagnostics.sorted())
    } else {
        Ok(objects)
    }
}

/// YAML and JSON files below `dir`, recursively, in sorted order.
fn files_below(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            found.extend(files_below(&path)?);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        ) {
            found.push(path);
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str) -> Result<Vec<Object>, Diagnostics> {
        let mut sources = SourceMap::default();
        sources.add("golden.yaml".into(), text.into());
        objects(&sources)
    }

    #[test]
    fn reads_documents_lists_and_skips_kustomizations() {
        let text = "\
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: apps}
---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [a.yaml]
---
{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [
  {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"apps\"}}]}
";
        let objects = read_text(text).expect("objects");
        let keys: Vec<_> = objects
            .iter()
            .map(|o| format!("{}/{}/{}", o.namespace, o.kind, o.name))
            .collect();
        assert_eq!(keys, ["apps/ConfigMap/a", "/Namespace/apps"]);
    }

    #[test]
    fn reports_duplicates_and_nameless_documents_with_their_line() {
        let text = "\
kind: ConfigMap
metadata: {name: a}
---
kind: ConfigMap
metadata: {name: a}
---
kind: ConfigMap
";
        let diagnostics = read_text(text).expect_err("errors");
        let found: Vec<(u32, &str)> = diagnostics
            .iter()
            .map(|d| (d.span.map_or(0, |s| s.line), d.message.as_str()))
            .collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].0, 4);
        assert!(
            found[0]
                .1
                .contains("appears twice (first at golden.yaml:1)")
        );
        assert_eq!(found[1].0, 7);
        assert!(found[1].1.contains("without `kind` or `metadata.name`"));
    }
}
