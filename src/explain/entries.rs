//! The one list `explain` is built on: every entry of the model that runs
//! Kopia (backups, restores, restore drills and repository maintenance),
//! flattened to what a reader needs; everything downstream (next runs, the week per repository, warnings, the
//! text, JSON and SVG views) reads only this list.

use crate::model::{self, Identity, Model, Origin, Run};

pub use crate::model::Component;

/// The repository an entry uses, as a reader identifies it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RepositoryRef {
    /// Repository names are per plan.
    pub plan: String,
    pub name: String,
    /// Where it is: a URL, `KOPIA_REPOSITORY` of a Secret, or a PVC.
    pub location: String,
}

/// One retention setting of the resolved Kopia policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Kopia's policy key, such as `keepDaily`.
    pub key: &'static str,
    /// The plan's word for it, such as `daily`.
    pub label: &'static str,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub component: Component,
    pub plan: String,
    pub name: String,
    pub namespace: String,
    pub origin: Origin,
    pub repository: RepositoryRef,
    /// The Kopia source it writes or reads (`user@host:path`).
    pub identity: Option<Identity>,
    pub copy_method: Option<&'static str>,
    pub run: Run,
    /// The name of the CronJob that runs it, or of the Job for a manual run.
    pub object_name: String,
    /// Empty when the policy leaves retention to the repository's global policy.
    pub retention: Vec<Retention>,
    /// Every field of a backup's policy, and where the plan sets it.
    pub policy: Vec<model::PolicySetting>,
    /// With workload hooks: each step in order, and where it runs.
    pub steps: Vec<String>,
    /// The `pvcSelector` or `statefulSet` entry a backup was expanded from.
    pub expansion: Option<model::Expansion>,
    /// Mover settings taken from a workload, with the object.
    pub inferred: Vec<model::Inferred>,
}

impl Entry {
    /// `backup web/web-data`: how reports name an entry.
    pub fn title(&self) -> String {
        format!(
            "{} {}/{}",
            self.component.as_str(),
            self.namespace,
            self.name
        )
    }
}

/// Every entry of the model, ordered by plan, namespace, name and component
/// so that the report does not depend on the order of the inputs.
pub fn entries(model: &Model) -> Vec<Entry> {
    let entry =
        |common: &model::Entry, copy_method: Option<&'static str>, retention: Vec<Retention>| {
            let plan = &model.plans[common.plan.0];
            Entry {
                component: common.component,
                plan: plan.name.clone(),
                name: common.name.clone(),
                namespace: common.namespace.clone(),
                origin: common.origin.clone(),
                repository: repository_ref(&plan.name, &common.repository),
                // Maintenance and replicas run as the repository's owner, on no
                // source.
                identity: (!matches!(
                    common.component,
                    Component::Maintenance | Component::Replica
                ))
                .then(|| common.identity.clone()),
                copy_method,
                run: common.run.clone(),
                object_name: common.run_object_name().to_owned(),
                retention,
                policy: Vec::new(),
                steps: Vec::new(),
                expansion: None,
                inferred: Vec::new(),
            }
        };
    let mut entries = Vec::new();
    for backup in &model.backups {
        let mut explained = entry(
            &backup.entry,
            Some(backup.source.method()),
            retention(&backup.policy),
        );
        explained.policy = backup.policy_sources.clone();
        explained.steps = super::steps::steps(backup);
        explained.expansion = backup.expansion.clone();
        explained.inferred = backup.inferred.clone();
        entries.push(explained);
    }
    for restore in &model.restores {
        let copy_method = match (&restore.destination, &restore.snapshot_after) {
            (model::RestoreTarget::Stream(_), _) => "Stream",
            (_, Some(_)) => "Snapshot",
            (_, None) => "Direct",
        };
        entries.push(entry(&restore.entry, Some(copy_method), Vec::new()));
    }
    for verify in &model.verifies {
        entries.push(entry(&verify.entry, None, Vec::new()));
    }
    for maintenance in &model.maintenance {
        entries.push(entry(&maintenance.entry, None, Vec::new()));
    }
    for replica in &model.replicas {
        entries.push(entry(&replica.entry, None, Vec::new()));
    }
    entries.sort_by(|a, b| {
        (&a.plan, &a.namespace, &a.name, a.component).cmp(&(
            &b.plan,
            &b.namespace,
            &b.name,
            b.component,
        ))
    });
    entries
}

fn repository_ref(plan: &str, repository: &model::Repository) -> RepositoryRef {
    let location = match &repository.location {
        // VolSync's layout is decided by the mover from the Secret's keys.
        model::RepositoryLocation::FromSecret
            if repository.layout == model::RepositoryLayout::VolSync =>
        {
            format!(
                "KOPIA_REPOSITORY of Secret {}, where VolSync's mover put it",
                repository.secret_name
            )
        }
        model::RepositoryLocation::FromSecret => {
            format!("KOPIA_REPOSITORY of Secret {}", repository.secret_name)
        }
        model::RepositoryLocation::Url(_) => repository.location.normalised(),
        model::RepositoryLocation::Claim { claim_name, path } => format!(
            "filesystem {} on PVC {claim_name}",
            crate::kopia::backend::normalise_path(path)
        ),
    };
    RepositoryRef {
        plan: plan.to_owned(),
        name: repository.name.clone(),
        location,
    }
}

/// The retention of a resolved Kopia policy, in Kopia's order.
fn retention(policy: &serde_json::Value) -> Vec<Retention> {
    const KEYS: [(&str, &str); 6] = [
        ("keepLatest", "latest"),
        ("keepHourly", "hourly"),
        ("keepDaily", "daily"),
        ("keepWeekly", "weekly"),
        ("keepMonthly", "monthly"),
        ("keepAnnual", "annual"),
    ];
    let Some(retention) = policy.get("retention") else {
        return Vec::new();
    };
    KEYS.iter()
        .filter_map(|(key, label)| {
            Some(Retention {
                key,
                label,
                count: retention.get(*key)?.as_u64()?,
            })
        })
        .collect()
}
