//! `kopiaplan convert`: VolSync objects → the BackupPlans they lower to,
//! written out. Compiling the result gives the same objects as compiling
//! the VolSync objects (a test checks this over VolSync's documented
//! examples), so a user can move to BackupPlans and keep every identity.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Options;
use super::error::ConvertError;
use crate::diagnostics::{Diagnostic, Diagnostics, SourceMap};
use crate::load::Document;
use crate::parse::{DocId, Provenance};

/// The converted stream, and the warnings converting gave.
pub struct Converted {
    pub yaml: String,
    /// Where the compiled objects differ from VolSync, per object
    /// (`convert --report`).
    pub report: String,
    pub diagnostics: Diagnostics,
}

/// Converts the VolSync objects of `documents` into BackupPlans; every
/// other document is kept (re-serialised, in input order), so the output
/// compiles to what the input compiles to. Fails with every diagnostic
/// when the input does not compile.
pub fn convert(
    sources: &SourceMap,
    documents: &[Document],
    diagnostics: Diagnostics,
    options: &Options,
) -> Result<Converted, Diagnostics> {
    // The input must compile: a converted plan that does not is no help.
    let compiled = crate::compile_documents_with(sources, documents, diagnostics, options)?;
    let inputs = &compiled.inputs;
    let mut yaml = String::new();
    for input in &inputs.plans {
        let Provenance::Lowered { mappings, .. } = &input.provenance else {
            continue;
        };
        let docs: BTreeSet<DocId> = mappings.iter().map(|m| m.doc).collect();
        yaml.push_str("---\n# Converted by `kopiaplan convert` from:\n");
        for object in inputs.volsync.iter().filter(|o| docs.contains(&o.doc)) {
            let document = &documents[object.doc.0];
            yaml.push_str(&format!(
                "#   {} {} ({}:{})\n",
                object.object.kind(),
                object.object.metadata().name,
                sources.file(document.file).relative_name,
                document.root.position.line
            ));
        }
        let mut value = serde_json::to_value(&input.plan).unwrap_or(Value::Null);
        prune(&mut value);
        yaml.push_str(&crate::output::document_yaml(&value).map_err(|e| {
            Diagnostics::from(Diagnostic::new(&ConvertError::WriteFailed {
                what: "the converted plan",
                reason: e.to_string(),
            }))
        })?);
    }
    let lowered: BTreeSet<DocId> = inputs.volsync.iter().map(|o| o.doc).collect();
    for (index, document) in documents.iter().enumerate() {
        // The cluster context is never written.
        if lowered.contains(&DocId(index)) || document.cluster {
            continue;
        }
        yaml.push_str("---\n");
        yaml.push_str(
            &crate::output::document_yaml(&document.root.to_json()).map_err(|e| {
                Diagnostics::from(Diagnostic::new(&ConvertError::WriteFailed {
                    what: "a document",
                    reason: e.to_string(),
                }))
            })?,
        );
    }
    let report = super::report::report(sources, documents, &compiled);
    Ok(Converted {
        yaml,
        report,
        diagnostics: compiled.diagnostics,
    })
}

/// Drops what a plan author would not write: nulls, and empty lists and
/// maps (such fields default to empty). Empty `resources` stay: they mean
/// no requests and no limits, where leaving them out means kopiaplan's
/// defaults (VolSync's `moverResources: {}`).
fn prune(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for child in map.values_mut() {
                prune(child);
            }
            map.retain(|key, child| key == "resources" && child.is_object() || !is_empty(child));
        }
        Value::Array(items) => items.iter_mut().for_each(prune),
        _ => {}
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(map) => map.is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}
