//! The mover scripts' environment contract. A mover takes the whole
//! repository Secret through `envFrom`, so that Kopia's and the cloud SDKs'
//! own variables keep working; anything the compiler leaves unset would come
//! from that Secret. So every variable that steers the scripts or the shell
//! is set by the compiler in `env` (which wins over `envFrom`), empty when
//! unused, and the scripts read nothing else but the backend keys below.

/// The scripts' own settings, decided by the compiler. Every mover sets
/// every one of them; an entry that has no use for one sets it empty.
pub const CONTROL: &[&str] = &[
    "KOPIAPLAN_ACTION_TIMEOUT",
    "KOPIAPLAN_AFTER_SNAPSHOT",
    "KOPIAPLAN_BEFORE_SNAPSHOT",
    "KOPIAPLAN_CONTENT_CACHE_MB",
    "KOPIAPLAN_CREATE",
    "KOPIAPLAN_CUSTOM_CA",
    "KOPIAPLAN_DELETE_EXTRA",
    "KOPIAPLAN_DOWNLOAD_SPEED",
    "KOPIAPLAN_ENABLE_ACTIONS",
    "KOPIAPLAN_GLOBAL_POLICY_FILE",
    "KOPIAPLAN_HOSTNAME",
    "KOPIAPLAN_LIST_ALL_HOSTNAMES",
    "KOPIAPLAN_LOG_LEVEL",
    "KOPIAPLAN_METADATA_CACHE_MB",
    "KOPIAPLAN_ON_MISSING_SNAPSHOT",
    "KOPIAPLAN_PARALLELISM",
    "KOPIAPLAN_PREVIOUS",
    "KOPIAPLAN_REPOSITORY_CONFIG_FILE",
    "KOPIAPLAN_RESTORE_AS_OF",
    "KOPIAPLAN_RESTORE_AS_OF_NANOS",
    "KOPIAPLAN_SOURCE_PATH",
    "KOPIAPLAN_UPLOAD_SPEED",
    "KOPIAPLAN_USERNAME",
    "KOPIAPLAN_VERIFY_FILES_PERCENT",
    // Paths Kopia and the scripts use.
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

/// Keys the scripts read from the repository Secret: where the repository
/// is and how to reach it, under Kopia's and VolSync's names. They are the
/// Secret's to decide; none of them runs a command.
pub const FROM_SECRET: &[&str] = &[
    "KOPIA_REPOSITORY",
    "KOPIA_S3_BUCKET",
    "KOPIA_S3_ENDPOINT",
    "KOPIA_S3_REGION",
    "KOPIA_S3_DISABLE_TLS",
    "AWS_S3_ENDPOINT",
    "AWS_S3_DISABLE_TLS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "KOPIA_GCS_BUCKET",
    "GCS_BUCKET",
    "KOPIA_AZURE_CONTAINER",
    "KOPIA_AZURE_STORAGE_ACCOUNT",
    "KOPIA_AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCOUNT",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_ACCOUNT_NAME",
    "AZURE_ACCOUNT_KEY",
    "AZURE_ACCOUNT_SAS",
    "AZURE_ENDPOINT_SUFFIX",
    "KOPIA_B2_BUCKET",
    "B2_KEY_ID",
    "B2_KEY",
    "B2_ACCOUNT_ID",
    "B2_APPLICATION_KEY",
    "WEBDAV_URL",
    "WEBDAV_USERNAME",
    "WEBDAV_PASSWORD",
    "KOPIA_WEBDAV_USERNAME",
    "KOPIA_WEBDAV_PASSWORD",
    "SFTP_HOST",
    "SFTP_PORT",
    "SFTP_USERNAME",
    "SFTP_PASSWORD",
    "SFTP_PATH",
    "RCLONE_REMOTE_PATH",
    "RCLONE_EXE",
    "GOOGLE_DRIVE_FOLDER_ID",
];
