//! Launchers for the `Snapshot` copy method and for snapshots after a
//! restore. A pod cannot create its own volume source, so a launcher with
//! its own ServiceAccount and a Role limited to what it does runs the steps
//! in order, each one kubectl command in its own container (the official
//! kubectl image has no shell):
//!
//! backup:  clean up → create the VolumeSnapshot → wait until ready →
//!          create the mover Job (its volume restored from the snapshot) →
//!          wait until it finishes → delete the snapshot → report the
//!          mover's result as the launcher's exit code.
//! restore: clean up → create the mover Job → wait until it finishes →
//!          stop unless it succeeded → replace the destination's snapshot →
//!          wait until the new snapshot is ready.
//!
//! backup with workload hooks: one bash container (`hooks.rs`) runs the
//!          same steps and the hooks around the cut, whatever the copy.
//!
//! A launcher that dies midway leaves its snapshot and mover Job behind
//! until its next run, whose first step deletes them. Its Job's deadline
//! ([`deadline_seconds`]) is longer than all its waits together, so the
//! mover Job, which has the entry's deadline, never outlives it.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource,
    PodSecurityContext, PodSpec, PodTemplateSpec, SeccompProfile, SecurityContext, ServiceAccount,
    Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::admission;
use super::hooks::{self, Hooked};
use super::pod::MOVER_USER;
use super::volume_snapshot::{self, VolumeSnapshot};
use crate::model::hooks::WorkloadHooks;
use crate::model::{Jobs, LauncherNames, Mover, Plan};
use crate::output::Object;
use crate::scripts::environment::launcher::timing;

pub(super) const MANIFESTS: &str = "/launcher";
const SNAPSHOT_FILE: &str = "volumesnapshot.json";
const MOVER_FILE: &str = "mover-job.json";
/// How much longer than the mover Job's deadline its launcher waits for it
/// (the deadline counts from the Job's start; the pod may wait to start).
const MOVER_WAIT_MARGIN_SECONDS: i64 = 600;
/// What the launcher's deadline adds to its waits (API calls, start-up).
const DEADLINE_MARGIN_SECONDS: i64 = 600;

/// The launcher Job's `activeDeadlineSeconds`: every wait of its steps —
/// cleaning up twice (a restore deletes the old snapshot too), the snapshot
/// or clone twice, the hooks, the mover Job and its end — plus a margin.
/// The entry's own deadline is the mover Job's.
pub fn deadline_seconds(plan: &Plan, jobs: &Jobs, hooks: Option<&WorkloadHooks>) -> i64 {
    2 * timing::CLEANUP_SECONDS
        + 2 * i64::from(plan.snapshot_ready_timeout_seconds)
        + hooks.map_or(0, hooks::running_seconds)
        + mover_wait_seconds(jobs)
        + timing::JOB_END_SECONDS
        + DEADLINE_MARGIN_SECONDS
}

/// The launcher's `kubectl wait --timeout` for the mover Job.
fn mover_wait_seconds(jobs: &Jobs) -> i64 {
    jobs.active_deadline_seconds + MOVER_WAIT_MARGIN_SECONDS
}

/// What one launcher does.
pub enum Steps<'a> {
    /// Snapshot `claim_name`, back up the snapshot, delete it; or, with
    /// workload hooks, run them around the copy the entry's method makes.
    Backup {
        claim_name: &'a str,
        hooks: Option<Hooked<'a>>,
    },
    /// Restore, then replace the snapshot of `claim_name`.
    Restore { claim_name: &'a str },
}

pub struct Launcher<'a> {
    pub plan: &'a Plan,
    pub namespace: &'a str,
    pub names: &'a LauncherNames,
    pub steps: Steps<'a>,
    pub volume_snapshot_class_name: Option<&'a str>,
    /// The mover pod, as the mover Job's template.
    pub mover_pod: PodTemplateSpec,
    pub jobs: &'a Jobs,
    pub mover: &'a Mover,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// The launcher's own objects (ServiceAccount, Role, RoleBinding, the
/// manifests ConfigMap), its pod template and its deadline, for the
/// entry's CronJob or Job.
pub fn launcher(spec: Launcher<'_>) -> (Vec<Object>, PodTemplateSpec, i64) {
    let names = spec.names;
    let meta = |name: &str| ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(spec.namespace.to_owned()),
        labels: Some(spec.labels.clone()),
        annotations: Some(spec.annotations.clone()),
        ..ObjectMeta::default()
    };
    let claim_name = match spec.steps {
        Steps::Backup { claim_name, .. } | Steps::Restore { claim_name } => claim_name,
    };
    let hooked = match spec.steps {
        Steps::Backup { hooks, .. } => hooks,
        Steps::Restore { .. } => None,
    };
    let snapshot = VolumeSnapshot::of_claim(
        meta(&names.volume_snapshot),
        claim_name,
        spec.volume_snapshot_class_name,
    );
    // The mover Job: no retries of its own (the launcher's Job retries the
    // whole sequence), kept after it ends so its result can be read.
    let mover_job = Job {
        metadata: meta(&names.mover_job),
        spec: Some(JobSpec {
            active_deadline_seconds: Some(spec.jobs.active_deadline_seconds),
            backoff_limit: Some(0),
            template: spec.mover_pod,
            ..JobSpec::default()
        }),
        ..Job::default()
    };
    let empty_pod = PodSpec::default();
    let mut manifests_data = BTreeMap::from([
        (MOVER_FILE.to_owned(), to_json(&mover_job)),
        (SNAPSHOT_FILE.to_owned(), to_json(&snapshot)),
    ]);
    if hooked.is_some() {
        manifests_data.insert(hooks::SCRIPT_FILE.to_owned(), hooks::script(MANIFESTS));
    }
    let manifests = ConfigMap {
        metadata: meta(&names.manifests_config_map),
        data: Some(manifests_data),
        ..ConfigMap::default()
    };

    let snapshot_ref = format!(
        "volumesnapshot.{}/{}",
        volume_snapshot::GROUP,
        names.volume_snapshot
    );
    let job_ref = format!("job.batch/{}", names.mover_job);
    let namespace = spec.namespace;
    let kubectl = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["kubectl".to_owned(), format!("--namespace={namespace}")];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        all
    };
    let ready_timeout = format!("--timeout={}s", spec.plan.snapshot_ready_timeout_seconds);
    let mover_timeout = format!("--timeout={}s", mover_wait_seconds(spec.jobs));
    let cleanup_timeout = format!("--timeout={}s", timing::CLEANUP_SECONDS);
    let snapshot_file = format!("--filename={MANIFESTS}/{SNAPSHOT_FILE}");
    let mover_file = format!("--filename={MANIFESTS}/{MOVER_FILE}");
    // The Job's last condition is Complete or Failed once it has ended.
    let finished = "--for=jsonpath={.status.conditions[-1:].status}=True";
    let succeeded = "--for=condition=Complete";
    let steps: Vec<(&str, Vec<String>)> = match spec.steps {
        // The script does every step (hooks.rs).
        Steps::Backup { hooks: Some(_), .. } => vec![("launcher", Vec::new())],
        Steps::Backup { .. } => vec![
            (
                "clean-up",
                kubectl(&[
                    "delete",
                    &snapshot_ref,
                    &job_ref,
                    "--ignore-not-found",
                    "--wait=true",
                    &cleanup_timeout,
                ]),
            ),
            ("create-snapshot", kubectl(&["create", &snapshot_file])),
            (
                "wait-for-snapshot",
                kubectl(&[
                    "wait",
                    "--for=jsonpath={.status.readyToUse}=true",
                    &snapshot_ref,
                    &ready_timeout,
                ]),
            ),
            ("create-mover", kubectl(&["create", &mover_file])),
            (
                "wait-for-mover",
                kubectl(&["wait", finished, &job_ref, &mover_timeout]),
            ),
            (
                "delete-snapshot",
                kubectl(&[
                    "delete",
                    &snapshot_ref,
                    "--ignore-not-found",
                    "--wait=false",
                ]),
            ),
            (
                "result",
                kubectl(&["wait", succeeded, &job_ref, "--timeout=60s"]),
            ),
        ],
        Steps::Restore { .. } => vec![
            (
                "clean-up",
                kubectl(&[
                    "delete",
                    &job_ref,
                    "--ignore-not-found",
                    "--wait=true",
                    &cleanup_timeout,
                ]),
            ),
            ("create-mover", kubectl(&["create", &mover_file])),
            (
                "wait-for-mover",
                kubectl(&["wait", finished, &job_ref, &mover_timeout]),
            ),
            (
                "result",
                kubectl(&["wait", succeeded, &job_ref, "--timeout=60s"]),
            ),
            (
                "delete-old-snapshot",
                kubectl(&[
                    "delete",
                    &snapshot_ref,
                    "--ignore-not-found",
                    "--wait=true",
                    &cleanup_timeout,
                ]),
            ),
            ("create-snapshot", kubectl(&["create", &snapshot_file])),
            (
                "wait-for-snapshot",
                kubectl(&[
                    "wait",
                    "--for=jsonpath={.status.readyToUse}=true",
                    &snapshot_ref,
                    &ready_timeout,
                ]),
            ),
        ],
    };
    let mounts = vec![
        VolumeMount {
            name: "manifests".into(),
            mount_path: MANIFESTS.into(),
            read_only: Some(true),
            ..VolumeMount::default()
        },
        VolumeMount {
            name: "home".into(),
            mount_path: "/home/launcher".into(),
            read_only: Some(false),
            ..VolumeMount::default()
        },
    ];
    let mut containers: Vec<Container> = steps
        .into_iter()
        .map(|(name, command)| Container {
            name: name.into(),
            image: Some(spec.plan.launcher_image.clone()),
            image_pull_policy: Some("IfNotPresent".into()),
            command: Some(command),
            env: Some(vec![k8s_openapi::api::core::v1::EnvVar {
                name: "HOME".into(),
                value: Some("/home/launcher".into()),
                value_from: None,
            }]),
            resources: Some(spec.plan.launcher_resources.clone()),
            security_context: Some(SecurityContext {
                allow_privilege_escalation: Some(false),
                capabilities: Some(Capabilities {
                    drop: Some(vec!["ALL".into()]),
                    add: None,
                }),
                privileged: Some(false),
                read_only_root_filesystem: Some(true),
                run_as_non_root: Some(true),
                ..SecurityContext::default()
            }),
            termination_message_policy: Some("FallbackToLogsOnError".into()),
            volume_mounts: Some(mounts.clone()),
            ..Container::default()
        })
        .collect();
    if let Some(hooked) = hooked {
        let launcher = hooks::Launcher {
            plan: spec.plan,
            names,
            hooked,
            namespace,
            manifests: MANIFESTS,
            mover_pod: mover_job
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref()),
            mover_timeout_seconds: mover_wait_seconds(spec.jobs),
        };
        containers = containers
            .into_iter()
            .map(|base| hooks::container(base, &launcher))
            .collect();
    }
    // The last step is the main container: its exit code is the result.
    let main = containers.pop().into_iter().collect();
    let pod = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(spec.labels.clone()),
            annotations: Some(spec.annotations.clone()),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            automount_service_account_token: Some(true),
            containers: main,
            init_containers: (!containers.is_empty() || hooked.is_none()).then_some(containers),
            node_selector: (!spec.mover.node_selector.is_empty())
                .then(|| spec.mover.node_selector.clone()),
            priority_class_name: spec.mover.priority_class_name.clone(),
            restart_policy: Some("Never".into()),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(MOVER_USER),
                run_as_group: Some(MOVER_USER),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    localhost_profile: None,
                }),
                ..PodSecurityContext::default()
            }),
            service_account_name: Some(names.service_account.clone()),
            // Stopped, a launcher with hooks lets a running hook end and
            // runs `after`: the default 30 s could kill it first.
            termination_grace_period_seconds: hooked
                .map(|hooked| hooks::grace_period_seconds(hooked.hooks)),
            tolerations: (!spec.mover.tolerations.is_empty())
                .then(|| spec.mover.tolerations.clone()),
            volumes: Some(vec![
                Volume {
                    name: "manifests".into(),
                    config_map: Some(ConfigMapVolumeSource {
                        name: names.manifests_config_map.clone(),
                        default_mode: Some(0o444),
                        optional: Some(false),
                        items: None,
                    }),
                    ..Volume::default()
                },
                Volume {
                    name: "home".into(),
                    empty_dir: Some(EmptyDirVolumeSource {
                        size_limit: Some(Quantity("64Mi".into())),
                        ..EmptyDirVolumeSource::default()
                    }),
                    ..Volume::default()
                },
            ]),
            ..PodSpec::default()
        }),
    };

    let mut objects = vec![
        Object::from_resource(&ServiceAccount {
            metadata: meta(&names.service_account),
            automount_service_account_token: Some(false),
            ..ServiceAccount::default()
        }),
        Object::from_resource(&Role {
            metadata: meta(&names.role),
            rules: Some(rules(names, hooked.map(|h| h.copy_method))),
        }),
        Object::from_resource(&RoleBinding {
            metadata: meta(&names.role_binding),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "Role".into(),
                name: names.role.clone(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: names.service_account.clone(),
                namespace: Some(spec.namespace.to_owned()),
                api_group: None,
            }]),
        }),
        Object::from_resource(&manifests),
    ];
    if spec.plan.launcher_admission_policy {
        let cluster_meta = |name: &str| ObjectMeta {
            name: Some(name.to_owned()),
            labels: Some(spec.labels.clone()),
            annotations: Some(spec.annotations.clone()),
            ..ObjectMeta::default()
        };
        let allowed = admission::Allowed {
            policy_name: names.admission_policy.clone(),
            namespace: spec.namespace,
            launcher_service_account: &names.service_account,
            mover_job: &names.mover_job,
            mover_pod: mover_job
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .unwrap_or(&empty_pod),
            volume_snapshot: &names.volume_snapshot,
            claim_name,
            volume_snapshot_class_name: spec.volume_snapshot_class_name,
        };
        objects.extend(admission::objects(&allowed, &cluster_meta));
    }
    let deadline = deadline_seconds(spec.plan, spec.jobs, hooked.map(|h| h.hooks));
    (objects, pod, deadline)
}

/// Exactly what the steps do: create the two objects (creation cannot be
/// limited by name), and read, watch and delete only those two names. A
/// launcher with workload hooks (`hooked`: its copy method) creates a
/// VolumeSnapshot only for `Snapshot` copies, and adds the hooks' rules.
pub fn rules(names: &LauncherNames, hooked: Option<&str>) -> Vec<PolicyRule> {
    let rule = |group: &str, resource: &str, verbs: &[&str], name: Option<&str>| PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(vec![resource.to_owned()]),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        resource_names: name.map(|n| vec![n.to_owned()]),
        non_resource_urls: None,
    };
    let mut rules = Vec::new();
    if hooked.is_none_or(|method| method == "Snapshot") {
        rules.extend([
            rule(volume_snapshot::GROUP, "volumesnapshots", &["create"], None),
            rule(
                volume_snapshot::GROUP,
                "volumesnapshots",
                &["get", "list", "watch", "delete"],
                Some(&names.volume_snapshot),
            ),
        ]);
    }
    rules.extend([
        rule("batch", "jobs", &["create"], None),
        rule(
            "batch",
            "jobs",
            &["get", "list", "watch", "delete"],
            Some(&names.mover_job),
        ),
    ]);
    if let Some(method) = hooked {
        rules.extend(hooks::rules(method));
    }
    rules
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}
