//! ReplicationSource → a plan's backup entry: its trigger, copy method,
//! identity, repository, retention and the policy flags VolSync's docs pass
//! as arguments; and `maintenanceIntervalDays`.

use super::*;

impl Lowering<'_> {
    pub(super) fn source(&mut self, doc: DocId, object: &ReplicationSource) {
        let Some(kopia) = &object.spec.kopia else {
            return;
        };
        let errors_before = self.diagnostics.error_count();
        let here = self.here(doc);
        let namespace = self.namespace(doc, &object.metadata);
        let name = self.entry_name(doc, &object.metadata.name);
        let trigger = self.trigger(doc, "ReplicationSource", object.spec.trigger.as_ref());
        let pvc = match &object.spec.source_pvc {
            Some(pvc) if !pvc.is_empty() => pvc.clone(),
            _ => {
                let d = here.at(&["spec"]).report(
                    LowerError::NoSourcePvc,
                    "set `spec.sourcePVC` to the PersistentVolumeClaim to back up",
                );
                self.diagnostics.push(d);
                String::new()
            }
        };
        let copy_method = match kopia.common.copy_method.as_deref() {
            Some("Direct" | "None") => Some(CopyMethod::Direct),
            Some("Clone") => Some(CopyMethod::Clone),
            Some("Snapshot") => Some(CopyMethod::Snapshot),
            _ => {
                let d = here.at(&["spec", "kopia"]).report(
                    LowerError::SourceCopyMethodUnset,
                    "set `spec.kopia.copyMethod`: `Direct` backs up the live volume, `Snapshot` or `Clone` a point-in-time copy",
                );
                self.diagnostics.push(d);
                None
            }
        };
        if let Some(modes) = &kopia.common.access_modes {
            let d = here.at(&["spec", "kopia", "accessModes"]).report(
                LowerError::AccessModesUnused {
                    modes: modes.clone(),
                },
                "remove `accessModes`",
            );
            self.diagnostics.push(d);
        }
        let username = kopia
            .common
            .username
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| username_for(&object.metadata.name));
        let hostname = kopia
            .common
            .hostname
            .clone()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| hostname_for(&namespace));
        let privileged = self.privileged(&namespace);
        let repository = self.repository(
            doc,
            &namespace,
            &kopia.common,
            kopia.repository_pvc.as_deref(),
            true,
        );
        let interval = kopia.maintenance_interval_days;
        let retain = kopia.retain.as_ref().map(|r| plan::Retain {
            hourly: non_negative(r.hourly),
            daily: non_negative(r.daily),
            weekly: non_negative(r.weekly),
            monthly: non_negative(r.monthly),
            yearly: non_negative(r.yearly),
            latest: non_negative(r.latest),
        });
        let (additional_args, policy) =
            self.policy_flags(doc, kopia.common.additional_args.as_deref());
        let spec = BackupSpec {
            name,
            pvc: Some(pvc),
            stream: None,
            pvc_selector: None,
            stateful_set: None,
            staging_access_modes: None,
            namespace: None,
            repository: repository.clone(),
            schedule: None,
            time_zone: None,
            trigger,
            copy_method,
            volume_snapshot_class_name: kopia.common.volume_snapshot_class_name.clone(),
            capacity: kopia
                .common
                .capacity
                .as_ref()
                .map(types::Quantity::as_string),
            storage_class_name: kopia.common.storage_class_name.clone(),
            workload_selector: None,
            read_only: None,
            parallelism: kopia.parallelism.and_then(|p| u32::try_from(p).ok()),
            source_path: None,
            source_path_override: kopia.source_path_override.clone(),
            actions: kopia.actions.as_ref().and_then(|a| {
                let before = a.before_snapshot.clone().filter(|s| !s.is_empty());
                let after = a.after_snapshot.clone().filter(|s| !s.is_empty());
                (before.is_some() || after.is_some()).then_some(plan::Actions {
                    before_snapshot: before,
                    after_snapshot: after,
                    timeout_seconds: None,
                })
            }),
            // VolSync has no workload hooks: its actions run in the mover.
            hooks: None,
            policy,
            additional_args,
            paused: object.spec.paused,
            retain,
            compression: kopia.compression.clone().filter(|c| !c.is_empty()),
            cache: cache(&kopia.common),
            mover: Some(mover(&kopia.common, privileged)),
            policy_config: policy_config(&kopia.common),
            username: Some(username),
            hostname: Some(hostname),
            jobs: None,
        };
        self.check_common(doc, &kopia.common);
        if self.diagnostics.error_count() > errors_before {
            // Reported; resolving the entry would only repeat it.
            return;
        }
        self.secret_settings(doc, &namespace, kopia.common.repository.as_deref());
        let builder = self.plan(&namespace, doc);
        let index = builder.plan.spec.backups.len();
        builder.plan.spec.backups.push(spec);
        map_entry(
            builder,
            ("backups", index),
            doc,
            &[(&["pvc"], &["spec", "sourcePVC"])],
        );
        if let (Some(days), Some(repository)) = (interval, repository) {
            self.maintenance_interval(doc, &namespace, &repository, days);
        }
    }

    /// `maintenanceIntervalDays` (seed VolSync): the docs promise
    /// maintenance every N days (the code never ran it); kopiaplan runs it.
    fn maintenance_interval(&mut self, doc: DocId, namespace: &str, repository: &str, days: i64) {
        let here = self
            .here(doc)
            .at(&["spec", "kopia", "maintenanceIntervalDays"]);
        let schedule = match days {
            d if d < 1 => {
                let d = here.report(
                    LowerError::MaintenanceIntervalTooShort { days },
                    "set a number of days such as 7, or remove the field",
                );
                self.diagnostics.push(d);
                return;
            }
            1 => "H H * * *".to_owned(),
            7 => "H H * * H".to_owned(),
            d if d <= 27 => format!("H H */{d} * *"),
            _ => {
                let d = here.report(
                    LowerError::MaintenanceMonthly { days },
                    "cron cannot count more than 27 days; use a KopiaMaintenance with a schedule to choose",
                );
                self.diagnostics.push(d);
                "H H H * *".to_owned()
            }
        };
        let builder = self.plan(namespace, doc);
        if let Some((index, spec)) = builder
            .plan
            .spec
            .repositories
            .iter_mut()
            .enumerate()
            .find(|(_, r)| r.name == repository)
        {
            let maintenance = spec
                .maintenance
                .get_or_insert_with(MaintenanceSpec::default);
            if maintenance.schedule.is_none() {
                maintenance.schedule = Some(schedule);
                let mut p = path(&["spec", "repositories"]);
                p.push(PathSegment::Index(index));
                p.push(key("maintenance"));
                builder.map(p, doc, path(&["spec", "kopia", "maintenanceIntervalDays"]));
            }
        }
    }

    /// VolSync's docs pass the policy settings `--one-file-system` and
    /// `--ignore-cache-dirs` as `additionalArgs`, where Kopia 0.23.1's
    /// `snapshot create` rejects them; what they ask for is a policy field,
    /// so that is where they go (with a warning).
    fn policy_flags(
        &mut self,
        doc: DocId,
        args: Option<&[String]>,
    ) -> (Option<Vec<String>>, Option<serde_json::Value>) {
        let Some(args) = args else {
            return (None, None);
        };
        let mut kept = Vec::new();
        let mut files = serde_json::Map::new();
        let mut upload = serde_json::Map::new();
        // `["--tags", "tier:gold"]` is one argument, as Kopia read it.
        for (index, arg) in crate::kopia::args::join_values("snapshot create", args) {
            let mut here = self.here(doc).at(&["spec", "kopia", "additionalArgs"]);
            here.path.push(PathSegment::Index(index));
            let (flag, value) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value)),
                None => (arg.as_str(), None),
            };
            // kopiaplan passes `--parallel` from `parallelism`; Kopia's
            // policy has the same setting (`--parallel` overrides it).
            if flag == "--parallel"
                && let Some(parallel) = value.and_then(|v| v.parse::<u32>().ok()).filter(|p| *p > 0)
            {
                upload.insert("maxParallelFileReads".to_owned(), parallel.into());
                let d = here.report(
                    LowerError::ParallelFlag { value: parallel },
                    format!("write `parallelism: {parallel}` instead (a BackupPlan's `parallelism`, or policy `upload.maxParallelFileReads`) to silence this"),
                );
                self.diagnostics.push(d);
                continue;
            }
            let field = match flag {
                "--one-file-system" => "oneFileSystem",
                "--ignore-cache-dirs" => "ignoreCacheDirs",
                _ => {
                    kept.push(arg.clone());
                    continue;
                }
            };
            let enabled = match value {
                None | Some("true") => true,
                Some("false") => false,
                Some(_) => {
                    kept.push(arg.clone());
                    continue;
                }
            };
            files.insert(field.to_owned(), serde_json::Value::Bool(enabled));
            let d = here.report(
                LowerError::PolicyFlag { flag: flag.to_owned(), field: field.to_owned() },
                format!("write it as policy `files.{field}: {enabled}` (a BackupPlan's `policy`) to silence this"),
            );
            self.diagnostics.push(d);
        }
        let mut policy = serde_json::Map::new();
        if !files.is_empty() {
            policy.insert("files".to_owned(), files.into());
        }
        if !upload.is_empty() {
            policy.insert("upload".to_owned(), upload.into());
        }
        let policy = (!policy.is_empty()).then_some(serde_json::Value::Object(policy));
        (Some(kept).filter(|k| !k.is_empty()), policy)
    }
}
