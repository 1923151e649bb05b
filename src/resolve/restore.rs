//! Restores: the source identity, repository and path resolved at compile
//! time (from a backup of the plan, a VolSync-style `sourceIdentity`, or an
//! explicit `username` + `hostname`), the destination PVC, the trigger and
//! the snapshot selection.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};

use super::entry::Common;
use super::error::ResolveError;
use super::{At, PlanResolver, Timing, checks, identity};
use crate::diagnostics::nearest;
use crate::model::Component;
use crate::model::{
    self, AsOf, Backup, CreatedPvc, Destination, Identity, Repository, Restore, RestoreTarget, Run,
    Selection, SnapshotAfter,
};
use crate::plan::{OnMissingSnapshot, RestoreCopyMethod, RestoreSpec};

impl PlanResolver<'_, '_> {
    pub(super) fn restores(
        &mut self,
        repositories: &BTreeMap<String, Repository>,
        backups: &[Backup],
    ) -> Vec<Restore> {
        let at_list = self.root.key("spec").key("restores");
        let input = self.input;
        let unique = self.unique_names(
            "restore",
            "restores",
            input.spec.restores.iter().map(|r| r.name.as_str()),
        );
        let mut restores = Vec::new();
        for (index, spec) in input.spec.restores.iter().enumerate() {
            let at = at_list.index(index);
            if !unique[index] {
                continue;
            }
            if let Some(restore) = self.restore(spec, &at, repositories, backups) {
                restores.push(restore);
            }
        }
        restores
    }

    fn restore(
        &mut self,
        spec: &RestoreSpec,
        at: &At<'_>,
        repositories: &BTreeMap<String, Repository>,
        backups: &[Backup],
    ) -> Option<Restore> {
        let errors_before = self.diagnostics.error_count();
        if let Err(e) = checks::dns_label(&spec.name) {
            let d = at.key("name").invalid_name(
                "restore name",
                &spec.name,
                e,
                "use a DNS-1123 label such as `web-restore`",
            );
            self.report(d);
        }
        let namespace = self.namespace("restore", &spec.name, spec.namespace.as_ref(), at);
        let (identity, repository) =
            self.restore_source(spec, at, &namespace, repositories, backups);
        if let Some(repository) = &repository {
            self.check_repository_secret(repository, &namespace, at);
        }
        let destination = match self.stream_target(spec, at, backups) {
            Some(stream) => Some(RestoreTarget::Stream(stream)),
            None => self.destination(spec, at).map(RestoreTarget::Volume),
        };

        if spec.trigger.is_none() {
            let d = at.error(
                &ResolveError::NoTrigger {
                    name: spec.name.clone(),
                },
                "add `trigger: {manual: \"<token>\"}` to run it once, `trigger: {schedule: \"…\"}` \
                 for a warm standby, or `trigger: {onDemand: true}` for a suspended CronJob to \
                 start with `kubectl create job --from=cronjob/…`",
            );
            self.report(d);
        }
        let run = self.run(
            &Timing {
                component: "restore",
                name: &spec.name,
                schedule: None,
                default_schedule: None,
                trigger: spec.trigger.as_ref(),
                paused: spec.paused,
                time_zone: spec.time_zone.as_ref(),
            },
            at,
            &namespace,
        );
        if spec.paused.is_some() && !matches!(run, Run::Scheduled(_)) {
            let d = at
                .key("paused")
                .error(&ResolveError::PausedWithoutSchedule, "remove `paused`");
            self.report(d);
        }

        let selection = Selection {
            previous: spec.previous.unwrap_or(0),
            as_of: spec
                .restore_as_of
                .as_ref()
                .and_then(|written| match DateTime::parse_from_rfc3339(written) {
                    Ok(instant) => {
                        let utc = instant.with_timezone(&Utc);
                        Some(AsOf {
                            written: written.clone(),
                            utc: utc.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                            epoch_nanos: utc.timestamp_nanos_opt().unwrap_or(i64::MAX),
                        })
                    }
                    Err(e) => {
                        let d = at.key("restoreAsOf").error(
                            &ResolveError::InvalidInstant {
                                written: written.clone(),
                                reason: e.to_string(),
                            },
                            "write a date, a time and an offset, such as `2026-11-20T00:00:00+01:00` or `2026-11-20T00:00:00Z`",
                        );
                        self.report(d);
                        None
                    }
                }),
        };

        let additional_args = self.additional_args(
            "restore",
            spec.additional_args.as_ref(),
            at,
            "keep the ones Kopia's restore needs",
        );
        let snapshot_after =
            (spec.copy_method == Some(RestoreCopyMethod::Snapshot)).then(|| SnapshotAfter {
                volume_snapshot_class_name: spec
                    .volume_snapshot_class_name
                    .clone()
                    .or_else(|| self.input.spec.defaults.volume_snapshot_class_name.clone()),
            });
        if spec.volume_snapshot_class_name.is_some() && snapshot_after.is_none() {
            let d = at.key("volumeSnapshotClassName").error(
                &ResolveError::SnapshotClassWithoutSnapshot,
                "set `copyMethod: Snapshot`, or remove `volumeSnapshotClassName`",
            );
            self.report(d);
        }

        // Repository settings only: a restore never imports a global policy
        // (VolSync's does, changing the policy of every source in the
        // repository whenever something is restored).
        let policy_files = self.policy_files(
            spec.policy_config.as_ref(),
            at,
            &namespace,
            super::policy_config::Usage::Restore,
        );
        let cache = self.cache(spec.cache.as_ref(), at);
        let mover = self.mover(spec.mover.as_ref(), at);
        let jobs = self.jobs(spec.jobs.as_ref(), at);
        if self.diagnostics.error_count() > errors_before {
            return None;
        }
        let entry = self.entry(
            Common {
                component: Component::Restore,
                name: spec.name.clone(),
                namespace,
                identity: identity?,
                repository: repository?,
                run,
                cache,
                mover,
                jobs,
                has_policy: false,
                has_launcher: snapshot_after.is_some(),
            },
            at,
        );
        Some(Restore {
            entry,
            destination: destination?,
            selection,
            delete_extra: spec.enable_file_deletion.unwrap_or(false),
            on_missing_snapshot: spec.on_missing_snapshot.unwrap_or(OnMissingSnapshot::Fail),
            only_if_empty: spec.only_if_empty.unwrap_or(false),
            argo_cd_sync_wave: spec.argo_cd_sync_wave,
            list_all_hostnames: spec.list_all_hostnames.unwrap_or(false),
            snapshot_after,
            additional_args,
            policy_files,
        })
    }

    /// The Kopia source to restore and the repository holding it.
    fn restore_source(
        &mut self,
        spec: &RestoreSpec,
        at: &At<'_>,
        namespace: &str,
        repositories: &BTreeMap<String, Repository>,
        backups: &[Backup],
    ) -> (Option<Identity>, Option<Repository>) {
        let explicit = spec.username.is_some() || spec.hostname.is_some();
        let given = [
            spec.from.is_some(),
            spec.source_identity.is_some(),
            explicit,
        ];
        if given.iter().filter(|g| **g).count() > 1 {
            let d = at.error(
                &ResolveError::SourceNamedTwice {
                    name: spec.name.clone(),
                },
                "keep one of `from`, `sourceIdentity` and `username` + `hostname`",
            );
            self.report(d);
            return (None, None);
        }
        if let Some(from) = &spec.from {
            if spec.repository.is_some() {
                let d = at
                    .key("repository")
                    .error(&ResolveError::RepositoryWithFrom, "remove `repository`");
                self.report(d);
            }
            if spec.source_path_override.is_some() {
                let d = at.key("sourcePathOverride").error(
                    &ResolveError::SourcePathWithFrom,
                    "remove `sourcePathOverride`",
                );
                self.report(d);
            }
            return match backups.iter().find(|b| &b.entry.name == from) {
                Some(backup) => (
                    Some(backup.entry.identity.clone()),
                    Some(backup.entry.repository.clone()),
                ),
                None => {
                    // A backup that failed its own checks is already reported.
                    if !self.input.spec.backups.iter().any(|b| &b.name == from) {
                        let names = self.input.spec.backups.iter().map(|b| b.name.as_str());
                        let help = match nearest(from, names) {
                            Some(name) => format!("did you mean `{name}`?"),
                            None if self.input.spec.backups.is_empty() => {
                                "this plan has no backups; use `sourceIdentity` or `username` + `hostname` to restore a source written elsewhere".into()
                            }
                            None => format!(
                                "this plan's backups: {}",
                                self.input
                                    .spec
                                    .backups
                                    .iter()
                                    .map(|b| b.name.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        };
                        let d = at
                            .key("from")
                            .error(&ResolveError::UnknownBackup { name: from.clone() }, help);
                        self.report(d);
                    }
                    (None, None)
                }
            };
        }
        let repository = self.repository_for(
            "restore",
            &spec.name,
            spec.repository.as_ref(),
            at,
            repositories,
        );
        if let Some(source) = &spec.source_identity {
            let at_source = at.key("sourceIdentity");
            if spec.source_path_override.is_some() {
                let d = at.key("sourcePathOverride").error(
                    &ResolveError::SourcePathBesideSourceIdentity,
                    "move it there",
                );
                self.report(d);
            }
            let path = self.source_path(
                source.source_path_override.as_ref(),
                &at_source.key("sourcePathOverride"),
            );
            let source_namespace = source
                .source_namespace
                .clone()
                .unwrap_or_else(|| namespace.to_owned());
            return (
                Some(Identity {
                    username: identity::username_for(&source.source_name),
                    hostname: identity::hostname_for(&source_namespace),
                    path,
                }),
                repository,
            );
        }
        match (&spec.username, &spec.hostname) {
            (Some(username), Some(hostname)) => {
                for (field, value) in [("username", username), ("hostname", hostname)] {
                    if !identity::is_valid_explicit(value) {
                        let d = at.key(field).error(
                            &ResolveError::InvalidIdentityPart {
                                field: field.to_owned(),
                                value: value.clone(),
                            },
                            "use letters, digits, `.`, `_` and `-`, starting with a letter or digit",
                        );
                        self.report(d);
                    }
                }
                let path = self.source_path(
                    spec.source_path_override.as_ref(),
                    &at.key("sourcePathOverride"),
                );
                (
                    Some(Identity {
                        username: username.clone(),
                        hostname: hostname.clone(),
                        path,
                    }),
                    repository,
                )
            }
            (Some(_), None) | (None, Some(_)) => {
                let (set, missing) = if spec.username.is_some() {
                    ("username", "hostname")
                } else {
                    ("hostname", "username")
                };
                let d = at.key(set).error(
                    &ResolveError::HalfIdentity {
                        set: set.to_owned(),
                        missing: missing.to_owned(),
                    },
                    format!("add `{missing}` as well: a source is `username@hostname:path`"),
                );
                self.report(d);
                (None, repository)
            }
            (None, None) => {
                let d = at.error(
                    &ResolveError::NoRestoreSource {
                        name: spec.name.clone(),
                    },
                    "add `from: <backup name>`, `sourceIdentity: {sourceName: …}` or `username` + `hostname`",
                );
                self.report(d);
                (None, repository)
            }
        }
    }

    /// A source path override, checked; `/data` when unset.
    fn source_path(&mut self, written: Option<&String>, at: &At<'_>) -> String {
        let path = written
            .cloned()
            .unwrap_or_else(|| model::paths::DATA.to_owned());
        if let Err(e) = checks::absolute_path(&path) {
            let d = at.error(
                &ResolveError::InvalidPath {
                    what: "".to_owned(),
                    value: path.to_string(),
                    problem: e.to_string(),
                },
                "write the path Kopia recorded, such as `/var/lib/web`",
            );
            self.report(d);
        }
        path
    }

    fn destination(&mut self, spec: &RestoreSpec, at: &At<'_>) -> Option<Destination> {
        let claim_name = match (&spec.pvc, &spec.create) {
            (Some(pvc), _) => pvc.clone(),
            (None, Some(_)) => spec.name.clone(),
            (None, None) => {
                let d = at.error(
                    &ResolveError::NoDestination {
                        name: spec.name.clone(),
                    },
                    "name an existing PVC with `pvc`, or add `create: {capacity: …}` to create one",
                );
                self.report(d);
                return None;
            }
        };
        if let Err(e) = checks::dns_subdomain(&claim_name) {
            let d = at.key("pvc").invalid_name(
                "PVC name",
                &claim_name,
                e,
                "use the name of a PersistentVolumeClaim",
            );
            self.report(d);
        }
        let create = spec.create.as_ref().map(|create| {
            let at_create = at.key("create");
            if let Err(e) = checks::quantity_bytes(&create.capacity) {
                let d = at_create.key("capacity").error(
                    &ResolveError::InvalidQuantity {
                        what: "capacity".to_owned(),
                        value: create.capacity.clone(),
                        problem: e.to_string(),
                    },
                    "write a size such as `10Gi`",
                );
                self.report(d);
            }
            let access_modes = create
                .access_modes
                .clone()
                .unwrap_or_else(|| vec!["ReadWriteOnce".into()]);
            const MODES: [&str; 4] = [
                "ReadWriteOnce",
                "ReadOnlyMany",
                "ReadWriteMany",
                "ReadWriteOncePod",
            ];
            for (index, mode) in access_modes.iter().enumerate() {
                if !MODES.contains(&mode.as_str()) {
                    let help = match nearest(mode, MODES.iter().copied()) {
                        Some(m) => format!("did you mean `{m}`?"),
                        None => format!("use one of {}", MODES.join(", ")),
                    };
                    let d = at_create
                        .key("accessModes")
                        .index(index)
                        .error(&ResolveError::NotAnAccessMode { mode: mode.clone() }, help);
                    self.report(d);
                }
            }
            CreatedPvc {
                capacity: create.capacity.clone(),
                access_modes,
                storage_class_name: create.storage_class_name.clone(),
            }
        });
        Some(Destination { claim_name, create })
    }
}
