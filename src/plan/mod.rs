//! The BackupPlan v1alpha1 input format: the contract with users. Field names
//! follow SPEC.md §3 (and VolSync's where the concept is the same); unknown
//! fields are rejected. The JSON Schema in `schemas/` is generated from these
//! types (`kopiaplan schema`); the "Default:" sentences of fields whose
//! default is a value come from `resolve::defaults`.

mod acknowledge;
pub mod check;
pub mod error;
mod hooks;
mod monitoring;
mod repository;
mod restore;
mod selection;
mod stream;

pub use acknowledge::{AcknowledgedChange, GuardedChange};
pub use hooks::{HookOnError, HookPods, HookSpec, HooksSpec, WorkloadSpec};
pub use monitoring::{DashboardSpec, MonitoringSpec, PrometheusRuleSpec, PushgatewaySpec};
pub use repository::{
    CreationSpec, MaintenanceRunSpec, MaintenanceSpec, Ownership, PasswordChangeSpec, ReplicaMode,
    ReplicaSpec, ThrottleSpec,
};
pub use restore::{
    CreatePvc, OnMissingSnapshot, RestoreCopyMethod, RestoreSpec, SourceIdentity, VerifySpec,
};
pub use selection::AccessMode;
pub use stream::{RestoreCheckSpec, RestoreStreamSpec, StreamSpec};

use std::collections::BTreeMap;
use std::sync::OnceLock;

use k8s_openapi::api::core::v1::{
    Affinity, NFSVolumeSource, PersistentVolumeClaimVolumeSource, PodSecurityContext,
    ResourceRequirements, SecretVolumeSource, Toleration,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const API_VERSION: &str = "kopiaplan.dev/v1alpha1";
pub const KIND: &str = "BackupPlan";

/// A backup plan: repositories, defaults and the volumes to back up.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "BackupPlan")]
pub struct BackupPlan {
    /// Always `kopiaplan.dev/v1alpha1`.
    pub api_version: String,
    /// Always `BackupPlan`.
    pub kind: String,
    pub metadata: PlanMetadata,
    pub spec: PlanSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlanMetadata {
    /// The plan's name: the `app.kubernetes.io/part-of` label of every object
    /// and the prefix of generated names (a DNS-1123 label).
    pub name: String,
    /// The namespace of every entry that does not name its own.
    pub namespace: Option<String>,
    /// Labels added to every generated object.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations added to every generated object.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlanSpec {
    /// The Kopia image and its logging.
    #[serde(default)]
    pub kopia: KopiaSettings,
    /// The kubectl image used by launchers (Snapshot copies).
    #[serde(default)]
    pub launcher: LauncherSettings,
    /// Kopia repositories the entries write to.
    #[serde(default)]
    pub repositories: Vec<RepositorySpec>,
    /// Settings every backup inherits unless it sets its own.
    #[serde(default)]
    pub defaults: Defaults,
    /// The volumes to back up.
    #[serde(default)]
    pub backups: Vec<BackupSpec>,
    /// Restores of Kopia snapshots into PersistentVolumeClaims.
    #[serde(default)]
    pub restores: Vec<RestoreSpec>,
    /// Restore drills: `kopia snapshot verify` of a backup's snapshots.
    #[serde(default)]
    pub verify: Vec<VerifySpec>,
    /// Alerts, run metrics and a dashboard (all opt-in).
    pub monitoring: Option<MonitoringSpec>,
    /// Dangerous changes this edit makes on purpose: each lets exactly one
    /// change that `kopiaplan diff --guard` reports pass. Copy them from the
    /// guard's output; remove them once the change has landed (one that
    /// matches nothing is a warning).
    #[serde(default)]
    pub acknowledge: Vec<AcknowledgedChange>,
    /// The cluster the plan runs in (a DNS-1123 label): part of every
    /// default hostname (`<namespace>.<cluster>`) and of the default
    /// maintenance owner (`maintenance@kopiaplan.<cluster>`), so that two
    /// clusters sharing a repository never write one identity by accident.
    pub cluster: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KopiaSettings {
    /// The Kopia image, by tag or digest.
    pub image: Option<String>,
    /// Kopia's file logs, kept on the cache volume.
    pub logging: Option<LoggingSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LoggingSpec {
    /// `debug`, `info`, `warning` or `error`.
    pub file_level: Option<String>,
    /// How many log files Kopia keeps.
    pub max_files: Option<u32>,
    /// How long Kopia keeps log files, as a duration (`4h`, `30m`, `7d`).
    pub max_age: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LauncherSettings {
    /// The kubectl image.
    pub image: Option<String>,
    /// How long the launcher waits for a VolumeSnapshot to become ready, in
    /// seconds.
    pub snapshot_ready_timeout_seconds: Option<u32>,
    /// Emit, beside each launcher, a ValidatingAdmissionPolicy and its
    /// binding (admissionregistration.k8s.io/v1, Kubernetes 1.30 or later)
    /// that let the launcher's ServiceAccount create only the mover Job and
    /// the VolumeSnapshot it was compiled with. Set `false` for older
    /// clusters.
    pub admission_policy: Option<bool>,
    /// Resources of each launcher container.
    pub resources: Option<ResourceRequirements>,
    /// The image of launchers that run workload hooks: it needs a shell
    /// (bash), `timeout` and kubectl 1.28 or later.
    pub hooks_image: Option<String>,
}

/// A Kopia repository. Its password (`KOPIA_PASSWORD`) and backend
/// credentials live in the Secret `secretName`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RepositorySpec {
    /// The name entries use to refer to this repository.
    pub name: String,
    /// The Secret holding `KOPIA_PASSWORD` and the backend's keys, in the
    /// namespace of each entry that uses the repository.
    pub secret_name: String,
    /// The repository URL (`s3://bucket/prefix`, `gcs://…`, `azure://…`,
    /// `b2://…`, `webdav://…`, `sftp://…`, `rclone://…`, `gdrive://…`,
    /// `filesystem:///path`). When unset, `KOPIA_REPOSITORY` from the Secret is used.
    pub url: Option<String>,
    /// A PersistentVolumeClaim holding a filesystem repository.
    pub filesystem: Option<FilesystemRepository>,
    /// A CA bundle for HTTPS backends.
    #[serde(rename = "customCA")]
    pub custom_ca: Option<CustomCa>,
    /// Whether a missing repository may be created: `Never` or `IfMissing`.
    /// Creation happens only when Kopia reports the storage holds no repository.
    pub create: Option<CreatePolicy>,
    /// Where in the storage the repository is. `Url` (the default): where
    /// the URL says, its path the prefix for every backend that has one.
    /// `VolSync`: where VolSync's Kopia mover put it, decided by the mover
    /// from the Secret's keys as VolSync's did: the backend its keys select
    /// (`KOPIA_S3_BUCKET`, `KOPIA_AZURE_CONTAINER`, `KOPIA_GCS_BUCKET`,
    /// `KOPIA_B2_BUCKET`, …, in VolSync's order), GCS and B2 buckets and
    /// Azure containers at their root (VolSync ignored the URL's path), S3
    /// with the URL's path as prefix. VolSync input and `kopiaplan convert`
    /// use `VolSync`.
    pub layout: Option<RepositoryLayout>,
    /// Backend credentials to materialise as a Secret from the compile environment.
    pub credentials: Option<CredentialsSpec>,
    /// Repository maintenance (one owner per repository).
    pub maintenance: Option<MaintenanceSpec>,
    /// Options applied only when kopiaplan creates the repository.
    pub creation: Option<CreationSpec>,
    /// Limits set with `kopia repository throttle set` on every run.
    pub throttle: Option<ThrottleSpec>,
    /// Off-site copies, each made by its own CronJob.
    #[serde(default)]
    pub replicas: Vec<ReplicaSpec>,
    /// A manual Job that changes the repository's password.
    pub password_change: Option<PasswordChangeSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FilesystemRepository {
    /// The PersistentVolumeClaim that holds the repository.
    pub claim_name: String,
    /// The repository's directory inside the volume (absolute).
    pub path: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomCa {
    /// A ConfigMap holding the CA bundle.
    pub config_map_name: Option<String>,
    /// A Secret holding the CA bundle.
    pub secret_name: Option<String>,
    /// The key of the CA bundle.
    pub key: Option<String>,
}

/// Where in the storage a repository is (`RepositorySpec::layout`).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Deserialize,
    Serialize,
    JsonSchema,
)]
pub enum RepositoryLayout {
    /// Where the URL says: its path is the prefix, for every backend.
    #[default]
    Url,
    /// Where VolSync's Kopia mover put it (see `RepositorySpec::layout`).
    VolSync,
}

impl RepositoryLayout {
    /// The spelling used in plans and passed to the mover scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            RepositoryLayout::Url => "Url",
            RepositoryLayout::VolSync => "VolSync",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum CreatePolicy {
    Never,
    IfMissing,
}

impl CreatePolicy {
    /// The spelling used in plans and passed to the mover scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            CreatePolicy::Never => "Never",
            CreatePolicy::IfMissing => "IfMissing",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CredentialsSpec {
    /// Names of environment variables whose values become Secret keys.
    #[serde(default)]
    pub from_env: Vec<String>,
}

/// Settings inherited by every backup.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Defaults {
    /// The repository of entries that do not name one.
    pub repository: Option<String>,
    /// Five-field cron, a macro such as `@daily`, with `H` for a stable
    /// per-entry hashed value (`H 2 * * *`, `H/15 * * * *`).
    pub schedule: Option<String>,
    /// IANA time zone of the schedule (CronJob `spec.timeZone`). Default: UTC.
    pub time_zone: Option<String>,
    pub copy_method: Option<CopyMethod>,
    /// The VolumeSnapshotClass for `Snapshot` copies; the cluster default if unset.
    pub volume_snapshot_class_name: Option<String>,
    pub retain: Option<Retain>,
    /// Kopia compression algorithm, such as `zstd`, `s2-default`, `gzip`, `none`.
    pub compression: Option<String>,
    pub cache: Option<CacheSpec>,
    pub mover: Option<MoverSpec>,
    /// Parallel upload streams (`kopia snapshot create --parallel`).
    pub parallelism: Option<u32>,
    /// Kopia policy fields applied to every source (see `kopia policy import`).
    pub policy: Option<serde_json::Value>,
    /// CronJob and Job timing and history.
    pub jobs: Option<JobSettings>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum CopyMethod {
    /// Mount the PVC itself, read-only.
    Direct,
    /// Back up a clone of the PVC made when the job starts.
    Clone,
    /// Back up a VolumeSnapshot of the PVC.
    Snapshot,
}

/// How many snapshots Kopia keeps per period.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Retain {
    pub hourly: Option<u32>,
    pub daily: Option<u32>,
    pub weekly: Option<u32>,
    pub monthly: Option<u32>,
    pub yearly: Option<u32>,
    pub latest: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CacheSpec {
    /// Size of the cache volume (a Kubernetes quantity).
    pub capacity: Option<String>,
    /// StorageClass of a persistent cache.
    pub storage_class_name: Option<String>,
    /// Keep the cache in a PersistentVolumeClaim between runs (else an emptyDir).
    pub persistent: Option<bool>,
    /// Access modes of a persistent cache.
    pub access_modes: Option<Vec<String>>,
    /// An existing PersistentVolumeClaim to keep the cache on (not generated);
    /// excludes `capacity`, `storageClassName`, `accessModes` and `persistent`.
    pub claim_name: Option<String>,
    /// Hard limit of Kopia's metadata cache in MiB (0: no limit).
    /// Default: a fifth of `capacity`.
    #[serde(rename = "metadataSizeLimitMB")]
    pub metadata_size_limit_mb: Option<u32>,
    /// Hard limit of Kopia's content cache in MiB (0: no limit).
    /// Default: three fifths of `capacity`.
    #[serde(rename = "contentSizeLimitMB")]
    pub content_size_limit_mb: Option<u32>,
}

/// Pod settings of the mover (the pod that runs Kopia).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MoverSpec {
    /// The mover container's resources. Default: requests `cpu: 250m`,
    /// `memory: 512Mi`; limit `memory` 2Gi plus a quarter of the metadata
    /// cache limit (Kopia's memory grows with the index it loads).
    pub resources: Option<ResourceRequirements>,
    pub pod_labels: Option<BTreeMap<String, String>>,
    pub node_selector: Option<BTreeMap<String, String>>,
    pub tolerations: Option<Vec<Toleration>>,
    pub affinity: Option<Affinity>,
    /// The pod's security context. Restricted-profile fields are enforced
    /// unless `privileged` is set.
    pub security_context: Option<PodSecurityContext>,
    /// An existing ServiceAccount to run as instead of the generated one.
    pub service_account_name: Option<String>,
    /// Run as root with DAC_OVERRIDE, CHOWN and FOWNER, to read and restore
    /// files of any owner. Not allowed by the restricted Pod Security Standard.
    pub privileged: Option<bool>,
    pub priority_class_name: Option<String>,
    /// Extra volumes mounted in the mover at `/mnt/<mountPath>`.
    pub volumes: Option<Vec<MoverVolume>>,
}

/// A volume mounted in the mover (VolSync's `moverVolumes`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MoverVolume {
    /// Where the volume is mounted, relative to `/mnt` (`nfs-share` →
    /// `/mnt/nfs-share`).
    pub mount_path: String,
    /// Exactly one of `secret`, `nfs` and `persistentVolumeClaim`.
    pub volume_source: MoverVolumeSource,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MoverVolumeSource {
    /// A Secret, mounted read-only.
    pub secret: Option<SecretVolumeSource>,
    /// An NFS export (not allowed by the restricted Pod Security Standard).
    pub nfs: Option<NFSVolumeSource>,
    /// An existing PersistentVolumeClaim.
    pub persistent_volume_claim: Option<PersistentVolumeClaimVolumeSource>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobSettings {
    /// CronJob `startingDeadlineSeconds`.
    pub starting_deadline_seconds: Option<i64>,
    /// Job `activeDeadlineSeconds`: the longest a run may take.
    pub active_deadline_seconds: Option<i64>,
    /// Job `backoffLimit`.
    pub backoff_limit: Option<i32>,
    /// Job `ttlSecondsAfterFinished`.
    pub ttl_seconds_after_finished: Option<i32>,
    /// CronJob `successfulJobsHistoryLimit`.
    pub successful_jobs_history_limit: Option<i32>,
    /// CronJob `failedJobsHistoryLimit`.
    pub failed_jobs_history_limit: Option<i32>,
}

/// One volume to back up.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackupSpec {
    /// The entry's name (DNS-1123 label); also the Kopia username, sanitised.
    pub name: String,
    /// The PersistentVolumeClaim to back up (or `pvcSelector`, or
    /// `statefulSet`, or `stream`: exactly one of the four).
    pub pvc: Option<String>,
    /// A command's output to back up instead of a volume.
    pub stream: Option<StreamSpec>,
    /// Back up every PVC of the namespace (of the input, or of `--context`)
    /// whose labels match: one backup per claim, named after it.
    pub pvc_selector: Option<LabelSelector>,
    /// Back up every claim (`<template>-<statefulset>-<ordinal>`) this
    /// StatefulSet makes: one backup per claim, named after it.
    pub stateful_set: Option<String>,
    /// Access modes of a `Clone` or `Snapshot` copy's volume (such as
    /// `[ReadOnlyMany]` for a ReadWriteMany claim, then mounted read-only).
    /// Default: the claim's.
    pub staging_access_modes: Option<Vec<AccessMode>>,
    /// The namespace of the PVC and of the generated objects.
    pub namespace: Option<String>,
    pub repository: Option<String>,
    pub schedule: Option<String>,
    pub time_zone: Option<String>,
    /// Run once per token (a Job) or on demand, instead of on a schedule.
    pub trigger: Option<Trigger>,
    pub copy_method: Option<CopyMethod>,
    pub volume_snapshot_class_name: Option<String>,
    /// Size of the `Clone` volume. Default: the source PVC's requested size,
    /// when the PVC is part of the input.
    pub capacity: Option<String>,
    /// StorageClass of the `Clone` volume (it must be able to clone the
    /// source). Default: the source PVC's class, when the PVC is part of the input.
    pub storage_class_name: Option<String>,
    /// For `Direct` copies of ReadWriteOnce volumes: labels of the pod using
    /// the volume, so the mover runs on the same node.
    pub workload_selector: Option<BTreeMap<String, String>>,
    /// Whether `/data` is mounted read-only. Default: `true` for `Direct`
    /// (the application's live volume), `false` for `Clone` and `Snapshot`
    /// (the mover's own copy, thrown away with the pod, so that a
    /// `beforeSnapshot` action can write into it, as VolSync allowed). A
    /// copy whose volume is ReadOnlyMany alone is always read-only.
    pub read_only: Option<bool>,
    pub parallelism: Option<u32>,
    /// Back up only this sub-directory of the volume (relative).
    pub source_path: Option<String>,
    /// The path recorded in Kopia for this source (absolute); a stream's is `/stream/<fileName>`.
    pub source_path_override: Option<String>,
    pub actions: Option<Actions>,
    /// Commands run in the application's pods around the copy (see
    /// `HooksSpec`); the launcher runs them.
    pub hooks: Option<HooksSpec>,
    /// Kopia policy fields for this source, over the defaults.
    pub policy: Option<serde_json::Value>,
    /// VolSync-style policy files: a global policy and repository settings.
    pub policy_config: Option<PolicyConfig>,
    /// Extra arguments for `kopia snapshot create`.
    pub additional_args: Option<Vec<String>>,
    /// Suspend the schedule.
    pub paused: Option<bool>,
    pub retain: Option<Retain>,
    pub compression: Option<String>,
    pub cache: Option<CacheSpec>,
    pub mover: Option<MoverSpec>,
    /// Explicit Kopia username (with `hostname`), to reach existing snapshots.
    pub username: Option<String>,
    /// Explicit Kopia hostname (with `username`).
    pub hostname: Option<String>,
    pub jobs: Option<JobSettings>,
}

/// Commands run inside the mover around the snapshot.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Actions {
    /// Runs before the snapshot; a failure fails the run.
    pub before_snapshot: Option<String>,
    /// Runs after the snapshot; a failure is reported as a warning.
    pub after_snapshot: Option<String>,
    /// How long each action may run.
    pub timeout_seconds: Option<u32>,
}

/// When an entry runs, other than on a schedule.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Trigger {
    /// Run once for this token (a Job); change the token to run again.
    pub manual: Option<String>,
    /// Run on this schedule.
    pub schedule: Option<String>,
    /// A suspended CronJob to start by hand (`kubectl create job --from=cronjob/…`).
    pub on_demand: Option<bool>,
}

/// Policy files the VolSync way: a ConfigMap or a Secret holding a global
/// Kopia policy and repository settings, and/or repository settings inline.
/// Checked at compile time when the ConfigMap or Secret is part of the input.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyConfig {
    /// A ConfigMap holding the files, mounted read-only (not with `secretName`).
    pub config_map_name: Option<String>,
    /// A Secret holding the files, mounted read-only (not with `configMapName`).
    pub secret_name: Option<String>,
    /// The key of the global policy: Kopia policy JSON, imported as the
    /// repository's global policy before each backup.
    pub global_policy_filename: Option<String>,
    /// The key of the repository settings: JSON with `enableActions`,
    /// `uploadSpeed` and `downloadSpeed` (bytes per second).
    pub repository_config_filename: Option<String>,
    /// Repository settings as inline JSON (at most 1 MiB), the same keys as
    /// the file; they win over the file's.
    pub repository_config: Option<String>,
}

/// The JSON Schema of the BackupPlan format, built once.
pub fn schema() -> &'static serde_json::Value {
    static SCHEMA: OnceLock<serde_json::Value> = OnceLock::new();
    SCHEMA.get_or_init(json_schema)
}

/// Appends "Default: …." to the description of each field whose default
/// kopiaplan chooses, from the values the resolver applies.
fn document_defaults(schema: &mut serde_json::Value) {
    for default in crate::resolve::defaults::schema_defaults() {
        let description = schema
            .pointer_mut(&format!(
                "/$defs/{}/properties/{}/description",
                default.definition, default.property
            ))
            .and_then(|description| match description {
                serde_json::Value::String(text) => Some(text),
                _ => None,
            });
        if let Some(text) = description {
            text.push_str(&format!(" Default: {}.", default.text));
        }
    }
}

/// The JSON Schema of the BackupPlan format.
pub fn json_schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<BackupPlan>();
    let mut value = serde_json::to_value(schema).unwrap_or_default();
    document_defaults(&mut value);
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "$id".into(),
            serde_json::Value::String(
                "https://kopiaplan.dev/schemas/backupplan-v1alpha1.json".into(),
            ),
        );
    }
    value
}
