//! Repository maintenance: one CronJob per repository across the whole
//! input, running `kopia maintenance run --full` as the repository's one
//! maintenance owner. Backup clients never own maintenance, so Kopia's
//! automatic maintenance stays with this job.

use std::collections::BTreeMap;

use super::names::{CRON_JOB_NAME_LIMIT, NAME_LIMIT, object_name};
use super::{PlanResolver, Timing, scripts_prefix};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::model::{Backup, Identity, Maintenance, Names, Repository, RepositoryLocation};

/// Full maintenance runs daily unless the repository says otherwise.
pub const DEFAULT_MAINTENANCE_SCHEDULE: &str = "H H * * *";

/// The identity that owns maintenance of repositories kopiaplan writes to.
pub const OWNER_USERNAME: &str = "maintenance";
pub const OWNER_HOSTNAME: &str = "kopiaplan";

/// What makes two entries' repositories the same repository: the same URL,
/// or the same Secret (or PVC) in the same namespace.
pub fn repository_key(namespace: &str, repository: &Repository) -> String {
    match &repository.location {
        RepositoryLocation::Url(url) => format!("url {url}"),
        RepositoryLocation::FromSecret => {
            format!("secret {namespace}/{}", repository.secret_name)
        }
        RepositoryLocation::Claim { claim_name, path } => {
            format!("claim {namespace}/{claim_name}{path}")
        }
    }
}

impl PlanResolver<'_, '_> {
    /// One maintenance entry per repository this plan's backups write to.
    pub(super) fn maintenance(&mut self, backups: &[Backup]) -> Vec<Maintenance> {
        let mut users: BTreeMap<String, Vec<&Backup>> = BTreeMap::new();
        for backup in backups {
            users
                .entry(repository_key(&backup.namespace, &backup.repository))
                .or_default()
                .push(backup);
        }
        let mut result = Vec::new();
        for (key, users) in users {
            let repository = &users[0].repository;
            let Some(index) = self
                .input
                .spec
                .repositories
                .iter()
                .position(|r| r.name == repository.name)
            else {
                continue;
            };
            let spec = self.input.spec.repositories[index]
                .maintenance
                .clone()
                .unwrap_or_default();
            if spec.enabled == Some(false) {
                continue;
            }
            let at = self.root.key("spec").key("repositories").index(index);
            let at_maintenance = if at.key("maintenance").exists() {
                at.key("maintenance")
            } else {
                at.clone()
            };
            let namespace = users
                .iter()
                .map(|b| b.namespace.as_str())
                .min()
                .unwrap_or_default()
                .to_owned();
            let seed_name = format!("{}/{key}", repository.name);
            let run = self.run(
                &Timing {
                    component: "maintenance",
                    name: &seed_name,
                    schedule: spec.schedule.as_ref(),
                    default_schedule: Some(DEFAULT_MAINTENANCE_SCHEDULE),
                    trigger: None,
                    paused: spec.paused,
                    time_zone: None,
                },
                &at_maintenance,
                "",
            );
            let cache = self.cache(None, &at);
            let mover = self.mover(None, &at);
            let jobs = self.jobs(None, &at);
            let plan = &self.input.metadata.name;
            let cache = self
                .name_persistent_cache(cache, &[plan, &repository.name, "maintenance", "cache"]);
            let mut serves: Vec<String> = users
                .iter()
                .map(|b| format!("{}/{}", b.namespace, b.name))
                .collect();
            serves.sort();
            result.push(Maintenance {
                plan: self.plan_id,
                name: repository.name.clone(),
                namespace,
                origin: at.origin(),
                span: at.value_span(),
                owner: Identity {
                    username: OWNER_USERNAME.into(),
                    hostname: OWNER_HOSTNAME.into(),
                    path: String::new(),
                },
                repository: repository.clone(),
                run,
                serves,
                cache,
                mover,
                jobs,
                names: Names {
                    cron_job: object_name(
                        &[plan, &repository.name, "maintenance"],
                        CRON_JOB_NAME_LIMIT,
                    ),
                    job: None,
                    service_account: object_name(
                        &[plan, &repository.name, "maintenance"],
                        NAME_LIMIT,
                    ),
                    policy_config_map: String::new(),
                    scripts_prefix: scripts_prefix(plan),
                    launcher: None,
                },
            });
        }
        result
    }
}

/// Keeps one maintenance job per repository across every plan of the
/// input: the one of the plan whose name sorts first (so the input order
/// never matters), which then serves the entries of the others too. Two plans that write different schedules for the same
/// repository get a warning naming both.
pub fn deduplicate(
    maintenance: &mut Vec<Maintenance>,
    plan_names: &[String],
    diagnostics: &mut Diagnostics,
) {
    maintenance.sort_by(|a, b| {
        (
            &plan_names[a.plan.0],
            &a.namespace,
            &a.name,
            &a.origin.file,
            a.origin.line,
        )
            .cmp(&(
                &plan_names[b.plan.0],
                &b.namespace,
                &b.name,
                &b.origin.file,
                b.origin.line,
            ))
    });
    let mut kept: Vec<Maintenance> = Vec::new();
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    for entry in maintenance.drain(..) {
        let key = repository_key(&entry.namespace, &entry.repository);
        let Some(&index) = by_key.get(&key) else {
            by_key.insert(key, kept.len());
            kept.push(entry);
            continue;
        };
        let first = &mut kept[index];
        let written = |m: &Maintenance| match &m.run {
            crate::model::Run::Scheduled(s) => Some((s.written.clone(), s.time_zone.clone())),
            _ => None,
        };
        if written(first) != written(&entry) {
            diagnostics.push(
                Diagnostic::warning(format!(
                    "repository `{}` is maintained once, on the schedule of the plan at {}",
                    entry.repository.name, first.origin
                ))
                .at(Some(entry.span))
                .help(format!(
                    "the repository declared at {} asks for another schedule; give both the same `maintenance.schedule`, or `enabled: false` on one",
                    entry.origin
                )),
            );
        }
        first.serves.extend(entry.serves);
        first.serves.sort();
        first.serves.dedup();
    }
    *maintenance = kept;
}
