//! The objects of one backup entry: its CronJob (or manual Job), policy
//! ConfigMap, ServiceAccount, persistent cache, and for `Snapshot` copies
//! the launcher that runs the mover.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, TypedLocalObjectReference};

use super::entry::{Frame, Mover};
use super::hooks::Hooked;
use super::labels;
use super::launcher::Steps;
use super::pod::{DataVolume, env, user_env};
use super::stream::{self, Side};
use super::{policy_files, volume_snapshot};
use crate::model::{Backup, Copy, Plan, Source, VolumeSource};
use crate::output::Object;
use crate::scripts::environment;

pub fn objects(plan: &Plan, backup: &Backup, scripts_config_map: &str) -> Vec<Object> {
    let entry = &backup.entry;
    let mut frame = Frame::new(plan, entry);
    // What the guard names when a replica's backup stops.
    if let Some(expansion) = &backup.expansion {
        frame
            .annotations
            .insert(labels::EXPANDED_FROM.into(), expansion.by.clone());
    }
    let mut objects = frame.common_objects();
    let mut policy_data = BTreeMap::from([("policy.json".to_owned(), policy_document(backup))]);
    if let Some(global) = backup
        .policy_files
        .as_ref()
        .and_then(|files| files.translated_global_policy.clone())
    {
        policy_data.insert(
            crate::model::paths::TRANSLATED_GLOBAL_POLICY.to_owned(),
            global,
        );
    }
    objects.push(Object::from_resource(&ConfigMap {
        metadata: frame.meta(&entry.names.policy_config_map),
        data: Some(policy_data),
        ..ConfigMap::default()
    }));

    let (data, workload_selector) = match &backup.source {
        Source::Volume(volume) => volume_data(entry, volume),
        Source::Stream(_) => (DataVolume::None, None),
    };
    let mut extra = vec![env(
        environment::ACTION_TIMEOUT,
        backup.actions.timeout_seconds.to_string(),
    )];
    if let Some(parallelism) = backup.parallelism {
        extra.push(env(environment::PARALLELISM, parallelism.to_string()));
    }
    if let Some(command) = &backup.actions.before_snapshot {
        extra.push(user_env(environment::BEFORE_SNAPSHOT, command));
    }
    if let Some(command) = &backup.actions.after_snapshot {
        extra.push(user_env(environment::AFTER_SNAPSHOT, command));
    }
    if let Some(files) = &backup.policy_files {
        extra.extend(policy_files::environment(files, true));
    }
    if let Source::Stream(stream) = &backup.source {
        extra.push(user_env(environment::STREAM_FILE, &stream.file_name));
    }
    let mut pod = frame.mover_pod(
        scripts_config_map,
        Mover {
            script: "backup.sh",
            data,
            workload_selector,
            policy_config_map: Some(&entry.names.policy_config_map),
            env: extra,
            args: &backup.additional_args,
            writes_data: false,
        },
    );
    if let Some(source) = backup.policy_files.as_ref().and_then(|f| f.source.as_ref()) {
        policy_files::mount_source(&mut pod, source);
    }
    let pod = match &backup.source {
        Source::Volume(volume) => {
            let volume_snapshot_class_name = match &volume.copy {
                Copy::Snapshot {
                    volume_snapshot_class_name,
                    ..
                } => volume_snapshot_class_name.as_deref(),
                _ => None,
            };
            frame.launched(
                Steps::Backup {
                    claim_name: &volume.pvc,
                    hooks: backup.hooks.as_ref().map(|hooks| Hooked {
                        hooks,
                        copy_method: volume.copy.method(),
                    }),
                },
                volume_snapshot_class_name,
                pod,
                &mut objects,
            )
        }
        Source::Stream(stream) => {
            stream::attach(&mut pod, Side::Dump, &stream.container, None);
            pod.into()
        }
    };
    objects.push(frame.run_object(pod));
    objects
}

/// The mover's `/data`: the volume, its clone or the volume restored from
/// its snapshot; and the workload a `Direct` copy runs beside.
fn volume_data<'a>(
    entry: &'a crate::model::Entry,
    volume: &'a VolumeSource,
) -> (DataVolume<'a>, Option<&'a BTreeMap<String, String>>) {
    let sub_path = volume.source_path.as_deref();
    match &volume.copy {
        Copy::Direct { workload_selector } => (
            DataVolume::Claim {
                claim_name: &volume.pvc,
                read_only: volume.read_only,
                sub_path,
            },
            Some(workload_selector),
        ),
        Copy::Clone {
            capacity,
            storage_class_name,
            access_modes,
        } => (
            DataVolume::Ephemeral {
                source: TypedLocalObjectReference {
                    api_group: None,
                    kind: "PersistentVolumeClaim".into(),
                    name: volume.pvc.clone(),
                },
                capacity,
                storage_class_name: storage_class_name.as_deref(),
                access_modes,
                sub_path,
                read_only: volume.read_only,
            },
            None,
        ),
        Copy::Snapshot {
            capacity,
            storage_class_name,
            access_modes,
            ..
        } => (
            DataVolume::Ephemeral {
                source: TypedLocalObjectReference {
                    api_group: Some(volume_snapshot::GROUP.into()),
                    kind: "VolumeSnapshot".into(),
                    name: entry
                        .names
                        .launcher
                        .as_ref()
                        .map(|l| l.volume_snapshot.clone())
                        .unwrap_or_default(),
                },
                capacity,
                storage_class_name: storage_class_name.as_deref(),
                access_modes,
                sub_path,
                read_only: volume.read_only,
            },
            None,
        ),
    }
}

/// The `kopia policy import` file: the source's policy keyed by exactly the
/// `user@host:path` target that is snapshotted.
pub fn policy_document(backup: &Backup) -> String {
    let document = serde_json::json!({ backup.entry.identity.to_string(): backup.policy });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
