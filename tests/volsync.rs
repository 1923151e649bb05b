//! VolSync input: ReplicationSource / ReplicationDestination / KopiaMaintenance
//! objects compile into the same objects a BackupPlan gives, keeping VolSync's
//! identities and repository layout; problems point at the VolSync field.

mod support;

use serde_json::Value;
use support::{env_value, kopiaplan_with_stdin, pod_spec, stderr, stdout};

fn compile(text: &str) -> Result<Vec<Value>, String> {
    support::compile_text(text)
}

fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            let names: Vec<String> = objects
                .iter()
                .map(|o| format!("{} {}", o["kind"], o["metadata"]["name"]))
                .collect();
            panic!("no {kind} {name} in {names:#?}")
        })
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn env<'a>(object: &'a Value, name: &str) -> &'a str {
    env_value(pod_spec(object), name).unwrap_or_else(|| panic!("no env {name}"))
}

const SOURCE: &str = "apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata:
  name: web.data
  namespace: apps
spec:
  sourcePVC: web-data
  trigger:
    schedule: \"0 2 * * *\"
  kopia:
    repository: kopia-secret
    copyMethod: Direct
    sourcePathOverride: /srv/web
    retain: {daily: 7, latest: 3}
";

#[test]
fn a_source_backs_up_under_volsyncs_identity() {
    let objects = compile(SOURCE).expect("compiles");
    let cron = named(&objects, "CronJob", "volsync-web-data-backup");
    assert_eq!(cron["metadata"]["namespace"], "apps");
    assert_eq!(cron["spec"]["schedule"], "0 2 * * *");
    // VolSync's code: the object name sanitised (dots dropped), @ namespace.
    assert_eq!(env(cron, "KOPIAPLAN_USERNAME"), "webdata");
    assert_eq!(env(cron, "KOPIAPLAN_HOSTNAME"), "apps");
    assert_eq!(env(cron, "KOPIAPLAN_SOURCE_PATH"), "/srv/web");
    let pod = pod_spec(cron);
    let repository = pod["containers"][0]["env"]
        .as_array()
        .expect("env")
        .iter()
        .find(|e| e["name"] == "KOPIA_REPOSITORY")
        .expect("KOPIA_REPOSITORY");
    assert_eq!(
        repository["valueFrom"]["secretKeyRef"]["name"], "kopia-secret",
        "{repository}"
    );
    // The retention is part of the source's policy.
    let policy = objects
        .iter()
        .find(|o| {
            o["kind"] == "ConfigMap" && o["metadata"]["name"] == "volsync-web-data-backup-policy"
        })
        .expect("policy ConfigMap");
    let text = policy["data"]["policy.json"].as_str().expect("policy.json");
    let policies: Value = serde_json::from_str(text).expect("JSON");
    // One policy, for exactly the snapshotted target.
    let policy = &policies["webdata@apps:/srv/web"];
    assert_eq!(policy["retention"]["keepDaily"], 7, "{policies}");
    assert_eq!(policy["retention"]["keepLatest"], 3, "{policies}");
}

#[test]
fn an_explicit_username_alone_keeps_the_namespace_as_hostname() {
    let text = SOURCE.replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    username: custom-user\n",
    );
    let objects = compile(&text).expect("compiles");
    let cron = named(&objects, "CronJob", "volsync-web-data-backup");
    assert_eq!(env(cron, "KOPIAPLAN_USERNAME"), "custom-user");
    assert_eq!(env(cron, "KOPIAPLAN_HOSTNAME"), "apps");
}

#[test]
fn a_seed_repository_pvc_keeps_the_repository_subdirectory() {
    let text = SOURCE.replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    repositoryPVC: kopia-repo\n",
    );
    let objects = compile(&text).expect("compiles");
    let cron = named(&objects, "CronJob", "volsync-web-data-backup");
    let url = env(cron, "KOPIA_REPOSITORY");
    assert!(url.starts_with("filesystem:///"), "{url}");
    assert!(url.ends_with("/repository"), "{url}");
    let volumes = pod_spec(cron)["volumes"].as_array().expect("volumes");
    assert!(
        volumes
            .iter()
            .any(|v| v["persistentVolumeClaim"]["claimName"] == "kopia-repo"),
        "{volumes:?}"
    );
}

#[test]
fn maintenance_interval_days_schedules_maintenance_owned_by_volsync() {
    let text = SOURCE.replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    maintenanceIntervalDays: 3\n",
    );
    let objects = compile(&text).expect("compiles");
    let crons = of_kind(&objects, "CronJob");
    let maintenance = crons
        .iter()
        .find(|c| {
            c["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("maintenance"))
        })
        .expect("a maintenance CronJob");
    let schedule = maintenance["spec"]["schedule"].as_str().expect("schedule");
    let fields: Vec<&str> = schedule.split(' ').collect();
    assert_eq!(fields[2], "*/3", "{schedule}");
    // The owner VolSync's KopiaMaintenance claims.
    assert_eq!(env(maintenance, "KOPIAPLAN_USERNAME"), "maintenance");
    assert_eq!(env(maintenance, "KOPIAPLAN_HOSTNAME"), "volsync");
}

const DESTINATION: &str = "---
apiVersion: volsync.backube/v1alpha1
kind: ReplicationDestination
metadata:
  name: web-restore
  namespace: apps
spec:
  trigger:
    manual: restore-1
  kopia:
    copyMethod: Direct
    capacity: 10Gi
    accessModes: [ReadWriteOnce]
    sourceIdentity:
      sourceName: web.data
    restoreAsOf: \"2026-01-01T00:00:00+05:00\"
    enableFileDeletion: true
";

#[test]
fn a_destination_discovers_its_source_and_succeeds_without_a_snapshot() {
    let objects = compile(&format!("{SOURCE}{DESTINATION}")).expect("compiles");
    let jobs = of_kind(&objects, "Job");
    let job = jobs
        .iter()
        .find(|j| {
            j["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("volsync-web-restore-restore"))
        })
        .expect("a restore Job for the manual tag");
    assert_eq!(env(job, "KOPIAPLAN_USERNAME"), "webdata");
    assert_eq!(env(job, "KOPIAPLAN_HOSTNAME"), "apps");
    // Discovered from the ReplicationSource in the input.
    assert_eq!(env(job, "KOPIAPLAN_SOURCE_PATH"), "/srv/web");
    assert_eq!(env(job, "KOPIAPLAN_ON_MISSING_SNAPSHOT"), "Succeed");
    assert_eq!(env(job, "KOPIAPLAN_DELETE_EXTRA"), "true");
    // VolSync's provisioned destination volume.
    let pvc = named(
        &objects,
        "PersistentVolumeClaim",
        "volsync-web-restore-dest",
    );
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "10Gi");
}

#[test]
fn a_destination_with_half_an_identity_is_an_error_at_its_field() {
    let text = DESTINATION.replace(
        "    sourceIdentity:\n      sourceName: web.data\n",
        "    username: someone\n    repository: kopia-secret\n",
    );
    let error = compile(&text).expect_err("one half of an identity");
    assert!(error.contains("error[volsync-missing-setting]"), "{error}");
    assert!(error.contains("needs `hostname` too"), "{error}");
    assert!(error.contains("field: spec.kopia"), "{error}");
}

#[test]
fn a_privileged_movers_namespace_makes_privileged_movers() {
    let namespace = "apiVersion: v1
kind: Namespace
metadata:
  name: apps
  annotations:
    volsync.backube/privileged-movers: \"true\"
---
";
    let objects = compile(&format!("{namespace}{SOURCE}")).expect("compiles");
    let cron = named(&objects, "CronJob", "volsync-web-data-backup");
    let pod = pod_spec(cron);
    assert_eq!(pod["securityContext"]["runAsUser"], 0, "{pod}");
    let added = &pod["containers"][0]["securityContext"]["capabilities"]["add"];
    assert_eq!(
        added,
        &serde_json::json!(["CHOWN", "DAC_OVERRIDE", "FOWNER"])
    );
    let unprivileged = compile(SOURCE).expect("compiles");
    let cron = named(&unprivileged, "CronJob", "volsync-web-data-backup");
    assert_ne!(pod_spec(cron)["securityContext"]["runAsUser"], 0);
    // The command line says the same for a namespace not in the input.
    let output = kopiaplan_with_stdin(
        &["compile", "--privileged-movers", "apps", "-"],
        Some(SOURCE),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("runAsUser: 0"));
}

#[test]
fn another_mover_is_an_error_that_says_so() {
    let text = "apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata: {name: db, namespace: apps}
spec:
  sourcePVC: db
  trigger: {schedule: \"0 * * * *\"}
  restic:
    repository: restic-secret
";
    let error = compile(text).expect_err("restic");
    assert!(error.contains("error[volsync-other-mover]"), "{error}");
    assert!(error.contains("`restic` mover"), "{error}");
    assert!(error.contains("field: spec.restic"), "{error}");
}

#[test]
fn no_trigger_is_an_error_that_explains_why() {
    let text = SOURCE.replace("  trigger:\n    schedule: \"0 2 * * *\"\n", "");
    let error = compile(&text).expect_err("no trigger");
    assert!(error.contains("error[volsync-missing-setting]"), "{error}");
    assert!(error.contains("back to back"), "{error}");
    assert!(error.contains("spec.trigger.schedule"), "{error}");
}

#[test]
fn manual_wins_over_a_schedule_with_a_warning() {
    let text = SOURCE.replace(
        "    schedule: \"0 2 * * *\"\n",
        "    schedule: \"0 2 * * *\"\n    manual: first\n",
    );
    let output = kopiaplan_with_stdin(&["compile", "-"], Some(&text));
    assert!(output.status.success(), "{}", stderr(&output));
    let warnings = stderr(&output);
    assert!(
        warnings.contains("warning[volsync-field-ignored]:"),
        "{warnings}"
    );
    assert!(warnings.contains("manual"), "{warnings}");
    let out = stdout(&output);
    assert!(out.contains("kind: Job"), "{out}");
}

#[test]
fn an_invalid_schedule_points_at_the_volsync_field() {
    let text = SOURCE.replace("\"0 2 * * *\"", "\"0 25 * * *\"");
    let error = compile(&text).expect_err("hour 25");
    assert!(error.contains("error[invalid-schedule]:"), "{error}");
    assert!(error.contains("spec.trigger.schedule"), "{error}");
    assert!(error.contains("plan.yaml:9"), "{error}");
}

#[test]
fn unknown_fields_warn_and_fail_with_strict() {
    let text = SOURCE.replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    sourcePath: /var/lib/data\n",
    );
    let output = kopiaplan_with_stdin(&["compile", "-"], Some(&text));
    assert!(output.status.success(), "{}", stderr(&output));
    let warnings = stderr(&output);
    assert!(warnings.contains("warning[unknown-field]:"), "{warnings}");
    assert!(warnings.contains("sourcePath"), "{warnings}");
    let strict = kopiaplan_with_stdin(&["compile", "--strict", "-"], Some(&text));
    assert_eq!(strict.status.code(), Some(1), "{}", stderr(&strict));
    assert!(stdout(&strict).is_empty());
}

#[test]
fn policy_flags_in_additional_args_become_the_sources_policy() {
    let text = SOURCE.replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    additionalArgs: [\"--one-file-system\", \"--description=nightly\"]\n",
    );
    let objects = compile(&text).expect("compiles");
    let cron = named(&objects, "CronJob", "volsync-web-data-backup");
    let args = pod_spec(cron)["containers"][0]["args"].to_string();
    assert!(args.contains("--description=nightly"), "{args}");
    assert!(!args.contains("one-file-system"), "{args}");
    let policy = objects
        .iter()
        .find(|o| o["metadata"]["name"] == "volsync-web-data-backup-policy")
        .expect("policy");
    let policy: Value =
        serde_json::from_str(policy["data"]["policy.json"].as_str().expect("json")).expect("JSON");
    assert_eq!(
        policy["webdata@apps:/srv/web"]["files"]["oneFileSystem"], true,
        "{policy}"
    );
}

#[test]
fn objects_without_a_namespace_take_the_command_lines() {
    let text = SOURCE.replace("  namespace: apps\n", "");
    let output = kopiaplan_with_stdin(&["compile", "-n", "team-a", "-"], Some(&text));
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("namespace: team-a"));
    let defaulted = kopiaplan_with_stdin(&["compile", "-"], Some(&text));
    assert!(defaulted.status.success(), "{}", stderr(&defaulted));
    assert!(
        stderr(&defaulted).contains("`default`"),
        "{}",
        stderr(&defaulted)
    );
}

#[test]
fn policy_config_reaches_the_mover_and_is_checked_at_its_volsync_field() {
    let config_map = "---
apiVersion: v1
kind: ConfigMap
metadata: {name: kopia-policies, namespace: apps}
data:
  global-policy.json: '{\"retention\": {\"keepDaily\": 14}}'
";
    let text = SOURCE.replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    policyConfig:\n      configMapName: kopia-policies\n",
    );
    let objects = compile(&format!("{text}{config_map}")).expect("compiles");
    let cron = named(&objects, "CronJob", "volsync-web-data-backup");
    let pod = pod_spec(cron);
    assert!(
        pod["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .any(|v| v["configMap"]["name"] == "kopia-policies"),
        "{pod}"
    );
    let inline = SOURCE.replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    policyConfig:\n      repositoryConfig: '{\"uploadSpeed\": 1000, \"splitter\": \"x\"}'\n",
    );
    let error = compile(&inline).expect_err("an unknown repository setting");
    assert!(
        error.contains("error[invalid-repository-setting]:"),
        "{error}"
    );
    assert!(error.contains("splitter"), "{error}");
    assert!(
        error.contains("spec.kopia.policyConfig.repositoryConfig"),
        "{error}"
    );
}
