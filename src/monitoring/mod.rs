//! Monitoring with nothing running in the cluster but Prometheus: alert
//! rules fitted to each entry's schedule (a PrometheusRule per namespace),
//! a Grafana dashboard, and the names of the gauges the movers push to a
//! Pushgateway. The rules and the dashboard read kube-state-metrics series
//! only (v2.5.0 or later: `kube_cronjob_status_last_successful_time`).

pub mod dashboard;
pub mod metrics;
pub mod rules;
pub mod staleness;

use std::collections::BTreeMap;

use crate::emit::launcher;
use crate::model::Component;
use crate::model::{Jobs, Model, Names, Plan, PlanId, Run};
use crate::output::Object;

/// One entry the alerts and the dashboard watch.
#[derive(Debug, Clone)]
pub struct Watched<'a> {
    pub plan: &'a Plan,
    pub namespace: &'a str,
    pub entry: &'a str,
    pub component: Component,
    pub run: &'a Run,
    pub jobs: &'a Jobs,
    pub names: &'a Names,
    /// The `activeDeadlineSeconds` of the Job the CronJob runs: the
    /// launcher's, when a launcher runs the mover (it outlasts the mover's
    /// own), so the alert and `kopiaplan status` read the same threshold.
    pub run_deadline_seconds: i64,
}

impl Watched<'_> {
    /// Seconds without a success after which the entry is stale; `None`
    /// for entries that are paused, manual or on demand (never stale).
    pub fn stale_after_seconds(&self) -> Option<i64> {
        match self.run {
            Run::Scheduled(schedule) if !schedule.suspended => staleness::threshold(
                &schedule.cron,
                schedule.time_zone.as_deref(),
                self.jobs.starting_deadline_seconds,
                self.run_deadline_seconds,
            ),
            _ => None,
        }
    }
}

/// Every entry of `plan`, by namespace, in the model's order.
pub fn watched<'a>(model: &'a Model, plan_id: PlanId) -> BTreeMap<&'a str, Vec<Watched<'a>>> {
    let plan = &model.plans[plan_id.0];
    let mut by_namespace: BTreeMap<&str, Vec<Watched<'_>>> = BTreeMap::new();
    let backups = model.backups.iter().map(|b| (&b.entry, b.hooks.as_ref()));
    let maintenance = model.maintenance.iter().map(|m| (&m.entry, None));
    let verifies = model.verifies.iter().map(|v| (&v.entry, None));
    let restores = model.restores.iter().map(|r| (&r.entry, None));
    let replicas = model.replicas.iter().map(|r| (&r.entry, None));
    for (common, hooks) in backups
        .chain(maintenance)
        .chain(replicas)
        .chain(verifies)
        .chain(restores)
        .filter(|(e, _)| e.plan == plan_id)
    {
        let run_deadline_seconds = match common.names.launcher {
            Some(_) => launcher::deadline_seconds(plan, &common.jobs, hooks),
            None => common.jobs.active_deadline_seconds,
        };
        by_namespace
            .entry(&common.namespace)
            .or_default()
            .push(Watched {
                plan,
                namespace: &common.namespace,
                entry: &common.name,
                component: common.component,
                run: &common.run,
                jobs: &common.jobs,
                names: &common.names,
                run_deadline_seconds,
            });
    }
    by_namespace
}

/// The PrometheusRules and dashboards the plans ask for.
pub fn objects(model: &Model) -> Vec<Object> {
    let mut objects = Vec::new();
    for (index, plan) in model.plans.iter().enumerate() {
        let watched = watched(model, PlanId(index));
        if let Some(settings) = &plan.monitoring.prometheus_rule {
            for (namespace, entries) in &watched {
                objects.push(Object::from_resource(&rules::prometheus_rule(
                    plan, settings, namespace, entries,
                )));
            }
        }
        if let Some(settings) = &plan.monitoring.dashboard {
            objects.push(Object::from_resource(&dashboard::config_map(
                plan, settings, &watched,
            )));
        }
    }
    objects
}
