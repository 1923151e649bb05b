//! `spec.monitoring`: alerts, run metrics and a dashboard, all opt-in.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What kopiaplan emits so that a stopped backup is noticed. Each part is
/// opt-in; the alerts and the dashboard read kube-state-metrics series only.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MonitoringSpec {
    /// A `monitoring.coreos.com/v1` PrometheusRule in each namespace that
    /// has entries: staleness and failure alerts per entry.
    pub prometheus_rule: Option<PrometheusRuleSpec>,
    /// After every run the mover pushes its result to this Pushgateway.
    pub pushgateway: Option<PushgatewaySpec>,
    /// A Grafana dashboard in a ConfigMap, for the Grafana sidecar.
    pub dashboard: Option<DashboardSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrometheusRuleSpec {
    /// Labels on the PrometheusRule, for the Prometheus operator's
    /// `ruleSelector` (such as `release: kube-prometheus-stack`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The `severity` label of every alert.
    pub severity: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PushgatewaySpec {
    /// The Pushgateway's base URL, `http://` or `https://`, such as
    /// `http://pushgateway.monitoring:9091`.
    pub url: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DashboardSpec {
    /// Labels on the ConfigMap, the ones the Grafana sidecar looks for
    /// (such as `grafana_dashboard: "1"`).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The ConfigMap's namespace. Default: the plan's `metadata.namespace`.
    pub namespace: Option<String>,
}
