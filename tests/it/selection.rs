//! Backing up what a chart deploys (issue 22): `pvcSelector` and
//! `statefulSet` expand into one backup per claim, mover settings are
//! taken from the workload that mounts the claim, and the access-mode
//! rules; in `compile`, Helm 3's and Helm 4's post-renderer, and the KRM
//! function under kpt and kustomize.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::requires::requires;
use crate::support::{self, require_kpt, require_tool, run, scratch};
use crate::test::{Plan, Test};

/// A chart's templates as Helm 3 renders them: a StatefulSet of 3 replicas
/// with 2 claim templates, a Service, a Deployment with a PVC and
/// `fsGroup: 2000`, and one plan with a selector. (file, text)
const CHART: [(&str, &str); 5] = [
    (
        "statefulset.yaml",
        "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: shop
spec:
  replicas: 3
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      securityContext: {runAsUser: 999, runAsGroup: 999, fsGroup: 999}
      containers:
        - name: db
          image: postgres:17
          volumeMounts:
            - {name: data, mountPath: /var/lib/postgresql}
            - {name: wal, mountPath: /wal}
  volumeClaimTemplates:
    - metadata:
        name: data
        labels: {app.kubernetes.io/instance: shop}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 10Gi}}
    - metadata:
        name: wal
        labels: {app.kubernetes.io/instance: shop}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 2Gi}}
",
    ),
    (
        "service.yaml",
        "apiVersion: v1
kind: Service
metadata:
  name: db
  namespace: shop
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
",
    ),
    (
        "pvc.yaml",
        "apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: web-uploads
  namespace: shop
  labels: {app.kubernetes.io/instance: shop}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 5Gi}}
",
    ),
    (
        "deployment.yaml",
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      securityContext: {fsGroup: 2000}
      containers:
        - name: web
          image: nginx
          volumeMounts: [{name: uploads, mountPath: /uploads}]
      volumes:
        - name: uploads
          persistentVolumeClaim: {claimName: web-uploads}
",
    ),
    (
        "backup.yaml",
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: shop
  namespace: shop
spec:
  repositories:
    - {name: main, secretName: kopia, url: \"s3://bucket/shop\"}
  backups:
    - name: shop
      pvcSelector: {matchLabels: {app.kubernetes.io/instance: shop}}
",
    ),
];

/// The claims the chart makes, and the pod security context each backup's
/// mover must get: the StatefulSet's user and groups, the Deployment's
/// fsGroup.
const EXPECTED: [(&str, Option<i64>, Option<i64>, i64); 7] = [
    ("data-db-0", Some(999), Some(999), 999),
    ("data-db-1", Some(999), Some(999), 999),
    ("data-db-2", Some(999), Some(999), 999),
    ("wal-db-0", Some(999), Some(999), 999),
    ("wal-db-1", Some(999), Some(999), 999),
    ("wal-db-2", Some(999), Some(999), 999),
    ("web-uploads", None, None, 2000),
];

/// Templates Helm writes after the plan (it sorts them by kind), with
/// what a post-renderer must not touch: comments, flow style, a block
/// scalar with trailing spaces, quoting.
const AFTER_PLAN: [(&str, &str); 2] = [
    (
        "configmap.yaml",
        "# nginx's configuration, kept as written
apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
  namespace: shop
data:
  nginx.conf: |
    server {
      listen 8080;  \t
    }
  enabled: \"true\"
  mode: 'on'
",
    ),
    (
        "networkpolicy.yaml",
        "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
    - from: [{podSelector: {matchLabels: {app: web}}}]   # only the web pods
",
    ),
];

/// The chart's templates in the order Helm writes them: the plan between
/// the others.
fn templates() -> impl Iterator<Item = (&'static str, &'static str)> {
    CHART.into_iter().chain(AFTER_PLAN)
}

/// The chart as one Helm 3 stream: `---` and `# Source:` before each template.
fn helm3_stream() -> String {
    templates()
        .map(|(file, text)| format!("---\n# Source: shop/templates/{file}\n{text}"))
        .collect()
}

/// `stream` with its plan (the document from `plan_starts` to the first
/// of the `AFTER_PLAN` documents, at `after_starts`) replaced must come
/// back byte for byte around the plan's objects.
#[track_caller]
fn assert_every_other_document_byte_for_byte(stream: &str, out: &str, plan: &str, after: &str) {
    let plan_starts = stream.find(plan).expect("the plan");
    let after_starts = stream.find(after).expect("a document after the plan");
    assert!(plan_starts < after_starts);
    assert_eq!(
        &out[..plan_starts],
        &stream[..plan_starts],
        "the documents before the plan"
    );
    assert!(
        out.ends_with(&stream[after_starts..]),
        "the documents after the plan:\n{}",
        &out[out.len().saturating_sub(stream.len() - after_starts + 200)..]
    );
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_str_multiple::<Value, Vec<_>>(yaml)
        .unwrap_or_else(|e| panic!("the output is not YAML: {e}\n{yaml}"))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn kopiaplan() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kopiaplan"));
    command.current_dir(support::root());
    command
}

/// Seven backups, each with its claim's identity and the security context
/// of the workload that mounts the claim.
#[track_caller]
fn assert_seven_backups(objects: &[Value], how: &str) {
    let cron_jobs: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "CronJob").collect();
    let names: Vec<&str> = cron_jobs
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str())
        .filter(|n| n.ends_with("-backup"))
        .collect();
    assert_eq!(names.len(), 7, "{how}: {names:?}");
    for (claim, user, group, fs_group) in EXPECTED {
        let name = format!("shop-{claim}-backup");
        let cron_job = cron_jobs
            .iter()
            .find(|o| o["metadata"]["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{how}: no CronJob {name} in {names:?}"));
        assert_eq!(
            cron_job["metadata"]["annotations"]["kopiaplan.dev/kopia-source"],
            format!("{claim}@shop:/data"),
            "{how}: the identity of {claim}"
        );
        let pod = support::pod_spec(cron_job);
        let context = &pod["securityContext"];
        assert_eq!(context["fsGroup"], fs_group, "{how}: {claim}: {context}");
        if let Some(user) = user {
            assert_eq!(context["runAsUser"], user, "{how}: {claim}: {context}");
        }
        if let Some(group) = group {
            assert_eq!(context["runAsGroup"], group, "{how}: {claim}: {context}");
        }
        let claim_of_clone = pod["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|v| {
                v["ephemeral"]["volumeClaimTemplate"]["spec"]["dataSource"]["name"].as_str()
            });
        assert_eq!(claim_of_clone, Some(claim), "{how}: the clone's source");
    }
    assert!(
        objects.iter().all(|o| o["kind"] != "BackupPlan"),
        "{how}: the plan is replaced"
    );
}

#[test]
fn a_chart_with_a_selector_compiles_to_a_backup_per_claim() {
    let dir = scratch("chart-compile");
    for (file, text) in CHART {
        std::fs::write(dir.join(file), text).expect("write");
    }
    let output = run(
        kopiaplan().args(["compile", dir.to_str().expect("utf-8")]),
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let objects = documents(&text(&output.stdout));
    assert_seven_backups(&objects, "compile");
    // `compile` writes the backups: the chart's workloads are applied by
    // the chart, and are neither written nor warned about.
    assert!(
        objects
            .iter()
            .all(|o| o["kind"] != "StatefulSet" && o["kind"] != "Deployment")
    );
    assert!(
        !text(&output.stderr).contains("Deployment"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn helm3_post_renders_the_chart_and_every_other_document_passes_byte_for_byte() {
    requires!(ControlPlane, Tool("kubectl"), Tool("openssl"));
    let stream = helm3_stream();
    let output = run(&mut kopiaplan(), Some(stream.as_bytes()));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    // Every document but the plan comes back as it was, byte for byte,
    // before and after the plan's objects.
    assert_every_other_document_byte_for_byte(
        &stream,
        &out,
        "---\n# Source: shop/templates/backup.yaml",
        "---\n# Source: shop/templates/configmap.yaml",
    );
    let objects = documents(&out);
    assert_seven_backups(&objects, "Helm 3 post-render");
    let plan_starts = stream
        .find("---\n# Source: shop/templates/backup.yaml")
        .expect("plan");
    let generated: Vec<Value> = documents(&out[plan_starts..])
        .into_iter()
        .filter(|o| o["kind"] != "ConfigMap" || o["metadata"]["name"] != "web-config")
        .filter(|o| o["kind"] != "NetworkPolicy")
        .collect();
    crate::apiserver::the_server_accepts(&generated, "the chart's backups");
}

#[test]
fn helm4_post_renders_the_chart_by_its_template_annotations() {
    // Helm 4 hands over documents it re-wrote, each naming its template.
    let stream: String = templates()
        .map(|(file, text)| {
            let annotated = text.replacen(
                "metadata:\n",
                &format!(
                    "metadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: shop/templates/{file}\n"
                ),
                1,
            );
            format!("---\n{annotated}")
        })
        .collect();
    let output = run(kopiaplan().arg("post-render"), Some(stream.as_bytes()));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let out = text(&output.stdout);
    assert_every_other_document_byte_for_byte(
        &stream,
        &out,
        "---\napiVersion: kopiaplan.dev",
        "---\n# nginx's configuration",
    );
    assert_seven_backups(&documents(&out), "Helm 4 post-render");
}

#[test]
fn kpt_runs_the_krm_function_on_the_chart_package() {
    requires!(Kpt);
    let package = scratch("chart-kpt").join("package");
    std::fs::create_dir_all(&package).expect("dir");
    for (file, text) in templates() {
        std::fs::write(package.join(file), text).expect("write");
    }
    let exec = format!("{} krm", env!("CARGO_BIN_EXE_kopiaplan"));
    let output = run(
        Command::new(require_kpt())
            .args(["fn", "eval"])
            .arg(&package)
            .args(["--exec", &exec]),
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let plan_file = std::fs::read_to_string(package.join("backup.yaml")).expect("read");
    assert_seven_backups(&documents(&plan_file), "kpt fn eval");
    // Every other file keeps its objects. (As values: kpt writes back the
    // items the function returns, and a ResourceList is YAML written anew,
    // so flow style becomes block style and an end-of-line comment goes.)
    for (file, written) in templates().filter(|(file, _)| *file != "backup.yaml") {
        let now = std::fs::read_to_string(package.join(file)).expect("read");
        assert_eq!(documents(&now), documents(written), "{file} is kept");
    }
}

#[test]
fn kustomize_runs_the_krm_function_as_a_transformer_of_the_chart() {
    requires!(Tool("kustomize"));
    let dir = scratch("chart-kustomize");
    let resources: Vec<&str> = templates().map(|(file, _)| file).collect();
    std::fs::write(
        dir.join("kustomization.yaml"),
        format!(
            "resources: [{}]\ntransformers: [compile.yaml]\n",
            resources.join(", ")
        ),
    )
    .expect("write");
    for (file, text) in templates() {
        std::fs::write(dir.join(file), text).expect("write");
    }
    std::fs::write(
        dir.join("compile.yaml"),
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: {}\n  name: kopiaplan\n",
            env!("CARGO_BIN_EXE_kopiaplan")
        ),
    )
    .expect("write");
    let output = run(
        Command::new(require_tool("kustomize"))
            .args(["build", "--enable-alpha-plugins", "--enable-exec"])
            .arg(&dir),
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let objects = documents(&text(&output.stdout));
    assert_seven_backups(&objects, "kustomize build");
    // Every other object comes out as it went in (kustomize writes its own
    // YAML, so as values).
    for (file, written) in templates().filter(|(file, _)| *file != "backup.yaml") {
        for object in documents(written) {
            assert!(objects.contains(&object), "{file}: {object} is not kept");
        }
    }
}

#[test]
fn krm_keeps_every_item_but_the_plan_in_its_place() {
    let items: Vec<Value> = templates().flat_map(|(_, text)| documents(text)).collect();
    let list = serde_json::json!({
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": items,
    });
    let output = run(kopiaplan().arg("krm"), Some(list.to_string().as_bytes()));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let list: Value = serde_saphyr::from_str(&text(&output.stdout)).expect("YAML");
    let out = list["items"].as_array().expect("items");
    assert_seven_backups(out, "krm");
    // The items before the plan, then its objects, then the items after
    // it: each as it came (a ResourceList is YAML written anew, so equal
    // as values).
    let plan = items
        .iter()
        .position(|o| o["kind"] == "BackupPlan")
        .expect("the plan");
    let after = items.len() - plan - 1;
    assert_eq!(&out[..plan], &items[..plan], "the items before the plan");
    assert_eq!(
        &out[out.len() - after..],
        &items[plan + 1..],
        "the items after the plan"
    );
}

/// The chart's documents with `plan` instead of its plan.
fn chart_with(plan: &str) -> Plan {
    let mut text: String = CHART[..4]
        .iter()
        .map(|(_, text)| format!("---\n{text}"))
        .collect();
    text.push_str("---\n");
    text.push_str(plan);
    Plan::text(text)
}

fn shop_plan(backups: &str) -> String {
    format!(
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: shop
  namespace: shop
spec:
  repositories:
    - {{name: main, secretName: kopia, url: \"s3://bucket/shop\"}}
  backups:
{backups}"
    )
}

#[test]
fn a_stateful_set_entry_backs_up_each_replicas_claims() {
    let objects = chart_with(&shop_plan("    - name: db\n      statefulSet: db\n")).objects();
    let cron_jobs: Vec<String> = objects
        .of_kind("CronJob")
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_owned))
        .filter(|n| n.ends_with("-backup"))
        .collect();
    assert_eq!(
        cron_jobs,
        [
            "shop-data-db-0-backup",
            "shop-data-db-1-backup",
            "shop-data-db-2-backup",
            "shop-wal-db-0-backup",
            "shop-wal-db-1-backup",
            "shop-wal-db-2-backup"
        ]
    );
    // The size of a claim comes from its template.
    let pod = support::pod_spec(objects.named("CronJob", "shop-wal-db-1-backup"));
    let storage = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|v| {
            v["ephemeral"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"]
                .as_str()
        });
    assert_eq!(storage, Some("2Gi"));
}

#[test]
fn an_entry_naming_a_claim_wins_over_a_selector_matching_it() {
    let objects = chart_with(&shop_plan(
        "    - name: uploads\n      pvc: web-uploads\n      schedule: \"0 4 * * *\"\n    - name: shop\n      pvcSelector: {matchLabels: {app.kubernetes.io/instance: shop}}\n",
    ))
    .objects();
    let backups: Vec<&str> = objects
        .of_kind("CronJob")
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str())
        .filter(|n| n.ends_with("-backup"))
        .collect();
    assert_eq!(backups.len(), 7, "{backups:?}");
    assert!(backups.contains(&"shop-uploads-backup"), "{backups:?}");
    assert!(!backups.contains(&"shop-web-uploads-backup"), "{backups:?}");
}

#[test]
fn a_stateful_set_of_the_cluster_context_is_expanded_and_never_written() {
    // `kubectl get statefulsets -o yaml`: a List, with the server's fields.
    let items: String = CHART[0]
        .1
        .replace(
            "metadata:\n  name: db\n",
            "metadata:\n  name: db\n  uid: 5e1f-cluster-only\n",
        )
        .lines()
        .map(|l| format!("    {l}\n"))
        .collect();
    let list = format!(
        "apiVersion: v1\nkind: List\nitems:\n  - {}",
        items.trim_start()
    );
    let ran = Test::new()
        .args([
            "compile",
            "{dir}/plan.yaml",
            "--context",
            "{dir}/cluster.yaml",
        ])
        .file(
            "plan.yaml",
            shop_plan("    - name: db\n      statefulSet: db\n"),
        )
        .file("cluster.yaml", list)
        .stdout_has("name: shop-data-db-2-backup")
        .stdout_has("fsGroup: 999")
        .stdout_lacks("5e1f-cluster-only")
        .stdout_lacks("kind: StatefulSet")
        .run();
    assert!(ran.stderr.is_empty(), "{}", ran.stderr);
}

#[test]
fn a_stateful_set_with_absurd_replicas_is_refused_without_exhausting_memory() {
    chart_with(&shop_plan("    - name: db\n      statefulSet: db\n"))
        .replace("replicas: 3", "replicas: 2147483647")
        .errors()
        .has("StatefulSet `db` has 2147483647 replicas; kopiaplan backs up the claims of at most 1000")
        .has("field: spec.backups[0].statefulSet");
}

#[test]
fn a_selector_that_matches_nothing_shows_what_it_looked_at() {
    chart_with(&shop_plan(
        "    - name: shop\n      pvcSelector: {matchLabels: {tier: gold}}\n",
    ))
    .errors()
    .has("no PersistentVolumeClaim in namespace `shop` matches `pvcSelector` {tier: gold}")
    .has("`web-uploads` (app.kubernetes.io/instance=shop)")
    .has("`data-db-2` (")
    .has("field: spec.backups[0].pvcSelector");
}

#[test]
fn a_stateful_set_not_in_the_input_is_an_error_naming_those_there() {
    chart_with(&shop_plan("    - name: db\n      statefulSet: postgres\n"))
        .errors()
        .has("no StatefulSet `postgres` in namespace `shop`")
        .has("(it holds `db`)")
        .has("field: spec.backups[0].statefulSet");
}

#[test]
fn two_entries_selecting_one_claim_collide() {
    chart_with(&shop_plan(
        "    - name: db\n      statefulSet: db\n    - name: all\n      pvcSelector: {matchLabels: {app.kubernetes.io/instance: shop}}\n",
    ))
    .errors()
    .has("expands to a backup `data-db-0` in namespace `shop`, which the backup of `data-db-0` expanded from entry `db` already is")
    .has("field: spec.backups[1].pvcSelector");
}

#[test]
fn an_entry_needs_exactly_one_way_to_name_its_volumes() {
    chart_with(&shop_plan(
        "    - name: db\n      pvc: web-uploads\n      statefulSet: db\n",
    ))
    .errors()
    .has("names its volumes 2 ways (`pvc`, `statefulSet`)");
    chart_with(&shop_plan("    - name: db\n      copyMethod: Clone\n"))
        .errors()
        .has("error[missing-setting]: the backup `db` names nothing to back up")
        .has("`pvcSelector` or `statefulSet` for several");
}

#[test]
fn explain_lists_the_expansion_and_each_inferred_value_with_its_object() {
    Test::new()
        .args(["explain", "-"])
        .stdin(chart_with(CHART[4].1))
        .stdout_has(
            "expanded     from entry `shop`: pvcSelector {app.kubernetes.io/instance: shop}",
        )
        .stdout_has("mover.securityContext.fsGroup = 2000  (from Deployment/web)")
        .stdout_has("mover.securityContext.runAsUser = 999  (from StatefulSet/db)")
        .run();
}

/// A plan with a persistent cache on a Clone copy: without an fsGroup the
/// mover's user may not write it (the warning `--no-infer` brings back).
const CACHED: &str = "    - name: web
      pvc: web-uploads
      cache: {persistent: true, capacity: 1Gi}
";

#[test]
fn the_workloads_fs_group_settles_the_may_not_be_writable_warning_and_no_infer_brings_it_back() {
    let input = chart_with(&shop_plan(CACHED));
    let ran = Test::new()
        .args(["compile", "-"])
        .stdin(input.clone())
        .stdout_has("fsGroup: 2000")
        .run();
    assert!(
        !ran.stderr.contains("may not be writable"),
        "{}",
        ran.stderr
    );
    Test::new()
        .args(["compile", "--no-infer", "-"])
        .stdin(input)
        .stdout_lacks("fsGroup: 2000")
        .stderr_has("may not be writable by the mover's non-root user")
        .run();
}

#[test]
fn no_infer_works_in_post_render_and_krm_too() {
    let stream = helm3_stream();
    for (args, fs_group) in [
        (&["post-render"][..], Value::from(2000)),
        (&["post-render", "--no-infer"][..], Value::Null),
    ] {
        let output = run(kopiaplan().args(args), Some(stream.as_bytes()));
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let objects = documents(&text(&output.stdout));
        let cron_job = objects
            .iter()
            .find(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == "shop-web-uploads-backup")
            .expect("CronJob");
        assert_eq!(
            support::pod_spec(cron_job)["securityContext"]["fsGroup"],
            fs_group,
            "{args:?}"
        );
    }
    let items: String = CHART
        .iter()
        .map(|(_, text)| {
            let indented: String = text.lines().map(|l| format!("    {l}\n")).collect();
            format!("  - {}", indented.trim_start())
        })
        .collect();
    let list = format!("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{items}");
    for (args, fs_group) in [
        (&["krm"][..], Value::from(2000)),
        (&["krm", "--no-infer"][..], Value::Null),
    ] {
        let output = run(kopiaplan().args(args), Some(list.as_bytes()));
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        let list: Value = serde_saphyr::from_str(&text(&output.stdout)).expect("YAML");
        let cron_job = list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == "shop-web-uploads-backup")
            .expect("CronJob");
        assert_eq!(
            support::pod_spec(cron_job)["securityContext"]["fsGroup"],
            fs_group,
            "{args:?}"
        );
    }
}

#[test]
fn the_plans_own_settings_win_over_the_workloads() {
    let objects = chart_with(&shop_plan(
        "    - name: web\n      pvc: web-uploads\n      mover: {securityContext: {fsGroup: 3000}}\n",
    ))
    .objects();
    let pod = support::pod_spec(objects.named("CronJob", "shop-web-backup"));
    assert_eq!(pod["securityContext"]["fsGroup"], 3000);
}

/// A Deployment on tainted, labelled nodes, and a StatefulSet whose pods
/// share their labels.
const PLACED: &str = "---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, tier: front}
    spec:
      nodeSelector: {pool: storage}
      tolerations: [{key: dedicated, operator: Equal, value: storage, effect: NoSchedule}]
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            - {topologyKey: kubernetes.io/hostname, labelSelector: {matchLabels: {app: web}}}
      containers: [{name: web, image: nginx}]
      volumes: [{name: uploads, persistentVolumeClaim: {claimName: web-uploads}}]
";

#[test]
fn a_direct_copy_of_a_read_write_once_claim_runs_beside_its_pod() {
    let input = Plan::text(format!(
        "{}{}---\n{}",
        PLACED,
        format_args!("---\n{}", CHART[0].1),
        shop_plan(
            "    - name: web\n      pvc: web-uploads\n      copyMethod: Direct\n    - name: db\n      pvc: data-db-1\n      copyMethod: Direct\n"
        )
    ));
    let objects = input.objects();
    let pod = support::pod_spec(objects.named("CronJob", "shop-web-backup"));
    let pod_affinity =
        &pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(
        pod_affinity["labelSelector"]["matchLabels"],
        serde_json::json!({"app": "web", "tier": "front"})
    );
    assert_eq!(pod["nodeSelector"], serde_json::json!({"pool": "storage"}));
    assert_eq!(pod["tolerations"][0]["key"], "dedicated");
    assert!(!pod["affinity"]["nodeAffinity"].is_null());
    assert!(
        pod["affinity"]["podAntiAffinity"].is_null(),
        "the application's anti-affinity would keep the mover away from it"
    );
    // A StatefulSet's replica is found by its own pod name.
    let pod = support::pod_spec(objects.named("CronJob", "shop-db-backup"));
    assert_eq!(
        pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"]
            ["matchLabels"],
        serde_json::json!({"app": "db", "statefulset.kubernetes.io/pod-name": "db-1"})
    );
    Test::new()
        .args(["explain", "-"])
        .stdin(input)
        .stdout_has(
            "workloadSelector = {\"app\":\"web\",\"tier\":\"front\"}  (from Deployment/web)",
        )
        .stdout_has("mover.tolerations = ")
        .run();
}

#[test]
fn direct_on_a_read_write_once_pod_claim_is_refused_proposing_clone_or_snapshot() {
    chart_with(&shop_plan(
        "    - name: web\n      pvc: web-uploads\n      copyMethod: Direct\n",
    ))
    .replace(
        "  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 5Gi}}",
        "  accessModes: [ReadWriteOncePod]\n  resources: {requests: {storage: 5Gi}}",
    )
    .errors()
    .has("PVC `web-uploads` is ReadWriteOncePod")
    .has("use `copyMethod: Clone` or `copyMethod: Snapshot`")
    .has("field: spec.backups[0].copyMethod");
}

#[test]
fn staging_access_modes_set_the_access_modes_of_the_copy() {
    let input = chart_with(&shop_plan(
        "    - name: web\n      pvc: web-uploads\n      stagingAccessModes: [ReadOnlyMany]\n",
    ))
    .replace(
        "  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 5Gi}}",
        "  accessModes: [ReadWriteMany]\n  resources: {requests: {storage: 5Gi}}",
    );
    let objects = input.objects();
    let pod = support::pod_spec(objects.named("CronJob", "shop-web-backup"));
    let modes = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|v| v["ephemeral"]["volumeClaimTemplate"]["spec"]["accessModes"].as_array())
        .cloned();
    assert_eq!(modes, Some(vec![Value::from("ReadOnlyMany")]));
    input
        .replace(
            "stagingAccessModes",
            "copyMethod: Direct\n      stagingAccessModes",
        )
        .errors()
        .has("`stagingAccessModes` are the access modes of a `Clone` or `Snapshot` copy");
}

#[test]
fn the_guard_says_a_replicas_backup_stops_because_the_stateful_set_shrank() {
    let dir = scratch("guard-shrink");
    let before = chart_with(&shop_plan("    - name: db\n      statefulSet: db\n")).to_string();
    let after = before.replace("replicas: 3", "replicas: 2");
    write(&dir.join("before.yaml"), &before);
    write(&dir.join("after.yaml"), &after);
    let previous = dir.join("previous.yaml");
    let output = run(
        kopiaplan().args([
            "compile",
            path(&dir.join("before.yaml")),
            "-o",
            path(&previous),
        ]),
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let output = run(
        kopiaplan().args([
            "diff",
            path(&dir.join("after.yaml")),
            "--against",
            path(&previous),
            "--guard",
        ]),
        None,
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{stderr}");
    for claim in ["data-db-2", "wal-db-2"] {
        assert!(
            stderr.contains(&format!(
                "`backup/{claim}` of plan `shop` is removed: its backups stop"
            )),
            "{stderr}"
        );
    }
    assert!(
        stderr.contains("it backed up StatefulSet/db, claim template `data`, replica 2: the StatefulSet has fewer replicas or claim templates now"),
        "{stderr}"
    );
    assert!(!stderr.contains("data-db-1` of plan"), "{stderr}");
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("write");
}

fn path(path: &Path) -> &str {
    path.to_str().expect("utf-8")
}

/// A StatefulSet numbered from 5 whose container runs as another user than
/// its pod.
const NUMBERED: &str = "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: shop
spec:
  replicas: 2
  ordinals: {start: 5}
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      securityContext: {runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000}
      containers:
        - name: postgres
          image: postgres:16
          securityContext: {runAsUser: 999}
          volumeMounts: [{name: data, mountPath: /var/lib/postgresql}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 1Gi}}
";

#[test]
fn a_stateful_set_numbered_from_a_start_ordinal_backs_up_the_claims_it_makes() {
    let input = Plan::text(format!(
        "---\n{NUMBERED}---\n{}",
        shop_plan("    - name: db\n      statefulSet: db\n")
    ));
    let objects = input.objects();
    let backups: Vec<&str> = objects
        .of_kind("CronJob")
        .iter()
        .filter_map(|o| o["metadata"]["name"].as_str())
        .filter(|n| n.ends_with("-backup"))
        .collect();
    // Kubernetes names the claims data-db-5 and data-db-6.
    assert_eq!(backups, ["shop-data-db-5-backup", "shop-data-db-6-backup"]);
}

#[test]
fn the_mounting_containers_own_user_wins_over_the_pods_as_in_kubernetes() {
    let input = Plan::text(format!(
        "---\n{NUMBERED}---\n{}",
        shop_plan("    - name: db\n      statefulSet: db\n")
    ));
    let objects = input.objects();
    let pod = support::pod_spec(objects.named("CronJob", "shop-data-db-5-backup"));
    let context = &pod["securityContext"];
    assert_eq!(context["runAsUser"], 999, "{context}");
    // The container sets no group: the pod's applies.
    assert_eq!(context["runAsGroup"], 1000, "{context}");
    assert_eq!(context["fsGroup"], 2000, "{context}");
}

#[test]
fn a_stateful_sets_claims_carry_its_selector_not_its_pod_labels() {
    // The controller labels each claim with the template's labels and the
    // selector's; `tier` is on the pods only.
    let chart = NUMBERED.replace(
        "      labels: {app: db}\n    spec:",
        "      labels: {app: db, tier: gold}\n    spec:",
    );
    assert_ne!(chart, NUMBERED);
    let by_selector = Plan::text(format!(
        "---\n{chart}---\n{}",
        shop_plan("    - name: db\n      pvcSelector: {matchLabels: {app: db}}\n")
    ))
    .objects();
    let _ = by_selector.named("CronJob", "shop-data-db-5-backup");
    Plan::text(format!(
        "---\n{chart}---\n{}",
        shop_plan("    - name: db\n      pvcSelector: {matchLabels: {tier: gold}}\n")
    ))
    .errors()
    .has("no PersistentVolumeClaim in namespace `shop` matches `pvcSelector` {tier: gold}")
    .has("`data-db-5` (app=db)");
}

/// The pod that mounts a backup's copy: the CronJob's, or for a
/// `Snapshot` copy the mover Job's its launcher creates (from the
/// manifests ConfigMap it mounts).
fn data_pod(objects: &[Value], cron_job: &str) -> Value {
    let cron = objects
        .iter()
        .find(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == cron_job)
        .unwrap_or_else(|| panic!("no CronJob {cron_job}"));
    let pod = support::pod_spec(cron);
    if pod["containers"][0]["name"] != "launcher" && pod["initContainers"].is_null() {
        return pod.clone();
    }
    let manifests = objects
        .iter()
        .filter(|o| o["kind"] == "ConfigMap")
        .find_map(|o| o["data"]["mover-job.json"].as_str())
        .expect("the launcher's mover Job");
    let job: Value = serde_json::from_str(manifests).expect("the mover Job as JSON");
    support::pod_spec(&job).clone()
}

/// The `data` volume of a mover pod and how its container mounts it.
fn data_volume(pod: &Value) -> (Value, Value) {
    let volume = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == "data")
        .expect("the data volume")
        .clone();
    let mount = pod["containers"][0]["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == "data")
        .expect("the data mount")
        .clone();
    (volume, mount)
}

/// The chart, its `web-uploads` claim ReadWriteMany (as on CephFS).
fn shared_uploads(backups: &str) -> Plan {
    chart_with(&shop_plan(backups)).replace(
        "  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 5Gi}}",
        "  accessModes: [ReadWriteMany]\n  resources: {requests: {storage: 5Gi}}",
    )
}

#[test]
fn a_read_only_many_copy_is_staged_read_only_and_mounted_read_only() {
    for method in ["Clone", "Snapshot"] {
        let objects = shared_uploads(&format!(
            "    - name: web\n      pvc: web-uploads\n      copyMethod: {method}\n      stagingAccessModes: [ReadOnlyMany]\n"
        ))
        .objects();
        let (volume, mount) = data_volume(&data_pod(&objects, "shop-web-backup"));
        assert_eq!(
            volume["ephemeral"]["volumeClaimTemplate"]["spec"]["accessModes"],
            serde_json::json!(["ReadOnlyMany"]),
            "{method}: {volume}"
        );
        assert_eq!(mount["readOnly"], true, "{method}: {mount}");
        // A copy that may be written is mounted read-write, as VolSync did
        // (a `beforeSnapshot` action may write a dump into it).
        let objects = shared_uploads(&format!(
            "    - name: web\n      pvc: web-uploads\n      copyMethod: {method}\n"
        ))
        .objects();
        let (volume, mount) = data_volume(&data_pod(&objects, "shop-web-backup"));
        assert_eq!(
            volume["ephemeral"]["volumeClaimTemplate"]["spec"]["accessModes"],
            serde_json::json!(["ReadWriteMany"]),
            "{method}: {volume}"
        );
        assert_eq!(mount["readOnly"], false, "{method}: {mount}");
    }
}

#[test]
fn read_only_false_on_a_read_only_many_copy_is_refused() {
    shared_uploads(
        "    - name: web\n      pvc: web-uploads\n      copyMethod: Snapshot\n      stagingAccessModes: [ReadOnlyMany]\n      readOnly: false\n",
    )
    .errors()
    .has("error[conflicting-fields]: the volume of this `Snapshot` copy is ReadOnlyMany, so the mover can only mount it read-only")
    .has("field: spec.backups[0].readOnly")
    .has("stagingAccessModes: [ReadWriteOnce]");
}

#[test]
fn an_empty_selector_warns_that_it_selects_every_claim_of_the_namespace() {
    for selector in [
        "{}",
        "{matchLabels: {}}",
        "{matchLabels: {}, matchExpressions: []}",
    ] {
        let ran = Test::new()
            .args(["compile", "-"])
            .stdin(chart_with(&shop_plan(&format!(
                "    - name: all\n      pvcSelector: {selector}\n"
            ))))
            .stdout_has("name: shop-web-uploads-backup")
            .stderr_has("warning[empty-selector]: `pvcSelector` names no label, so it selects every claim of namespace `shop`: all 7 of them, and each claim added there later")
            .stderr_has("field: spec.backups[0].pvcSelector")
            .stderr_has("narrow it to the application's claims with `matchLabels`")
            .run();
        assert_eq!(
            ran.stderr.matches("warning[empty-selector]").count(),
            1,
            "{}",
            ran.stderr
        );
    }
    // A selector that names a label selects without a word.
    let ran = Test::new()
        .args(["compile", "-"])
        .stdin(chart_with(CHART[4].1))
        .run();
    assert!(!ran.stderr.contains("empty-selector"), "{}", ran.stderr);
}

#[test]
fn a_claim_expanding_to_the_name_of_an_entry_as_written_collides_naming_both_claims() {
    chart_with(&shop_plan(
        "    - name: data-db-0\n      pvc: web-uploads\n    - name: db\n      statefulSet: db\n",
    ))
    .errors()
    .has("error[selection-collision]: this entry's claim `data-db-0` expands to a backup `data-db-0` in namespace `shop`, which the entry `data-db-0` (of claim `web-uploads`) already is")
    .has("field: spec.backups[1].statefulSet");
}

#[test]
fn claims_whose_names_differ_only_by_a_dot_and_a_dash_collide_naming_both() {
    let claim = |name: &str| {
        format!(
            "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\n  namespace: shop\n  labels: {{app: db}}\nspec:\n  accessModes: [ReadWriteOnce]\n  resources: {{requests: {{storage: 1Gi}}}}\n"
        )
    };
    let errors = Plan::text(format!(
        "{}{}---\n{}",
        claim("data-db-0"),
        claim("data.db-0"),
        shop_plan("    - name: db\n      pvcSelector: {matchLabels: {app: db}}\n")
    ))
    .errors();
    errors
        .has("error[selection-collision]: this entry's claim `data.db-0` expands to a backup `data-db-0` in namespace `shop`, which the backup of `data-db-0` expanded from entry `db` already is")
        .has("field: spec.backups[0].pvcSelector")
        .has("back up one of the two claims with an entry of its own (`pvc`, under another name)");
    assert_eq!(errors.0.matches("error[").count(), 1, "{}", errors.0);
}

/// The chart as Helm renders it without `namespace:` in its templates:
/// Helm applies them to the release's namespace.
fn chart_without_namespaces(plan: &str) -> Plan {
    let chart = chart_with(plan).to_string();
    let plan_starts = chart.find("apiVersion: kopiaplan.dev").expect("the plan");
    let templates = chart[..plan_starts].replace("  namespace: shop\n", "");
    assert!(!templates.contains("namespace:"), "{templates}");
    Plan::text(format!("{templates}{}", &chart[plan_starts..]))
}

#[test]
fn chart_objects_without_a_namespace_are_found_from_the_entrys_namespace() {
    // Claims (the PVC and the StatefulSet's), and the workloads the
    // settings come from.
    let objects = chart_without_namespaces(CHART[4].1).objects();
    assert_seven_backups(&objects, "a chart without namespaces");
    let objects = chart_without_namespaces(&shop_plan(
        "    - name: web\n      pvc: web-uploads\n      copyMethod: Direct\n    - name: db\n      statefulSet: db\n      copyMethod: Direct\n",
    ))
    .objects();
    let pod = support::pod_spec(objects.named("CronJob", "shop-web-backup"));
    assert_eq!(
        pod["securityContext"]["fsGroup"], 2000,
        "from Deployment/web"
    );
    assert_eq!(
        pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"]
            ["matchLabels"],
        serde_json::json!({"app": "web"})
    );
    let pod = support::pod_spec(objects.named("CronJob", "shop-wal-db-2-backup"));
    assert_eq!(
        pod["securityContext"]["runAsUser"], 999,
        "from StatefulSet/db"
    );
    assert_eq!(
        pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"]
            ["matchLabels"],
        serde_json::json!({"app": "db", "statefulset.kubernetes.io/pod-name": "db-2"})
    );
    // The claim's access modes are found too.
    chart_without_namespaces(&shop_plan(
        "    - name: web\n      pvc: web-uploads\n      copyMethod: Direct\n",
    ))
    .replace(
        "[ReadWriteOnce]\n  resources: {requests: {storage: 5Gi}}",
        "[ReadWriteOncePod]\n  resources: {requests: {storage: 5Gi}}",
    )
    .errors()
    .has("PVC `web-uploads` is ReadWriteOncePod");
}
