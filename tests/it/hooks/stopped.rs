//! A launcher stopped midway (its pod deleted or evicted, its Job past its
//! deadline: SIGTERM to the container's PID 1) runs `after` at once, never
//! beside a `before` still running, abandons a copy not yet cut, and says
//! it was stopped.

use std::time::{Duration, Instant};

use super::{launcher_pod, plan, tracing_hooks, two_db_pods};
use crate::support::kubectl::KubectlStandin;
use crate::support::pod::PodResult;
use crate::support::requires::requires;

/// Starts the launcher with `cues`, waits until the stand-in pauses (a step
/// named in `KUBECTL_STANDIN_PAUSE`, or a hook that writes the marker),
/// sends SIGTERM, and returns the result and how long the launcher took
/// to end after the signal.
fn stop_while_paused(
    method: &str,
    hooks: &str,
    standin: &KubectlStandin,
    cues: &[(&str, &str)],
) -> (PodResult, Duration) {
    let mut running = launcher_pod(&plan(method, hooks), standin, cues)
        .harness_env("KUBECTL_STANDIN_PAUSE_SECONDS", "30")
        .start();
    running.wait_for_file(&standin.paused_marker(), Duration::from_secs(30));
    let signalled = Instant::now();
    running.terminate();
    let result = running.wait();
    (result, signalled.elapsed())
}

#[test]
fn stopped_while_it_waits_for_a_direct_copy_it_deletes_the_mover_and_runs_after_at_once() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let standin = two_db_pods("stopped-direct");
    let (result, took) = stop_while_paused(
        "Direct",
        &tracing_hooks(""),
        &standin,
        &[("KUBECTL_STANDIN_PAUSE", "wait jobs")],
    );
    let context = format!("{:#?}\n{}", standin.steps(), result.logs());
    // The wait for the mover pauses 30 s: the launcher did not sit it out.
    assert!(took < Duration::from_secs(10), "took {took:?}: {context}");
    assert_eq!(result.exit_code, 1, "{context}");
    assert_eq!(
        standin.trace(),
        ["before db-0 postgres", "after db-0"],
        "{context}"
    );
    let line = result.result_line();
    assert_eq!(line["result"], "failure", "{context}");
    assert_eq!(
        line["message"], "the launcher was stopped by SIGTERM",
        "{context}"
    );
    assert_eq!(line["hooks"][1]["hook"], "after", "{context}");
    assert_eq!(line["hooks"][1]["exitCode"], 0, "{context}");
    let calls = standin.calls();
    let wait = calls
        .iter()
        .find(|c| c.step() == "wait job.batch/nightly-db-backup-mover")
        .expect("the wait for the mover");
    assert_eq!(wait.signal.as_deref(), Some("SIGTERM"), "{context}");
    // The copy was not cut (Direct: not before the mover ends): the mover
    // Job goes before `after` runs, so nothing is read from a thawed app.
    let steps: Vec<String> = calls.iter().map(|c| c.step()).collect();
    let created = super::position(&steps, "create");
    let deleted = created
        + steps[created..]
            .iter()
            .position(|s| s == "delete job.batch/nightly-db-backup-mover")
            .unwrap_or_else(|| panic!("the mover Job was not deleted: {context}"));
    let after = steps.iter().rposition(|s| s == "exec db-0").expect("after");
    assert!(deleted < after, "{context}");
    assert_eq!(standin.state()["jobs"], serde_json::json!({}), "{context}");
}

#[test]
fn stopped_before_the_snapshot_is_cut_it_deletes_the_snapshot_and_runs_after() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let standin = two_db_pods("stopped-snapshot");
    let (result, took) = stop_while_paused(
        "Snapshot",
        &tracing_hooks(""),
        &standin,
        &[("KUBECTL_STANDIN_PAUSE", "wait volumesnapshots")],
    );
    let context = format!("{:#?}\n{}", standin.steps(), result.logs());
    assert!(took < Duration::from_secs(10), "took {took:?}: {context}");
    assert_eq!(result.exit_code, 1, "{context}");
    assert_eq!(
        standin.trace(),
        ["before db-0 postgres", "after db-0"],
        "{context}"
    );
    assert_eq!(
        result.result_line()["message"],
        "the launcher was stopped by SIGTERM",
        "{context}"
    );
    assert_eq!(
        standin.state()["volumesnapshots"],
        serde_json::json!({}),
        "{context}"
    );
    let creates = standin
        .calls()
        .iter()
        .filter(|c| c.verb() == "create")
        .count();
    assert_eq!(creates, 1, "only the snapshot, no mover Job: {context}");
}

/// Stopped while `before` runs: `before` may end (it could be half-way
/// through a freeze), then `after` runs; never the two at once.
#[test]
fn stopped_while_before_runs_it_lets_before_end_then_runs_after() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let marker = format!("{}/paused", crate::support::kubectl::KUBECTL_STANDIN_MOUNT);
    let hooks = tracing_hooks("").replace(
        "before: {command: [sh, -c, '",
        &format!("before: {{command: [sh, -c, 'touch {marker}; sleep 2; "),
    );
    let standin = two_db_pods("stopped-before");
    let (result, took) = stop_while_paused("Snapshot", &hooks, &standin, &[]);
    let context = format!("{:#?}\n{}", standin.steps(), result.logs());
    assert!(took < Duration::from_secs(10), "took {took:?}: {context}");
    assert_eq!(result.exit_code, 1, "{context}");
    assert_eq!(
        standin.trace(),
        ["before db-0 postgres", "after db-0"],
        "{context}"
    );
    let line = result.result_line();
    assert_eq!(line["hooks"][0]["exitCode"], 0, "{context}");
    assert_eq!(
        line["message"], "the launcher was stopped by SIGTERM",
        "{context}"
    );
    assert!(
        !standin.calls().iter().any(|c| c.verb() == "create"),
        "no copy once stopped: {context}"
    );
}
