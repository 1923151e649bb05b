//! `mover.volumes`: Secrets, NFS exports and claims mounted into every
//! mover at `/mnt/<mountPath>`, with valid, distinct volume names.

use crate::support;

use serde_json::Value;
use support::{compile_text as compile, pod_spec};

fn plan(repository: &str, defaults: &str, entries: &str) -> String {
    format!(
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: p
  namespace: apps
spec:
  repositories:
    - name: main
      secretName: kopia-config
{repository}  defaults:
    copyMethod: Direct
{defaults}{entries}"
    )
}

const S3: &str = "      url: s3://bucket/prefix\n";

fn workload<'a>(objects: &'a [Value], name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| (o["kind"] == "CronJob" || o["kind"] == "Job") && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no CronJob or Job {name}"))
}

fn volume<'a>(pod: &'a Value, name: &str) -> &'a Value {
    pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no volume {name}: {pod}"))
}

fn mount<'a>(pod: &'a Value, path: &str) -> &'a Value {
    pod["containers"][0]["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["mountPath"] == path)
        .unwrap_or_else(|| panic!("nothing mounted at {path}"))
}

const VOLUMES: &str = "    mover:
      volumes:
        - mountPath: nfs-share
          volumeSource: {nfs: {server: nfs.example.com, path: /exports/backups, readOnly: true}}
        - mountPath: keys/ssh
          volumeSource: {secret: {secretName: ssh-keys, defaultMode: 256}}
        - mountPath: scratch
          volumeSource: {persistentVolumeClaim: {claimName: scratch}}
";

#[test]
fn every_kind_of_mover_gets_the_volumes() {
    let objects = compile(&plan(
        S3,
        VOLUMES,
        "  backups:
    - {name: web, pvc: web}
  restores:
    - {name: back, from: web, pvc: web-copy, trigger: {manual: t1}}
  verify:
    - {from: web}
",
    ))
    .expect("compiles");
    let names = ["p-web-backup", "p-web-verify", "p-main-maintenance-full"];
    let job = objects
        .iter()
        .find(|o| o["kind"] == "Job")
        .expect("the restore Job");
    let mut pods: Vec<&Value> = names
        .iter()
        .map(|n| pod_spec(workload(&objects, n)))
        .collect();
    pods.push(pod_spec(job));
    for pod in pods {
        let nfs = volume(pod, "mnt-nfs-share");
        assert_eq!(nfs["nfs"]["server"], "nfs.example.com");
        assert_eq!(nfs["nfs"]["path"], "/exports/backups");
        assert_eq!(mount(pod, "/mnt/nfs-share")["readOnly"], true);

        let secret = volume(pod, "mnt-keys-ssh");
        assert_eq!(secret["secret"]["secretName"], "ssh-keys");
        assert_eq!(secret["secret"]["defaultMode"], 0o400);
        let secret_mount = mount(pod, "/mnt/keys/ssh");
        assert_eq!(secret_mount["name"], "mnt-keys-ssh");
        assert_eq!(secret_mount["readOnly"], true, "Secrets are read-only");

        let claim = volume(pod, "mnt-scratch");
        assert_eq!(claim["persistentVolumeClaim"]["claimName"], "scratch");
        assert_eq!(mount(pod, "/mnt/scratch")["readOnly"], false);
    }
}

#[test]
fn an_entry_list_replaces_the_default_list() {
    let objects = compile(&plan(
        S3,
        VOLUMES,
        "  backups:
    - name: web
      pvc: web
      mover:
        volumes:
          - {mountPath: only, volumeSource: {secret: {secretName: only}}}
",
    ))
    .expect("compiles");
    let pod = pod_spec(workload(&objects, "p-web-backup"));
    let extra: Vec<&str> = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter_map(|v| v["name"].as_str())
        .filter(|n| n.starts_with("mnt-"))
        .collect();
    assert_eq!(extra, ["mnt-only"]);
}

#[test]
fn a_filesystem_repository_claim_is_mounted_once() {
    let objects = compile(&plan(
        "      filesystem: {claimName: backup-nfs}\n",
        "",
        "  backups:
    - name: web
      pvc: web
      mover:
        volumes:
          - {mountPath: repository, volumeSource: {persistentVolumeClaim: {claimName: backup-nfs}}}
",
    ))
    .expect("compiles");
    let pod = pod_spec(workload(&objects, "p-web-backup"));
    let claims: Vec<&Value> = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .filter(|v| v["persistentVolumeClaim"]["claimName"] == "backup-nfs")
        .collect();
    assert_eq!(claims.len(), 1, "one volume for the claim: {pod}");
    assert_eq!(claims[0]["name"], "repository");
    // The repository's volume, mounted where the plan asks as well.
    assert_eq!(mount(pod, "/mnt/repository")["name"], "repository");
    assert_eq!(mount(pod, "/kopiaplan/repository")["name"], "repository");
}

#[test]
fn paths_that_would_share_a_name_get_distinct_valid_names() {
    let objects = compile(&plan(
        S3,
        "",
        "  backups:
    - name: web
      pvc: web
      mover:
        volumes:
          - {mountPath: a/b, volumeSource: {secret: {secretName: one}}}
          - {mountPath: a-b, volumeSource: {secret: {secretName: two}}}
          - {mountPath: Upper_Case.d, volumeSource: {secret: {secretName: three}}}
",
    ))
    .expect("compiles");
    let pod = pod_spec(workload(&objects, "p-web-backup"));
    let names: Vec<String> = ["/mnt/a/b", "/mnt/a-b", "/mnt/Upper_Case.d"]
        .iter()
        .map(|path| mount(pod, path)["name"].as_str().expect("name").to_owned())
        .collect();
    assert_ne!(names[0], names[1]);
    for name in &names {
        assert!(name.starts_with("mnt-"), "{name}");
        assert!(name.len() <= 63, "{name}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{name}"
        );
    }
}

#[test]
fn bad_mover_volumes_are_errors_with_their_field_path() {
    let cases = [
        (
            "{mountPath: /abs, volumeSource: {secret: {secretName: s}}}",
            "spec.backups[0].mover.volumes[0].mountPath",
            "invalid-path",
        ),
        (
            "{mountPath: a/../b, volumeSource: {secret: {secretName: s}}}",
            "spec.backups[0].mover.volumes[0].mountPath",
            "invalid-path",
        ),
        (
            "{mountPath: 'a b', volumeSource: {secret: {secretName: s}}}",
            "spec.backups[0].mover.volumes[0].mountPath",
            "invalid-path",
        ),
        (
            "{mountPath: x, volumeSource: {}}",
            "spec.backups[0].mover.volumes[0].volumeSource",
            "conflicting-fields",
        ),
        (
            "{mountPath: x, volumeSource: {secret: {secretName: s}, persistentVolumeClaim: {claimName: c}}}",
            "spec.backups[0].mover.volumes[0].volumeSource",
            "conflicting-fields",
        ),
        (
            "{mountPath: x, volumeSource: {secret: {}}}",
            "spec.backups[0].mover.volumes[0].volumeSource.secret.secretName",
            "invalid-name",
        ),
        (
            "{mountPath: x, volumeSource: {nfs: {server: n, path: relative}}}",
            "spec.backups[0].mover.volumes[0].volumeSource.nfs.path",
            "invalid-path",
        ),
        (
            "{mountPath: x, volumeSource: {persistentVolumeClaim: {claimName: Bad_Name}}}",
            "spec.backups[0].mover.volumes[0].volumeSource.persistentVolumeClaim.claimName",
            "invalid-name",
        ),
        (
            "{mountPath: x, volumeSource: {configMap: {name: c}}}",
            "spec.backups[0].mover.volumes[0].volumeSource.configMap",
            "unknown-field",
        ),
    ];
    for (volume, field, code) in cases {
        let error = compile(&plan(
            S3,
            "",
            &format!(
                "  backups:\n    - name: web\n      pvc: web\n      mover:\n        volumes:\n          - {volume}\n"
            ),
        ))
        .expect_err(volume);
        assert!(
            error.contains(&format!("field: {field}")),
            "{volume}: {error}"
        );
        assert!(
            error.contains(&format!("error[{code}]:")),
            "{volume}: {error}"
        );
    }

    let error = compile(&plan(
        S3,
        "",
        "  backups:\n    - name: web\n      pvc: web\n      mover:\n        volumes:\n          - {mountPath: x, volumeSource: {secret: {secretName: a}}}\n          - {mountPath: x, volumeSource: {secret: {secretName: b}}}\n",
    ))
    .expect_err("twice at one path");
    assert!(error.contains("error[duplicate-mount-path]:"), "{error}");
    assert!(
        error.contains("field: spec.backups[0].mover.volumes[1].mountPath"),
        "{error}"
    );
}

#[test]
fn an_nfs_volume_is_warned_about_under_the_restricted_standard() {
    let text = plan(S3, VOLUMES, "  backups:\n    - {name: web, pvc: web}\n");
    let mut sources = kopiaplan::diagnostics::SourceMap::default();
    sources.add("plan.yaml".into(), text);
    let compiled = kopiaplan::compile_sources(&sources).expect("a warning is not an error");
    let warnings: Vec<_> = compiled
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.code))
        .collect();
    assert_eq!(
        warnings,
        [(
            kopiaplan::diagnostics::Severity::Warning,
            kopiaplan::diagnostics::Code::NfsOutsideRestrictedProfile
        )]
    );
}
