//! A backup's source (a volume or a stream), a stream restore's target and
//! a restore drill's check: the containers of the user's that run beside
//! Kopia in the mover pod, checked.

use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar, ResourceRequirements};

use super::error::ResolveError;
use super::{At, PlanResolver, checks};
use crate::model::{
    Backup, RestoreCheck, Source, StreamSource, StreamTarget, UserContainer, VolumeSource,
};
use crate::plan::{BackupSpec, RestoreCheckSpec, RestoreSpec, StreamSpec};

/// The fields of a backup that describe a volume, and so mean nothing for
/// a stream.
fn volume_fields(spec: &BackupSpec) -> Vec<&'static str> {
    [
        ("copyMethod", spec.copy_method.is_some()),
        (
            "volumeSnapshotClassName",
            spec.volume_snapshot_class_name.is_some(),
        ),
        ("capacity", spec.capacity.is_some()),
        ("storageClassName", spec.storage_class_name.is_some()),
        ("workloadSelector", spec.workload_selector.is_some()),
        ("readOnly", spec.read_only.is_some()),
        ("sourcePath", spec.source_path.is_some()),
        ("actions", spec.actions.is_some()),
        ("hooks", spec.hooks.is_some()),
    ]
    .into_iter()
    .filter_map(|(field, set)| set.then_some(field))
    .collect()
}

/// The parts of a container of the user's, as the plan writes them.
struct Written<'s> {
    image: &'s str,
    command: &'s [String],
    env: &'s Option<Vec<EnvVar>>,
    env_from: &'s Option<Vec<EnvFromSource>>,
    resources: &'s Option<ResourceRequirements>,
}

impl PlanResolver<'_, '_> {
    /// What the backup snapshots: exactly one of `pvc` and `stream`.
    pub(super) fn backup_source(
        &mut self,
        spec: &BackupSpec,
        at: &At<'_>,
        namespace: &str,
    ) -> Option<Source> {
        match (&spec.pvc, &spec.stream) {
            (Some(pvc), None) => {
                if let Err(e) = checks::dns_subdomain(pvc) {
                    let d = at.key("pvc").invalid_name(
                        "PVC name",
                        pvc,
                        e,
                        "use the name of the PersistentVolumeClaim to back up",
                    );
                    self.report(d);
                }
                if let Some(source_path) = &spec.source_path
                    && let Err(e) = checks::relative_path(source_path)
                {
                    let d = at.key("sourcePath").error(
                        &ResolveError::InvalidPath {
                            what: "".to_owned(),
                            value: source_path.to_string(),
                            problem: e.to_string(),
                        },
                        "name a sub-directory of the volume, such as `uploads`",
                    );
                    self.report(d);
                }
                let copy = self.copy(spec, pvc, at, namespace);
                Some(Source::Volume(VolumeSource {
                    pvc: pvc.clone(),
                    read_only: self.data_read_only(spec, &copy, at),
                    copy,
                    source_path: spec.source_path.clone(),
                }))
            }
            (None, Some(stream)) => {
                for field in volume_fields(spec) {
                    let help = if field == "hooks" {
                        // Hooks quiesce a workload before a volume's copy is
                        // cut; a stream has no such copy to wait for.
                        "remove it: a stream backup has no volume copy to wait for, the dump is the copy (pg_dump and mysqldump --single-transaction read one consistent snapshot); run what must come first in the dump's own command, such as `sh -c 'psql -c CHECKPOINT && pg_dumpall'`"
                    } else {
                        "remove it: a stream backup reads the dump container's output, not a volume"
                    };
                    let d = at.key(field).key_error(
                        &ResolveError::VolumeFieldOnStream {
                            field: field.to_owned(),
                        },
                        help,
                    );
                    self.report(d);
                }
                Some(Source::Stream(
                    self.stream_source(stream, &at.key("stream")),
                ))
            }
            (Some(_), Some(_)) => {
                let d = at.key("stream").key_error(
                    &ResolveError::BackupSourceTwice {
                        name: spec.name.clone(),
                    },
                    "keep `pvc` to back up a volume, or `stream` to back up a command's output",
                );
                self.report(d);
                None
            }
            (None, None) => {
                let d = at.error(
                    &ResolveError::NoBackupSource {
                        name: spec.name.clone(),
                    },
                    "add `pvc: <claim>` to back up a volume (`pvcSelector` or `statefulSet` for several), or `stream: {image, command, fileName}` to back up a command's output",
                );
                self.report(d);
                None
            }
        }
    }

    fn stream_source(&mut self, stream: &StreamSpec, at: &At<'_>) -> StreamSource {
        let container = self.user_container(
            Written {
                image: &stream.image,
                command: &stream.command,
                env: &stream.env,
                env_from: &stream.env_from,
                resources: &stream.resources,
            },
            at,
        );
        self.check_file_name(&stream.file_name, &at.key("fileName"));
        StreamSource {
            container,
            file_name: stream.file_name.clone(),
        }
    }

    /// A restore's `stream`: the command that reads the file, and which
    /// file. `None` when the restore writes a volume.
    pub(super) fn stream_target(
        &mut self,
        spec: &RestoreSpec,
        at: &At<'_>,
        backups: &[Backup],
    ) -> Option<StreamTarget> {
        let stream = spec.stream.as_ref()?;
        let at_stream = at.key("stream");
        for (field, set) in [
            ("pvc", spec.pvc.is_some()),
            ("create", spec.create.is_some()),
            ("onlyIfEmpty", spec.only_if_empty.is_some()),
            ("enableFileDeletion", spec.enable_file_deletion.is_some()),
            ("copyMethod", spec.copy_method.is_some()),
        ] {
            if set {
                let d = at.key(field).key_error(
                    &ResolveError::VolumeFieldOnStream {
                        field: field.to_owned(),
                    },
                    "remove it: a stream restore feeds the file to a command, not to a volume",
                );
                self.report(d);
            }
        }
        let container = self.user_container(
            Written {
                image: &stream.image,
                command: &stream.command,
                env: &stream.env,
                env_from: &stream.env_from,
                resources: &stream.resources,
            },
            &at_stream,
        );
        let from = spec
            .from
            .as_ref()
            .and_then(|from| backups.iter().find(|b| &b.entry.name == from));
        let from_stream = match from.map(|b| &b.source) {
            Some(Source::Stream(source)) => Some(source.file_name.clone()),
            Some(Source::Volume(_)) => {
                let d = at.key("from").error(
                    &ResolveError::StreamRestoreOfVolume {
                        backup: spec.from.clone().unwrap_or_default(),
                    },
                    "restore a volume backup into a PVC (`pvc` or `create`), or name a stream backup",
                );
                self.report(d);
                None
            }
            None => None,
        };
        let file_name = match (&stream.file_name, from_stream) {
            (Some(written), _) => {
                self.check_file_name(written, &at_stream.key("fileName"));
                written.clone()
            }
            (None, Some(file_name)) => file_name,
            (None, None) => {
                if from.is_none() {
                    let d = at_stream.error(
                        &ResolveError::NoStreamFileName {
                            name: spec.name.clone(),
                        },
                        "add `fileName`: the file of the snapshot to read, as the stream backup named it",
                    );
                    self.report(d);
                }
                String::new()
            }
        };
        Some(StreamTarget {
            container,
            file_name,
        })
    }

    /// A restore drill's `restoreCheck`.
    pub(super) fn restore_check(&mut self, check: &RestoreCheckSpec, at: &At<'_>) -> RestoreCheck {
        let container = self.user_container(
            Written {
                image: &check.image,
                command: &check.command,
                env: &check.env,
                env_from: &check.env_from,
                resources: &check.resources,
            },
            at,
        );
        if let Err(e) = checks::quantity_bytes(&check.capacity) {
            let d = at.key("capacity").error(
                &ResolveError::InvalidQuantity {
                    what: "capacity".to_owned(),
                    value: check.capacity.clone(),
                    problem: e.to_string(),
                },
                "write a size that holds the restored snapshot, such as `10Gi`",
            );
            self.report(d);
        }
        RestoreCheck {
            container,
            capacity: check.capacity.clone(),
        }
    }

    fn user_container(&mut self, written: Written<'_>, at: &At<'_>) -> UserContainer {
        if written.image.trim().is_empty() {
            let d = at.key("image").error(
                &ResolveError::EmptyContainerField {
                    field: "image".to_owned(),
                },
                "name the image, by tag or digest, such as `docker.io/library/postgres:17`",
            );
            self.report(d);
        }
        if written.command.is_empty() || written.command[0].trim().is_empty() {
            let d = at.key("command").error(
                &ResolveError::EmptyContainerField {
                    field: "command".to_owned(),
                },
                "write the program and its arguments, such as `[pg_dumpall, -h, orders-db]`",
            );
            self.report(d);
        }
        for (index, var) in written.env.iter().flatten().enumerate() {
            if var.name.starts_with("KOPIAPLAN_") {
                let d = at.key("env").index(index).key("name").error(
                    &ResolveError::InvalidName {
                        what: "environment variable".to_owned(),
                        value: var.name.clone(),
                        problem: "names starting with `KOPIAPLAN_` are kopiaplan's own".to_owned(),
                    },
                    "choose another name",
                );
                self.report(d);
            }
        }
        UserContainer {
            image: written.image.to_owned(),
            command: written.command.to_vec(),
            env: written.env.clone().unwrap_or_default(),
            env_from: written.env_from.clone().unwrap_or_default(),
            resources: written.resources.clone(),
        }
    }

    /// A file name of a stream snapshot: one path component.
    fn check_file_name(&mut self, file_name: &str, at: &At<'_>) {
        let problem = if file_name.is_empty() {
            Some("it is empty")
        } else if file_name.contains('/') {
            Some("it holds a `/`")
        } else if file_name == "." || file_name == ".." {
            Some("it names a directory")
        } else if file_name.chars().any(char::is_control) {
            Some("it holds a control character")
        } else {
            None
        };
        if let Some(problem) = problem {
            let d = at.error(
                &ResolveError::InvalidPath {
                    what: "file name".to_owned(),
                    value: file_name.to_owned(),
                    problem: problem.to_owned(),
                },
                "name one file, such as `orders.sql`",
            );
            self.report(d);
        }
    }
}
