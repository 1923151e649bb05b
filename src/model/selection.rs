//! What a backup took from the application it backs up: the entry and the
//! selector or StatefulSet it was expanded from, and each setting inferred
//! from the workload that mounts its claim (shown by `explain`, with the
//! object it comes from).

/// How a backup came out of a `pvcSelector` or `statefulSet` entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Expansion {
    /// The `name` of the entry as written.
    pub entry: String,
    /// What matched, in words: ``StatefulSet/db, claim template `data`,
    /// replica 2`` or ``pvcSelector {app: db}``.
    pub by: String,
    /// For a StatefulSet's claim: the StatefulSet and the replica, so that
    /// the guard can say why the backup stops when the count shrinks.
    pub stateful_set: Option<(String, i32)>,
}

/// One mover setting taken from a workload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Inferred {
    /// The plan field it fills, such as `mover.securityContext.fsGroup`.
    pub field: String,
    /// The value, as JSON.
    pub value: String,
    /// The object it comes from, such as `Deployment/web` (and the others
    /// that mount the claim too, which it was chosen before).
    pub from: String,
}
