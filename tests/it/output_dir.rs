//! `compile --output-dir`: one file per object in a predictable layout, a
//! kustomization.yaml that real kustomize builds, and a directory that is
//! replaced as a whole or not at all.

use crate::support;
use crate::support::requires::requires;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kopiaplan::output::directory::{self, OutputFile};
use support::{kopiaplan, kopiaplan_with_stdin, require_tool, scratch, stderr, stdout};

const PLAN: &str = "\
apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: nightly
  namespace: apps
spec:
  repositories:
    - name: main
      secretName: kopia-config
  defaults:
    copyMethod: Direct
  backups:
    - name: web-data
      pvc: web-data
    - name: db
      pvc: db
      namespace: data
---
apiVersion: v1
kind: Namespace
metadata:
  name: apps
";

/// Every file below `dir`, relative, with its text.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, found: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(root, &path, found);
            } else {
                let relative = path.strip_prefix(root).expect("below root");
                let text = std::fs::read_to_string(&path).expect("read");
                found.insert(relative.display().to_string(), text);
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(dir, dir, &mut found);
    found
}

/// `scripts-0123456789.yaml` → `scripts-HASH.yaml`.
fn without_hash(name: &str) -> String {
    match name.split_once("scripts-") {
        Some((head, tail)) => match tail.split_once('.') {
            Some((hash, extension)) if hash.len() == 10 => {
                format!("{head}scripts-HASH.{extension}")
            }
            _ => name.to_owned(),
        },
        None => name.to_owned(),
    }
}

fn compile_into(dir: &Path, extra: &[&str], plan: &str) -> std::process::Output {
    let mut args = vec!["compile", "-", "--output-dir", dir.to_str().expect("utf-8")];
    args.extend_from_slice(extra);
    kopiaplan_with_stdin(&args, Some(plan))
}

/// `(kind, namespace, name)` → object, from a YAML stream.
fn objects_of(yaml: &str) -> BTreeMap<(String, String, String), serde_json::Value> {
    let documents: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(yaml).expect("a YAML stream");
    documents
        .into_iter()
        .filter(|d| !d.is_null())
        .map(|d| {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            (
                (
                    text(&d["kind"]),
                    text(&d["metadata"]["namespace"]),
                    text(&d["metadata"]["name"]),
                ),
                d,
            )
        })
        .collect()
}

#[test]
fn writes_one_file_per_object_in_the_documented_layout() {
    let dir = scratch("layout").join("rendered");
    let output = compile_into(&dir, &[], PLAN);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).is_empty(), "nothing goes to stdout");
    let files = tree(&dir);
    // The scripts ConfigMap's name ends with a hash of the scripts.
    let names: Vec<String> = files.keys().map(|name| without_hash(name)).collect();
    assert_eq!(
        names,
        [
            "_cluster/namespace-apps.yaml",
            "apps/configmap-nightly-scripts-HASH.yaml",
            "apps/configmap-nightly-web-data-backup-policy.yaml",
            "apps/cronjob-nightly-main-maintenance-full.yaml",
            "apps/cronjob-nightly-main-maintenance-quick.yaml",
            "apps/cronjob-nightly-web-data-backup.yaml",
            "apps/serviceaccount-nightly-main-maintenance-full.yaml",
            "apps/serviceaccount-nightly-main-maintenance-quick.yaml",
            "apps/serviceaccount-nightly-web-data-backup.yaml",
            "data/configmap-nightly-db-backup-policy.yaml",
            "data/configmap-nightly-scripts-HASH.yaml",
            "data/cronjob-nightly-db-backup.yaml",
            // `main` reads KOPIA_REPOSITORY from a Secret in each namespace:
            // two repositories as far as kopiaplan can tell, two maintenance jobs.
            "data/cronjob-nightly-main-maintenance-full.yaml",
            "data/cronjob-nightly-main-maintenance-quick.yaml",
            "data/serviceaccount-nightly-db-backup.yaml",
            "data/serviceaccount-nightly-main-maintenance-full.yaml",
            "data/serviceaccount-nightly-main-maintenance-quick.yaml",
            "kustomization.yaml",
        ]
    );
    let cron_job = &files["apps/cronjob-nightly-web-data-backup.yaml"];
    assert!(
        cron_job.starts_with("apiVersion: batch/v1\nkind: CronJob\n"),
        "{cron_job}"
    );
    assert!(!cron_job.contains("\n---"), "one document per file");
    let kustomization = &files["kustomization.yaml"];
    let listed: Vec<&str> = kustomization
        .lines()
        .filter_map(|l| l.strip_prefix("  - "))
        .collect();
    let expected: Vec<&str> = files
        .keys()
        .map(String::as_str)
        .filter(|name| *name != "kustomization.yaml")
        .collect();
    assert_eq!(listed, expected, "{kustomization}");
}

#[test]
fn the_directory_holds_exactly_what_compile_prints() {
    let dir = scratch("same-objects").join("rendered");
    assert!(compile_into(&dir, &[], PLAN).status.success());
    let printed = kopiaplan_with_stdin(&["compile", "-"], Some(PLAN));
    let mut from_files = String::new();
    for (path, text) in tree(&dir) {
        if path != "kustomization.yaml" {
            from_files.push_str("---\n");
            from_files.push_str(&text);
        }
    }
    assert_eq!(objects_of(&from_files), objects_of(&stdout(&printed)));
}

#[test]
fn kubectl_kustomize_builds_the_directory() {
    requires!(Tool("kubectl"));
    let kubectl = require_tool("kubectl");
    let base = scratch("kustomize");
    let expected = objects_of(&stdout(&kopiaplan(&["compile", "examples"])));
    assert!(expected.len() > 20);
    for format in ["yaml", "json"] {
        let dir = base.join(format);
        let output = kopiaplan(&[
            "compile",
            "examples",
            "--format",
            format,
            "--output-dir",
            dir.to_str().expect("utf-8"),
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        let built = Command::new(&kubectl)
            .arg("kustomize")
            .arg(&dir)
            .output()
            .expect("kubectl runs");
        assert!(
            built.status.success(),
            "kubectl kustomize {format}: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        let built = objects_of(&String::from_utf8_lossy(&built.stdout));
        assert_eq!(
            built.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{format}"
        );
        assert!(built == expected, "kustomize changed an object ({format})");
    }
}

#[test]
fn json_format_writes_one_json_object_per_file() {
    let dir = scratch("json").join("rendered");
    assert!(
        compile_into(&dir, &["--format", "json"], PLAN)
            .status
            .success()
    );
    let files = tree(&dir);
    let cron_job = &files["apps/cronjob-nightly-web-data-backup.json"];
    let value: serde_json::Value = serde_json::from_str(cron_job).expect("JSON");
    assert_eq!(value["kind"], "CronJob");
    assert!(
        files
            .keys()
            .all(|p| p.ends_with(".json") || p == "kustomization.yaml"),
        "{:?}",
        files.keys()
    );
    assert!(
        files["kustomization.yaml"].contains("  - apps/cronjob-nightly-web-data-backup.json\n")
    );
}

#[test]
fn stale_files_of_a_previous_run_do_not_survive() {
    let dir = scratch("stale").join("rendered");
    assert!(compile_into(&dir, &[], PLAN).status.success());
    assert!(dir.join("data/cronjob-nightly-db-backup.yaml").is_file());
    let smaller = PLAN.replace("    - name: db\n      pvc: db\n      namespace: data\n", "");
    let output = compile_into(&dir, &[], &smaller);
    assert!(output.status.success(), "{}", stderr(&output));
    let files = tree(&dir);
    assert!(!dir.join("data").exists(), "{:?}", files.keys());
    assert!(files.contains_key("apps/cronjob-nightly-web-data-backup.yaml"));
    assert!(!files["kustomization.yaml"].contains("data/"));
    // No temporary or previous directory is left beside it.
    let siblings: Vec<_> = std::fs::read_dir(dir.parent().expect("parent"))
        .expect("read")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(siblings, ["rendered"]);
}

#[test]
fn a_bad_plan_leaves_the_directory_exactly_as_it_was() {
    let dir = scratch("atomic-bad-plan").join("rendered");
    assert!(compile_into(&dir, &[], PLAN).status.success());
    let before = tree(&dir);
    let bad = PLAN.replace("pvc: web-data", "pvc: web-data\n      schedul: \"@daily\"");
    let output = compile_into(&dir, &[], &bad);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("unknown field `schedul`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(tree(&dir), before);
    let siblings = std::fs::read_dir(dir.parent().expect("parent"))
        .expect("read")
        .count();
    assert_eq!(siblings, 1, "a temporary directory was left behind");
}

#[test]
fn a_failed_write_leaves_the_directory_exactly_as_it_was() {
    let base = scratch("atomic-failed-write");
    let dir = base.join("rendered");
    assert!(compile_into(&dir, &[], PLAN).status.success());
    let before = tree(&dir);
    // Two files write, the third cannot: a NUL byte is never a valid path.
    let files = [
        OutputFile {
            path: PathBuf::from("apps/a.yaml"),
            text: "a: 1\n".into(),
            private: false,
        },
        OutputFile {
            path: PathBuf::from("apps/b.yaml"),
            text: "b: 1\n".into(),
            private: false,
        },
        OutputFile {
            path: PathBuf::from("apps/c\0.yaml"),
            text: "c: 1\n".into(),
            private: false,
        },
    ];
    let error = directory::write(&dir, &files).expect_err("the write fails");
    assert!(error.to_string().contains("cannot write"), "{error}");
    assert_eq!(tree(&dir), before);
    let siblings = std::fs::read_dir(&base).expect("read").count();
    assert_eq!(siblings, 1, "the staging directory was left behind");
    // The same files without the bad one replace the directory.
    directory::write(&dir, &files[..2]).expect("write");
    assert_eq!(
        tree(&dir).keys().collect::<Vec<_>>(),
        ["apps/a.yaml", "apps/b.yaml"]
    );
}

#[test]
fn a_directory_kopiaplan_did_not_write_is_never_replaced() {
    let dir = scratch("foreign").join("mine");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("notes.txt"), "keep me\n").expect("write");
    let output = compile_into(&dir, &[], PLAN);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("not written by `kopiaplan compile --output-dir`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).expect("kept"),
        "keep me\n"
    );
    // An empty directory is fine.
    let empty = scratch("empty-target");
    let output = compile_into(&empty, &[], PLAN);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(empty.join("kustomization.yaml").is_file());
}

#[test]
fn the_same_input_writes_the_same_bytes() {
    let base = scratch("deterministic");
    let (a, b) = (base.join("a"), base.join("b"));
    assert!(
        kopiaplan(&[
            "compile",
            "examples",
            "--output-dir",
            a.to_str().expect("utf-8")
        ])
        .status
        .success()
    );
    let mut reversed: Vec<String> = support::examples()
        .iter()
        .map(|p| {
            format!(
                "examples/{}",
                p.file_name().and_then(|n| n.to_str()).expect("name")
            )
        })
        .collect();
    reversed.reverse();
    let mut args = vec!["compile", "--output-dir", b.to_str().expect("utf-8")];
    args.extend(reversed.iter().map(String::as_str));
    let output = kopiaplan(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let (a, b) = (tree(&a), tree(&b));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    let differing: Vec<&String> = a.keys().filter(|k| a[*k] != b[*k]).collect();
    assert!(differing.is_empty(), "{differing:?}");
}

#[test]
fn output_and_output_dir_together_are_a_usage_error() {
    let output = kopiaplan(&["compile", "examples", "-o", "x.yaml", "--output-dir", "x"]);
    assert_eq!(output.status.code(), Some(2));
}
