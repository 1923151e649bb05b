//! Monitoring (`spec.monitoring`): the generated PrometheusRules checked and
//! unit-tested by the real promtool on synthetic kube-state-metrics series,
//! the dashboard's queries, and a mover's push to a real Pushgateway.

use serde_json::{Value, json};

use crate::support::{self, requires::requires};
use crate::test::{Objects, Plan};

fn example() -> Objects {
    let text = std::fs::read_to_string(support::root().join("examples/monitoring.yaml"))
        .expect("examples/monitoring.yaml");
    Plan::text(text).objects()
}

/// The rule file Prometheus would load from a PrometheusRule's spec.
fn rule_file(rule: &Value) -> String {
    serde_json::to_string_pretty(&json!({"groups": rule["spec"]["groups"]})).expect("JSON")
}

fn promtool(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    support::run(
        std::process::Command::new("promtool")
            .args(args)
            .current_dir(dir),
        None,
    )
}

#[test]
fn promtool_accepts_every_generated_rule_file() {
    requires!(Tool("promtool"));
    let dir = support::scratch("check-rules");
    let mut files = Vec::new();
    for example in support::examples() {
        let text = std::fs::read_to_string(&example).expect("example");
        let Ok(objects) = support::compile_text(&text) else {
            continue;
        };
        for (index, rule) in objects
            .iter()
            .filter(|o| o["kind"] == "PrometheusRule")
            .enumerate()
        {
            let stem = example.file_stem().and_then(|s| s.to_str()).expect("name");
            let file = format!("{stem}-{index}.json");
            std::fs::write(dir.join(&file), rule_file(rule)).expect("write rules");
            files.push(file);
        }
    }
    assert!(!files.is_empty(), "no example has a PrometheusRule");
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    let out = promtool(&args, &dir);
    assert!(
        out.status.success(),
        "promtool check rules:\n{}{}",
        support::stdout(&out),
        support::stderr(&out)
    );
}

/// A series of kube-state-metrics for `promtool test rules`.
fn series(name: &str, labels: &[(&str, &str)], values: &str) -> Value {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    json!({"series": format!("{name}{{{}}}", labels.join(", ")), "values": values})
}

/// The CronJob series of an entry: created at 0, suspended or not, last
/// success at `last_success` (a promtool value expression, one value per
/// [`STEP`]).
fn cron_job(name: &str, suspended: bool, last_success: Option<&str>) -> Vec<Value> {
    let at = [("namespace", "shop"), ("cronjob", name)];
    let mut out = vec![
        series("kube_cronjob_created", &at, "0+0x3000"),
        series(
            "kube_cronjob_spec_suspend",
            &at,
            if suspended { "1+0x3000" } else { "0+0x3000" },
        ),
    ];
    if let Some(values) = last_success {
        out.push(series(
            "kube_cronjob_status_last_successful_time",
            &at,
            values,
        ));
    }
    out
}

/// A Job of `owner` (a CronJob; `None` for a manual Job) that started at
/// `start` seconds and failed.
fn failed_job(job: &str, owner: Option<&str>, start: u64) -> Vec<Value> {
    let at = [("namespace", "shop"), ("job_name", job)];
    let mut out = vec![
        series(
            "kube_job_failed",
            &[
                ("namespace", "shop"),
                ("job_name", job),
                ("condition", "true"),
            ],
            "1+0x3000",
        ),
        series(
            "kube_job_status_start_time",
            &at,
            &format!("{start}+0x3000"),
        ),
    ];
    if let Some(owner) = owner {
        out.push(series(
            "kube_job_owner",
            &[
                ("namespace", "shop"),
                ("job_name", job),
                ("owner_kind", "CronJob"),
                ("owner_name", owner),
                ("owner_is_controller", "true"),
            ],
            "1+0x3000",
        ));
    }
    out
}

fn alert(name: &str, at: &str, firing: Vec<Value>) -> Value {
    json!({"eval_time": at, "alertname": name, "exp_alerts": firing})
}

/// An expected alert of the example's plan: its labels and annotations.
fn firing(entry: &str, component: &str, summary: &str, runbook_entry: &str) -> Value {
    json!({
        "exp_labels": {
            "namespace": "shop",
            "kopiaplan_plan": "watched",
            "kopiaplan_entry": entry,
            "kopiaplan_component": component,
            "severity": "warning",
        },
        "exp_annotations": {
            "summary": summary,
            "runbook": format!(
                "kubectl -n shop get pods -l app.kubernetes.io/component={component},\
                 app.kubernetes.io/instance={runbook_entry},app.kubernetes.io/part-of=watched \
                 --sort-by=.metadata.creationTimestamp -o custom-columns=POD:.metadata.name,\
                 RESULT:.status.containerStatuses[0].state.terminated.message"
            ),
        }
    })
}

/// Runs `promtool test rules` on the example's rules with these cases.
#[track_caller]
fn promtool_test(name: &str, tests: Vec<Value>) {
    let objects = example();
    let rules = objects.of_kind("PrometheusRule");
    assert_eq!(rules.len(), 1, "one namespace, one PrometheusRule");
    let dir = support::scratch(name);
    std::fs::write(dir.join("rules.json"), rule_file(rules[0])).expect("write rules");
    let test = json!({
        "rule_files": ["rules.json"],
        "evaluation_interval": STEP,
        "tests": tests,
    });
    std::fs::write(
        dir.join("test.json"),
        serde_json::to_string_pretty(&test).expect("JSON"),
    )
    .expect("write tests");
    let out = promtool(&["test", "rules", "test.json"], &dir);
    assert!(
        out.status.success(),
        "promtool test rules ({}):\n{}{}",
        dir.display(),
        support::stdout(&out),
        support::stderr(&out)
    );
}

const DAY: u64 = 86_400;
/// Samples and rule evaluations every 10 minutes: eval times are multiples,
/// so each finds a sample within Prometheus's 5-minute lookback.
const STEP: &str = "10m";

#[test]
fn a_weekly_backup_nine_days_old_fires_and_a_fifteen_minute_backup_ten_minutes_old_does_not() {
    requires!(Tool("promtool"));
    // The weekly `archive` last succeeded at 0; `orders-db` (every 15
    // minutes) always 10 minutes ago. The weekly threshold is 7 days and
    // both deadlines (8d 2h); the 15-minute one is 15 minutes plus the
    // same deadlines (1d 1h 15m).
    let mut input = cron_job("watched-archive-backup", false, Some("0+0x3000"));
    input.extend(cron_job(
        "watched-orders-db-backup",
        false,
        Some("-600+600x3000"),
    ));
    let stale_archive = firing(
        "archive",
        "backup",
        "The backup archive of plan watched in namespace shop has not succeeded for 9d 0h 0m 0s; \
         its schedule allows 8d 2h",
        "archive",
    );
    promtool_test(
        "weekly-and-frequent",
        vec![json!({
            "interval": STEP,
            "input_series": input,
            "alert_rule_test": [
                alert("KopiaplanBackupStale", "8d", vec![]),
                alert("KopiaplanBackupStale", "9d", vec![stale_archive]),
                alert("KopiaplanBackupFailed", "9d", vec![]),
            ],
        })],
    );
}

#[test]
fn a_fifteen_minute_backup_fires_once_its_own_threshold_is_passed() {
    requires!(Tool("promtool"));
    // Last success at 0: silent at 25h, stale after 1d 1h 15m.
    let input = cron_job("watched-orders-db-backup", false, Some("0+0x3000"));
    promtool_test(
        "frequent-stale",
        vec![json!({
            "interval": STEP,
            "input_series": input,
            "alert_rule_test": [
                alert("KopiaplanBackupStale", "25h", vec![]),
                alert("KopiaplanBackupStale", "26h", vec![firing(
                    "orders-db",
                    "backup",
                    "The backup orders-db of plan watched in namespace shop has not succeeded for \
                     1d 2h 0m 0s; its schedule allows 1d 1h 15m",
                    "orders-db",
                )]),
            ],
        })],
    );
}

#[test]
fn a_paused_entry_never_fires_and_one_that_never_succeeded_does_as_does_stale_maintenance() {
    requires!(Tool("promtool"));
    // `legacy` is paused in the plan (no staleness rule) and `archive` is
    // suspended in the cluster: neither fires, however old. `orders-db`
    // never succeeded: it is stale once its threshold has passed since
    // the CronJob was created.
    let mut input = cron_job("watched-legacy-backup", true, Some("0+0x3000"));
    input.extend(cron_job("watched-archive-backup", true, Some("0+0x3000")));
    input.extend(cron_job("watched-orders-db-backup", false, None));
    // Full maintenance (daily, at a hashed time) last ran at 0.
    input.extend(cron_job(
        "watched-main-maintenance-full",
        false,
        Some("0+0x3000"),
    ));
    promtool_test(
        "paused",
        vec![json!({
            "interval": STEP,
            "input_series": input,
            "alert_rule_test": [
                alert("KopiaplanMaintenanceStale", "2d", vec![]),
                alert("KopiaplanMaintenanceStale", "3d", vec![firing(
                    "main-full",
                    "maintenance",
                    "The maintenance main-full of plan watched in namespace shop has not \
                     succeeded for 3d 0h 0m 0s; its schedule allows 2d 2h",
                    "main-full",
                )]),
                alert("KopiaplanBackupStale", "13d", vec![firing(
                    "orders-db",
                    "backup",
                    "The backup orders-db of plan watched in namespace shop has not succeeded for \
                     13d 0h 0m 0s; its schedule allows 1d 1h 15m",
                    "orders-db",
                )]),
            ],
        })],
    );
}

#[test]
fn a_failed_job_fires_until_a_later_success() {
    requires!(Tool("promtool"));
    // The archive's Job started at 2d and failed; the last success was at
    // 1d until 3d, then at 3d (a later Job succeeded). The manual
    // `migration` Job failed, and so did the maintenance and verify Jobs
    // and a run of the on-demand restore.
    let mut input = cron_job(
        "watched-archive-backup",
        false,
        Some(&format!("{DAY}+0x431 {}+0x3000", 3 * DAY)),
    );
    input.extend(failed_job(
        "watched-archive-backup-1",
        Some("watched-archive-backup"),
        2 * DAY,
    ));
    input.extend(failed_job("watched-migration-backup-50282632e3", None, DAY));
    input.extend(failed_job(
        "watched-main-maintenance-full-1",
        Some("watched-main-maintenance-full"),
        DAY,
    ));
    input.extend(failed_job(
        "watched-archive-verify-1",
        Some("watched-archive-verify"),
        DAY,
    ));
    input.extend(failed_job(
        "drill-now",
        Some("watched-orders-drill-restore"),
        DAY,
    ));
    let failed = |entry: &str, component: &str, what: &str| {
        firing(
            entry,
            component,
            &format!("The {what} {entry} of plan watched in namespace shop failed"),
            entry,
        )
    };
    promtool_test(
        "failed",
        vec![json!({
            "interval": STEP,
            "input_series": input,
            "alert_rule_test": [
                alert("KopiaplanBackupFailed", "2d1h", vec![
                    failed("archive", "backup", "backup"),
                    failed("migration", "backup", "backup"),
                ]),
                alert("KopiaplanBackupFailed", "3d1h", vec![
                    failed("migration", "backup", "backup"),
                ]),
                alert("KopiaplanMaintenanceFailed", "2d", vec![
                    failed("main-full", "maintenance", "maintenance"),
                ]),
                alert("KopiaplanVerifyFailed", "2d", vec![
                    failed("archive", "verify", "verify"),
                ]),
                alert("KopiaplanRestoreFailed", "2d", vec![
                    failed("orders-drill", "restore", "restore"),
                ]),
            ],
        })],
    );
}

/// A plan whose backup writes to a filesystem repository on a claim and
/// pushes its metrics to `pushgateway`.
fn pushing_plan(pushgateway: &str) -> String {
    format!(
        r#"apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: pushed
  namespace: apps
spec:
  monitoring:
    pushgateway: {{url: "{pushgateway}"}}
  repositories:
    - name: local
      secretName: kopia-local
      filesystem: {{claimName: backup-repo, path: /repository}}
      create: IfMissing
  defaults:
    repository: local
    copyMethod: Direct
    schedule: "0 2 * * *"
  backups:
    - {{name: web, pvc: web-data}}
"#
    )
}

/// Runs the backup of [`pushing_plan`] with the real Kopia.
fn run_backup(name: &str, pushgateway: &str) -> support::pod::PodResult {
    let objects = support::compile_json(name, &pushing_plan(pushgateway));
    let repository = support::scratch(&format!("{name}-repo"));
    support::pod::chmod_path(&repository, 0o777);
    let data = support::scratch(&format!("{name}-data"));
    std::fs::write(data.join("index.html"), b"<h1>hello</h1>\n").expect("write data");
    std::fs::write(data.join("big.bin"), vec![7u8; 100_000]).expect("write data");
    support::tree::owned_by_the_application(&data);
    support::pod::Pod::from_compiled(&objects, "CronJob", "apps", "pushed-web-backup")
        .secret("kopia-local", &[("KOPIA_PASSWORD", "correct horse")])
        .pvc("backup-repo", &repository)
        .pvc("web-data", &data)
        .real_kopia()
        .timeout(std::time::Duration::from_secs(120))
        .run()
}

/// The value of one series in Prometheus's text format.
fn gauge(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|line| line.starts_with(&format!("{name}{{")))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[test]
fn a_mover_pushes_its_result_to_a_real_pushgateway() {
    requires!(Namespaces, Kopia, Tool("pushgateway"), Tool("curl"));
    let dir = support::scratch("pushgateway");
    let server = support::servers::pushgateway(&dir);
    let result = run_backup("pushed", &format!("http://{}", server.address()));
    assert_eq!(result.exit_code, 0, "the backup failed:\n{}", result.logs());
    let line = result.result_line();
    let metrics = support::run(
        std::process::Command::new("curl")
            .arg("-sSf")
            .arg(format!("http://{}/metrics", server.address())),
        None,
    );
    let metrics = support::stdout(&metrics);
    let pushed: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("kopiaplan_"))
        .collect();
    assert!(!pushed.is_empty(), "nothing pushed:\n{}", result.logs());
    // Every gauge carries the grouping key.
    for series in &pushed {
        for label in [
            "job=\"kopiaplan\"",
            "namespace=\"apps\"",
            "kopiaplan_plan=\"pushed\"",
            "kopiaplan_component=\"backup\"",
            "kopiaplan_entry=\"web\"",
        ] {
            assert!(series.contains(label), "{series} lacks {label}");
        }
    }
    assert_eq!(gauge(&metrics, "kopiaplan_last_run_success"), Some(1.0));
    assert_eq!(
        gauge(&metrics, "kopiaplan_last_snapshot_bytes"),
        line["bytes"].as_f64(),
        "the pushed size is the result line's"
    );
    assert_eq!(
        gauge(&metrics, "kopiaplan_last_snapshot_files"),
        line["files"].as_f64()
    );
    assert_eq!(
        gauge(&metrics, "kopiaplan_last_run_duration_seconds"),
        line["durationSeconds"].as_f64()
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    for stamp in [
        "kopiaplan_last_success_timestamp_seconds",
        "kopiaplan_last_snapshot_timestamp_seconds",
        "kopiaplan_last_run_timestamp_seconds",
    ] {
        let value = gauge(&metrics, stamp).unwrap_or_else(|| panic!("no {stamp}"));
        assert!((now - value).abs() < 300.0, "{stamp} is {value}, now {now}");
    }
    // Every pushed name is one the dashboard may read.
    for series in &pushed {
        let name = series.split('{').next().unwrap_or_default();
        assert!(
            kopiaplan::monitoring::metrics::PUSHED.contains(&name),
            "{name} is not in monitoring::metrics::PUSHED"
        );
    }
}

#[test]
fn a_failed_push_is_logged_and_the_run_still_succeeds() {
    requires!(Namespaces, Kopia, Tool("curl"));
    // A port nothing listens on.
    let port = support::servers::free_port();
    let result = run_backup("closed-port", &format!("http://127.0.0.1:{port}"));
    assert_eq!(result.exit_code, 0, "the backup failed:\n{}", result.logs());
    assert_eq!(result.result_line()["result"], "success");
    assert!(
        result
            .logs()
            .contains("warning: pushing the run's metrics to the Pushgateway failed"),
        "{}",
        result.logs()
    );
}

/// The metric names a PromQL expression reads: identifiers that are not
/// functions, keywords, label names or strings.
fn series_names(expr: &str) -> Vec<String> {
    let strings = regex::Regex::new(r#""[^"]*""#).expect("regex");
    let matchers = regex::Regex::new(r"\{[^}]*\}").expect("regex");
    let groupings =
        regex::Regex::new(r"\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)")
            .expect("regex");
    let expr = strings.replace_all(expr, "\"\"");
    let expr = matchers.replace_all(&expr, "");
    let expr = groupings.replace_all(&expr, "");
    let identifier = regex::Regex::new(r"[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?").expect("regex");
    identifier
        .find_iter(&expr)
        .map(|m| m.as_str())
        .filter(|token| !token.ends_with('('))
        .filter(|token| !["and", "or", "unless", "bool", "offset"].contains(token))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_dashboard_is_json_and_reads_only_series_the_rules_or_the_pushgateway_provide() {
    let objects = example();
    let config_map = objects.named("ConfigMap", "watched-dashboard");
    assert_eq!(config_map["metadata"]["namespace"], "monitoring");
    assert_eq!(
        config_map["metadata"]["labels"]["grafana_dashboard"], "1",
        "the Grafana sidecar's label"
    );
    let json = config_map["data"]["kopiaplan-watched.json"]
        .as_str()
        .expect("the dashboard JSON");
    let dashboard: Value = serde_json::from_str(json).expect("the dashboard is valid JSON");
    let queries = kopiaplan::monitoring::dashboard::queries(&dashboard);
    assert!(queries.len() >= 6, "{queries:#?}");
    // What the rules record and alert, what kube-state-metrics exports and
    // the rules read, and what movers push.
    let rules = objects.of_kind("PrometheusRule");
    let mut provided: Vec<String> = vec!["ALERTS".into()];
    for rule in &rules {
        for group in rule["spec"]["groups"].as_array().expect("groups") {
            for rule in group["rules"].as_array().expect("rules") {
                if let Some(record) = rule["record"].as_str() {
                    provided.push(record.to_owned());
                }
                provided.extend(series_names(rule["expr"].as_str().expect("expr")));
            }
        }
    }
    provided.extend(
        kopiaplan::monitoring::metrics::PUSHED
            .iter()
            .map(|s| (*s).to_owned()),
    );
    for query in &queries {
        let names = series_names(query);
        assert!(!names.is_empty(), "{query} reads no series");
        for name in names {
            assert!(
                provided.contains(&name),
                "the dashboard query\n{query}\nreads {name}, which neither the rules, \
                 kube-state-metrics (as the rules use it) nor the Pushgateway provide"
            );
        }
    }
    // Per entry: last success, age against the threshold, duration, size,
    // failures, and the maintenance and verify state.
    let titles: Vec<&str> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect();
    for wanted in [
        "Last success",
        "threshold",
        "duration",
        "size",
        "Failed",
        "Maintenance and verify",
    ] {
        assert!(
            titles.iter().any(|t| t.contains(wanted)),
            "no panel about {wanted}: {titles:?}"
        );
    }
}

#[test]
fn series_names_are_read_from_expressions() {
    assert_eq!(
        series_names(
            "max by (namespace) (time() - a_b{x=\"y\"} > 3 unless on (namespace) b:c == 1)"
        ),
        ["a_b", "b:c"]
    );
}

#[test]
fn a_prometheus_rule_in_each_namespace_with_entries_and_the_contract_labels() {
    let plan = Plan::nightly_with_backups(
        "    - {name: web, pvc: web, schedule: \"*/15 * * * *\"}\n    - {name: db, pvc: db, namespace: data, schedule: \"0 3 * * 0\"}\n",
    )
    .replace(
        "spec:\n",
        "spec:\n  monitoring:\n    prometheusRule: {labels: {release: prom}, severity: critical}\n",
    );
    let objects = plan.objects();
    let rules = objects.of_kind("PrometheusRule");
    let namespaces: Vec<&str> = rules
        .iter()
        .filter_map(|r| r["metadata"]["namespace"].as_str())
        .collect();
    assert_eq!(namespaces, ["apps", "data"]);
    for rule in &rules {
        assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
        assert_eq!(rule["metadata"]["labels"]["release"], "prom");
        for alert in rule["spec"]["groups"][0]["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .filter(|r| r["alert"].is_string())
        {
            let labels = alert["labels"].as_object().expect("labels");
            let mut keys: Vec<&str> = labels.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                [
                    "kopiaplan_component",
                    "kopiaplan_entry",
                    "kopiaplan_plan",
                    "severity"
                ]
            );
            assert_eq!(labels["severity"], "critical");
            let expr = alert["expr"].as_str().expect("expr");
            assert!(expr.starts_with("max by (namespace)"), "{expr}");
            assert!(
                alert["annotations"]["runbook"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("kubectl -n ")),
                "{alert}"
            );
        }
    }
    // The thresholds follow each schedule: 15 minutes and a week, plus the
    // same deadlines.
    let threshold = |rule: &Value| -> i64 {
        rule["spec"]["groups"][0]["rules"][0]["expr"]
            .as_str()
            .and_then(|e| e.strip_prefix("vector(")?.strip_suffix(')')?.parse().ok())
            .expect("a threshold record first")
    };
    assert_eq!(
        threshold(rules[1]) - threshold(rules[0]),
        7 * 86_400 - 15 * 60
    );
}

#[test]
fn a_pushgateway_url_that_is_not_http_is_an_error() {
    Plan::nightly()
        .replace(
            "spec:\n",
            "spec:\n  monitoring:\n    pushgateway: {url: \"pushgateway:9091\"}\n",
        )
        .errors()
        .has("invalid-pushgateway-url")
        .has("does not start with `http://` or `https://`")
        .has("spec.monitoring.pushgateway.url");
}

#[test]
fn without_monitoring_nothing_is_emitted_and_no_mover_pushes() {
    let objects = Plan::nightly().objects();
    assert!(objects.of_kind("PrometheusRule").is_empty());
    let cron_job = objects.named("CronJob", "nightly-web-data-backup");
    assert_eq!(crate::test::env(cron_job, "KOPIAPLAN_PUSHGATEWAY_URL"), "");
}

#[test]
fn the_readme_picture_of_the_dashboard_is_drawn_from_its_json() {
    let objects = example();
    let json = objects.named("ConfigMap", "watched-dashboard")["data"]["kopiaplan-watched.json"]
        .as_str()
        .expect("the dashboard JSON")
        .to_owned();
    let dashboard: Value = serde_json::from_str(&json).expect("JSON");
    let svg = kopiaplan::monitoring::dashboard::preview_svg(&dashboard);
    roxmltree::Document::parse(&svg).expect("the picture is well-formed SVG");
    let path = support::root().join("docs/dashboard.svg");
    if std::env::var_os("KOPIAPLAN_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &svg).expect("write docs/dashboard.svg");
    }
    assert!(
        std::fs::read_to_string(&path).unwrap_or_default() == svg,
        "docs/dashboard.svg is stale: run `KOPIAPLAN_UPDATE_GOLDEN=1 cargo test --test it monitoring::`"
    );
}

#[test]
fn every_dashboard_query_is_valid_promql() {
    requires!(Tool("promtool"));
    // promtool parses each query as the expression of a recording rule.
    let objects = example();
    let json = objects.named("ConfigMap", "watched-dashboard")["data"]["kopiaplan-watched.json"]
        .as_str()
        .expect("the dashboard JSON")
        .to_owned();
    let dashboard: Value = serde_json::from_str(&json).expect("JSON");
    let rules: Vec<Value> = kopiaplan::monitoring::dashboard::queries(&dashboard)
        .iter()
        .enumerate()
        .map(|(index, expr)| json!({"record": format!("dashboard:query_{index}"), "expr": expr}))
        .collect();
    let dir = support::scratch("dashboard-promql");
    std::fs::write(
        dir.join("queries.json"),
        serde_json::to_string_pretty(&json!({"groups": [{"name": "dashboard", "rules": rules}]}))
            .expect("JSON"),
    )
    .expect("write queries");
    let out = promtool(&["check", "rules", "queries.json"], &dir);
    assert!(
        out.status.success(),
        "promtool check rules on the dashboard's queries:\n{}{}",
        support::stdout(&out),
        support::stderr(&out)
    );
}

/// The threshold record of `entry` in a compiled PrometheusRule.
fn recorded_threshold(rule: &Value, entry: &str) -> i64 {
    rule["spec"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules"))
        .filter(|r| r["labels"]["kopiaplan_entry"] == entry && r["record"].is_string())
        .find_map(|r| {
            let expr = r["expr"].as_str()?;
            expr.strip_prefix("vector(")?
                .strip_suffix(')')?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no threshold record for {entry}"))
}

#[test]
fn the_alert_and_status_count_the_deadline_of_the_job_the_cron_job_runs() {
    // A Snapshot copy and workload hooks run under a launcher Job, whose
    // deadline outlasts the mover's: the alert's threshold must be the one
    // `kopiaplan status` reads off the CronJob, not the mover's.
    let plan = Plan::nightly_with_backups(
        "    - name: direct\n      pvc: direct\n\
         \x20   - name: snapshot\n      pvc: snapshot\n      copyMethod: Snapshot\n      capacity: 1Gi\n\
         \x20   - name: hooked\n      pvc: hooked\n      hooks:\n        workload: {selector: {app: db}}\n        \
         before: {command: [sync], timeoutSeconds: 120}\n",
    )
    .replace(
        "spec:\n",
        "spec:\n  monitoring:\n    prometheusRule: {labels: {release: prom}}\n",
    );
    let objects = plan.objects();
    let rule = objects.named("PrometheusRule", "nightly-alerts");
    let cron_jobs: Vec<Value> = ["direct", "snapshot", "hooked"]
        .iter()
        .map(|entry| {
            objects
                .named("CronJob", &format!("nightly-{entry}-backup"))
                .clone()
        })
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "items": cron_jobs});
    let ran = crate::test::Test::new()
        .file("cluster.json", list.to_string())
        .args(["status", "--from", "{dir}/cluster.json", "--format", "json"])
        .args(["--now", "2026-12-10T12:00:00Z"])
        .run();
    let entries: Vec<Value> = serde_json::from_str(&ran.stdout).expect("JSON");
    let mover_deadline = |entry: &str| {
        let cron_job = objects.named("CronJob", &format!("nightly-{entry}-backup"));
        cron_job["spec"]["jobTemplate"]["spec"]["activeDeadlineSeconds"]
            .as_i64()
            .expect("a deadline")
    };
    assert!(mover_deadline("snapshot") > mover_deadline("direct"));
    assert!(mover_deadline("hooked") > mover_deadline("snapshot"));
    for entry in ["direct", "snapshot", "hooked"] {
        let status = entries
            .iter()
            .find(|e| e["entry"] == entry)
            .unwrap_or_else(|| panic!("{entry} in {entries:?}"));
        assert_eq!(
            status["thresholdSeconds"].as_i64(),
            Some(recorded_threshold(rule, entry)),
            "{entry}: status and the alert disagree"
        );
    }
}
