//! The objects of one backup entry: its CronJob (or manual Job), policy
//! ConfigMap, ServiceAccount and persistent cache.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, PersistentVolumeClaimSpec, ServiceAccount,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::labels::{self, Component};
use super::pod::backup_pod;
use crate::model::{Backup, Plan, Run};
use crate::output::Object;

/// A schedule that never fires (February 31st), for suspended on-demand
/// CronJobs: `kubectl create job --from=cronjob/…` starts them.
pub const NEVER: &str = "0 0 31 2 *";

pub fn objects(plan: &Plan, backup: &Backup, scripts_config_map: &str) -> Vec<Object> {
    let labels = labels::labels(plan, Component::Backup, &backup.name);
    let mut annotations = labels::annotations(plan, &backup.origin);
    annotations.insert(labels::KOPIA_SOURCE.into(), backup.identity.to_string());
    let meta = |name: &str| ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(backup.namespace.clone()),
        labels: Some(labels.clone()),
        annotations: Some(annotations.clone()),
        ..ObjectMeta::default()
    };
    let mut objects = Vec::new();

    if backup.mover.service_account_name.is_none() {
        objects.push(Object::from_resource(&ServiceAccount {
            metadata: meta(&backup.names.service_account),
            automount_service_account_token: Some(false),
            ..ServiceAccount::default()
        }));
    }

    objects.push(Object::from_resource(&ConfigMap {
        metadata: meta(&backup.names.policy_config_map),
        data: Some(BTreeMap::from([(
            "policy.json".to_owned(),
            policy_document(backup),
        )])),
        ..ConfigMap::default()
    }));

    if let Some(persistent) = &backup.cache.persistent {
        objects.push(Object::from_resource(&PersistentVolumeClaim {
            metadata: meta(&persistent.claim_name),
            spec: Some(PersistentVolumeClaimSpec {
                access_modes: Some(persistent.access_modes.clone()),
                resources: Some(VolumeResourceRequirements {
                    requests: Some(BTreeMap::from([(
                        "storage".to_owned(),
                        Quantity(backup.cache.capacity.clone()),
                    )])),
                    ..VolumeResourceRequirements::default()
                }),
                storage_class_name: persistent.storage_class_name.clone(),
                ..PersistentVolumeClaimSpec::default()
            }),
            ..PersistentVolumeClaim::default()
        }));
    }

    let pod = backup_pod(
        plan,
        backup,
        scripts_config_map,
        labels.clone(),
        annotations.clone(),
    );
    let jobs = &backup.jobs;
    match &backup.run {
        Run::Manual { token } => {
            let mut metadata = meta(
                backup
                    .names
                    .job
                    .as_deref()
                    .unwrap_or(&backup.names.cron_job),
            );
            if let Some(annotations) = metadata.annotations.as_mut() {
                annotations.insert(labels::TRIGGER.into(), token.clone());
            }
            objects.push(Object::from_resource(&Job {
                metadata,
                spec: Some(JobSpec {
                    active_deadline_seconds: Some(jobs.active_deadline_seconds),
                    backoff_limit: Some(jobs.backoff_limit),
                    ttl_seconds_after_finished: jobs.manual_ttl_seconds_after_finished,
                    template: pod,
                    ..JobSpec::default()
                }),
                ..Job::default()
            }));
        }
        Run::Scheduled(_) | Run::OnDemand => {
            let (schedule, time_zone, suspend) = match &backup.run {
                Run::Scheduled(schedule) => (
                    schedule.cron.clone(),
                    schedule.time_zone.clone(),
                    schedule.suspended,
                ),
                _ => (NEVER.to_owned(), None, true),
            };
            objects.push(Object::from_resource(&CronJob {
                metadata: meta(&backup.names.cron_job),
                spec: Some(CronJobSpec {
                    schedule,
                    time_zone,
                    suspend: Some(suspend),
                    concurrency_policy: Some("Forbid".into()),
                    starting_deadline_seconds: Some(jobs.starting_deadline_seconds),
                    successful_jobs_history_limit: Some(jobs.successful_jobs_history_limit),
                    failed_jobs_history_limit: Some(jobs.failed_jobs_history_limit),
                    job_template: JobTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(labels.clone()),
                            annotations: Some(annotations.clone()),
                            ..ObjectMeta::default()
                        }),
                        spec: Some(JobSpec {
                            active_deadline_seconds: Some(jobs.active_deadline_seconds),
                            backoff_limit: Some(jobs.backoff_limit),
                            ttl_seconds_after_finished: Some(jobs.ttl_seconds_after_finished),
                            template: pod,
                            ..JobSpec::default()
                        }),
                    },
                }),
                ..CronJob::default()
            }));
        }
    }
    objects
}

/// The `kopia policy import` file: the source's policy keyed by exactly the
/// `user@host:path` target that is snapshotted.
pub fn policy_document(backup: &Backup) -> String {
    let document = serde_json::json!({ backup.identity.to_string(): backup.policy });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}
