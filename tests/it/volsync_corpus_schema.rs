//! The VolSync compatibility corpus against kopiaplan's schema check.
//!
//! `tests/fixtures/volsync/examples/` holds the 126 ReplicationSource and
//! ReplicationDestination examples of the seed version's Kopia docs, with
//! `INDEX.json` (copied from the project's reference material), whose
//! `validation` says how each fares against the seed CRD (jsonschema Draft 7
//! with Kubernetes-style pruning). kopiaplan must agree: an example the CRD
//! accepts gets no error (unknown fields are warnings, as the API server
//! prunes them), one it rejects gets at least one error at the same field,
//! and the unknown fields are the same — except those the overlay
//! (`src/volsync/crds/extensions.json`) adds, which kopiaplan knows.

use std::collections::BTreeSet;
use std::path::PathBuf;

use kopiaplan::diagnostics::{Severity, SourceMap};
use kopiaplan::load::display_path;
use kopiaplan::schema::{self, Problem};
use kopiaplan::volsync::crd::{self, CrdKind};
use serde_json::Value;

/// Fields the seed CRD lacks but kopiaplan's overlay adds: INDEX.json reports
/// them as unknown (pruned), kopiaplan validates them.
const OVERLAY_FIELDS: [&str; 5] = [
    "spec.kopia.additionalArgs",
    "spec.kopia.moverVolumes",
    "spec.kopia.metadataCacheSizeLimitMB",
    "spec.kopia.contentCacheSizeLimitMB",
    "spec.kopia.retain.latest",
];

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/volsync/examples")
}

fn index() -> Vec<Value> {
    let text = std::fs::read_to_string(examples_dir().join("INDEX.json")).expect("INDEX.json");
    let index: Value = serde_json::from_str(&text).expect("INDEX.json is JSON");
    index.as_array().expect("a list").clone()
}

/// What the check found in one example: (severity, field path, problem).
fn findings_of(file: &str) -> Vec<(Severity, String, Problem)> {
    let text = std::fs::read_to_string(examples_dir().join(file)).expect("example");
    let mut sources = SourceMap::default();
    sources.add(file.to_owned(), text);
    let (documents, load_diagnostics) = kopiaplan::load::parse(&sources);
    assert!(!documents.is_empty(), "{file}: no YAML document");
    // Every example is YAML the loader takes as it is (no YAML 1.1
    // ambiguity, no duplicate key), so what follows is the schema's verdict.
    assert!(load_diagnostics.is_empty(), "{file}: {load_diagnostics:?}");
    let mut found = Vec::new();
    for document in &documents {
        let api_version = document.root.get("apiVersion").and_then(|n| n.as_str());
        let kind = document.root.get("kind").and_then(|n| n.as_str());
        let Some(kind) = kind.and_then(CrdKind::from_name) else {
            continue;
        };
        assert_eq!(api_version, Some(crd::API_VERSION), "{file}");
        for finding in crd::check(kind, &document.root) {
            found.push((
                finding.problem.severity(),
                display_path(&finding.path),
                finding.problem,
            ));
        }
    }
    found
}

#[test]
fn the_corpus_is_complete() {
    let listed: BTreeSet<String> = index()
        .iter()
        .map(|entry| entry["file"].as_str().expect("file").to_owned())
        .collect();
    let present: BTreeSet<String> = std::fs::read_dir(examples_dir())
        .expect("examples")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".yaml"))
        .collect();
    assert_eq!(listed, present);
    assert_eq!(present.len(), 126);
}

#[test]
fn the_schema_check_agrees_with_the_seed_crd_on_every_example() {
    let mut disagreements = Vec::new();
    let mut table = Vec::new();
    let (mut accepted, mut rejected) = (0, 0);
    for entry in index() {
        let file = entry["file"].as_str().expect("file");
        let validation = &entry["validation"];
        let validates = validation["validates"].as_bool().expect("validates");
        let found = findings_of(file);
        let errors: Vec<&(Severity, String, Problem)> = found
            .iter()
            .filter(|(severity, _, _)| *severity == Severity::Error)
            .collect();
        for (severity, path, problem) in &found {
            let (message, _) = schema::describe(problem);
            table.push(format!("{file:<45} {severity:?} {path}: {message}"));
        }
        if validates {
            accepted += 1;
            if !errors.is_empty() {
                disagreements.push(format!("{file}: the CRD accepts it, kopiaplan: {errors:?}"));
            }
        } else {
            rejected += 1;
            let first = validation["first_error"]["path"].as_str().unwrap_or("");
            if !errors.iter().any(|(_, path, _)| path == first) {
                disagreements.push(format!(
                    "{file}: the CRD rejects `{first}`, kopiaplan: {errors:?}"
                ));
            }
        }
        let expected_unknown: BTreeSet<String> = validation["unknown_fields"]
            .as_array()
            .expect("unknown_fields")
            .iter()
            .map(|field| field["path"].as_str().expect("path").to_owned())
            .filter(|path| !OVERLAY_FIELDS.contains(&path.as_str()))
            .collect();
        let unknown: BTreeSet<String> = found
            .iter()
            .filter(|(_, _, problem)| matches!(problem, Problem::UnknownField { .. }))
            .map(|(_, path, _)| path.clone())
            .collect();
        if unknown != expected_unknown {
            disagreements.push(format!(
                "{file}: unknown fields {unknown:?}, INDEX.json {expected_unknown:?}"
            ));
        }
    }
    println!("{accepted} examples the seed CRD accepts, {rejected} it rejects; findings:");
    for line in &table {
        println!("  {line}");
    }
    assert_eq!((accepted, rejected), (125, 1));
    assert!(
        disagreements.is_empty(),
        "kopiaplan and the seed CRD disagree:\n{}",
        disagreements.join("\n")
    );
}
