//! The Grafana dashboard of a plan, in a ConfigMap the Grafana sidecar
//! loads (it looks for the labels `dashboard.labels` names). Its queries
//! read the kube-state-metrics series of the rules, the rules' own
//! threshold series and `ALERTS`, and the gauges movers push to a
//! Pushgateway; panels of a part that is not set up stay empty.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use super::{Watched, metrics};
use crate::emit::labels;
use crate::model::Component;
use crate::model::names::{NAME_LIMIT, object_name};
use crate::model::{DashboardSettings, Plan};

/// The ConfigMap holding the dashboard of `plan`.
pub fn config_map(
    plan: &Plan,
    settings: &DashboardSettings,
    watched: &BTreeMap<&str, Vec<Watched<'_>>>,
) -> ConfigMap {
    let name = object_name(&[&plan.name, "dashboard"], NAME_LIMIT);
    let mut object_labels = labels::labels(plan, Component::Monitoring, &plan.name);
    for (key, value) in &settings.labels {
        object_labels.entry(key.clone()).or_insert(value.clone());
    }
    let json = serde_json::to_string_pretty(&dashboard(plan, watched)).unwrap_or_default();
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(settings.namespace.clone()),
            labels: Some(object_labels),
            annotations: Some(labels::annotations(plan, &plan.origin)),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([(
            format!("kopiaplan-{}.json", plan.name),
            json + "\n",
        )])),
        ..ConfigMap::default()
    }
}

/// The dashboard's JSON model.
pub fn dashboard(plan: &Plan, watched: &BTreeMap<&str, Vec<Watched<'_>>>) -> Value {
    let plan_selector = format!("kopiaplan_plan=\"{}\"", plan.name);
    let namespaces = watched.keys().copied().collect::<Vec<_>>().join("|");
    let cron_jobs = watched
        .values()
        .flatten()
        .map(|entry| entry.names.cron_job.as_str())
        .collect::<Vec<_>>()
        .join("|");
    let threshold = format!("{}{{{plan_selector}}}", metrics::STALE_THRESHOLD);
    let entry_labels = "group_left (kopiaplan_plan, kopiaplan_entry, kopiaplan_component)";
    let panels = vec![
        panel(
            1,
            "Age of the last success against its threshold",
            "bargauge",
            (0, 0, 12, 8),
            &format!(
                "(time() - kube_cronjob_status_last_successful_time)\n  / on (namespace, cronjob) {entry_labels}\n  {threshold}"
            ),
            "{{kopiaplan_component}} {{namespace}}/{{kopiaplan_entry}}",
            json!({
                "unit": "percentunit", "min": 0, "max": 1.5,
                "thresholds": {"mode": "absolute", "steps": [
                    {"color": "green", "value": null},
                    {"color": "orange", "value": 0.8},
                    {"color": "red", "value": 1}
                ]}
            }),
        ),
        panel(
            2,
            "Last success",
            "table",
            (12, 0, 12, 8),
            &format!(
                "1000 * kube_cronjob_status_last_successful_time\n  * on (namespace, cronjob) {entry_labels}\n  (0 * {threshold} + 1)"
            ),
            "{{kopiaplan_component}} {{namespace}}/{{kopiaplan_entry}}",
            json!({"unit": "dateTimeFromNow"}),
        ),
        panel(
            3,
            "Run duration (pushed)",
            "timeseries",
            (0, 8, 12, 8),
            &format!("{}{{{plan_selector}}}", metrics::LAST_RUN_DURATION),
            "{{kopiaplan_component}} {{namespace}}/{{kopiaplan_entry}}",
            json!({"unit": "s"}),
        ),
        panel(
            4,
            "Snapshot size (pushed)",
            "timeseries",
            (12, 8, 12, 8),
            &format!("{}{{{plan_selector}}}", metrics::LAST_SNAPSHOT_BYTES),
            "{{namespace}}/{{kopiaplan_entry}}",
            json!({"unit": "bytes"}),
        ),
        panel(
            5,
            "Failed Jobs",
            "table",
            (0, 16, 12, 8),
            &format!(
                "sum by (namespace, owner_name) (\n  (kube_job_failed{{namespace=~\"{namespaces}\", condition=\"true\"}} == 1)\n  * on (namespace, job_name) group_left (owner_name)\n  kube_job_owner{{namespace=~\"{namespaces}\", owner_kind=\"CronJob\", owner_name=~\"{cron_jobs}\"}}\n)"
            ),
            "{{namespace}}/{{owner_name}}",
            json!({}),
        ),
        panel(
            6,
            "Maintenance and verify: last run succeeded (pushed)",
            "stat",
            (12, 16, 12, 8),
            &format!(
                "{}{{{plan_selector}, kopiaplan_component=~\"maintenance|verify\"}}",
                metrics::LAST_RUN_SUCCESS
            ),
            "{{kopiaplan_component}} {{namespace}}/{{kopiaplan_entry}}",
            json!({
                "mappings": [{"type": "value", "options": {
                    "0": {"text": "FAILED", "color": "red"},
                    "1": {"text": "OK", "color": "green"}
                }}]
            }),
        ),
        panel(
            7,
            "Firing alerts",
            "table",
            (0, 24, 24, 8),
            &format!("ALERTS{{alertstate=\"firing\", {plan_selector}}}"),
            "{{alertname}} {{namespace}}/{{kopiaplan_entry}}",
            json!({}),
        ),
    ];
    json!({
        "title": format!("kopiaplan: {}", plan.name),
        "uid": object_name(&["kopiaplan", &plan.name], 40),
        "tags": ["kopiaplan", "backup"],
        "timezone": "utc",
        "schemaVersion": 39,
        "refresh": "5m",
        "time": {"from": "now-7d", "to": "now"},
        "templating": {"list": [{
            "name": "datasource",
            "type": "datasource",
            "query": "prometheus",
            "label": "Data source"
        }]},
        "panels": panels,
    })
}

fn panel(
    id: u32,
    title: &str,
    kind: &str,
    (x, y, w, h): (u32, u32, u32, u32),
    expr: &str,
    legend: &str,
    defaults: Value,
) -> Value {
    let instant = kind != "timeseries";
    json!({
        "id": id,
        "title": title,
        "type": kind,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "targets": [{
            "refId": "A",
            "expr": expr,
            "legendFormat": legend,
            "instant": instant,
            "range": !instant
        }]
    })
}

/// Every query of a dashboard, for tests and reviewers.
pub fn queries(dashboard: &Value) -> Vec<String> {
    dashboard["panels"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|target| target["expr"].as_str().map(str::to_owned))
        .collect()
}

/// A picture of the dashboard's layout, drawn from its JSON: each panel at
/// its grid position with its title, type and the first line of its query
/// (for the README; Grafana draws the real thing).
pub fn preview_svg(dashboard: &Value) -> String {
    use crate::explain::svg::escape;
    const CELL_WIDTH: u64 = 40;
    const ROW_HEIGHT: u64 = 22;
    let panels = dashboard["panels"].as_array().cloned().unwrap_or_default();
    let bottom = panels
        .iter()
        .map(|p| p["gridPos"]["y"].as_u64().unwrap_or(0) + p["gridPos"]["h"].as_u64().unwrap_or(0))
        .max()
        .unwrap_or(0);
    let width = 24 * CELL_WIDTH + 20;
    let height = bottom * ROW_HEIGHT + 60;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\">\n\
         <rect width=\"{width}\" height=\"{height}\" fill=\"#181b1f\"/>\n\
         <text x=\"10\" y=\"30\" fill=\"#d8d9da\" font-size=\"18\">{}</text>\n",
        escape(dashboard["title"].as_str().unwrap_or_default())
    );
    for panel in &panels {
        let grid = &panel["gridPos"];
        let number = |key: &str| grid[key].as_u64().unwrap_or(0);
        let (x, y) = (10 + number("x") * CELL_WIDTH, 44 + number("y") * ROW_HEIGHT);
        let (w, h) = (number("w") * CELL_WIDTH - 8, number("h") * ROW_HEIGHT - 8);
        let query = queries(&json!({"panels": [panel]}))
            .first()
            .and_then(|q| q.lines().next().map(str::to_owned))
            .unwrap_or_default();
        svg.push_str(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"4\" fill=\"#22252b\" stroke=\"#34373d\"/>\n\
             <text x=\"{}\" y=\"{}\" fill=\"#d8d9da\" font-size=\"14\">{}</text>\n\
             <text x=\"{}\" y=\"{}\" fill=\"#8e8e8e\" font-size=\"11\">{} · {}</text>\n",
            x + 10,
            y + 22,
            escape(panel["title"].as_str().unwrap_or_default()),
            x + 10,
            y + 42,
            escape(panel["type"].as_str().unwrap_or_default()),
            escape(&query),
        ));
    }
    svg.push_str("</svg>\n");
    svg
}
