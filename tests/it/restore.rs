//! Restores, restore drills, maintenance and Snapshot launchers, checked on
//! the compiled objects: identities resolved at compile time, destinations,
//! triggers, selection, deduplicated maintenance and minimal launcher RBAC.

use crate::support;

use serde_json::Value;
use support::{compile_text as compile, env_value, pod_spec};

fn plan(entries: &str) -> String {
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
      url: s3://bucket/prefix
  defaults:
    copyMethod: Direct
{entries}"
    )
}

fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn identity(pod: &Value) -> (String, String, String) {
    let get = |name| env_value(pod, name).unwrap_or_default().to_owned();
    (
        get("KOPIAPLAN_USERNAME"),
        get("KOPIAPLAN_HOSTNAME"),
        get("KOPIAPLAN_SOURCE_PATH"),
    )
}

const BACKUP: &str = "  backups:\n    - {name: web-data, pvc: web, sourcePathOverride: /var/www}\n";

#[test]
fn a_restore_from_a_backup_takes_its_identity_path_and_repository() {
    let objects = compile(&plan(&format!(
        "{BACKUP}  restores:\n    - {{name: back, from: web-data, namespace: staging, pvc: web-copy, trigger: {{manual: t1}}}}\n"
    )))
    .expect("compiles");
    let job = of_kind(&objects, "Job")[0];
    assert_eq!(job["metadata"]["namespace"], "staging");
    assert!(
        job["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("p-back-restore-")
    );
    let pod = pod_spec(job);
    assert_eq!(
        identity(pod),
        ("web-data".into(), "apps".into(), "/var/www".into())
    );
    assert_eq!(
        env_value(pod, "KOPIA_REPOSITORY"),
        Some("s3://bucket/prefix")
    );
    assert_eq!(
        pod["containers"][0]["command"][1],
        "/kopiaplan/scripts/restore.sh"
    );
    let data = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "data")
        .expect("data volume");
    assert_eq!(data["persistentVolumeClaim"]["claimName"], "web-copy");
    assert_eq!(data["persistentVolumeClaim"]["readOnly"], false);
    // The restore writes the volume: its group can.
    assert_eq!(pod["securityContext"]["fsGroup"], 65532);
}

#[test]
fn the_same_token_gives_the_same_job_and_a_new_token_a_new_one() {
    let name = |token: &str| {
        let objects = compile(&plan(&format!(
            "{BACKUP}  restores:\n    - {{name: back, from: web-data, pvc: w, trigger: {{manual: \"{token}\"}}}}\n"
        )))
        .expect("compiles");
        of_kind(&objects, "Job")[0]["metadata"]["name"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(name("2026-11-26"), name("2026-11-26"));
    assert_ne!(name("2026-11-26"), name("2026-11-27"));
}

#[test]
fn source_identity_defaults_its_namespace_to_the_restore() {
    let objects = compile(&plan(
        "  restores:\n    - {name: r, sourceIdentity: {sourceName: \"legacy.app\"}, pvc: x, trigger: {onDemand: true}}\n    - {name: s, namespace: other, sourceIdentity: {sourceName: db, sourceNamespace: prod, sourcePathOverride: /pg}, pvc: yy, trigger: {onDemand: true}}\n",
    ))
    .expect("compiles");
    let r = named(&objects, "CronJob", "p-r-restore");
    assert_eq!(r["spec"]["suspend"], true);
    assert_eq!(
        identity(pod_spec(r)),
        ("legacyapp".into(), "apps".into(), "/data".into())
    );
    let s = named(&objects, "CronJob", "p-s-restore");
    assert_eq!(
        identity(pod_spec(s)),
        ("db".into(), "prod".into(), "/pg".into())
    );
}

#[test]
fn explicit_identity_needs_both_parts() {
    let error = compile(&plan(
        "  restores:\n    - {name: r, username: alice, pvc: x, trigger: {manual: a}}\n",
    ))
    .expect_err("username alone");
    assert!(error.contains("error[missing-setting]:"), "{error}");
    assert!(error.contains("add `hostname` as well"), "{error}");
    let objects = compile(&plan(
        "  restores:\n    - {name: r, username: alice, hostname: laptop, pvc: x, trigger: {manual: a}}\n",
    ))
    .expect("both parts");
    assert_eq!(
        identity(pod_spec(of_kind(&objects, "Job")[0])),
        ("alice".into(), "laptop".into(), "/data".into())
    );
}

#[test]
fn an_unknown_from_is_an_error_with_a_suggestion() {
    let error = compile(&plan(&format!(
        "{BACKUP}  restores:\n    - {{name: r, from: web-dta, pvc: x, trigger: {{manual: a}}}}\n"
    )))
    .expect_err("unknown backup");
    assert!(error.contains("error[unknown-backup]:"), "{error}");
    assert!(error.contains("did you mean `web-data`?"), "{error}");
    assert!(error.contains("plan.yaml:"), "{error}");
}

#[test]
fn a_restore_without_trigger_is_an_error_that_names_the_choices() {
    let error = compile(&plan(&format!(
        "{BACKUP}  restores:\n    - {{name: r, from: web-data, pvc: x}}\n"
    )))
    .expect_err("no trigger");
    assert!(error.contains("error[no-trigger]:"), "{error}");
    assert!(error.contains("onDemand"), "{error}");
}

#[test]
fn create_makes_the_destination_claim() {
    let objects = compile(&plan(&format!(
        "{BACKUP}  restores:\n    - {{name: r, from: web-data, namespace: dr, create: {{capacity: 10Gi, storageClassName: fast}}, trigger: {{schedule: \"H 4 * * *\"}}}}\n"
    )))
    .expect("compiles");
    let claim = named(&objects, "PersistentVolumeClaim", "r");
    assert_eq!(claim["metadata"]["namespace"], "dr");
    assert_eq!(claim["spec"]["resources"]["requests"]["storage"], "10Gi");
    assert_eq!(claim["spec"]["storageClassName"], "fast");
    assert_eq!(claim["spec"]["accessModes"][0], "ReadWriteOnce");
    let cron = named(&objects, "CronJob", "p-r-restore");
    let schedule = cron["spec"]["schedule"].as_str().unwrap();
    assert!(
        schedule.ends_with(" 4 * * *") && !schedule.contains('H'),
        "{schedule}"
    );

    let error = compile(&plan(&format!(
        "{BACKUP}  restores:\n    - {{name: r, from: web-data, create: {{capacity: 10Gi, accessModes: [ReadWriteOnec]}}, trigger: {{manual: a}}}}\n"
    )))
    .expect_err("bad access mode");
    assert!(error.contains("error[value-not-allowed]:"), "{error}");
    assert!(error.contains("did you mean `ReadWriteOnce`?"), "{error}");
}

#[test]
fn selection_reaches_the_script_as_an_instant() {
    let objects = compile(&plan(&format!(
        "{BACKUP}  restores:\n    - {{name: r, from: web-data, pvc: x, trigger: {{manual: a}}, previous: 2, restoreAsOf: \"2026-11-20T05:00:00+05:00\", enableFileDeletion: true, onMissingSnapshot: Succeed}}\n"
    )))
    .expect("compiles");
    let pod = pod_spec(of_kind(&objects, "Job")[0]);
    assert_eq!(env_value(pod, "KOPIAPLAN_PREVIOUS"), Some("2"));
    assert_eq!(
        env_value(pod, "KOPIAPLAN_RESTORE_AS_OF"),
        Some("2026-11-20T00:00:00Z")
    );
    assert_eq!(
        env_value(pod, "KOPIAPLAN_RESTORE_AS_OF_NANOS"),
        Some("1795132800000000000") // date -u -d 2026-11-20T00:00:00Z +%s%N
    );
    assert_eq!(env_value(pod, "KOPIAPLAN_DELETE_EXTRA"), Some("true"));
    assert_eq!(
        env_value(pod, "KOPIAPLAN_ON_MISSING_SNAPSHOT"),
        Some("Succeed")
    );

    let error = compile(&plan(&format!(
        "{BACKUP}  restores:\n    - {{name: r, from: web-data, pvc: x, trigger: {{manual: a}}, restoreAsOf: \"2026-11-20 05:00\"}}\n"
    )))
    .expect_err("not RFC 3339");
    assert!(error.contains("error[invalid-instant]:"), "{error}");
}

#[test]
fn restore_arguments_are_checked_against_the_restore_grammar() {
    let error = compile(&plan(&format!(
        "{BACKUP}  restores:\n    - {{name: r, from: web-data, pvc: x, trigger: {{manual: a}}, additionalArgs: [\"--skip-owners\", \"--tags=a:b\"]}}\n"
    )))
    .expect_err("--tags is a snapshot flag");
    assert!(
        error.contains("error[invalid-additional-argument]:"),
        "{error}"
    );
    assert!(error.contains("additionalArgs[1]"), "{error}");
    assert!(!error.contains("additionalArgs[0]"), "{error}");
}

#[test]
fn one_maintenance_cron_job_serves_every_backup_of_a_repository() {
    let objects = compile(&plan(
        "  backups:\n    - {name: a, pvc: a}\n    - {name: b, pvc: b, namespace: zeta}\n    - {name: c, pvc: c, namespace: beta}\n",
    ))
    .expect("compiles");
    let maintenance: Vec<&Value> = of_kind(&objects, "CronJob")
        .into_iter()
        .filter(|c| c["metadata"]["labels"]["app.kubernetes.io/component"] == "maintenance")
        .collect();
    // Quick and full, once each.
    assert_eq!(maintenance.len(), 2);
    let cron = maintenance[0];
    assert_eq!(cron["metadata"]["name"], "p-main-maintenance-full");
    assert_eq!(
        maintenance[1]["metadata"]["name"],
        "p-main-maintenance-quick"
    );
    // The first namespace in order, which holds the repository Secret too.
    assert_eq!(cron["metadata"]["namespace"], "apps");
    assert_eq!(
        cron["metadata"]["annotations"]["kopiaplan.dev/serves"],
        "apps/a,beta/c,zeta/b"
    );
    let pod = pod_spec(cron);
    assert_eq!(
        pod["containers"][0]["command"][1],
        "/kopiaplan/scripts/maintenance.sh"
    );
    assert_eq!(env_value(pod, "KOPIAPLAN_USERNAME"), Some("maintenance"));
    assert_eq!(env_value(pod, "KOPIAPLAN_HOSTNAME"), Some("kopiaplan"));

    // Two plans writing to one URL share one maintenance job.
    let second = plan("  backups:\n    - {name: z, pvc: z}\n").replace("name: p\n", "name: q\n");
    let objects = compile(&format!(
        "{}---\n{second}",
        plan("  backups:\n    - {name: a, pvc: a}\n")
    ))
    .expect("compiles");
    let names: Vec<&str> = of_kind(&objects, "CronJob")
        .iter()
        .filter_map(|c| c["metadata"]["name"].as_str())
        .filter(|n| n.contains("-maintenance-"))
        .collect();
    assert_eq!(
        names,
        ["p-main-maintenance-full", "p-main-maintenance-quick"]
    );

    let objects = compile(&plan("  backups:\n    - {name: a, pvc: a}\n").replace(
        "url: s3://bucket/prefix\n",
        "url: s3://bucket/prefix\n      maintenance: {enabled: false}\n",
    ))
    .expect("compiles");
    assert!(
        !of_kind(&objects, "CronJob")
            .iter()
            .any(|c| c["metadata"]["labels"]["app.kubernetes.io/component"] == "maintenance")
    );
}

#[test]
fn a_verify_entry_verifies_the_backup_weekly_by_default() {
    let objects = compile(&plan(&format!(
        "{BACKUP}  verify:\n    - {{from: web-data, filesPercent: 5}}\n"
    )))
    .expect("compiles");
    let cron = named(&objects, "CronJob", "p-web-data-verify");
    let schedule = cron["spec"]["schedule"].as_str().unwrap();
    assert!(schedule.ends_with(" * * 0"), "{schedule}");
    let pod = pod_spec(cron);
    assert_eq!(
        pod["containers"][0]["command"][1],
        "/kopiaplan/scripts/verify.sh"
    );
    assert_eq!(env_value(pod, "KOPIAPLAN_VERIFY_FILES_PERCENT"), Some("5"));
    assert_eq!(
        identity(pod),
        ("web-data".into(), "apps".into(), "/var/www".into())
    );
    assert!(
        !pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "data")
    );
    let error = compile(&plan(&format!(
        "{BACKUP}  verify:\n    - {{from: web-data, filesPercent: 150}}\n"
    )))
    .expect_err("not a percentage");
    assert!(error.contains("error[out-of-range]:"), "{error}");
    assert!(
        error.contains("field: spec.verify[0].filesPercent"),
        "{error}"
    );
}

#[test]
fn h_schedules_spread_entries_of_every_kind() {
    let objects = compile(&plan(
        "  backups:\n    - {name: a, pvc: a, schedule: \"H H * * *\"}\n    - {name: b, pvc: b, schedule: \"H H * * *\"}\n    - {name: c, pvc: c, schedule: \"H H * * *\"}\n  verify:\n    - {from: a, schedule: \"H H * * *\"}\n    - {from: b, schedule: \"H H * * *\"}\n",
    ))
    .expect("compiles");
    let schedules: std::collections::BTreeSet<&str> = of_kind(&objects, "CronJob")
        .iter()
        .filter_map(|c| c["spec"]["schedule"].as_str())
        .collect();
    // Seven CronJobs (three backups, two drills, quick and full
    // maintenance), seven times.
    assert_eq!(schedules.len(), 7, "{schedules:?}");
}

/// The launcher's Role, pinned: exactly the verbs its steps use, on exactly
/// the two objects it manages (creation cannot be limited by name).
#[test]
fn the_snapshot_launcher_role_allows_only_what_it_does() {
    let objects = compile(&plan(
        "  backups:\n    - {name: db, pvc: pg, copyMethod: Snapshot, capacity: 5Gi, volumeSnapshotClassName: csi}\n",
    ))
    .expect("compiles");
    let role = named(&objects, "Role", "p-db-backup-launcher");
    let expected = serde_json::json!([
        {"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshots"], "verbs": ["create"]},
        {"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshots"],
         "resourceNames": ["p-db-backup-snapshot"], "verbs": ["get", "list", "watch", "delete"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]},
        {"apiGroups": ["batch"], "resources": ["jobs"],
         "resourceNames": ["p-db-backup-mover"], "verbs": ["get", "list", "watch", "delete"]},
    ]);
    assert_eq!(role["rules"], expected);
    let binding = named(&objects, "RoleBinding", "p-db-backup-launcher");
    assert_eq!(binding["roleRef"]["name"], "p-db-backup-launcher");
    assert_eq!(binding["subjects"][0]["name"], "p-db-backup-launcher");

    let cron = named(&objects, "CronJob", "p-db-backup");
    let pod = pod_spec(cron);
    assert_eq!(pod["serviceAccountName"], "p-db-backup-launcher");
    assert_eq!(pod["automountServiceAccountToken"], true);
    let steps: Vec<&str> = pod["initContainers"]
        .as_array()
        .unwrap()
        .iter()
        .chain(pod["containers"].as_array().unwrap())
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "clean-up",
            "create-snapshot",
            "wait-for-snapshot",
            "create-mover",
            "wait-for-mover",
            "delete-snapshot",
            "result"
        ]
    );
    // Every step is one kubectl command: the image has no shell.
    for container in pod["initContainers"].as_array().unwrap() {
        assert_eq!(container["command"][0], "kubectl");
    }

    // The mover Job it creates reads a volume restored from the snapshot,
    // has no API token and does not retry on its own.
    let manifests = named(&objects, "ConfigMap", "p-db-backup-launcher");
    let job: Value =
        serde_json::from_str(manifests["data"]["mover-job.json"].as_str().unwrap()).unwrap();
    assert_eq!(job["spec"]["backoffLimit"], 0);
    let mover_pod = &job["spec"]["template"]["spec"];
    assert_eq!(mover_pod["automountServiceAccountToken"], false);
    let source = &mover_pod["volumes"][0]["ephemeral"]["volumeClaimTemplate"]["spec"]["dataSource"];
    assert_eq!(source["kind"], "VolumeSnapshot");
    assert_eq!(source["apiGroup"], "snapshot.storage.k8s.io");
    assert_eq!(source["name"], "p-db-backup-snapshot");
    let snapshot: Value =
        serde_json::from_str(manifests["data"]["volumesnapshot.json"].as_str().unwrap()).unwrap();
    assert_eq!(
        snapshot["spec"]["source"]["persistentVolumeClaimName"],
        "pg"
    );
    assert_eq!(snapshot["spec"]["volumeSnapshotClassName"], "csi");
}

#[test]
fn deploy_or_restore_runs_in_an_earlier_argo_cd_wave_and_only_into_an_empty_volume() {
    use crate::test::{Plan, env};
    let objects = Plan::nightly()
        .then(
            "  restores:
    - name: seed
      from: web-data
      pvc: web-data
      create: {capacity: 10Gi}
      onlyIfEmpty: true
      argoCDSyncWave: -1
      trigger: {manual: first-deploy}
",
        )
        .objects();
    let restore: Vec<&Value> = objects
        .0
        .iter()
        .filter(|o| o["metadata"]["labels"]["app.kubernetes.io/component"] == "restore")
        .collect();
    let kinds: Vec<&str> = restore.iter().filter_map(|o| o["kind"].as_str()).collect();
    for kind in ["ServiceAccount", "PersistentVolumeClaim", "Job"] {
        assert!(kinds.contains(&kind), "{kinds:?}");
    }
    for object in &restore {
        assert_eq!(
            object["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"], "-1",
            "{}",
            object["metadata"]["name"]
        );
    }
    let job = restore
        .iter()
        .find(|o| o["kind"] == "Job")
        .expect("the Job");
    assert_eq!(env(job, "KOPIAPLAN_ONLY_IF_EMPTY"), "true");
    // The backups keep Argo CD's default wave.
    let backup = objects.named("CronJob", "nightly-web-data-backup");
    assert!(backup["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"].is_null());
    // Without onlyIfEmpty, the restore writes whatever the volume holds.
    let objects = Plan::nightly()
        .then("  restores:\n    - {name: seed, from: web-data, pvc: web-data, trigger: {manual: x}}\n")
        .objects();
    let job = objects.of_kind("Job");
    assert_eq!(env(job[0], "KOPIAPLAN_ONLY_IF_EMPTY"), "false");
}
