//! What a plan compiles to, checked on the objects themselves: names,
//! identities, schedules, copy methods, security, labels.

use crate::support;

use crate::test::Plan;
use kopiaplan::diagnostics::{Code, Severity};
use serde_json::Value;
use support::{env_value, pod_spec};

/// Objects of one kind that belong to backups (not the repository's
/// maintenance, which every plan with backups also gets).
fn find<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|o| o["kind"] == kind && component(o) == "backup")
        .collect()
}

fn component(object: &Value) -> &str {
    object["metadata"]["labels"]["app.kubernetes.io/component"]
        .as_str()
        .unwrap_or_default()
}

#[test]
fn a_backup_becomes_a_forbid_concurrency_cron_job_with_its_helpers() {
    let objects = Plan::nightly_with_backups("    - {name: web-data, pvc: web-data, schedule: \"*/30 * * * *\", timeZone: Europe/Berlin}\n").objects();
    let kinds: Vec<&str> = objects
        .iter()
        .filter(|o| component(o) == "backup")
        .filter_map(|o| o["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["ServiceAccount", "ConfigMap", "ConfigMap", "CronJob"]
    );
    let cron = find(&objects, "CronJob")[0];
    assert_eq!(cron["metadata"]["name"], "nightly-web-data-backup");
    assert_eq!(cron["spec"]["schedule"], "*/30 * * * *");
    assert_eq!(cron["spec"]["timeZone"], "Europe/Berlin");
    assert_eq!(cron["spec"]["concurrencyPolicy"], "Forbid");
    assert_eq!(cron["spec"]["suspend"], false);
    assert!(cron["spec"]["startingDeadlineSeconds"].is_i64());
    assert!(cron["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"].is_i64());
    assert!(cron["spec"]["jobTemplate"]["spec"]["ttlSecondsAfterFinished"].is_i64());
    assert_eq!(cron["spec"]["successfulJobsHistoryLimit"], 3);
    let account = find(&objects, "ServiceAccount")[0];
    assert_eq!(account["automountServiceAccountToken"], false);
    assert_eq!(pod_spec(cron)["automountServiceAccountToken"], false);
    assert_eq!(
        pod_spec(cron)["serviceAccountName"],
        "nightly-web-data-backup"
    );
}

#[test]
fn every_object_carries_the_labels_and_its_source_line() {
    let objects =
        Plan::nightly_with_backups("    - name: web-data\n      pvc: web-data\n").objects();
    for object in &objects {
        let labels = &object["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "kopiaplan");
        assert_eq!(labels["app.kubernetes.io/part-of"], "nightly");
        let expected = if object["metadata"]["name"]
            .as_str()
            .is_some_and(|n| n.ends_with("-maintenance-quick") || n.ends_with("-maintenance-full"))
        {
            "maintenance"
        } else {
            "backup"
        };
        assert_eq!(labels["app.kubernetes.io/component"], expected);
        assert!(labels["app.kubernetes.io/instance"].is_string());
        let source = object["metadata"]["annotations"]["kopiaplan.dev/source"]
            .as_str()
            .expect("source");
        assert!(
            source == "plan.yaml:13" || source == "plan.yaml:1" || source == "plan.yaml:8",
            "{source}"
        );
    }
}

#[test]
fn the_policy_is_keyed_by_the_snapshotted_source_and_merges_defaults() {
    let text = Plan::nightly_with_backups("    - name: web-data\n      pvc: web-data\n      sourcePathOverride: /var/lib/web\n      retain: {daily: 3}\n      policy: {files: {ignore: ['*.tmp']}}\n")
        .replace("    copyMethod: Direct\n", "    copyMethod: Direct\n    retain: {daily: 7, weekly: 4}\n    compression: zstd\n");
    let objects = text.objects();
    let policy_map = find(&objects, "ConfigMap")
        .into_iter()
        .find(|c| c["metadata"]["name"] == "nightly-web-data-backup-policy")
        .expect("policy ConfigMap");
    let policy: Value =
        serde_json::from_str(policy_map["data"]["policy.json"].as_str().expect("json"))
            .expect("valid JSON");
    let source = &policy["web-data@apps:/var/lib/web"];
    assert_eq!(source["retention"]["keepDaily"], 3);
    assert_eq!(source["retention"]["keepWeekly"], 4);
    assert_eq!(source["compression"]["compressorName"], "zstd");
    assert_eq!(source["files"]["ignore"][0], "*.tmp");
    assert!(kopiaplan::kopia::policy::check(source).is_empty());
    let cron = find(&objects, "CronJob")[0];
    assert_eq!(
        env_value(pod_spec(cron), "KOPIAPLAN_SOURCE_PATH"),
        Some("/var/lib/web")
    );
}

#[test]
fn identities_follow_the_volsync_rule_and_explicit_overrides() {
    let objects = Plan::nightly_with_backups(
        "    - name: web-data\n      pvc: a\n    - name: legacy\n      pvc: b\n      username: old-user\n      hostname: old-host\n",
    ).objects();
    let crons = find(&objects, "CronJob");
    let identity = |i: usize| {
        let pod = pod_spec(crons[i]);
        (
            env_value(pod, "KOPIAPLAN_USERNAME"),
            env_value(pod, "KOPIAPLAN_HOSTNAME"),
        )
    };
    assert_eq!(identity(0), (Some("old-user"), Some("old-host")));
    assert_eq!(identity(1), (Some("web-data"), Some("apps")));
}

#[test]
fn two_sources_writing_the_same_identity_collide() {
    let error = Plan::nightly_with_backups(
        "    - name: one\n      pvc: a\n      username: same\n    - name: two\n      pvc: b\n      username: same\n",
    ).errors();
    error
        .has("same Kopia source same@apps:/data")
        .has("plan.yaml:13")
        .has("plan.yaml:16")
        .has("error[source-collision]:");
}

/// Plan `app` and plan `app-web` in one namespace: `app`'s `web-x` and
/// `app-web`'s `x` give the same object names.
fn two_plans_whose_entries_meet(kind: &str, app: &str, app_web: &str) -> Plan {
    let plan = |name: &str, backup: &str, entries: &str| {
        format!(
            "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: {name}
  namespace: web
spec:
  repositories:
    - name: main
      secretName: kopia
  defaults:
    copyMethod: Direct
  backups:
    - name: {backup}
      pvc: {backup}
  {kind}:
{entries}"
        )
    };
    Plan::text(format!(
        "{}---\n{}",
        plan("app", "orders", app),
        plan("app-web", "logs", app_web)
    ))
}

#[test]
fn restores_and_drills_of_two_plans_may_not_share_object_names() {
    // Every kind of entry is checked, not only backups: the second entry
    // to claim a name is reported where it is written (line 36 is
    // `app-web`'s entry: its document starts on line 21).
    two_plans_whose_entries_meet(
        "restores",
        "    - name: web-x\n      from: orders\n      pvc: a\n      trigger: {manual: one}\n",
        "    - name: x\n      from: logs\n      pvc: b\n      trigger: {manual: two}\n",
    )
    .errors()
    .has("error[name-collision]: the ServiceAccount `web/app-web-x-restore` would be generated twice")
    .has("plan.yaml:36")
    .has("the restore `web-x` (plan.yaml:16) and the restore `x` (plan.yaml:36)");
    two_plans_whose_entries_meet(
        "verify",
        "    - name: web-x\n      from: orders\n",
        "    - name: x\n      from: logs\n",
    )
    .errors()
    .has("error[name-collision]: the CronJob `web/app-web-x-verify` would be generated twice");
}

#[test]
fn two_restores_may_not_create_the_same_claim() {
    Plan::nightly()
        .then(
            "  restores:
    - name: first
      from: web-data
      pvc: scratch
      create: {capacity: 1Gi}
      trigger: {manual: one}
    - name: second
      from: web-data
      pvc: scratch
      create: {capacity: 1Gi}
      trigger: {manual: two}
",
        )
        .errors()
        .has("error[name-collision]: the PersistentVolumeClaim `apps/scratch` would be generated twice")
        .has("plan.yaml:21");
}

#[test]
fn long_names_are_shortened_within_limits_and_stay_distinct() {
    let long = "a".repeat(55);
    let objects = Plan::nightly_with_backups(&format!(
        "    - name: one-{long}\n      pvc: a\n      cache: {{persistent: true}}\n    - name: two-{long}\n      pvc: b\n"
    )).objects();
    let mut names = std::collections::BTreeSet::new();
    for object in &objects {
        let name = object["metadata"]["name"].as_str().expect("name");
        let limit = if object["kind"] == "CronJob" { 52 } else { 63 };
        assert!(name.len() <= limit, "{name} is longer than {limit}");
        assert!(
            names.insert((object["kind"].to_string(), name.to_owned())),
            "{name} twice"
        );
    }
    let crons = find(&objects, "CronJob");
    assert_ne!(crons[0]["metadata"]["name"], crons[1]["metadata"]["name"]);

    // Kopia usernames are cut at 50 characters: names that differ only
    // after that would share a snapshot source, which is refused.
    let error = Plan::nightly_with_backups(&format!(
        "    - name: {long}-one\n      pvc: a\n    - name: {long}-two\n      pvc: b\n"
    ))
    .errors();
    error.has("would write the same Kopia source");
    error.has("error[source-collision]:");
}

#[test]
fn h_schedules_are_stable_and_spread() {
    let backups: String = (0..20)
        .map(|i| format!("    - name: app-{i}\n      pvc: p{i}\n      schedule: \"H H * * *\"\n"))
        .collect();
    let first = Plan::nightly_with_backups(&backups).objects();
    let second = Plan::nightly_with_backups(&backups).objects();
    let schedules = |objects: &[Value]| -> Vec<String> {
        find(objects, "CronJob")
            .iter()
            .map(|c| c["spec"]["schedule"].as_str().expect("s").to_owned())
            .collect()
    };
    assert_eq!(schedules(&first), schedules(&second));
    let distinct: std::collections::BTreeSet<_> = schedules(&first).into_iter().collect();
    assert!(distinct.len() >= 15, "{distinct:?}");
    assert!(distinct.iter().all(|s| !s.contains('H')));
}

#[test]
fn paused_suspends_and_manual_tokens_make_jobs() {
    let objects = Plan::nightly_with_backups(
        "    - {name: a, pvc: a, paused: true}\n    - {name: b, pvc: b, trigger: {manual: \"2026-11-26\"}}\n    - {name: c, pvc: c, trigger: {onDemand: true}}\n",
    ).objects();
    let crons = find(&objects, "CronJob");
    assert_eq!(crons[0]["metadata"]["name"], "nightly-a-backup");
    assert_eq!(crons[0]["spec"]["suspend"], true);
    assert_eq!(crons[1]["metadata"]["name"], "nightly-c-backup");
    assert_eq!(crons[1]["spec"]["suspend"], true);
    let jobs = find(&objects, "Job");
    assert_eq!(jobs.len(), 1);
    let name = jobs[0]["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert!(name.starts_with("nightly-b-backup-"), "{name}");
    assert_eq!(
        jobs[0]["metadata"]["annotations"]["kopiaplan.dev/trigger"],
        "2026-11-26"
    );
    // The same token gives the same Job (re-applying is a no-op); a new token a new one.
    let again =
        Plan::nightly_with_backups("    - {name: b, pvc: b, trigger: {manual: \"2026-11-26\"}}\n")
            .objects();
    assert_eq!(find(&again, "Job")[0]["metadata"]["name"], name.as_str());
    let next =
        Plan::nightly_with_backups("    - {name: b, pvc: b, trigger: {manual: \"2026-11-27\"}}\n")
            .objects();
    assert_ne!(find(&next, "Job")[0]["metadata"]["name"], name.as_str());
}

#[test]
fn direct_copies_mount_read_only_next_to_their_workload() {
    let objects =
        Plan::nightly_with_backups("    - {name: a, pvc: data, workloadSelector: {app: web}}\n")
            .objects();
    let pod = pod_spec(find(&objects, "CronJob")[0]);
    let data = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "data")
        .expect("data volume");
    assert_eq!(data["persistentVolumeClaim"]["claimName"], "data");
    assert_eq!(data["persistentVolumeClaim"]["readOnly"], true);
    let term = &pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(term["labelSelector"]["matchLabels"]["app"], "web");
    assert_eq!(term["topologyKey"], "kubernetes.io/hostname");
    let mount = pod["containers"][0]["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["name"] == "data")
        .expect("mount");
    assert_eq!(mount["readOnly"], true);
    assert_eq!(mount["mountPath"], "/data");
}

#[test]
fn clone_copies_use_an_ephemeral_volume_cloned_from_the_pvc() {
    let text = Plan::nightly_with_backups("    - {name: a, pvc: data, copyMethod: Clone}\n")
        .then("---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: apps}\nspec:\n  storageClassName: rbd\n  resources: {requests: {storage: 5Gi}}\n");
    let objects = text.objects();
    let pod = pod_spec(find(&objects, "CronJob")[0]);
    let data = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "data")
        .expect("data volume");
    let claim = &data["ephemeral"]["volumeClaimTemplate"]["spec"];
    assert_eq!(claim["dataSource"]["kind"], "PersistentVolumeClaim");
    assert_eq!(claim["dataSource"]["name"], "data");
    assert_eq!(claim["resources"]["requests"]["storage"], "5Gi");
    assert_eq!(claim["storageClassName"], "rbd");
    // The PVC itself passes through.
    let claims = objects
        .iter()
        .filter(|o| o["kind"] == "PersistentVolumeClaim")
        .count();
    assert_eq!(claims, 1);

    let error =
        Plan::nightly_with_backups("    - {name: a, pvc: data, copyMethod: Clone}\n").errors();
    error.has("set `capacity`");
    error.has("error[unknown-pvc-size]:");
}

#[test]
fn the_cache_is_an_empty_dir_or_a_persistent_claim() {
    let objects = Plan::nightly_with_backups("    - {name: a, pvc: a, cache: {capacity: 2Gi}}\n    - {name: b, pvc: b, cache: {capacity: 3Gi, persistent: true, storageClassName: fast}}\n").objects();
    let crons = find(&objects, "CronJob");
    let cache = |i: usize| {
        pod_spec(crons[i])["volumes"]
            .as_array()
            .expect("v")
            .iter()
            .find(|v| v["name"] == "cache")
            .cloned()
            .expect("cache")
    };
    assert_eq!(cache(0)["emptyDir"]["sizeLimit"], "2Gi");
    assert_eq!(
        cache(1)["persistentVolumeClaim"]["claimName"],
        "nightly-b-backup-cache"
    );
    let pvc = find(&objects, "PersistentVolumeClaim")[0];
    assert_eq!(pvc["metadata"]["name"], "nightly-b-backup-cache");
    assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "3Gi");
    assert_eq!(pvc["spec"]["storageClassName"], "fast");
}

#[test]
fn movers_meet_the_restricted_pod_security_standard_by_default() {
    let objects = Plan::nightly_with_backups("    - {name: a, pvc: a}\n").objects();
    let pod = pod_spec(find(&objects, "CronJob")[0]);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0]["securityContext"];
    assert_eq!(container["allowPrivilegeEscalation"], false);
    assert_eq!(container["readOnlyRootFilesystem"], true);
    assert_eq!(
        container["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    assert!(container["capabilities"].get("add").is_none());
    for volume in pod["volumes"].as_array().expect("volumes") {
        assert!(volume.get("hostPath").is_none());
    }
}

#[test]
fn privileged_adds_exactly_root_and_three_capabilities() {
    let objects =
        Plan::nightly_with_backups("    - {name: a, pvc: a, mover: {privileged: true}}\n")
            .objects();
    let pod = pod_spec(find(&objects, "CronJob")[0]);
    assert_eq!(pod["securityContext"]["runAsUser"], 0);
    let container = &pod["containers"][0]["securityContext"];
    assert_eq!(
        container["capabilities"]["add"],
        serde_json::json!(["CHOWN", "DAC_OVERRIDE", "FOWNER"])
    );
    assert_eq!(
        container["capabilities"]["drop"],
        serde_json::json!(["ALL"])
    );
    assert_eq!(container["allowPrivilegeEscalation"], false);
    assert_eq!(container["privileged"], false);

    let error = Plan::nightly_with_backups(
        "    - {name: a, pvc: a, mover: {securityContext: {runAsUser: 0}}}\n",
    )
    .errors();
    error.has("privileged: true");
    error.has("error[root-needs-privileged]:");
}

#[test]
fn user_values_reach_the_mover_verbatim_through_env_and_argv() {
    let objects = Plan::nightly_with_backups(
        "    - name: a\n      pvc: a\n      additionalArgs: ['--tags=k:$(HOME)', '--description=a | b \"c\"']\n      actions: {beforeSnapshot: 'echo $(date) $$'}\n",
    ).objects();
    let pod = pod_spec(find(&objects, "CronJob")[0]);
    assert_eq!(
        pod["containers"][0]["args"],
        serde_json::json!(["--tags=k:$$(HOME)", "--description=a | b \"c\""])
    );
    assert_eq!(
        env_value(pod, "KOPIAPLAN_BEFORE_SNAPSHOT"),
        Some("echo $$(date) $$$$")
    );
    // The scripts ConfigMap holds no user value.
    let scripts = find(&objects, "ConfigMap")
        .into_iter()
        .find(|c| {
            c["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.contains("scripts"))
        })
        .expect("scripts");
    assert!(!scripts["data"].to_string().contains("echo $(date)"));
}

#[test]
fn the_repository_secret_in_the_input_is_checked() {
    let error = Plan::nightly_with_backups("    - {name: a, pvc: a}\n")
        .then("---\napiVersion: v1\nkind: Secret\nmetadata: {name: kopia-config, namespace: apps}\nstringData: {KOPIA_REPOSITORY: 's3://b'}\n")
        .errors();
    error.has("has no `KOPIA_PASSWORD`");
    error.has("error[repository-secret-missing-key]:");
}

#[test]
fn too_many_additional_arguments_are_refused() {
    let args: Vec<String> = (0..21).map(|i| format!("'--tags=t:{i}'")).collect();
    let error = Plan::nightly_with_backups(&format!(
        "    - {{name: a, pvc: a, additionalArgs: [{}]}}\n",
        args.join(", ")
    ))
    .errors();
    error.has("at most 20");
    error.has("error[out-of-range]:");
}

#[test]
fn additional_arguments_are_checked_against_kopias_grammar() {
    let error = Plan::nightly_with_backups(
        "    - name: a\n      pvc: a\n      additionalArgs:\n        - --tags=ok:1\n        - --password=hunter2\n        - --tag=x\n",
    ).errors();
    error.has("plan.yaml:17:11");
    error.has("field: spec.backups[0].additionalArgs[1]");
    error.has("`--password` is not allowed here");
    error.has("did you mean `--tags`?");
    error.lacks("additionalArgs[0]");
    error.has("error[invalid-additional-argument]: `--password`");
}

#[test]
fn a_persistent_cache_on_a_clone_without_fs_group_is_warned_about() {
    let text = Plan::nightly_with_backups(
        "    - {name: a, pvc: a, copyMethod: Clone, capacity: 1Gi, cache: {persistent: true}}\n",
    )
    .to_string();
    let mut sources = kopiaplan::diagnostics::SourceMap::default();
    sources.add("plan.yaml".into(), text);
    let compiled = kopiaplan::compile_sources(&sources).expect("a warning is not an error");
    let warning = compiled.diagnostics.iter().next().expect("a warning");
    assert_eq!(
        (warning.severity, warning.code),
        (Severity::Warning, Code::MayNotBeWritable),
        "{}",
        warning.message
    );
    assert!(warning.help.as_deref().unwrap_or("").contains("fsGroup"));
}

#[test]
fn a_repository_claim_gets_the_movers_fs_group_unless_files_would_be_re_owned() {
    let text = "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata: {name: nightly, namespace: apps}
spec:
  repositories:
    - {name: nfs, secretName: kopia-nfs, filesystem: {claimName: backup-nfs}}
  backups:
    - {name: direct, pvc: a, copyMethod: Direct}
    - {name: cloned, pvc: b, copyMethod: Clone, capacity: 1Gi}
  restores:
    - {name: back, from: direct, pvc: c, trigger: {onDemand: true}}
  verify:
    - {from: direct}
";
    let mut sources = kopiaplan::diagnostics::SourceMap::default();
    sources.add("plan.yaml".into(), text.into());
    let compiled = kopiaplan::compile_sources(&sources).expect("warnings are not errors");
    let objects: Vec<Value> = compiled
        .objects
        .into_iter()
        .map(kopiaplan::output::Object::into_value)
        .collect();
    let fs_group = |name: &str| {
        let cron = objects
            .iter()
            .find(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no CronJob {name}"));
        pod_spec(cron)["securityContext"]["fsGroup"].clone()
    };
    // Every mover that mounts the claim may write to it...
    for name in [
        "nightly-direct-backup",
        "nightly-back-restore",
        "nightly-direct-verify",
        "nightly-nfs-maintenance-quick",
        "nightly-nfs-maintenance-full",
    ] {
        assert_eq!(fs_group(name), 65532, "{name}");
    }
    // ...but a clone is never re-owned (the snapshot would record the new
    // group): that one gets a warning instead.
    assert_eq!(fs_group("nightly-cloned-backup"), Value::Null);
    let warnings: Vec<_> = compiled
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::MayNotBeWritable)
        .collect();
    assert_eq!(warnings.len(), 1, "{:?}", compiled.diagnostics);
    assert!(warnings[0].message.contains("`cloned`"));
}

#[test]
fn a_plan_with_three_type_errors_gets_three_diagnostics_in_one_run() {
    let text = Plan::nightly_with_backups(
        "    - name: web\n      pvc: 5\n      paused: maybe\n      parallelism: many\n",
    )
    .to_string();
    let mut sources = kopiaplan::diagnostics::SourceMap::default();
    sources.add("plan.yaml".into(), text);
    let diagnostics = kopiaplan::compile_sources(&sources).expect_err("three type errors");
    let found: Vec<(Option<String>, String)> = diagnostics
        .iter()
        .map(|d| (d.field_path.clone(), d.message.clone()))
        .collect();
    let expected = [
        ("spec.backups[0].pvc", "expected a string"),
        ("spec.backups[0].paused", "expected a boolean"),
        ("spec.backups[0].parallelism", "expected an integer"),
    ]
    .map(|(field, message)| (Some(field.to_owned()), message.to_owned()));
    assert_eq!(found, expected);
    assert!(
        diagnostics.iter().all(|d| d.code.as_str() == "wrong-type"),
        "{diagnostics:?}"
    );
}

/// `compression` and `policy.compression.compressorName`, or `retain` and
/// `policy.retention`, on one level set one Kopia setting: two values are
/// an error naming both places; the same value twice, or an entry's
/// shortcut over the defaults' `policy`, is fine.
#[test]
fn a_shortcut_and_the_policy_block_may_not_disagree() {
    let errors = Plan::nightly_with_backups(
        "    - name: a\n      pvc: a\n      compression: zstd\n      policy: {compression: {compressorName: s2-default}}\n",
    )
    .errors();
    errors
        .has("error[conflicting-fields]: Kopia's `compression.compressorName` is set twice")
        .has("\"zstd\" here and to \"s2-default\" in `policy`")
        .has("field: spec.backups[0].compression")
        .has("remove `policy.compression.compressorName`");
    let errors = Plan::nightly_with_backups(
        "    - name: a\n      pvc: a\n      retain: {daily: 7, weekly: 4}\n      policy: {retention: {keepDaily: 14}}\n",
    )
    .errors();
    errors
        .has("error[conflicting-fields]: Kopia's `retention.keepDaily` is set twice, to 7 here and to 14")
        .has("field: spec.backups[0].retain");
    errors.lacks("keepWeekly");

    Plan::nightly_with_backups(
        "    - name: a\n      pvc: a\n      retain: {daily: 7}\n      policy: {retention: {keepDaily: 7}}\n",
    )
    .objects();
    Plan::nightly()
        .replace(
            "copyMethod: Direct",
            "copyMethod: Direct\n    policy: {retention: {keepDaily: 30}}",
        )
        .replace("pvc: web-data", "pvc: web-data\n      retain: {daily: 7}")
        .objects();
}

/// The entry wins over the plan's defaults both ways: its `retain` over the
/// defaults' `policy`, and its `policy` over the defaults' `retain` and
/// `compression`.
#[test]
fn the_entry_wins_over_the_defaults_shortcuts_and_policy() {
    let effective = |defaults: &str, entry: &str| {
        let objects = Plan::nightly()
            .replace(
                "copyMethod: Direct",
                &format!("copyMethod: Direct\n    {defaults}"),
            )
            .replace("pvc: web-data", &format!("pvc: web-data\n      {entry}"))
            .objects();
        let map = objects
            .iter()
            .find(|o| {
                o["kind"] == "ConfigMap"
                    && o["metadata"]["name"] == "nightly-web-data-backup-policy"
            })
            .expect("the policy ConfigMap");
        let text = map["data"]
            .as_object()
            .expect("data")
            .values()
            .next()
            .expect("one file");
        let policies: serde_json::Value =
            serde_json::from_str(text.as_str().expect("text")).expect("JSON");
        policies
            .as_object()
            .expect("by source")
            .values()
            .next()
            .expect("one")
            .clone()
    };
    let policy = effective("retain: {daily: 7}", "policy: {retention: {keepDaily: 14}}");
    assert_eq!(policy["retention"]["keepDaily"], 14, "{policy}");
    let policy = effective("policy: {retention: {keepDaily: 30}}", "retain: {daily: 7}");
    assert_eq!(policy["retention"]["keepDaily"], 7, "{policy}");
    let policy = effective(
        "compression: zstd",
        "policy: {compression: {compressorName: s2-default}}",
    );
    assert_eq!(
        policy["compression"]["compressorName"], "s2-default",
        "{policy}"
    );
    // Periods the entry does not set still come from the defaults.
    let policy = effective(
        "retain: {daily: 7, weekly: 4}",
        "policy: {retention: {keepDaily: 14}}",
    );
    assert_eq!(policy["retention"]["keepWeekly"], 4, "{policy}");
}

/// Six explicit zeros keep no snapshot: maintenance would delete them all.
/// A period left out is inherited from Kopia's global policy.
#[test]
fn a_retention_that_keeps_nothing_is_refused() {
    let zeros = "{latest: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0}";
    Plan::nightly_with_backups(&format!("    - {{name: a, pvc: a, retain: {zeros}}}\n"))
        .errors()
        .has("error[keeps-nothing]")
        .has("field: spec.backups[0].retain")
        .has("`paused: true`");
    // Across levels and through `policy` too.
    Plan::nightly()
        .replace(
            "copyMethod: Direct",
            &format!("copyMethod: Direct\n    retain: {zeros}"),
        )
        .errors()
        .has("error[keeps-nothing]");
    Plan::nightly_with_backups(
        "    - {name: a, pvc: a, retain: {latest: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0}}\n",
    )
    .objects();
    Plan::nightly_with_backups(&format!(
        "    - {{name: a, pvc: a, retain: {}}}\n",
        zeros.replace("daily: 0", "daily: 1")
    ))
    .objects();
}

#[test]
fn policy_values_are_checked_against_what_kopia_accepts() {
    let with_policy = |policy: &str| {
        Plan::nightly_with_backups(&format!(
            "    - name: web-data\n      pvc: web-data\n      policy: {policy}\n"
        ))
    };
    // Names from Kopia 0.23.1's `policy set` flags, with the nearest one.
    with_policy("{splitter: {algorithm: DYNAMIC-4M-BUZHAS}}")
        .errors()
        .has("error[invalid-policy]: `DYNAMIC-4M-BUZHAS` is not a value Kopia accepts for `splitter.algorithm`")
        .has("did you mean `DYNAMIC-4M-BUZHASH`?")
        .lacks("inherit");
    with_policy("{metadataCompression: {compressorName: zstd-fastest-ever}}")
        .errors()
        .has("is not a value Kopia accepts for `metadataCompression.compressorName`");
    with_policy("{actions: {beforeSnapshotRoot: {script: x, mode: sometimes}}}")
        .errors()
        .has("`sometimes` is not a value Kopia accepts for `actions.beforeSnapshotRoot.mode`")
        .has("essential, optional, async");
    // Ranges: counts and sizes never negative, modes and times within theirs.
    for (policy, message) in [
        (
            "{retention: {keepDaily: -3}}",
            "`retention.keepDaily` is -3, out of range",
        ),
        (
            "{files: {maxFileSize: -1}}",
            "`files.maxFileSize` is -1, out of range",
        ),
        (
            "{osSnapshots: {volumeShadowCopy: {enable: 3}}}",
            "`osSnapshots.volumeShadowCopy.enable` is 3, out of range",
        ),
        (
            "{scheduling: {timeOfDay: [{hour: 24, min: 0}]}}",
            "`scheduling.timeOfDay[0].hour` is 24, out of range",
        ),
        (
            "{logging: {entries: {snapshotted: 11}}}",
            "`logging.entries.snapshotted` is 11, out of range",
        ),
    ] {
        with_policy(policy)
            .errors()
            .has(message)
            .has("error[invalid-policy]");
    }
    // What Kopia accepts passes.
    with_policy(
        "{splitter: {algorithm: FIXED-4M}, osSnapshots: {volumeShadowCopy: {enable: 2}}, \
         scheduling: {timeOfDay: [{hour: 23, min: 59}]}, logging: {entries: {snapshotted: 10}}, \
         retention: {keepLatest: 0, keepDaily: 7}, compression: {compressorName: none}}",
    )
    .objects();
}
