//! Restores and restore drills: where a snapshot comes from, what it is
//! restored into, and how a drill checks it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    CacheSpec, JobSettings, MoverSpec, PolicyConfig, RestoreCheckSpec, RestoreStreamSpec, Trigger,
};

/// One restore of a Kopia source into a PersistentVolumeClaim.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RestoreSpec {
    /// The entry's name (DNS-1123 label).
    pub name: String,
    /// The namespace of the destination PVC and of the generated objects.
    pub namespace: Option<String>,
    /// A backup of this plan to restore: its identity, path and repository
    /// are resolved at compile time.
    pub from: Option<String>,
    /// The identity of a VolSync-style source: `sourceName` (the entry's
    /// name) and `sourceNamespace`.
    pub source_identity: Option<SourceIdentity>,
    /// Explicit Kopia username (with `hostname`).
    pub username: Option<String>,
    /// Explicit Kopia hostname (with `username`).
    pub hostname: Option<String>,
    /// The path recorded in Kopia for the source, with explicit
    /// `username`/`hostname`.
    pub source_path_override: Option<String>,
    /// The repository, when not restoring `from` a backup.
    pub repository: Option<String>,
    /// The destination PVC: an existing one, or the one `create` makes.
    pub pvc: Option<String>,
    /// Create the destination PVC.
    pub create: Option<CreatePvc>,
    /// Pipe the snapshot's file into a command instead of writing a PVC.
    pub stream: Option<RestoreStreamSpec>,
    /// When the restore runs: `manual`, `schedule` or `onDemand`.
    pub trigger: Option<Trigger>,
    pub time_zone: Option<String>,
    /// Skip the N newest snapshots (0: the newest).
    pub previous: Option<u32>,
    /// Restore the newest snapshot taken at or before this instant (RFC 3339,
    /// any offset).
    pub restore_as_of: Option<String>,
    /// Delete files in the destination that are not in the snapshot.
    pub enable_file_deletion: Option<bool>,
    /// What a run does when no snapshot matches: `Fail` (default) or `Succeed`.
    pub on_missing_snapshot: Option<OnMissingSnapshot>,
    /// Restore only into an empty volume (nothing at its top level but
    /// `lost+found`). A volume that holds data is left untouched: the run
    /// lists what it found and succeeds. Deploy-or-restore: a fresh cluster
    /// gets the backup, an existing one keeps its data. Default: false.
    pub only_if_empty: Option<bool>,
    /// Argo CD sync wave of every object of the restore
    /// (`argocd.argoproj.io/sync-wave`): a wave before the application's
    /// (such as -1 before the default 0) makes Argo CD create the claim and
    /// wait for the restore Job to finish before it starts the application.
    #[serde(rename = "argoCDSyncWave")]
    pub argo_cd_sync_wave: Option<i32>,
    /// When no snapshot matches, the log and the result list the sources
    /// that exist: only this identity's hostname's (its namespace's), unless
    /// this is `true`. A repository shared by tenants does not show one
    /// tenant's sources to another. Default: `false`.
    pub list_all_hostnames: Option<bool>,
    /// `Direct` (default) restores into the PVC; `Snapshot` also takes a
    /// VolumeSnapshot of the PVC after each successful restore.
    pub copy_method: Option<RestoreCopyMethod>,
    /// The VolumeSnapshotClass of the snapshot after restore.
    pub volume_snapshot_class_name: Option<String>,
    /// Extra `kopia restore` arguments.
    pub additional_args: Option<Vec<String>>,
    /// VolSync-style repository settings (`downloadSpeed`…). A restore never
    /// applies a global policy: it would change the repository for everyone.
    pub policy_config: Option<PolicyConfig>,
    /// Suspend the schedule.
    pub paused: Option<bool>,
    pub cache: Option<CacheSpec>,
    pub mover: Option<MoverSpec>,
    pub jobs: Option<JobSettings>,
}

/// A source named the way VolSync names it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SourceIdentity {
    /// The source's entry name (the Kopia username, sanitised).
    pub source_name: String,
    /// The source's namespace (the Kopia hostname). Default: the restore's namespace.
    pub source_namespace: Option<String>,
    /// The source's `sourcePathOverride`.
    pub source_path_override: Option<String>,
}

/// A PersistentVolumeClaim the restore creates.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreatePvc {
    /// Its size (a Kubernetes quantity).
    pub capacity: String,
    /// Default: `[ReadWriteOnce]`.
    pub access_modes: Option<Vec<String>>,
    pub storage_class_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum OnMissingSnapshot {
    /// The run fails when no snapshot matches.
    Fail,
    /// The run succeeds with nothing restored.
    Succeed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum RestoreCopyMethod {
    /// Restore into the PVC.
    Direct,
    /// Restore into the PVC, then take a VolumeSnapshot of it.
    Snapshot,
}

/// A restore drill: verify a backup's newest snapshot.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct VerifySpec {
    /// The entry's name. Default: `<from>` (the objects are named `…-verify`).
    pub name: Option<String>,
    /// The backup of this plan whose snapshots are verified.
    pub from: String,
    pub schedule: Option<String>,
    pub time_zone: Option<String>,
    /// The percentage of files to download and check (0–100).
    /// Default: 0 (structure and metadata only).
    pub files_percent: Option<f64>,
    /// When there is no snapshot to verify, the log and the result list the sources
    /// that exist: only this identity's hostname's (its namespace's), unless
    /// this is `true`. A repository shared by tenants does not show one
    /// tenant's sources to another. Default: `false`.
    pub list_all_hostnames: Option<bool>,
    /// Also restore the newest snapshot into a scratch volume and run a
    /// check on it.
    pub restore_check: Option<RestoreCheckSpec>,
    /// Run once per token, or on demand, instead of on the schedule.
    pub trigger: Option<Trigger>,
    pub paused: Option<bool>,
    pub cache: Option<CacheSpec>,
    pub mover: Option<MoverSpec>,
    pub jobs: Option<JobSettings>,
}
