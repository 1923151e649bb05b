//! VolSync's Kopia API as typed input: `ReplicationSource` and
//! `ReplicationDestination` with `spec.kopia` (the seed version's fields and
//! the later version's `moverVolumes`, cache limits and `retain.latest`), and
//! `KopiaMaintenance`. Field names are VolSync's. Unknown fields are not
//! rejected here: [`super::schema`] reports them against the CRD schema
//! first (VolSync's API server prunes them, so they are warnings).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, NFSVolumeSource, PersistentVolumeClaimVolumeSource, PodSecurityContext,
    ResourceRequirements, SecretVolumeSource, SecurityContext, Toleration,
};
use serde::Deserialize;

pub const API_VERSION: &str = "volsync.backube/v1alpha1";

/// The movers VolSync has besides Kopia; an object using one of them is
/// not something kopiaplan can compile.
pub const OTHER_MOVERS: [&str; 6] = [
    "rsync",
    "rsyncTLS",
    "rclone",
    "restic",
    "syncthing",
    "external",
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub name: String,
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationSource {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: SourceSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceSpec {
    #[serde(rename = "sourcePVC")]
    pub source_pvc: Option<String>,
    pub trigger: Option<TriggerSpec>,
    pub paused: Option<bool>,
    pub kopia: Option<SourceKopia>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicationDestination {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: DestinationSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationSpec {
    pub trigger: Option<TriggerSpec>,
    pub paused: Option<bool>,
    pub kopia: Option<DestinationKopia>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerSpec {
    pub schedule: Option<String>,
    pub manual: Option<String>,
}

/// The fields `ReplicationSource` and `ReplicationDestination` share.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Common {
    pub repository: Option<String>,
    #[serde(rename = "customCA")]
    pub custom_ca: Option<CustomCa>,
    pub copy_method: Option<String>,
    pub capacity: Option<Quantity>,
    pub storage_class_name: Option<String>,
    pub access_modes: Option<Vec<String>>,
    pub volume_snapshot_class_name: Option<String>,
    pub cache_capacity: Option<Quantity>,
    pub cache_storage_class_name: Option<String>,
    pub cache_access_modes: Option<Vec<String>>,
    #[serde(rename = "metadataCacheSizeLimitMB")]
    pub metadata_cache_size_limit_mb: Option<i64>,
    #[serde(rename = "contentCacheSizeLimitMB")]
    pub content_cache_size_limit_mb: Option<i64>,
    pub policy_config: Option<PolicyConfig>,
    pub username: Option<String>,
    pub hostname: Option<String>,
    pub additional_args: Option<Vec<String>>,
    pub mover_security_context: Option<PodSecurityContext>,
    pub mover_service_account: Option<String>,
    pub mover_pod_labels: Option<BTreeMap<String, String>>,
    pub mover_resources: Option<ResourceRequirements>,
    pub mover_affinity: Option<Affinity>,
    pub mover_volumes: Option<Vec<MoverVolume>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceKopia {
    #[serde(flatten)]
    pub common: Common,
    pub retain: Option<Retain>,
    pub compression: Option<String>,
    pub parallelism: Option<i64>,
    pub actions: Option<Actions>,
    pub source_path_override: Option<String>,
    #[serde(rename = "repositoryPVC")]
    pub repository_pvc: Option<String>,
    pub maintenance_interval_days: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationKopia {
    #[serde(flatten)]
    pub common: Common,
    #[serde(rename = "destinationPVC")]
    pub destination_pvc: Option<String>,
    #[serde(rename = "cleanupTempPVC")]
    pub cleanup_temp_pvc: Option<bool>,
    #[serde(rename = "cleanupCachePVC")]
    pub cleanup_cache_pvc: Option<bool>,
    pub restore_as_of: Option<String>,
    pub shallow: Option<i64>,
    pub previous: Option<i64>,
    pub source_identity: Option<SourceIdentity>,
    pub enable_file_deletion: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomCa {
    pub secret_name: Option<String>,
    pub config_map_name: Option<String>,
    pub key: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retain {
    pub hourly: Option<i64>,
    pub daily: Option<i64>,
    pub weekly: Option<i64>,
    pub monthly: Option<i64>,
    pub yearly: Option<i64>,
    pub latest: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actions {
    pub before_snapshot: Option<String>,
    pub after_snapshot: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyConfig {
    pub secret_name: Option<String>,
    pub config_map_name: Option<String>,
    pub global_policy_filename: Option<String>,
    pub repository_config_filename: Option<String>,
    pub repository_config: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceIdentity {
    pub source_name: Option<String>,
    pub source_namespace: Option<String>,
    #[serde(rename = "sourcePVCName")]
    pub source_pvc_name: Option<String>,
    pub source_path_override: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoverVolume {
    pub mount_path: String,
    pub volume_source: MoverVolumeSource,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoverVolumeSource {
    pub secret: Option<SecretVolumeSource>,
    pub nfs: Option<NFSVolumeSource>,
    pub persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KopiaMaintenance {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: MaintenanceSpec,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceSpec {
    #[serde(default)]
    pub repository: MaintenanceRepository,
    pub trigger: Option<TriggerSpec>,
    /// Deprecated in VolSync; `trigger.schedule` wins.
    pub schedule: Option<String>,
    pub enabled: Option<bool>,
    pub suspend: Option<bool>,
    pub successful_jobs_history_limit: Option<i32>,
    pub failed_jobs_history_limit: Option<i32>,
    pub resources: Option<ResourceRequirements>,
    pub active_deadline_seconds: Option<i64>,
    pub service_account_name: Option<String>,
    pub pod_security_context: Option<PodSecurityContext>,
    pub container_security_context: Option<SecurityContext>,
    pub mover_pod_labels: Option<BTreeMap<String, String>>,
    pub node_selector: Option<BTreeMap<String, String>>,
    pub tolerations: Option<Vec<Toleration>>,
    pub affinity: Option<Affinity>,
    pub cache_capacity: Option<Quantity>,
    pub cache_storage_class_name: Option<String>,
    pub cache_access_modes: Option<Vec<String>>,
    #[serde(rename = "metadataCacheSizeLimitMB")]
    pub metadata_cache_size_limit_mb: Option<i64>,
    #[serde(rename = "contentCacheSizeLimitMB")]
    pub content_cache_size_limit_mb: Option<i64>,
    #[serde(rename = "cachePVC")]
    pub cache_pvc: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MaintenanceRepository {
    #[serde(default)]
    pub repository: String,
    #[serde(rename = "customCA")]
    pub custom_ca: Option<CustomCa>,
    pub repository_type: Option<String>,
}

/// A Kubernetes quantity, written as a string or a bare number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Quantity {
    Text(String),
    Integer(i64),
}

impl Quantity {
    pub fn as_string(&self) -> String {
        match self {
            Quantity::Text(text) => text.clone(),
            Quantity::Integer(n) => n.to_string(),
        }
    }
}
