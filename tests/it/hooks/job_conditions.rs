//! A Job may get an interim condition before its last one (Kubernetes 1.31
//! and later: `SuccessCriteriaMet` before `Complete`, `FailureTarget`
//! before `Failed`, the last once its pods are gone). The launcher takes
//! neither for the end of the mover: Direct's `after` waits for the last
//! condition, and the result is the mover's real outcome.

use super::{plan, run_launcher, step_names, tracing_hooks, two_db_pods};
use crate::support::requires::requires;

#[test]
fn interim_job_conditions_are_not_taken_for_the_movers_end() {
    requires!(Namespaces, Tool("python3"), Tool("bash"));
    for (conditions, exit_code, message, last) in [
        (
            "SuccessCriteriaMet,Complete",
            0,
            "the backup succeeded",
            "--for=condition=Complete",
        ),
        (
            "FailureTarget,Failed",
            1,
            "the mover Job failed: see its pod's termination message",
            "--for=condition=Failed",
        ),
    ] {
        let standin = two_db_pods(&format!("conditions-{exit_code}"));
        let result = run_launcher(
            &plan("Direct", &tracing_hooks("")),
            &standin,
            &[("KUBECTL_STANDIN_MOVER", conditions)],
        );
        let context = format!(
            "{conditions}: {:#?}\n{}",
            step_names(&standin),
            result.logs()
        );
        assert_eq!(result.exit_code, exit_code, "{context}");
        assert_eq!(result.result_line()["message"], message, "{context}");
        assert_eq!(
            standin.trace(),
            ["before db-0 postgres", "after db-0"],
            "{context}"
        );
        // `after` ran once the Job had its last condition.
        let calls = standin.calls();
        let ended = calls
            .iter()
            .position(|c| c.verb() == "wait" && c.argv.iter().any(|a| a == last))
            .unwrap_or_else(|| panic!("no wait {last}: {context}"));
        let after = calls
            .iter()
            .rposition(|c| c.verb() == "exec")
            .expect("after");
        assert!(ended < after, "{context}");
        let job = &standin.state()["jobs"]["nightly-db-backup-mover"];
        assert_eq!(
            job["status"]["conditions"].as_array().map(Vec::len),
            Some(2),
            "{context}"
        );
    }
}
