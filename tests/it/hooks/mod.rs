//! Workload hooks (`backups[].hooks`): the launcher script runs as a pod
//! would (tests/it/support/pod.rs), against the kubectl stand-in
//! (tests/standin/kubectl), which simulates the objects the launcher waits
//! on and fails each step on cue. The hooks append to a trace file, so the
//! order of hooks and steps is what the stand-in saw.

mod actions;
mod deadlines;
mod in_the_pods;
mod job_conditions;
mod stopped;

use serde_json::{Value, json};

use crate::support::kubectl::{KUBECTL_STANDIN_MOUNT, KubectlStandin};
use crate::support::pod::{Pod, PodResult};
use crate::support::requires::requires;
use crate::test::Plan;

const DB: &[(&str, &str)] = &[("app", "db")];

/// A plan with one backup `db` of the claim `db-data` copied by `method`,
/// with `hooks` (YAML, indented for the entry's fields).
fn plan(method: &str, hooks: &str) -> Plan {
    Plan::nightly_with_backups(&format!(
        "    - name: db\n      pvc: db-data\n      capacity: 1Gi\n      copyMethod: {method}\n{hooks}"
    ))
    .replace(
        "spec:\n  repositories:",
        "spec:\n  launcher: {snapshotReadyTimeoutSeconds: 3}\n  repositories:",
    )
}

/// `before` and `after` hooks that record themselves in the trace, in the
/// pod they run in.
fn tracing_hooks(extra: &str) -> String {
    format!(
        "      hooks:
        workload: {{selector: {{app: db}}, container: postgres{extra}}}
        before: {{command: [sh, -c, 'echo before $KUBECTL_STANDIN_POD $KUBECTL_STANDIN_CONTAINER >> {KUBECTL_STANDIN_MOUNT}/trace']}}
        after: {{command: [sh, -c, 'echo after $KUBECTL_STANDIN_POD >> {KUBECTL_STANDIN_MOUNT}/trace']}}
"
    )
}

fn two_db_pods(name: &str) -> KubectlStandin {
    KubectlStandin::new(
        name,
        &[
            ("db-1", DB, &["postgres", "exporter"]),
            ("db-0", DB, &["postgres", "exporter"]),
            ("web-0", &[("app", "web")], &["web"]),
        ],
    )
}

/// Runs the backup's launcher with the stand-in and the given cues.
fn run_launcher(plan: &Plan, standin: &KubectlStandin, cues: &[(&str, &str)]) -> PodResult {
    launcher_pod(plan, standin, cues).run()
}

/// The backup's launcher pod, with the stand-in and the given cues.
fn launcher_pod(plan: &Plan, standin: &KubectlStandin, cues: &[(&str, &str)]) -> Pod {
    let objects = Value::Array(plan.objects().0);
    let mut pod = Pod::from_compiled(&objects, "CronJob", "apps", "nightly-db-backup")
        .kubectl_standin(standin)
        .timeout(std::time::Duration::from_secs(60));
    for (name, value) in cues {
        pod = pod.harness_env(name, value);
    }
    pod
}

/// The steps the stand-in saw, hooks by their trace: `exec db-0` is a hook.
fn step_names(standin: &KubectlStandin) -> Vec<String> {
    standin
        .steps()
        .into_iter()
        .map(|(step, exit)| {
            if exit == 0 {
                step
            } else {
                format!("{step} (exit {exit})")
            }
        })
        .collect()
}

fn position(steps: &[String], prefix: &str) -> usize {
    steps
        .iter()
        .position(|s| s.starts_with(prefix))
        .unwrap_or_else(|| panic!("no step {prefix:?} in {steps:#?}"))
}

#[test]
fn snapshot_before_runs_before_the_snapshot_and_after_once_it_is_cut() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let standin = two_db_pods("snapshot-order");
    let result = run_launcher(&plan("Snapshot", &tracing_hooks("")), &standin, &[]);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let steps = step_names(&standin);
    let before = position(&steps, "exec db-0");
    let create_snapshot = position(&steps, "create");
    let cut = steps
        .iter()
        .position(|s| s.starts_with("wait volumesnapshot"))
        .expect("waits for the cut");
    let after = steps
        .iter()
        .rposition(|s| s.starts_with("exec db-0"))
        .expect("after");
    let ready = steps
        .iter()
        .rposition(|s| s.starts_with("wait volumesnapshot"))
        .expect("waits until ready");
    let create_mover = steps
        .iter()
        .rposition(|s| s == "create")
        .expect("creates the mover");
    assert!(
        before < create_snapshot
            && create_snapshot < cut
            && cut < after
            && after < ready
            && ready < create_mover,
        "{steps:#?}"
    );
    // The cut is the snapshot's creation time; ready comes after `after`.
    let calls = standin.calls();
    let waits: Vec<&str> = calls
        .iter()
        .filter(|c| c.verb() == "wait")
        .flat_map(|c| c.argv.iter().filter(|a| a.starts_with("--for=")))
        .map(String::as_str)
        .collect();
    assert_eq!(
        &waits[..2],
        [
            "--for=jsonpath={.status.creationTime}",
            "--for=jsonpath={.status.readyToUse}=true"
        ]
    );
    // `pods: One` (the default): the first running pod by name, in the
    // named container; `after` in the same pod.
    assert_eq!(standin.trace(), ["before db-0 postgres", "after db-0"]);
    assert_eq!(
        result.result_line()["hooks"],
        json!([
            {"hook": "before", "pod": "db-0", "container": "postgres", "exitCode": 0, "timedOut": false},
            {"hook": "after", "pod": "db-0", "container": "postgres", "exitCode": 0, "timedOut": false},
        ])
    );
    assert_eq!(result.result_line()["result"], "success");
    // The snapshot is deleted once the mover has finished.
    assert_eq!(standin.state()["volumesnapshots"], json!({}));
}

#[test]
fn after_runs_when_the_copy_fails_at_any_step() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        (
            "Snapshot",
            &[("KUBECTL_STANDIN_FAIL", "create volumesnapshots")],
            "could not create the VolumeSnapshot",
        ),
        (
            "Snapshot",
            &[("KUBECTL_STANDIN_SNAPSHOT", "never")],
            "the VolumeSnapshot was not taken in time",
        ),
        (
            "Snapshot",
            &[("KUBECTL_STANDIN_SNAPSHOT", "not-ready")],
            "the VolumeSnapshot did not become ready in time",
        ),
        (
            "Snapshot",
            &[("KUBECTL_STANDIN_MOVER", "Failed")],
            "the mover Job failed",
        ),
        (
            "Clone",
            &[("KUBECTL_STANDIN_FAIL", "create jobs")],
            "could not create the mover Job",
        ),
        (
            "Clone",
            &[("KUBECTL_STANDIN_CLONE", "Pending")],
            "the clone was not bound in time",
        ),
        (
            "Clone",
            &[("KUBECTL_STANDIN_MOVER", "Failed")],
            "the mover Job failed",
        ),
        (
            "Direct",
            &[("KUBECTL_STANDIN_FAIL", "wait jobs")],
            "the mover Job did not finish in time",
        ),
        (
            "Direct",
            &[("KUBECTL_STANDIN_MOVER", "Failed")],
            "the mover Job failed",
        ),
    ];
    for (index, (method, cues, message)) in cases.iter().enumerate() {
        let standin = two_db_pods(&format!("copy-fails-{index}"));
        let result = run_launcher(&plan(method, &tracing_hooks("")), &standin, cues);
        let context = format!(
            "{method} {cues:?}: {:#?}\n{}",
            standin.steps(),
            result.logs()
        );
        assert_eq!(result.exit_code, 1, "{context}");
        assert_eq!(
            standin.trace(),
            ["before db-0 postgres", "after db-0"],
            "{context}"
        );
        let line = result.result_line();
        assert_eq!(line["result"], "failure", "{context}");
        assert!(
            line["message"].as_str().unwrap_or("").starts_with(message),
            "{context}"
        );
        assert_eq!(line["hooks"][1]["hook"], "after", "{context}");
        if *method == "Snapshot" {
            assert_eq!(
                standin.state()["volumesnapshots"],
                json!({}),
                "no snapshot is left behind: {context}"
            );
        }
    }
}

#[test]
fn a_failing_before_takes_no_copy_and_still_runs_after() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let hooks = tracing_hooks("").replace(
        "before: {command: [sh, -c, '",
        "before: {command: [sh, -c, 'exit 3; ",
    );
    for method in ["Snapshot", "Clone", "Direct"] {
        let standin = two_db_pods(&format!("before-fails-{method}"));
        let result = run_launcher(&plan(method, &hooks), &standin, &[]);
        let context = format!("{method}: {:#?}\n{}", standin.steps(), result.logs());
        assert_eq!(result.exit_code, 1, "{context}");
        assert!(
            !standin.calls().iter().any(|c| c.verb() == "create"),
            "a copy was made: {context}"
        );
        assert_eq!(standin.trace(), ["after db-0"], "{context}");
        let line = result.result_line();
        assert_eq!(line["hooks"][0]["exitCode"], 3, "{context}");
        assert_eq!(
            line["message"], "the before hook failed: no copy was taken",
            "{context}"
        );
    }
}

#[test]
fn on_error_continue_warns_and_takes_the_copy() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let hooks = tracing_hooks("").replace(
        "before: {command: [sh, -c, '",
        "before: {onError: Continue, command: [sh, -c, 'exit 5; ",
    );
    let standin = two_db_pods("continue");
    let result = run_launcher(&plan("Snapshot", &hooks), &standin, &[]);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["result"], "success");
    assert_eq!(
        line["warning"],
        "the before hook failed (onError: Continue)"
    );
    assert_eq!(line["hooks"][0]["exitCode"], 5);
    assert!(standin.calls().iter().any(|c| c.verb() == "create"));
}

#[test]
fn a_hook_that_outlives_its_timeout_is_stopped() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let hooks = tracing_hooks("").replace(
        "before: {command: [sh, -c, '",
        "before: {timeoutSeconds: 1, command: [sh, -c, 'sleep 20; ",
    );
    let standin = two_db_pods("timeout");
    let started = std::time::Instant::now();
    let result = run_launcher(&plan("Direct", &hooks), &standin, &[]);
    assert!(started.elapsed().as_secs() < 15, "{}", result.logs());
    assert_eq!(result.exit_code, 1, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["hooks"][0]["timedOut"], true, "{line}");
    assert_eq!(line["hooks"][0]["exitCode"], 124, "{line}");
    assert_eq!(standin.trace(), ["after db-0"]);
}

/// `pods: All`: each hook runs in every pod at once (so its time is one
/// timeout, whatever the number of pods), `after` once `before` has ended
/// in all of them.
#[test]
fn pods_all_runs_in_every_matching_pod_and_after_in_the_same_ones() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let standin = two_db_pods("all");
    let result = run_launcher(&plan("Clone", &tracing_hooks(", pods: All")), &standin, &[]);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let mut trace = standin.trace();
    trace[..2].sort();
    trace[2..].sort();
    assert_eq!(
        trace,
        [
            "before db-0 postgres",
            "before db-1 postgres",
            "after db-0",
            "after db-1"
        ]
    );
    let line = result.result_line();
    let pods: Vec<&str> = line["hooks"]
        .as_array()
        .expect("hooks")
        .iter()
        .map(|h| h["pod"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(pods, ["db-0", "db-1", "db-0", "db-1"]);
}

#[test]
fn clone_after_runs_once_the_clone_claim_is_bound() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let standin = two_db_pods("clone-order");
    let result = run_launcher(&plan("Clone", &tracing_hooks("")), &standin, &[]);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let steps = step_names(&standin);
    let create = position(&steps, "create");
    let claim = position(
        &steps,
        "get persistentvolumeclaim/nightly-db-backup-mover-standin-data",
    );
    let after = steps
        .iter()
        .rposition(|s| s.starts_with("exec db-0"))
        .expect("after");
    let mover = position(&steps, "wait job.batch/nightly-db-backup-mover");
    assert!(
        create < claim && claim < after && after < mover,
        "{steps:#?}"
    );
    assert!(
        !steps
            .iter()
            .any(|s| s.contains("volumesnapshot") && !s.starts_with("delete"))
    );
}

#[test]
fn direct_after_runs_once_the_mover_has_finished() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let standin = two_db_pods("direct-order");
    let result = run_launcher(&plan("Direct", &tracing_hooks("")), &standin, &[]);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let steps = step_names(&standin);
    let before = position(&steps, "exec db-0");
    let create = position(&steps, "create");
    let finished = position(&steps, "wait job.batch/nightly-db-backup-mover");
    let after = steps
        .iter()
        .rposition(|s| s.starts_with("exec db-0"))
        .expect("after");
    assert!(
        before < create && create < finished && finished < after,
        "{steps:#?}"
    );
}

#[test]
fn no_running_pod_fails_before_and_takes_no_copy() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let standin = KubectlStandin::new("no-pod", &[("web-0", &[("app", "web")], &["web"])]);
    let result = run_launcher(&plan("Snapshot", &tracing_hooks("")), &standin, &[]);
    assert_eq!(result.exit_code, 1, "{}", result.logs());
    assert!(standin.trace().is_empty());
    assert!(!standin.calls().iter().any(|c| c.verb() == "create"));
    assert_eq!(result.result_line()["hooks"][0]["exitCode"], Value::Null);
}

/// The launcher's Role, pinned: without hooks only the snapshot and the
/// mover Job; with hooks, the pods it execs into, and the clone claim for
/// Clone. A backup without hooks or snapshot has no launcher at all.
#[test]
fn the_launcher_role_is_the_minimum_with_and_without_workload_hooks() {
    let hooks = tracing_hooks("");
    let snapshot_rules = json!([
        {"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshots"], "verbs": ["create"]},
        {"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshots"],
         "resourceNames": ["nightly-db-backup-snapshot"], "verbs": ["get", "list", "watch", "delete"]},
    ]);
    let job_rules = json!([
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create"]},
        {"apiGroups": ["batch"], "resources": ["jobs"],
         "resourceNames": ["nightly-db-backup-mover"], "verbs": ["get", "list", "watch", "delete"]},
    ]);
    let hook_rules = json!([
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]},
    ]);
    let claim_rule = json!([
        {"apiGroups": [""], "resources": ["persistentvolumeclaims"], "verbs": ["get"]},
    ]);
    let concat = |parts: &[&Value]| -> Value {
        Value::Array(
            parts
                .iter()
                .flat_map(|p| p.as_array().expect("rules").clone())
                .collect(),
        )
    };
    let cases = [
        ("Snapshot", "", Some(concat(&[&snapshot_rules, &job_rules]))),
        (
            "Snapshot",
            hooks.as_str(),
            Some(concat(&[&snapshot_rules, &job_rules, &hook_rules])),
        ),
        (
            "Clone",
            hooks.as_str(),
            Some(concat(&[&job_rules, &hook_rules, &claim_rule])),
        ),
        (
            "Direct",
            hooks.as_str(),
            Some(concat(&[&job_rules, &hook_rules])),
        ),
        ("Clone", "", None),
        ("Direct", "", None),
    ];
    for (method, hooks, expected) in cases {
        let objects = plan(method, hooks).objects();
        let roles = objects.of_kind("Role");
        match expected {
            Some(rules) => {
                assert_eq!(roles.len(), 1, "{method} {hooks}");
                assert_eq!(
                    roles[0]["rules"],
                    rules,
                    "{method} hooks: {}",
                    !hooks.is_empty()
                );
            }
            None => assert!(roles.is_empty(), "{method}: {roles:#?}"),
        }
    }
}

#[test]
fn hooks_are_checked_at_compile_time() {
    let errors = plan(
        "Snapshot",
        "      hooks:\n        workload: {selector: {}}\n        before: {command: [], timeoutSeconds: 0}\n",
    )
    .errors();
    errors
        .has("`hooks.workload.selector` is empty")
        .has("the `before` hook has no command to run")
        .has("the `before` hook needs a timeout of at least 1 second");
    plan(
        "Snapshot",
        "      hooks:\n        workload: {selector: {app: db}, container: Postgres_1}\n",
    )
    .errors()
    .has("neither a `before` nor an `after` hook")
    .has("container name");
}

/// The stand-in's grammar is kubectl v1.33's: the flags it accepts for each
/// subcommand the launcher uses, and the global ones, are exactly those the
/// real kubectl v1.33 lists in its help.
#[test]
fn the_kubectl_standin_accepts_exactly_the_real_kubectls_flags() {
    requires!(Kubectl133, Tool("python3"));
    let kubectl = crate::support::requires::find_kubectl_1_33().expect("kubectl v1.33");
    let standin = crate::support::root().join("tests/standin/kubectl");
    let output = std::process::Command::new(&standin)
        .env("KUBECTL_STANDIN_FLAGS", "1")
        .output()
        .expect("run the stand-in");
    let grammar: Value = serde_json::from_slice(&output.stdout).expect("grammar JSON");
    let flag = regex::Regex::new(r"(?m)^\s+(?:-\w, )?--([a-z0-9-]+)=").expect("regex");
    let real = |args: &[&str]| -> Vec<String> {
        let out = std::process::Command::new(&kubectl)
            .args(args)
            .output()
            .expect("kubectl help");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let options = text
            .split_once("Options:")
            .map_or(text.as_str(), |(_, rest)| rest)
            .to_owned();
        let mut names: Vec<String> = flag
            .captures_iter(&options)
            .map(|c| c[1].to_owned())
            .collect();
        names.sort();
        names
    };
    let as_list = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("list")
            .iter()
            .map(|s| s.as_str().unwrap_or("").to_owned())
            .collect()
    };
    for command in ["create", "delete", "wait", "get", "exec"] {
        assert_eq!(
            as_list(&grammar["commands"][command]),
            real(&[command, "--help"]),
            "kubectl {command}"
        );
    }
    assert_eq!(
        as_list(&grammar["global"]),
        real(&["options"]),
        "kubectl options"
    );

    // And it refuses what kubectl refuses.
    let dir = crate::support::scratch("kubectl-standin-grammar");
    std::fs::create_dir_all(&dir).expect("dir");
    let state = dir.join("state.json");
    std::fs::write(&state, r#"{"pods":{"db-0":{"metadata":{"labels":{}},"spec":{"containers":[{"name":"c"}]},"status":{"phase":"Running"}}},"jobs":{},"volumesnapshots":{},"persistentvolumeclaims":{}}"#).expect("state");
    let run = |args: &[&str]| {
        std::process::Command::new(&standin)
            .args(args)
            .env("KUBECTL_STANDIN_STATE", &state)
            .output()
            .expect("run")
    };
    for (args, message) in [
        (
            &["exec", "db-0", "--containr=c", "--", "true"][..],
            "unknown flag: --containr",
        ),
        (&["exec", "db-0", "true"][..], "Use exec [POD] -- [COMMAND]"),
        (
            &["wait", "--for=condition=Complete", "job/x", "--timeout=60"][..],
            "missing unit",
        ),
        (
            &["delete", "job/x", "--cascade=sometimes"][..],
            "invalid cascade value",
        ),
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(message),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        run(&["exec", "db-0", "-c", "c", "--", "true"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        run(&["exec", "db-0", "--", "sh", "-c", "exit 7"])
            .status
            .code(),
        Some(7)
    );
}

/// `explain` lists, for an entry with hooks, each step in order and where
/// it runs; `after` right after the cut for a snapshot, after the mover for
/// Direct.
#[test]
fn explain_shows_the_order_of_steps_and_where_each_runs() {
    use crate::test::Test;
    let ran = Test::new()
        .args(["explain", "examples/workload-hooks.yaml"])
        .run();
    let text = ran.stdout;
    let entry = |name: &str| -> String {
        let start = text
            .find(&format!("backup store/{name} "))
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        text[start..].split("\n\n").next().unwrap_or("").to_owned()
    };
    let uploads = entry("uploads");
    let order = [
        "1. launcher pod of store-uploads-backup: delete",
        "2. before, in every running pod at once with labels app=uploads, container app, by kubectl exec: `fsfreeze --freeze /srv/uploads`",
        "3. launcher pod of store-uploads-backup: create VolumeSnapshot store-uploads-backup-snapshot; the copy is cut at its creationTime",
        "4. after, in the same pods: `fsfreeze --unfreeze /srv/uploads`",
        "5. launcher pod of store-uploads-backup: wait until the snapshot is ready",
        "6. mover Job store-uploads-backup-mover: kopia snapshot create",
    ];
    let mut at = 0;
    for step in order {
        let found = uploads[at..]
            .find(step)
            .unwrap_or_else(|| panic!("{step:?} not after position {at} in:\n{uploads}"));
        at += found + step.len();
    }
    let dump = entry("orders-dump");
    let finished = dump
        .find("the copy is cut when it has finished")
        .expect("Direct cut");
    let after = dump.find("after, in the same pods").expect("after");
    assert!(finished < after, "{dump}");
    let catalog = entry("catalog-db");
    assert!(
        catalog.contains("cut when its clone claim of catalog-mysql is bound"),
        "{catalog}"
    );
    // An entry without hooks shows no steps.
    let ran = Test::new()
        .args(["explain", "examples/snapshot-copy.yaml"])
        .run();
    assert!(!ran.stdout.contains("  steps "), "{}", ran.stdout);
}

/// `after` with `onError: Fail`: the copy is kept (the mover ran), the run
/// is failed and says why.
#[test]
fn a_failing_after_with_on_error_fail_fails_the_run_but_keeps_the_copy() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let hooks = tracing_hooks("").replace(
        "after: {command: [sh, -c, '",
        "after: {onError: Fail, command: [sh, -c, 'exit 4; ",
    );
    let standin = two_db_pods("after-fails");
    let result = run_launcher(&plan("Snapshot", &hooks), &standin, &[]);
    assert_eq!(result.exit_code, 1, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["message"], "the after hook failed", "{line}");
    assert_eq!(line["hooks"][1]["exitCode"], 4, "{line}");
    let creates = standin
        .calls()
        .iter()
        .filter(|c| c.verb() == "create")
        .count();
    assert_eq!(creates, 2, "the snapshot and the mover Job were created");
}
