//! The generated manifests and scripts checked by the real tools a user's
//! pipeline would run: strict Kubernetes 1.33 schemas (kubernetes-validate,
//! which also reads YAML as 1.1 the way kubectl does), yamllint and
//! shellcheck. Each test names its tool with `requires!`: missing, it fails
//! under CI and is reported as skipped elsewhere (see `.ci/install-tools`).

use crate::support;
use crate::support::requires::requires;

use std::process::Command;

use support::{examples, golden_of, require_tool, scratch};

fn kubernetes_validate(files: &[std::path::PathBuf]) -> std::process::Output {
    let tool = require_tool("kubernetes-validate");
    Command::new(tool)
        .args(["-k", "1.33", "--strict", "--quiet"])
        .args(files)
        .output()
        .expect("kubernetes-validate runs")
}

#[test]
fn golden_outputs_validate_strictly_against_kubernetes_1_33() {
    requires!(Tool("kubernetes-validate"));
    let files: Vec<_> = examples().iter().map(|e| golden_of(e)).collect();
    let output = kubernetes_validate(&files);
    assert!(
        output.status.success(),
        "kubernetes-validate rejected the golden files:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The validator must be able to fail: an unknown field in a generated
/// CronJob is rejected.
#[test]
fn strict_validation_rejects_an_unknown_field() {
    requires!(Tool("kubernetes-validate"));
    let golden = std::fs::read_to_string(golden_of(&examples()[0])).expect("golden file");
    let broken = golden.replacen(
        "concurrencyPolicy: Forbid",
        "concurrencyPolicy: Forbid\n  concurrencyPolicyy: Forbid",
        1,
    );
    assert_ne!(golden, broken, "the golden file has no CronJob to break");
    let dir = scratch("strict-validation");
    let file = dir.join("broken.yaml");
    std::fs::write(&file, broken).expect("write");
    let output = kubernetes_validate(&[file]);
    assert!(!output.status.success(), "an unknown field was accepted");
}

#[test]
fn golden_outputs_pass_yamllint() {
    requires!(Tool("yamllint"));
    let tool = require_tool("yamllint");
    let config = "{extends: default, rules: {line-length: disable, indentation: {indent-sequences: whatever}, comments-indentation: disable}}";
    let files: Vec<_> = examples().iter().map(|e| golden_of(e)).collect();
    let output = Command::new(tool)
        .args(["--strict", "-d", config])
        .args(&files)
        .output()
        .expect("yamllint runs");
    assert!(
        output.status.success(),
        "yamllint:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn rendered_scripts_pass_shellcheck() {
    requires!(Tool("shellcheck"));
    let tool = require_tool("shellcheck");
    let dir = scratch("shellcheck");
    let scripts = kopiaplan::scripts::render_all().expect("scripts render");
    // The side container's script runs in the plan's image, under its
    // /bin/sh: POSIX sh, not bash.
    let mut bash = Vec::new();
    let mut posix = Vec::new();
    for script in &scripts {
        std::fs::write(dir.join(script.name), &script.text).expect("write script");
        if script.name == "side.sh" {
            posix.push(script.name);
        } else {
            bash.push(script.name);
        }
    }
    assert!(!posix.is_empty(), "side.sh is not among the scripts");
    // The launcher of backups with workload hooks (templates/launcher-hooks.sh).
    let launcher = kopiaplan::scripts::render_launcher_hooks("/launcher").expect("renders");
    std::fs::write(dir.join("launcher-hooks.sh"), launcher).expect("write script");
    bash.push("launcher-hooks.sh");
    for (shell, names) in [("--shell=bash", bash), ("--shell=sh", posix)] {
        let output = Command::new(&tool)
            .current_dir(&dir)
            .args([
                shell,
                "--external-sources",
                "--source-path=SCRIPTDIR",
                "--severity=style",
            ])
            .args(&names)
            .output()
            .expect("shellcheck runs");
        assert!(
            output.status.success(),
            "shellcheck {shell}:\n{}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

/// What runs in the cluster is what shellcheck saw: the scripts ConfigMaps
/// in the golden files hold exactly the rendered scripts.
#[test]
fn golden_script_config_maps_hold_the_rendered_scripts() {
    let scripts = kopiaplan::scripts::render_all().expect("scripts render");
    for example in examples() {
        let golden = std::fs::read_to_string(golden_of(&example)).expect("golden");
        for script in &scripts {
            let indented: String = script
                .text
                .lines()
                .map(|line| {
                    if line.is_empty() {
                        "\n".to_owned()
                    } else {
                        format!("    {line}\n")
                    }
                })
                .collect();
            assert!(
                golden.contains(&format!("  {}: |\n{indented}", script.name)),
                "{} in {} is not the rendered script",
                script.name,
                example.display()
            );
        }
    }
}

/// The manifests launchers create at run time live in ConfigMaps; they are
/// checked too: the mover Jobs against Kubernetes 1.33, the VolumeSnapshots
/// against the snapshot.storage.k8s.io/v1 CRD schema (vendored, strict).
#[test]
fn launcher_manifests_validate_strictly() {
    requires!(Tool("kubernetes-validate"), Tool("python3"));
    let mut jobs = Vec::new();
    let mut snapshots = Vec::new();
    for example in examples() {
        let text = std::fs::read_to_string(golden_of(&example)).expect("golden file");
        for document in text.split("\n---\n") {
            let value: serde_json::Value = match serde_saphyr::from_str(document) {
                Ok(value) => value,
                Err(_) => continue,
            };
            if value["kind"] != "ConfigMap" {
                continue;
            }
            if let Some(job) = value["data"]["mover-job.json"].as_str() {
                jobs.push(job.to_owned());
            }
            if let Some(snapshot) = value["data"]["volumesnapshot.json"].as_str() {
                snapshots.push(snapshot.to_owned());
            }
        }
    }
    assert!(
        !jobs.is_empty() && !snapshots.is_empty(),
        "no example has a launcher"
    );
    let dir = scratch("launcher-manifests");
    let files: Vec<_> = jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            let file = dir.join(format!("job-{i}.json"));
            std::fs::write(&file, job).expect("write");
            file
        })
        .collect();
    let output = kubernetes_validate(&files);
    assert!(
        output.status.success(),
        "kubernetes-validate rejected a launcher's mover Job:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    let schema = support::root().join("tests/fixtures/crds/volumesnapshot-v1.schema.json");
    let check = |snapshot: &str| {
        Command::new(require_tool("python3"))
            .args([
                "-c",
                "import json, sys, jsonschema\n\
                 schema = json.load(open(sys.argv[1]))\n\
                 jsonschema.validate(json.loads(sys.argv[2]), schema)",
            ])
            .arg(&schema)
            .arg(snapshot)
            .output()
            .expect("python3 runs")
    };
    for snapshot in &snapshots {
        let output = check(snapshot);
        assert!(
            output.status.success(),
            "a VolumeSnapshot does not match the CRD schema:\n{snapshot}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // The check can fail: an unknown field is rejected.
    let broken = snapshots[0].replacen("\"source\"", "\"sourcee\": {}, \"source\"", 1);
    assert!(
        !check(&broken).status.success(),
        "an unknown field was accepted"
    );
}

/// Kopia v0.23.1's policy fields (`src/kopia/data/kopia-policy-fields.json`,
/// the shared reference copied unchanged), walked here independently of
/// kopiaplan's own checker: every key must be a field (exact spelling) and
/// every value of its type.
fn policy_problems(policy: &serde_json::Value) -> (Vec<String>, usize) {
    fn fields(object: &Value, known: &Value, path: &str, found: &mut (Vec<String>, usize)) {
        let Some(map) = object.as_object() else {
            found.0.push(format!("{path}: not an object"));
            return;
        };
        for (key, value) in map {
            let here = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            match known.get(key) {
                Some(field) => typed(value, field, &here, found),
                None => found.0.push(format!("{here}: not a Kopia policy field")),
            }
        }
    }
    fn typed(value: &Value, field: &Value, path: &str, found: &mut (Vec<String>, usize)) {
        found.1 += 1;
        if value.is_null() {
            if field["nullable"] != true {
                found
                    .0
                    .push(format!("{path}: null, and Kopia's field is not nullable"));
            }
            return;
        }
        let ok = match field["type"].as_str() {
            Some("object") => {
                fields(value, &field["fields"], path, found);
                value.is_object()
            }
            Some("array") => match value.as_array() {
                Some(items) => {
                    for (index, item) in items.iter().enumerate() {
                        typed(item, &field["items"], &format!("{path}[{index}]"), found);
                    }
                    true
                }
                None => false,
            },
            Some("integer") => value.as_i64().is_some() || value.as_u64().is_some(),
            Some("bool") => value.is_boolean(),
            Some("string") => value.is_string(),
            _ => false,
        };
        if !ok {
            found.0.push(format!(
                "{path}: {value} is not of Kopia's type {}",
                field["type"]
            ));
        }
    }
    use serde_json::Value;
    static FIELDS: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let known = FIELDS.get_or_init(|| {
        let text = std::fs::read_to_string(
            support::root().join("src/kopia/data/kopia-policy-fields.json"),
        )
        .expect("kopia-policy-fields.json");
        serde_json::from_str::<Value>(&text).expect("JSON")["fields"].clone()
    });
    let mut found = (Vec::new(), 0);
    fields(policy, known, "", &mut found);
    found
}

#[test]
fn every_golden_policy_validates_against_kopias_policy_fields() {
    let mut policies = 0;
    let mut values = 0;
    let mut seen_retention = false;
    for example in examples() {
        let golden = std::fs::read_to_string(golden_of(&example)).expect("golden");
        let documents: Vec<serde_json::Value> =
            serde_saphyr::from_str_multiple(&golden).expect("the golden file is YAML");
        for document in documents {
            let Some(text) = document["data"]["policy.json"].as_str() else {
                continue;
            };
            assert_eq!(document["kind"], "ConfigMap");
            let name = document["metadata"]["name"].as_str().unwrap_or_default();
            let file: serde_json::Value = serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("{name} in {}: not JSON: {e}", example.display()));
            let targets = file.as_object().expect("an object of targets");
            assert_eq!(targets.len(), 1, "{name}: one target per source");
            for (target, policy) in targets {
                // Exactly the source the mover snapshots.
                assert_eq!(
                    document["metadata"]["annotations"]["kopiaplan.dev/kopia-source"],
                    target.as_str(),
                    "{name}"
                );
                let (problems, checked) = policy_problems(policy);
                assert!(
                    problems.is_empty(),
                    "{name} in {}: {problems:#?}",
                    example.display()
                );
                policies += 1;
                values += checked;
                seen_retention |= policy.pointer("/retention/keepDaily").is_some();
            }
        }
    }
    assert!(
        policies >= 10 && values >= 30 && seen_retention,
        "too little checked: {policies} policies, {values} values"
    );
}

/// The walk above can fail: misspelt fields, wrong types and nulls where
/// Kopia allows none are found.
#[test]
fn the_policy_walk_finds_unknown_fields_and_wrong_types() {
    let (problems, _) = policy_problems(&serde_json::json!({
        "retention": {"keepDaily": 7, "keepDayly": 7, "keepLatest": "ten"},
        "files": {"ignore": ["*.tmp", 3], "maxFileSize": null},
        "compression": {"compressorName": "zstd"}
    }));
    assert_eq!(
        problems,
        [
            "retention.keepDayly: not a Kopia policy field",
            "retention.keepLatest: \"ten\" is not of Kopia's type \"integer\"",
            "files.ignore[1]: 3 is not of Kopia's type \"string\"",
            "files.maxFileSize: null, and Kopia's field is not nullable",
        ]
    );
}
