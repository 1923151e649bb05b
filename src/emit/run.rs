//! How an entry runs, as objects: a CronJob for a schedule (suspended when
//! paused, or never firing for on-demand templates) or a Job for a manual
//! trigger token.

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, Job, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::labels;
use crate::model::{Jobs, Names, Run};
use crate::output::Object;

/// A schedule that never fires (February 31st), for suspended on-demand
/// CronJobs: `kubectl create job --from=cronjob/…` starts them.
pub const NEVER: &str = "0 0 31 2 *";

/// The CronJob or Job that runs `pod`. `meta` gives an object's metadata
/// for a name.
pub fn run_object(
    meta: &dyn Fn(&str) -> ObjectMeta,
    run: &Run,
    jobs: &Jobs,
    names: &Names,
    pod: PodTemplateSpec,
) -> Object {
    match run {
        Run::Manual { token } => {
            // A Job's pod template is immutable, and its name changes only
            // with the token: where the entry is written (the source line)
            // stays on the Job, off the template, so an edit elsewhere in
            // the plan leaves the template as it was and re-applying works.
            let mut pod = pod;
            if let Some(annotations) = pod
                .metadata
                .as_mut()
                .and_then(|metadata| metadata.annotations.as_mut())
            {
                annotations.remove(labels::SOURCE);
            }
            let mut metadata = meta(names.job.as_deref().unwrap_or(&names.cron_job));
            if let Some(annotations) = metadata.annotations.as_mut() {
                annotations.insert(labels::TRIGGER.into(), token.clone());
            }
            Object::from_resource(&Job {
                metadata,
                spec: Some(JobSpec {
                    active_deadline_seconds: Some(jobs.active_deadline_seconds),
                    backoff_limit: Some(jobs.backoff_limit),
                    ttl_seconds_after_finished: jobs.manual_ttl_seconds_after_finished,
                    template: pod,
                    ..JobSpec::default()
                }),
                ..Job::default()
            })
        }
        Run::Scheduled(_) | Run::OnDemand => {
            let (schedule, time_zone, suspend) = match run {
                Run::Scheduled(schedule) => (
                    schedule.cron.clone(),
                    schedule.time_zone.clone(),
                    schedule.suspended,
                ),
                _ => (NEVER.to_owned(), None, true),
            };
            let metadata = meta(&names.cron_job);
            Object::from_resource(&CronJob {
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
                            labels: metadata.labels.clone(),
                            annotations: metadata.annotations.clone(),
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
                metadata,
                ..CronJob::default()
            })
        }
    }
}
