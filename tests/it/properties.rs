//! Properties that hold for every input, checked on generated ones
//! (proptest): the output does not depend on the order of documents and
//! files; `convert` then `compile` equals `compile`; every CronJob schedule
//! is one Kubernetes parses; every generated name is DNS-1123 and within
//! its kind's limit.

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

use kopiaplan::diagnostics::{self, SourceMap};

use crate::fuzz_checks::{is_kubernetes_cron, without_sources};

/// A DNS-1123 label of 1 to `max` characters.
fn label(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z]([a-z0-9-]{{0,{}}}[a-z0-9])?", max - 2))
        .unwrap_or_else(|e| panic!("label regex: {e}"))
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    namespace: Option<String>,
    schedule: Option<String>,
    copy_method: &'static str,
}

#[derive(Debug, Clone)]
struct PlanText {
    name: String,
    namespace: String,
    bucket: usize,
    entries: Vec<Entry>,
}

impl PlanText {
    fn yaml(&self) -> String {
        let mut yaml = format!(
            "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: \"{}\"
  namespace: {}
spec:
  repositories:
    - name: main
      secretName: kopia-s3
      url: s3://bucket-{}/kopia
  defaults:
    repository: main
    retain: {{daily: 7}}
  backups:
",
            self.name, self.namespace, self.bucket
        );
        for entry in &self.entries {
            yaml.push_str(&format!(
                "    - name: \"{}\"\n      pvc: \"{}\"\n      copyMethod: {}\n",
                entry.name, entry.name, entry.copy_method
            ));
            if entry.copy_method != "Direct" {
                yaml.push_str("      capacity: 1Gi\n");
            }
            if let Some(namespace) = &entry.namespace {
                yaml.push_str(&format!("      namespace: {namespace}\n"));
            }
            if let Some(schedule) = &entry.schedule {
                yaml.push_str(&format!("      schedule: \"{schedule}\"\n"));
            }
        }
        yaml
    }
}

/// Schedules as plans write them: `H` forms, ranges, steps, lists, names
/// and macros.
fn schedule() -> impl Strategy<Value = String> {
    let minute = select(vec![
        "H",
        "H/15",
        "H(0-29)",
        "H(10-20)/5",
        "5",
        "*/10",
        "0,30",
        "59",
    ]);
    let hour = select(vec!["H", "2", "H(1-5)", "*", "1-3", "*/6", "23", "H/4"]);
    let day = select(vec!["*", "1", "H(1-28)", "1-15", "*/2", "31"]);
    let month = select(vec!["*", "JAN-MAR", "1,6", "*/3", "dec"]);
    let weekday = select(vec!["*", "1-5", "sun", "H(0-6)", "MON-FRI", "0"]);
    let fields = (minute, hour, day, month, weekday)
        .prop_map(|(m, h, d, mo, w)| format!("{m} {h} {d} {mo} {w}"));
    prop_oneof![
        4 => fields,
        1 => select(vec!["@daily", "@hourly", "@weekly", "@monthly", "H H * * *"]).prop_map(str::to_owned),
    ]
}

fn entry(name_length: usize) -> impl Strategy<Value = Entry> {
    (
        label(name_length),
        proptest::option::of(select(vec!["ns-a", "ns-b", "ns-c"])),
        proptest::option::of(schedule()),
        select(vec!["Direct", "Clone", "Snapshot"]),
    )
        .prop_map(|(name, namespace, schedule, copy_method)| Entry {
            name,
            namespace: namespace.map(str::to_owned),
            schedule,
            copy_method,
        })
}

/// A plan named `name` with up to four entries of distinct names.
fn plan(name: String, name_length: usize) -> impl Strategy<Value = PlanText> {
    (
        select(vec!["ns-a", "ns-b"]),
        0..2usize,
        proptest::collection::vec(entry(name_length), 1..4),
    )
        .prop_map(move |(namespace, bucket, entries)| {
            let mut seen = std::collections::BTreeSet::new();
            let entries = entries
                .into_iter()
                .filter(|entry| seen.insert(entry.name.clone()))
                .collect();
            PlanText {
                name: name.clone(),
                namespace: namespace.to_owned(),
                bucket,
                entries,
            }
        })
}

/// A VolSync ReplicationSource named `name`.
fn replication_source(name: String) -> impl Strategy<Value = String> {
    (
        Just("ns-a"),
        select(vec!["0 0 * * *", "30 2 * * 1-5", "*/30 * * * *"]),
        select(vec!["Direct", "Clone", "Snapshot"]),
        proptest::option::of(1..30i64),
        proptest::option::of(1..12i64),
        proptest::option::of(select(vec!["zstd", "s2-default", "pgzip"])),
        proptest::option::of(1..8i64),
        any::<bool>(),
    )
        .prop_map(
            move |(
                namespace,
                schedule,
                copy_method,
                daily,
                monthly,
                compression,
                parallelism,
                paused,
            )| {
                let mut yaml = format!(
                    "apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata:
  name: \"{name}\"
  namespace: {namespace}
spec:
  sourcePVC: {name}-data
  trigger:
    schedule: \"{schedule}\"
  paused: {paused}
  kopia:
    repository: kopia-config
    copyMethod: {copy_method}
    capacity: 1Gi
"
                );
                if daily.is_some() || monthly.is_some() {
                    yaml.push_str("    retain:\n");
                    if let Some(daily) = daily {
                        yaml.push_str(&format!("      daily: {daily}\n"));
                    }
                    if let Some(monthly) = monthly {
                        yaml.push_str(&format!("      monthly: {monthly}\n"));
                    }
                }
                if let Some(compression) = compression {
                    yaml.push_str(&format!("    compression: {compression}\n"));
                }
                if let Some(parallelism) = parallelism {
                    yaml.push_str(&format!("    parallelism: {parallelism}\n"));
                }
                yaml
            },
        )
}

/// A ReplicationDestination restoring the source `source` once.
fn replication_destination(source: String) -> impl Strategy<Value = String> {
    (proptest::option::of(0..3i64), any::<bool>()).prop_map(move |(previous, delete)| {
        let mut yaml = format!(
            "apiVersion: volsync.backube/v1alpha1
kind: ReplicationDestination
metadata:
  name: {source}-restore
  namespace: ns-a
spec:
  trigger:
    manual: restore-once
  kopia:
    repository: kopia-config
    destinationPVC: {source}-restored
    copyMethod: Direct
    enableFileDeletion: {delete}
    sourceIdentity:
      sourceName: \"{source}\"
      sourceNamespace: ns-a
"
        );
        if let Some(previous) = previous {
            yaml.push_str(&format!("    previous: {previous}\n"));
        }
        yaml
    })
}

/// A set of plans and VolSync objects with distinct names.
fn documents() -> impl Strategy<Value = Vec<String>> {
    let plans = proptest::collection::btree_set(label(12), 1..4).prop_flat_map(|names| {
        names
            .into_iter()
            .map(|name| {
                // Entry names are prefixed with the plan's: two plans may
                // not back up one Kopia source (`<entry>@<namespace>`).
                plan(name, 20).prop_map(|mut plan| {
                    for entry in &mut plan.entries {
                        entry.name = format!("{}-{}", plan.name, entry.name);
                    }
                    plan.yaml()
                })
            })
            .collect::<Vec<_>>()
    });
    let sources = proptest::collection::btree_set(label(12), 0..3).prop_flat_map(|names| {
        names
            .into_iter()
            .map(|name| replication_source(format!("vs-{name}")))
            .collect::<Vec<_>>()
    });
    (plans, sources).prop_map(|(mut plans, sources)| {
        plans.extend(sources);
        plans
    })
}

fn sources_of(files: &[(String, String)]) -> SourceMap {
    let mut sources = SourceMap::default();
    for (name, text) in files {
        sources.add(name.clone(), text.clone());
    }
    sources
}

/// The compiled stream without its `kopiaplan.dev/source` lines, or every
/// diagnostic rendered.
fn compiled_text(files: &[(String, String)]) -> Result<String, String> {
    let sources = sources_of(files);
    match kopiaplan::compile_sources(&sources) {
        Ok(compiled) => {
            let text = kopiaplan::output::to_yaml(&compiled.objects)?;
            Ok(text
                .lines()
                .filter(|line| !line.contains("kopiaplan.dev/source"))
                .map(|line| format!("{line}\n"))
                .collect())
        }
        Err(errors) => Err(errors
            .iter()
            .map(|d| diagnostics::render(d, &sources))
            .collect()),
    }
}

/// The documents spread over up to three files by `placement`, in the
/// order `order` gives.
fn arranged(documents: &[String], order: &[usize], placement: &[usize]) -> Vec<(String, String)> {
    let mut files = vec![String::new(); 3];
    for &index in order {
        let file = &mut files[placement[index] % 3];
        file.push_str("---\n");
        file.push_str(&documents[index]);
    }
    let mut named: Vec<(String, String)> = files
        .into_iter()
        .enumerate()
        .filter(|(_, text)| !text.is_empty())
        .map(|(index, text)| (format!("inputs/file-{index}.yaml"), text))
        .collect();
    // The files are added in the order of the permutation's first document.
    let turn = order.first().copied().unwrap_or(0) % named.len().max(1);
    named.rotate_left(turn);
    named
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn output_does_not_depend_on_the_order_of_documents_and_files(
        (documents, order, placement) in documents().prop_flat_map(|documents| {
            let count = documents.len();
            (
                Just(documents),
                Just((0..count).collect::<Vec<_>>()).prop_shuffle(),
                proptest::collection::vec(0..3usize, count),
            )
        })
    ) {
        let one_file: Vec<(String, String)> = vec![(
            "inputs/all.yaml".to_owned(),
            documents.iter().map(|d| format!("---\n{d}")).collect(),
        )];
        let reference = compiled_text(&one_file);
        prop_assert!(reference.is_ok(), "the generated documents do not compile: {:?}", reference);
        let permuted = compiled_text(&arranged(&documents, &order, &placement));
        prop_assert_eq!(reference, permuted);
    }

    #[test]
    fn convert_then_compile_equals_compile(
        volsync in proptest::collection::btree_set(label(20), 1..4).prop_flat_map(|names| {
            let names: Vec<String> = names.into_iter().collect();
            let first = names[0].clone();
            (
                names.into_iter().map(replication_source).collect::<Vec<_>>(),
                proptest::option::of(replication_destination(first)),
            )
        })
    ) {
        let (sources, destination) = volsync;
        let mut text: String = sources.iter().map(|d| format!("---\n{d}")).collect();
        if let Some(destination) = destination {
            text.push_str("---\n");
            text.push_str(&destination);
        }
        let mut map = SourceMap::default();
        map.add("volsync.yaml".to_owned(), text.clone());
        let direct = kopiaplan::compile_sources(&map);
        prop_assert!(direct.is_ok(), "the VolSync objects do not compile:\n{}", text);
        // The fuzz target's check: convert, compile the conversion, compare.
        crate::fuzz_checks::convert(text.as_bytes());
        let direct = without_sources(&direct.map(|c| c.objects).unwrap_or_default());
        prop_assert!(!direct.is_empty());
    }

    #[test]
    fn every_cronjob_schedule_is_one_kubernetes_parses(
        plan in label(30).prop_flat_map(|name| plan(name, 30))
    ) {
        let mut sources = SourceMap::default();
        sources.add("plan.yaml".to_owned(), plan.yaml());
        let compiled = kopiaplan::compile_sources(&sources);
        prop_assert!(compiled.is_ok(), "does not compile:\n{}", plan.yaml());
        let objects = compiled.map(|c| c.objects).unwrap_or_default();
        let mut cronjobs = 0;
        for object in objects.iter().filter(|o| o.kind == "CronJob") {
            let value = object.value();
            let schedule = value["spec"]["schedule"].as_str().unwrap_or_default();
            prop_assert!(is_kubernetes_cron(schedule), "{} has schedule {:?}", object.name, schedule);
            cronjobs += 1;
        }
        prop_assert!(cronjobs >= plan.entries.len());
    }

    #[test]
    fn every_generated_name_is_dns_1123_and_within_its_limit(
        plan in (label(63), 1..64usize).prop_flat_map(|(name, length)| plan(name, length.max(2)))
    ) {
        let mut sources = SourceMap::default();
        sources.add("plan.yaml".to_owned(), plan.yaml());
        let compiled = kopiaplan::compile_sources(&sources);
        prop_assert!(compiled.is_ok(), "does not compile:\n{}", plan.yaml());
        for object in compiled.map(|c| c.objects).unwrap_or_default() {
            let limit = match object.kind.as_str() {
                "CronJob" => 52,
                "Job" => 63,
                _ => 253,
            };
            prop_assert!(
                is_dns_1123(&object.name, limit, object.kind != "ConfigMap" && object.kind != "Secret"),
                "{} {:?} is not a DNS-1123 name of at most {} characters", object.kind, object.name, limit
            );
            check_nested_names(&object.value(), &object.kind)?;
        }
    }
}

/// A DNS-1123 subdomain (dots allowed unless `label_only`) of at most
/// `limit` characters.
fn is_dns_1123(name: &str, limit: usize, label_only: bool) -> bool {
    let part_ok = |part: &str| {
        !part.is_empty()
            && part.len() <= 63
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !part.starts_with('-')
            && !part.ends_with('-')
    };
    name.len() <= limit
        && if label_only {
            part_ok(name)
        } else {
            name.split('.').all(part_ok)
        }
}

/// Container, volume and referenced names inside an object, and label
/// values: DNS-1123 labels of at most 63 characters (label values: 63).
fn check_nested_names(value: &Value, kind: &str) -> Result<(), TestCaseError> {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("containers" | "initContainers" | "volumes", Value::Array(items)) => {
                        for item in items {
                            let name = item["name"].as_str().unwrap_or_default();
                            prop_assert!(
                                is_dns_1123(name, 63, true),
                                "{kind}: {key} name {name:?} is not a DNS-1123 label"
                            );
                        }
                    }
                    ("labels", Value::Object(labels)) => {
                        for (label, value) in labels {
                            let text = value.as_str().unwrap_or_default();
                            prop_assert!(
                                text.len() <= 63,
                                "{kind}: label {label} value {text:?} is longer than 63"
                            );
                        }
                    }
                    ("serviceAccountName" | "claimName", Value::String(name)) => {
                        prop_assert!(
                            is_dns_1123(name, 253, false),
                            "{kind}: {key} {name:?} is not a DNS-1123 name"
                        );
                    }
                    _ => {}
                }
                check_nested_names(child, kind)?;
            }
        }
        Value::Array(items) => {
            for item in items {
                check_nested_names(item, kind)?;
            }
        }
        _ => {}
    }
    Ok(())
}
