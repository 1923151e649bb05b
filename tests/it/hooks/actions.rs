//! An entry with both workload `hooks` and mover `actions` (VolSync's):
//! the hooks run from the launcher around the cut, in the application's
//! pods; the actions run inside the mover Job around its Kopia snapshot.
//! Both run, in that order, and neither replaces the other.

use serde_json::{Value, json};

use super::{plan, run_launcher, step_names, tracing_hooks, two_db_pods};
use crate::support;
use crate::support::pod::{Pod, Standin};
use crate::support::requires::requires;
use crate::test::Plan;

const ACTIONS: &str =
    "      actions: {beforeSnapshot: 'echo action-before', afterSnapshot: 'echo action-after'}\n";

/// Hooks and actions on one entry, backed up into a filesystem repository.
fn hooks_and_actions(method: &str) -> Plan {
    plan(method, &format!("{ACTIONS}{}", tracing_hooks(""))).replace(
        "secretName: kopia-config\n",
        "secretName: kopia-config\n      filesystem: {claimName: backup-repo, path: /}\n",
    )
}

fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?
        .get("value")?
        .as_str()
}

#[test]
fn hooks_run_in_the_launcher_and_actions_in_the_mover_it_creates() {
    for method in ["Snapshot", "Clone", "Direct"] {
        let objects = hooks_and_actions(method).objects();
        let cron = objects.named("CronJob", "nightly-db-backup");
        let launcher = &cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(launcher["name"], "launcher", "{method}");
        let args = launcher["args"].as_array().expect("the hooks' argv");
        assert!(
            args.iter()
                .any(|a| a.as_str().unwrap_or("").starts_with("echo before")),
            "{method}: {args:?}"
        );
        assert_eq!(
            env_value(launcher, "KOPIAPLAN_BEFORE_SNAPSHOT"),
            None,
            "{method}"
        );
        let manifests = objects.named("ConfigMap", "nightly-db-backup-launcher");
        let mover: Value =
            serde_json::from_str(manifests["data"]["mover-job.json"].as_str().expect("mover"))
                .expect("JSON");
        let mover = &mover["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            env_value(mover, "KOPIAPLAN_BEFORE_SNAPSHOT"),
            Some("echo action-before"),
            "{method}"
        );
        assert_eq!(
            env_value(mover, "KOPIAPLAN_AFTER_SNAPSHOT"),
            Some("echo action-after"),
            "{method}"
        );
    }
}

/// Direct: `before` in the application, then the mover Job (its
/// beforeSnapshot action, the Kopia snapshot, its afterSnapshot action),
/// then `after` once the mover has ended. The mover run is the Job the
/// launcher created, as the stand-in recorded it.
#[test]
fn direct_runs_before_then_the_movers_actions_around_its_snapshot_then_after() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    let standin = two_db_pods("hooks-and-actions");
    let plan = hooks_and_actions("Direct");
    let result = run_launcher(&plan, &standin, &[]);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let steps = step_names(&standin);
    let position = |prefix: &str| super::position(&steps, prefix);
    let before = position("exec db-0");
    let create = position("create");
    let ended = position("wait job.batch/nightly-db-backup-mover");
    let after = steps
        .iter()
        .rposition(|s| s.starts_with("exec db-0"))
        .expect("after");
    assert!(
        before < create && create < ended && ended < after,
        "{steps:#?}"
    );
    assert_eq!(standin.trace(), ["before db-0 postgres", "after db-0"]);

    // The mover Job the launcher created runs the actions around Kopia.
    let created = standin.state()["jobs"]["nightly-db-backup-mover"]["spec"].clone();
    let mut objects = plan.objects().0;
    objects.push(json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "nightly-db-backup-mover", "namespace": "apps"},
        "spec": created,
    }));
    let data = support::scratch("hooks-and-actions-data");
    std::fs::write(data.join("table"), "rows\n").expect("data");
    let repository = support::scratch("hooks-and-actions-repository");
    support::pod::chmod_path(&repository, 0o777);
    let kopia = Standin::new("hooks-and-actions");
    let mover = Pod::from_compiled(
        &Value::Array(objects),
        "Job",
        "apps",
        "nightly-db-backup-mover",
    )
    .secret("kopia-config", &[("KOPIA_PASSWORD", "a password")])
    .pvc("db-data", &data)
    .pvc("backup-repo", &repository)
    .standin(&kopia)
    .harness_env("KOPIA_STANDIN_NOW", "2026-11-26T02:00:00Z")
    .run();
    assert_eq!(mover.exit_code, 0, "{}", mover.logs());
    let output = format!("{}{}", mover.stdout, mover.stderr);
    let action_before = output.find("action-before").expect("beforeSnapshot ran");
    let action_after = output.find("action-after").expect("afterSnapshot ran");
    assert!(action_before < action_after, "{output}");
    assert!(
        kopia
            .calls()
            .iter()
            .any(|c| c.command() == "snapshot create"),
        "{output}"
    );
    assert_eq!(mover.result_line()["result"], "success", "{output}");
}
