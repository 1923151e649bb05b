//! `kopiaplan explain`: identities, repositories, schedules with their next
//! runs in the entry's time zone (as Kubernetes runs them across
//! daylight-saving changes), the week per repository and crowded hours.

use crate::support;

use support::{kopiaplan, kopiaplan_with_stdin, scratch, stderr, stdout};

const PLAN: &str = "\
apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: nightly
  namespace: apps
spec:
  repositories:
    - name: main
      secretName: kopia-config
      url: s3://acme-backups/kopia
      maintenance: {enabled: false}   # these tests count backups only
    - name: offsite
      secretName: kopia-offsite
      maintenance: {enabled: false}
  defaults:
    repository: main
    copyMethod: Direct
    timeZone: Europe/Berlin
    retain: {daily: 7, weekly: 4}
  backups:
    - name: web-data
      pvc: web-data
      schedule: \"30 2 * * *\"
    - name: db
      pvc: db
      namespace: data
      schedule: \"0 4 * * *\"
      repository: offsite
";

fn explain_json(plan: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["explain", "-", "--format", "json"];
    args.extend_from_slice(extra);
    let output = kopiaplan_with_stdin(&args, Some(plan));
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).expect("JSON")
}

fn entry<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entry {name}"))
}

fn repository<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["repositories"]
        .as_array()
        .expect("repositories")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no repository {name}"))
}

fn strings(value: &serde_json::Value) -> Vec<&str> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect()
}

#[test]
fn next_three_runs_across_the_spring_change_in_berlin() {
    let report = explain_json(PLAN, &["--now", "2026-03-27T12:00:00Z"]);
    // 02:30 does not exist on 29 March 2026 in Berlin: Kubernetes skips it.
    assert_eq!(
        strings(&entry(&report, "web-data")["nextRuns"]),
        [
            "2026-03-28T02:30:00+01:00",
            "2026-03-30T02:30:00+02:00",
            "2026-03-31T02:30:00+02:00"
        ]
    );
    // 04:00 exists every day; from the 29th it is an hour earlier in UTC.
    assert_eq!(
        strings(&entry(&report, "db")["nextRuns"]),
        [
            "2026-03-28T04:00:00+01:00",
            "2026-03-29T04:00:00+02:00",
            "2026-03-30T04:00:00+02:00"
        ]
    );
}

#[test]
fn next_three_runs_across_the_autumn_change_in_berlin() {
    let report = explain_json(PLAN, &["--now", "2026-10-24T12:00:00+02:00"]);
    // 02:30 happens twice on 25 October 2026, and Kubernetes runs it twice.
    assert_eq!(
        strings(&entry(&report, "web-data")["nextRuns"]),
        [
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T02:30:00+01:00",
            "2026-10-26T02:30:00+01:00"
        ]
    );
}

#[test]
fn without_now_the_runs_start_from_the_current_time() {
    let before = chrono::Utc::now();
    let report = explain_json(PLAN, &[]);
    let first = entry(&report, "db")["nextRuns"][0]
        .as_str()
        .expect("a next run");
    let first = chrono::DateTime::parse_from_rfc3339(first).expect("RFC 3339");
    assert!(first > before, "{first} is not after {before}");
    assert!(first < before + chrono::TimeDelta::hours(25), "{first}");
}

#[test]
fn shows_identity_repository_copy_method_schedule_and_retention() {
    let report = explain_json(PLAN, &["--now", "2026-03-27T12:00:00Z"]);
    let web = entry(&report, "web-data");
    assert_eq!(web["identity"], "web-data@apps:/data");
    assert_eq!(web["repository"], "main");
    assert_eq!(web["copyMethod"], "Direct");
    assert_eq!(web["run"]["kind"], "scheduled");
    assert_eq!(web["run"]["cron"], "30 2 * * *");
    assert_eq!(web["run"]["timeZone"], "Europe/Berlin");
    assert_eq!(
        web["retention"],
        serde_json::json!({"keepDaily": 7, "keepWeekly": 4})
    );
    assert_eq!(
        repository(&report, "main")["location"],
        "s3://acme-backups/kopia"
    );

    let output = kopiaplan_with_stdin(
        &["explain", "-", "--now", "2026-03-27T12:00:00Z"],
        Some(PLAN),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    for expected in [
        "backup apps/web-data  (<stdin>:",
        "  identity     web-data@apps:/data\n",
        "  repository   main (s3://acme-backups/kopia)\n",
        "  copy method  Direct\n",
        "  runs         `30 2 * * *` in Europe/Berlin (CronJob apps/nightly-web-data-backup)\n",
        "  next runs    Sat 2026-03-28 02:30 CET (+01:00)\n               Mon 2026-03-30 02:30 CEST (+02:00)\n",
        "  retention    daily 7, weekly 4\n",
        "repository offsite (plan nightly): KOPIA_REPOSITORY of Secret kopia-offsite\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn manual_on_demand_and_paused_entries_have_no_next_runs() {
    let output = kopiaplan(&[
        "explain",
        "examples/paused-and-manual.yaml",
        "--now",
        "2026-03-27T12:00:00Z",
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON");
    assert_eq!(entry(&report, "migration")["run"]["kind"], "manual");
    assert_eq!(entry(&report, "migration")["run"]["token"], "2026-11-26");
    assert_eq!(entry(&report, "archive")["run"]["kind"], "onDemand");
    assert_eq!(entry(&report, "legacy")["run"]["suspended"], true);
    for name in ["migration", "archive", "legacy"] {
        assert_eq!(
            entry(&report, name)["nextRuns"],
            serde_json::json!([]),
            "{name}"
        );
    }
    // Only the repository's maintenance starts by itself: quick every
    // hour, full once a day.
    let week = &repository(&report, "main")["week"];
    for day in week.as_array().expect("days") {
        let starts: u64 = day
            .as_array()
            .expect("hours")
            .iter()
            .map(|count| count.as_u64().expect("count"))
            .sum();
        assert_eq!(starts, 25, "only maintenance starts by itself: {week}");
    }
    let maintenance = report["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["component"] == "maintenance")
        .expect("a maintenance entry");
    assert_eq!(maintenance["nextRuns"].as_array().map(Vec::len), Some(3));
}

/// Six backups at 03:00 on `main`, one on `offsite`.
fn crowded_plan() -> String {
    let mut plan = PLAN
        .replace("\"30 2 * * *\"", "\"0 3 * * *\"")
        .replace("\"0 4 * * *\"", "\"0 3 * * *\"");
    for i in 1..=5 {
        plan.push_str(&format!(
            "    - name: app-{i}\n      pvc: app-{i}\n      schedule: \"0 3 * * *\"\n"
        ));
    }
    plan
}

#[test]
fn crowded_hours_are_warned_about_per_repository() {
    let report = explain_json(&crowded_plan(), &["--now", "2026-03-02T00:00:00Z"]);
    let main = repository(&report, "main");
    assert_eq!(main["week"][0][3], 6, "Monday 03:00: {}", main["week"]);
    assert_eq!(main["busiest"]["count"], 6);
    assert_eq!(main["busiest"]["day"], "Monday");
    assert_eq!(main["busiest"]["hour"], 3);
    assert_eq!(main["crowded"].as_array().map(Vec::len), Some(7));
    assert_eq!(
        repository(&report, "offsite")["crowded"],
        serde_json::json!([])
    );
    let warnings = strings(&report["warnings"]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "6 entries start on repository `main` (plan nightly) between 03:00 and 03:59 \
             Europe/Berlin every day, more than 4: backup apps/app-1"
        ),
        "{}",
        warnings[0]
    );

    // The threshold is a flag.
    let relaxed = explain_json(
        &crowded_plan(),
        &[
            "--now",
            "2026-03-02T00:00:00Z",
            "--max-starts-per-hour",
            "6",
        ],
    );
    assert_eq!(relaxed["warnings"], serde_json::json!([]));
    assert_eq!(relaxed["maxStartsPerHour"], 6);

    // The text view says it too.
    let output = kopiaplan_with_stdin(
        &["explain", "-", "--now", "2026-03-02T00:00:00Z"],
        Some(&crowded_plan()),
    );
    let text = stdout(&output);
    assert!(
        text.contains("\nwarning: 6 entries start on repository `main`"),
        "{text}"
    );
    assert!(text.contains("\n  Mon    .  .  .  6  .  ."), "{text}");
    assert!(
        text.contains("busiest hour: Monday 03:00–03:59, 6 entries starting"),
        "{text}"
    );
}

#[test]
fn the_week_is_counted_in_the_chosen_time_zone() {
    // In winter, 03:00 in Berlin is 02:00 UTC.
    let report = explain_json(
        &crowded_plan(),
        &["--now", "2026-03-02T00:00:00Z", "--time-zone", "UTC"],
    );
    assert_eq!(report["timeZone"], "UTC");
    let main = repository(&report, "main");
    assert_eq!(main["week"][0][2], 6, "{}", main["week"]);
    assert_eq!(main["week"][0][3], 0);
    let output = kopiaplan(&[
        "explain",
        "examples/one-app.yaml",
        "--time-zone",
        "Europe/Berln",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("did you mean `Europe/Berlin`?"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn svg_is_well_formed_with_one_row_per_repository() {
    let plan = crowded_plan();
    let output = kopiaplan_with_stdin(
        &[
            "explain",
            "-",
            "--now",
            "2026-03-02T00:00:00Z",
            "--format",
            "svg",
        ],
        Some(&plan),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let svg = stdout(&output);
    let document = roxmltree::Document::parse(&svg).expect("well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let has_class = |node: &roxmltree::Node, class: &str| {
        node.attribute("class")
            .is_some_and(|c| c.split(' ').any(|c| c == class))
    };
    let rows: Vec<roxmltree::Node> = root
        .descendants()
        .filter(|n| n.has_tag_name("g") && has_class(n, "repository"))
        .collect();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r.attribute("data-repository").expect("data-repository"))
        .collect();
    assert_eq!(names, ["main", "offsite"]);

    let report = explain_json(&plan, &["--now", "2026-03-02T00:00:00Z"]);
    for row in &rows {
        let name = row.attribute("data-repository").expect("name");
        assert_eq!(row.attribute("data-plan"), Some("nightly"));
        let week = &repository(&report, name)["week"];
        let days: Vec<roxmltree::Node> = row
            .children()
            .filter(|n| n.has_tag_name("g") && has_class(n, "day"))
            .collect();
        assert_eq!(days.len(), 7, "{name}");
        for (day_index, day) in days.iter().enumerate() {
            let cells: Vec<roxmltree::Node> = day
                .children()
                .filter(|n| n.has_tag_name("rect") && has_class(n, "hour"))
                .collect();
            assert_eq!(cells.len(), 24, "{name} day {day_index}");
            for (hour, cell) in cells.iter().enumerate() {
                let count: u64 = cell
                    .attribute("data-count")
                    .and_then(|c| c.parse().ok())
                    .expect("data-count");
                assert_eq!(
                    Some(count),
                    week[day_index][hour].as_u64(),
                    "{name} {day_index} {hour}"
                );
                assert_eq!(
                    has_class(cell, "crowded"),
                    count > 4,
                    "{name} {day_index} {hour}"
                );
            }
        }
    }
}

#[test]
fn svg_text_is_escaped() {
    let plan = PLAN.replace(
        "s3://acme-backups/kopia",
        "\"s3://acme-backups/kopia/a=<1>&b='2'\"",
    );
    let output = kopiaplan_with_stdin(
        &[
            "explain",
            "-",
            "--now",
            "2026-03-02T00:00:00Z",
            "--format",
            "svg",
        ],
        Some(&plan),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let svg = stdout(&output);
    let document = roxmltree::Document::parse(&svg).expect("well-formed XML");
    assert!(
        document
            .descendants()
            .any(|n| n.text().is_some_and(|t| t.contains("kopia/a=<1>&b='2'"))),
        "{svg}"
    );
}

#[test]
fn the_report_does_not_depend_on_input_order() {
    let dir = scratch("explain-order");
    let second = PLAN
        .replace("name: nightly", "name: weekly")
        .replace("web-data", "web-files")
        .replace("name: db\n      pvc: db", "name: cache\n      pvc: cache");
    std::fs::write(dir.join("a.yaml"), PLAN).expect("write");
    std::fs::write(dir.join("b.yaml"), second).expect("write");
    let (a, b) = (dir.join("a.yaml"), dir.join("b.yaml"));
    let (a, b) = (a.to_str().expect("utf-8"), b.to_str().expect("utf-8"));
    let now = "2026-03-27T12:00:00Z";
    let forward = kopiaplan(&["explain", a, b, "--now", now]);
    let backward = kopiaplan(&["explain", b, a, "--now", now]);
    assert!(forward.status.success(), "{}", stderr(&forward));
    assert_eq!(stdout(&forward), stdout(&backward));
    assert!(
        stdout(&forward).contains("4 entries on 4 repositories"),
        "{}",
        stdout(&forward)
    );
}

#[test]
fn bad_input_and_bad_flags() {
    let bad = PLAN.replace("schedule: \"30 2 * * *\"", "schedule: \"30 2 * *\"");
    let output = kopiaplan_with_stdin(&["explain", "-"], Some(&bad));
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).is_empty());
    let text = stderr(&output);
    assert!(text.contains("error[invalid-schedule]:"), "{text}");
    assert!(text.contains("a schedule has 5 fields"), "{text}");
    // Usage errors stop before any input is read.
    let example = "examples/one-app.yaml";
    let output = kopiaplan(&["explain", example, "--now", "tomorrow"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("2026-03-28T12:00:00Z"),
        "{}",
        stderr(&output)
    );
    let output = kopiaplan(&["explain", example, "--format", "png"]);
    assert_eq!(output.status.code(), Some(2));
}

/// With the cluster's state (`--from`, as `kopiaplan status` reads it),
/// a maintenance result that warns about the repository's index blobs is
/// one of explain's warnings; without a warning there, nothing is added.
#[test]
fn explain_warns_about_a_large_repository_from_the_last_maintenance_result() {
    use crate::test::Test;
    let fixture = support::cluster_state_with_maintenance_fields("");
    let warned = support::cluster_state_with_maintenance_fields(
        r#""indexBlobCount":1500,"warning":"1500 index blobs: more than 1000","#,
    );
    let warning = "repository shop/main (plan watched): 1500 index blobs: more than 1000";
    Test::new()
        .file("cluster.json", warned)
        .args([
            "explain",
            "examples/monitoring.yaml",
            "--from",
            "{dir}/cluster.json",
        ])
        .stdout_has(warning)
        .run();
    Test::new()
        .file("cluster.json", fixture)
        .args([
            "explain",
            "examples/monitoring.yaml",
            "--from",
            "{dir}/cluster.json",
        ])
        .stdout_lacks("index blobs")
        .run();
}

/// Every field of a backup's policy, with the place of the plan that sets
/// it: the nearest level wins, a shortcut is named as such, and what the
/// plan leaves out is the repository's global policy.
#[test]
fn every_effective_policy_field_is_shown_with_where_it_comes_from() {
    let plan = crate::test::Plan::nightly_with_backups(
        "    - name: web-data
      pvc: web-data
      retain: {daily: 14}
      policy: {retention: {keepWeekly: 8}, files: {ignore: [cache/]}}
    - name: logs
      pvc: logs
",
    )
    .replace(
        "  defaults:\n    copyMethod: Direct\n",
        "  defaults:\n    copyMethod: Direct\n    retain: {daily: 7, monthly: 6}\n    compression: zstd\n    policy: {splitter: {algorithm: FIXED-4M}}\n",
    )
    .to_string();
    let report = explain_json(&plan, &["--now", "2026-03-27T12:00:00Z"]);
    let from = |entry_name: &str| -> Vec<(String, String, String)> {
        entry(&report, entry_name)["policy"]
            .as_array()
            .expect("policy")
            .iter()
            .map(|s| {
                (
                    s["field"].as_str().unwrap_or_default().to_owned(),
                    s["value"].as_str().unwrap_or_default().to_owned(),
                    s["from"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let web = from("web-data");
    for expected in [
        ("retention.keepDaily", "14", "the entry's `retain`"),
        ("retention.keepWeekly", "8", "the entry's `policy`"),
        ("retention.keepMonthly", "6", "`defaults.retain`"),
        ("files.ignore", "[\"cache/\"]", "the entry's `policy`"),
        (
            "compression.compressorName",
            "\"zstd\"",
            "`defaults.compression`",
        ),
        ("splitter.algorithm", "\"FIXED-4M\"", "`defaults.policy`"),
    ] {
        let expected = (
            expected.0.to_owned(),
            expected.1.to_owned(),
            expected.2.to_owned(),
        );
        assert!(web.contains(&expected), "{expected:?} not in {web:?}");
    }
    assert_eq!(web.len(), 6, "{web:?}");
    let logs = from("logs");
    assert!(logs.contains(&(
        "retention.keepDaily".to_owned(),
        "7".to_owned(),
        "`defaults.retain`".to_owned()
    )));
    let output = kopiaplan_with_stdin(
        &["explain", "-", "--now", "2026-03-27T12:00:00Z"],
        Some(&plan),
    );
    let text = stdout(&output);
    assert!(
        text.contains("  policy       splitter.algorithm = \"FIXED-4M\"  (`defaults.policy`)\n"),
        "{text}"
    );
    assert!(
        text.contains("\n               retention.keepDaily = 14  (the entry's `retain`)\n"),
        "{text}"
    );
    assert!(text.contains("every other field: the repository's global policy"));
}

/// A StatefulSet of 2 replicas with 2 claim templates, on tainted,
/// labelled nodes, and a plan that backs up its claims `Direct`.
const STATEFUL: &str = "apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: shop}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      securityContext: {runAsUser: 999, runAsGroup: 998, fsGroup: 997}
      nodeSelector: {pool: storage}
      tolerations: [{key: dedicated, operator: Equal, value: storage, effect: NoSchedule}]
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms: [{matchExpressions: [{key: zone, operator: In, values: [a]}]}]
      containers:
        - name: db
          image: postgres:17
          volumeMounts: [{name: data, mountPath: /data}, {name: wal, mountPath: /wal}]
  volumeClaimTemplates:
    - metadata: {name: data}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
    - metadata: {name: wal}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata: {name: shop, namespace: shop}
spec:
  repositories:
    - {name: main, secretName: kopia, url: \"s3://bucket/shop\", maintenance: {enabled: false}}
  backups:
    - name: db
      statefulSet: db
      copyMethod: Direct
";

#[test]
fn a_stateful_set_entry_is_explained_claim_by_claim_with_the_source_of_each_inferred_value() {
    let output = kopiaplan_with_stdin(&["explain", "-"], Some(STATEFUL));
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    // Each claim is its own backup, named after it, from the entry `db`.
    for (claim, template, replica) in [
        ("data-db-0", "data", 0),
        ("data-db-1", "data", 1),
        ("wal-db-0", "wal", 0),
        ("wal-db-1", "wal", 1),
    ] {
        let starts = text
            .find(&format!("backup shop/{claim}  ("))
            .unwrap_or_else(|| panic!("no backup {claim} in:\n{text}"));
        let section = &text[starts..];
        let section = &section[..section.find("\n\n").unwrap_or(section.len())];
        for line in [
            format!("identity     {claim}@shop:/data"),
            format!(
                "expanded     from entry `db`: StatefulSet/db, claim template `{template}`, replica {replica}"
            ),
            "inferred     mover.securityContext.runAsUser = 999  (from StatefulSet/db)".to_owned(),
            "mover.securityContext.runAsGroup = 998  (from StatefulSet/db)".to_owned(),
            "mover.securityContext.fsGroup = 997  (from StatefulSet/db)".to_owned(),
            format!(
                "workloadSelector = {{\"app\":\"db\",\"statefulset.kubernetes.io/pod-name\":\"db-{replica}\"}}  (from StatefulSet/db)"
            ),
            "mover.tolerations = [{\"effect\":\"NoSchedule\",\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"storage\"}]  (from StatefulSet/db)".to_owned(),
            "mover.nodeSelector = {\"pool\":\"storage\"}  (from StatefulSet/db)".to_owned(),
            "mover.affinity.nodeAffinity = {\"requiredDuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\",\"values\":[\"a\"]}]}]}}  (from StatefulSet/db)".to_owned(),
        ] {
            assert!(section.contains(&line), "no {line:?} in:\n{section}");
        }
    }
    assert_eq!(
        text.matches("expanded     from entry `db`").count(),
        4,
        "{text}"
    );
    // The JSON report carries the same, per backup.
    let report = explain_json(STATEFUL, &[]);
    let backup = entry(&report, "wal-db-1");
    assert_eq!(backup["expandedFrom"]["entry"], "db", "{backup}");
    let from: Vec<(&str, &str)> = backup["inferred"]
        .as_array()
        .expect("inferred")
        .iter()
        .map(|i| {
            (
                i["field"].as_str().unwrap_or(""),
                i["from"].as_str().unwrap_or(""),
            )
        })
        .collect();
    for field in [
        "mover.securityContext.runAsGroup",
        "mover.nodeSelector",
        "mover.affinity.nodeAffinity",
        "mover.tolerations",
    ] {
        assert!(
            from.contains(&(field, "StatefulSet/db")),
            "{field}: {from:?}"
        );
    }
}

#[test]
fn explain_with_no_infer_lists_nothing_inferred() {
    let output = kopiaplan_with_stdin(&["explain", "--no-infer", "-"], Some(STATEFUL));
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("backup shop/wal-db-1  ("), "{text}");
    assert!(!text.contains("inferred"), "{text}");
    let report = explain_json(STATEFUL, &["--no-infer"]);
    let inferred = &entry(&report, "wal-db-1")["inferred"];
    assert!(inferred.as_array().is_none_or(Vec::is_empty), "{inferred}");
}
