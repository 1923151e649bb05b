//! A repository's whole life against the real Kopia 0.23.1, through the pod
//! harness: quick maintenance, ownership that yields, creation options,
//! throttle, off-site copies with `sync-to` and `snapshot migrate`, and the
//! compiled shape of each (names, schedules, checks).
//!
//! The real-Kopia cases need root (mount namespaces) and `kopia` 0.23.1.

use crate::real_kopia::{Cluster, NAMESPACE, PASSWORD, plan_with, volume_with};
use crate::support;
use crate::support::requires::requires;

use serde_json::Value;
use support::kopia::HostKopia;

/// The filesystem repository on `backup-repo`, with `extra` lines under it.
fn repository(extra: &str) -> String {
    format!(
        "    - name: local\n      secretName: kopia-local\n      filesystem: {{claimName: backup-repo, path: /repository}}\n{extra}"
    )
}

pub(crate) const ONE_BACKUP: &str = "  backups:\n    - {name: web-data, pvc: web-data}\n";

/// A cluster whose one backup has run once.
pub(crate) fn backed_up(name: &str, extra: &str) -> Cluster {
    let mut cluster = Cluster::with_plan(name, &plan_with(&repository(extra), ONE_BACKUP));
    volume_with(&mut cluster, "web-data", &[("file", "data")]);
    cluster.run_ok("rk-web-data-backup");
    cluster
}

/// The start times of the successful runs of a maintenance task.
fn runs(info: &Value, task: &str) -> Vec<String> {
    info["schedule"]["runs"][task]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|run| run["success"] == true)
        .filter_map(|run| run["start"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn quick_maintenance_compacts_indexes_without_collecting_snapshots() {
    requires!(Namespaces, Kopia);
    let cluster = backed_up("quick", "");
    let before = cluster.host().json(&["maintenance", "info"]);
    let result = cluster.run_ok("rk-local-maintenance-quick");
    let line = result.result_line();
    assert_eq!(line["result"], "success", "{}", result.logs());
    assert_eq!(line["yielded"], false);
    assert!(
        line["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("quick maintenance done")),
        "{line}"
    );
    assert!(line["indexBlobCount"].as_u64().is_some(), "{line}");
    let after = cluster.host().json(&["maintenance", "info"]);
    assert_eq!(after["owner"], "maintenance@kopiaplan", "{after:#}");
    // Quick maintenance ran its tasks (epochs, indexes, logs); only full
    // maintenance collects snapshot contents and rewrites them.
    let all_runs = |info: &Value| -> usize {
        info["schedule"]["runs"]
            .as_object()
            .map(|tasks| tasks.keys().map(|task| runs(info, task).len()).sum())
            .unwrap_or(0)
    };
    assert!(
        all_runs(&after) > all_runs(&before),
        "no maintenance ran:\n{after:#}"
    );
    for full_only in ["snapshot-gc", "full-rewrite-contents"] {
        assert_eq!(
            runs(&after, full_only),
            runs(&before, full_only),
            "quick maintenance ran {full_only}:\n{after:#}"
        );
    }
}

#[test]
fn yield_leaves_maintenance_to_its_owner_and_runs_once_it_is_the_owner() {
    requires!(Namespaces, Kopia);
    let mut cluster = backed_up(
        "yield",
        "      maintenance: {ownership: Yield, owner: maintenance@cluster-a}\n",
    );
    // The backup created the repository, so its identity owns maintenance.
    let before = cluster.host().json(&["maintenance", "info"]);
    let result = cluster.run_ok("rk-local-maintenance-full");
    let line = result.result_line();
    assert_eq!(line["result"], "success", "{}", result.logs());
    assert_eq!(line["yielded"], true, "{line}");
    assert_eq!(line["owner"], "web-data@apps", "{line}");
    assert!(line["indexBlobCount"].is_null(), "nothing ran: {line}");
    let info = cluster.host().json(&["maintenance", "info"]);
    assert_eq!(info["owner"], "web-data@apps", "Yield changed the owner");
    assert_eq!(
        info["schedule"]["runs"], before["schedule"]["runs"],
        "{info:#}"
    );

    // Cluster A claims the role; the yielding plan then runs as it.
    cluster.objects = support::compile_json(
        "yield-claim",
        &plan_with(
            &repository("      maintenance: {owner: maintenance@cluster-a}\n"),
            ONE_BACKUP,
        ),
    );
    cluster.run_ok("rk-local-maintenance-quick");
    cluster.objects = support::compile_json(
        "yield-again",
        &plan_with(
            &repository("      maintenance: {ownership: Yield, owner: maintenance@cluster-a}\n"),
            ONE_BACKUP,
        ),
    );
    let result = cluster.run_ok("rk-local-maintenance-full");
    let line = result.result_line();
    assert_eq!(line["yielded"], false, "{}", result.logs());
    let info = cluster.host().json(&["maintenance", "info"]);
    assert_eq!(info["owner"], "maintenance@cluster-a");
    assert!(
        runs(&info, "snapshot-gc").len() > runs(&before, "snapshot-gc").len(),
        "{info:#}"
    );
}

#[test]
fn creation_options_shape_the_repository_a_backup_creates() {
    requires!(Namespaces, Kopia);
    let cluster = backed_up(
        "creation",
        "      creation: {hash: BLAKE3-256, encryption: CHACHA20-POLY1305-HMAC-SHA256, splitter: DYNAMIC-1M-BUZHASH, ecc: REED-SOLOMON-CRC32, eccOverheadPercent: 2, epochMinDuration: 2h, epochAdvanceOnCount: 30}\n",
    );
    let status = cluster.host().json(&["repository", "status"]);
    let format = &status["contentFormat"];
    assert_eq!(format["hash"], "BLAKE3-256", "{status:#}");
    assert_eq!(format["encryption"], "CHACHA20-POLY1305-HMAC-SHA256");
    assert_eq!(
        status["objectFormat"]["splitter"], "DYNAMIC-1M-BUZHASH",
        "{status:#}"
    );
    // Retention needs a bucket with object locking, which no server here
    // offers; its flags are checked against Kopia's grammar.
    assert_eq!(format["ecc"], "REED-SOLOMON-CRC32", "{status:#}");
    assert_eq!(format["eccOverheadPercent"], 2, "{status:#}");
    let epochs = &format["epochParameters"];
    assert_eq!(
        epochs["MinEpochDuration"], 7_200_000_000_000_i64,
        "{status:#}"
    );
    assert_eq!(epochs["EpochAdvanceOnCountThreshold"], 30, "{status:#}");
}

#[test]
fn throttle_is_set_on_every_run() {
    requires!(Namespaces, Kopia);
    let cluster = backed_up(
        "throttle",
        "      throttle: {uploadBytesPerSecond: 4000000, downloadBytesPerSecond: 8000000, readsPerSecond: 50, writesPerSecond: 20}\n",
    );
    // Kopia keeps the throttle in the connection's config, which the
    // mover holds in memory: each run (here: maintenance) sets it again.
    let result = cluster.run_ok("rk-local-maintenance-quick");
    let config = std::fs::read_to_string(result.volume("config").join("repository.config"))
        .expect("the mover's Kopia config");
    let config: Value = serde_json::from_str(&config).expect("JSON config");
    let limits = &config["throttlingLimits"];
    assert_eq!(
        limits["maxUploadSpeedBytesPerSecond"], 4_000_000,
        "{config:#}"
    );
    assert_eq!(
        limits["maxDownloadSpeedBytesPerSecond"], 8_000_000,
        "{config:#}"
    );
    assert_eq!(limits["readsPerSecond"], 50, "{config:#}");
    assert_eq!(limits["writesPerSecond"], 20, "{config:#}");
}

/// A plan whose repository has one replica on the claim `offsite-repo`.
fn with_replica(name: &str, replica: &str) -> Cluster {
    let mut cluster = backed_up(
        name,
        &format!(
            "      replicas:\n        - {{name: offsite, secretName: kopia-offsite, filesystem: {{claimName: offsite-repo, path: /copy}}{replica}}}\n"
        ),
    );
    let offsite = cluster.claim("offsite-repo");
    support::pod::chmod_path(&offsite, 0o777);
    cluster
}

#[test]
fn a_blobs_replica_copies_the_repository_with_sync_to() {
    requires!(Namespaces, Kopia);
    let mut cluster = with_replica("blobs", "");
    let result = cluster
        .pod("rk-local-replica-offsite")
        .secret("kopia-offsite", &[("KOPIA_PASSWORD", "not the source's")])
        .run();
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["result"], "success", "{}", result.logs());
    assert_eq!(line["mode"], "Blobs");
    assert_eq!(line["snapshotCount"], 1, "{line}");
    // The copy is the same repository: the source's password opens it,
    // and it holds the source's snapshot and every blob.
    let copy = cluster.claim("offsite-repo").join("copy");
    let host = HostKopia::filesystem("blobs-copy", &copy, PASSWORD);
    assert_eq!(host.snapshots("web-data@apps:/data").len(), 1);
    let blobs = |dir: &std::path::Path| {
        support::tree::tree(dir)
            .into_iter()
            .filter(|(path, _)| path.extension().is_some_and(|e| e == "f"))
            .count()
    };
    assert_eq!(line["blobCount"], blobs(&copy) as u64, "{line}");
    assert!(blobs(&copy) >= blobs(&cluster.repository()));
}

#[test]
fn a_snapshots_replica_migrates_into_a_repository_with_its_own_password() {
    requires!(Namespaces, Kopia);
    let mut cluster = with_replica("snapshots", ", mode: Snapshots");
    let result = cluster
        .pod("rk-local-replica-offsite")
        .secret(
            "kopia-offsite",
            &[("KOPIA_PASSWORD", "the offsite password")],
        )
        .run();
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["mode"], "Snapshots", "{line}");
    assert_eq!(line["snapshotCount"], 1, "{line}");
    let copy = cluster.claim("offsite-repo").join("copy");
    let host = HostKopia::filesystem("snapshots-copy", &copy, "the offsite password");
    assert_eq!(host.snapshots("web-data@apps:/data").len(), 1);
}

#[test]
fn a_password_change_job_changes_the_password_and_backups_run_with_the_new_one() {
    requires!(Namespaces, Kopia);
    const NEW: &str = "a new and longer passphrase";
    let mut cluster = backed_up(
        "password",
        "      passwordChange: {token: \"2026-12-01\"}\n",
    );
    let job = support::pod::items(&cluster.objects)
        .iter()
        .filter(|o| o["kind"] == "Job")
        .filter_map(|o| o["metadata"]["name"].as_str())
        .find(|n| n.starts_with("rk-local-maintenance-change-password-"))
        .expect("the password change Job")
        .to_owned();
    let repository = cluster.claim("backup-repo");
    // Step 1: the new password is added to the Secret beside the old one.
    let result = support::pod::Pod::from_compiled(&cluster.objects, "Job", NAMESPACE, &job)
        .secret(
            "kopia-local",
            &[("KOPIA_PASSWORD", PASSWORD), ("KOPIA_NEW_PASSWORD", NEW)],
        )
        .real_kopia()
        .pvc("backup-repo", &repository)
        .run();
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    assert_eq!(result.result_line()["operation"], "change-password");
    // A mover still on the old password fails: the order of steps matters.
    cluster.run_failing("rk-web-data-backup");
    // Step 3: the new password becomes KOPIA_PASSWORD; backups run again.
    cluster.password = NEW.to_owned();
    cluster.run_ok("rk-web-data-backup");
    let host = HostKopia::filesystem("password-new", &cluster.repository(), NEW);
    assert_eq!(host.snapshots("web-data@apps:/data").len(), 2);
}

/// A plan in `apps` with the S3 repository `main` (with `extra` under it)
/// and one backup.
pub(crate) fn s3_plan(name: &str, extra: &str, spec: &str) -> String {
    format!(
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: {name}
  namespace: apps
spec:
{spec}  repositories:
    - name: main
      secretName: kopia
      url: s3://bucket/main
{extra}  backups:
    - {{name: web, pvc: web, copyMethod: Direct, schedule: \"0 1 * * *\"}}
"
    )
}

pub(crate) fn cron_job<'a>(objects: &'a [Value], name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no CronJob {name}"))
}

#[test]
fn names_say_what_each_workload_does_and_are_shortened_only_when_too_long() {
    let replica = "      replicas:\n        - {name: offsite, url: \"b2://offsite/main\", secretName: kopia-offsite}\n";
    let objects = support::compile_text(&s3_plan("p", replica, "")).expect("compiles");
    let names: Vec<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "CronJob")
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "p-main-maintenance-full",
            "p-main-maintenance-quick",
            "p-main-replica-offsite",
            "p-web-backup"
        ]
    );
    let long = "r".repeat(40);
    let objects = support::compile_text(&s3_plan(
        "p",
        &replica.replace("name: offsite", &format!("name: {long}")),
        "",
    ))
    .expect("compiles");
    let shortened: Vec<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "CronJob")
        .filter_map(|o| o["metadata"]["name"].as_str())
        .filter(|n| n.starts_with("p-main-replica-"))
        .collect();
    assert_eq!(shortened.len(), 1);
    assert_eq!(shortened[0].len(), 52, "{shortened:?}");
    assert!(!shortened[0].contains(&long), "{shortened:?}");
}

#[test]
fn a_replica_runs_after_full_maintenance_with_its_destination_under_a_prefix() {
    let objects = support::compile_text(&s3_plan(
        "p",
        "      maintenance: {full: {schedule: \"30 3 * * *\"}, quick: {schedule: \"15 * * * *\"}}\n      replicas:\n        - {name: offsite, url: \"b2://offsite/main\", secretName: kopia-offsite, deleteExtra: true}\n        - {name: later, url: \"s3://other/main\", secretName: kopia-other, schedule: \"0 6 * * *\", mode: Snapshots}\n",
        "",
    ))
    .expect("compiles");
    assert_eq!(
        cron_job(&objects, "p-main-maintenance-full")["spec"]["schedule"],
        "30 3 * * *"
    );
    assert_eq!(
        cron_job(&objects, "p-main-maintenance-quick")["spec"]["schedule"],
        "15 * * * *"
    );
    let offsite = cron_job(&objects, "p-main-replica-offsite");
    assert_eq!(offsite["spec"]["schedule"], "30 5 * * *");
    assert_eq!(offsite["spec"]["concurrencyPolicy"], "Forbid");
    let pod = support::pod_spec(offsite);
    assert_eq!(
        support::env_value(pod, "KOPIAPLAN_REPLICA_MODE"),
        Some("Blobs")
    );
    assert_eq!(
        support::env_value(pod, "KOPIAPLAN_DELETE_EXTRA"),
        Some("true")
    );
    assert_eq!(
        support::env_value(pod, "KOPIAPLAN_REPLICA_URL"),
        Some("b2://offsite/main")
    );
    assert_eq!(
        support::env_value(pod, "KOPIAPLAN_USERNAME"),
        Some("maintenance")
    );
    let sources = pod["containers"][0]["envFrom"].as_array().expect("envFrom");
    assert_eq!(sources[0]["secretRef"]["name"], "kopia");
    assert!(sources[0]["prefix"].is_null());
    assert_eq!(sources[1]["secretRef"]["name"], "kopia-offsite");
    assert_eq!(sources[1]["prefix"], "REPLICA_DESTINATION_");
    let later = cron_job(&objects, "p-main-replica-later");
    assert_eq!(later["spec"]["schedule"], "0 6 * * *");
    let pod = support::pod_spec(later);
    assert_eq!(
        support::env_value(pod, "KOPIAPLAN_REPLICA_MODE"),
        Some("Snapshots")
    );
}

#[test]
fn a_replica_needs_the_repositorys_full_maintenance() {
    let error = support::compile_text(&s3_plan(
        "p",
        "      maintenance: {full: {enabled: false}}\n      replicas:\n        - {name: offsite, url: \"b2://offsite/main\", secretName: kopia-offsite}\n",
        "",
    ))
    .expect_err("no full maintenance");
    assert!(
        error.contains("error[replica-without-maintenance]:"),
        "{error}"
    );
    assert!(
        error.contains("field: spec.repositories[0].replicas"),
        "{error}"
    );
}

#[test]
fn creation_options_are_checked_against_kopias_names() {
    let objects = support::compile_text(&s3_plan(
        "p",
        "      creation: {hash: BLAKE3-256, splitter: DYNAMIC-4M-BUZHASH, ecc: REED-SOLOMON-CRC32, eccOverheadPercent: 2, retentionMode: GOVERNANCE, retentionPeriod: 720h, epochMinDuration: 1h}\n      throttle: {uploadBytesPerSecond: 1000}\n",
        "",
    ))
    .expect("compiles");
    let backup = support::pod_spec(cron_job(&objects, "p-web-backup"));
    assert_eq!(
        support::env_value(backup, "KOPIAPLAN_CREATE_FLAGS"),
        Some(
            "--block-hash=BLAKE3-256\n--object-splitter=DYNAMIC-4M-BUZHASH\n--ecc=REED-SOLOMON-CRC32\n--retention-mode=GOVERNANCE\n--ecc-overhead-percent=2\n--retention-period=720h"
        )
    );
    assert_eq!(
        support::env_value(backup, "KOPIAPLAN_PARAMETER_FLAGS"),
        Some("--epoch-min-duration=1h")
    );
    // Only backups create; every mover throttles.
    let maintenance = support::pod_spec(cron_job(&objects, "p-main-maintenance-full"));
    assert_eq!(
        support::env_value(maintenance, "KOPIAPLAN_CREATE_FLAGS"),
        Some("")
    );
    assert_eq!(
        support::env_value(maintenance, "KOPIAPLAN_THROTTLE_FLAGS"),
        Some("--upload-bytes-per-second=1000")
    );
    for (written, field, expected) in [
        ("hash: BLAKE3", "hash", "did you mean `BLAKE3-256`?"),
        ("encryption: AES256-GCM", "encryption", "Kopia accepts"),
        (
            "splitter: DYNAMIC-4M-BUZHAS",
            "splitter",
            "did you mean `DYNAMIC-4M-BUZHASH`?",
        ),
        ("retentionMode: governance", "retentionMode", "GOVERNANCE"),
        ("retentionPeriod: 30 days", "retentionPeriod", "Go duration"),
        (
            "epochMinDuration: \"-1h\"",
            "epochMinDuration",
            "Go duration",
        ),
    ] {
        let error = support::compile_text(&s3_plan(
            "p",
            &format!("      creation: {{{written}}}\n"),
            "",
        ))
        .expect_err(written);
        assert!(
            error.contains("error[not-a-kopia-value]:"),
            "{written}: {error}"
        );
        assert!(
            error.contains(&format!("field: spec.repositories[0].creation.{field}")),
            "{written}: {error}"
        );
        assert!(error.contains(expected), "{written}: {error}");
    }
}

#[test]
fn the_cluster_is_part_of_default_hostnames_and_of_the_default_owner() {
    let objects =
        support::compile_text(&s3_plan("p", "", "  cluster: cluster-a\n")).expect("compiles");
    let backup = support::pod_spec(cron_job(&objects, "p-web-backup"));
    assert_eq!(
        support::env_value(backup, "KOPIAPLAN_HOSTNAME"),
        Some("apps.cluster-a")
    );
    let maintenance = support::pod_spec(cron_job(&objects, "p-main-maintenance-full"));
    assert_eq!(
        support::env_value(maintenance, "KOPIAPLAN_HOSTNAME"),
        Some("kopiaplan.cluster-a")
    );
    // Without it, VolSync's identities.
    let objects = support::compile_text(&s3_plan("p", "", "")).expect("compiles");
    let backup = support::pod_spec(cron_job(&objects, "p-web-backup"));
    assert_eq!(
        support::env_value(backup, "KOPIAPLAN_HOSTNAME"),
        Some("apps")
    );
    let error = support::compile_text(&s3_plan("p", "", "  cluster: Cluster_A\n"))
        .expect_err("not a label");
    assert!(error.contains("field: spec.cluster"), "{error}");
}

#[test]
fn the_full_schedule_is_written_once() {
    let error = support::compile_text(&s3_plan(
        "p",
        "      maintenance: {schedule: \"0 3 * * *\", full: {schedule: \"0 4 * * *\"}}\n",
        "",
    ))
    .expect_err("two full schedules");
    assert!(error.contains("error[conflicting-fields]:"), "{error}");
    assert!(
        error.contains("field: spec.repositories[0].maintenance.full.schedule"),
        "{error}"
    );
    // The same value twice is no conflict.
    support::compile_text(&s3_plan(
        "p",
        "      maintenance: {schedule: \"0 3 * * *\", full: {schedule: \"0 3 * * *\"}}\n",
        "",
    ))
    .expect("compiles");
}

#[test]
fn explain_warns_when_a_replica_starts_with_a_backup_or_full_maintenance() {
    let replica = |schedule: &str| {
        s3_plan(
            "p",
            &format!(
                "      maintenance: {{full: {{schedule: \"30 3 * * *\"}}}}\n      replicas:\n        - {{name: offsite, url: \"b2://offsite/main\", secretName: kopia-offsite, schedule: \"{schedule}\"}}\n"
            ),
            "",
        )
    };
    let explain = |plan: &str| {
        let output = support::kopiaplan_with_stdin(
            &["explain", "-", "--now", "2026-03-27T12:00:00Z"],
            Some(plan),
        );
        assert!(output.status.success(), "{}", support::stderr(&output));
        support::stdout(&output)
    };
    // The backup runs at 01:00, full maintenance at 03:30.
    let text = explain(&replica("45 1 * * *"));
    assert!(
        text.contains("replica apps/main-offsite  (<stdin>:"),
        "{text}"
    );
    assert!(
        text.contains(
            "warning: replica apps/main-offsite starts in the same hour as backup apps/web on repository `main` (plan p), between 01:00 and 01:59 UTC every day"
        ),
        "{text}"
    );
    let text = explain(&replica("0 3 * * 0"));
    assert!(
        text.contains("starts in the same hour as maintenance apps/main-full on repository `main` (plan p), between 03:00 and 03:59 UTC on Sun"),
        "{text}"
    );
    // Quick maintenance (hourly) is no competitor; another hour, no warning.
    let text = explain(&replica("0 5 * * *"));
    assert!(!text.contains("starts in the same hour"), "{text}");
}

#[test]
fn a_seed_job_fills_a_new_empty_repository_from_its_replica() {
    requires!(Namespaces, Kopia);
    let mut cluster = with_replica("seed", ", seed: {token: lost-the-bucket}");
    let copied = cluster
        .pod("rk-local-replica-offsite")
        .secret("kopia-offsite", &[("KOPIA_PASSWORD", "unused")])
        .run();
    assert_eq!(copied.exit_code, 0, "{}", copied.logs());
    // Disaster: the repository is gone; its claim is new and empty.
    std::fs::remove_dir_all(cluster.repository()).expect("lose the repository");
    let job =
        support::pod::job_name_starting_with(&cluster.objects, "rk-local-replica-offsite-seed-");
    let offsite = cluster.claim("offsite-repo");
    let repository = cluster.claim("backup-repo");
    let result = support::pod::Pod::from_compiled(&cluster.objects, "Job", NAMESPACE, &job)
        .secret("kopia-local", &[("KOPIA_PASSWORD", PASSWORD)])
        .secret("kopia-offsite", &[("KOPIA_PASSWORD", "unused")])
        .real_kopia()
        .pvc("backup-repo", &repository)
        .pvc("offsite-repo", &offsite)
        .run();
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["direction"], "seed", "{line}");
    assert_eq!(line["snapshotCount"], 1, "{line}");
    // The repository is back, with its snapshot, and backups go on.
    assert_eq!(cluster.host().snapshots("web-data@apps:/data").len(), 1);
    cluster.run_ok("rk-web-data-backup");
    assert_eq!(cluster.host().snapshots("web-data@apps:/data").len(), 2);
}
