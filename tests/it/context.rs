//! Cluster context (`--context FILE`, or a `kind: List` among the inputs):
//! `kubectl get … -o yaml` output answers what VolSync looked up in the
//! cluster at run time (PVC sizes, ReplicationSources for `sourceIdentity`,
//! Namespaces' annotations, Secrets' key names), and is never written, in
//! any mode.

use crate::support;
use crate::test::Test;

use serde_json::Value;

fn fixture(path: &str) -> String {
    support::root()
        .join("tests/fixtures/volsync")
        .join(path)
        .to_str()
        .expect("a UTF-8 path")
        .to_owned()
}

fn cluster() -> String {
    fixture("context/cluster.yaml")
}

fn cluster_text() -> String {
    std::fs::read_to_string(cluster()).expect("the cluster fixture")
}

fn example(name: &str) -> String {
    fixture(&format!("examples/{name}.yaml"))
}

/// Text that comes only from the cluster context: its objects' uids,
/// kubectl's bookkeeping, the Secret's values (plain and base64) and the
/// Service nobody asked about.
const CLUSTER_ONLY: [&str; 8] = [
    "7d1c0a3e-0000-4000",
    "kubectl-client-side-apply",
    "resourceVersion",
    "cluster-password-5b9e1c",
    "Y2x1c3Rlci1wYXNzd29yZC01YjllMWM",
    "cluster-bucket-5b9e1c",
    "czM6Ly9jbHVzdGVyLWJ1Y2tldC01YjllMWM",
    "10.96.0.12",
];

fn assert_no_cluster_text(what: &str, text: &str) {
    for marker in CLUSTER_ONLY {
        assert!(!text.contains(marker), "{what} holds `{marker}`:\n{text}");
    }
}

/// The compiled objects of `args` (a `compile` run), as JSON.
fn compile_json(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["compile", "--format", "json"];
    all.extend_from_slice(args);
    let output = support::kopiaplan(&all);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        support::stderr(&output)
    );
    let list: Value = serde_json::from_str(&support::stdout(&output)).expect("a JSON List");
    list["items"].as_array().expect("items").clone()
}

fn named<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// The examples of VolSync's documentation that fail without the cluster
/// (clone size unknown; repository not discoverable for `sourceIdentity`).
/// (restore-configuration_27 needs the cluster too, and then fails for its
/// repository settings: see `volsync_corpus`.)
pub const NEED_THE_CLUSTER: [&str; 12] = [
    "database_example_01",
    "database_example_02",
    "database_example_04",
    "database_example_05",
    "cross-namespace-restore_08",
    "cross-namespace-restore_09",
    "example-cross-namespace-restore-example_03",
    "index_03",
    "restore-configuration_07",
    "restore-configuration_09",
    "restore-configuration_11",
    "restore-configuration_28",
];

#[test]
fn examples_that_need_the_cluster_compile_with_its_context_and_fail_without() {
    for name in NEED_THE_CLUSTER {
        let path = example(name);
        let without = support::kopiaplan(&["validate", &path]);
        assert_eq!(without.status.code(), Some(1), "{name} compiles without");
        let with = support::kopiaplan(&["validate", &path, "--context", &cluster()]);
        assert!(with.status.success(), "{name}: {}", support::stderr(&with));
    }
}

#[test]
fn a_clone_takes_the_size_and_class_of_the_cluster_pvc() {
    let objects = compile_json(&[&example("database_example_01"), "--context", &cluster()]);
    let cron = named(&objects, "CronJob", "volsync-database-source-backup");
    let template = &support::pod_spec(cron)["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "data")
        .expect("the data volume")["ephemeral"]["volumeClaimTemplate"]["spec"];
    // VolSync: the bound claim's status.capacity (20Gi) before its request
    // (10Gi); the source's class.
    assert_eq!(template["resources"]["requests"]["storage"], "20Gi");
    assert_eq!(template["storageClassName"], "fast-ssd");
    // A PVC that is not bound yet has no status: its request.
    let objects = compile_json(&[&example("database_example_05"), "--context", &cluster()]);
    let text = serde_json::to_string(&objects).expect("JSON");
    assert!(text.contains("\"storage\":\"8Gi\""), "{text}");
}

#[test]
fn the_input_wins_over_the_cluster() {
    let pvc = "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: mysql-pv-claim\n  namespace: source\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 3Gi\n";
    let input = std::fs::read_to_string(example("database_example_01")).expect("example");
    let ran = Test::new()
        .file("input.yaml", format!("{input}{pvc}"))
        .file("cluster.yaml", cluster_text())
        .args([
            "compile",
            "{dir}/input.yaml",
            "--context",
            "{dir}/cluster.yaml",
            "--format",
            "json",
        ])
        .run();
    let list: Value = serde_json::from_str(&ran.stdout).expect("a JSON List");
    let objects = list["items"].as_array().expect("items").clone();
    let cron = named(&objects, "CronJob", "volsync-database-source-backup");
    let text = serde_json::to_string(&support::pod_spec(cron)["volumes"]).expect("JSON");
    // The clone takes the input's size, not the cluster's 20Gi.
    assert!(text.contains("\"storage\":\"3Gi\""), "{text}");
    // The input's PVC is written (it is part of what is applied).
    named(&objects, "PersistentVolumeClaim", "mysql-pv-claim");
}

#[test]
fn a_namespace_of_the_cluster_makes_movers_privileged() {
    let objects = compile_json(&[&example("database_example_01"), "--context", &cluster()]);
    let cron = named(&objects, "CronJob", "volsync-database-source-backup");
    let pod = support::pod_spec(cron);
    assert_eq!(pod["securityContext"]["runAsUser"], 0, "{pod}");
    let plain = cluster_text().replace(
        "volsync.backube/privileged-movers: \"true\"",
        "example.com/note: \"true\"",
    );
    let ran = Test::new()
        .file("cluster.yaml", plain)
        .args([
            "compile",
            &example("database_example_01"),
            "--context",
            "{dir}/cluster.yaml",
        ])
        .stdout_lacks("runAsUser: 0")
        .run();
    assert!(ran.stdout.contains("runAsNonRoot: true"));
}

#[test]
fn a_destination_discovers_its_repository_and_path_from_a_cluster_source() {
    let objects = compile_json(&[
        &example("restore-configuration_07"),
        "--context",
        &cluster(),
    ]);
    let job = objects
        .iter()
        .find(|o| o["kind"] == "CronJob" || o["kind"] == "Job")
        .expect("a restore");
    let text = serde_json::to_string(job).expect("JSON");
    assert!(text.contains("webapp-kopia"), "{text}");
    assert!(text.contains("/var/lib/webapp"), "{text}");
    assert_eq!(crate::test::env(job, "KOPIAPLAN_USERNAME"), "webapp-backup");
    assert_eq!(crate::test::env(job, "KOPIAPLAN_HOSTNAME"), "production");
    // The cluster's ReplicationSources are read, never compiled: no backup.
    assert!(
        !objects
            .iter()
            .any(|o| o["metadata"]["name"] == "volsync-webapp-backup-backup"),
        "{objects:?}"
    );
}

#[test]
fn secrets_of_the_cluster_give_their_key_names() {
    // kopia-config in `source` lacks KOPIA_PASSWORD: the key names are read.
    let broken = cluster_text().replace("    KOPIA_PASSWORD:", "    OTHER_KEY:");
    Test::new()
        .file("cluster.yaml", broken)
        .args([
            "validate",
            &example("database_example_01"),
            "--context",
            "{dir}/cluster.yaml",
        ])
        .status(1)
        .stderr_has("error[repository-secret-missing-key]")
        .stderr_has("KOPIA_PASSWORD")
        .run();
    // KOPIA_REPOSITORY is among the names read: it is not reported.
    let ran = Test::new()
        .file(
            "cluster.yaml",
            cluster_text().replace("    KOPIA_PASSWORD:", "    OTHER_KEY:"),
        )
        .args([
            "validate",
            &example("database_example_01"),
            "--context",
            "{dir}/cluster.yaml",
        ])
        .status(1)
        .run();
    assert!(
        !ran.stderr.contains("no `KOPIA_REPOSITORY`"),
        "{}",
        ran.stderr
    );
}

/// Every mode that reads inputs, given the cluster context: nothing of it
/// is written (objects, values of Secrets, kubectl's bookkeeping), neither
/// on standard output, nor in files, nor in diagnostics.
#[test]
fn the_cluster_context_is_never_written_in_any_mode() {
    let cluster = cluster();
    let input = example("database_example_01");
    let restore = example("restore-configuration_07");
    let runs: Vec<Vec<&str>> = vec![
        vec!["compile", &input, "--context", &cluster],
        vec![
            "compile",
            &input,
            &restore,
            "--context",
            &cluster,
            "--include-inputs",
        ],
        vec!["compile", &input, "--context", &cluster, "--format", "json"],
        // A List among the inputs is context too.
        vec!["compile", &input, &cluster],
        vec!["validate", &input, "--context", &cluster],
        vec!["explain", &input, &restore, "--context", &cluster],
        vec!["explain", &input, "--context", &cluster, "--format", "json"],
        vec!["explain", &input, "--context", &cluster, "--format", "svg"],
        vec!["convert", &input, &restore, "--context", &cluster],
        vec!["convert", &input, &cluster],
        vec![
            "compile",
            &input,
            "--context",
            &cluster,
            "--diagnostics",
            "json",
        ],
    ];
    for args in runs {
        let output = support::kopiaplan(&args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            support::stderr(&output)
        );
        assert_no_cluster_text(&format!("{args:?} stdout"), &support::stdout(&output));
        assert_no_cluster_text(&format!("{args:?} stderr"), &support::stderr(&output));
        assert!(
            !support::stderr(&output).contains("document-not-compiled"),
            "{args:?}: {}",
            support::stderr(&output)
        );
    }
    // Files: -o and --output-dir, with the Secrets of the input included.
    let ran = Test::new()
        .args([
            "compile",
            &input,
            "--context",
            &cluster,
            "--include-inputs",
            "-o",
            "{dir}/out.yaml",
        ])
        .run();
    let written = std::fs::read_to_string(ran.dir.join("out.yaml")).expect("out.yaml");
    assert!(written.contains("kind: CronJob"));
    assert_no_cluster_text("-o", &written);
    let ran = Test::new()
        .args([
            "compile",
            &input,
            "--context",
            &cluster,
            "--output-dir",
            "{dir}/rendered",
        ])
        .run();
    let mut files = 0;
    for entry in walk(&ran.dir.join("rendered")) {
        let text = std::fs::read_to_string(&entry).expect("a rendered file");
        assert_no_cluster_text(&entry.display().to_string(), &text);
        files += 1;
    }
    assert!(files > 3, "{files} files");
    // diff against an empty previous output: every line shown is new.
    let ran = Test::new()
        .file("previous.yaml", "")
        .args([
            "diff",
            &input,
            "--context",
            &cluster,
            "--against",
            "{dir}/previous.yaml",
        ])
        .status(1)
        .run();
    assert!(ran.stdout.contains("CronJob"), "{}", ran.stdout);
    assert_no_cluster_text("diff", &ran.stdout);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn post_render_and_krm_read_the_context_and_never_write_it() {
    let cluster = cluster();
    let input = std::fs::read_to_string(example("database_example_01")).expect("example");
    // Helm's post-renderer: the clone size comes from the context.
    let output =
        support::kopiaplan_with_stdin(&["post-render", "--context", &cluster], Some(&input));
    assert!(output.status.success(), "{}", support::stderr(&output));
    let stream = support::stdout(&output);
    assert!(stream.contains("storage: 20Gi"), "{stream}");
    assert_no_cluster_text("post-render", &stream);
    let without = support::kopiaplan_with_stdin(&["post-render"], Some(&input));
    assert_eq!(without.status.code(), Some(1));

    // The KRM function: --context, or a List item of the ResourceList.
    let item: Value = serde_saphyr::from_str(&input).expect("the example as JSON");
    let list: Value = serde_saphyr::from_str(&cluster_text()).expect("the List as JSON");
    for (items, args) in [
        (
            vec![item.clone()],
            vec!["krm", "--context", cluster.as_str()],
        ),
        (vec![item.clone(), list.clone()], vec!["krm"]),
    ] {
        let resource_list = serde_json::json!({
            "apiVersion": "config.kubernetes.io/v1",
            "kind": "ResourceList",
            "items": items,
        });
        let output = support::kopiaplan_with_stdin(&args, Some(&resource_list.to_string()));
        assert!(
            output.status.success(),
            "{args:?}: {}",
            support::stderr(&output)
        );
        let out = support::stdout(&output);
        assert!(out.contains("20Gi"), "{args:?}: {out}");
        assert!(!out.contains("kind: List"), "{args:?}: {out}");
        assert_no_cluster_text(&format!("{args:?}"), &out);
    }
}

#[test]
fn a_clone_takes_the_access_modes_of_the_cluster_pvc() {
    let shared = cluster_text().replacen(
        "  spec:\n    accessModes:\n    - ReadWriteOnce\n    resources:\n      requests:\n        storage: 10Gi",
        "  spec:\n    accessModes:\n    - ReadWriteMany\n    resources:\n      requests:\n        storage: 10Gi",
        1,
    );
    assert_ne!(shared, cluster_text());
    let ran = Test::new()
        .file("cluster.yaml", shared)
        .args([
            "compile",
            &example("database_example_01"),
            "--context",
            "{dir}/cluster.yaml",
            "--format",
            "json",
        ])
        .run();
    let list: Value = serde_json::from_str(&ran.stdout).expect("a JSON List");
    let objects = list["items"].as_array().expect("items").clone();
    let cron = named(&objects, "CronJob", "volsync-database-source-backup");
    let data = support::pod_spec(cron)["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "data")
        .expect("the data volume")
        .clone();
    assert_eq!(
        data["ephemeral"]["volumeClaimTemplate"]["spec"]["accessModes"],
        serde_json::json!(["ReadWriteMany"]),
        "{data}"
    );
    // Without the PVC: ReadWriteOnce, as before.
    let objects = compile_json(&[&example("database_example_04"), "--context", &cluster()]);
    let text = serde_json::to_string(&objects).expect("JSON");
    assert!(
        text.contains("\"accessModes\":[\"ReadWriteOnce\"]"),
        "{text}"
    );
}

#[test]
fn a_list_given_as_input_is_context_and_says_its_objects_are_not_compiled() {
    // `kubectl get replicationsources -o yaml` writes a List: given as an
    // input, its objects are looked up, not compiled, and a warning says so.
    let source = std::fs::read_to_string(example("database_example_01")).expect("example");
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n- {}",
        source.trim_end().replace('\n', "\n  ")
    );
    let ran = Test::new()
        .file("rs.yaml", list)
        .args(["convert", "{dir}/rs.yaml"])
        .stderr_has("warning[list-items-not-compiled]: this `List` is read as cluster context: its 1 VolSync object(s) or plan(s) are looked up, not compiled")
        .stderr_has("pass the file with `--context`")
        .stdout_lacks("kind: BackupPlan")
        .run();
    assert!(!ran.stdout.contains("database-source"), "{}", ran.stdout);
    // A --context file gives no such warning.
    let output = support::kopiaplan(&[
        "validate",
        &example("database_example_01"),
        "--context",
        &cluster(),
    ]);
    assert!(output.status.success(), "{}", support::stderr(&output));
    assert!(!support::stderr(&output).contains("list-items-not-compiled"));
}

/// `kubectl get pvc -n shop -o yaml`: claims that are only in the cluster.
const CLUSTER_CLAIMS: &str = "apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: PersistentVolumeClaim
    metadata:
      name: uploads
      namespace: shop
      uid: 0c1a-cluster-claim
      labels: {app.kubernetes.io/instance: shop}
    spec:
      accessModes: [ReadWriteOncePod]
      resources: {requests: {storage: 3Gi}}
      storageClassName: fast
    status: {phase: Bound, capacity: {storage: 3Gi}}
  - apiVersion: v1
    kind: PersistentVolumeClaim
    metadata:
      name: cache
      namespace: shop
      labels: {app.kubernetes.io/instance: other}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
";

fn shop_plan(backups: &str) -> String {
    format!(
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata: {{name: shop, namespace: shop}}
spec:
  repositories:
    - {{name: main, secretName: kopia, url: \"s3://bucket/shop\"}}
  backups:
{backups}"
    )
}

#[test]
fn a_pvc_selector_matches_claims_that_are_only_in_the_cluster_context() {
    let ran = Test::new()
        .file(
            "plan.yaml",
            shop_plan(
                "    - name: shop\n      pvcSelector: {matchLabels: {app.kubernetes.io/instance: shop}}\n",
            ),
        )
        .file("cluster.yaml", CLUSTER_CLAIMS)
        .args([
            "compile",
            "{dir}/plan.yaml",
            "--context",
            "{dir}/cluster.yaml",
            "--format",
            "json",
        ])
        .stdout_lacks("0c1a-cluster-claim")
        .run();
    let list: Value = serde_json::from_str(&ran.stdout).expect("a JSON List");
    let objects = list["items"].as_array().expect("items").clone();
    let cron = named(&objects, "CronJob", "shop-uploads-backup");
    assert_eq!(
        cron["metadata"]["annotations"]["kopiaplan.dev/kopia-source"],
        "uploads@shop:/data"
    );
    // The clone takes the cluster claim's size and class.
    let text = serde_json::to_string(support::pod_spec(cron)).expect("JSON");
    assert!(text.contains("\"storage\":\"3Gi\""), "{text}");
    assert!(text.contains("\"storageClassName\":\"fast\""), "{text}");
    assert!(
        objects
            .iter()
            .all(|o| o["metadata"]["name"] != "shop-cache-backup"),
        "the claim of another release is not selected"
    );
    // Without the context, there is nothing to select.
    Test::new()
        .file(
            "plan.yaml",
            shop_plan(
                "    - name: shop\n      pvcSelector: {matchLabels: {app.kubernetes.io/instance: shop}}\n",
            ),
        )
        .args(["compile", "{dir}/plan.yaml"])
        .status(1)
        .stderr_has("error[nothing-selected]")
        .run();
}

#[test]
fn direct_on_a_read_write_once_pod_claim_of_the_cluster_context_is_refused() {
    Test::new()
        .file(
            "plan.yaml",
            shop_plan("    - name: uploads\n      pvc: uploads\n      copyMethod: Direct\n"),
        )
        .file("cluster.yaml", CLUSTER_CLAIMS)
        .args([
            "validate",
            "{dir}/plan.yaml",
            "--context",
            "{dir}/cluster.yaml",
        ])
        .status(1)
        .stderr_has("error[direct-on-read-write-once-pod]: PVC `uploads` is ReadWriteOncePod")
        .stderr_has("field: spec.backups[0].copyMethod")
        .stderr_has("use `copyMethod: Clone` or `copyMethod: Snapshot`")
        .run();
}
