//! Replicas: off-site copies of a repository, each a CronJob beside the
//! repository's maintenance (its namespace, owner identity, mover, cache
//! and job settings), named `<plan>-<repository>-replica-<name>`.

use std::collections::BTreeMap;

use super::error::ResolveError;
use super::{PlanResolver, Timing, checks};
use crate::model::{
    Component, Maintenance, MaintenanceMode, Replica, Repository, Run, Schedule, names,
};
use crate::plan::RepositorySpec;

/// How long after full maintenance a replica runs by default: the copy
/// then holds the compacted repository, and the two rarely overlap.
const HOURS_AFTER_MAINTENANCE: u32 = 2;

impl PlanResolver<'_, '_> {
    /// The replicas of every repository of the plan. Each runs beside the
    /// repository's full maintenance; a repository with replicas but no
    /// maintenance in this plan is an error.
    pub(super) fn replicas(
        &mut self,
        maintenance: &[Maintenance],
        repositories: &BTreeMap<String, Repository>,
    ) -> Vec<Replica> {
        let mut result = Vec::new();
        let input = self.input;
        for (index, spec) in input.spec.repositories.iter().enumerate() {
            if spec.replicas.is_empty() || !repositories.contains_key(&spec.name) {
                continue;
            }
            let at = self.root.key("spec").key("repositories").index(index);
            let Some(full) = maintenance
                .iter()
                .find(|m| m.mode == MaintenanceMode::Full && m.entry.repository.name == spec.name)
            else {
                let d = at.key("replicas").error(
                    &ResolveError::ReplicaWithoutMaintenance {
                        repository: spec.name.clone(),
                    },
                    "replicas run beside the repository's full maintenance: let a backup of the plan write to it, or write its `maintenance` block (with full maintenance enabled)",
                );
                self.report(d);
                continue;
            };
            let mut seen: Vec<&str> = Vec::new();
            for (replica_index, replica) in spec.replicas.iter().enumerate() {
                let at_replica = at.key("replicas").index(replica_index);
                if let Some(first) = seen.iter().position(|n| *n == replica.name) {
                    let d = at_replica.key("name").error(
                        &ResolveError::DuplicateEntry {
                            kind: "replica".into(),
                            name: replica.name.clone(),
                            list: format!("spec.repositories[{index}].replicas"),
                            first,
                        },
                        "give each replica of a repository its own name",
                    );
                    self.report(d);
                    continue;
                }
                seen.push(&replica.name);
                if let Err(e) = checks::dns_label(&replica.name) {
                    let d = at_replica.key("name").invalid_name(
                        "replica name",
                        &replica.name,
                        e,
                        "use a DNS-1123 label, such as `offsite`",
                    );
                    self.report(d);
                    continue;
                }
                // The destination is checked as a repository is.
                let destination = RepositorySpec {
                    name: replica.name.clone(),
                    secret_name: replica.secret_name.clone(),
                    url: replica.url.clone(),
                    filesystem: replica.filesystem.clone(),
                    custom_ca: None,
                    create: None,
                    layout: None,
                    credentials: None,
                    maintenance: None,
                    creation: None,
                    throttle: None,
                    replicas: Vec::new(),
                    password_change: None,
                };
                let Some(destination) = self.repository(&destination, &at_replica) else {
                    continue;
                };
                let default_schedule = after_maintenance(&full.entry.run);
                let time_zone = match &full.entry.run {
                    Run::Scheduled(s) => s.time_zone.clone(),
                    _ => None,
                };
                let copy = self.run(
                    &Timing {
                        component: "replica",
                        name: &format!("{}/{}", spec.name, replica.name),
                        schedule: replica.schedule.as_ref(),
                        default_schedule: Some(&default_schedule),
                        trigger: None,
                        paused: None,
                        time_zone: time_zone.as_ref(),
                    },
                    &at_replica,
                    "",
                );
                let mut runs = vec![(copy, false)];
                // The seed: a manual Job per token, the copy reversed.
                if let Some(seed) = &replica.seed {
                    let trigger = crate::plan::Trigger {
                        manual: Some(seed.token.clone()),
                        ..crate::plan::Trigger::default()
                    };
                    let run = self.run(
                        &Timing {
                            component: "replica",
                            name: &format!("{}/{}/seed", spec.name, replica.name),
                            schedule: None,
                            default_schedule: None,
                            trigger: Some(&trigger),
                            paused: None,
                            time_zone: None,
                        },
                        &at_replica.key("seed"),
                        "",
                    );
                    runs.push((run, true));
                }
                for (run, seed) in runs {
                    let mut entry = full.entry.clone();
                    entry.component = Component::Replica;
                    entry.name = format!("{}-{}", spec.name, replica.name);
                    if seed {
                        entry.name.push_str("-seed");
                    }
                    entry.origin = at_replica.origin();
                    entry.span = at_replica.value_span();
                    entry.run = run;
                    let plan = &input.metadata.name;
                    let mut base = vec![
                        plan.as_str(),
                        spec.name.as_str(),
                        "replica",
                        replica.name.as_str(),
                    ];
                    if seed {
                        base.push("seed");
                    }
                    entry.names =
                        names::named(&base, plan, &entry.namespace, &entry.run, false, false);
                    if let Some(persistent) =
                        entry.cache.persistent.as_mut().filter(|p| !p.existing)
                    {
                        persistent.claim_name = names::object_name(
                            &[&base[..], &["cache"]].concat(),
                            names::NAME_LIMIT,
                        );
                    }
                    result.push(Replica {
                        entry,
                        replica: replica.name.clone(),
                        mode: replica.mode.unwrap_or_default(),
                        delete_extra: replica.delete_extra.unwrap_or(false),
                        secret_name: replica.secret_name.clone(),
                        destination: destination.location.clone(),
                        seed,
                    });
                }
            }
        }
        result
    }
}

/// The default schedule of a replica: the full maintenance's, some hours
/// later, when its hour is one number; else a stable time of its own.
fn after_maintenance(run: &Run) -> String {
    if let Run::Scheduled(Schedule { cron, .. }) = run {
        let fields: Vec<&str> = cron.split_whitespace().collect();
        if let [minute, hour, day_of_month, month, day_of_week] = fields.as_slice()
            && let Ok(hour) = hour.parse::<u32>()
        {
            let later = hour + HOURS_AFTER_MAINTENANCE;
            // Past midnight the copy runs the next day: the days of the
            // week move with it. Days of the month cannot move safely
            // (the 31st has no next day in every month), so such a
            // schedule gets the generic default.
            let day_of_week = if later < 24 {
                Some((*day_of_week).to_owned())
            } else if *day_of_month == "*" {
                next_days_of_week(day_of_week)
            } else {
                None
            };
            if let Some(day_of_week) = day_of_week {
                return format!(
                    "{minute} {} {day_of_month} {month} {day_of_week}",
                    later % 24
                );
            }
        }
    }
    "H H * * *".to_owned()
}

/// `*` or a list of single days of the week, each moved to the next day;
/// anything else (ranges, steps, names) is None.
fn next_days_of_week(field: &str) -> Option<String> {
    if field == "*" {
        return Some(field.to_owned());
    }
    field
        .split(',')
        .map(|day| {
            day.parse::<u32>()
                .ok()
                .filter(|d| *d <= 7)
                .map(|d| ((d + 1) % 7).to_string())
        })
        .collect::<Option<Vec<_>>>()
        .map(|days| days.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replicas_run_two_hours_after_daily_maintenance() {
        let run = |cron: &str| {
            Run::Scheduled(Schedule {
                written: cron.into(),
                cron: cron.into(),
                time_zone: None,
                suspended: false,
            })
        };
        assert_eq!(after_maintenance(&run("17 3 * * *")), "17 5 * * *");
        assert_eq!(after_maintenance(&run("17 23 * * *")), "17 1 * * *");
        // A weekly maintenance late on Sunday: the copy follows on Monday.
        assert_eq!(after_maintenance(&run("17 23 * * 0")), "17 1 * * 1");
        assert_eq!(after_maintenance(&run("17 22 * * 6,7")), "17 0 * * 0,1");
        assert_eq!(after_maintenance(&run("17 10 * * 1-5")), "17 12 * * 1-5");
        assert_eq!(after_maintenance(&run("17 23 * * 1-5")), "H H * * *");
        assert_eq!(after_maintenance(&run("17 23 1 * *")), "H H * * *");
        assert_eq!(after_maintenance(&run("17 */4 * * *")), "H H * * *");
        assert_eq!(after_maintenance(&Run::OnDemand), "H H * * *");
    }
}
