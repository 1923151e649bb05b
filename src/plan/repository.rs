//! The parts of a repository's life beyond where it is: quick and full
//! maintenance and who owns it, options applied when kopiaplan creates the
//! repository, throttling on every run, and off-site copies (replicas).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CacheSpec, FilesystemRepository, JobSettings, MoverSpec, Trigger};

/// One kind of maintenance (`maintenance.quick`, `maintenance.full`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MaintenanceRunSpec {
    /// When this maintenance runs (cron; `H` tokens allowed).
    pub schedule: Option<String>,
    /// Set to `false` to run only the other kind.
    pub enabled: Option<bool>,
}

/// What a maintenance job does when another identity owns maintenance.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
pub enum Ownership {
    /// Take the owner role (`kopia maintenance set --owner`) and run.
    #[default]
    Claim,
    /// Run only while the configured owner holds the role; otherwise say
    /// who does and succeed without running.
    Yield,
}

impl Ownership {
    pub fn as_str(self) -> &'static str {
        match self {
            Ownership::Claim => "Claim",
            Ownership::Yield => "Yield",
        }
    }
}

/// Options of `kopia repository create`, applied only when kopiaplan
/// creates the repository; they cannot change an existing one. Values are
/// checked against the names Kopia 0.23.1 accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreationSpec {
    /// `--block-hash`, such as `BLAKE3-256`.
    pub hash: Option<String>,
    /// `--encryption`, such as `CHACHA20-POLY1305-HMAC-SHA256`.
    pub encryption: Option<String>,
    /// `--object-splitter`, such as `DYNAMIC-4M-BUZHASH`.
    pub splitter: Option<String>,
    /// `--ecc`, such as `REED-SOLOMON-CRC32`.
    pub ecc: Option<String>,
    /// `--ecc-overhead-percent` (0 turns error correction off).
    pub ecc_overhead_percent: Option<u32>,
    /// `--retention-mode`: `GOVERNANCE` or `COMPLIANCE` (object lock).
    pub retention_mode: Option<String>,
    /// `--retention-period`, a duration such as `720h`.
    pub retention_period: Option<String>,
    /// `repository set-parameters --epoch-min-duration` right after creation.
    pub epoch_min_duration: Option<String>,
    /// `repository set-parameters --epoch-refresh-frequency`.
    pub epoch_refresh_frequency: Option<String>,
    /// `repository set-parameters --epoch-cleanup-safety-margin`.
    pub epoch_cleanup_safety_margin: Option<String>,
    /// `repository set-parameters --epoch-advance-on-count`.
    pub epoch_advance_on_count: Option<u32>,
    /// `repository set-parameters --epoch-advance-on-size-mb`.
    pub epoch_advance_on_size_mb: Option<u32>,
}

/// `kopia repository throttle set`, applied on every run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ThrottleSpec {
    /// `--upload-bytes-per-second`.
    pub upload_bytes_per_second: Option<u64>,
    /// `--download-bytes-per-second`.
    pub download_bytes_per_second: Option<u64>,
    /// `--read-requests-per-second`.
    pub reads_per_second: Option<u64>,
    /// `--write-requests-per-second`.
    pub writes_per_second: Option<u64>,
}

/// `kopia repository change-password`, run once per token by a Job beside
/// the repository's maintenance. See the README for the order of steps.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PasswordChangeSpec {
    /// Run once for this token (a Job); change the token to run again.
    pub token: String,
    /// The key of the repository Secret holding the new password.
    /// Default: `KOPIA_NEW_PASSWORD`.
    pub new_password_key: Option<String>,
}

/// How a replica copies the repository.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
pub enum ReplicaMode {
    /// `kopia repository sync-to`: the blobs as they are, one repository
    /// in two places (same password, same format).
    #[default]
    Blobs,
    /// `kopia snapshot migrate`: the snapshots into a repository of its own
    /// (its own password and format).
    Snapshots,
}

impl ReplicaMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplicaMode::Blobs => "Blobs",
            ReplicaMode::Snapshots => "Snapshots",
        }
    }
}

/// An off-site copy of the repository, made on its own schedule.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplicaSpec {
    /// The replica's name (DNS-1123 label), part of its objects' names.
    pub name: String,
    /// The destination's URL (the backends of a repository's `url`).
    pub url: Option<String>,
    /// A PersistentVolumeClaim holding the destination, instead of a URL.
    pub filesystem: Option<FilesystemRepository>,
    /// The Secret with the destination's credentials (and, for
    /// `Snapshots`, its `KOPIA_PASSWORD`), in the namespace of the
    /// repository's maintenance.
    pub secret_name: String,
    /// When the copy runs. Default: two hours after the repository's full
    /// maintenance.
    pub schedule: Option<String>,
    /// `Blobs` (default) or `Snapshots`.
    pub mode: Option<ReplicaMode>,
    /// `Blobs` only: delete blobs the source no longer has
    /// (`sync-to --delete`). Default: `false`.
    pub delete_extra: Option<bool>,
    /// Disaster recovery: a Job, once per token, that fills the
    /// repository (new and empty) from this replica, the other way round.
    pub seed: Option<SeedSpec>,
}

/// `replicas[].seed`: fill an empty repository from the replica.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SeedSpec {
    /// Run once for this token (a Job); change the token to run again.
    pub token: String,
}

/// Repository maintenance (`repositories[].maintenance`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MaintenanceSpec {
    /// When full maintenance runs (cron; `H` tokens allowed); the same as
    /// `full.schedule`.
    pub schedule: Option<String>,
    /// Quick maintenance (index compaction, cheap): hourly by default.
    pub quick: Option<MaintenanceRunSpec>,
    /// Full maintenance (snapshot garbage collection): daily by default.
    pub full: Option<MaintenanceRunSpec>,
    /// `Claim` (default): take the owner role. `Yield`: run only while
    /// `owner` holds it.
    pub ownership: Option<Ownership>,
    /// Set to `false` when the repository is maintained elsewhere.
    pub enabled: Option<bool>,
    /// Suspend the maintenance CronJob.
    pub paused: Option<bool>,
    /// The identity that owns maintenance, `user@host`. Every plan that
    /// maintains the repository must name the same owner.
    /// Default: `maintenance@kopiaplan`.
    pub owner: Option<String>,
    /// Run once per token (a Job), on demand (a suspended CronJob) or on
    /// `trigger.schedule`, instead of `schedule`.
    pub trigger: Option<Trigger>,
    /// IANA time zone of the schedule. Default: `spec.defaults.timeZone`.
    pub time_zone: Option<String>,
    /// Pod settings of the maintenance mover. Default: `spec.defaults.mover`.
    pub mover: Option<MoverSpec>,
    /// Kopia's cache for maintenance. Default: `spec.defaults.cache`.
    pub cache: Option<CacheSpec>,
    /// CronJob and Job timing. Default: `spec.defaults.jobs`.
    pub jobs: Option<JobSettings>,
}
