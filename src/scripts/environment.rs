//! The mover scripts' environment contract. A mover takes the whole
//! repository Secret through `envFrom`, so that Kopia's and the cloud SDKs'
//! own variables keep working; anything the compiler leaves unset would come
//! from that Secret. So every variable that steers the scripts or the shell
//! is set by the compiler in `env` (which wins over `envFrom`), empty when
//! unused, and the scripts read nothing else but the backends' keys
//! (`kopia::backend::secret_keys`).

// The scripts' own settings, decided by the compiler. Every mover sets
// every one of them; an entry that has no use for one sets it empty. The
// emitter names them by these constants, and the templates by the keys of
// [`template_names`] (`{{ env.before_snapshot }}`), so that a template
// naming a variable that is not here fails to render.

/// Seconds a `beforeSnapshot` or `afterSnapshot` action may run.
pub const ACTION_TIMEOUT: &str = "KOPIAPLAN_ACTION_TIMEOUT";
/// The `afterSnapshot` action: a command for `bash -c`.
pub const AFTER_SNAPSHOT: &str = "KOPIAPLAN_AFTER_SNAPSHOT";
/// The `beforeSnapshot` action: a command for `bash -c`.
pub const BEFORE_SNAPSHOT: &str = "KOPIAPLAN_BEFORE_SNAPSHOT";
/// `--content-cache-size-limit-mb`.
pub const CONTENT_CACHE_MB: &str = "KOPIAPLAN_CONTENT_CACHE_MB";
/// Whether a backup creates a missing repository: `IfMissing` or `Never`.
pub const CREATE: &str = "KOPIAPLAN_CREATE";
/// The mounted custom CA bundle, for every HTTPS backend.
pub const CUSTOM_CA: &str = "KOPIAPLAN_CUSTOM_CA";
/// `true`: a restore passes `--delete-extra`.
pub const DELETE_EXTRA: &str = "KOPIAPLAN_DELETE_EXTRA";
/// `policyConfig`'s `downloadSpeed`, bytes per second.
pub const DOWNLOAD_SPEED: &str = "KOPIAPLAN_DOWNLOAD_SPEED";
/// `policyConfig`'s `enableActions`: `true`, `false` or empty.
pub const ENABLE_ACTIONS: &str = "KOPIAPLAN_ENABLE_ACTIONS";
/// `policyConfig`'s global policy file, imported before a backup.
pub const GLOBAL_POLICY_FILE: &str = "KOPIAPLAN_GLOBAL_POLICY_FILE";
/// The identity's hostname (`--override-hostname`).
pub const HOSTNAME: &str = "KOPIAPLAN_HOSTNAME";
/// `true`: a missing snapshot lists every hostname's sources.
pub const LIST_ALL_HOSTNAMES: &str = "KOPIAPLAN_LIST_ALL_HOSTNAMES";
/// Where in the storage the repository is: `Url` or `VolSync`
/// (`plan::RepositoryLayout`); `VolSync` makes the mover choose the backend
/// from the Secret's keys and keep GCS, B2 and Azure at the root.
pub const LAYOUT: &str = "KOPIAPLAN_LAYOUT";
/// Kopia's `--file-log-level`.
pub const LOG_LEVEL: &str = "KOPIAPLAN_LOG_LEVEL";
/// `--metadata-cache-size-limit-mb`.
pub const METADATA_CACHE_MB: &str = "KOPIAPLAN_METADATA_CACHE_MB";
/// A restore without a matching snapshot: `Fail` or `Succeed`.
pub const ON_MISSING_SNAPSHOT: &str = "KOPIAPLAN_ON_MISSING_SNAPSHOT";
/// `true`: a restore writes only into an empty volume (`onlyIfEmpty`).
pub const ONLY_IF_EMPTY: &str = "KOPIAPLAN_ONLY_IF_EMPTY";
/// The mover's namespace (downward API) when it pushes metrics; the
/// Pushgateway groups by it.
pub const NAMESPACE: &str = "KOPIAPLAN_NAMESPACE";
/// `snapshot create --parallel`.
pub const PARALLELISM: &str = "KOPIAPLAN_PARALLELISM";
/// How many snapshots before the newest a restore takes.
pub const PREVIOUS: &str = "KOPIAPLAN_PREVIOUS";
/// Where the mover pushes its run metrics: the Pushgateway's grouping URL
/// up to the namespace (`…/metrics/job/kopiaplan/kopiaplan_plan/P/…`);
/// empty: no push.
pub const PUSHGATEWAY_URL: &str = "KOPIAPLAN_PUSHGATEWAY_URL";
/// `policyConfig`'s repository settings file.
pub const REPOSITORY_CONFIG_FILE: &str = "KOPIAPLAN_REPOSITORY_CONFIG_FILE";
/// A restore's time bound, as written (UTC).
pub const RESTORE_AS_OF: &str = "KOPIAPLAN_RESTORE_AS_OF";
/// The same bound in nanoseconds since the epoch.
pub const RESTORE_AS_OF_NANOS: &str = "KOPIAPLAN_RESTORE_AS_OF_NANOS";
/// `true`: a restore drill restores the newest snapshot into the scratch
/// volume and waits for the check container's verdict (`restoreCheck`).
pub const RESTORE_CHECK: &str = "KOPIAPLAN_RESTORE_CHECK";
/// The file a stream backup stores the dump container's output as, or a
/// stream restore feeds to the command container; empty: not a stream.
pub const STREAM_FILE: &str = "KOPIAPLAN_STREAM_FILE";
/// The identity's path (`--override-source` when not `/data`).
pub const SOURCE_PATH: &str = "KOPIAPLAN_SOURCE_PATH";
/// The storage flags the repository URL gives, one per line, when the plan
/// names the URL (`kopia::backend::storage_flags`); empty when only the
/// Secret's `KOPIA_REPOSITORY` does, and the mover reads the URL itself.
pub const STORAGE_FLAGS: &str = "KOPIAPLAN_STORAGE_FLAGS";
/// `policyConfig`'s `uploadSpeed`, bytes per second.
pub const UPLOAD_SPEED: &str = "KOPIAPLAN_UPLOAD_SPEED";
/// The identity's username (`--override-username`).
pub const USERNAME: &str = "KOPIAPLAN_USERNAME";
/// `snapshot verify --verify-files-percent`.
pub const VERIFY_FILES_PERCENT: &str = "KOPIAPLAN_VERIFY_FILES_PERCENT";

/// `kopia repository create` flags of the repository's `creation`, one
/// per line.
pub const CREATE_FLAGS: &str = "KOPIAPLAN_CREATE_FLAGS";
/// `kopia repository set-parameters` flags applied right after creation,
/// one per line.
pub const PARAMETER_FLAGS: &str = "KOPIAPLAN_PARAMETER_FLAGS";
/// `kopia repository throttle set` flags applied on every run, one per line.
pub const THROTTLE_FLAGS: &str = "KOPIAPLAN_THROTTLE_FLAGS";
/// Maintenance: `quick` or `full`.
pub const MAINTENANCE_MODE: &str = "KOPIAPLAN_MAINTENANCE_MODE";
/// Maintenance: `Claim` or `Yield`.
pub const OWNERSHIP: &str = "KOPIAPLAN_OWNERSHIP";
/// A replica: `Blobs` or `Snapshots`.
pub const REPLICA_MODE: &str = "KOPIAPLAN_REPLICA_MODE";
/// A replica Job's direction: `copy` (to the destination) or `seed` (from
/// it into the empty repository).
pub const REPLICA_DIRECTION: &str = "KOPIAPLAN_REPLICA_DIRECTION";
/// A replica's destination URL.
pub const REPLICA_URL: &str = "KOPIAPLAN_REPLICA_URL";
/// The storage flags of the destination URL, one per line.
pub const REPLICA_STORAGE_FLAGS: &str = "KOPIAPLAN_REPLICA_STORAGE_FLAGS";
/// The prefix of the destination Secret's keys in a replica's environment
/// (`envFrom` with a prefix): the source's keys keep their names, so the
/// two never collide; the mover swaps them after connecting to the source.
pub const DESTINATION_PREFIX: &str = "REPLICA_DESTINATION_";

/// Every setting above.
pub const SETTINGS: &[&str] = &[
    ACTION_TIMEOUT,
    AFTER_SNAPSHOT,
    BEFORE_SNAPSHOT,
    CONTENT_CACHE_MB,
    CREATE,
    CREATE_FLAGS,
    CUSTOM_CA,
    DELETE_EXTRA,
    DOWNLOAD_SPEED,
    ENABLE_ACTIONS,
    GLOBAL_POLICY_FILE,
    HOSTNAME,
    LAYOUT,
    LIST_ALL_HOSTNAMES,
    LOG_LEVEL,
    MAINTENANCE_MODE,
    METADATA_CACHE_MB,
    NAMESPACE,
    ON_MISSING_SNAPSHOT,
    ONLY_IF_EMPTY,
    OWNERSHIP,
    PARALLELISM,
    PARAMETER_FLAGS,
    PREVIOUS,
    PUSHGATEWAY_URL,
    REPLICA_DIRECTION,
    REPLICA_MODE,
    REPLICA_STORAGE_FLAGS,
    REPLICA_URL,
    REPOSITORY_CONFIG_FILE,
    RESTORE_AS_OF,
    RESTORE_AS_OF_NANOS,
    RESTORE_CHECK,
    SOURCE_PATH,
    STORAGE_FLAGS,
    STREAM_FILE,
    THROTTLE_FLAGS,
    UPLOAD_SPEED,
    USERNAME,
    VERIFY_FILES_PERCENT,
];

/// The settings by the key templates write: `env.before_snapshot` is
/// `KOPIAPLAN_BEFORE_SNAPSHOT`.
pub fn template_names() -> std::collections::BTreeMap<String, &'static str> {
    SETTINGS
        .iter()
        .map(|name| (template_key(name), *name))
        .collect()
}

fn template_key(name: &str) -> String {
    name.strip_prefix("KOPIAPLAN_")
        .unwrap_or(name)
        .to_ascii_lowercase()
}

/// Kopia's own variables with the paths it and the scripts use.
pub const KOPIA_PATHS: &[&str] = &[
    "HOME",
    "KOPIA_CACHE_DIRECTORY",
    "KOPIA_CONFIG_PATH",
    "KOPIA_LOG_DIR",
];

/// Variables bash, the dynamic loader and the C library read before (or
/// while) a script runs, with the values every mover gets. `BASH_ENV`
/// names a file bash runs before the script's first line; `SHELLOPTS` and
/// `BASHOPTS` switch options on (`xtrace` with a `PS4` that runs commands);
/// `LD_PRELOAD` loads a library into bash from any file the pod mounts, the
/// repository Secret's credential files included. Empty values are ignored
/// by bash and by glibc. Not listed: `IFS` (bash never imports it), and
/// exported functions (`BASH_FUNC_name%%`: a Secret key cannot hold `%`).
/// `POSIXLY_CORRECT` turns posix mode on even when empty, so it cannot be
/// overridden here: common.sh turns posix mode off instead.
pub const SHELL: &[(&str, &str)] = &[
    ("BASH_ENV", ""),
    ("ENV", ""),
    ("SHELLOPTS", ""),
    ("BASHOPTS", ""),
    ("BASH_XTRACEFD", ""),
    ("BASH_COMPAT", ""),
    ("PS4", "+ "),
    ("CDPATH", ""),
    ("GLOBIGNORE", ""),
    ("EXECIGNORE", ""),
    ("FUNCNEST", ""),
    ("TMOUT", ""),
    // The stock kopia/kopia image's PATH (ubuntu:jammy's).
    (
        "PATH",
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ),
    ("TMPDIR", crate::model::paths::TMP),
    ("LC_ALL", "C.UTF-8"),
    ("LD_PRELOAD", ""),
    ("LD_LIBRARY_PATH", ""),
    ("LD_AUDIT", ""),
    ("GCONV_PATH", ""),
    ("GLIBC_TUNABLES", ""),
];

/// The environment of a launcher that runs workload hooks
/// (templates/launcher-hooks.sh). The hooks' commands are its argv.
pub mod launcher {
    /// `Direct`, `Clone` or `Snapshot`: where the copy is cut.
    pub const COPY_METHOD: &str = "KOPIAPLAN_COPY_METHOD";
    /// The mover Job the launcher creates.
    pub const MOVER_JOB: &str = "KOPIAPLAN_MOVER_JOB";
    /// The VolumeSnapshot, as `volumesnapshot.<group>/<name>`.
    pub const VOLUME_SNAPSHOT: &str = "KOPIAPLAN_VOLUME_SNAPSHOT";
    /// The mover pod's volume whose claim is the clone (`<pod>-<volume>`).
    pub const CLONE_VOLUME: &str = "KOPIAPLAN_CLONE_VOLUME";
    /// Seconds to wait for the snapshot or clone.
    pub const READY_TIMEOUT: &str = "KOPIAPLAN_READY_TIMEOUT";
    /// Seconds to wait for the mover Job.
    pub const MOVER_TIMEOUT: &str = "KOPIAPLAN_MOVER_TIMEOUT";
    /// `kubectl get pods --selector` of the application's pods.
    pub const HOOK_SELECTOR: &str = "KOPIAPLAN_HOOK_SELECTOR";
    /// The container hooks run in; empty: each pod's first container.
    pub const HOOK_CONTAINER: &str = "KOPIAPLAN_HOOK_CONTAINER";
    /// `One` or `All`.
    pub const HOOK_PODS: &str = "KOPIAPLAN_HOOK_PODS";
    /// How many words of argv are the `before` command (0: none).
    pub const BEFORE_ARGC: &str = "KOPIAPLAN_BEFORE_ARGC";
    /// How many words of argv, after `before`'s, are the `after` command.
    pub const AFTER_ARGC: &str = "KOPIAPLAN_AFTER_ARGC";
    pub const BEFORE_TIMEOUT: &str = "KOPIAPLAN_BEFORE_TIMEOUT";
    pub const AFTER_TIMEOUT: &str = "KOPIAPLAN_AFTER_TIMEOUT";
    /// `Fail` or `Continue`.
    pub const BEFORE_ON_ERROR: &str = "KOPIAPLAN_BEFORE_ON_ERROR";
    pub const AFTER_ON_ERROR: &str = "KOPIAPLAN_AFTER_ON_ERROR";

    /// Every launcher setting; the namespace is the movers' [`super::NAMESPACE`].
    pub const SETTINGS: &[&str] = &[
        super::NAMESPACE,
        COPY_METHOD,
        MOVER_JOB,
        VOLUME_SNAPSHOT,
        CLONE_VOLUME,
        READY_TIMEOUT,
        MOVER_TIMEOUT,
        HOOK_SELECTOR,
        HOOK_CONTAINER,
        HOOK_PODS,
        BEFORE_ARGC,
        AFTER_ARGC,
        BEFORE_TIMEOUT,
        AFTER_TIMEOUT,
        BEFORE_ON_ERROR,
        AFTER_ON_ERROR,
    ];

    /// Bounds the hooks launcher is rendered with (`timing.*` in the
    /// template), from which its pod's grace period and its Job's deadline
    /// are computed (src/emit/hooks.rs, src/emit/launcher.rs).
    pub mod timing {
        /// `timeout -k`: how long after its timeout a hook's `kubectl exec`
        /// is killed.
        pub const KILL_AFTER_SECONDS: i64 = 10;
        /// `--request-timeout` of the calls made while stopping.
        pub const REQUEST_TIMEOUT_SECONDS: i64 = 20;
        /// `delete --wait --timeout` of the previous run's leftovers
        /// (kubectl's own default is a week).
        pub const CLEANUP_SECONDS: i64 = 300;
        /// How long a Job with `SuccessCriteriaMet` or `FailureTarget` may
        /// take to get `Complete` or `Failed` (its pods to end: the mover's
        /// grace period is 120 s).
        pub const JOB_END_SECONDS: i64 = 300;
    }

    /// The settings by the key the template writes (`env.hook_selector`).
    pub fn template_names() -> std::collections::BTreeMap<String, &'static str> {
        SETTINGS
            .iter()
            .map(|name| (super::template_key(name), *name))
            .collect()
    }
}
