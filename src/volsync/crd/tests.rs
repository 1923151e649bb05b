//! The VolSync CRD schemas, checked by the structural checker: what
//! VolSync's API server accepts and rejects.

use super::*;
use crate::diagnostics::{Severity, SourceMap};
use crate::load::display_path;
use crate::schema::{Problem, describe, pattern_help};

fn parse(text: &str) -> Node {
    let mut sources = SourceMap::default();
    sources.add("t.yaml".into(), text.into());
    let (mut documents, diagnostics) = crate::load::parse(&sources);
    assert!(!diagnostics.has_errors(), "{diagnostics:?}");
    documents.remove(0).root
}

fn problems(kind: CrdKind, text: &str) -> Vec<(String, Problem)> {
    let root = parse(text);
    check(kind, &root)
        .into_iter()
        .map(|f| (display_path(&f.path), f.problem))
        .collect()
}

fn source(kopia: &str) -> String {
    format!(
        "apiVersion: volsync.backube/v1alpha1\nkind: ReplicationSource\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  sourcePVC: web-data\n  trigger:\n    schedule: \"0 2 * * *\"\n  kopia:\n    repository: kopia-config\n    copyMethod: Clone\n{kopia}"
    )
}

fn destination(kopia: &str) -> String {
    format!(
        "apiVersion: volsync.backube/v1alpha1\nkind: ReplicationDestination\nmetadata:\n  name: web\nspec:\n  trigger:\n    manual: once\n  kopia:\n    repository: kopia-config\n    destinationPVC: web-data\n    copyMethod: Direct\n{kopia}"
    )
}

fn maintenance(spec: &str) -> String {
    format!(
        "apiVersion: volsync.backube/v1alpha1\nkind: KopiaMaintenance\nmetadata:\n  name: nightly\n  namespace: apps\nspec:\n{spec}"
    )
}

#[test]
fn embedded_schemas_load() {
    load_schemas().expect("the embedded schemas compile");
}

#[test]
fn a_complete_source_destination_and_maintenance_pass() {
    let kopia = "    retain: {daily: 7, latest: 3}\n    cacheCapacity: 2Gi\n    moverResources:\n      limits: {memory: 1Gi, cpu: 2}\n    additionalArgs: [\"--tags=a:b\"]\n    metadataCacheSizeLimitMB: 500\n";
    assert_eq!(problems(CrdKind::ReplicationSource, &source(kopia)), vec![]);
    let kopia = "    restoreAsOf: \"2025-11-20T00:00:00+01:00\"\n    previous: 1\n    moverVolumes:\n      - mountPath: repo\n        volumeSource:\n          persistentVolumeClaim: {claimName: backups}\n";
    assert_eq!(
        problems(CrdKind::ReplicationDestination, &destination(kopia)),
        vec![]
    );
    let spec = "  repository:\n    repository: kopia-config\n    customCA: {configMapName: ca, key: ca.crt}\n  trigger: {schedule: \"0 3 * * 0\"}\n  activeDeadlineSeconds: 3600\n  resources: {requests: {memory: 256Mi}}\n  containerSecurityContext:\n    capabilities: {drop: [ALL]}\n    seccompProfile: {type: RuntimeDefault}\n  tolerations: [{key: k, operator: Exists}]\n";
    assert_eq!(
        problems(CrdKind::KopiaMaintenance, &maintenance(spec)),
        vec![]
    );
}

#[test]
fn unknown_fields_are_warnings_with_a_suggestion() {
    let root = parse(&source("    retian: {daily: 7}\n"));
    let findings = check(CrdKind::ReplicationSource, &root);
    assert_eq!(findings.len(), 1, "{findings:?}");
    let finding = &findings[0];
    assert_eq!(display_path(&finding.path), "spec.kopia.retian");
    // The key is pointed at, not its value.
    assert_eq!(finding.node.as_str(), Some("retian"));
    assert_eq!(finding.problem.severity(), Severity::Warning);
    let (message, help) = describe(&finding.problem);
    assert_eq!(message, "unknown field `retian`");
    assert!(help.starts_with("did you mean `retain`?"), "{help}");
}

#[test]
fn wrong_types_are_errors_and_plain_scalars_are_typed() {
    let found = problems(
        CrdKind::ReplicationSource,
        &source(
            "    parallelism: \"4\"\n    compression: 5\n    accessModes: ReadWriteOnce\n    moverPodLabels: {tier: 1}\n",
        ),
    );
    let expected = |path: &str, what: &str| {
        (
            path.to_owned(),
            Problem::WrongType {
                expected: what.into(),
            },
        )
    };
    assert_eq!(
        found,
        vec![
            expected("spec.kopia.parallelism", "an integer"),
            expected("spec.kopia.compression", "a string"),
            expected("spec.kopia.accessModes", "a list"),
            expected("spec.kopia.moverPodLabels.tier", "a string"),
        ]
    );
    assert_eq!(found[0].1.severity(), Severity::Error);
    // A plain `true` is a boolean; quoted it is text.
    assert_eq!(
        problems(
            CrdKind::ReplicationDestination,
            &destination("    enableFileDeletion: \"true\"\n")
        ),
        vec![expected("spec.kopia.enableFileDeletion", "a boolean")]
    );
    assert_eq!(
        problems(
            CrdKind::ReplicationDestination,
            &destination("    enableFileDeletion: true\n")
        ),
        vec![]
    );
}

#[test]
fn copy_method_must_be_one_of_the_enum() {
    let root = parse(&source("").replace("copyMethod: Clone", "copyMethod: clone"));
    let findings = check(CrdKind::ReplicationSource, &root);
    assert_eq!(findings.len(), 1);
    assert_eq!(display_path(&findings[0].path), "spec.kopia.copyMethod");
    assert_eq!(findings[0].node.as_str(), Some("clone"));
    assert_eq!(
        findings[0].problem,
        Problem::NotInEnum {
            allowed: vec![
                "Direct".into(),
                "None".into(),
                "Clone".into(),
                "Snapshot".into()
            ]
        }
    );
}

#[test]
fn the_seed_cron_pattern_is_as_loose_as_volsyncs() {
    let check_schedule = |schedule: &str| {
        let text = source("").replace("\"0 2 * * *\"", &format!("\"{schedule}\""));
        problems(CrdKind::ReplicationSource, &text)
    };
    for accepted in [
        "0 2 * * *",
        "*/30 * * * *",
        "0,30 1-5 * * *",
        "@daily",
        "@hourly",
        // What Go's RE2 accepts too, because `^` and `$` bind to one
        // alternative each (see api-surface.md).
        "@dailyGARBAGE",
        "foo 0 2 * * *",
        "0 0 2 * * *",
    ] {
        assert_eq!(check_schedule(accepted), vec![], "{accepted}");
    }
    for rejected in [
        "foo",
        "0 2 * * MON",
        "@every 1h",
        "0 2 ? * *",
        "0 2 * *",
        "0 ٢ * * *",
    ] {
        let found = check_schedule(rejected);
        assert_eq!(found.len(), 1, "{rejected}: {found:?}");
        assert_eq!(found[0].0, "spec.trigger.schedule");
        let Problem::PatternMismatch { pattern } = &found[0].1 else {
            panic!("{rejected}: {found:?}");
        };
        let (_, help) = describe(&found[0].1);
        assert!(help.contains("5 numeric fields"), "{pattern}: {help}");
    }
}

#[test]
fn quantities_are_int_or_string_with_a_pattern() {
    assert_eq!(
        problems(
            CrdKind::ReplicationSource,
            &source("    cacheCapacity: 1073741824\n    capacity: 10Gi\n")
        ),
        vec![]
    );
    let found = problems(
        CrdKind::ReplicationSource,
        &source("    cacheCapacity: 10GB\n    capacity: [1]\n"),
    );
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(matches!(found[0].1, Problem::PatternMismatch { .. }));
    assert_eq!(
        found[1].1,
        Problem::WrongType {
            expected: "an integer or a string".into()
        }
    );
    assert!(describe(&found[0].1).1.contains("10Gi"));
}

#[test]
fn additional_args_take_at_most_20_items() {
    let args = |n: usize| {
        let list: Vec<String> = (0..n).map(|i| format!("\"--tags=n:{i}\"")).collect();
        format!("    additionalArgs: [{}]\n", list.join(", "))
    };
    assert_eq!(
        problems(CrdKind::ReplicationSource, &source(&args(20))),
        vec![]
    );
    assert_eq!(
        problems(CrdKind::ReplicationSource, &source(&args(21))),
        vec![(
            "spec.kopia.additionalArgs".into(),
            Problem::TooManyItems { max: 20 }
        )]
    );
    assert_eq!(
        problems(CrdKind::ReplicationDestination, &destination(&args(21))),
        vec![(
            "spec.kopia.additionalArgs".into(),
            Problem::TooManyItems { max: 20 }
        )]
    );
}

#[test]
fn mover_volumes_need_a_mount_path_and_a_volume_source() {
    let root = parse(&source(
        "    moverVolumes:\n      - volumeSource:\n          nfs: {server: nas}\n      - mountPath: repo\n",
    ));
    let findings = check(CrdKind::ReplicationSource, &root);
    let found: Vec<(String, Problem)> = findings
        .iter()
        .map(|f| (display_path(&f.path), f.problem.clone()))
        .collect();
    let missing = |path: &str, field: &str| {
        (
            path.to_owned(),
            Problem::MissingRequired {
                field: field.into(),
            },
        )
    };
    assert_eq!(
        found,
        vec![
            missing("spec.kopia.moverVolumes[0].volumeSource.nfs.path", "path"),
            missing("spec.kopia.moverVolumes[0].mountPath", "mountPath"),
            missing("spec.kopia.moverVolumes[1].volumeSource", "volumeSource"),
        ]
    );
    // A missing field is pointed at by the mapping that lacks it.
    assert_eq!(
        findings[2].node.get("mountPath").and_then(Node::as_str),
        Some("repo")
    );
}

#[test]
fn kopia_maintenance_requires_its_repository() {
    assert_eq!(
        problems(CrdKind::KopiaMaintenance, &maintenance("  enabled: true\n")),
        vec![(
            "spec.repository".into(),
            Problem::MissingRequired {
                field: "repository".into()
            }
        )]
    );
    assert_eq!(
        problems(
            CrdKind::KopiaMaintenance,
            &maintenance("  repository:\n    customCA: {secretName: ca, key: ca.crt}\n")
        ),
        vec![(
            "spec.repository.repository".into(),
            Problem::MissingRequired {
                field: "repository".into()
            }
        )]
    );
    let found = problems(
        CrdKind::KopiaMaintenance,
        &maintenance(
            "  repository: {repository: \"\"}\n  activeDeadlineSeconds: 60\n  failedJobsHistoryLimit: -1\n  schedule: weekly\n",
        ),
    );
    let kinds: Vec<&Problem> = found.iter().map(|(_, p)| p).collect();
    assert_eq!(
        kinds,
        vec![
            &Problem::TooShort { min_length: 1 },
            &Problem::BelowMinimum { min: 600.0 },
            &Problem::BelowMinimum { min: 0.0 },
            &Problem::PatternMismatch {
                pattern: r"^(@(annually|yearly|monthly|weekly|daily|hourly))|((((\d+,)*\d+|(\d+(\/|-)\d+)|\*(\/\d+)?)\s?){5})$".into()
            },
        ],
        "{found:?}"
    );
    assert_eq!(
        describe(kinds[1]).0,
        "the value is below the minimum of 600"
    );
}

#[test]
fn status_is_ignored_and_metadata_checked_loosely() {
    let text = format!(
        "{}status:\n  lastSyncTime: not-a-time\n  anything: [1, 2]\n",
        source("")
    );
    assert_eq!(problems(CrdKind::ReplicationSource, &text), vec![]);
    let text = source("").replace(
        "  name: web\n",
        "  name: web\n  uid: 1234-5678\n  labels: {app: web, tier: 3}\n",
    );
    assert_eq!(
        problems(CrdKind::ReplicationSource, &text),
        vec![(
            "metadata.labels.tier".into(),
            Problem::WrongType {
                expected: "a string".into()
            }
        )]
    );
}

#[test]
fn api_version_and_kind_are_fixed() {
    let text = source("").replace("volsync.backube/v1alpha1", "volsync.backube/v1");
    assert_eq!(
        problems(CrdKind::ReplicationSource, &text),
        vec![(
            "apiVersion".into(),
            Problem::NotInEnum {
                allowed: vec![API_VERSION.into()]
            }
        )]
    );
    let found = problems(CrdKind::ReplicationDestination, &source(""));
    assert!(
        found.contains(&(
            "kind".into(),
            Problem::NotInEnum {
                allowed: vec!["ReplicationDestination".into()]
            }
        )),
        "{found:?}"
    );
}

#[test]
fn nulls_are_absent_and_formats_are_checked() {
    // `trigger:` with no value is no trigger, not a type error.
    let text = source("    retain:\n")
        .replace("  trigger:\n    schedule: \"0 2 * * *\"\n", "  trigger:\n");
    assert_eq!(problems(CrdKind::ReplicationSource, &text), vec![]);
    let found = problems(
        CrdKind::ReplicationDestination,
        &destination(
            "    restoreAsOf: \"2025-11-20 00:00:00Z\"\n    previous: 3000000000\n    shallow: 2.0\n",
        ),
    );
    assert_eq!(
        found,
        vec![
            (
                "spec.kopia.restoreAsOf".into(),
                Problem::BadFormat {
                    format: "date-time".into()
                }
            ),
            (
                "spec.kopia.previous".into(),
                Problem::BadFormat {
                    format: "int32".into()
                }
            ),
        ]
    );
    let items = problems(
        CrdKind::ReplicationSource,
        &source("    accessModes: []\n    cacheAccessModes: [~]\n"),
    );
    assert_eq!(
        items,
        vec![
            (
                "spec.kopia.accessModes".into(),
                Problem::TooFewItems { min: 1 }
            ),
            (
                "spec.kopia.cacheAccessModes[0]".into(),
                Problem::WrongType {
                    expected: "a string".into()
                }
            ),
        ]
    );
}

#[test]
fn every_pattern_of_the_schemas_is_explained() {
    fn patterns(json: &Json, found: &mut BTreeSet<String>) {
        match json {
            Json::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("pattern", Json::String(pattern)) => {
                            found.insert(pattern.clone());
                        }
                        _ => patterns(value, found),
                    }
                }
            }
            Json::Array(items) => items.iter().for_each(|item| patterns(item, found)),
            _ => {}
        }
    }
    use std::collections::BTreeSet;
    let mut found = BTreeSet::new();
    // The status has patterns too (conditions), but is never checked.
    for (_, text) in SCHEMA_FILES {
        let json: Json = serde_json::from_str(text).expect("JSON");
        patterns(&json["properties"]["spec"], &mut found);
    }
    assert!(found.len() >= 4, "{found:?}");
    for pattern in found {
        let help = pattern_help(&pattern);
        assert!(!help.contains(&pattern), "no specific help for {pattern}");
    }
}

#[test]
fn every_problem_has_a_message_and_a_help() {
    let all = [
        Problem::UnknownField {
            field: "x".into(),
            known: vec![],
        },
        Problem::WrongType {
            expected: "a list".into(),
        },
        Problem::NotInEnum {
            allowed: vec!["A".into()],
        },
        Problem::PatternMismatch {
            pattern: "^a$".into(),
        },
        Problem::MissingRequired { field: "x".into() },
        Problem::TooManyItems { max: 2 },
        Problem::TooFewItems { min: 1 },
        Problem::BelowMinimum { min: 0.5 },
        Problem::AboveMaximum { max: 9.0 },
        Problem::TooShort { min_length: 3 },
        Problem::TooLong { max_length: 3 },
        Problem::BadFormat {
            format: "int64".into(),
        },
    ];
    for problem in all {
        let (message, help) = describe(&problem);
        assert!(!message.is_empty() && !help.is_empty(), "{problem:?}");
    }
}

/// The vendored CRDs are VolSync's, unchanged: their SHA-256 is that of
/// `reference/volsync-crds/` (perfectra1n/volsync@5d7eefce's CRDs as
/// JSON). The hash works on any clone; where the reference directory
/// exists (the development machine, not CI), the bytes are compared too.
#[test]
fn vendored_crds_are_byte_identical_to_the_reference() {
    use sha2::{Digest, Sha256};
    let expected = [
        (
            REPLICATION_SOURCE_FILE,
            "d61e8ccb71650705f0b329bff312581c7aefe9cbb13a1b4fe8efffe5b01175ff",
        ),
        (
            REPLICATION_DESTINATION_FILE,
            "ed018e999ae1054ae56d24e6ca0e41a12f3cf8b7008071fee65675137aa0072f",
        ),
    ];
    for (name, hash) in expected {
        let (_, text) = SCHEMA_FILES
            .iter()
            .find(|(file, _)| *file == name)
            .expect("embedded");
        let digest: String = Sha256::digest(text.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest, hash, "{name} differs from VolSync's CRD");
        let reference = std::path::Path::new("/work/shared/reference/volsync-crds").join(name);
        if reference.exists() {
            let bytes = std::fs::read(&reference).expect("readable");
            assert_eq!(bytes, text.as_bytes(), "{name}");
        }
    }
}

#[test]
fn the_overlay_only_adds() {
    let extensions: Json = serde_json::from_str(EXTENSIONS).expect("JSON");
    let mut schema: Json = serde_json::from_str(SCHEMA_FILES[0].1).expect("JSON");
    apply_additions(CrdKind::ReplicationSource, &mut schema, &extensions).expect("applies");
    let error = apply_additions(CrdKind::ReplicationSource, &mut schema, &extensions)
        .expect_err("a second application would replace properties");
    assert!(error.contains("would replace"), "{error}");
}
