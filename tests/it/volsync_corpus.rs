//! Every Kopia example of VolSync's documentation (vendored from
//! `shared/reference/volsync-examples/`, with the INDEX.json that describes
//! them) compiles, or fails only for a reason its INDEX entry lists among
//! the problems VolSync itself has with it, with a message that says how
//! to fix it. The converted BackupPlan of every example that compiles
//! compiles to the same objects.

use crate::support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use kopiaplan::diagnostics::Severity;
use serde_json::Value;

fn corpus() -> PathBuf {
    support::root().join("tests/fixtures/volsync/examples")
}

fn index() -> Vec<Value> {
    let text = std::fs::read_to_string(corpus().join("INDEX.json")).expect("INDEX.json");
    serde_json::from_str(&text).expect("INDEX.json is JSON")
}

/// kopiaplan's error messages, and the INDEX's words for the same problem.
const KNOWN_REASONS: [(&str, &str); 6] = [
    ("`copyMethod` is not set", "no copyMethod"),
    ("names no Secret", "no spec.kopia.repository"),
    ("names no `sourcePVC`", "no spec.sourcePVC"),
    ("has no `spec.kopia`", "spec.kopia is null"),
    (
        "needs its `capacity` and `accessModes`",
        "RD without destinationPVC needs both capacity and accessModes",
    ),
    ("has no trigger", "RD without trigger restores in a loop"),
];

/// Failures the INDEX cannot list, because they are not VolSync's problems
/// with the example but kopiaplan's: each is a decision of the issue that
/// specifies the VolSync front end. (What VolSync read from the cluster at
/// run time comes from the cluster context, so it is no reason to fail.)
/// Each message says how to fix it (checked below).
const KOPIAPLAN_REASONS: [(&str, &str); 3] = [
    (
        "ReplicationSource has no trigger",
        "RS without trigger: VolSync syncs back to back; issue 5 makes it an error",
    ),
    (
        "(VolSync's documented format)",
        "a key VolSync's docs show and its mover dropped silently: issue 14 makes it an error naming Kopia's equivalent",
    ),
    (
        "the namespace `$",
        "a shell heredoc template (`$TEST_NS`), not YAML anyone applies",
    ),
];

struct Outcome {
    file: String,
    compiled: Result<Vec<Value>, Vec<(String, String)>>,
}

/// What VolSync read from the cluster at run time, as `kubectl get … -o
/// yaml` gives it: the PVCs, ReplicationSources and Namespaces the
/// documentation's examples refer to.
fn cluster() -> PathBuf {
    support::root().join("tests/fixtures/volsync/context/cluster.yaml")
}

/// The codes of the failures that only the cluster can answer.
const NEEDS_THE_CLUSTER: [&str; 2] = ["volsync-source-not-in-input", "unknown-pvc-size"];

fn compile(file: &str) -> Outcome {
    compile_in(file, &[])
}

/// An example compiled as it is, or, when it fails only for what the
/// cluster would answer, with the cluster context.
fn compile_with_cluster(file: &str) -> (Outcome, bool) {
    let (_, result) = kopiaplan::compile_paths(&[corpus().join(file)]);
    let needs_cluster = result.as_ref().is_err_and(|diagnostics| {
        diagnostics
            .iter()
            .any(|d| NEEDS_THE_CLUSTER.contains(&d.code.as_str().as_str()))
    });
    if needs_cluster {
        (compile_in(file, &[cluster()]), true)
    } else {
        (compile(file), false)
    }
}

fn compile_in(file: &str, context: &[PathBuf]) -> Outcome {
    let path = corpus().join(file);
    let (_, result) = kopiaplan::compile_paths_in_context(
        &[path],
        context,
        &kopiaplan::volsync::Options::default(),
    );
    Outcome {
        file: file.to_owned(),
        compiled: match result {
            Ok(compiled) => Ok(compiled
                .objects
                .into_iter()
                .map(kopiaplan::output::Object::into_value)
                .collect()),
            Err(diagnostics) => Err(diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| (d.message.clone(), d.help.clone().unwrap_or_default()))
                .collect()),
        },
    }
}

#[test]
fn every_documented_example_compiles_or_fails_for_a_listed_reason() {
    let entries = index();
    assert_eq!(entries.len(), 126, "the corpus has 126 examples");
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for entry in &entries {
        let file = entry["file"].as_str().expect("file");
        let validation = &entry["validation"];
        let listed: Vec<&str> = validation["semantic_warnings"]
            .as_array()
            .expect("semantic_warnings")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let (outcome, with_cluster) = compile_with_cluster(file);
        let schema_valid = validation["validates"].as_bool().expect("validates");
        match (&outcome.compiled, schema_valid) {
            (Ok(objects), true) if with_cluster => {
                *counts
                    .entry("schema-valid, compiles with the cluster context")
                    .or_default() += 1;
                assert!(!objects.is_empty(), "{file}: no objects");
            }
            (Ok(objects), true) => {
                *counts.entry("schema-valid, compiles").or_default() += 1;
                assert!(!objects.is_empty(), "{file}: no objects");
            }
            (Err(errors), true) => {
                *counts
                    .entry("schema-valid, fails for a listed reason")
                    .or_default() += 1;
                for (message, help) in errors {
                    if help.is_empty() {
                        problems.push(format!("{file}: `{message}` says nothing about a fix"));
                    }
                    if let Some((_, why)) = KOPIAPLAN_REASONS
                        .iter()
                        .find(|(ours, _)| message.contains(ours))
                    {
                        *reasons.entry(format!("kopiaplan: {why}")).or_default() += 1;
                        continue;
                    }
                    match KNOWN_REASONS.iter().find(|(ours, _)| message.contains(ours)) {
                        Some((_, theirs)) if listed.iter().any(|l| l.starts_with(theirs)) => {
                            *reasons.entry((*theirs).to_owned()).or_default() += 1;
                        }
                        _ => problems.push(format!(
                            "{file}: fails with `{message}`, which its INDEX entry does not list ({listed:?})"
                        )),
                    }
                }
            }
            (Ok(_), false) => problems.push(format!(
                "{}: INDEX says it is not schema-valid ({}), but it compiles",
                outcome.file, validation["first_error"]
            )),
            (Err(_), false) => {
                *counts.entry("schema-invalid, rejected").or_default() += 1;
            }
        }
    }
    eprintln!("corpus: {counts:?}");
    eprintln!("failure reasons: {reasons:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Pinned, so a change in what compiles is a decision, not an accident.
    let expected: BTreeMap<&str, usize> = [
        ("schema-valid, compiles", COMPILING),
        (
            "schema-valid, compiles with the cluster context",
            COMPILING_WITH_CLUSTER,
        ),
        ("schema-valid, fails for a listed reason", FAILING),
        ("schema-invalid, rejected", 1),
    ]
    .into();
    assert_eq!(counts, expected);
}

/// How many examples compile as they are.
const COMPILING: usize = 39;

/// How many compile once the cluster context (`--context`) answers what
/// VolSync looked up in the cluster: clone sizes, and the repository of a
/// destination's `sourceIdentity`.
const COMPILING_WITH_CLUSTER: usize = 12;

/// How many schema-valid examples fail, each for a reason its INDEX entry
/// lists or one of kopiaplan's documented decisions, with a fix.
const FAILING: usize = 74;

/// The objects compiled from an example, without the annotation that
/// names the input file and line (a converted plan is another file).
fn comparable(objects: &[Value]) -> Vec<Value> {
    objects
        .iter()
        .map(|object| {
            let mut object = object.clone();
            strip_source(&mut object);
            object
        })
        .collect()
}

fn strip_source(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(annotations)) = map.get_mut("annotations") {
                annotations.remove("kopiaplan.dev/source");
                if annotations.is_empty() {
                    map.remove("annotations");
                }
            }
            map.values_mut().for_each(strip_source);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_source),
        Value::String(text) if text.contains("kopiaplan.dev/source") => {
            // Launcher manifests embed whole objects as text.
            *text = text
                .lines()
                .filter(|line| !line.contains("kopiaplan.dev/source"))
                .collect::<Vec<_>>()
                .join("\n");
        }
        _ => {}
    }
}

#[test]
fn converting_an_example_and_compiling_the_plan_gives_the_same_objects() {
    let mut converted_count = 0;
    let cluster = cluster();
    for entry in index() {
        let file = entry["file"].as_str().expect("file");
        let (outcome, with_cluster) = compile_with_cluster(file);
        let Ok(original) = outcome.compiled else {
            continue;
        };
        let path = corpus().join(file);
        let mut args = vec!["convert", path.to_str().expect("path")];
        if with_cluster {
            args.extend(["--context", cluster.to_str().expect("path")]);
        }
        let output = support::kopiaplan(&args);
        assert!(
            output.status.success(),
            "{file}: convert failed: {}",
            support::stderr(&output)
        );
        let plan = support::stdout(&output);
        assert!(plan.contains("kind: BackupPlan"), "{file}: {plan}");
        assert!(!plan.contains("volsync.backube"), "{file}: {plan}");
        let converted = support::scratch(&format!("converted-{file}"));
        std::fs::create_dir_all(&converted).expect("scratch");
        let converted = converted.join(file);
        std::fs::write(&converted, &plan).expect("write the converted plan");
        let context = if with_cluster {
            vec![cluster.clone()]
        } else {
            Vec::new()
        };
        let (_, result) = kopiaplan::compile_paths_in_context(
            &[converted],
            &context,
            &kopiaplan::volsync::Options::default(),
        );
        let recompiled = result.unwrap_or_else(|d| {
            panic!("{file}: the converted plan does not compile: {d:?}\n{plan}")
        });
        let recompiled: Vec<Value> = recompiled
            .objects
            .into_iter()
            .map(kopiaplan::output::Object::into_value)
            .collect();
        assert_eq!(
            comparable(&original),
            comparable(&recompiled),
            "{file}: the converted plan compiles to other objects\n{plan}"
        );
        converted_count += 1;
    }
    assert_eq!(converted_count, COMPILING + COMPILING_WITH_CLUSTER);
}
