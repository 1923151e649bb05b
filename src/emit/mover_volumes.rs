//! The plan's extra mover volumes (`mover.volumes`), each mounted at
//! `/mnt/<mountPath>`. A claim the pod already mounts (a filesystem
//! repository, the cache, the data volume) is not mounted twice: its volume
//! gets a second mount instead.

use k8s_openapi::api::core::v1::{Volume, VolumeMount};

use crate::model::{Mover, MoverVolumeSource};

/// Adds `mover`'s volumes to a pod's `volumes` and its container's `mounts`.
pub fn add(mover: &Mover, volumes: &mut Vec<Volume>, mounts: &mut Vec<VolumeMount>) {
    for extra in &mover.volumes {
        let already_mounted = match &extra.source {
            MoverVolumeSource::Claim(claim) => volumes
                .iter()
                .find(|v| {
                    v.persistent_volume_claim
                        .as_ref()
                        .is_some_and(|c| c.claim_name == claim.claim_name)
                })
                .map(|v| v.name.clone()),
            _ => None,
        };
        let name = match already_mounted {
            Some(name) => name,
            None => {
                let mut volume = Volume {
                    name: extra.name.clone(),
                    ..Volume::default()
                };
                match &extra.source {
                    MoverVolumeSource::Secret(secret) => volume.secret = Some(secret.clone()),
                    MoverVolumeSource::Nfs(nfs) => volume.nfs = Some(nfs.clone()),
                    MoverVolumeSource::Claim(claim) => {
                        volume.persistent_volume_claim = Some(claim.clone());
                    }
                }
                volumes.push(volume);
                extra.name.clone()
            }
        };
        mounts.push(VolumeMount {
            name,
            mount_path: extra.mount_path.clone(),
            read_only: Some(extra.read_only()),
            ..VolumeMount::default()
        });
    }
}
