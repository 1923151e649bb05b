//! The labels and annotations every generated object carries (SPEC §4).

use std::collections::BTreeMap;

use crate::model::{Component, Origin, Plan};

pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const COMPONENT: &str = "app.kubernetes.io/component";
pub const INSTANCE: &str = "app.kubernetes.io/instance";
/// The input file and line an object was compiled from.
pub const SOURCE: &str = "kopiaplan.dev/source";
/// The manual-trigger token a Job runs for.
pub const TRIGGER: &str = "kopiaplan.dev/trigger";
/// The Kopia snapshot source an object works on.
pub const KOPIA_SOURCE: &str = "kopiaplan.dev/kopia-source";
/// The repository an entry's objects work on, in one spelling
/// (`RepositoryLocation::described`).
pub const REPOSITORY: &str = "kopiaplan.dev/repository";
/// How a backup was expanded from a `pvcSelector` or `statefulSet` entry
/// (``StatefulSet/db, claim template `data`, replica 2``).
pub const EXPANDED_FROM: &str = "kopiaplan.dev/expanded-from";
/// Argo CD's sync wave of an object.
pub const ARGO_CD_SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// The options a backup creates its repository with (`creation`), as
/// Kopia flags.
pub const CREATION: &str = "kopiaplan.dev/creation";
/// The identity that maintains a repository (`user@host`).
pub const MAINTENANCE_OWNER: &str = "kopiaplan.dev/maintenance-owner";

/// The plan's own labels, then the four kopiaplan labels (which win).
pub fn labels(plan: &Plan, component: Component, instance: &str) -> BTreeMap<String, String> {
    let mut labels = plan.labels.clone();
    labels.insert(MANAGED_BY.into(), "kopiaplan".into());
    labels.insert(PART_OF.into(), plan.name.clone());
    labels.insert(COMPONENT.into(), component.as_str().into());
    labels.insert(INSTANCE.into(), instance.into());
    labels
}

/// The labels that select one entry's pods (a subset of [`labels`]).
pub fn selector(plan: &Plan, component: Component, instance: &str) -> BTreeMap<String, String> {
    [
        (PART_OF, plan.name.as_str()),
        (COMPONENT, component.as_str()),
        (INSTANCE, instance),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

pub fn annotations(plan: &Plan, origin: &Origin) -> BTreeMap<String, String> {
    let mut annotations = plan.annotations.clone();
    annotations.insert(SOURCE.into(), origin.to_string());
    annotations
}
