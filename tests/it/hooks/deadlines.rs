//! A launcher outlives every wait it does: its Job's deadline is longer
//! than all its waits together, the mover Job's deadline among them, so a
//! long mover never outlives the launcher waiting for it (and Direct's
//! `after`, which runs once the mover has ended, is never lost). Stopped
//! anyway, its pod's grace period lets a running hook end and `after` run.
//! Read from the compiled objects, for every kind of launcher.

use serde_json::Value;

use crate::test::{Objects, Plan};

/// Seconds in a `--timeout=90s` argument.
fn timeout_of(argument: &str) -> Option<i64> {
    argument
        .strip_prefix("--timeout=")
        .and_then(|t| t.strip_suffix('s'))
        .map(|t| t.parse().expect("seconds"))
}

/// Every launcher of the output: (its Job's spec, the mover Job it creates).
fn launchers(objects: &Objects) -> Vec<(Value, Value)> {
    let mut found = Vec::new();
    for object in &objects.0 {
        let job = match object["kind"].as_str() {
            Some("CronJob") => object["spec"]["jobTemplate"]["spec"].clone(),
            Some("Job") => object["spec"].clone(),
            _ => continue,
        };
        let Some(manifests) = job["template"]["spec"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == "manifests")
            .and_then(|v| v["configMap"]["name"].as_str())
        else {
            continue;
        };
        let config_map = objects.named("ConfigMap", manifests);
        let mover: Value = serde_json::from_str(
            config_map["data"]["mover-job.json"]
                .as_str()
                .expect("the mover Job"),
        )
        .expect("JSON");
        found.push((job, mover));
    }
    found
}

/// A plain launcher's waits: its kubectl steps' `--timeout`s; the one on
/// the mover Job is returned apart.
fn kubectl_waits(pod: &Value, mover_job: &str) -> (i64, i64) {
    let mut total = 0;
    let mut mover_wait = 0;
    for container in ["initContainers", "containers"]
        .iter()
        .flat_map(|list| pod[list].as_array().into_iter().flatten())
    {
        let argv: Vec<&str> = container["command"]
            .as_array()
            .expect("command")
            .iter()
            .map(|a| a.as_str().expect("a string"))
            .collect();
        let Some(seconds) = argv.iter().find_map(|a| timeout_of(a)) else {
            continue;
        };
        total += seconds;
        if argv[2] == "wait" && argv.contains(&format!("job.batch/{mover_job}").as_str()) {
            mover_wait = mover_wait.max(seconds);
        }
    }
    (total, mover_wait)
}

/// The hooks launcher's waits, from its settings and the bounds its script
/// is rendered with; the mover wait apart; and the hooks' longest run.
fn hooks_launcher_waits(pod: &Value, script: &str) -> (i64, i64, i64) {
    let container = &pod["containers"][0];
    let env = |name: &str| -> i64 {
        container["env"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == name)
            .and_then(|e| e["value"].as_str())
            .unwrap_or_else(|| panic!("no {name}"))
            .parse()
            .expect("seconds")
    };
    let bound = |name: &str| -> i64 {
        script
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("the script sets no {name}"))
            .trim_end_matches('s')
            .parse()
            .expect("seconds")
    };
    let kill_after = bound("KILL_AFTER");
    let hooks = env("KOPIAPLAN_BEFORE_TIMEOUT") + env("KOPIAPLAN_AFTER_TIMEOUT") + 2 * kill_after;
    let mover_wait = env("KOPIAPLAN_MOVER_TIMEOUT");
    let total = bound("CLEANUP_TIMEOUT")
        + 2 * env("KOPIAPLAN_READY_TIMEOUT")
        + hooks
        + mover_wait
        + bound("JOB_END_TIMEOUT");
    (total, mover_wait, hooks)
}

#[test]
fn every_launcher_outlasts_its_waits_and_its_mover() {
    let hooks = "      jobs: {activeDeadlineSeconds: 7200}
      hooks:
        workload: {selector: {app: db}}
        before: {command: [sync], timeoutSeconds: 400}
        after: {command: [sync], timeoutSeconds: 500}
";
    let mut plans: Vec<(String, Plan)> = ["Snapshot", "Clone", "Direct"]
        .iter()
        .map(|method| (format!("{method} with hooks"), super::plan(method, hooks)))
        .collect();
    plans.push((
        "Snapshot without hooks, and a Snapshot restore".into(),
        super::plan("Snapshot", "      jobs: {activeDeadlineSeconds: 7200}\n").replace(
            "  backups:\n",
            "  restores:\n    - {name: back, from: db, pvc: db-copy, copyMethod: Snapshot, trigger: {manual: a}, jobs: {activeDeadlineSeconds: 7200}}\n  backups:\n",
        ),
    ));
    for (case, plan) in plans {
        let objects = plan.objects();
        let launchers = launchers(&objects);
        assert!(!launchers.is_empty(), "{case}: no launcher");
        for (job, mover) in launchers {
            let deadline = job["activeDeadlineSeconds"].as_i64().expect("a deadline");
            let mover_deadline = mover["spec"]["activeDeadlineSeconds"]
                .as_i64()
                .expect("the mover's deadline");
            let pod = &job["template"]["spec"];
            let mover_name = mover["metadata"]["name"].as_str().expect("name");
            let (waits, mover_wait) = if pod["containers"][0]["command"][0] == "kubectl" {
                kubectl_waits(pod, mover_name)
            } else {
                let config_map = objects.named(
                    "ConfigMap",
                    pod["volumes"][0]["configMap"]["name"]
                        .as_str()
                        .expect("manifests"),
                );
                let script = config_map["data"]["launcher-hooks.sh"]
                    .as_str()
                    .expect("the script");
                let (waits, mover_wait, hooks) = hooks_launcher_waits(pod, script);
                let grace = pod["terminationGracePeriodSeconds"].as_i64().unwrap_or(30);
                assert!(
                    grace > hooks,
                    "{case}: a grace period of {grace}s cannot let `before` end and `after` run ({hooks}s)"
                );
                (waits, mover_wait)
            };
            assert_eq!(
                mover_deadline, 7200,
                "{case}: the mover has the entry's deadline"
            );
            assert!(
                mover_wait > mover_deadline,
                "{case}: the launcher waits {mover_wait}s for a mover that may run {mover_deadline}s"
            );
            assert!(
                deadline > waits,
                "{case}: the launcher's deadline {deadline}s is shorter than its waits ({waits}s)"
            );
        }
    }
}
