//! `snapshot.storage.k8s.io/v1` VolumeSnapshot: not part of k8s-openapi,
//! so typed here with exactly the fields kopiaplan sets.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

pub const GROUP: &str = "snapshot.storage.k8s.io";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshot {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: VolumeSnapshotSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotSpec {
    pub source: VolumeSnapshotSource,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume_snapshot_class_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeSnapshotSource {
    pub persistent_volume_claim_name: String,
}

impl VolumeSnapshot {
    /// A snapshot of the PVC `claim_name`.
    pub fn of_claim(metadata: ObjectMeta, claim_name: &str, class: Option<&str>) -> Self {
        Self {
            api_version: "snapshot.storage.k8s.io/v1",
            kind: "VolumeSnapshot",
            metadata,
            spec: VolumeSnapshotSpec {
                source: VolumeSnapshotSource {
                    persistent_volume_claim_name: claim_name.to_owned(),
                },
                volume_snapshot_class_name: class.map(str::to_owned),
            },
        }
    }
}
