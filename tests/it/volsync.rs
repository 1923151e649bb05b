//! VolSync input: ReplicationSource / ReplicationDestination / KopiaMaintenance
//! objects compile into the same objects a BackupPlan gives, keeping VolSync's
//! identities and repository layout; problems point at the VolSync field.

use crate::support;

use crate::test::{Plan, Test, env};
use serde_json::Value;
use support::pod_spec;

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
    let objects = Plan::text(SOURCE).objects();
    let cron = objects.named("CronJob", "volsync-web-data-backup");
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
    let text = Plan::text(SOURCE).replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    username: custom-user\n",
    );
    let objects = text.objects();
    let cron = objects.named("CronJob", "volsync-web-data-backup");
    assert_eq!(env(cron, "KOPIAPLAN_USERNAME"), "custom-user");
    assert_eq!(env(cron, "KOPIAPLAN_HOSTNAME"), "apps");
}

#[test]
fn a_seed_repository_pvc_keeps_the_repository_subdirectory() {
    let text = Plan::text(SOURCE).replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    repositoryPVC: kopia-repo\n",
    );
    let objects = text.objects();
    let cron = objects.named("CronJob", "volsync-web-data-backup");
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
    let text = Plan::text(SOURCE).replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    maintenanceIntervalDays: 3\n",
    );
    let objects = text.objects();
    let crons = objects.of_kind("CronJob");
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
    let objects = Plan::text(format!("{SOURCE}{DESTINATION}")).objects();
    let jobs = objects.of_kind("Job");
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
    let pvc = objects.named("PersistentVolumeClaim", "volsync-web-restore-dest");
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "10Gi");
}

#[test]
fn a_destination_with_half_an_identity_is_an_error_at_its_field() {
    let text = Plan::text(DESTINATION).replace(
        "    sourceIdentity:\n      sourceName: web.data\n",
        "    username: someone\n    repository: kopia-secret\n",
    );
    let error = text.errors();
    error.has("error[volsync-missing-setting]");
    error.has("needs `hostname` too");
    error.has("field: spec.kopia");
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
    let objects = Plan::text(format!("{namespace}{SOURCE}")).objects();
    let cron = objects.named("CronJob", "volsync-web-data-backup");
    let pod = pod_spec(cron);
    assert_eq!(pod["securityContext"]["runAsUser"], 0, "{pod}");
    let added = &pod["containers"][0]["securityContext"]["capabilities"]["add"];
    assert_eq!(
        added,
        &serde_json::json!(["CHOWN", "DAC_OVERRIDE", "FOWNER"])
    );
    let unprivileged = Plan::text(SOURCE).objects();
    let cron = unprivileged.named("CronJob", "volsync-web-data-backup");
    assert_ne!(pod_spec(cron)["securityContext"]["runAsUser"], 0);
    // The command line says the same for a namespace not in the input.
    Test::new()
        .args(["compile", "--privileged-movers", "apps", "-"])
        .stdin(SOURCE)
        .stdout_has("runAsUser: 0")
        .run();
}

#[test]
fn another_mover_is_an_error_that_says_so() {
    let text = Plan::text(
        "apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata: {name: db, namespace: apps}
spec:
  sourcePVC: db
  trigger: {schedule: \"0 * * * *\"}
  restic:
    repository: restic-secret
",
    );
    text.errors()
        .has("error[volsync-other-mover]")
        .has("`restic` mover")
        .has("field: spec.restic");
}

#[test]
fn no_trigger_is_an_error_that_explains_why() {
    let text = Plan::text(SOURCE).replace("  trigger:\n    schedule: \"0 2 * * *\"\n", "");
    let error = text.errors();
    error.has("error[volsync-missing-setting]");
    error.has("back to back");
    error.has("spec.trigger.schedule");
}

#[test]
fn manual_wins_over_a_schedule_with_a_warning() {
    let text = Plan::text(SOURCE).replace(
        "    schedule: \"0 2 * * *\"\n",
        "    schedule: \"0 2 * * *\"\n    manual: first\n",
    );
    Test::new()
        .args(["compile", "-"])
        .stdin(text)
        .stderr_has("manual")
        .stdout_has("kind: Job")
        .stderr_has("warning[volsync-field-ignored]:")
        .run();
}

#[test]
fn an_invalid_schedule_points_at_the_volsync_field() {
    let text = Plan::text(SOURCE).replace("\"0 2 * * *\"", "\"0 25 * * *\"");
    let error = text.errors();
    error.has("spec.trigger.schedule");
    error.has("plan.yaml:9");
    error.has("error[invalid-schedule]:");
}

#[test]
fn unknown_fields_warn_and_fail_with_strict() {
    let text = Plan::text(SOURCE).replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    sourcePath: /var/lib/data\n",
    );
    Test::new()
        .args(["compile", "-"])
        .stdin(text.clone())
        .stderr_has("warning[unknown-field]:")
        .stderr_has("sourcePath")
        .run();
    Test::new()
        .args(["compile", "--strict", "-"])
        .stdin(text)
        .status(1)
        .stdout("")
        .stderr_has("error[unknown-field]:")
        .run();
}

#[test]
fn policy_flags_in_additional_args_become_the_sources_policy() {
    let text = Plan::text(SOURCE).replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    additionalArgs: [\"--one-file-system\", \"--description=nightly\"]\n",
    );
    let objects = text.objects();
    let cron = objects.named("CronJob", "volsync-web-data-backup");
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
    let text = Plan::text(SOURCE).replace("  namespace: apps\n", "");
    Test::new()
        .args(["compile", "-n", "team-a", "-"])
        .stdin(text.clone())
        .stdout_has("namespace: team-a")
        .run();
    Test::new()
        .args(["compile", "-"])
        .stdin(text)
        .stderr_has("`default`")
        .run();
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
    let text = Plan::text(SOURCE).replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    policyConfig:\n      configMapName: kopia-policies\n",
    );
    let objects = text.then(config_map).objects();
    let cron = objects.named("CronJob", "volsync-web-data-backup");
    let pod = pod_spec(cron);
    assert!(
        pod["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .any(|v| v["configMap"]["name"] == "kopia-policies"),
        "{pod}"
    );
    let inline = Plan::text(SOURCE).replace(
        "    copyMethod: Direct\n",
        "    copyMethod: Direct\n    policyConfig:\n      repositoryConfig: '{\"uploadSpeed\": 1000, \"splitter\": \"x\"}'\n",
    );
    let error = inline.errors();
    error.has("splitter");
    error.has("spec.kopia.policyConfig.repositoryConfig");
    error.has("error[invalid-repository-setting]:");
}

/// A ReplicationSource and its repository Secret holding the mover
/// settings VolSync's docs put there.
const SECRET_SETTINGS: &str = "apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata: {name: web, namespace: apps}
spec:
  sourcePVC: web
  trigger: {schedule: \"0 2 * * *\"}
  kopia: {repository: kopia-secret, copyMethod: Direct}
---
apiVersion: v1
kind: Secret
metadata: {name: kopia-secret, namespace: apps}
stringData:
  KOPIA_REPOSITORY: s3://bucket/backups
  KOPIA_PASSWORD: pw
  KOPIA_FILE_LOG_LEVEL: debug
  KOPIA_LOG_DIR_MAX_FILES: \"10\"
  KOPIA_LOG_DIR_MAX_AGE: 24h
  KOPIA_FORCE_CACHE_REBUILD: \"true\"
";

#[test]
fn the_log_settings_of_the_repository_secret_are_honoured() {
    let objects = Plan::text(SECRET_SETTINGS).objects();
    let cron = objects.named("CronJob", "volsync-web-backup");
    assert_eq!(env(cron, "KOPIAPLAN_LOG_LEVEL"), "debug");
    assert_eq!(env(cron, "KOPIA_LOG_DIR_MAX_FILES"), "10");
    assert_eq!(env(cron, "KOPIA_LOG_DIR_MAX_AGE"), "24h");
    assert_eq!(env(cron, "KOPIA_CONTENT_LOG_DIR_MAX_FILES"), "10");
    let ran = Test::new()
        .stdin(SECRET_SETTINGS)
        .args(["validate", "-"])
        .stderr_has("warning[volsync-field-translated]: the repository Secret `kopia-secret` sets `KOPIA_LOG_DIR_MAX_FILES`: it becomes the plan's `spec.kopia.logging.maxFiles`")
        .stderr_has("warning[volsync-field-ignored]: the repository Secret `kopia-secret` sets `KOPIA_FORCE_CACHE_REBUILD`")
        .run();
    assert!(ran.stderr.contains("deleting its volume"), "{}", ran.stderr);
    // convert writes them into the plan.
    let converted = Test::new()
        .stdin(SECRET_SETTINGS)
        .args(["convert", "-"])
        .stdout_has("fileLevel: debug")
        .stdout_has("maxFiles: 10")
        .run();
    assert!(
        converted.stdout.contains("maxAge: 24h"),
        "{}",
        converted.stdout
    );
    // A value Kopia would refuse is reported at the Secret's key.
    Test::new()
        .stdin(SECRET_SETTINGS.replace("KOPIA_FILE_LOG_LEVEL: debug", "KOPIA_FILE_LOG_LEVEL: warn"))
        .args(["validate", "-"])
        .status(1)
        .stderr_has("KOPIA_FILE_LOG_LEVEL: warn")
        .run();
}

#[test]
fn log_settings_whose_value_is_unknown_are_a_warning_and_the_default_stays() {
    // The Secret from the cluster context: key names only.
    let (source, secret) = SECRET_SETTINGS.split_once("---\n").expect("two documents");
    let cluster = format!(
        "apiVersion: v1\nkind: List\nitems:\n- {}",
        secret.trim_end().replace('\n', "\n  ")
    );
    let ran = Test::new()
        .file("source.yaml", source)
        .file("cluster.yaml", cluster)
        .args(["compile", "{dir}/source.yaml", "--context", "{dir}/cluster.yaml"])
        .stderr_has("warning[volsync-field-ignored]: the repository Secret `kopia-secret` sets `KOPIA_LOG_DIR_MAX_FILES`")
        .stderr_has("add the Secret to the input")
        .run();
    let objects: Vec<Value> = ran
        .stdout
        .split("\n---\n")
        .filter_map(|doc| serde_saphyr::from_str::<Value>(doc).ok())
        .collect();
    let cron = objects
        .iter()
        .find(|o| o["kind"] == "CronJob")
        .expect("a CronJob");
    assert_eq!(env(cron, "KOPIA_LOG_DIR_MAX_FILES"), "3");
    assert_eq!(env(cron, "KOPIAPLAN_LOG_LEVEL"), "info");
    assert!(!ran.stdout.contains("kind: Secret"), "{}", ran.stdout);
}

/// `convert --report`: per VolSync object, where the compiled objects
/// behave differently from VolSync, by area, with the object's warnings.
#[test]
fn convert_report_lists_the_differences_per_object() {
    let input = "apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata: {name: web, namespace: apps}
spec:
  sourcePVC: web
  trigger: {schedule: \"0 2 * * *\"}
  kopia:
    repository: kopia-secret
    copyMethod: Clone
    capacity: 2Gi
    username: web-team
    sourcePathOverride: /srv/web
    retain: {daily: 7}
    additionalArgs: [\"--tags=tier:gold\"]
---
apiVersion: volsync.backube/v1alpha1
kind: ReplicationDestination
metadata: {name: web-restore, namespace: apps}
spec:
  trigger: {manual: once}
  kopia:
    repository: kopia-secret
    copyMethod: Direct
    capacity: 1Gi
    accessModes: [ReadWriteOnce]
    enableFileDeletion: true
    shallow: 1
    sourceIdentity: {sourceName: web}
";
    let ran = Test::new()
        .stdin(input)
        .args(["convert", "--report", "-"])
        .stdout_lacks("kind: BackupPlan")
        .run();
    let report = ran.stdout;
    let (source, destination) = report
        .split_once("## ReplicationDestination apps/web-restore")
        .expect("a section per object, in input order");
    assert!(
        source.contains("## ReplicationSource apps/web (<stdin>:1)"),
        "{report}"
    );
    for expected in [
        "identity: web-team@apps:/srv/web",
        "- [layout] VolSync: any failure to connect created a new, empty repository",
        "- [defaults] VolSync: retention set on `/data`",
        "- [defaults] VolSync: `additionalArgs` appended to `repository connect/create` too",
        "- [mounts] VolSync: a clone of the PVC mounted read-write",
        "- [deletions] VolSync: the temporary PVC (and VolumeSnapshot) deleted by the operator",
    ] {
        assert!(source.contains(expected), "lacks {expected:?}:\n{source}");
    }
    for expected in [
        "identity: web@apps:/srv/web",
        "kopiaplan: a restore never creates a repository",
        "- [deletions] VolSync: `enableFileDeletion` deleted files not in the snapshot, even when no snapshot was found",
        "- [deletions] VolSync: the provisioned destination PVC deleted after the restore",
        "- [volsync-field-ignored] `shallow: 1` has no effect",
    ] {
        assert!(
            destination.contains(expected),
            "lacks {expected:?}:\n{destination}"
        );
    }
    // The identities are VolSync's (its explicit `username`, the source's
    // for `sourceIdentity`): no identity difference.
    assert!(!report.contains("[identities]"), "{report}");
}
