//! `backups[].hooks`: commands run in the application's own pods, by the
//! entry's launcher, before the point-in-time copy is cut and after it.
//! Unlike `actions` (run in the mover, after the copy exists), these can
//! quiesce the application.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Hooks around the copy of one backup, run with `kubectl exec` in the
/// application's pods.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HooksSpec {
    /// The application's pods, in the entry's namespace.
    pub workload: WorkloadSpec,
    /// Runs before the copy is cut (the VolumeSnapshot is created, the
    /// clone is made, or the Direct mover starts).
    pub before: Option<HookSpec>,
    /// Runs as soon as the copy is cut, and whenever `before` ran, even when
    /// the copy or the backup failed.
    pub after: Option<HookSpec>,
}

/// Which pods and container the hooks run in.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WorkloadSpec {
    /// Labels of the application's pods (running pods only).
    pub selector: BTreeMap<String, String>,
    /// The container to run in. Default: the pod's first container (not
    /// the one a `kubectl.kubernetes.io/default-container` annotation
    /// names, which `kubectl exec` alone would choose).
    pub container: Option<String>,
    /// `One` (the default): the first matching pod by name; `All`: every
    /// matching pod, all at once (each with the hook's timeout).
    pub pods: Option<HookPods>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum HookPods {
    /// The first running pod, by name.
    One,
    /// Every running pod.
    All,
}

/// One command run in the application's container.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HookSpec {
    /// The command and its arguments (argv, not a shell line: write
    /// `["sh", "-c", "…"]` for a shell).
    pub command: Vec<String>,
    /// How long the command may run in each pod, in seconds.
    pub timeout_seconds: Option<u32>,
    /// `Fail` (the default for `before`): a failure aborts the run and no
    /// snapshot is taken; `Continue`: a failure is a warning in the result.
    /// For `after` a failure never removes a snapshot already taken: `Fail`
    /// marks the run failed, `Continue` (its default) warns.
    pub on_error: Option<HookOnError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum HookOnError {
    /// Fail the run.
    Fail,
    /// Warn and go on.
    Continue,
}
