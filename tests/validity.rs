//! The generated manifests and scripts checked by the real tools a user's
//! pipeline would run: strict Kubernetes 1.33 schemas (kubernetes-validate,
//! which also reads YAML as 1.1 the way kubectl does), yamllint and
//! shellcheck. A missing tool fails these tests (see `.ci/install-tools`).

mod support;

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
    let tool = require_tool("shellcheck");
    let dir = scratch("shellcheck");
    let scripts = kopiaplan::scripts::render_all().expect("scripts render");
    let mut names = Vec::new();
    for script in &scripts {
        std::fs::write(dir.join(script.name), &script.text).expect("write script");
        names.push(script.name);
    }
    let output = Command::new(tool)
        .current_dir(&dir)
        .args([
            "--shell=bash",
            "--external-sources",
            "--source-path=SCRIPTDIR",
            "--severity=style",
        ])
        .args(&names)
        .output()
        .expect("shellcheck runs");
    assert!(
        output.status.success(),
        "shellcheck:\n{}",
        String::from_utf8_lossy(&output.stdout)
    );
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
