//! The objects of one restore: the mover (CronJob, Job or on-demand
//! template), its ServiceAccount, the destination PVC when the restore
//! creates it, and the launcher when a snapshot is taken after restoring.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::entry::{Frame, Mover};
use super::labels;
use super::launcher::Steps;
use super::pod::{DataVolume, env, user_env};
use super::policy_files;
use super::stream::{self, Side};
use crate::model::{OnMissingSnapshot, Plan, Restore, RestoreTarget};
use crate::output::Object;
use crate::scripts::environment;

pub fn objects(plan: &Plan, restore: &Restore, scripts_config_map: &str) -> Vec<Object> {
    let mut frame = Frame::new(plan, &restore.entry);
    if let Some(wave) = restore.argo_cd_sync_wave {
        frame
            .annotations
            .insert(labels::ARGO_CD_SYNC_WAVE.into(), wave.to_string());
    }
    let mut objects = frame.common_objects();
    let volume = restore.destination.volume();
    if let Some((destination, create)) =
        volume.and_then(|d| d.create.as_ref().map(|create| (d, create)))
    {
        objects.push(Object::from_resource(&PersistentVolumeClaim {
            metadata: frame.meta(&destination.claim_name),
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(create.access_modes.clone()),
                resources: Some(VolumeResourceRequirements {
                    requests: Some(BTreeMap::from([(
                        "storage".to_owned(),
                        Quantity(create.capacity.clone()),
                    )])),
                    ..VolumeResourceRequirements::default()
                }),
                storage_class_name: create.storage_class_name.clone(),
                ..PersistentVolumeClaimSpec::default()
            }),
            ..PersistentVolumeClaim::default()
        }));
    }

    let selection = &restore.selection;
    let mut extra = vec![
        env(environment::PREVIOUS, selection.previous.to_string()),
        env(
            environment::DELETE_EXTRA,
            if restore.delete_extra {
                "true"
            } else {
                "false"
            },
        ),
        env(
            environment::LIST_ALL_HOSTNAMES,
            restore.list_all_hostnames.to_string(),
        ),
        env(
            environment::ONLY_IF_EMPTY,
            restore.only_if_empty.to_string(),
        ),
        env(
            environment::ON_MISSING_SNAPSHOT,
            match restore.on_missing_snapshot {
                OnMissingSnapshot::Fail => "Fail",
                OnMissingSnapshot::Succeed => "Succeed",
            },
        ),
    ];
    if let Some(as_of) = &selection.as_of {
        extra.push(env(environment::RESTORE_AS_OF, as_of.utc.clone()));
        extra.push(env(
            environment::RESTORE_AS_OF_NANOS,
            as_of.epoch_nanos.to_string(),
        ));
    }
    if let Some(files) = &restore.policy_files {
        extra.extend(policy_files::environment(files, false));
    }
    if let RestoreTarget::Stream(stream) = &restore.destination {
        extra.push(user_env(environment::STREAM_FILE, &stream.file_name));
    }
    let mut pod = frame.mover_pod(
        scripts_config_map,
        Mover {
            script: "restore.sh",
            data: match volume {
                Some(destination) => DataVolume::Claim {
                    claim_name: &destination.claim_name,
                    read_only: false,
                    sub_path: None,
                },
                None => DataVolume::None,
            },
            workload_selector: None,
            policy_config_map: None,
            env: extra,
            args: &restore.additional_args,
            writes_data: volume.is_some(),
        },
    );
    if let Some(source) = restore
        .policy_files
        .as_ref()
        .and_then(|f| f.source.as_ref())
    {
        policy_files::mount_source(&mut pod, source);
    }
    if let RestoreTarget::Stream(stream) = &restore.destination {
        stream::attach(&mut pod, Side::Load, &stream.container, None);
    }
    let pod = match (&restore.snapshot_after, volume) {
        (Some(after), Some(destination)) => frame.launched(
            Steps::Restore {
                claim_name: &destination.claim_name,
            },
            after.volume_snapshot_class_name.as_deref(),
            pod,
            &mut objects,
        ),
        _ => pod.into(),
    };
    objects.push(frame.run_object(pod));
    objects
}
