//! Backups: identity, copy method, actions, policy and extra arguments.

use std::collections::BTreeMap;

use super::defaults;
use super::entry::Common;
use super::error::ResolveError;
use super::{At, PlanResolver, Timing, checks, identity, policy, policy_config};
use crate::model::Component;
use crate::model::{self, Actions, Backup, Copy, Identity, Repository, RepositoryLocation, Source};
use crate::parse::ContextContent;
use crate::plan::{BackupSpec, CopyMethod};

impl PlanResolver<'_, '_> {
    pub(super) fn backups(&mut self, repositories: &BTreeMap<String, Repository>) -> Vec<Backup> {
        let at_list = self.root.key("spec").key("backups");
        let input = self.input;
        let unique = self.unique_names(
            "backup",
            "backups",
            input.spec.backups.iter().map(|b| b.name.as_str()),
        );
        let mut backups = Vec::new();
        for expanded in self.expand_backups(&unique) {
            let at = at_list.index(expanded.index);
            let (spec, inferred) = self.infer(expanded.spec);
            if let Some(mut backup) = self.backup(&spec, &at, repositories) {
                backup.expansion = expanded.selection;
                backup.inferred = inferred;
                backups.push(backup);
            }
        }
        backups
    }

    pub(super) fn backup(
        &mut self,
        spec: &BackupSpec,
        at: &At<'_>,
        repositories: &BTreeMap<String, Repository>,
    ) -> Option<Backup> {
        let errors_before = self.diagnostics.error_count();
        let inherited = &self.input.spec.defaults;
        let at_defaults = self.root.key("spec").key("defaults");
        if let Err(e) = checks::dns_label(&spec.name) {
            let d = at.key("name").invalid_name(
                "backup name",
                &spec.name,
                e,
                "use a DNS-1123 label such as `web-data`",
            );
            self.report(d);
        }
        let namespace = self.namespace("backup", &spec.name, spec.namespace.as_ref(), at);
        let repository = self.repository_for(
            "backup",
            &spec.name,
            spec.repository.as_ref(),
            at,
            repositories,
        );
        if let Some(repository) = &repository {
            self.check_repository_secret(repository, &namespace, at);
        }

        let source = self.backup_source(spec, at, &namespace);

        // Identity. A stream's path names its file, so that a volume
        // backup and a stream backup of one name are two sources.
        let path = spec
            .source_path_override
            .clone()
            .unwrap_or_else(|| match &source {
                Some(Source::Stream(stream)) => {
                    format!("{}/{}", defaults::STREAM_SOURCE_PATH, stream.file_name)
                }
                _ => defaults::SOURCE_PATH.to_owned(),
            });
        if let Err(e) = checks::absolute_path(&path) {
            let d = at.key("sourcePathOverride").error(
                &ResolveError::InvalidPath {
                    what: "".to_owned(),
                    value: path.to_string(),
                    problem: e.to_string(),
                },
                "write the path Kopia should record, such as `/var/lib/web`",
            );
            self.report(d);
        }
        for (field, value) in [("username", &spec.username), ("hostname", &spec.hostname)] {
            if let Some(value) = value
                && !identity::is_valid_explicit(value)
            {
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
        let identity = Identity {
            username: spec
                .username
                .clone()
                .unwrap_or_else(|| identity::username_for(&spec.name)),
            hostname: spec
                .hostname
                .clone()
                .unwrap_or_else(|| identity::hostname_in(&namespace, self.cluster())),
            path,
        };

        let run = self.run(
            &Timing {
                component: "backup",
                name: &spec.name,
                schedule: spec.schedule.as_ref(),
                default_schedule: None,
                trigger: spec.trigger.as_ref(),
                paused: spec.paused,
                time_zone: spec.time_zone.as_ref(),
            },
            at,
            &namespace,
        );
        let copy = source
            .as_ref()
            .and_then(Source::volume)
            .map(|v| v.copy.clone());
        let cache = self.cache(spec.cache.as_ref(), at);
        let mover = self.mover(spec.mover.as_ref(), at);
        let jobs = self.jobs(spec.jobs.as_ref(), at);
        let actions = self.actions(spec, at);
        let hooks = self.hooks(spec.hooks.as_ref(), at);
        let policy = policy::resolve(inherited, spec, &at_defaults, at, self.diagnostics);
        let policy_sources = policy::sources(inherited, spec, &policy);
        let policy_files = self.policy_files(
            spec.policy_config.as_ref(),
            at,
            &namespace,
            policy_config::Usage::Backup,
        );

        // Without root or an fsGroup, the mover (uid 65532) may not be able
        // to write to volumes whose files someone else owns.
        let without_group = !mover.privileged
            && mover
                .security_context
                .as_ref()
                .and_then(|c| c.fs_group)
                .is_none();
        if matches!(copy, Some(Copy::Clone { .. })) && cache.persistent.is_some() && without_group {
            self.report(at.error(
                &ResolveError::CacheMayNotBeWritable {
                    name: spec.name.clone(),
                },
                "set `mover.securityContext.fsGroup` to the group that owns the volume's files \
                     (kopiaplan does not choose one for a clone: the kubelet would re-own the \
                     cloned files)",
            ));
        }

        if matches!(copy, Some(Copy::Clone { .. } | Copy::Snapshot { .. }))
            && matches!(
                repository.as_ref().map(|r| &r.location),
                Some(RepositoryLocation::Claim { .. })
            )
            && without_group
        {
            self.report(at.error(
                &ResolveError::RepositoryClaimMayNotBeWritable {
                    name: spec.name.clone(),
                },
                "make the volume writable by uid/gid 65532 (an NFS export, say), or set \
                     `mover.securityContext.fsGroup` to the group that owns the volume's files \
                     (kopiaplan does not choose one for a clone or snapshot copy: the kubelet \
                     would re-own the copied files)",
            ));
        }

        self.check_policy_actions(spec, policy_files.as_ref(), at, &at_defaults);

        let parallelism = spec.parallelism.or(inherited.parallelism);
        if parallelism == Some(0) {
            let at_p = if spec.parallelism.is_some() {
                at.key("parallelism")
            } else {
                at_defaults.key("parallelism")
            };
            let d = at_p.error(
                &ResolveError::ParallelismBelowOne,
                "remove it to let Kopia decide, or use 1 or more",
            );
            self.report(d);
        }
        let additional_args = self.additional_args(
            "snapshot create",
            spec.additional_args.as_ref(),
            at,
            "express the settings as `policy` fields instead",
        );

        if self.diagnostics.error_count() > errors_before {
            return None;
        }
        let source = source?;
        let entry = self.entry(
            Common {
                component: Component::Backup,
                name: spec.name.clone(),
                namespace,
                identity,
                repository: repository?,
                run,
                cache,
                mover,
                jobs,
                has_policy: true,
                // Workload hooks run in the launcher, whatever the copy
                // (a stream backup refuses them).
                has_launcher: matches!(copy, Some(Copy::Snapshot { .. })) || hooks.is_some(),
            },
            at,
        );
        Some(Backup {
            entry,
            source,
            parallelism,
            actions,
            hooks,
            policy,
            policy_sources,
            additional_args,
            policy_files,
            expansion: None,
            inferred: Vec::new(),
        })
    }

    pub(super) fn copy(
        &mut self,
        spec: &BackupSpec,
        pvc: &str,
        at: &At<'_>,
        namespace: &str,
    ) -> Copy {
        let inherited = &self.input.spec.defaults;
        let method = spec
            .copy_method
            .or(inherited.copy_method)
            .unwrap_or(CopyMethod::Clone);
        if spec.workload_selector.is_some() && method != CopyMethod::Direct {
            let d = at.key("workloadSelector").error(
                &ResolveError::WorkloadSelectorWithoutDirect,
                "set `copyMethod: Direct`, or remove `workloadSelector`",
            );
            self.report(d);
        }
        match method {
            CopyMethod::Direct => {
                self.check_direct_access(spec, at, namespace);
                let selector = spec.workload_selector.clone().unwrap_or_default();
                self.check_labels(&selector, &at.key("workloadSelector"));
                Copy::Direct {
                    workload_selector: selector,
                }
            }
            CopyMethod::Clone | CopyMethod::Snapshot => {
                let source = self.context.get("PersistentVolumeClaim", namespace, pvc);
                // What VolSync read from the source PVC: its size, class and
                // access modes (the input's or the cluster context's).
                let (source_size, source_class, access_modes) = match source.map(|pvc| &pvc.content)
                {
                    Some(ContextContent::PersistentVolumeClaim {
                        size,
                        storage_class_name,
                        access_modes,
                        ..
                    }) => (
                        size.clone(),
                        storage_class_name.clone(),
                        access_modes.clone(),
                    ),
                    _ => (None, None, Vec::new()),
                };
                let what = match method {
                    CopyMethod::Snapshot => "the volume restored from the snapshot of",
                    _ => "the clone of",
                };
                let capacity = match spec.capacity.clone().or(source_size) {
                    Some(capacity) => {
                        if let Err(e) = checks::quantity_bytes(&capacity) {
                            let d = at.key("capacity").error(
                                &ResolveError::InvalidQuantity {
                                    what: "capacity".to_owned(),
                                    value: capacity.to_string(),
                                    problem: e.to_string(),
                                },
                                "write a size such as `10Gi`",
                            );
                            self.report(d);
                        }
                        capacity
                    }
                    None => {
                        let d = at.error(
                            &ResolveError::UnknownPvcSize {
                                what: what.to_owned(),
                                pvc: pvc.to_owned(),
                            },
                            "set `capacity` to the PVC's size (for example `capacity: 10Gi`), or add the PVC to the input (or to `--context`: `kubectl get pvc -A -o yaml > cluster.yaml`)",
                        );
                        self.report(d);
                        String::new()
                    }
                };
                let storage_class_name = spec.storage_class_name.clone().or(source_class);
                let access_modes = self.staging_access_modes(spec, access_modes);
                if method == CopyMethod::Snapshot {
                    Copy::Snapshot {
                        capacity,
                        storage_class_name,
                        volume_snapshot_class_name: spec
                            .volume_snapshot_class_name
                            .clone()
                            .or_else(|| inherited.volume_snapshot_class_name.clone()),
                        access_modes,
                    }
                } else {
                    Copy::Clone {
                        capacity,
                        storage_class_name,
                        access_modes,
                    }
                }
            }
        }
    }

    /// Extra arguments for `kopia <command>`: checked against that command's
    /// grammar, at most 20.
    pub(super) fn additional_args(
        &mut self,
        command: &str,
        written: Option<&Vec<String>>,
        at: &At<'_>,
        too_many_help: &str,
    ) -> Vec<String> {
        let written = written.cloned().unwrap_or_default();
        // `["--tags", "tier:gold"]` is one argument, `--tags=tier:gold`.
        let joined = crate::kopia::args::join_values(command, &written);
        let additional_args: Vec<String> = joined.iter().map(|(_, a)| a.clone()).collect();
        for problem in crate::kopia::args::check(command, &additional_args) {
            let index = joined.get(problem.index).map_or(problem.index, |(i, _)| *i);
            let d = at.key("additionalArgs").index(index).error(
                &ResolveError::InvalidAdditionalArgument {
                    message: problem.message,
                },
                problem.help,
            );
            self.report(d);
        }
        if written.len() > 20 {
            let d = at.key("additionalArgs").error(
                &ResolveError::TooManyArguments {
                    count: written.len(),
                },
                too_many_help,
            );
            self.report(d);
        }
        additional_args
    }

    /// Kopia's policy `actions` run commands in the mover, and Kopia runs
    /// them only when the repository was connected with `--enable-actions`:
    /// the repository settings' `enableActions: true`. Written while actions
    /// are disabled they would do nothing, or run behind the plan's back if
    /// something enabled them: refused. (Kopia gives every action a timeout,
    /// 3 minutes unless the policy says otherwise.)
    pub(super) fn check_policy_actions(
        &mut self,
        spec: &BackupSpec,
        policy_files: Option<&model::PolicyFiles>,
        at: &At<'_>,
        at_defaults: &At<'_>,
    ) {
        let enabled = match policy_files {
            Some(files) => match files.settings.enable_actions {
                Some(enabled) => enabled,
                // A repository settings file may enable them at run time.
                None => files.source.is_some(),
            },
            None => false,
        };
        if enabled {
            return;
        }
        let inherited = &self.input.spec.defaults;
        for (policy, at_policy) in [
            (&inherited.policy, at_defaults.key("policy")),
            (&spec.policy, at.key("policy")),
        ] {
            let written = policy
                .as_ref()
                .and_then(|p| p.get("actions"))
                .is_some_and(|a| a.as_object().is_none_or(|o| !o.is_empty()));
            if written {
                let d = at_policy.key("actions").key_error(
                    &ResolveError::ActionsNotEnabled {
                        name: spec.name.clone(),
                    },
                    "to run commands around the snapshot, use the entry's `actions` \
                     (beforeSnapshot, afterSnapshot, timeoutSeconds); to run Kopia's policy \
                     actions, enable them with \
                     `policyConfig.repositoryConfig: '{\"enableActions\": true}'`",
                );
                self.report(d);
            }
        }
    }

    pub(super) fn actions(&mut self, spec: &BackupSpec, at: &At<'_>) -> Actions {
        let Some(actions) = &spec.actions else {
            return Actions {
                timeout_seconds: defaults::ACTION_TIMEOUT_SECONDS,
                ..Actions::default()
            };
        };
        let timeout_seconds = actions
            .timeout_seconds
            .unwrap_or(defaults::ACTION_TIMEOUT_SECONDS);
        if timeout_seconds == 0 {
            let d = at.key("actions").key("timeoutSeconds").error(
                &ResolveError::ActionTimeoutZero,
                "use 1 or more (default 300)",
            );
            self.report(d);
        }
        Actions {
            before_snapshot: actions
                .before_snapshot
                .clone()
                .filter(|s| !s.trim().is_empty()),
            after_snapshot: actions
                .after_snapshot
                .clone()
                .filter(|s| !s.trim().is_empty()),
            timeout_seconds,
        }
    }
}
