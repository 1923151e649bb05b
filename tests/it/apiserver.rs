//! The output against a real API server (etcd, kube-apiserver and
//! kube-controller-manager from `tests/controlplane/`, built by
//! `.ci/install-tools`): server-side validation, Pod Security admission,
//! a second apply after an edit, RBAC as the server evaluates it, the
//! launcher's kubectl steps, and CronJobs that create Jobs.
//!
//! Tests that apply the examples share their namespaces: each holds the
//! namespaces of what it applies (`hold_namespaces`), one example at a time
//! where it can, and deletes what it applied before letting go; tests on
//! other namespaces run meanwhile.

use crate::support;
use crate::support::requires::requires;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::apiserver::{
    ControlPlane, NamespacesHeld, control_plane, hold_namespaces, kubectl_as, try_hold_namespaces,
};
use support::pod::Pod;
use support::{examples, golden_of, stderr, stdout};

/// The examples whose movers run as root with added capabilities.
const PRIVILEGED_EXAMPLES: &[&str] = &["privileged-mover.yaml", "volsync-migration.yaml"];

fn documents(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_str_multiple::<Value, Vec<_>>(yaml)
        .unwrap_or_else(|e| panic!("not YAML: {e}"))
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .expect("file name")
        .to_owned()
}

fn golden_objects(example: &std::path::Path) -> Vec<Value> {
    documents(&std::fs::read_to_string(golden_of(example)).expect("golden file"))
}

/// Every namespace the objects live in or create.
fn namespaces(objects: &[Value]) -> BTreeSet<String> {
    objects
        .iter()
        .filter_map(|o| match o["kind"].as_str() {
            Some("Namespace") => o["metadata"]["name"].as_str(),
            _ => o["metadata"]["namespace"].as_str(),
        })
        .map(str::to_owned)
        .collect()
}

fn assert_ok(output: &Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed:\n{}{}",
        stdout(output),
        shortened(&stderr(output))
    );
    stdout(output)
}

/// The server quotes a whole Go struct when a field is immutable: keep the
/// start and the end of such an error.
fn shortened(text: &str) -> String {
    if text.len() <= 3000 {
        return text.to_owned();
    }
    let start: String = text.chars().take(1500).collect();
    let end: String = text
        .chars()
        .rev()
        .take(500)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{start}\n[…]\n{end}")
}

/// Applies `objects` server-side, first as a dry run, into namespaces
/// enforcing `level`.
fn apply_for_real(plane: &ControlPlane, objects: &[Value], level: &str, what: &str) {
    set_level(plane, objects, level);
    assert_ok(
        &plane.apply(objects, &["--dry-run=server"]),
        &format!("{what}: kubectl apply --server-side --dry-run=server"),
    );
    assert_ok(
        &plane.apply(objects, &[]),
        &format!("{what}: kubectl apply --server-side"),
    );
}

/// Something to apply, with the namespaces to hold while applying it.
type Held<T> = (T, BTreeSet<String>);

/// Every example's file name and golden objects, with their namespaces.
fn golden_examples() -> Vec<Held<(String, Vec<Value>)>> {
    examples()
        .iter()
        .map(|example| {
            let objects = golden_objects(example);
            let held = namespaces(&objects);
            ((file_name(example), objects), held)
        })
        .collect()
}

/// `items`, each with its namespaces held while the caller works on it: in
/// order, except that one whose namespaces another test holds is put off
/// while others are free, so that tests going through the examples side by
/// side do not wait for each other.
fn when_free<T>(items: Vec<Held<T>>) -> impl Iterator<Item = (T, NamespacesHeld)> {
    let mut pending = items;
    std::iter::from_fn(move || {
        if pending.is_empty() {
            return None;
        }
        let free = pending
            .iter()
            .enumerate()
            .find_map(|(index, (_, names))| Some((index, try_hold_namespaces(names)?)));
        let (index, held) = free.unwrap_or_else(|| (0, hold_namespaces(pending[0].1.clone())));
        Some((pending.remove(index).0, held))
    })
}

/// Creates the namespaces of `objects`, enforcing `level`.
fn set_level(plane: &ControlPlane, objects: &[Value], level: &str) {
    plane.namespaces(namespaces(objects).iter().map(String::as_str), level);
}

/// Dry runs of the Pods of `templates` (in one request), each checked
/// with `check(template, pod, what the server said)`.
fn check_pods(
    plane: &ControlPlane,
    templates: &[Template],
    mut check: impl FnMut(&Template, Value, Result<(), String>),
) {
    let pods: Vec<Value> = templates
        .iter()
        .enumerate()
        .map(|(index, template)| pod_of(template, index))
        .collect();
    let results = plane.create_dry_run_each(&pods);
    for ((template, pod), result) in templates.iter().zip(pods).zip(results) {
        check(template, pod, result);
    }
}

/// Fails with `what` and the server's error when it refused.
#[track_caller]
fn assert_accepted(result: Result<(), String>, what: &str) {
    if let Err(error) = result {
        panic!("{what} failed:\n{}", shortened(&error));
    }
}

/// What an integration produced (a Helm post-render, a kustomize build, a
/// kpt package, an Argo CD generate), applied as that pipeline would apply
/// it: a server-side dry run, then for real into namespaces enforcing the
/// restricted Pod Security level, every pod template checked by admission
/// (the launcher's embedded Jobs too); then removed again.
pub(crate) fn the_server_accepts(objects: &[Value], what: &str) {
    let plane = control_plane();
    let _held = hold_namespaces(namespaces(objects));
    apply_for_real(plane, objects, "restricted", what);
    let templates = pod_templates(objects);
    assert!(!templates.is_empty(), "{what}: no pod template to check");
    check_pods(plane, &templates, |template, _, result| {
        assert_accepted(
            result,
            &format!(
                "{what}: a Pod of {} in a restricted namespace",
                template.origin
            ),
        )
    });
    delete(plane, objects);
}

/// Deletes what `objects` created (each once), Namespaces excepted (this
/// control plane runs no namespace controller to finish deleting one), and
/// waits until it is gone. Not `--wait=true`: its checks go through a
/// client limited to five requests a second after the first ten, about
/// 0.2 s per object of an output; one `get` of them all is not limited.
fn delete(plane: &ControlPlane, objects: &[Value]) {
    let mut seen = BTreeSet::new();
    let items: Vec<Value> = objects
        .iter()
        .filter(|o| o["kind"] != "Namespace")
        .filter(|o| {
            let metadata = &o["metadata"];
            seen.insert(
                [&o["kind"], &metadata["namespace"], &metadata["name"]].map(Value::to_string),
            )
        })
        .cloned()
        .collect();
    let list = serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "List", "items": items}))
        .expect("json");
    assert_ok(
        &plane.kubectl_stdin(
            &["delete", "--ignore-not-found", "--wait=false", "-f", "-"],
            &list,
        ),
        "kubectl delete",
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = assert_ok(
            &plane.kubectl_stdin(
                &["get", "--ignore-not-found", "-o", "name", "-f", "-"],
                &list,
            ),
            "kubectl get of what was deleted",
        );
        if left.trim().is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still there 60 s after kubectl delete:\n{left}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A pod template of the output: where it is, and the template.
struct Template {
    origin: String,
    namespace: String,
    template: Value,
}

/// Every pod template: CronJobs', Jobs', and the mover Jobs a launcher
/// creates from its ConfigMap.
fn pod_templates(objects: &[Value]) -> Vec<Template> {
    let mut found = Vec::new();
    for object in objects {
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_owned();
        let name = object["metadata"]["name"].as_str().unwrap_or_default();
        match object["kind"].as_str() {
            Some("CronJob") => found.push(Template {
                origin: format!("CronJob {namespace}/{name}"),
                namespace,
                template: object["spec"]["jobTemplate"]["spec"]["template"].clone(),
            }),
            Some("Job") => found.push(Template {
                origin: format!("Job {namespace}/{name}"),
                namespace,
                template: object["spec"]["template"].clone(),
            }),
            Some("ConfigMap") => {
                for (key, text) in object["data"].as_object().into_iter().flatten() {
                    let Ok(embedded) = serde_json::from_str::<Value>(text.as_str().unwrap_or(""))
                    else {
                        continue;
                    };
                    if embedded["kind"] == "Job" {
                        found.push(Template {
                            origin: format!("ConfigMap {namespace}/{name} {key}"),
                            namespace: namespace.clone(),
                            template: embedded["spec"]["template"].clone(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    found
}

/// The Pod a controller would create from a template.
fn pod_of(template: &Template, index: usize) -> Value {
    let mut metadata = template.template["metadata"].clone();
    if !metadata.is_object() {
        metadata = json!({});
    }
    metadata["name"] = json!(format!("template-{index}"));
    metadata["namespace"] = json!(template.namespace);
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": template.template["spec"],
    })
}

/// Root or added capabilities: what a privileged mover asks for.
fn asks_for_privileges(template: &Value) -> bool {
    let spec = &template["spec"];
    let pod_root = spec["securityContext"]["runAsUser"] == 0;
    ["containers", "initContainers"].iter().any(|list| {
        spec[list].as_array().into_iter().flatten().any(|c| {
            let context = &c["securityContext"];
            context["runAsUser"] == 0
                || (pod_root && context["runAsUser"].is_null())
                || context["capabilities"]["add"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
        })
    })
}

fn uses_nfs(template: &Value) -> bool {
    template["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|v| v.get("nfs").is_some())
}

#[test]
fn every_golden_file_applies_and_its_pods_pass_pod_security() {
    requires!(
        ControlPlane,
        Tool("kubectl"),
        Tool("openssl"),
        Tool("setpriv")
    );
    let plane = control_plane();
    let mut privileged_files = BTreeSet::new();
    let mut nfs_files = BTreeSet::new();
    let mut pods_checked = 0;
    for ((name, objects), _held) in when_free(golden_examples()) {
        // The file itself, as a user applies it.
        set_level(plane, &objects, "restricted");
        let golden = golden_of(std::path::Path::new(&name)).display().to_string();
        for extra in [&["--dry-run=server"][..], &[]] {
            let mut args = vec![
                "apply",
                "--server-side",
                "--field-manager=kopiaplan-tests",
                "-f",
                golden.as_str(),
            ];
            args.extend(extra);
            assert_ok(&plane.kubectl(&args), &format!("kubectl {args:?}"));
        }
        let templates = pod_templates(&objects);
        assert!(!templates.is_empty(), "{name} has no pod template");
        let mut privileged = Vec::new();
        let mut nfs = Vec::new();
        check_pods(plane, &templates, |template, pod, result| {
            pods_checked += 1;
            // The restricted level allows no NFS volume (README, mover
            // volumes: kopiaplan warns), and no root or added capability.
            let rejection = if asks_for_privileges(&template.template) {
                privileged.push(pod);
                "violates PodSecurity \"restricted:latest\""
            } else if uses_nfs(&template.template) {
                nfs.push(pod);
                "restricted volume types"
            } else {
                return assert_accepted(
                    result,
                    &format!(
                        "{name}: a Pod of {} in a restricted namespace",
                        template.origin
                    ),
                );
            };
            let said = match result {
                Ok(()) => "the server accepted it".to_owned(),
                Err(error) if error.contains(rejection) => return,
                Err(error) => error,
            };
            panic!(
                "{name}: the pod of {} is not rejected in a restricted namespace ({rejection}):\n{said}",
                template.origin,
            );
        });
        // What the launchers create, checked by the server as they will be.
        let mut launcher_objects = Vec::new();
        for object in &objects {
            if object["kind"] != "ConfigMap" {
                continue;
            }
            for (key, text) in object["data"].as_object().into_iter().flatten() {
                let Ok(embedded) = serde_json::from_str::<Value>(text.as_str().unwrap_or(""))
                else {
                    continue;
                };
                if embedded["kind"].is_string() {
                    launcher_objects.push((key.clone(), embedded));
                }
            }
        }
        let (keys, embedded): (Vec<String>, Vec<Value>) = launcher_objects.into_iter().unzip();
        for (key, result) in keys.iter().zip(plane.create_dry_run_each(&embedded)) {
            assert_accepted(result, &format!("{name}: creating the launcher's {key}"));
        }
        if !privileged.is_empty() {
            privileged_files.insert(name.clone());
        }
        if !nfs.is_empty() {
            nfs_files.insert(name.clone());
        }
        // NFS needs the baseline level; root with CHOWN, DAC_OVERRIDE and
        // FOWNER is within baseline too (those are in its allowed set).
        let special: Vec<Value> = privileged.into_iter().chain(nfs).collect();
        for level in ["baseline", "privileged"] {
            if special.is_empty() {
                break;
            }
            set_level(plane, &objects, level);
            for (pod, result) in special.iter().zip(plane.create_dry_run_each(&special)) {
                assert_accepted(
                    result,
                    &format!(
                        "{name}: pod {} in a {level} namespace",
                        pod["metadata"]["name"]
                    ),
                );
            }
        }
        delete(plane, &objects);
    }
    let expected: BTreeSet<String> = PRIVILEGED_EXAMPLES
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(
        privileged_files, expected,
        "the examples with privileged movers"
    );
    assert_eq!(
        nfs_files,
        BTreeSet::from(["mover-volumes-and-maintenance.yaml".to_owned()]),
        "the examples with NFS mover volumes"
    );
    assert!(pods_checked > 30, "only {pods_checked} pod templates");
}

/// Prepends a comment and adds an unrelated backup entry: the first in the
/// plan's list, so that every later line moves; or a plan of its own when
/// the input has no `backups:` list.
fn unrelated_edit(text: &str) -> String {
    let docs = documents(text);
    let plan = docs.iter().find(|d| d["kind"] == "BackupPlan");
    let marker = "\n  backups:\n";
    match plan {
        Some(plan) if text.contains(marker) => {
            let mut entry = String::from(
                "    - {name: unrelated-extra, pvc: unrelated-extra-data, copyMethod: Direct, \
                 schedule: \"30 3 * * *\"",
            );
            if plan["metadata"]["namespace"].is_null() {
                let namespace = plan["spec"]["backups"][0]["namespace"]
                    .as_str()
                    .expect("a namespace");
                entry += &format!(", namespace: {namespace}");
            }
            if plan["spec"]["defaults"]["repository"].is_null() {
                let repository = plan["spec"]["repositories"][0]["name"]
                    .as_str()
                    .expect("a repository");
                entry += &format!(", repository: {repository}");
            }
            entry += "}\n";
            format!(
                "# edited: an unrelated entry added\n{}",
                text.replacen(marker, &format!("{marker}{entry}"), 1)
            )
        }
        _ => {
            let namespace = namespaces(&docs).into_iter().next().expect("a namespace");
            format!(
                "# edited: an unrelated plan added\n{text}\n---\n\
                 apiVersion: kopiaplan.dev/v1alpha1\nkind: BackupPlan\n\
                 metadata: {{name: unrelated, namespace: {namespace}}}\nspec:\n  \
                 repositories: [{{name: unrelated, secretName: unrelated-kopia}}]\n  \
                 backups:\n    - {{name: unrelated-extra, pvc: unrelated-extra-data, \
                 repository: unrelated, copyMethod: Direct, schedule: \"30 3 * * *\"}}\n"
            )
        }
    }
}

fn compile(text: &str, what: &str) -> Vec<Value> {
    support::compile_text(text).unwrap_or_else(|e| panic!("{what} does not compile:\n{e}"))
}

fn level_of(example: &str) -> &'static str {
    if PRIVILEGED_EXAMPLES.contains(&example) {
        "privileged"
    } else {
        "restricted"
    }
}

/// Compiles each example, applies it, applies it again after an unrelated
/// edit; `manual_jobs` chooses the examples with or without a manual Job.
fn reapply_after_an_unrelated_edit(manual_jobs: bool) -> Vec<String> {
    let plane = control_plane();
    let mut compiled = Vec::new();
    for example in examples() {
        let name = file_name(&example);
        let text = std::fs::read_to_string(&example).expect("example");
        let first = compile(&text, &name);
        if first.iter().any(|o| o["kind"] == "Job") != manual_jobs {
            continue;
        }
        let edited = unrelated_edit(&text);
        let second = compile(&edited, &format!("{name}, edited"));
        assert!(second.len() > first.len(), "{name}: the edit added nothing");
        let both = [&second[..], &first[..]].concat();
        let held = namespaces(&both);
        compiled.push(((name, first, second, both), held));
    }
    let mut applied = Vec::new();
    for ((name, first, second, both), _held) in when_free(compiled) {
        let level = level_of(&name);
        apply_for_real(plane, &first, level, &name);
        apply_for_real(plane, &second, level, &format!("{name}, edited"));
        delete(plane, &both);
        applied.push(name);
    }
    applied.sort();
    applied
}

#[test]
fn every_example_applies_again_after_an_unrelated_edit() {
    requires!(
        ControlPlane,
        Tool("kubectl"),
        Tool("openssl"),
        Tool("setpriv")
    );
    let applied = reapply_after_an_unrelated_edit(false);
    assert!(applied.len() >= 10, "{applied:?}");
}

#[test]
fn examples_with_manual_jobs_apply_again_after_an_unrelated_edit() {
    requires!(
        ControlPlane,
        Tool("kubectl"),
        Tool("openssl"),
        Tool("setpriv")
    );
    let applied = reapply_after_an_unrelated_edit(true);
    assert_eq!(
        applied,
        [
            "database-stream.yaml",
            "deploy-or-restore.yaml",
            "monitoring.yaml",
            "paused-and-manual.yaml",
            "replicas.yaml",
            "restore-same-namespace.yaml",
            "volsync-migration.yaml"
        ]
    );
}

/// The examples with a manual trigger, and a new token for each.
fn with_new_manual_token(text: &str) -> Option<String> {
    let tokens = [
        ("manual: \"2026-11-26\"", "manual: \"2026-12-03\""),
        ("manual: restore-2026-11-26", "manual: restore-2026-12-03"),
    ];
    tokens
        .iter()
        .find(|(old, _)| text.contains(old))
        .map(|(old, new)| text.replacen(old, new, 1))
}

#[test]
fn a_new_manual_token_applies_over_the_old_one() {
    requires!(
        ControlPlane,
        Tool("kubectl"),
        Tool("openssl"),
        Tool("setpriv")
    );
    let plane = control_plane();
    let mut changed = Vec::new();
    for example in examples() {
        let name = file_name(&example);
        let text = std::fs::read_to_string(&example).expect("example");
        let Some(new_token) = with_new_manual_token(&text) else {
            continue;
        };
        let level = level_of(&name);
        let first = compile(&text, &name);
        let second = compile(&new_token, &format!("{name}, new token"));
        assert_ne!(first, second, "{name}: the token changed nothing");
        let both = [&second[..], &first[..]].concat();
        let _held = hold_namespaces(namespaces(&both));
        apply_for_real(plane, &first, level, &name);
        apply_for_real(plane, &second, level, &format!("{name}, new token"));
        delete(plane, &both);
        changed.push(name);
    }
    assert_eq!(
        changed,
        [
            "paused-and-manual.yaml",
            "restore-same-namespace.yaml",
            "volsync-migration.yaml"
        ]
    );
}

/// An edit to a manual restore that keeps its token changes its Job's pod
/// template under the same name: the API server refuses the second apply
/// (a Job's template is immutable), and `diff --guard`, given the first
/// output, said so before anything was applied. Compiled with the first
/// output as `--previous`, the issued Job is kept and the edit applies.
#[test]
fn a_manual_job_changed_under_its_token_fails_to_apply_unless_kept_and_the_guard_said_so() {
    requires!(
        ControlPlane,
        Tool("kubectl"),
        Tool("openssl"),
        Tool("setpriv")
    );
    let name = "restore-same-namespace.yaml";
    let text =
        std::fs::read_to_string(support::root().join("examples").join(name)).expect("example");
    let edited = text.replacen("      previous: 1\n", "      previous: 2\n", 1);
    assert_ne!(edited, text, "the edit applies");

    // The guard, before anything is applied.
    let dir = support::scratch("manual-job-guard");
    let previous = dir.join("previous.yaml");
    let plan = dir.join("plan.yaml");
    std::fs::write(&plan, &text).expect("write");
    let compiled = support::kopiaplan(&[
        "compile",
        plan.to_str().expect("utf-8"),
        "-o",
        previous.to_str().expect("utf-8"),
    ]);
    assert!(compiled.status.success(), "{}", support::stderr(&compiled));
    std::fs::write(&plan, &edited).expect("write");
    let guarded = support::kopiaplan(&[
        "diff",
        plan.to_str().expect("utf-8"),
        "--against",
        previous.to_str().expect("utf-8"),
        "--guard",
    ]);
    assert_eq!(
        guarded.status.code(),
        Some(4),
        "{}",
        support::stderr(&guarded)
    );
    assert!(
        support::stderr(&guarded)
            .contains("error[manual-job-changes]: `restore/orders-db-previous`"),
        "{}",
        support::stderr(&guarded)
    );

    // The server agrees.
    let plane = control_plane();
    let first = compile(&text, name);
    let second = compile(&edited, &format!("{name}, edited"));
    let _held = hold_namespaces(namespaces(&[&first[..], &second[..]].concat()));
    apply_for_real(plane, &first, level_of(name), name);
    let refused = plane.apply(&second, &[]);
    let message = String::from_utf8_lossy(&refused.stderr).into_owned();
    // Compiled with the previous output, the issued Job is kept as it was,
    // and the same edit applies.
    let locked = support::kopiaplan(&[
        "compile",
        plan.to_str().expect("utf-8"),
        "--format",
        "json",
        "--previous",
        previous.to_str().expect("utf-8"),
    ]);
    assert!(locked.status.success(), "{}", support::stderr(&locked));
    let locked: Value = serde_json::from_str(&support::stdout(&locked)).expect("a List");
    let locked = locked["items"].as_array().expect("items").clone();
    let reapplied = plane.apply(&locked, &[]);
    delete(plane, &first);
    assert!(!refused.status.success(), "the second apply must fail");
    assert!(message.contains("field is immutable"), "{message}");
    assert_ok(&reapplied, "the edit compiled with --previous");
}

/// `kubectl auth can-i --list` as a ServiceAccount: (resource, resource
/// name or "", verb) for every resource row.
fn permissions(
    plane: &ControlPlane,
    namespace: &str,
    account: &str,
) -> BTreeSet<(String, String, String)> {
    let table = assert_ok(
        &plane.kubectl(&[
            "auth",
            "can-i",
            "--list",
            "--no-headers",
            &format!("--as=system:serviceaccount:{namespace}:{account}"),
            "-n",
            namespace,
        ]),
        "kubectl auth can-i --list",
    );
    let row = regex::Regex::new(r"^(\S+)\s+\[(.*?)\]\s+\[(.*?)\]\s+\[(.*?)\]\s*$").expect("regex");
    let mut found = BTreeSet::new();
    for line in table.lines() {
        let Some(fields) = row.captures(line) else {
            continue; // non-resource URLs have no resource column
        };
        let names: Vec<&str> = fields[3].split_whitespace().collect();
        let names = if names.is_empty() { vec![""] } else { names };
        for verb in fields[4].split_whitespace() {
            for resource_name in &names {
                found.insert((
                    fields[1].to_owned(),
                    (*resource_name).to_owned(),
                    verb.to_owned(),
                ));
            }
        }
    }
    found
}

/// `kubectl auth can-i VERB RESOURCE[.GROUP][/NAME]` as a ServiceAccount,
/// for each check, in one request: a List of SelfSubjectAccessReviews
/// created while impersonating it, which is what `can-i --as` sends.
fn can_i_each(
    plane: &ControlPlane,
    namespace: &str,
    account: &str,
    checks: &[(&str, &str)],
) -> Vec<bool> {
    let reviews: Vec<Value> = checks
        .iter()
        .map(|(verb, reference)| {
            let (resource, name) = reference.split_once('/').unwrap_or((reference, ""));
            let (resource, group) = resource.split_once('.').unwrap_or((resource, ""));
            let mut attributes = json!({
                "namespace": namespace,
                "verb": verb,
                "resource": resource,
            });
            // As the server echoes them: empty fields left out.
            for (field, value) in [("group", group), ("name", name)] {
                if !value.is_empty() {
                    attributes[field] = json!(value);
                }
            }
            json!({
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes},
            })
        })
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": reviews});
    let who = format!("--as=system:serviceaccount:{namespace}:{account}");
    let output = plane.kubectl_stdin(
        &["create", &who, "-o", "json", "-f", "-"],
        &serde_json::to_vec(&list).expect("json"),
    );
    let answers: Vec<Value> = serde_json::Deserializer::from_str(&assert_ok(
        &output,
        &format!("SelfSubjectAccessReviews as {account}"),
    ))
    .into_iter()
    .collect::<Result<_, _>>()
    .expect("JSON objects");
    assert_eq!(answers.len(), reviews.len(), "one answer per review");
    reviews
        .iter()
        .zip(answers)
        .map(|(review, answer)| {
            assert_eq!(answer["spec"], review["spec"], "the answers in order");
            answer["status"]["allowed"] == true
        })
        .collect()
}

/// `kind.group/name` (or `kind/name` for the core group) → `plural.group`.
fn resource_of(reference: &str) -> (String, String) {
    let (kind, name) = reference.split_once('/').expect("kind/name");
    let (kind, group) = kind.split_once('.').unwrap_or((kind, ""));
    let plural = format!("{kind}s");
    let resource = if group.is_empty() {
        plural
    } else {
        format!("{plural}.{group}")
    };
    (resource, name.to_owned())
}

/// What a launcher's steps do, read from its containers' kubectl command
/// lines and the manifests they create: (resource, name or "", verb).
fn needed_by_steps(
    template: &Value,
    objects: &[Value],
    namespace: &str,
) -> BTreeSet<(String, String, String)> {
    let spec = &template["spec"];
    let manifests_config_map = spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|v| v["configMap"]["name"].as_str())
        .expect("the launcher mounts its manifests");
    let manifests = objects
        .iter()
        .find(|o| {
            o["kind"] == "ConfigMap"
                && o["metadata"]["name"] == manifests_config_map
                && o["metadata"]["namespace"] == namespace
        })
        .expect("the manifests ConfigMap");
    let mut needed = BTreeSet::new();
    let mut add = |resource: &str, name: &str, verbs: &[&str]| {
        for verb in verbs {
            needed.insert((resource.to_owned(), name.to_owned(), (*verb).to_owned()));
        }
    };
    for container in ["initContainers", "containers"]
        .iter()
        .flat_map(|list| spec[list].as_array().into_iter().flatten())
    {
        let argv: Vec<&str> = container["command"]
            .as_array()
            .expect("a command")
            .iter()
            .map(|a| a.as_str().expect("a string"))
            .collect();
        assert_eq!(argv[0], "kubectl");
        assert_eq!(argv[1], format!("--namespace={namespace}"));
        let verb = argv[2];
        let references: Vec<&str> = argv[3..]
            .iter()
            .filter(|a| !a.starts_with("--"))
            .copied()
            .collect();
        match verb {
            "create" => {
                let file = argv
                    .iter()
                    .find_map(|a| a.strip_prefix("--filename=/launcher/"))
                    .expect("create --filename");
                let created: Value = serde_json::from_str(
                    manifests["data"][file]
                        .as_str()
                        .expect("the created manifest"),
                )
                .expect("JSON");
                let group = created["apiVersion"]
                    .as_str()
                    .and_then(|v| v.rsplit_once('/'))
                    .map(|(group, _)| group)
                    .unwrap_or("");
                let kind = created["kind"].as_str().expect("kind").to_lowercase();
                let (resource, _) = resource_of(&format!("{kind}.{group}/x"));
                add(&resource, "", &["create"]);
            }
            "delete" => {
                let waits = argv.contains(&"--wait=true");
                for reference in references {
                    let (resource, name) = resource_of(reference);
                    add(&resource, &name, &["delete"]);
                    if waits {
                        add(&resource, &name, &["get", "list", "watch"]);
                    }
                }
            }
            "wait" => {
                for reference in references {
                    let (resource, name) = resource_of(reference);
                    add(&resource, &name, &["get", "list", "watch"]);
                }
            }
            other => {
                panic!("a launcher step runs `kubectl {other}`, which this test does not model")
            }
        }
    }
    needed
}

/// A launcher of a backup with workload hooks: one bash script
/// (templates/launcher-hooks.sh).
fn runs_hooks_launcher(template: &Value) -> bool {
    template["spec"]["containers"][0]["command"][1]
        .as_str()
        .is_some_and(|script| script.ends_with("/launcher-hooks.sh"))
}

/// What the hooks launcher's script does (tests/it/hooks/ runs it):
/// create, watch and (stopped before the cut) delete the mover Job, and
/// for Snapshot copies the snapshot;
/// find pods (the application's; the mover's for Clone) and exec into
/// them (a WebSocket GET and an SPDY POST); read the clone claim, whose
/// name holds the mover pod's.
fn needed_by_hooks_launcher(template: &Value) -> BTreeSet<(String, String, String)> {
    let env = |name: &str| -> String {
        template["spec"]["containers"][0]["env"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_else(|| panic!("the hooks launcher sets {name}"))
            .to_owned()
    };
    let method = env("KOPIAPLAN_COPY_METHOD");
    let mut needed = BTreeSet::new();
    let mut add = |resource: &str, name: &str, verbs: &[&str]| {
        for verb in verbs {
            needed.insert((resource.to_owned(), name.to_owned(), (*verb).to_owned()));
        }
    };
    add("jobs.batch", "", &["create"]);
    add(
        "jobs.batch",
        &env("KOPIAPLAN_MOVER_JOB"),
        &["get", "list", "watch", "delete"],
    );
    add("pods", "", &["get", "list"]);
    add("pods/exec", "", &["create", "get"]);
    match method.as_str() {
        "Snapshot" => {
            let (resource, name) = resource_of(&env("KOPIAPLAN_VOLUME_SNAPSHOT"));
            add(&resource, "", &["create"]);
            add(&resource, &name, &["get", "list", "watch", "delete"]);
        }
        "Clone" => add("persistentvolumeclaims", "", &["get"]),
        _ => {}
    }
    needed
}

fn runs_kubectl(template: &Value) -> bool {
    template["spec"]["containers"][0]["command"][0] == "kubectl"
}

#[test]
fn service_accounts_can_do_exactly_what_their_steps_need() {
    requires!(
        ControlPlane,
        Tool("kubectl"),
        Tool("openssl"),
        Tool("setpriv")
    );
    let plane = control_plane();
    let mut launchers = 0;
    let mut movers = 0;
    for ((name, objects), _held) in when_free(golden_examples()) {
        // What any ServiceAccount may do without a binding of its own:
        // `nobody`, applied and deleted with the example.
        let nobody = namespaces(&objects).into_iter().map(|namespace| {
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "nobody", "namespace": namespace}})
        });
        let applied: Vec<Value> = objects.iter().cloned().chain(nobody).collect();
        apply_for_real(plane, &applied, level_of(&name), &name);
        let mut baselines = BTreeMap::new();
        for namespace in namespaces(&objects) {
            baselines.insert(namespace.clone(), permissions(plane, &namespace, "nobody"));
        }
        let mut launcher_accounts = BTreeSet::new();
        for template in pod_templates(&objects) {
            let hooks = runs_hooks_launcher(&template.template);
            if !runs_kubectl(&template.template) && !hooks {
                continue;
            }
            let account = template.template["spec"]["serviceAccountName"]
                .as_str()
                .expect("a launcher names its ServiceAccount")
                .to_owned();
            let baseline = &baselines[&template.namespace];
            let granted: BTreeSet<_> = permissions(plane, &template.namespace, &account)
                .difference(baseline)
                .cloned()
                .collect();
            let needed = if hooks {
                needed_by_hooks_launcher(&template.template)
            } else {
                needed_by_steps(&template.template, &objects, &template.namespace)
            };
            assert_eq!(
                granted, needed,
                "{name}: {}: the launcher ServiceAccount {account} may do (left) other than \
                 what its steps do (right)",
                template.origin
            );
            let forbidden = [
                ("get", "secrets"),
                ("list", "secrets"),
                ("create", "pods"),
                ("delete", "jobs.batch/someone-else"),
                ("patch", "volumesnapshots.snapshot.storage.k8s.io"),
                ("list", "jobs.batch"),
                ("get", "configmaps"),
            ];
            let allowed = can_i_each(plane, &template.namespace, &account, &forbidden);
            for (check, allowed) in forbidden.iter().zip(allowed) {
                assert!(!allowed, "{name}: {account} can {check:?}");
            }
            launcher_accounts.insert((template.namespace.clone(), account));
            launchers += 1;
        }
        for account in objects.iter().filter(|o| o["kind"] == "ServiceAccount") {
            let namespace = account["metadata"]["namespace"]
                .as_str()
                .expect("namespace");
            let account_name = account["metadata"]["name"].as_str().expect("name");
            if launcher_accounts.contains(&(namespace.to_owned(), account_name.to_owned())) {
                continue;
            }
            assert_eq!(
                permissions(plane, namespace, account_name),
                baselines[namespace],
                "{name}: the mover ServiceAccount {namespace}/{account_name} may do more than \
                 any ServiceAccount"
            );
            movers += 1;
        }
        delete(plane, &applied);
    }
    assert!(launchers >= 3, "only {launchers} launchers");
    assert!(movers > 20, "only {movers} mover ServiceAccounts");
}

/// The `status` a Job controller writes when the Job ends.
fn job_status(succeeded: bool) -> Value {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let condition = |kind: &str, reason: &str| {
        json!({
            "type": kind,
            "status": "True",
            "reason": reason,
            "message": "set by the test",
            "lastProbeTime": now,
            "lastTransitionTime": now,
        })
    };
    if succeeded {
        json!({"status": {
            "startTime": now,
            "completionTime": now,
            "succeeded": 1,
            "conditions": [
                condition("SuccessCriteriaMet", "CompletionsReached"),
                condition("Complete", "CompletionsReached"),
            ],
        }})
    } else {
        json!({"status": {
            "startTime": now,
            "failed": 1,
            "conditions": [
                condition("FailureTarget", "BackoffLimitExceeded"),
                condition("Failed", "BackoffLimitExceeded"),
            ],
        }})
    }
}

fn patch_status(plane: &ControlPlane, namespace: &str, reference: &str, status: &Value) {
    plane.kubectl_ok(&[
        "patch",
        reference,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        &status.to_string(),
    ]);
}

fn exists(plane: &ControlPlane, namespace: &str, reference: &str) -> bool {
    plane
        .kubectl(&["get", reference, "-n", namespace, "-o", "name"])
        .status
        .success()
}

/// The names of the VolumeSnapshots and Jobs in `namespace`.
fn snapshots_and_jobs(plane: &ControlPlane, namespace: &str) -> BTreeSet<String> {
    plane
        .kubectl_ok(&[
            "get",
            "volumesnapshots.snapshot.storage.k8s.io,jobs.batch",
            "-n",
            namespace,
            "-o",
            "name",
        ])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Runs the launcher's containers one by one, the way the kubelet runs init
/// containers and then the main one, with the launcher's own ServiceAccount
/// token; `between` runs before each step and may act on the server while
/// the step is running.
struct Launcher<'a> {
    plane: &'a ControlPlane,
    list: Value,
    namespace: String,
    cron_job: String,
    account_volume: std::path::PathBuf,
}

impl Launcher<'_> {
    fn step(&self, name: &str) -> Pod {
        self.step_of(&self.list, name)
    }

    fn step_of(&self, list: &Value, name: &str) -> Pod {
        Pod::from_compiled(list, "CronJob", &self.namespace, &self.cron_job)
            .container(name)
            .image_env(&[(
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            )])
            .service_account(&self.account_volume, "127.0.0.1", self.plane.port)
            .timeout(Duration::from_secs(120))
    }

    fn run(&self, name: &str) -> support::pod::PodResult {
        self.step(name).run()
    }

    /// The result step after a failed mover, its wait cut to 2 s: `kubectl
    /// wait --for=condition=Complete` cannot wait for Complete or Failed
    /// at once, so it waits out its timeout (60 s, as compiled), and what
    /// is checked is that the step fails, not for how long it waits.
    fn run_result_of_a_failed_mover(&self) -> support::pod::PodResult {
        let mut list = self.list.clone();
        let mut cut = 0;
        for item in list["items"].as_array_mut().expect("items") {
            if item["kind"] != "CronJob" || item["metadata"]["name"] != self.cron_job.as_str() {
                continue;
            }
            let pod = &mut item["spec"]["jobTemplate"]["spec"]["template"]["spec"];
            for containers in ["initContainers", "containers"] {
                for container in pod[containers].as_array_mut().into_iter().flatten() {
                    if container["name"] != "result" {
                        continue;
                    }
                    for argv in ["command", "args"] {
                        for arg in container[argv].as_array_mut().into_iter().flatten() {
                            if arg.as_str().is_some_and(|a| a.starts_with("--timeout=")) {
                                *arg = json!("--timeout=2s");
                                cut += 1;
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(
            cut, 1,
            "{}: one result step with one timeout",
            self.cron_job
        );
        self.step_of(&list, "result").run()
    }

    /// Starts a wait step, checks that it is still waiting after a while,
    /// acts, and returns how long the step took to end after the action.
    fn run_waiting(&self, name: &str, act: impl FnOnce()) -> (support::pod::PodResult, Duration) {
        let mut running = self.step(name).start();
        std::thread::sleep(Duration::from_secs(3));
        assert!(
            !running.has_exited(),
            "{name} ended before the condition it waits for"
        );
        act();
        let acted = Instant::now();
        let result = running.wait();
        (result, acted.elapsed())
    }
}

/// The manifests a launcher creates, from the ConfigMap its pod mounts:
/// file name → object.
fn launcher_manifests(objects: &[Value], template: &Value) -> BTreeMap<String, Value> {
    let volume = template["spec"]["volumes"][0]["configMap"]["name"].clone();
    let config_map = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == volume)
        .expect("manifests");
    config_map["data"]
        .as_object()
        .expect("data")
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                serde_json::from_str(v.as_str().unwrap_or("")).expect("JSON"),
            )
        })
        .collect()
}

/// Sets the field at a JSON pointer, which must exist.
fn set(object: &mut Value, pointer: &str, value: Value) {
    *object.pointer_mut(pointer).expect(pointer) = value;
}

/// `kubectl create --dry-run=server` of one object with a kubeconfig.
fn create_as(kubeconfig: &std::path::Path, object: &Value) -> Output {
    kubectl_as(
        kubeconfig,
        &["create", "--dry-run=server", "-o", "name", "-f", "-"],
        Some(object.to_string().as_bytes()),
    )
}

/// Someone with the launcher's token, or who can edit its ConfigMap, tries
/// to make it create something else. Its Role allows `create` on any Job
/// and VolumeSnapshot (RBAC cannot limit `create` by name); the
/// ValidatingAdmissionPolicy compiled beside it refuses everything but the
/// one Job and the one VolumeSnapshot it was compiled with.
#[test]
fn a_launcher_token_creates_only_the_job_and_snapshot_it_was_compiled_with() {
    requires!(
        ControlPlane,
        Tool("kubectl"),
        Tool("openssl"),
        Tool("setpriv")
    );
    let plane = control_plane();
    let example = support::root().join("examples/snapshot-copy.yaml");
    let objects = golden_objects(&example);
    let _held = hold_namespaces(namespaces(&objects));
    apply_for_real(plane, &objects, "restricted", "snapshot-copy.yaml");
    let launchers = snapshot_copy_launchers(&objects);
    assert_eq!(launchers.len(), 2, "a backup and a restore launcher");
    for (namespace, cron_job, template) in &launchers {
        let account = template["spec"]["serviceAccountName"]
            .as_str()
            .expect("account");
        let (kubeconfig, _) = plane.service_account_kubeconfig(namespace, account);
        let manifests = launcher_manifests(&objects, template);
        let job = manifests["mover-job.json"].clone();
        let snapshot = manifests["volumesnapshot.json"].clone();
        let edited = |object: &Value, edit: &dyn Fn(&mut Value)| {
            let mut object = object.clone();
            edit(&mut object);
            object
        };
        let pod = "/spec/template/spec";
        let tampered: Vec<(&str, Value)> = vec![
            (
                "a Job of another name",
                edited(&job, &|o| o["metadata"]["name"] = json!("another-job")),
            ),
            (
                "another image",
                edited(&job, &|o| {
                    set(
                        o,
                        &format!("{pod}/containers/0/image"),
                        json!("docker.io/library/busybox:1.37"),
                    )
                }),
            ),
            (
                "another command",
                edited(&job, &|o| {
                    set(
                        o,
                        &format!("{pod}/containers/0/command"),
                        json!(["/bin/sh", "-c", "cat /etc/shadow"]),
                    )
                }),
            ),
            (
                "another ServiceAccount",
                edited(&job, &|o| {
                    set(o, &format!("{pod}/serviceAccountName"), json!(account))
                }),
            ),
            (
                "another Secret mounted",
                edited(&job, &|o| {
                    let volumes = o.pointer_mut(&format!("{pod}/volumes")).expect("volumes");
                    volumes
                        .as_array_mut()
                        .expect("a list")
                        .push(json!({"name": "loot", "secret": {"secretName": "another-secret"}}));
                }),
            ),
            (
                "a VolumeSnapshot of another name",
                edited(&snapshot, &|o| {
                    o["metadata"]["name"] = json!("another-snapshot")
                }),
            ),
        ];
        // The policy takes a moment to load: the first refusal may need a
        // few tries; every other one follows at once.
        let deadline = Instant::now() + Duration::from_secs(30);
        for (what, object) in &tampered {
            let output = loop {
                let output = create_as(&kubeconfig, object);
                if !output.status.success() || Instant::now() > deadline {
                    break output;
                }
                std::thread::sleep(Duration::from_millis(500));
            };
            let context = format!("{cron_job}: {what}\n{}", stderr(&output));
            assert!(!output.status.success(), "{context}: created");
            assert!(
                stderr(&output).contains("ValidatingAdmissionPolicy")
                    && stderr(&output).contains(&format!("kopiaplan-{namespace}-")),
                "{context}: refused by something else than the launcher's policy"
            );
        }
        // What it was compiled with passes, as the launcher and as an admin;
        // the tampered Job passes as an admin: the policy binds the
        // launcher only.
        for object in [&job, &snapshot] {
            let output = create_as(&kubeconfig, object);
            assert!(output.status.success(), "{cron_job}: {}", stderr(&output));
        }
        let admin = plane.kubectl_stdin(
            &["create", "--dry-run=server", "-o", "name", "-f", "-"],
            tampered[0].1.to_string().as_bytes(),
        );
        assert!(admin.status.success(), "{cron_job}: {}", stderr(&admin));
    }
    delete(plane, &objects);
}

fn snapshot_copy_launchers(objects: &[Value]) -> Vec<(String, String, Value)> {
    objects
        .iter()
        .filter(|o| o["kind"] == "CronJob")
        .filter(|o| runs_kubectl(&o["spec"]["jobTemplate"]["spec"]["template"]))
        .map(|o| {
            (
                o["metadata"]["namespace"]
                    .as_str()
                    .expect("namespace")
                    .to_owned(),
                o["metadata"]["name"].as_str().expect("name").to_owned(),
                o["spec"]["jobTemplate"]["spec"]["template"].clone(),
            )
        })
        .collect()
}

/// `kind.group/name` references of a launcher's steps.
fn launcher_references(template: &Value) -> (String, String) {
    let mut snapshot = None;
    let mut job = None;
    for container in ["initContainers", "containers"]
        .iter()
        .flat_map(|list| template["spec"][list].as_array().into_iter().flatten())
    {
        for arg in container["command"].as_array().into_iter().flatten() {
            let arg = arg.as_str().unwrap_or_default();
            if arg.starts_with("volumesnapshot.") {
                snapshot = Some(arg.to_owned());
            } else if arg.starts_with("job.batch/") {
                job = Some(arg.to_owned());
            }
        }
    }
    (
        snapshot.expect("a snapshot reference"),
        job.expect("a job reference"),
    )
}

#[test]
fn the_launcher_steps_run_against_the_server_with_their_own_token() {
    requires!(
        ControlPlane,
        Tool("kubectl"),
        Tool("openssl"),
        Tool("setpriv"),
        Namespaces
    );
    let plane = control_plane();
    let example = support::root().join("examples/snapshot-copy.yaml");
    let objects = golden_objects(&example);
    let _held = hold_namespaces(namespaces(&objects));
    apply_for_real(plane, &objects, "restricted", "snapshot-copy.yaml");
    let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
    let launchers = snapshot_copy_launchers(&objects);
    assert_eq!(launchers.len(), 2, "a backup and a restore launcher");
    for (namespace, cron_job, template) in &launchers {
        let account = template["spec"]["serviceAccountName"]
            .as_str()
            .expect("account");
        let launcher = Launcher {
            plane,
            list: list.clone(),
            namespace: namespace.clone(),
            cron_job: cron_job.clone(),
            account_volume: plane.service_account_volume(namespace, account),
        };
        let (snapshot, job) = launcher_references(template);
        let steps: Vec<String> = ["initContainers", "containers"]
            .iter()
            .flat_map(|list| template["spec"][list].as_array().into_iter().flatten())
            .map(|c| c["name"].as_str().expect("name").to_owned())
            .collect();
        let manifests = launcher_manifests(&objects, template);
        // Something the launcher did not create, which it must leave alone.
        let mut bystander = manifests["mover-job.json"].clone();
        bystander["metadata"]["name"] = json!("bystander");
        assert_ok(&plane.apply(&[bystander.clone()], &[]), "a bystander Job");
        // Leftovers of a launcher that died midway.
        assert_ok(
            &plane.apply(&manifests.values().cloned().collect::<Vec<_>>(), &[]),
            "leftovers",
        );
        let before = snapshots_and_jobs(plane, namespace);
        for outcome_succeeds in [true, false] {
            for step in &steps {
                let started = Instant::now();
                let (result, after_action) = match step.as_str() {
                    "wait-for-snapshot" => launcher.run_waiting(step, || {
                        patch_status(
                            plane,
                            namespace,
                            &snapshot,
                            &json!({"status": {"readyToUse": true}}),
                        );
                    }),
                    "wait-for-mover" => launcher.run_waiting(step, || {
                        patch_status(plane, namespace, &job, &job_status(outcome_succeeds));
                    }),
                    "result" if !outcome_succeeds => {
                        (launcher.run_result_of_a_failed_mover(), Duration::ZERO)
                    }
                    _ => (launcher.run(step), Duration::ZERO),
                };
                let context = format!(
                    "{cron_job}: step {step} (mover succeeds: {outcome_succeeds})\n{}",
                    result.logs()
                );
                assert!(
                    after_action < Duration::from_secs(10),
                    "{context}\nreturned {after_action:?} after the status changed"
                );
                let expect_success = outcome_succeeds || step != "result";
                if expect_success {
                    assert_eq!(result.exit_code, 0, "{context}");
                } else {
                    assert_ne!(result.exit_code, 0, "{context}");
                    eprintln!(
                        "{cron_job}: the result step reported the failed mover after {:?}",
                        started.elapsed()
                    );
                }
                match step.as_str() {
                    "clean-up" => {
                        assert!(!exists(plane, namespace, &job), "{context}");
                        let (kind, job_name) = job.split_once('/').expect("kind/name");
                        assert!(
                            result
                                .stdout
                                .contains(&format!("{kind} \"{job_name}\" deleted")),
                            "{context}"
                        );
                        if cron_job.ends_with("backup") {
                            assert!(!exists(plane, namespace, &snapshot), "{context}");
                        }
                        assert!(exists(plane, namespace, "job.batch/bystander"), "{context}");
                    }
                    "create-snapshot" | "create-mover" => {
                        let reference = if step == "create-mover" {
                            &job
                        } else {
                            &snapshot
                        };
                        assert!(exists(plane, namespace, reference), "{context}");
                        assert!(
                            result.stdout.contains(&format!("{reference} created")),
                            "{context}"
                        );
                    }
                    "delete-snapshot" | "delete-old-snapshot" => {
                        assert!(!exists(plane, namespace, &snapshot), "{context}")
                    }
                    _ => {}
                }
                // A restore that failed stops at its result step.
                if !expect_success {
                    break;
                }
            }
            // What is left: the mover Job (for its result), the bystander,
            // and for a restore its new ready snapshot.
            let left = snapshots_and_jobs(plane, namespace);
            let mut expected: BTreeSet<String> = before
                .iter()
                .filter(|n| !n.contains("volumesnapshot") || !cron_job.ends_with("backup"))
                .filter(|n| !n.contains("volumesnapshot") || outcome_succeeds)
                .cloned()
                .collect();
            if !outcome_succeeds && !cron_job.ends_with("backup") {
                // It stopped before replacing the snapshot: the one from the
                // successful run is still there.
                expected = before.clone();
            }
            assert_eq!(
                left, expected,
                "{cron_job}: what is left after a run (mover succeeds: {outcome_succeeds})"
            );
        }
        plane.kubectl_ok(&["delete", "job.batch/bystander", "-n", namespace]);
    }
    delete(plane, &objects);
    let leftovers: Vec<Value> = launchers
        .iter()
        .flat_map(|(namespace, _, template)| {
            let (snapshot, job) = launcher_references(template);
            [(namespace.clone(), snapshot), (namespace.clone(), job)]
        })
        .map(|(namespace, reference)| {
            let (kind, name) = reference.split_once('/').expect("reference");
            json!({"kind": kind, "name": name, "namespace": namespace})
        })
        .collect();
    for leftover in leftovers {
        let namespace = leftover["namespace"].as_str().expect("namespace");
        let reference = format!(
            "{}/{}",
            leftover["kind"].as_str().expect("kind"),
            leftover["name"].as_str().expect("name")
        );
        plane.kubectl_ok(&["delete", &reference, "-n", namespace, "--ignore-not-found"]);
    }
}

/// The objects of an output moved into `namespace` (none of them refers
/// to its namespace elsewhere).
fn moved_to(objects: &[Value], namespace: &str) -> Vec<Value> {
    objects
        .iter()
        .filter(|o| o["kind"] != "Namespace")
        .map(|o| {
            let mut o = o.clone();
            o["metadata"]["namespace"] = json!(namespace);
            o
        })
        .collect()
}

fn jobs_owned_by(plane: &ControlPlane, namespace: &str) -> Vec<(String, String)> {
    let list: Value = serde_json::from_str(&plane.kubectl_ok(&[
        "get",
        "jobs.batch",
        "-n",
        namespace,
        "-o",
        "json",
    ]))
    .expect("JSON");
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|job| {
            (
                job["metadata"]["ownerReferences"][0]["name"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
                job["metadata"]["name"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn cron_jobs_create_jobs_on_schedule_and_on_demand() {
    requires!(
        ControlPlane,
        Tool("kubectl"),
        Tool("openssl"),
        Tool("setpriv")
    );
    let plane = control_plane();
    let namespace = "cron-schedule";
    let example = support::root().join("examples/paused-and-manual.yaml");
    let mut objects = moved_to(&golden_objects(&example), namespace);
    let mut scheduled = BTreeSet::new();
    for object in &mut objects {
        if object["kind"] == "CronJob" {
            object["spec"]["schedule"] = json!("* * * * *");
            scheduled.insert(
                object["metadata"]["name"]
                    .as_str()
                    .expect("name")
                    .to_owned(),
            );
        }
    }
    let paused: BTreeSet<String> = objects
        .iter()
        .filter(|o| o["kind"] == "CronJob" && o["spec"]["suspend"] == true)
        .map(|o| o["metadata"]["name"].as_str().expect("name").to_owned())
        .collect();
    assert!(
        paused.len() == 2,
        "a paused and an on-demand CronJob: {paused:?}"
    );
    apply_for_real(plane, &objects, "restricted", "paused-and-manual.yaml");
    let on_demand = paused
        .iter()
        .find(|n| n.contains("archive"))
        .expect("the on-demand archive CronJob");
    assert_ok(
        &plane.kubectl(&[
            "create",
            "job",
            "archive-now",
            &format!("--from=cronjob/{on_demand}"),
            "-n",
            namespace,
        ]),
        "kubectl create job --from",
    );
    let deadline = Instant::now() + Duration::from_secs(100);
    let running: BTreeSet<String> = scheduled.difference(&paused).cloned().collect();
    let from_schedule = loop {
        let owners: BTreeSet<String> = jobs_owned_by(plane, namespace)
            .into_iter()
            .map(|(owner, _)| owner)
            .filter(|owner| !owner.is_empty())
            .collect();
        if owners.is_superset(&running) {
            break owners;
        }
        assert!(
            Instant::now() < deadline,
            "the CronJobs {running:?} created no Job within 100 s (Jobs owned by {owners:?})\n{}",
            std::fs::read_to_string(plane.dir.join("kube-controller-manager.log"))
                .unwrap_or_default()
        );
        std::thread::sleep(Duration::from_secs(2));
    };
    // The suspended CronJobs created nothing on schedule; the on-demand one
    // got exactly the Job made from it by hand.
    let jobs = jobs_owned_by(plane, namespace);
    for name in &paused {
        let from_it: Vec<&String> = jobs
            .iter()
            .filter(|(o, _)| o == name)
            .map(|(_, j)| j)
            .collect();
        let expected: Vec<&str> = if name == on_demand {
            vec!["archive-now"]
        } else {
            vec![]
        };
        assert_eq!(
            from_it, expected,
            "Jobs of the suspended CronJob {name} ({from_schedule:?})"
        );
    }
    let created_jobs: Vec<Value> = jobs
        .iter()
        .map(|(_, job)| json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": job, "namespace": namespace}}))
        .collect();
    delete(plane, &created_jobs);
    delete(plane, &objects);
}

/// The test's kubectl reaches this control plane, and a ServiceAccount's
/// token is subject to RBAC.
#[test]
fn kubectl_on_path_talks_to_the_test_server() {
    requires!(
        ControlPlane,
        Tool("kubectl"),
        Tool("openssl"),
        Tool("setpriv")
    );
    let plane = control_plane();
    let version = assert_ok(
        &plane.kubectl(&["version", "-o", "json"]),
        "kubectl version",
    );
    let version: Value = serde_json::from_str(&version).expect("JSON");
    assert_eq!(version["serverVersion"]["gitVersion"], "v1.33.13");
    // The default ServiceAccount exists once the controller manager runs.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !plane
        .kubectl(&["get", "serviceaccount", "default", "-n", "default"])
        .status
        .success()
    {
        assert!(Instant::now() < deadline, "no default ServiceAccount");
        std::thread::sleep(Duration::from_secs(1));
    }
    let (kubeconfig, _) = plane.service_account_kubeconfig("default", "default");
    let denied = kubectl_as(&kubeconfig, &["get", "secrets", "-n", "default"], None);
    assert!(!denied.status.success());
    assert!(stderr(&denied).contains("forbidden"), "{}", stderr(&denied));
}

/// Every VolSync documentation example that compiles (the corpus of
/// `tests/it/volsync_corpus.rs`): its objects pass server-side validation, and
/// Pods of its templates pass admission (restricted unless they are
/// privileged movers or mount NFS). Dry runs, in one request each: the
/// examples share names, and a dry run stores nothing.
#[test]
fn the_volsync_documentation_examples_pass_the_server() {
    requires!(
        ControlPlane,
        Tool("kubectl"),
        Tool("openssl"),
        Tool("setpriv")
    );
    let plane = control_plane();
    let corpus = support::root().join("tests/fixtures/volsync/examples");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut objects = Vec::new();
    let mut compiled = 0;
    for file in &files {
        let (_, result) = kopiaplan::compile_paths(std::slice::from_ref(file));
        if let Ok(output) = result {
            objects.extend(
                output
                    .objects
                    .into_iter()
                    .map(kopiaplan::output::Object::into_value),
            );
            compiled += 1;
        }
    }
    assert!(compiled >= 39, "only {compiled} examples compile");
    let _held = hold_namespaces(namespaces(&objects));
    set_level(plane, &objects, "restricted");
    assert_ok(
        &plane.apply(&objects, &["--dry-run=server"]),
        "the VolSync examples' output: kubectl apply --server-side --dry-run=server",
    );
    // Pods need their ServiceAccounts (the ServiceAccount admission plugin).
    let accounts: Vec<Value> = objects
        .iter()
        .filter(|o| o["kind"] == "ServiceAccount")
        .cloned()
        .collect();
    assert_ok(&plane.apply(&accounts, &[]), "the ServiceAccounts");
    let (mut plain, mut special) = (Vec::new(), Vec::new());
    for (index, template) in pod_templates(&objects).iter().enumerate() {
        let pod = pod_of(template, index);
        if asks_for_privileges(&template.template) || uses_nfs(&template.template) {
            special.push(pod);
        } else {
            plain.push(pod);
        }
    }
    let create_all = |pods: &[Value], what: &str| {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": pods});
        assert_ok(
            &plane.kubectl_stdin(
                &["create", "--dry-run=server", "-o", "name", "-f", "-"],
                &serde_json::to_vec(&list).expect("json"),
            ),
            what,
        );
    };
    create_all(
        &plain,
        "Pods of the VolSync examples in restricted namespaces",
    );
    if !special.is_empty() {
        set_level(plane, &objects, "privileged");
        create_all(&special, "privileged Pods of the VolSync examples");
        set_level(plane, &objects, "restricted");
    }
    assert!(plain.len() > 30, "only {} pods", plain.len());
    eprintln!(
        "{compiled} examples, {} + {} pods",
        plain.len(),
        special.len()
    );
    delete(plane, &accounts);
}
