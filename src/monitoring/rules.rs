//! The `monitoring.coreos.com/v1` PrometheusRule of one plan in one
//! namespace: a staleness threshold per scheduled entry (a recording rule,
//! for the dashboard) and the contract alerts, each fitted to its entry.
//! The alert names and their labels (`namespace`, `kopiaplan_plan`,
//! `kopiaplan_entry`, `kopiaplan_component`) are a contract: dashboards,
//! routes and silences match them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

use super::{Watched, metrics};
use crate::emit::labels;
use crate::model::Component;
use crate::model::names::{NAME_LIMIT, object_name};
use crate::model::{Plan, PrometheusRuleSettings, Run};

pub const BACKUP_STALE: &str = "KopiaplanBackupStale";
pub const BACKUP_FAILED: &str = "KopiaplanBackupFailed";
pub const MAINTENANCE_STALE: &str = "KopiaplanMaintenanceStale";
pub const MAINTENANCE_FAILED: &str = "KopiaplanMaintenanceFailed";
pub const REPLICA_FAILED: &str = "KopiaplanReplicaFailed";
pub const VERIFY_FAILED: &str = "KopiaplanVerifyFailed";
pub const RESTORE_FAILED: &str = "KopiaplanRestoreFailed";

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusRule {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: PrometheusRuleSpec,
}

impl k8s_openapi::Resource for PrometheusRule {
    const API_VERSION: &'static str = "monitoring.coreos.com/v1";
    const GROUP: &'static str = "monitoring.coreos.com";
    const KIND: &'static str = "PrometheusRule";
    const VERSION: &'static str = "v1";
    const URL_PATH_SEGMENT: &'static str = "prometheusrules";
    type Scope = k8s_openapi::NamespaceResourceScope;
}

impl k8s_openapi::Metadata for PrometheusRule {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PrometheusRuleSpec {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<Rule>,
}

/// A recording rule (`record`) or an alerting rule (`alert`).
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    pub expr: String,
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The PrometheusRule of `plan` in `namespace`.
pub fn prometheus_rule(
    plan: &Plan,
    settings: &PrometheusRuleSettings,
    namespace: &str,
    entries: &[Watched<'_>],
) -> PrometheusRule {
    let name = object_name(&[&plan.name, "alerts"], NAME_LIMIT);
    let mut object_labels = labels::labels(plan, Component::Monitoring, &plan.name);
    for (key, value) in &settings.labels {
        object_labels.entry(key.clone()).or_insert(value.clone());
    }
    let mut rules = Vec::new();
    for entry in entries {
        rules.extend(entry_rules(entry, &settings.severity));
    }
    PrometheusRule {
        api_version: <PrometheusRule as k8s_openapi::Resource>::API_VERSION,
        kind: <PrometheusRule as k8s_openapi::Resource>::KIND,
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace.to_owned()),
            labels: Some(object_labels),
            annotations: Some(labels::annotations(plan, &plan.origin)),
            ..ObjectMeta::default()
        },
        spec: PrometheusRuleSpec {
            groups: vec![RuleGroup {
                name: format!("kopiaplan.{}.{namespace}", plan.name),
                rules,
            }],
        },
    }
}

/// The labels every rule of an entry carries.
fn entry_labels(entry: &Watched<'_>) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("kopiaplan_plan".to_owned(), entry.plan.name.clone()),
        ("kopiaplan_entry".to_owned(), entry.entry.to_owned()),
        (
            "kopiaplan_component".to_owned(),
            entry.component.as_str().to_owned(),
        ),
    ])
}

fn entry_rules(entry: &Watched<'_>, severity: &str) -> Vec<Rule> {
    let mut rules = Vec::new();
    let mut alert_labels = entry_labels(entry);
    alert_labels.insert("severity".into(), severity.to_owned());
    let what = describe(entry);
    let runbook = runbook(entry);
    if let Some(threshold) = entry.stale_after_seconds() {
        let mut record_labels = entry_labels(entry);
        record_labels.insert("namespace".into(), entry.namespace.to_owned());
        record_labels.insert("cronjob".into(), entry.names.cron_job.clone());
        rules.push(Rule {
            record: Some(metrics::STALE_THRESHOLD.to_owned()),
            alert: None,
            expr: format!("vector({threshold})"),
            labels: record_labels,
            annotations: BTreeMap::new(),
        });
        let name = match entry.component {
            Component::Maintenance => MAINTENANCE_STALE,
            _ => BACKUP_STALE,
        };
        if matches!(entry.component, Component::Backup | Component::Maintenance) {
            rules.push(Rule {
                record: None,
                alert: Some(name.to_owned()),
                expr: stale_expression(entry.namespace, &entry.names.cron_job, threshold),
                labels: alert_labels.clone(),
                annotations: BTreeMap::from([
                    (
                        "summary".to_owned(),
                        format!(
                            "{what} has not succeeded for {{{{ $value | humanizeDuration }}}}; \
                             its schedule allows {}",
                            human_duration(threshold)
                        ),
                    ),
                    ("runbook".to_owned(), runbook.clone()),
                ]),
            });
        }
    }
    let failed = match entry.component {
        Component::Backup => BACKUP_FAILED,
        Component::Maintenance => MAINTENANCE_FAILED,
        Component::Replica => REPLICA_FAILED,
        Component::Verify => VERIFY_FAILED,
        Component::Restore | Component::Monitoring => RESTORE_FAILED,
    };
    rules.push(Rule {
        record: None,
        alert: Some(failed.to_owned()),
        expr: failed_expression(entry),
        labels: alert_labels,
        annotations: BTreeMap::from([
            ("summary".to_owned(), format!("{what} failed")),
            ("runbook".to_owned(), runbook),
        ]),
    });
    rules
}

fn describe(entry: &Watched<'_>) -> String {
    let kind = match entry.component {
        Component::Backup => "backup",
        Component::Maintenance => "maintenance",
        Component::Replica => "replica",
        Component::Verify => "verify",
        Component::Restore => "restore",
        Component::Monitoring => "monitoring",
    };
    format!(
        "The {kind} {} of plan {} in namespace {}",
        entry.entry, entry.plan.name, entry.namespace
    )
}

/// The command that shows the result line of the entry's pods (their
/// termination message).
fn runbook(entry: &Watched<'_>) -> String {
    let selector = labels::selector(entry.plan, entry.component, entry.entry)
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "kubectl -n {} get pods -l {selector} --sort-by=.metadata.creationTimestamp \
         -o custom-columns=POD:.metadata.name,RESULT:.status.containerStatuses[0].state.terminated.message",
        entry.namespace
    )
}

/// No successful run for longer than the threshold: measured from the last
/// success, or from the CronJob's creation when it never succeeded; never
/// while the CronJob is suspended.
fn stale_expression(namespace: &str, cron_job: &str, threshold: i64) -> String {
    let select = format!("{{namespace=\"{namespace}\", cronjob=\"{cron_job}\"}}");
    format!(
        "max by (namespace) (\n\
         \x20 (\n\
         \x20   time() - kube_cronjob_status_last_successful_time{select}\n\
         \x20   or\n\
         \x20   (time() - kube_cronjob_created{select}\n\
         \x20     unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{select})\n\
         \x20 ) > {threshold}\n\
         \x20 unless on (namespace, cronjob) (kube_cronjob_spec_suspend{select} == 1)\n\
         )"
    )
}

/// A Job of the entry whose Failed condition is true. For a CronJob, only a
/// failed Job that started after the CronJob's last success counts: a
/// later success clears the alert while the failed Job is kept in history.
fn failed_expression(entry: &Watched<'_>) -> String {
    let namespace = entry.namespace;
    match (entry.run, &entry.names.job) {
        (Run::Manual { .. }, Some(job)) => format!(
            "max by (namespace) (kube_job_failed{{namespace=\"{namespace}\", job_name=\"{job}\", condition=\"true\"}} == 1)"
        ),
        _ => {
            let cron_job = &entry.names.cron_job;
            let failed_start = format!(
                "max by (namespace) (\n\
                 \x20   kube_job_status_start_time{{namespace=\"{namespace}\"}}\n\
                 \x20   and on (namespace, job_name) (kube_job_failed{{namespace=\"{namespace}\", condition=\"true\"}} == 1)\n\
                 \x20   and on (namespace, job_name) kube_job_owner{{namespace=\"{namespace}\", owner_kind=\"CronJob\", owner_name=\"{cron_job}\"}}\n\
                 \x20 )"
            );
            format!(
                "{failed_start}\n\
                 unless on (namespace) (\n\
                 \x20 max by (namespace) (kube_cronjob_status_last_successful_time{{namespace=\"{namespace}\", cronjob=\"{cron_job}\"}})\n\
                 \x20 > on (namespace) {failed_start}\n\
                 )"
            )
        }
    }
}

/// `1d 2h`, `15m`: for the alert's summary.
pub fn human_duration(seconds: i64) -> String {
    let units = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")];
    let mut rest = seconds.max(0);
    let mut parts = Vec::new();
    for (size, unit) in units {
        if rest >= size {
            parts.push(format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    if parts.is_empty() {
        "0s".to_owned()
    } else {
        parts.join(" ")
    }
}
