//! Defects the fuzz targets and the property tests found (issue 17), one
//! regression test each. Crashing inputs of the fuzzers are kept as files in
//! fuzz/regressions/ and replayed by fuzz_corpus; the cases here are the
//! ones better said as a plan.

use crate::test::{Plan, Test};

/// Found by `properties::every_generated_name_is_dns_1123_and_within_its_limit`:
/// a name without dots that is too long was quoted twice ("the PVC name
/// `x…` `x…` is 64 characters long").
#[test]
fn a_too_long_name_is_quoted_once() {
    let long = format!("{}-data", "a".repeat(59));
    Plan::nightly()
        .replace("pvc: web-data", &format!("pvc: {long}"))
        .errors()
        .has(&format!(
            "error[invalid-name]: the PVC name `{long}` is 64 characters long; the limit is 63\n"
        ));
    Plan::nightly()
        .replace("pvc: web-data", &format!("pvc: web.{long}"))
        .errors()
        .has(&format!(
            "the PVC name `web.{long}` has a part `{long}` that is 64 characters long"
        ));
}

/// Found by the `convert` fuzz target: a string that only starts like a
/// timestamp (`2024-01-20T15:00x:00Z`) was refused as YAML-1.1-ambiguous,
/// though YAML 1.1 tools read it as text too; `convert` writes it unquoted,
/// so kopiaplan refused its own output.
#[test]
fn only_a_whole_timestamp_is_ambiguous() {
    let with_value = |value: &str| {
        Plan::nightly().then(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: apps\ndata:\n  at: {value}\n"
        ))
    };
    with_value("2024-01-20T15:00x:00Z").objects();
    with_value("2024-01-20T15:00").objects();
    for timestamp in [
        "2024-01-20T15:00:00Z",
        "2024-1-2 3:04:05.5 +01:00",
        "2024-01-20",
    ] {
        with_value(timestamp)
            .errors()
            .has("is a timestamp to kubectl and other YAML 1.1 tools");
    }
}

/// Found by the `schedule` fuzz target: `*/5sun` passed the cron parser
/// kopiaplan uses and reached the CronJob, whose controller refuses the step.
#[test]
fn a_step_is_a_number() {
    Plan::nightly()
        .replace(
            "pvc: web-data\n",
            "pvc: web-data\n      schedule: \"0 2 * * */5sun\"\n",
        )
        .errors()
        .has("the day of week field `*/5sun` has the step `5sun`, which is not a number");
}

/// Found by the `schedule` fuzz target: `JAN-MAR` as the day of month.
#[test]
fn only_month_and_day_of_week_take_names() {
    Plan::nightly()
        .replace(
            "pvc: web-data\n",
            "pvc: web-data\n      schedule: \"0 2 JAN-MAR * *\"\n",
        )
        .errors()
        .has("the day of month field `JAN-MAR` has a name");
}

/// Found by the schedule fuzz target in CI's short run: croner reads
/// `0JAN` as January, the CronJob controller refuses it.
#[test]
fn a_name_is_exactly_a_name() {
    for (schedule, token) in [
        ("0 2 * 0JAN-MAR *", "0JAN"),
        ("0 2 * * MONDAY", "MONDAY"),
        ("0 2 * * 1x", "1x"),
    ] {
        Plan::nightly()
            .replace(
                "pvc: web-data\n",
                &format!("pvc: web-data\n      schedule: \"{schedule}\"\n"),
            )
            .errors()
            .has(&format!(
                "has `{token}`, which is neither a number nor a name Kubernetes reads"
            ));
    }
    // What Kubernetes reads still passes.
    Plan::nightly()
        .replace(
            "pvc: web-data\n",
            "pvc: web-data\n      schedule: \"*/5 1-3 ,1,7 jan-MAR sun-Sat\"\n",
        )
        .objects();
}

/// Found by the schedule fuzz target in a long run: a field of commas alone
/// (`,`) passed, and means no value at all.
#[test]
fn a_field_of_commas_alone_is_refused() {
    Plan::nightly()
        .replace(
            "pvc: web-data\n",
            "pvc: web-data\n      schedule: \"*/5 1-2 , nov sun\"\n",
        )
        .errors()
        .has("the day of month field `,` has no value");
}

/// Found by the schedule fuzz target in a long run: a day-of-week range
/// that runs backwards (`1-sun`, Sunday being 0) passed, and the CronJob
/// controller refuses it ("beginning of range beyond end of range").
#[test]
fn a_range_that_runs_backwards_is_refused() {
    Plan::nightly()
        .replace(
            "pvc: web-data\n",
            "pvc: web-data\n      schedule: \"5 1-3 1,15 JAN,MAR 1-sun\"\n",
        )
        .errors()
        .has("the day of week field `1-sun` has the range `1-sun`, which runs backwards");
}

/// Found by the krm fuzz target in a long run: a plain scalar holding a
/// comma (`on,-app.yaml`) was read as far as the comma, and refused as the
/// YAML 1.1 boolean `on`; kopiaplan's own output did not read back. In a
/// flow sequence the comma does end the scalar, and `on` is refused there.
#[test]
fn a_plain_scalar_with_a_comma_is_read_whole() {
    let ran = Test::new()
        .args(["validate", "-"])
        .stdin(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: web\n\
             data:\n  a: on,-app.yaml\n  b: on#not-a-comment\n  c: [on, x]\n",
        )
        .status(1)
        .run();
    assert_eq!(
        ran.stderr.matches("`on` is a boolean").count(),
        1,
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains(":9:7"), "{}", ran.stderr);
}

/// Found by the krm fuzz target in a long run: a plain scalar whose next,
/// deeper line folds onto it (`on,-app.yaml` then `  more`) is one string
/// with a space, `on,-app.yaml more`; its first line was cut at the comma
/// and refused as the boolean `on`, so krm's own output did not read back.
#[test]
fn a_plain_scalar_over_two_lines_is_not_its_first_line() {
    let ran = Test::new()
        .args(["validate", "-"])
        .stdin(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  namespace: web\n\
             data:\n  a: on,-app.yaml\n    more\n  b: on\n",
        )
        .status(1)
        .run();
    assert_eq!(
        ran.stderr.matches("`on` is a boolean").count(),
        1,
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains(":9:6"), "{}", ran.stderr);
}

/// Found by the convert fuzz target in a long run: VolSync's
/// `moverResources: {}` (no requests, no limits) was dropped by `convert`
/// as an empty map, so the converted plan got kopiaplan's default
/// resources and compiled differently from the ReplicationSource.
#[test]
fn convert_keeps_empty_mover_resources() {
    let source = "apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata: {name: db, namespace: apps}
spec:
  sourcePVC: db
  trigger: {schedule: \"0 2 * * *\"}
  kopia:
    repository: kopia-secret
    copyMethod: Direct
    moverResources: {}
";
    let converted = Test::new()
        .args(["convert", "-"])
        .stdin(source)
        .run()
        .stdout;
    assert!(converted.contains("resources: {}"), "{converted}");
    let compiled = |input: &str| {
        let objects = Plan::text(input).objects();
        objects.named("CronJob", "volsync-db-backup")["spec"]["jobTemplate"]["spec"]["template"]
            ["spec"]["containers"][0]["resources"]
            .clone()
    };
    assert_eq!(compiled(source), serde_json::json!({}));
    assert_eq!(compiled(&converted), compiled(source));
}
