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
                .is_some_and(|n| n.ends_with("maintenance-full"))
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

// Identities VolSync really wrote (issue 14, point 6).

/// A ReplicationSource named `name` in `apps`, Direct, with `extra` lines
/// in its `spec.kopia`.
fn source_named(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata:
  name: {name}
  namespace: apps
spec:
  sourcePVC: web-data
  trigger:
    schedule: \"0 2 * * *\"
  kopia:
    repository: kopia-secret
    copyMethod: Direct
{extra}"
    )
}

#[test]
fn a_username_volsync_cut_to_end_in_a_dash_is_reachable_and_survives_convert() {
    // VolSync cuts the sanitised name to 50 characters after trimming:
    // 49 `a`s and `-tail` became 49 `a`s and `-`.
    let name = format!("{}-tail", "a".repeat(49));
    let expected = format!("{}-", "a".repeat(49));
    let objects = Plan::text(source_named(&name, "")).objects();
    let cron = objects
        .of_kind("CronJob")
        .into_iter()
        .find(|c| env(c, "KOPIAPLAN_USERNAME") != "maintenance")
        .expect("the backup CronJob");
    assert_eq!(env(cron, "KOPIAPLAN_USERNAME"), expected);

    // The converted plan names that username explicitly, and compiles.
    let converted = crate::test::Test::new()
        .file("rs.yaml", source_named(&name, ""))
        .args(["convert", "{dir}/rs.yaml"])
        .stdout_has(&format!("username: {expected}\n"))
        .run();
    let objects = Plan::text(converted.stdout).objects();
    let cron = objects
        .of_kind("CronJob")
        .into_iter()
        .find(|c| env(c, "KOPIAPLAN_USERNAME") != "maintenance")
        .expect("the backup CronJob");
    assert_eq!(env(cron, "KOPIAPLAN_USERNAME"), expected);
}

#[test]
fn a_name_longer_than_63_characters_keeps_volsyncs_identity_with_shortened_object_names() {
    let name = "nightly-backup-of-the-postgres-primary-database-volume-in-the-payments-cluster";
    assert!(name.len() > 63);
    let objects = Plan::text(source_named(name, "")).objects();
    let crons = objects.of_kind("CronJob");
    assert_eq!(crons.len(), 2, "a backup and its maintenance");
    let cron = crons
        .iter()
        .find(|c| env(c, "KOPIAPLAN_USERNAME") != "maintenance")
        .expect("the backup CronJob");
    // VolSync's username: the first 50 characters of the name.
    assert_eq!(env(cron, "KOPIAPLAN_USERNAME"), &name[..50]);
    assert_eq!(env(cron, "KOPIAPLAN_HOSTNAME"), "apps");
    // Every object name fits Kubernetes' limits.
    for object in objects.iter() {
        let object_name = object["metadata"]["name"].as_str().expect("name");
        let limit = if object["kind"] == "CronJob" { 52 } else { 63 };
        assert!(object_name.len() <= limit, "{object_name}");
    }
    let label = cron["metadata"]["labels"]["app.kubernetes.io/instance"].as_str();
    assert!(label.is_some_and(|l| l.len() <= 63), "{label:?}");
}

#[test]
fn an_explicit_username_volsync_accepted_is_used_verbatim() {
    for username in ["db.backup_1", "A", "x--y", &"u".repeat(70)] {
        let objects = Plan::text(source_named(
            "web-data",
            &format!("    username: \"{username}\"\n"),
        ))
        .objects();
        let cron = objects.named("CronJob", "volsync-web-data-backup");
        assert_eq!(env(cron, "KOPIAPLAN_USERNAME"), username);
    }
}

// Arguments as VolSync users wrote them (issue 14, point 7).

#[test]
fn a_flag_and_its_value_in_two_arguments_are_one_argument() {
    let objects = Plan::nightly_with_backups(
        "    - name: a\n      pvc: a\n      additionalArgs: ['--tags', 'tier:gold', '--description', 'nightly run']\n",
    )
    .objects();
    let cron = objects.named("CronJob", "nightly-a-backup");
    assert_eq!(
        pod_spec(cron)["containers"][0]["args"],
        serde_json::json!(["--tags=tier:gold", "--description=nightly run"])
    );
    // A flag that takes no value stays alone; a missing value is still an error
    // pointing at the flag.
    Plan::nightly_with_backups("    - name: a\n      pvc: a\n      additionalArgs: ['--tags']\n")
        .errors()
        .has("`--tags` needs a value")
        .has("additionalArgs[0]");
    let errors = Plan::nightly_with_backups(
        "    - name: a\n      pvc: a\n      additionalArgs: ['--tags', 'a:b', '--bogus', 'x']\n",
    )
    .errors();
    errors
        .has("`--bogus` is not a flag")
        .has("additionalArgs[2]");
}

#[test]
fn parallel_in_volsync_additional_args_becomes_the_policys_upload_parallelism() {
    for args in [r#"["--parallel=8"]"#, r#"["--parallel", "8"]"#] {
        let text = source_named("web-data", &format!("    additionalArgs: {args}\n"));
        let ran = crate::test::Test::new()
            .file("rs.yaml", text.clone())
            .args(["compile", "{dir}/rs.yaml"])
            .stderr_has("warning[volsync-field-translated]: `--parallel=8` is not passed to `kopia snapshot create`")
            .stderr_has("upload.maxParallelFileReads: 8")
            .run();
        let _ = ran;
        let objects = Plan::text(text).objects();
        let cron = objects.named("CronJob", "volsync-web-data-backup");
        assert_eq!(
            pod_spec(cron)["containers"][0]["args"],
            Value::Null,
            "{args}"
        );
        let policy = objects.named("ConfigMap", "volsync-web-data-backup-policy");
        let policies: Value =
            serde_json::from_str(policy["data"]["policy.json"].as_str().expect("policy.json"))
                .expect("JSON");
        assert_eq!(
            policies["web-data@apps:/data"]["upload"]["maxParallelFileReads"], 8,
            "{policies}"
        );
    }
}

// VolSync's mount semantics (issue 14, point 3).

/// The docs' database example: a `beforeSnapshot` action dumps into
/// `/data`. A Clone copy is the mover's own, mounted read-write, so the
/// dump is written there and backed up, and the application's volume is
/// untouched; a Direct copy stays read-only, and the same action fails.
#[test]
fn a_before_snapshot_action_writes_into_a_clone_but_not_into_a_direct_copy() {
    use crate::support::kopia::HostKopia;
    use crate::support::pod::Pod;
    use crate::support::requires::requires;
    requires!(Namespaces, Kopia);
    let run = |name: &str, copy: &str| {
        let data = support::scratch(&format!("mounts-{name}-data"));
        std::fs::write(data.join("table.csv"), "1,2,3\n").expect("write");
        support::tree::owned_by_the_application(&data);
        let claim = support::scratch(&format!("mounts-{name}-repo"));
        support::pod::chmod_path(&claim, 0o777);
        let text = source_named(
            "db",
            "    repositoryPVC: kopia-repo\n    actions:\n      beforeSnapshot: \"echo dumped > /data/dump.sql\"\n    capacity: 1Gi\n",
        )
        .replace("copyMethod: Direct", &format!("copyMethod: {copy}"));
        let objects = support::compile_json(&format!("mounts-{name}"), &text);
        let result = Pod::from_compiled(&objects, "CronJob", "apps", "volsync-db-backup")
            .secret("kopia-secret", &[("KOPIA_PASSWORD", "pw")])
            .pvc("web-data", &data)
            .pvc("kopia-repo", &claim)
            .real_kopia()
            .timeout(std::time::Duration::from_secs(120))
            .run();
        (result, data, claim)
    };

    let (clone, data, claim) = run("clone", "Clone");
    assert_eq!(clone.exit_code, 0, "{}", clone.logs());
    assert!(
        !data.join("dump.sql").exists(),
        "the action wrote into the application's volume, not its clone"
    );
    let host = HostKopia::filesystem("mounts-clone", &claim.join("repository"), "pw");
    let snapshots = host.snapshots("db@apps:/data");
    assert_eq!(snapshots.len(), 1);
    let id = snapshots[0]["id"].as_str().expect("id");
    let listing = host.ok(&["ls", id]);
    assert!(
        listing.contains("dump.sql"),
        "the dump was backed up:\n{listing}"
    );

    let (direct, data, _) = run("direct", "Direct");
    assert_ne!(direct.exit_code, 0, "{}", direct.logs());
    assert!(
        direct.logs().contains("Read-only file system"),
        "{}",
        direct.logs()
    );
    assert!(!data.join("dump.sql").exists());
}

#[test]
fn data_is_read_only_for_direct_and_read_write_for_copies_unless_the_plan_says() {
    let objects = Plan::nightly_with_backups(
        "    - {name: direct, pvc: a}
    - {name: direct-rw, pvc: a, readOnly: false}
    - {name: clone, pvc: a, copyMethod: Clone, capacity: 1Gi}
    - {name: clone-ro, pvc: a, copyMethod: Clone, capacity: 1Gi, readOnly: true}
",
    )
    .objects();
    for (entry, read_only) in [
        ("direct", true),
        ("direct-rw", false),
        ("clone", false),
        ("clone-ro", true),
    ] {
        let cron = objects.named("CronJob", &format!("nightly-{entry}-backup"));
        let mounts = pod_spec(cron)["containers"][0]["volumeMounts"]
            .as_array()
            .expect("mounts");
        let data = mounts
            .iter()
            .find(|m| m["mountPath"] == "/data")
            .expect("/data");
        assert_eq!(data["readOnly"], read_only, "{entry}: {data}");
    }
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
        "- [deletions] VolSync: the temporary PVC (and VolumeSnapshot) deleted by the operator",
    ] {
        assert!(source.contains(expected), "lacks {expected:?}:\n{source}");
    }
    // Clone copies are mounted read-write and the repository is where
    // VolSync's mover put it, as VolSync did: no difference is reported.
    for same in [
        "[mounts] VolSync: a clone of the PVC mounted read-write",
        "connected to the repository its mover script derived",
    ] {
        assert!(
            !source.contains(same),
            "{same:?} is no difference:\n{source}"
        );
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
