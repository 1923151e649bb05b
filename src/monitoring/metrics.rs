//! The series kopiaplan's rules, dashboard and movers agree on: the
//! kube-state-metrics series the expressions read, the recording rule that
//! carries each entry's staleness threshold, and the gauges a mover pushes
//! to a Pushgateway (named in templates/common.sh through these constants).

/// kube-state-metrics series (v2.5.0 or later).
pub const KUBE_STATE_METRICS: &[&str] = &[
    "kube_cronjob_created",
    "kube_cronjob_next_schedule_time",
    "kube_cronjob_spec_suspend",
    "kube_cronjob_status_active",
    "kube_cronjob_status_last_successful_time",
    "kube_job_failed",
    "kube_job_owner",
    "kube_job_status_start_time",
];

/// Recording rule: an entry's staleness threshold in seconds, labelled
/// `namespace`, `cronjob` and the three `kopiaplan_*` labels.
pub const STALE_THRESHOLD: &str = "kopiaplan:stale_threshold_seconds";

/// Pushed by the mover after each run (job `kopiaplan`, grouped by
/// namespace, plan, component and entry).
pub const LAST_RUN_TIMESTAMP: &str = "kopiaplan_last_run_timestamp_seconds";
pub const LAST_RUN_SUCCESS: &str = "kopiaplan_last_run_success";
pub const LAST_RUN_DURATION: &str = "kopiaplan_last_run_duration_seconds";
/// Only on success: a failed run leaves the previous values in place.
pub const LAST_SUCCESS_TIMESTAMP: &str = "kopiaplan_last_success_timestamp_seconds";
pub const LAST_SNAPSHOT_TIMESTAMP: &str = "kopiaplan_last_snapshot_timestamp_seconds";
pub const LAST_SNAPSHOT_BYTES: &str = "kopiaplan_last_snapshot_bytes";
pub const LAST_SNAPSHOT_FILES: &str = "kopiaplan_last_snapshot_files";

/// Every pushed gauge.
pub const PUSHED: &[&str] = &[
    LAST_RUN_TIMESTAMP,
    LAST_RUN_SUCCESS,
    LAST_RUN_DURATION,
    LAST_SUCCESS_TIMESTAMP,
    LAST_SNAPSHOT_TIMESTAMP,
    LAST_SNAPSHOT_BYTES,
    LAST_SNAPSHOT_FILES,
];

/// The Pushgateway's job label for every push.
pub const PUSH_JOB: &str = "kopiaplan";
