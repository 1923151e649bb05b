//! Repository maintenance: a quick and a full CronJob (or Job) per
//! repository across the whole input, running `kopia maintenance run` as
//! the repository's one maintenance owner. Backup clients never own
//! maintenance, so Kopia's automatic maintenance stays with these jobs.

use std::collections::BTreeMap;

use super::entry::Common;
use super::error::ResolveError;
use super::identity::is_valid_explicit;
use super::{PlanResolver, Timing};
use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::model::{Backup, Identity, Maintenance, Repository, RepositoryLocation, Run};
use crate::model::{Component, MaintenanceMode, names};

/// Full maintenance runs daily and quick maintenance hourly unless the
/// repository says otherwise.
use super::defaults::{DEFAULT_MAINTENANCE_SCHEDULE, DEFAULT_QUICK_MAINTENANCE_SCHEDULE};

/// The key of the repository Secret with the new password of a password
/// change, unless the plan names another.
pub const NEW_PASSWORD_KEY: &str = "KOPIA_NEW_PASSWORD";

/// The identity that owns maintenance of repositories kopiaplan writes to.
pub const OWNER_USERNAME: &str = "maintenance";
pub const OWNER_HOSTNAME: &str = "kopiaplan";

/// What makes two entries' repositories the same repository: the same URL,
/// or the same Secret (or PVC) in the same namespace.
pub fn repository_key(namespace: &str, repository: &Repository) -> String {
    match &repository.location {
        RepositoryLocation::Url(_) => format!("url {}", repository.place()),
        RepositoryLocation::FromSecret => {
            format!(
                "secret {namespace}/{} {}",
                repository.secret_name,
                repository.layout.as_str()
            )
        }
        RepositoryLocation::Claim { claim_name, path } => {
            format!(
                "claim {namespace}/{claim_name}{}",
                crate::kopia::backend::normalise_path(path)
            )
        }
    }
}

/// The owner written as `user@host`, each part a Kopia identity part.
fn parse_owner(written: &str) -> Option<Identity> {
    let (username, hostname) = written.split_once('@')?;
    (is_valid_explicit(username) && is_valid_explicit(hostname)).then(|| Identity {
        username: username.to_owned(),
        hostname: hostname.to_owned(),
        path: String::new(),
    })
}

impl PlanResolver<'_, '_> {
    /// One maintenance entry per repository this plan's backups write to,
    /// and one for each repository that asks for maintenance with a
    /// `maintenance` block although no backup of the plan writes to it
    /// (what a VolSync KopiaMaintenance is).
    pub(super) fn maintenance(
        &mut self,
        backups: &[Backup],
        repositories: &BTreeMap<String, Repository>,
    ) -> Vec<Maintenance> {
        let mut users: BTreeMap<String, Vec<&Backup>> = BTreeMap::new();
        for backup in backups {
            users
                .entry(repository_key(
                    &backup.entry.namespace,
                    &backup.entry.repository,
                ))
                .or_default()
                .push(backup);
        }
        let mut result = Vec::new();
        for (key, users) in users {
            let repository = &users[0].entry.repository;
            let namespace = users
                .iter()
                .map(|b| b.entry.namespace.as_str())
                .min()
                .unwrap_or_default()
                .to_owned();
            let mut serves: Vec<String> = users
                .iter()
                .map(|b| format!("{}/{}", b.entry.namespace, b.entry.name))
                .collect();
            serves.sort();
            result.extend(self.maintenance_entry(repository, namespace, &key, serves));
        }
        let input = self.input;
        for (index, spec) in input.spec.repositories.iter().enumerate() {
            let Some(maintenance) = &spec.maintenance else {
                continue;
            };
            if maintenance.enabled == Some(false) || self.written_by_a_backup(&spec.name) {
                continue;
            }
            // A repository that failed its own checks is already reported.
            let Some(repository) = repositories.get(&spec.name) else {
                continue;
            };
            let Some(namespace) = input.metadata.namespace.clone() else {
                let at = self
                    .root
                    .key("spec")
                    .key("repositories")
                    .index(index)
                    .key("maintenance");
                let d = at.key_error(
                    &ResolveError::MaintenanceNoNamespace {
                        repository: spec.name.clone(),
                    },
                    "set `metadata.namespace` on the plan (where the repository's Secret is), or `maintenance: {enabled: false}` when the repository is maintained elsewhere",
                );
                self.report(d);
                continue;
            };
            let key = repository_key(&namespace, repository);
            result.extend(self.maintenance_entry(repository, namespace, &key, Vec::new()));
        }
        result
    }

    /// Whether a backup of the plan, as written, names this repository
    /// (its own, the default one, or the only one).
    fn written_by_a_backup(&self, repository: &str) -> bool {
        let spec = &self.input.spec;
        spec.backups.iter().any(|b| {
            match b.repository.as_ref().or(spec.defaults.repository.as_ref()) {
                Some(name) => name == repository,
                None => spec.repositories.len() == 1,
            }
        })
    }

    /// The quick and full maintenance of `repository` in `namespace`, as
    /// its declaration in this plan says; none when it is disabled.
    fn maintenance_entry(
        &mut self,
        repository: &Repository,
        namespace: String,
        key: &str,
        serves: Vec<String>,
    ) -> Vec<Maintenance> {
        let Some(index) = self
            .input
            .spec
            .repositories
            .iter()
            .position(|r| r.name == repository.name)
        else {
            return Vec::new();
        };
        let spec = self.input.spec.repositories[index]
            .maintenance
            .clone()
            .unwrap_or_default();
        if spec.enabled == Some(false) {
            return Vec::new();
        }
        let at = self.root.key("spec").key("repositories").index(index);
        let maintenance_written = at.key("maintenance").exists();
        let at_maintenance = if maintenance_written {
            at.key("maintenance")
        } else {
            at.clone()
        };
        let (owner, at_owner) = match &spec.owner {
            None => (
                Identity {
                    username: OWNER_USERNAME.into(),
                    hostname: match self.cluster() {
                        Some(cluster) => format!("{OWNER_HOSTNAME}.{cluster}"),
                        None => OWNER_HOSTNAME.into(),
                    },
                    path: String::new(),
                },
                at_maintenance.clone(),
            ),
            Some(written) => {
                let at_owner = if maintenance_written {
                    at_maintenance.key("owner")
                } else {
                    at_maintenance.unwritten("owner")
                };
                let owner = parse_owner(written).unwrap_or_else(|| {
                    let d = at_owner.error(
                        &ResolveError::InvalidMaintenanceOwner {
                            written: written.clone(),
                        },
                        format!("write it as `user@host`, each part of letters, digits, `.`, `_` and `-`, such as `{OWNER_USERNAME}@{OWNER_HOSTNAME}`"),
                    );
                    self.report(d);
                    Identity {
                        username: String::new(),
                        hostname: String::new(),
                        path: String::new(),
                    }
                });
                (owner, at_owner)
            }
        };
        let ownership = spec.ownership.unwrap_or_default();
        let cache = self.cache(spec.cache.as_ref(), &at_maintenance);
        let mover = self.mover(spec.mover.as_ref(), &at_maintenance);
        let jobs = self.jobs(spec.jobs.as_ref(), &at_maintenance);
        let mut result = Vec::new();
        let password_change = self.input.spec.repositories[index].password_change.clone();
        let mut modes = vec![MaintenanceMode::Quick, MaintenanceMode::Full];
        if let Some(change) = &password_change {
            modes.push(MaintenanceMode::ChangePassword {
                new_password_key: change
                    .new_password_key
                    .clone()
                    .unwrap_or_else(|| NEW_PASSWORD_KEY.to_owned()),
            });
        }
        for mode in modes {
            let (run_spec, field) = match mode {
                MaintenanceMode::Quick => (spec.quick.as_ref(), Some("quick")),
                MaintenanceMode::Full => (spec.full.as_ref(), Some("full")),
                MaintenanceMode::ChangePassword { .. } => (None, None),
            };
            if run_spec.and_then(|r| r.enabled) == Some(false) {
                continue;
            }
            // A written `trigger` decides when maintenance runs: full
            // maintenance (which does what quick does) runs by it, and
            // quick maintenance only when its own block asks for it.
            if mode == MaintenanceMode::Quick && spec.trigger.is_some() && run_spec.is_none() {
                continue;
            }
            let at_run = match field {
                Some(field) if maintenance_written && at_maintenance.key(field).exists() => {
                    at_maintenance.key(field)
                }
                _ => at_maintenance.clone(),
            };
            let own_schedule = run_spec.and_then(|r| r.schedule.as_ref());
            let run = match &mode {
                // Once per token, as a manual Job.
                MaintenanceMode::ChangePassword { .. } => {
                    let trigger = crate::plan::Trigger {
                        manual: password_change.as_ref().map(|c| c.token.clone()),
                        ..crate::plan::Trigger::default()
                    };
                    self.run(
                        &Timing {
                            component: "maintenance",
                            name: &format!("{}/{key}/change-password", repository.name),
                            schedule: None,
                            default_schedule: None,
                            trigger: Some(&trigger),
                            paused: None,
                            time_zone: None,
                        },
                        &at.key("passwordChange"),
                        "",
                    )
                }
                // Quick maintenance: its own schedule, hourly by default.
                MaintenanceMode::Quick => self.run(
                    &Timing {
                        component: "maintenance",
                        name: &format!("{}/{key}/quick", repository.name),
                        schedule: own_schedule,
                        default_schedule: Some(DEFAULT_QUICK_MAINTENANCE_SCHEDULE),
                        trigger: None,
                        paused: spec.paused,
                        time_zone: spec.time_zone.as_ref(),
                    },
                    &at_run,
                    "",
                ),
                // Full maintenance keeps the seed it always had, so its
                // time never moves; `schedule` and `full.schedule` are one.
                MaintenanceMode::Full => {
                    if let (Some(written), Some(own)) = (&spec.schedule, own_schedule)
                        && written != own
                    {
                        let d = at_run.key("schedule").error(
                            &ResolveError::FullScheduleTwice,
                            "keep one of them: both are the full maintenance schedule",
                        );
                        self.report(d);
                    }
                    let (schedule, at_schedule) = match own_schedule {
                        Some(own) => (Some(own), at_run.clone()),
                        None => (spec.schedule.as_ref(), at_maintenance.clone()),
                    };
                    self.run(
                        &Timing {
                            component: "maintenance",
                            name: &format!("{}/{key}", repository.name),
                            schedule,
                            default_schedule: Some(DEFAULT_MAINTENANCE_SCHEDULE),
                            trigger: spec.trigger.as_ref(),
                            paused: spec.paused,
                            time_zone: spec.time_zone.as_ref(),
                        },
                        &at_schedule,
                        "",
                    )
                }
            };
            let mut entry = self.entry(
                Common {
                    component: Component::Maintenance,
                    name: format!("{}-{}", repository.name, mode.as_str()),
                    namespace: namespace.clone(),
                    identity: owner.clone(),
                    repository: repository.clone(),
                    run,
                    cache: cache.clone(),
                    mover: mover.clone(),
                    jobs: jobs.clone(),
                    has_policy: false,
                    has_launcher: false,
                },
                &at,
            );
            // `<plan>-<repository>-maintenance-quick|full`.
            let plan = &self.input.metadata.name;
            let base = [
                plan.as_str(),
                repository.name.as_str(),
                "maintenance",
                mode.as_str(),
            ];
            entry.names = names::named(&base, plan, &entry.namespace, &entry.run, false, false);
            if let Some(persistent) = entry.cache.persistent.as_mut().filter(|p| !p.existing) {
                persistent.claim_name =
                    names::object_name(&[&base[..], &["cache"]].concat(), names::NAME_LIMIT);
            }
            result.push(Maintenance {
                mode,
                ownership,
                entry,
                owner_span: at_owner.value_span(),
                owner_field: at_owner.field_path(),
                serves: serves.clone(),
            });
        }
        result
    }
}

/// Keeps one maintenance job per repository across every plan of the
/// input: the one of the plan whose name sorts first (so the input order
/// never matters), which then serves the entries of the others too. Two
/// plans that name different owners for the same repository are an error;
/// different schedules get a warning naming both.
pub fn deduplicate(
    maintenance: &mut Vec<Maintenance>,
    plan_names: &[String],
    diagnostics: &mut Diagnostics,
) {
    maintenance.sort_by(|a, b| {
        (
            &plan_names[a.entry.plan.0],
            &a.entry.namespace,
            &a.entry.name,
            &a.entry.origin.file,
            a.entry.origin.line,
        )
            .cmp(&(
                &plan_names[b.entry.plan.0],
                &b.entry.namespace,
                &b.entry.name,
                &b.entry.origin.file,
                b.entry.origin.line,
            ))
    });
    let mut kept: Vec<Maintenance> = Vec::new();
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    for entry in maintenance.drain(..) {
        let key = format!(
            "{} {}",
            repository_key(&entry.entry.namespace, &entry.entry.repository),
            entry.mode.as_str()
        );
        let Some(&index) = by_key.get(&key) else {
            by_key.insert(key, kept.len());
            kept.push(entry);
            continue;
        };
        let first = &mut kept[index];
        if first.entry.identity != entry.entry.identity {
            diagnostics.push(
                Diagnostic::new(&ResolveError::MaintenanceOwnerConflict {
                    repository: entry.entry.repository.name.clone(),
                    first_origin: first.entry.origin.to_string(),
                    first_owner: format!("{}@{}", first.entry.identity.username, first.entry.identity.hostname),
                    second_origin: entry.entry.origin.to_string(),
                    second_owner: format!("{}@{}", entry.entry.identity.username, entry.entry.identity.hostname),
                })
                .at(Some(entry.owner_span))
                .field(entry.owner_field.clone())
                .help(format!(
                    "give both the same `maintenance.owner` (default `{OWNER_USERNAME}@{OWNER_HOSTNAME}`), or `maintenance: {{enabled: false}}` where the repository is maintained by the other plan"
                )),
            );
        }
        // What decides when the job runs: the schedule as written and its
        // time zone, the manual token, or on demand.
        let timing = |m: &Maintenance| match &m.entry.run {
            Run::Scheduled(s) => (s.written.clone(), s.time_zone.clone()),
            Run::Manual { token } => (format!("manual {token}"), None),
            Run::OnDemand => ("onDemand".to_owned(), None),
        };
        if timing(first) != timing(&entry) {
            diagnostics.push(
                Diagnostic::new(&ResolveError::MaintenanceTimingDiffers {
                    repository: entry.entry.repository.name.clone(),
                    first: first.entry.origin.to_string(),
                })
                .at(Some(entry.entry.span))
                .help(format!(
                    "the repository declared at {} asks for another schedule or trigger; give both the same `maintenance.schedule` (or `trigger`), or `enabled: false` on one",
                    entry.entry.origin
                )),
            );
        }
        first.serves.extend(entry.serves);
        first.serves.sort();
        first.serves.dedup();
    }
    *maintenance = kept;
}
