//! Job and CronJob settings: deadlines, retries and history.

use super::defaults;
use super::{At, PlanResolver};
use crate::model::Jobs;
use crate::plan::JobSettings;

impl PlanResolver<'_, '_> {
    pub(super) fn jobs(&mut self, spec: Option<&JobSettings>, at: &At<'_>) -> Jobs {
        let inherited = self.input.spec.defaults.jobs.clone().unwrap_or_default();
        let own = spec.cloned().unwrap_or_default();
        let jobs = Jobs {
            starting_deadline_seconds: own
                .starting_deadline_seconds
                .or(inherited.starting_deadline_seconds)
                .unwrap_or(defaults::STARTING_DEADLINE_SECONDS),
            active_deadline_seconds: own
                .active_deadline_seconds
                .or(inherited.active_deadline_seconds)
                .unwrap_or(defaults::ACTIVE_DEADLINE_SECONDS),
            backoff_limit: own
                .backoff_limit
                .or(inherited.backoff_limit)
                .unwrap_or(defaults::BACKOFF_LIMIT),
            ttl_seconds_after_finished: own
                .ttl_seconds_after_finished
                .or(inherited.ttl_seconds_after_finished)
                .unwrap_or(defaults::TTL_SECONDS_AFTER_FINISHED),
            manual_ttl_seconds_after_finished: own
                .ttl_seconds_after_finished
                .or(inherited.ttl_seconds_after_finished),
            successful_jobs_history_limit: own
                .successful_jobs_history_limit
                .or(inherited.successful_jobs_history_limit)
                .unwrap_or(defaults::SUCCESSFUL_JOBS_HISTORY_LIMIT),
            failed_jobs_history_limit: own
                .failed_jobs_history_limit
                .or(inherited.failed_jobs_history_limit)
                .unwrap_or(defaults::FAILED_JOBS_HISTORY_LIMIT),
        };
        let at_jobs = if spec.is_some() {
            at.key("jobs")
        } else {
            self.root.key("spec").key("defaults").key("jobs")
        };
        let checks: [(&str, i64, i64); 6] = [
            (
                "startingDeadlineSeconds",
                jobs.starting_deadline_seconds,
                10,
            ),
            ("activeDeadlineSeconds", jobs.active_deadline_seconds, 60),
            ("backoffLimit", jobs.backoff_limit.into(), 0),
            (
                "ttlSecondsAfterFinished",
                jobs.ttl_seconds_after_finished.into(),
                0,
            ),
            (
                "successfulJobsHistoryLimit",
                jobs.successful_jobs_history_limit.into(),
                0,
            ),
            (
                "failedJobsHistoryLimit",
                jobs.failed_jobs_history_limit.into(),
                0,
            ),
        ];
        for (field, value, minimum) in checks {
            if value < minimum {
                let kind = super::error::ResolveError::BelowMinimum {
                    field: field.to_owned(),
                    value,
                    minimum,
                };
                let d = at_jobs
                    .key(field)
                    .error(&kind, format!("use {minimum} or more"));
                self.report(d);
            }
        }
        jobs
    }
}
