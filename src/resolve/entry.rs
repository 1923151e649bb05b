//! The part every entry shares ([`Entry`]): assembled, and its objects
//! named, in one place for backups, restores, restore drills and
//! maintenance.

use super::{At, PlanResolver};
use crate::model::{
    Cache, Component, Entry, Identity, Jobs, Mover, PersistentCache, Repository, Run, names,
};

/// What an entry's resolver decided for the common part.
pub(super) struct Common {
    pub component: Component,
    pub name: String,
    pub namespace: String,
    pub identity: Identity,
    pub repository: Repository,
    pub run: Run,
    pub cache: Cache,
    pub mover: Mover,
    pub jobs: Jobs,
    /// The entry has a policy ConfigMap of its own (backups).
    pub has_policy: bool,
    /// A launcher runs the mover (Snapshot copies, snapshots after restore).
    pub has_launcher: bool,
}

impl PlanResolver<'_, '_> {
    /// The entry written at `at`, its objects named.
    pub(super) fn entry(&self, common: Common, at: &At<'_>) -> Entry {
        let plan = &self.input.metadata.name;
        let names = names::entry(
            plan,
            &common.name,
            common.component,
            &common.namespace,
            &common.run,
            common.has_policy,
            common.has_launcher,
        );
        let cache = match common.cache {
            Cache {
                persistent: Some(persistent),
                ..
            } if persistent.claim_name.is_empty() => Cache {
                persistent: Some(PersistentCache {
                    claim_name: names::persistent_cache(plan, &common.name, common.component),
                    ..persistent
                }),
                ..common.cache
            },
            cache => cache,
        };
        Entry {
            plan: self.plan_id,
            component: common.component,
            name: common.name,
            namespace: common.namespace,
            origin: at.origin(),
            span: at.value_span(),
            identity: common.identity,
            repository: common.repository,
            run: common.run,
            cache,
            mover: common.mover,
            jobs: common.jobs,
            names,
        }
    }
}
