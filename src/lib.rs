//! kopiaplan compiles Kopia backup plans into plain Kubernetes manifests.
//!
//! The pipeline, one module per stage:
//! `load` (bytes → YAML documents with positions) → `parse` (documents →
//! input types) → `resolve` (input → fully resolved `model`) → `emit`
//! (model → Kubernetes objects) → `output` (objects → YAML). `explain`
//! reads the model for people.

// No panic reachable from input (issue 17): code outside tests neither
// unwraps nor expects; what can fail returns a diagnostic. The few panics
// left guard data built into the binary, each with a unit test.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod diagnostics;
pub mod emit;
pub mod explain;
pub mod integrations;
pub mod kopia;
pub mod load;
pub mod model;
pub mod monitoring;
pub mod output;
pub mod parse;
pub mod plan;
pub mod resolve;
pub mod schema;
pub mod scripts;
pub mod status;
pub mod volsync;

use std::path::PathBuf;

use diagnostics::{Diagnostic, Diagnostics, SourceMap};

/// What a compile run produced: the ordered objects and the warnings, or
/// (in `Err`) every diagnostic when there was any error.
#[derive(Debug)]
pub struct Compiled {
    pub objects: Vec<output::Object>,
    pub model: model::Model,
    /// The inputs as parsed, VolSync objects lowered into plans.
    pub inputs: parse::Inputs,
    pub diagnostics: Diagnostics,
}

/// Runs the whole pipeline on input paths (files, directories, `-`).
pub fn compile_paths(inputs: &[PathBuf]) -> (SourceMap, Result<Compiled, Diagnostics>) {
    compile_paths_with(inputs, &volsync::Options::default())
}

/// [`compile_paths`] with choices for VolSync input.
pub fn compile_paths_with(
    inputs: &[PathBuf],
    options: &volsync::Options,
) -> (SourceMap, Result<Compiled, Diagnostics>) {
    compile_paths_in_context(inputs, &[], options)
}

/// [`compile_paths_with`] and cluster context files (`--context`): their
/// objects answer what VolSync looked up in the cluster, and are never
/// written to the output.
pub fn compile_paths_in_context(
    inputs: &[PathBuf],
    context: &[PathBuf],
    options: &volsync::Options,
) -> (SourceMap, Result<Compiled, Diagnostics>) {
    match load::read_inputs_with_context(inputs, context) {
        Ok(sources) => {
            let (documents, mut diagnostics) = load::parse(&sources);
            list_items_not_compiled(&sources, &documents, &mut diagnostics);
            let result = compile_documents_with(&sources, &documents, diagnostics, options);
            (sources, result)
        }
        Err((sources, diagnostics)) => (sources, Err(diagnostics)),
    }
}

/// Runs the pipeline on sources already in memory.
pub fn compile_sources(sources: &SourceMap) -> Result<Compiled, Diagnostics> {
    let (documents, mut diagnostics) = load::parse(sources);
    list_items_not_compiled(sources, &documents, &mut diagnostics);
    compile_documents(sources, &documents, diagnostics)
}

/// Reads the inputs (BackupPlans and VolSync objects alike) into the plans
/// to resolve: VolSync objects are lowered into plans here.
pub fn read_plans(
    documents: &[load::Document],
    options: &volsync::Options,
) -> (parse::Inputs, Diagnostics) {
    let (mut inputs, mut diagnostics) = parse::parse(documents, options);
    let lowered = volsync::lower(
        documents,
        &inputs.volsync,
        &inputs.cluster_sources,
        &inputs.context,
        options,
    );
    diagnostics.extend(lowered.diagnostics);
    inputs.plans.extend(lowered.plans);
    (inputs, diagnostics)
}

/// Runs the pipeline on documents already loaded, with the diagnostics
/// loading them gave. The post-renderer and the KRM function pick the
/// documents they compile out of a larger stream and start here.
pub fn compile_documents(
    sources: &SourceMap,
    documents: &[load::Document],
    diagnostics: Diagnostics,
) -> Result<Compiled, Diagnostics> {
    compile_documents_with(
        sources,
        documents,
        diagnostics,
        &volsync::Options::default(),
    )
}

/// [`compile_documents`] with choices for VolSync input.
pub fn compile_documents_with(
    sources: &SourceMap,
    documents: &[load::Document],
    mut diagnostics: Diagnostics,
    options: &volsync::Options,
) -> Result<Compiled, Diagnostics> {
    let (inputs, parse_diagnostics) = read_plans(documents, options);
    diagnostics.extend(parse_diagnostics);
    for doc in &inputs.others {
        let document = &documents[doc.0];
        let kind = document
            .root
            .get("kind")
            .and_then(|k| k.as_str())
            .unwrap_or("?");
        diagnostics.push(
            Diagnostic::new(&plan::error::ParseError::NotCompiled { kind: kind.to_owned() })
                .at(Some(load::span_of_node(document.file, &document.root)))
                .help("kopiaplan compiles BackupPlans and VolSync objects; Secrets, ConfigMaps, PVCs and Namespaces pass through"),
        );
    }
    let (model, resolve_diagnostics) = resolve::resolve(&inputs, documents, sources);
    diagnostics.extend(resolve_diagnostics);
    if diagnostics.has_errors() {
        return Err(diagnostics.sorted());
    }
    let mut objects = match emit::emit(&model) {
        Ok(objects) => objects,
        Err(emit_diagnostics) => {
            diagnostics.extend(emit_diagnostics);
            return Err(diagnostics.sorted());
        }
    };
    output::sort(&mut objects);
    for pair in objects.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if a.kind == b.kind && a.namespace == b.namespace && a.name == b.name {
            diagnostics.push(
                Diagnostic::new(&emit::error::EmitError::InputNameClash {
                    kind: a.kind.clone(),
                    namespace: a.namespace.clone(),
                    name: a.name.clone(),
                })
                .help(
                    "an input object has the name of a generated one; rename it or the plan entry",
                ),
            );
        }
    }
    if diagnostics.has_errors() {
        return Err(diagnostics.sorted());
    }
    Ok(Compiled {
        objects,
        model,
        inputs,
        diagnostics: diagnostics.sorted(),
    })
}

/// A `kind: List` among the ordinary inputs is cluster context: a warning
/// for each one that holds what kopiaplan would otherwise compile, so that
/// `kubectl get replicationsources -o yaml > rs.yaml; kopiaplan convert
/// rs.yaml` does not silently convert nothing.
/// The command-line paths call it (a ResourceList's `List` item is
/// documented as context, so the KRM function does not).
pub fn list_items_not_compiled(
    sources: &SourceMap,
    documents: &[load::Document],
    diagnostics: &mut Diagnostics,
) {
    let mut per_list: std::collections::BTreeMap<
        (diagnostics::FileId, usize),
        (usize, &load::Document),
    > = std::collections::BTreeMap::new();
    for document in documents {
        if document.cluster
            && !sources.file(document.file).context
            && parse::role_of(&document.root) == parse::Role::Compiled
        {
            per_list
                .entry((document.file, document.index))
                .or_insert((0, document))
                .0 += 1;
        }
    }
    for (count, first) in per_list.into_values() {
        diagnostics.push(
            Diagnostic::new(&plan::error::ParseError::ListItemsNotCompiled { count })
                .at(Some(load::span_of_node(first.file, &first.root)))
                .help("to compile them, give them as separate documents, not in a `kind: List`; to use them as cluster context only, pass the file with `--context`"),
        );
    }
}
