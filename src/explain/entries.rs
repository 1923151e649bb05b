//! The one list `explain` is built on: every entry of the model that runs
//! Kopia (backups, restores, restore drills and repository maintenance),
//! flattened to what a reader needs; everything downstream (next runs, the week per repository, warnings, the
//! text, JSON and SVG views) reads only this list.

use serde::Serialize;

use crate::model::{self, Identity, Model, Origin, Run};

/// What an entry does; the `app.kubernetes.io/component` of its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    Backup,
    Restore,
    Verify,
    Maintenance,
}

impl Component {
    pub fn label(self) -> &'static str {
        match self {
            Component::Backup => "backup",
            Component::Restore => "restore",
            Component::Verify => "verify",
            Component::Maintenance => "maintenance",
        }
    }
}

/// The object that runs an entry: its Job for a manual run, else its CronJob.
fn object_name(run: &Run, names: &model::Names) -> String {
    match (run, &names.job) {
        (Run::Manual { .. }, Some(job)) => job.clone(),
        _ => names.cron_job.clone(),
    }
}

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
}

impl Entry {
    /// `backup web/web-data`: how reports name an entry.
    pub fn title(&self) -> String {
        format!(
            "{} {}/{}",
            self.component.label(),
            self.namespace,
            self.name
        )
    }
}

/// Every entry of the model, ordered by plan, namespace, name and component
/// so that the report does not depend on the order of the inputs.
pub fn entries(model: &Model) -> Vec<Entry> {
    let mut entries = Vec::new();
    for backup in &model.backups {
        let plan = &model.plans[backup.plan.0];
        entries.push(Entry {
            component: Component::Backup,
            plan: plan.name.clone(),
            name: backup.name.clone(),
            namespace: backup.namespace.clone(),
            origin: backup.origin.clone(),
            repository: repository_ref(&plan.name, &backup.repository),
            identity: Some(backup.identity.clone()),
            copy_method: Some(backup.copy.method()),
            run: backup.run.clone(),
            object_name: object_name(&backup.run, &backup.names),
            retention: retention(&backup.policy),
        });
    }
    for restore in &model.restores {
        let plan = &model.plans[restore.plan.0];
        entries.push(Entry {
            component: Component::Restore,
            plan: plan.name.clone(),
            name: restore.name.clone(),
            namespace: restore.namespace.clone(),
            origin: restore.origin.clone(),
            repository: repository_ref(&plan.name, &restore.repository),
            identity: Some(restore.identity.clone()),
            copy_method: Some(if restore.snapshot_after.is_some() {
                "Snapshot"
            } else {
                "Direct"
            }),
            run: restore.run.clone(),
            object_name: object_name(&restore.run, &restore.names),
            retention: Vec::new(),
        });
    }
    for verify in &model.verifies {
        let plan = &model.plans[verify.plan.0];
        entries.push(Entry {
            component: Component::Verify,
            plan: plan.name.clone(),
            name: verify.name.clone(),
            namespace: verify.namespace.clone(),
            origin: verify.origin.clone(),
            repository: repository_ref(&plan.name, &verify.repository),
            identity: Some(verify.identity.clone()),
            copy_method: None,
            run: verify.run.clone(),
            object_name: object_name(&verify.run, &verify.names),
            retention: Vec::new(),
        });
    }
    for maintenance in &model.maintenance {
        let plan = &model.plans[maintenance.plan.0];
        entries.push(Entry {
            component: Component::Maintenance,
            plan: plan.name.clone(),
            name: maintenance.name.clone(),
            namespace: maintenance.namespace.clone(),
            origin: maintenance.origin.clone(),
            repository: repository_ref(&plan.name, &maintenance.repository),
            identity: None,
            copy_method: None,
            run: maintenance.run.clone(),
            object_name: object_name(&maintenance.run, &maintenance.names),
            retention: Vec::new(),
        });
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
