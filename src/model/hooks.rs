//! Resolved workload hooks of a backup: what its launcher runs in the
//! application's pods around the point-in-time copy.

use std::collections::BTreeMap;

pub use crate::plan::HookPods;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadHooks {
    /// Labels of the application's pods, in the entry's namespace.
    pub selector: BTreeMap<String, String>,
    /// The container; `None`: each pod's first, read when the hooks run.
    pub container: Option<String>,
    pub pods: HookPods,
    pub before: Option<Hook>,
    pub after: Option<Hook>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// argv, run with `kubectl exec … --`.
    pub command: Vec<String>,
    pub timeout_seconds: u32,
    /// A failure fails the run (else it is a warning in the result).
    pub fail_on_error: bool,
}

impl WorkloadHooks {
    /// `app=db,tier=primary`, as `kubectl get -l` takes it (labels are
    /// validated, so neither `,` nor `=` appears inside a key or value).
    pub fn selector_text(&self) -> String {
        self.selector
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}
