//! The fully resolved model: every default applied, every name, identity,
//! schedule and policy decided. Emission reads only this; nothing here is
//! left for a controller (or for `emit`) to decide.

pub mod hooks;
pub mod identity;
pub mod names;
mod source;

pub use source::{
    RestoreCheck, RestoreTarget, Source, StreamSource, StreamTarget, UserContainer, VolumeSource,
};

mod selection;
pub use selection::{Expansion, Inferred};

mod repository_life;
mod restore;
pub use restore::{AsOf, CreatedPvc, Destination, Restore, Selection, SnapshotAfter, Verify};

pub use repository_life::{
    Maintenance, MaintenanceMode, Ownership, Replica, ReplicaMode, RepositoryOptions,
};

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::{
    Affinity, NFSVolumeSource, PersistentVolumeClaimVolumeSource, PodSecurityContext,
    ResourceRequirements, SecretVolumeSource, Toleration,
};

pub use crate::plan::{CreatePolicy, OnMissingSnapshot, RepositoryLayout};

#[derive(Debug, Clone, Default)]
pub struct Model {
    pub plans: Vec<Plan>,
    pub backups: Vec<Backup>,
    pub restores: Vec<Restore>,
    pub verifies: Vec<Verify>,
    /// One per repository, across every plan of the input.
    pub maintenance: Vec<Maintenance>,
    /// Off-site copies of repositories.
    pub replicas: Vec<Replica>,
    /// Context objects passed through to the output unchanged.
    pub passthrough: Vec<serde_json::Value>,
}

/// Plan-wide settings shared by its entries.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    /// Where the plan document starts.
    pub origin: Origin,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub kopia_image: String,
    /// The kubectl image of Snapshot launchers.
    pub launcher_image: String,
    pub snapshot_ready_timeout_seconds: u32,
    /// Emit a ValidatingAdmissionPolicy beside each launcher.
    pub launcher_admission_policy: bool,
    /// Resources of each launcher container (kubectl).
    pub launcher_resources: k8s_openapi::api::core::v1::ResourceRequirements,
    /// The image (bash and kubectl) of launchers that run workload hooks.
    pub launcher_hooks_image: String,
    pub logging: Logging,
    /// Dangerous changes the plan makes on purpose (`kopiaplan diff --guard`).
    pub acknowledged: Vec<Acknowledged>,
    pub monitoring: Monitoring,
}

/// One `acknowledge` item of a plan and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    pub change: crate::plan::AcknowledgedChange,
    pub span: crate::diagnostics::Span,
}

/// `spec.monitoring`, checked; every part is off unless the plan asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Monitoring {
    pub prometheus_rule: Option<PrometheusRuleSettings>,
    /// The Pushgateway's base URL, without a trailing slash.
    pub pushgateway_url: Option<String>,
    pub dashboard: Option<DashboardSettings>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrometheusRuleSettings {
    pub labels: BTreeMap<String, String>,
    pub severity: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardSettings {
    pub labels: BTreeMap<String, String>,
    /// Where the ConfigMap goes (`dashboard.namespace`, else the plan's).
    pub namespace: String,
}

/// Index of a plan in [`Model::plans`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PlanId(pub usize);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logging {
    pub file_level: String,
    pub max_files: u32,
    pub max_age: String,
}

/// Where an entry was written, for the source annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub line: u32,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// A Kopia snapshot source: `username@hostname:path`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Identity {
    pub username: String,
    pub hostname: String,
    pub path: String,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}:{}", self.username, self.hostname, self.path)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub name: String,
    pub secret_name: String,
    pub location: RepositoryLocation,
    pub custom_ca: Option<CustomCa>,
    pub create: CreatePolicy,
    /// Where in the storage the repository is: the URL's way or VolSync's.
    pub layout: RepositoryLayout,
    /// Creation options and throttle, as Kopia flags.
    pub options: RepositoryOptions,
}

impl Repository {
    /// The repository for reviewers and for `diff --guard`: its
    /// [`place`](Self::place), or `secret:<name>` when the Secret's
    /// `KOPIA_REPOSITORY` holds it, or `pvc:<claim>:<path>`.
    pub fn described(&self) -> String {
        match &self.location {
            RepositoryLocation::FromSecret => match self.layout {
                RepositoryLayout::Url => format!("secret:{}", self.secret_name),
                RepositoryLayout::VolSync => {
                    format!("secret:{} (VolSync's layout)", self.secret_name)
                }
            },
            RepositoryLocation::Url(_) => self.place(),
            RepositoryLocation::Claim { .. } => format!("pvc:{}", self.location.normalised()),
        }
    }

    /// Where the repository is, in one spelling, for telling whether two
    /// declarations are one repository (maintenance, collisions). A URL
    /// in the plan is already where the layout puts it (VolSync's keeps a
    /// GCS, B2 or Azure repository at the bucket's root); a URL only the
    /// Secret holds may land in another place under each layout, so the
    /// layout is part of it then.
    pub fn place(&self) -> String {
        match (&self.location, self.layout) {
            (RepositoryLocation::FromSecret, RepositoryLayout::VolSync) => {
                "KOPIA_REPOSITORY (VolSync's layout)".to_owned()
            }
            _ => self.location.normalised(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RepositoryLocation {
    /// `KOPIA_REPOSITORY` from the Secret.
    FromSecret,
    /// A URL written in the plan.
    Url(String),
    /// A filesystem repository on a PVC, mounted at [`FILESYSTEM_REPOSITORY_MOUNT`].
    Claim { claim_name: String, path: String },
}

impl Model {
    /// The common part of every entry, in emission order.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        let backups = self.backups.iter().map(|b| &b.entry);
        let restores = self.restores.iter().map(|r| &r.entry);
        let verifies = self.verifies.iter().map(|v| &v.entry);
        let maintenance = self.maintenance.iter().map(|m| &m.entry);
        let replicas = self.replicas.iter().map(|r| &r.entry);
        backups
            .chain(restores)
            .chain(verifies)
            .chain(maintenance)
            .chain(replicas)
    }
}

impl RepositoryLocation {
    /// The location in one spelling, for comparing repositories: URLs and
    /// paths with doubled and trailing slashes removed. Collision checks,
    /// maintenance ownership and `explain` compare this.
    pub fn normalised(&self) -> String {
        use crate::kopia::backend::{normalise_path, normalise_url};
        match self {
            RepositoryLocation::FromSecret => "KOPIA_REPOSITORY".to_owned(),
            RepositoryLocation::Url(url) => normalise_url(url),
            RepositoryLocation::Claim { claim_name, path } => {
                format!("{claim_name}:{}", normalise_path(path))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomCa {
    pub source: CaSource,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaSource {
    ConfigMap(String),
    Secret(String),
}

/// When an entry runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// A CronJob.
    Scheduled(Schedule),
    /// A Job that runs once per token.
    Manual { token: String },
    /// A suspended CronJob, started with `kubectl create job --from=cronjob/…`.
    OnDemand,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// The schedule as written, `H` tokens included.
    pub written: String,
    /// The schedule the CronJob gets: `H` replaced.
    pub cron: String,
    pub time_zone: Option<String>,
    pub suspended: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Copy {
    /// Mount the PVC read-only; `workload_selector` pins the mover to the
    /// node of the pod using a ReadWriteOnce volume.
    Direct {
        workload_selector: BTreeMap<String, String>,
    },
    /// A generic ephemeral volume cloned from the PVC.
    Clone {
        capacity: String,
        storage_class_name: Option<String>,
        /// The source PVC's access modes when it is known (VolSync's
        /// choice); empty: ReadWriteOnce.
        access_modes: Vec<String>,
    },
    /// A launcher takes a VolumeSnapshot of the PVC and runs the mover on a
    /// generic ephemeral volume restored from it.
    Snapshot {
        capacity: String,
        storage_class_name: Option<String>,
        volume_snapshot_class_name: Option<String>,
        /// As for `Clone`.
        access_modes: Vec<String>,
    },
}

impl Copy {
    pub fn method(&self) -> &'static str {
        match self {
            Copy::Direct { .. } => "Direct",
            Copy::Clone { .. } => "Clone",
            Copy::Snapshot { .. } => "Snapshot",
        }
    }

    /// A `Clone` or `Snapshot` copy whose volume may only be read (its
    /// access modes are ReadOnlyMany alone): the mover mounts it read-only.
    pub fn stages_read_only(&self) -> bool {
        match self {
            Copy::Clone { access_modes, .. } | Copy::Snapshot { access_modes, .. } => {
                !access_modes.is_empty() && access_modes.iter().all(|m| m == "ReadOnlyMany")
            }
            Copy::Direct { .. } => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cache {
    pub capacity: String,
    /// Limits passed to Kopia so its caches stay inside the volume
    /// (`--content-cache-size-limit-mb`, `--metadata-cache-size-limit-mb`);
    /// 0 is Kopia's own default: no hard limit.
    pub content_cache_mb: u64,
    pub metadata_cache_mb: u64,
    pub persistent: Option<PersistentCache>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PersistentCache {
    pub claim_name: String,
    pub storage_class_name: Option<String>,
    pub access_modes: Vec<String>,
    /// The user's own PVC (`cache.claimName`): mounted, never generated.
    pub existing: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mover {
    pub resources: Option<ResourceRequirements>,
    pub pod_labels: BTreeMap<String, String>,
    pub node_selector: BTreeMap<String, String>,
    pub tolerations: Vec<Toleration>,
    pub affinity: Option<Affinity>,
    pub security_context: Option<PodSecurityContext>,
    /// A ServiceAccount the user manages; else one is generated.
    pub service_account_name: Option<String>,
    pub privileged: bool,
    pub priority_class_name: Option<String>,
    /// Extra volumes, each mounted under [`paths::MOVER_VOLUMES`].
    pub volumes: Vec<MoverVolume>,
}

/// A volume the plan mounts into the mover (`mover.volumes`).
#[derive(Debug, Clone, PartialEq)]
pub struct MoverVolume {
    /// The pod volume's name (`mnt-…`), unique among the pod's volumes.
    pub name: String,
    /// Absolute: `/mnt/<mountPath>`.
    pub mount_path: String,
    pub source: MoverVolumeSource,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MoverVolumeSource {
    Secret(SecretVolumeSource),
    Nfs(NFSVolumeSource),
    Claim(PersistentVolumeClaimVolumeSource),
}

impl MoverVolume {
    /// Secrets are always mounted read-only; NFS and claims as their
    /// source says.
    pub fn read_only(&self) -> bool {
        match &self.source {
            MoverVolumeSource::Secret(_) => true,
            MoverVolumeSource::Nfs(nfs) => nfs.read_only.unwrap_or(false),
            MoverVolumeSource::Claim(claim) => claim.read_only.unwrap_or(false),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jobs {
    pub starting_deadline_seconds: i64,
    pub active_deadline_seconds: i64,
    pub backoff_limit: i32,
    /// For CronJob-created Jobs; manual Jobs keep theirs unless asked, so
    /// that re-applying the same token stays a no-op.
    pub ttl_seconds_after_finished: i32,
    pub manual_ttl_seconds_after_finished: Option<i32>,
    pub successful_jobs_history_limit: i32,
    pub failed_jobs_history_limit: i32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Actions {
    pub before_snapshot: Option<String>,
    pub after_snapshot: Option<String>,
    pub timeout_seconds: u32,
}

/// The names of the objects generated for one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub cron_job: String,
    /// The Job of a manual trigger (only for [`Run::Manual`]).
    pub job: Option<String>,
    pub service_account: String,
    /// The source's policy (backups only).
    pub policy_config_map: String,
    /// The name of the `<plan>-scripts` ConfigMap before its content hash.
    pub scripts_prefix: String,
    /// The objects of a Snapshot launcher, when the entry has one.
    pub launcher: Option<LauncherNames>,
}

/// A launcher's own objects and the fixed names of what it creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LauncherNames {
    pub service_account: String,
    pub role: String,
    pub role_binding: String,
    /// The ConfigMap holding the manifests the launcher creates.
    pub manifests_config_map: String,
    /// The mover Job the launcher creates.
    pub mover_job: String,
    /// The VolumeSnapshot the launcher creates.
    pub volume_snapshot: String,
    /// The launcher's ValidatingAdmissionPolicy and its binding
    /// (cluster-scoped, so the name holds the namespace).
    pub admission_policy: String,
}

/// What an entry does; the `app.kubernetes.io/component` of its objects
/// and the word in their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    Backup,
    Restore,
    Verify,
    Maintenance,
    /// An off-site copy of a repository.
    Replica,
    /// Not an entry: the alert rules and dashboards of `spec.monitoring`.
    Monitoring,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Backup => "backup",
            Component::Restore => "restore",
            Component::Verify => "verify",
            Component::Maintenance => "maintenance",
            Component::Replica => "replica",
            Component::Monitoring => "monitoring",
        }
    }

    /// How messages name an entry of this kind, before its name.
    pub fn noun(self) -> &'static str {
        match self {
            Component::Backup => "backup",
            Component::Restore => "restore",
            Component::Verify => "verify entry",
            Component::Maintenance => "maintenance",
            Component::Replica => "replica",
            Component::Monitoring => "monitoring of plan",
        }
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The part every entry has, whatever it does: where it was written, the
/// Kopia identity it runs as, its repository, when it runs, its mover and
/// the names of its objects. Backups, restores, restore drills and
/// maintenance each add their own fields around it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub plan: PlanId,
    pub component: Component,
    /// The entry's name; for maintenance, the repository's name.
    pub name: String,
    pub namespace: String,
    pub origin: Origin,
    /// Where the entry starts in its input, for diagnostics of later stages.
    pub span: crate::diagnostics::Span,
    /// The Kopia source it writes or reads; for maintenance, the owner it
    /// claims and runs as.
    pub identity: Identity,
    pub repository: Repository,
    pub run: Run,
    pub cache: Cache,
    pub mover: Mover,
    pub jobs: Jobs,
    pub names: Names,
}

impl Entry {
    /// The object that runs the entry: its Job for a manual run, else its
    /// CronJob.
    pub fn run_object_name(&self) -> &str {
        match (&self.run, &self.names.job) {
            (Run::Manual { .. }, Some(job)) => job,
            _ => &self.names.cron_job,
        }
    }

    /// Every object generated for the entry that could clash with another
    /// entry's, by kind.
    pub fn object_names(&self) -> Vec<(&'static str, &str)> {
        let names = &self.names;
        let mut objects = Vec::new();
        if self.mover.service_account_name.is_none() {
            objects.push(("ServiceAccount", names.service_account.as_str()));
        }
        if !names.policy_config_map.is_empty() {
            objects.push(("ConfigMap", names.policy_config_map.as_str()));
        }
        match (&self.run, &names.job) {
            (Run::Manual { .. }, Some(job)) => objects.push(("Job", job.as_str())),
            _ => objects.push(("CronJob", names.cron_job.as_str())),
        }
        if let Some(persistent) = self.cache.persistent.as_ref().filter(|p| !p.existing) {
            objects.push(("PersistentVolumeClaim", persistent.claim_name.as_str()));
        }
        if let Some(launcher) = &names.launcher {
            objects.extend([
                ("ServiceAccount", launcher.service_account.as_str()),
                ("Role", launcher.role.as_str()),
                ("RoleBinding", launcher.role_binding.as_str()),
                ("ConfigMap", launcher.manifests_config_map.as_str()),
            ]);
        }
        objects
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Backup {
    pub entry: Entry,
    pub source: Source,
    pub parallelism: Option<u32>,
    pub actions: Actions,
    /// Commands the launcher runs in the application's pods.
    pub hooks: Option<hooks::WorkloadHooks>,
    /// The resolved Kopia policy of this source (`kopia policy import` value).
    pub policy: serde_json::Value,
    /// Each field of `policy` and the place of the plan it comes from.
    pub policy_sources: Vec<PolicySetting>,
    /// Extra `kopia snapshot create` arguments, verbatim.
    pub additional_args: Vec<String>,
    /// VolSync-style policy files (`policyConfig`).
    pub policy_files: Option<PolicyFiles>,
    /// The `pvcSelector` or `statefulSet` entry it was expanded from.
    pub expansion: Option<Expansion>,
    /// Mover settings taken from the workload that mounts the claim.
    pub inferred: Vec<Inferred>,
}

/// One field of a source's resolved policy, and where the plan sets it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicySetting {
    /// Kopia's path, such as `retention.keepDaily`.
    pub field: String,
    /// The value, as JSON.
    pub value: String,
    /// The place, such as ``the entry's `retain` `` or `` `defaults.policy` ``.
    pub from: String,
}

/// VolSync-style policy files of an entry (`policyConfig`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFiles {
    /// The ConfigMap or Secret mounted read-only at [`paths::POLICY_FILES`].
    pub source: Option<PolicyFilesSource>,
    /// Keys of the mounted object (file names in the mount).
    pub global_policy_filename: String,
    pub repository_config_filename: String,
    /// The inline `repositoryConfig`, checked; its values win over the file's.
    pub settings: RepositorySettings,
    /// The global policy file translated from VolSync's format into
    /// Kopia's (when the object is in the input or the context and the
    /// file needed it): imported instead of the mounted file.
    pub translated_global_policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyFilesSource {
    ConfigMap(String),
    Secret(String),
}

/// VolSync's "repository config": the settings Kopia gets when it connects.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepositorySettings {
    /// `true`: Kopia runs its policies' actions (`--enable-actions`);
    /// `false`: the plan's `actions` are skipped too, as VolSync does.
    pub enable_actions: Option<bool>,
    /// Bytes per second (`--max-upload-speed`), the JSON number as written.
    pub upload_speed: Option<String>,
    /// Bytes per second (`--max-download-speed`).
    pub download_speed: Option<String>,
}

/// The mover's file layout: shared by the pod spec (emit) and the scripts.
pub mod paths {
    /// Where the volume to back up is mounted; also Kopia's default source
    /// path, the same as VolSync's so that identities carry over.
    pub const DATA: &str = "/data";
    /// Where a restore mounts the volume it writes: below a writable
    /// emptyDir, because Kopia's restore removes `<target>.kopia-entry`
    /// beside its target when it finishes, which fails on a read-only root
    /// filesystem (`unlinkat //data.kopia-entry: read-only file system`).
    pub const RESTORE_TARGET: &str = "/kopiaplan/restore/data";
    /// The emptyDir that holds [`RESTORE_TARGET`].
    pub const RESTORE_PARENT: &str = "/kopiaplan/restore";
    pub const SCRIPTS: &str = "/kopiaplan/scripts";
    pub const POLICY: &str = "/kopiaplan/policy";
    /// The key (and file in [`POLICY`]) of a global policy translated from
    /// VolSync's format.
    pub const TRANSLATED_GLOBAL_POLICY: &str = "global-policy.json";
    /// The ConfigMap or Secret of `policyConfig`.
    pub const POLICY_FILES: &str = "/kopiaplan/policy-config";
    /// Kopia's cache and logs.
    pub const CACHE: &str = "/kopiaplan/cache";
    /// Kopia's config file: a memory-backed emptyDir, because Kopia writes
    /// the storage credentials it was given into it.
    pub const CONFIG: &str = "/kopiaplan/config";
    /// `HOME`: a writable emptyDir.
    pub const HOME: &str = "/kopiaplan/home";
    pub const TMP: &str = "/tmp";
    pub const CUSTOM_CA: &str = "/kopiaplan/ca";
    /// The repository Secret's credential files (SFTP key, GCS JSON…).
    pub const CREDENTIALS: &str = "/kopiaplan/credentials";
    /// A replica's destination Secret's credential files: never the
    /// repository's, so neither side reads the other's.
    pub const REPLICA_CREDENTIALS: &str = "/kopiaplan/replica-credentials";
    /// Where a PVC repository is mounted.
    pub const FILESYSTEM_REPOSITORY: &str = "/kopiaplan/repository";
    /// Where `mover.volumes` are mounted, each at `/mnt/<mountPath>`.
    pub const MOVER_VOLUMES: &str = "/mnt";
    pub const TERMINATION_LOG: &str = "/dev/termination-log";
    /// The emptyDir Kopia's container shares with a container of the
    /// user's (stream sources, restore checks): the pipe and the markers.
    pub const STREAM: &str = "/kopiaplan/stream";
    /// A restore check's scratch volume, where Kopia restores the snapshot.
    pub const SCRATCH: &str = "/kopiaplan/scratch";
}
