//! The objects of one restore: the mover (CronJob, Job or on-demand
//! template), its ServiceAccount, the destination PVC when the restore
//! creates it, and the launcher when a snapshot is taken after restoring.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use super::labels::{self, Component};
use super::launcher::{self, Launcher, Steps};
use super::pod::{DataVolume, MoverPod, env, mover_pod};
use super::policy_files;
use super::run::run_object;
use super::{cache_claim, object_meta, service_account};
use crate::model::{OnMissingSnapshot, Plan, Restore};
use crate::output::Object;
use crate::scripts::environment;

pub fn objects(plan: &Plan, restore: &Restore, scripts_config_map: &str) -> Vec<Object> {
    let labels = labels::labels(plan, Component::Restore, &restore.name);
    let mut annotations = labels::annotations(plan, &restore.origin);
    annotations.insert(labels::KOPIA_SOURCE.into(), restore.identity.to_string());
    let meta = |name: &str| object_meta(name, &restore.namespace, &labels, &annotations);
    let mut objects = Vec::new();
    if restore.mover.service_account_name.is_none() {
        objects.push(service_account(meta(&restore.names.service_account)));
    }
    if let Some(create) = &restore.destination.create {
        objects.push(Object::from_resource(&PersistentVolumeClaim {
            metadata: meta(&restore.destination.claim_name),
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
    objects.extend(cache_claim(&restore.cache, &meta));

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
    let mut pod = mover_pod(MoverPod {
        plan,
        script: "restore.sh",
        scripts_config_map,
        data: DataVolume::Claim {
            claim_name: &restore.destination.claim_name,
            read_only: false,
            sub_path: None,
        },
        workload_selector: None,
        repository: &restore.repository,
        username: &restore.identity.username,
        hostname: &restore.identity.hostname,
        source_path: &restore.identity.path,
        cache: &restore.cache,
        mover: &restore.mover,
        service_account: &restore.names.service_account,
        policy_config_map: None,
        env: extra,
        args: &restore.additional_args,
        writes_data: true,
        labels: labels.clone(),
        annotations: annotations.clone(),
    });
    if let Some(source) = restore
        .policy_files
        .as_ref()
        .and_then(|f| f.source.as_ref())
    {
        policy_files::mount_source(&mut pod, source);
    }
    let pod = match (&restore.snapshot_after, &restore.names.launcher) {
        (Some(after), Some(names)) => {
            let (launcher_objects, launcher_pod) = launcher::launcher(Launcher {
                plan,
                namespace: &restore.namespace,
                names,
                steps: Steps::Restore {
                    claim_name: &restore.destination.claim_name,
                },
                volume_snapshot_class_name: after.volume_snapshot_class_name.as_deref(),
                mover_pod: pod,
                jobs: &restore.jobs,
                mover: &restore.mover,
                labels: labels.clone(),
                annotations: annotations.clone(),
            });
            objects.extend(launcher_objects);
            launcher_pod
        }
        _ => pod,
    };
    objects.push(run_object(
        &meta,
        &restore.run,
        &restore.jobs,
        &restore.names,
        pod,
    ));
    objects
}
