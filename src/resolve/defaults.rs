//! The values kopiaplan chooses when a plan leaves a field out: the one place
//! they are written. The BackupPlan JSON Schema's "Default:" sentences are
//! generated from [`schema_defaults`], so the documentation cannot drift.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// `spec.kopia.image`.
pub const KOPIA_IMAGE: &str = crate::kopia::DEFAULT_IMAGE;
/// `spec.monitoring.prometheusRule.severity`.
pub const ALERT_SEVERITY: &str = "warning";
/// `spec.kopia.logging.fileLevel`.
pub const LOG_FILE_LEVEL: &str = "info";
/// `spec.kopia.logging.maxFiles`.
pub const LOG_MAX_FILES: u32 = 3;
/// `spec.kopia.logging.maxAge`.
pub const LOG_MAX_AGE: &str = "4h";
/// The official kubectl image: distroless, so launchers run one kubectl
/// command per container.
pub const DEFAULT_LAUNCHER_IMAGE: &str = "registry.k8s.io/kubectl:v1.33.0";
/// Launchers that run workload hooks need a shell, `timeout` and kubectl
/// (1.28 or later, for `wait --for=jsonpath` without a value): the
/// official kubectl image has no shell, so this one (Alpine, bash, kubectl
/// of the same minor version) is chosen on purpose. Overridable with
/// `spec.launcher.hooksImage`.
pub const HOOKS_LAUNCHER_IMAGE: &str = "docker.io/alpine/k8s:1.33.4";
/// How long a workload hook may run in each pod, unless it says.
pub const HOOK_TIMEOUT_SECONDS: u32 = 60;
/// `spec.launcher.snapshotReadyTimeoutSeconds`.
pub const SNAPSHOT_READY_TIMEOUT_SECONDS: u32 = 600;
/// `spec.launcher.admissionPolicy`.
pub const LAUNCHER_ADMISSION_POLICY: bool = true;
/// A launcher container runs one kubectl command: small, and bounded.
const LAUNCHER_CPU_REQUEST: &str = "10m";
const LAUNCHER_MEMORY_REQUEST: &str = "32Mi";
const LAUNCHER_MEMORY_LIMIT: &str = "128Mi";
/// A filesystem repository's directory inside its volume.
pub const FILESYSTEM_REPOSITORY_PATH: &str = "/repository";
/// The key of a custom CA bundle.
pub const CA_KEY: &str = "ca.crt";
/// The schedule of a backup that sets none.
pub const DEFAULT_SCHEDULE: &str = "H H * * *";
/// The schedule of a verify that sets none.
pub const DEFAULT_VERIFY_SCHEDULE: &str = "H H * * 0";
/// The schedule of full maintenance.
pub const DEFAULT_MAINTENANCE_SCHEDULE: &str = "H H * * *";
/// The schedule of quick maintenance: hourly, at a stable minute.
pub const DEFAULT_QUICK_MAINTENANCE_SCHEDULE: &str = "H * * * *";
/// The size of Kopia's cache volume.
pub const DEFAULT_CACHE_CAPACITY: &str = "8Gi";
/// The access mode of a persistent cache.
pub const CACHE_ACCESS_MODE: &str = "ReadWriteOnce";
/// CronJob `startingDeadlineSeconds`.
pub const STARTING_DEADLINE_SECONDS: i64 = 3600;
/// Job `activeDeadlineSeconds`.
pub const ACTIVE_DEADLINE_SECONDS: i64 = 86400;
/// Job `backoffLimit`.
pub const BACKOFF_LIMIT: i32 = 2;
/// Job `ttlSecondsAfterFinished`: a week.
pub const TTL_SECONDS_AFTER_FINISHED: i32 = 604_800;
/// CronJob `successfulJobsHistoryLimit`.
pub const SUCCESSFUL_JOBS_HISTORY_LIMIT: i32 = 3;
/// CronJob `failedJobsHistoryLimit`.
pub const FAILED_JOBS_HISTORY_LIMIT: i32 = 3;
/// How long each action may run, in seconds.
pub const ACTION_TIMEOUT_SECONDS: u32 = 300;
/// The path Kopia records for a volume's data.
pub const SOURCE_PATH: &str = crate::model::paths::DATA;
/// A stream backup's source path is `<this>/<fileName>`.
pub const STREAM_SOURCE_PATH: &str = "/stream";
/// The key of the global policy in a `policyConfig` ConfigMap or Secret.
pub const DEFAULT_GLOBAL_POLICY_FILENAME: &str = "global-policy.json";
/// The key of the repository settings in a `policyConfig` ConfigMap or Secret.
pub const DEFAULT_REPOSITORY_CONFIG_FILENAME: &str = "repository.config";

/// The resources of each launcher container.
pub fn default_launcher_resources() -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(
            [
                ("cpu".to_owned(), Quantity(LAUNCHER_CPU_REQUEST.into())),
                (
                    "memory".to_owned(),
                    Quantity(LAUNCHER_MEMORY_REQUEST.into()),
                ),
            ]
            .into(),
        ),
        limits: Some([("memory".to_owned(), Quantity(LAUNCHER_MEMORY_LIMIT.into()))].into()),
        ..Default::default()
    }
}

/// One field's default as the schema documents it: the `$defs` entry, the
/// property, and the text after "Default: ".
pub struct SchemaDefault {
    pub definition: &'static str,
    pub property: &'static str,
    pub text: String,
}

/// The "Default:" sentence of every BackupPlan field whose default is one
/// of the values above. `plan::json_schema` appends them to the fields'
/// descriptions.
pub fn schema_defaults() -> Vec<SchemaDefault> {
    let code = |value: &dyn std::fmt::Display| format!("`{value}`");
    let plain = |value: &dyn std::fmt::Display| value.to_string();
    let entry = |definition, property, text| SchemaDefault {
        definition,
        property,
        text,
    };
    let jobs = "JobSettings";
    vec![
        entry("KopiaSettings", "image", code(&KOPIA_IMAGE)),
        entry("LoggingSpec", "fileLevel", code(&LOG_FILE_LEVEL)),
        entry("PrometheusRuleSpec", "severity", code(&ALERT_SEVERITY)),
        entry("LoggingSpec", "maxFiles", plain(&LOG_MAX_FILES)),
        entry("LoggingSpec", "maxAge", code(&LOG_MAX_AGE)),
        entry("LauncherSettings", "image", code(&DEFAULT_LAUNCHER_IMAGE)),
        entry(
            "LauncherSettings",
            "hooksImage",
            code(&HOOKS_LAUNCHER_IMAGE),
        ),
        entry("HookSpec", "timeoutSeconds", plain(&HOOK_TIMEOUT_SECONDS)),
        entry(
            "LauncherSettings",
            "snapshotReadyTimeoutSeconds",
            plain(&SNAPSHOT_READY_TIMEOUT_SECONDS),
        ),
        entry(
            "LauncherSettings",
            "admissionPolicy",
            code(&LAUNCHER_ADMISSION_POLICY),
        ),
        entry(
            "LauncherSettings",
            "resources",
            format!(
                "requests `cpu: {LAUNCHER_CPU_REQUEST}`,\n`memory: {LAUNCHER_MEMORY_REQUEST}`; \
                 limit `memory: {LAUNCHER_MEMORY_LIMIT}`"
            ),
        ),
        entry(
            "FilesystemRepository",
            "path",
            code(&FILESYSTEM_REPOSITORY_PATH),
        ),
        entry("CustomCa", "key", code(&CA_KEY)),
        entry(
            "MaintenanceSpec",
            "schedule",
            code(&DEFAULT_MAINTENANCE_SCHEDULE),
        ),
        entry("CacheSpec", "capacity", code(&DEFAULT_CACHE_CAPACITY)),
        entry(
            "CacheSpec",
            "accessModes",
            format!("`[{CACHE_ACCESS_MODE}]`"),
        ),
        entry(
            jobs,
            "startingDeadlineSeconds",
            plain(&STARTING_DEADLINE_SECONDS),
        ),
        entry(
            jobs,
            "activeDeadlineSeconds",
            plain(&ACTIVE_DEADLINE_SECONDS),
        ),
        entry(jobs, "backoffLimit", plain(&BACKOFF_LIMIT)),
        entry(
            jobs,
            "ttlSecondsAfterFinished",
            format!("{TTL_SECONDS_AFTER_FINISHED} (a week)"),
        ),
        entry(
            jobs,
            "successfulJobsHistoryLimit",
            plain(&SUCCESSFUL_JOBS_HISTORY_LIMIT),
        ),
        entry(
            jobs,
            "failedJobsHistoryLimit",
            plain(&FAILED_JOBS_HISTORY_LIMIT),
        ),
        entry("BackupSpec", "sourcePathOverride", code(&SOURCE_PATH)),
        entry("Actions", "timeoutSeconds", plain(&ACTION_TIMEOUT_SECONDS)),
        entry(
            "PolicyConfig",
            "globalPolicyFilename",
            code(&DEFAULT_GLOBAL_POLICY_FILENAME),
        ),
        entry(
            "PolicyConfig",
            "repositoryConfigFilename",
            code(&DEFAULT_REPOSITORY_CONFIG_FILENAME),
        ),
        entry("RestoreSpec", "sourcePathOverride", code(&SOURCE_PATH)),
        entry("SourceIdentity", "sourcePathOverride", code(&SOURCE_PATH)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every documented default names a field of the schema, and says
    /// "Default:" once: the doc comment no longer writes it by hand.
    #[test]
    fn every_schema_default_documents_one_field_once() {
        let schema = crate::plan::json_schema();
        for default in schema_defaults() {
            let description =
                schema["$defs"][default.definition]["properties"][default.property]["description"]
                    .as_str()
                    .unwrap_or_else(|| {
                        panic!(
                            "{}.{} is not a documented field of the schema",
                            default.definition, default.property
                        )
                    });
            assert!(
                description.ends_with(&format!("Default: {}.", default.text)),
                "{description}"
            );
            assert_eq!(description.matches("Default:").count(), 1, "{description}");
        }
    }

    /// The launcher resources the schema describes are the ones applied.
    #[test]
    fn launcher_resources_are_the_documented_ones() {
        let resources = default_launcher_resources();
        let requests = resources.requests.unwrap_or_default();
        assert_eq!(requests["cpu"].0, LAUNCHER_CPU_REQUEST);
        assert_eq!(requests["memory"].0, LAUNCHER_MEMORY_REQUEST);
        assert_eq!(
            resources.limits.unwrap_or_default()["memory"].0,
            LAUNCHER_MEMORY_LIMIT
        );
    }
}
