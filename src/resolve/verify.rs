//! Restore drills: `kopia snapshot verify` of one backup's snapshots, on a
//! schedule (weekly by default), in the backup's namespace and repository.

use std::collections::BTreeMap;

use super::entry::Common;
use super::error::ResolveError;
use super::{At, PlanResolver, Timing, checks};
use crate::diagnostics::nearest;
use crate::model::Component;
use crate::model::{Backup, Verify};
use crate::plan::VerifySpec;

/// Drills run weekly unless the entry says otherwise.
use super::defaults::DEFAULT_VERIFY_SCHEDULE;

impl PlanResolver<'_, '_> {
    pub(super) fn verifies(&mut self, backups: &[Backup]) -> Vec<Verify> {
        let at_list = self.root.key("spec").key("verify");
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        let mut verifies = Vec::new();
        for (index, spec) in self.input.spec.verify.iter().enumerate() {
            let at = at_list.index(index);
            let name = spec.name.clone().unwrap_or_else(|| spec.from.clone());
            if let Some(first) = seen.insert(name.clone(), index) {
                let d = at.error(
                    &ResolveError::DuplicateVerify {
                        name: name.clone(),
                        first,
                    },
                    "give each verify entry its own `name`",
                );
                self.report(d);
                continue;
            }
            if let Some(verify) = self.verify(spec, &name, &at, backups) {
                verifies.push(verify);
            }
        }
        verifies
    }

    fn verify(
        &mut self,
        spec: &VerifySpec,
        name: &str,
        at: &At<'_>,
        backups: &[Backup],
    ) -> Option<Verify> {
        let errors_before = self.diagnostics.error_count();
        if let Err(e) = checks::dns_label(name) {
            let d = at
                .key(if spec.name.is_some() { "name" } else { "from" })
                .invalid_name("verify name", name, e, "use a DNS-1123 label");
            self.report(d);
        }
        let backup = backups.iter().find(|b| b.entry.name == spec.from);
        if backup.is_none() && !self.input.spec.backups.iter().any(|b| b.name == spec.from) {
            let names = self.input.spec.backups.iter().map(|b| b.name.as_str());
            let help = match nearest(&spec.from, names) {
                Some(n) => format!("did you mean `{n}`?"),
                None => "name a backup of this plan".into(),
            };
            let d = at.key("from").error(
                &ResolveError::UnknownBackup {
                    name: spec.from.clone(),
                },
                help,
            );
            self.report(d);
        }
        let files_percent = spec.files_percent.unwrap_or(0.0);
        if !(0.0..=100.0).contains(&files_percent) {
            let d = at.key("filesPercent").error(
                &ResolveError::NotAPercentage {
                    value: files_percent.to_string(),
                },
                "use a number from 0 to 100, such as 5",
            );
            self.report(d);
        }
        let namespace = backup
            .map(|b| b.entry.namespace.clone())
            .unwrap_or_default();
        let run = self.run(
            &Timing {
                component: "verify",
                name,
                schedule: spec.schedule.as_ref(),
                default_schedule: Some(DEFAULT_VERIFY_SCHEDULE),
                trigger: spec.trigger.as_ref(),
                paused: spec.paused,
                time_zone: spec.time_zone.as_ref(),
            },
            at,
            &namespace,
        );
        let restore_check = spec
            .restore_check
            .as_ref()
            .map(|check| self.restore_check(check, &at.key("restoreCheck")));
        let cache = self.cache(spec.cache.as_ref(), at);
        let mover = self.mover(spec.mover.as_ref(), at);
        let jobs = self.jobs(spec.jobs.as_ref(), at);
        if self.diagnostics.error_count() > errors_before {
            return None;
        }
        let backup = backup?;
        let entry = self.entry(
            Common {
                component: Component::Verify,
                name: name.to_owned(),
                namespace,
                identity: backup.entry.identity.clone(),
                repository: backup.entry.repository.clone(),
                run,
                cache,
                mover,
                jobs,
                has_policy: false,
                has_launcher: false,
            },
            at,
        );
        Some(Verify {
            entry,
            backup: backup.entry.name.clone(),
            files_percent,
            list_all_hostnames: spec.list_all_hostnames.unwrap_or(false),
            restore_check,
        })
    }
}
