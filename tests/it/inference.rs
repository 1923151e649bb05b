//! Mover settings taken from the workload that mounts a backup's claim
//! (issue 22): every workload kind kopiaplan reads gives them, the one
//! that wins when several mount the claim does not depend on the order of
//! documents, and `--no-infer` turns each inferred setting off, in every
//! subcommand that compiles.

use serde_json::{Value, json};

use crate::support;
use crate::test::{Plan, Test};

/// The pod of every workload below: its own user and groups, node
/// selection and tolerations, mounting the claim `shared`.
const POD: &str = "{securityContext: {runAsUser: 1001, runAsGroup: 1002, fsGroup: 1003}, \
nodeSelector: {pool: edge}, \
tolerations: [{key: edge, operator: Exists, effect: NoSchedule}], \
affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [b]}]}]}}}, \
containers: [{name: app, image: busybox, volumeMounts: [{name: data, mountPath: /data}]}], \
volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]}";

const CLAIM: &str = "apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared, namespace: shop}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
";

/// A workload of `kind` named `name`, labelled `app: <name>`, whose pods
/// are `pod`.
fn workload(kind: &str, name: &str, pod: &str) -> String {
    let head = |api: &str| {
        format!("apiVersion: {api}\nkind: {kind}\nmetadata: {{name: {name}, namespace: shop}}\n")
    };
    match kind {
        "Pod" => format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: shop, labels: {{app: {name}}}}}\nspec: {pod}\n"
        ),
        "Deployment" | "DaemonSet" => format!(
            "{}spec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec: {pod}\n",
            head("apps/v1")
        ),
        "Job" => format!(
            "{}spec:\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec: {pod}\n",
            head("batch/v1")
        ),
        "CronJob" => format!(
            "{}spec:\n  schedule: \"0 1 * * *\"\n  jobTemplate:\n    spec:\n      template:\n        metadata: {{labels: {{app: {name}}}}}\n        spec: {pod}\n",
            head("batch/v1")
        ),
        other => panic!("no workload of kind {other} here"),
    }
}

/// A plan in `shop` backing up `shared` with `settings` (YAML flow
/// mapping entries, such as `copyMethod: Direct`).
fn plan(settings: &str) -> String {
    format!(
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata: {{name: shop, namespace: shop}}
spec:
  repositories:
    - {{name: main, secretName: kopia, url: \"s3://bucket/shop\"}}
  backups:
    - {{name: shared, pvc: shared, {settings}}}
"
    )
}

/// `documents` (the workloads), the claim and the plan, as one input.
fn input(documents: &[String], settings: &str) -> Plan {
    let mut text: String = documents.iter().map(|d| format!("---\n{d}")).collect();
    text.push_str(&format!("---\n{CLAIM}---\n{}", plan(settings)));
    Plan::text(text)
}

fn mover_pod(objects: &[Value]) -> &Value {
    let cron_job = objects
        .iter()
        .find(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == "shop-shared-backup")
        .expect("the backup's CronJob");
    support::pod_spec(cron_job)
}

fn pod_affinity_labels(pod: &Value) -> &Value {
    &pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"]
        ["matchLabels"]
}

#[test]
fn every_workload_kind_gives_the_user_groups_and_placement_of_its_pods() {
    for kind in ["Deployment", "DaemonSet", "Pod", "Job", "CronJob"] {
        let input = input(&[workload(kind, "app", POD)], "copyMethod: Direct");
        let objects = input.objects();
        let pod = mover_pod(&objects);
        let context = &pod["securityContext"];
        assert_eq!(context["runAsUser"], 1001, "{kind}: {context}");
        assert_eq!(context["runAsGroup"], 1002, "{kind}: {context}");
        assert_eq!(context["fsGroup"], 1003, "{kind}: {context}");
        assert_eq!(pod["nodeSelector"], json!({"pool": "edge"}), "{kind}");
        assert_eq!(pod["tolerations"][0]["key"], "edge", "{kind}");
        assert_eq!(
            pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
                [0]["matchExpressions"][0]["key"],
            "zone",
            "{kind}"
        );
        Test::new()
            .args(["explain", "-"])
            .stdin(input)
            .stdout_has(&format!(
                "mover.securityContext.runAsGroup = 1002  (from {kind}/app)"
            ))
            .stdout_has(&format!(
                "mover.nodeSelector = {{\"pool\":\"edge\"}}  (from {kind}/app)"
            ))
            .run();
    }
}

#[test]
fn a_direct_copy_runs_beside_the_pods_that_run_all_the_time_not_beside_a_jobs() {
    for kind in ["Deployment", "DaemonSet", "Pod"] {
        let objects = input(&[workload(kind, "app", POD)], "copyMethod: Direct").objects();
        assert_eq!(
            pod_affinity_labels(mover_pod(&objects)),
            &json!({"app": "app"}),
            "{kind}"
        );
    }
    // A Job's or CronJob's pod runs now and then: a mover required beside
    // it would wait for the next run, and its backup would not happen.
    for kind in ["Job", "CronJob"] {
        let objects = input(&[workload(kind, "app", POD)], "copyMethod: Direct").objects();
        let pod = mover_pod(&objects);
        assert!(pod["affinity"]["podAffinity"].is_null(), "{kind}: {pod}");
        assert_eq!(pod["securityContext"]["fsGroup"], 1003, "{kind}");
    }
}

#[test]
fn of_several_workloads_mounting_a_claim_the_applications_own_wins_whatever_the_order() {
    // A CronJob that dumps the volume now and then, and two Deployments:
    // the Deployments run the application; `api` sorts before `web`.
    let dump = workload(
        "CronJob",
        "dump",
        &POD.replace("fsGroup: 1003", "fsGroup: 4000"),
    );
    let web = workload(
        "Deployment",
        "web",
        &POD.replace("fsGroup: 1003", "fsGroup: 3000"),
    );
    let api = workload(
        "Deployment",
        "api",
        &POD.replace("fsGroup: 1003", "fsGroup: 2000"),
    );
    let orders = [
        [dump.clone(), web.clone(), api.clone()],
        [api.clone(), web.clone(), dump.clone()],
        [web.clone(), dump.clone(), api.clone()],
    ];
    for documents in &orders {
        let objects = input(documents, "copyMethod: Direct").objects();
        let pod = mover_pod(&objects);
        assert_eq!(pod["securityContext"]["fsGroup"], 2000, "{documents:?}");
        assert_eq!(pod_affinity_labels(pod), &json!({"app": "api"}));
    }
    let reports: Vec<String> = orders
        .iter()
        .map(|documents| {
            Test::new()
                .args(["explain", "--now", "2026-06-01T00:00:00Z", "-"])
                .stdin(input(documents, "copyMethod: Direct"))
                .stdout_has("mover.securityContext.fsGroup = 2000  (from Deployment/api, before Deployment/web, CronJob/dump that mount the claim too)")
                .run()
                .stdout
        })
        .collect();
    assert_eq!(reports[0], reports[1]);
    assert_eq!(reports[0], reports[2]);
    // Without the Deployments, the CronJob's settings apply.
    let objects = input(
        std::slice::from_ref(&dump),
        "copyMethod: Clone, capacity: 1Gi",
    )
    .objects();
    assert_eq!(mover_pod(&objects)["securityContext"]["fsGroup"], 4000);
}

#[test]
fn no_infer_leaves_the_workload_selector_placement_user_and_group_unset() {
    let input = input(&[workload("Deployment", "app", POD)], "copyMethod: Direct");
    let inferred = Test::new()
        .args(["compile", "--format", "json", "-"])
        .stdin(input.clone())
        .run();
    let not_inferred = Test::new()
        .args(["compile", "--no-infer", "--format", "json", "-"])
        .stdin(input)
        .run();
    let pod = |stdout: &str| -> Value {
        let list: Value = serde_json::from_str(stdout).expect("a JSON List");
        mover_pod(list["items"].as_array().expect("items")).clone()
    };
    let (inferred, not_inferred) = (pod(&inferred.stdout), pod(&not_inferred.stdout));
    // Each setting is there with inference, so that its absence below is
    // `--no-infer`'s doing.
    assert_eq!(pod_affinity_labels(&inferred), &json!({"app": "app"}));
    assert!(!inferred["tolerations"].is_null());
    assert!(!inferred["nodeSelector"].is_null());
    assert!(!inferred["affinity"]["nodeAffinity"].is_null());
    assert_eq!(inferred["securityContext"]["runAsUser"], 1001);
    assert_eq!(inferred["securityContext"]["runAsGroup"], 1002);

    assert!(
        not_inferred["affinity"].is_null(),
        "no workload selector, no node affinity: {}",
        not_inferred["affinity"]
    );
    assert!(not_inferred["tolerations"].is_null(), "{not_inferred}");
    assert!(not_inferred["nodeSelector"].is_null(), "{not_inferred}");
    let context = &not_inferred["securityContext"];
    assert_eq!(
        context["runAsUser"], 65532,
        "the mover's own user: {context}"
    );
    assert_eq!(context["runAsGroup"], 65532, "{context}");
    assert!(context["fsGroup"].is_null(), "{context}");
}

/// A backup with a persistent cache, which the mover's user may not be
/// able to write without the application's fsGroup.
const CACHED: &str = "copyMethod: Clone, capacity: 1Gi, cache: {persistent: true, capacity: 1Gi}";

#[test]
fn no_infer_works_on_validate_diff_and_explain() {
    let input = input(&[workload("Deployment", "app", POD)], CACHED);
    // validate: the fsGroup settles the warning; without it, it is back.
    let ran = Test::new()
        .args(["validate", "-"])
        .stdin(input.clone())
        .run();
    assert!(
        !ran.stderr.contains("may-not-be-writable"),
        "{}",
        ran.stderr
    );
    Test::new()
        .args(["validate", "--no-infer", "-"])
        .stdin(input.clone())
        .stderr_has("warning[may-not-be-writable]")
        .run();

    // diff: against what was compiled with inference, `--no-infer` drops
    // the fsGroup; without it, nothing changes.
    let compiled = Test::new()
        .args(["compile", "-o", "{dir}/previous.yaml", "-"])
        .stdin(input.clone())
        .run();
    let previous = compiled.dir.join("previous.yaml");
    let previous = previous.to_str().expect("utf-8");
    let same = Test::new()
        .args(["diff", "-", "--against", previous])
        .stdin(input.clone())
        .run();
    assert!(!same.stdout.contains("fsGroup"), "{}", same.stdout);
    let changed = Test::new()
        .args(["diff", "--no-infer", "-", "--against", previous])
        .status(1)
        .stdin(input.clone())
        .stdout_has("-            fsGroup: 1003")
        .stdout_has("+            runAsUser: 65532")
        .run();
    assert!(
        changed.stderr.contains("1 object differs"),
        "{}",
        changed.stderr
    );

    // explain: the inferred values are listed, and none with `--no-infer`.
    Test::new()
        .args(["explain", "-"])
        .stdin(input.clone())
        .stdout_has("inferred     mover.securityContext.runAsUser = 1001  (from Deployment/app)")
        .run();
    Test::new()
        .args(["explain", "--no-infer", "-"])
        .stdin(input)
        .stdout_lacks("inferred")
        .stdout_lacks("Deployment/app")
        .run();
}
