//! The mover pod: the Kopia container, its environment, volumes and
//! security settings. Restricted Pod Security Standard by default; the
//! `privileged` opt-in adds exactly root and DAC_OVERRIDE, CHOWN, FOWNER.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvFromSource,
    EnvVar, EnvVarSource, EphemeralVolumeSource, KeyToPath, PersistentVolumeClaimSpec,
    PersistentVolumeClaimTemplate, PersistentVolumeClaimVolumeSource, PodAffinity, PodAffinityTerm,
    PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile,
    SecretEnvSource, SecretKeySelector, SecretVolumeSource, SecurityContext,
    TypedLocalObjectReference, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::kopia::CREDENTIAL_FILES;
use crate::model::{CaSource, Cache, Entry, Mover, Plan, RepositoryLocation, paths};
use crate::scripts::environment;

/// The non-root user and group the mover runs as by default.
pub const MOVER_USER: i64 = 65532;
/// The name of a mover pod's Kopia container, whose termination message is
/// the run's result line (`kopiaplan status` reads it by this name).
pub const MOVER_CONTAINER: &str = "kopia";

/// Kubernetes expands `$(VAR)` and turns `$$` into `$` in a container's
/// `command`, `args` and `env` values. Doubling every `$` makes a value reach
/// the process exactly as written in the plan.
pub fn escape_dollars(value: &str) -> String {
    value.replace('$', "$$")
}

pub fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.into()),
        value_from: None,
    }
}

/// A value from the plan: `$` escaped so it arrives verbatim.
pub fn user_env(name: &str, value: &str) -> EnvVar {
    env(name, escape_dollars(value))
}

fn secret_env(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: key.to_owned(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
    }
}

pub(super) fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.to_owned(),
        mount_path: path.to_owned(),
        read_only: Some(read_only),
        ..VolumeMount::default()
    }
}

pub(super) fn empty_dir(name: &str, size_limit: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource {
            size_limit: Some(Quantity(size_limit.to_owned())),
            ..EmptyDirVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// An emptyDir in memory (tmpfs): its files never reach a disk.
fn memory_dir(name: &str, size_limit: &str) -> Volume {
    Volume {
        name: name.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: Some("Memory".into()),
            size_limit: Some(Quantity(size_limit.to_owned())),
        }),
        ..Volume::default()
    }
}

pub(super) fn config_map_volume(
    name: &str,
    config_map: &str,
    items: Option<Vec<KeyToPath>>,
) -> Volume {
    Volume {
        name: name.to_owned(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map.to_owned(),
            default_mode: Some(0o444),
            items,
            optional: Some(false),
        }),
        ..Volume::default()
    }
}

/// The volume of a Secret's credential files: each key that is present, as
/// the file Kopia is pointed at. A key may be missing (a password instead
/// of an SFTP key, workload identity instead of a GCS key): `optional`, and
/// the mover fails with a clear message when it needs a file it lacks.
/// Readable by the non-root mover without an `fsGroup` (kubelet writes the
/// files as root); nothing else runs in the pod.
pub(super) fn credential_files_volume(
    name: &str,
    secret_name: &str,
    files: &[crate::kopia::backend::CredentialFile],
) -> Volume {
    Volume {
        name: name.to_owned(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret_name.to_owned()),
            default_mode: Some(0o444),
            items: Some(
                files
                    .iter()
                    .map(|(key, file)| KeyToPath {
                        key: (*key).to_owned(),
                        path: (*file).to_owned(),
                        mode: None,
                    })
                    .collect(),
            ),
            optional: Some(true),
        }),
        ..Volume::default()
    }
}

/// Where the mover's `/data` comes from.
pub enum DataVolume<'a> {
    /// No data volume (maintenance, verify).
    None,
    /// A PVC mounted as it is.
    Claim {
        claim_name: &'a str,
        read_only: bool,
        sub_path: Option<&'a str>,
    },
    /// A generic ephemeral volume made from a PVC (a clone) or a
    /// VolumeSnapshot (the mover's own copy; read-write by default).
    Ephemeral {
        source: TypedLocalObjectReference,
        capacity: &'a str,
        storage_class_name: Option<&'a str>,
        /// Empty: ReadWriteOnce.
        access_modes: &'a [String],
        sub_path: Option<&'a str>,
        read_only: bool,
    },
}

/// Everything one mover pod needs; the pieces every operation shares
/// (cache, repository, credentials, CA, identity, security) are built here.
pub struct MoverPod<'a> {
    pub plan: &'a Plan,
    /// Its identity is the one Kopia connects as (the source path is empty
    /// for maintenance); its repository, cache, mover and ServiceAccount
    /// are the pod's.
    pub entry: &'a Entry,
    /// The script in the scripts ConfigMap: `backup.sh`, `restore.sh`…
    pub script: &'a str,
    pub scripts_config_map: &'a str,
    pub data: DataVolume<'a>,
    /// Labels of the workload a `Direct` copy must run beside.
    pub workload_selector: Option<&'a BTreeMap<String, String>>,
    pub policy_config_map: Option<&'a str>,
    /// Operation-specific environment, after the shared variables.
    pub env: Vec<EnvVar>,
    /// Extra Kopia arguments, verbatim (argv).
    pub args: &'a [String],
    /// The mover writes its volume (a restore): its group gets write
    /// access, and the volume is mounted at `paths::RESTORE_TARGET`.
    pub writes_data: bool,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// The pod template of a mover.
pub fn mover_pod(spec: MoverPod<'_>) -> PodTemplateSpec {
    let repository = &spec.entry.repository;
    let identity = &spec.entry.identity;
    let cache = &spec.entry.cache;
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();

    // A restore writes its volume at a path whose parent is writable (see
    // `paths::RESTORE_TARGET`); every other mover reads it at `/data`.
    let data_path = if spec.writes_data {
        volumes.push(empty_dir("restore", "1Mi"));
        mounts.push(mount("restore", paths::RESTORE_PARENT, false));
        paths::RESTORE_TARGET
    } else {
        paths::DATA
    };
    match &spec.data {
        DataVolume::None => {}
        DataVolume::Claim {
            claim_name,
            read_only,
            sub_path,
        } => {
            volumes.push(Volume {
                name: "data".into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: (*claim_name).to_owned(),
                    read_only: Some(*read_only),
                }),
                ..Volume::default()
            });
            mounts.push(VolumeMount {
                sub_path: sub_path.map(str::to_owned),
                ..mount("data", data_path, *read_only)
            });
        }
        DataVolume::Ephemeral {
            source,
            capacity,
            storage_class_name,
            access_modes,
            sub_path,
            read_only,
        } => {
            volumes.push(Volume {
                name: "data".into(),
                ephemeral: Some(EphemeralVolumeSource {
                    volume_claim_template: Some(PersistentVolumeClaimTemplate {
                        metadata: Some(ObjectMeta {
                            labels: Some(spec.labels.clone()),
                            ..ObjectMeta::default()
                        }),
                        spec: PersistentVolumeClaimSpec {
                            access_modes: Some(if access_modes.is_empty() {
                                vec!["ReadWriteOnce".into()]
                            } else {
                                access_modes.to_vec()
                            }),
                            data_source: Some(source.clone()),
                            resources: Some(VolumeResourceRequirements {
                                requests: Some(
                                    [("storage".to_owned(), Quantity((*capacity).to_owned()))]
                                        .into(),
                                ),
                                ..VolumeResourceRequirements::default()
                            }),
                            storage_class_name: storage_class_name.map(str::to_owned),
                            ..PersistentVolumeClaimSpec::default()
                        },
                    }),
                }),
                ..Volume::default()
            });
            // A clone or a snapshot's copy is the mover's own, thrown away
            // with the pod: read-write unless the plan says otherwise, as
            // VolSync mounted it, so that a `beforeSnapshot` action can
            // write into it (a database dump).
            mounts.push(VolumeMount {
                sub_path: sub_path.map(str::to_owned),
                ..mount("data", data_path, *read_only)
            });
        }
    }

    // Kopia's cache and logs.
    match &cache.persistent {
        Some(persistent) => volumes.push(Volume {
            name: "cache".into(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: persistent.claim_name.clone(),
                read_only: Some(false),
            }),
            ..Volume::default()
        }),
        None => volumes.push(empty_dir("cache", &cache.capacity)),
    }
    mounts.push(mount("cache", paths::CACHE, false));
    // Kopia's config holds the storage credentials Kopia read from the
    // environment (S3 keys and the like): it lives in memory, so they are
    // never written to a disk, least of all to a persistent cache.
    volumes.push(memory_dir("config", "4Mi"));
    mounts.push(mount("config", paths::CONFIG, false));
    volumes.push(empty_dir("home", "64Mi"));
    mounts.push(mount("home", paths::HOME, false));
    volumes.push(empty_dir("tmp", "1Gi"));
    mounts.push(mount("tmp", paths::TMP, false));
    volumes.push(config_map_volume("scripts", spec.scripts_config_map, None));
    mounts.push(mount("scripts", paths::SCRIPTS, true));
    if let Some(policy) = spec.policy_config_map {
        volumes.push(config_map_volume("policy", policy, None));
        mounts.push(mount("policy", paths::POLICY, true));
    }

    // Credential files (GCS and Drive JSON, SFTP key, known_hosts, rclone
    // config), from the repository Secret, where present.
    volumes.push(credential_files_volume(
        "credentials",
        &repository.secret_name,
        CREDENTIAL_FILES,
    ));
    mounts.push(mount("credentials", paths::CREDENTIALS, true));

    let plan = spec.plan;
    let creating = |flags: &[String]| match spec.entry.component {
        crate::model::Component::Backup => flags.join("\n"),
        _ => String::new(),
    };
    let mut env_vars = vec![
        env("HOME", paths::HOME),
        env(
            "KOPIA_CONFIG_PATH",
            format!("{}/repository.config", paths::CONFIG),
        ),
        env("KOPIA_CACHE_DIRECTORY", format!("{}/cache", paths::CACHE)),
        env("KOPIA_LOG_DIR", format!("{}/logs", paths::CACHE)),
        env(
            "KOPIA_LOG_DIR_MAX_FILES",
            plan.logging.max_files.to_string(),
        ),
        env("KOPIA_LOG_DIR_MAX_AGE", plan.logging.max_age.clone()),
        env(
            "KOPIA_CONTENT_LOG_DIR_MAX_FILES",
            plan.logging.max_files.to_string(),
        ),
        env(
            "KOPIA_CONTENT_LOG_DIR_MAX_AGE",
            plan.logging.max_age.clone(),
        ),
        env("KOPIA_PERSIST_CREDENTIALS_ON_CONNECT", "false"),
        env("KOPIA_CHECK_FOR_UPDATES", "false"),
        secret_env("KOPIA_PASSWORD", &repository.secret_name, "KOPIA_PASSWORD"),
    ];
    match &repository.location {
        RepositoryLocation::FromSecret => env_vars.push(secret_env(
            "KOPIA_REPOSITORY",
            &repository.secret_name,
            "KOPIA_REPOSITORY",
        )),
        RepositoryLocation::Url(url) => {
            env_vars.push(user_env("KOPIA_REPOSITORY", url));
            env_vars.extend(storage_flags(url));
        }
        RepositoryLocation::Claim { claim_name, path } => {
            volumes.push(Volume {
                name: "repository".into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim_name.clone(),
                    read_only: Some(false),
                }),
                ..Volume::default()
            });
            mounts.push(mount("repository", paths::FILESYSTEM_REPOSITORY, false));
            let url = format!("filesystem://{}{}", paths::FILESYSTEM_REPOSITORY, path);
            env_vars.push(user_env("KOPIA_REPOSITORY", &url));
            env_vars.extend(storage_flags(&url));
        }
    }
    env_vars.extend([
        user_env(environment::USERNAME, &identity.username),
        user_env(environment::HOSTNAME, &identity.hostname),
        user_env(environment::SOURCE_PATH, &identity.path),
        env(environment::CREATE, repository.create.as_str()),
        // Only backups create a repository.
        user_env(
            environment::CREATE_FLAGS,
            &creating(&repository.options.create_flags),
        ),
        user_env(
            environment::PARAMETER_FLAGS,
            &creating(&repository.options.parameter_flags),
        ),
        user_env(
            environment::THROTTLE_FLAGS,
            &repository.options.throttle_flags.join("\n"),
        ),
        env(environment::LAYOUT, repository.layout.as_str()),
        env(environment::LOG_LEVEL, plan.logging.file_level.clone()),
        env(
            environment::CONTENT_CACHE_MB,
            cache.content_cache_mb.to_string(),
        ),
        env(
            environment::METADATA_CACHE_MB,
            cache.metadata_cache_mb.to_string(),
        ),
    ]);
    if let Some(ca) = &repository.custom_ca {
        let items = Some(vec![KeyToPath {
            key: ca.key.clone(),
            path: "ca.crt".into(),
            mode: None,
        }]);
        volumes.push(match &ca.source {
            CaSource::ConfigMap(name) => config_map_volume("custom-ca", name, items),
            CaSource::Secret(name) => Volume {
                name: "custom-ca".into(),
                secret: Some(SecretVolumeSource {
                    secret_name: Some(name.clone()),
                    default_mode: Some(0o444),
                    items,
                    optional: Some(false),
                }),
                ..Volume::default()
            },
        });
        mounts.push(mount("custom-ca", paths::CUSTOM_CA, true));
        env_vars.push(env(
            environment::CUSTOM_CA,
            format!("{}/ca.crt", paths::CUSTOM_CA),
        ));
    }
    env_vars.extend(spec.env);
    env_vars.extend(pushgateway_env(plan, &spec.labels));
    close_environment(&mut env_vars);
    super::mover_volumes::add(&spec.entry.mover, &mut volumes, &mut mounts);

    let mover = &spec.entry.mover;
    let container = Container {
        name: MOVER_CONTAINER.into(),
        image: Some(plan.kopia_image.clone()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec![
            "/bin/bash".into(),
            format!("{}/{}", paths::SCRIPTS, spec.script),
        ]),
        args: (!spec.args.is_empty())
            .then(|| spec.args.iter().map(|arg| escape_dollars(arg)).collect()),
        env: Some(env_vars),
        // Every key of the repository Secret becomes an environment variable,
        // so Kopia's and the cloud SDKs' own variables keep working.
        env_from: Some(vec![EnvFromSource {
            secret_ref: Some(SecretEnvSource {
                name: repository.secret_name.clone(),
                optional: Some(false),
            }),
            ..EnvFromSource::default()
        }]),
        resources: Some(
            mover
                .resources
                .clone()
                .unwrap_or_else(|| default_mover_resources(cache)),
        ),
        security_context: Some(container_security_context(mover.privileged)),
        termination_message_path: Some(paths::TERMINATION_LOG.into()),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        volume_mounts: Some(mounts),
        working_dir: Some(paths::HOME.into()),
        ..Container::default()
    };

    // A persistent cache and a filesystem repository on a claim must be
    // writable by the mover's group, and so must the destination of a
    // restore. A clone or snapshot copy is never re-owned: the kubelet would
    // change the group of the files backed up.
    let claim_repository = matches!(repository.location, RepositoryLocation::Claim { .. });
    let group_writes = spec.writes_data
        || ((cache.persistent.is_some() || claim_repository)
            && !matches!(spec.data, DataVolume::Ephemeral { .. }));
    let mut pod_labels = mover.pod_labels.clone();
    pod_labels.extend(spec.labels);
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(pod_labels),
            annotations: Some(spec.annotations),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            affinity: affinity(mover, spec.workload_selector),
            automount_service_account_token: Some(false),
            containers: vec![container],
            node_selector: (!mover.node_selector.is_empty()).then(|| mover.node_selector.clone()),
            priority_class_name: mover.priority_class_name.clone(),
            restart_policy: Some("Never".into()),
            security_context: Some(pod_security_context(mover, group_writes)),
            service_account_name: Some(
                mover
                    .service_account_name
                    .clone()
                    .unwrap_or_else(|| spec.entry.names.service_account.clone()),
            ),
            termination_grace_period_seconds: Some(120),
            tolerations: (!mover.tolerations.is_empty()).then(|| mover.tolerations.clone()),
            volumes: Some(volumes),
            ..PodSpec::default()
        }),
    }
}

/// The mover's resources when the plan names none: a request the scheduler
/// can plan with, and a memory limit so that a runaway Kopia is killed
/// rather than the node starved. Kopia's memory grows with the index it
/// loads, which is what its metadata cache holds: 2Gi, plus a quarter of
/// the metadata cache limit. No CPU limit: throttling only slows a backup.
pub fn default_mover_resources(cache: &Cache) -> ResourceRequirements {
    let limit_mib = 2048 + cache.metadata_cache_mb / 4;
    ResourceRequirements {
        requests: Some(
            [
                ("cpu".to_owned(), Quantity("250m".into())),
                ("memory".to_owned(), Quantity("512Mi".into())),
            ]
            .into(),
        ),
        limits: Some([("memory".to_owned(), Quantity(format!("{limit_mib}Mi")))].into()),
        ..ResourceRequirements::default()
    }
}

/// The storage flags of a URL the plan names, computed now rather than by
/// the mover (see `kopia::backend`).
fn storage_flags(url: &str) -> Option<EnvVar> {
    let flags = crate::kopia::backend::storage_flags(url)?;
    Some(user_env(environment::STORAGE_FLAGS, &flags.join("\n")))
}

/// Where the mover pushes its run metrics (`spec.monitoring.pushgateway`):
/// the grouping URL up to the namespace, which the downward API gives.
fn pushgateway_env(plan: &Plan, labels: &BTreeMap<String, String>) -> Vec<EnvVar> {
    let Some(base) = &plan.monitoring.pushgateway_url else {
        return Vec::new();
    };
    let label = |key: &str| labels.get(key).map(String::as_str).unwrap_or_default();
    let url = format!(
        "{base}/metrics/job/{}/kopiaplan_plan/{}/kopiaplan_component/{}/kopiaplan_entry/{}",
        crate::monitoring::metrics::PUSH_JOB,
        plan.name,
        label(super::labels::COMPONENT),
        label(super::labels::INSTANCE),
    );
    vec![
        user_env(environment::PUSHGATEWAY_URL, &url),
        EnvVar {
            name: environment::NAMESPACE.to_owned(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(k8s_openapi::api::core::v1::ObjectFieldSelector {
                    api_version: Some("v1".into()),
                    field_path: "metadata.namespace".into(),
                }),
                ..EnvVarSource::default()
            }),
        },
    ]
}

/// Sets every variable of the scripts' environment contract that is not
/// set yet, so that none of them can come from the repository Secret
/// (`env` wins over `envFrom`).
fn close_environment(env_vars: &mut Vec<EnvVar>) {
    for name in environment::SETTINGS.iter().chain(environment::KOPIA_PATHS) {
        if !env_vars.iter().any(|var| var.name == *name) {
            env_vars.push(env(name, ""));
        }
    }
    for (name, value) in environment::SHELL {
        env_vars.push(env(name, *value));
    }
}

/// The user's affinity, plus a required pod affinity to the workload of a
/// `Direct` copy, so that a ReadWriteOnce volume is mounted on its node.
fn affinity(
    mover: &Mover,
    workload_selector: Option<&BTreeMap<String, String>>,
) -> Option<Affinity> {
    let mut affinity = mover.affinity.clone();
    if let Some(workload_selector) = workload_selector
        && !workload_selector.is_empty()
    {
        let term = PodAffinityTerm {
            label_selector: Some(LabelSelector {
                match_labels: Some(workload_selector.clone()),
                match_expressions: None,
            }),
            topology_key: "kubernetes.io/hostname".into(),
            ..PodAffinityTerm::default()
        };
        let affinity = affinity.get_or_insert_with(Affinity::default);
        let pod_affinity = affinity
            .pod_affinity
            .get_or_insert_with(PodAffinity::default);
        pod_affinity
            .required_during_scheduling_ignored_during_execution
            .get_or_insert_with(Vec::new)
            .push(term);
    }
    affinity
}

fn pod_security_context(mover: &Mover, group_writes: bool) -> PodSecurityContext {
    let mut context = mover.security_context.clone().unwrap_or_default();
    if mover.privileged {
        context.run_as_user = Some(0);
        context.run_as_group = Some(context.run_as_group.unwrap_or(0));
        context.run_as_non_root = Some(false);
    } else {
        context.run_as_non_root = Some(true);
        context.run_as_user = Some(context.run_as_user.unwrap_or(MOVER_USER));
        context.run_as_group = Some(context.run_as_group.unwrap_or(MOVER_USER));
        if group_writes && context.fs_group.is_none() {
            context.fs_group = Some(MOVER_USER);
            context.fs_group_change_policy = Some("OnRootMismatch".into());
        }
    }
    if context.seccomp_profile.is_none() {
        context.seccomp_profile = Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        });
    }
    context
}

pub(super) fn container_security_context(privileged: bool) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: privileged.then(|| vec!["CHOWN".into(), "DAC_OVERRIDE".into(), "FOWNER".into()]),
        }),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(!privileged),
        ..SecurityContext::default()
    }
}

#[cfg(test)]
mod tests {
    use super::escape_dollars;

    #[test]
    fn dollars_are_doubled_so_kubernetes_leaves_them_alone() {
        assert_eq!(escape_dollars("--tags=a:$(HOME)"), "--tags=a:$$(HOME)");
        assert_eq!(escape_dollars("$$"), "$$$$");
        assert_eq!(escape_dollars("plain"), "plain");
    }
}
