//! What runs in the application's pods: `after`'s timeout, the container
//! a hook runs in without `container`, and `pods: All` running a hook in
//! every pod at once.

use serde_json::json;

use super::{plan, run_launcher, tracing_hooks, two_db_pods};
use crate::support::kubectl::KUBECTL_STANDIN_MOUNT;
use crate::support::requires::requires;

/// `after` that outlives its timeout is stopped too, and the run says so:
/// a warning by default (`onError: Continue`), a failure with `Fail`. The
/// copy is kept either way: it was cut before `after` ran.
#[test]
fn an_after_hook_that_outlives_its_timeout_is_stopped_and_reported() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    for (on_error, exit_code, result_field, text) in [
        (
            "Continue",
            0,
            "warning",
            "the after hook failed (onError: Continue)",
        ),
        ("Fail", 1, "message", "the after hook failed"),
    ] {
        let hooks = tracing_hooks("").replace(
            "after: {command: [sh, -c, '",
            &format!(
                "after: {{timeoutSeconds: 1, onError: {on_error}, command: [sh, -c, 'sleep 20; "
            ),
        );
        let standin = two_db_pods(&format!("after-timeout-{on_error}"));
        let started = std::time::Instant::now();
        let result = run_launcher(&plan("Snapshot", &hooks), &standin, &[]);
        let context = format!("{on_error}: {}", result.logs());
        assert!(started.elapsed().as_secs() < 15, "{context}");
        assert_eq!(result.exit_code, exit_code, "{context}");
        let line = result.result_line();
        assert_eq!(
            line["hooks"][1],
            json!({"hook": "after", "pod": "db-0", "container": "postgres", "exitCode": 124, "timedOut": true}),
            "{context}"
        );
        assert_eq!(line[result_field], text, "{context}");
        // It had not written yet (stopping kubectl exec does not stop it).
        assert_eq!(standin.trace(), ["before db-0 postgres"], "{context}");
        let creates = standin
            .calls()
            .iter()
            .filter(|c| c.verb() == "create")
            .count();
        assert_eq!(creates, 2, "the snapshot and the mover Job: {context}");
    }
}

/// Without `container`, hooks run in the pod's first container, named
/// explicitly: `kubectl exec` alone would pick the container the pod's
/// `kubectl.kubernetes.io/default-container` annotation names.
#[test]
fn without_a_container_hooks_run_in_the_pods_first_container() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let hooks = tracing_hooks(", pods: All").replace(", container: postgres", "");
    let standin = two_db_pods("first-container").annotate(
        "db-0",
        "kubectl.kubernetes.io/default-container",
        "exporter",
    );
    let result = run_launcher(&plan("Snapshot", &hooks), &standin, &[]);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let mut trace = standin.trace();
    trace[..2].sort();
    assert_eq!(
        &trace[..2],
        ["before db-0 postgres", "before db-1 postgres"],
        "{}",
        result.logs()
    );
    let line = result.result_line();
    for run in line["hooks"].as_array().expect("hooks") {
        assert_eq!(run["container"], "postgres", "{line}");
    }
    let calls = standin.calls();
    let execs: Vec<_> = calls.iter().filter(|c| c.verb() == "exec").collect();
    assert_eq!(execs.len(), 4, "{calls:#?}");
    assert!(
        execs
            .iter()
            .all(|c| c.argv.contains(&"--container=postgres".to_owned())),
        "{execs:#?}"
    );
    // Read once per pod, before `before`.
    let reads: Vec<String> = calls
        .iter()
        .filter(|c| {
            c.argv
                .contains(&"--output=jsonpath={.spec.containers[0].name}".to_owned())
        })
        .map(|c| c.step())
        .collect();
    assert_eq!(reads, ["get pod/db-0", "get pod/db-1"], "{calls:#?}");
}

/// `pods: All` starts a hook in every pod before any has ended: the
/// launcher's grace period and deadline count one timeout per hook,
/// whatever the number of pods.
#[test]
fn pods_all_runs_a_hook_in_every_pod_at_once() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let hooks = tracing_hooks(", pods: All").replace(
        "before: {command: [sh, -c, '",
        &format!(
            "before: {{command: [sh, -c, 'echo start >> {KUBECTL_STANDIN_MOUNT}/trace; sleep 3; echo end >> {KUBECTL_STANDIN_MOUNT}/trace; "
        ),
    );
    let standin = two_db_pods("all-at-once");
    let result = run_launcher(&plan("Direct", &hooks), &standin, &[]);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let trace: Vec<String> = standin
        .trace()
        .into_iter()
        .filter(|line| line == "start" || line == "end")
        .collect();
    assert_eq!(trace, ["start", "start", "end", "end"]);
}
