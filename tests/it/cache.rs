//! Kopia's cache: hard limits passed to the mover (explicit or derived from
//! the capacity) and an existing claim named by `cache.claimName`.

use crate::support;

use serde_json::Value;
use support::{compile_text as compile, env_value, pod_spec};

fn plan(defaults: &str, backups: &str) -> String {
    format!(
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: nightly
  namespace: apps
spec:
  repositories:
    - name: main
      secretName: kopia-config
      maintenance: {{enabled: false}}
  defaults:
    copyMethod: Direct
{defaults}  backups:
{backups}"
    )
}

fn cron_job<'a>(objects: &'a [Value], name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no CronJob {name}"))
}

fn limits(pod: &Value) -> (&str, &str) {
    (
        env_value(pod, "KOPIAPLAN_CONTENT_CACHE_MB").expect("content limit"),
        env_value(pod, "KOPIAPLAN_METADATA_CACHE_MB").expect("metadata limit"),
    )
}

/// The warnings of a plan that compiles.
fn warnings(text: &str) -> Vec<String> {
    let mut sources = kopiaplan::diagnostics::SourceMap::default();
    sources.add("plan.yaml".into(), text.into());
    let compiled = kopiaplan::compile_sources(&sources).expect("compiles");
    compiled
        .diagnostics
        .iter()
        .map(|d| kopiaplan::diagnostics::render(d, &sources))
        .collect()
}

#[test]
fn limits_come_from_the_capacity_unless_written() {
    let objects = compile(&plan(
        "",
        "    - {name: a, pvc: a, cache: {capacity: 2Gi}}\n    - {name: b, pvc: b, cache: {capacity: 2Gi, contentSizeLimitMB: 1000, metadataSizeLimitMB: 300}}\n",
    ))
    .expect("compiles");
    // Three fifths and a fifth of 2048 MiB.
    assert_eq!(
        limits(pod_spec(cron_job(&objects, "nightly-a-backup"))),
        ("1228", "409")
    );
    assert_eq!(
        limits(pod_spec(cron_job(&objects, "nightly-b-backup"))),
        ("1000", "300")
    );
}

#[test]
fn limits_are_inherited_one_by_one_and_zero_lifts_the_limit() {
    let text = plan(
        "    cache: {capacity: 4Gi, metadataSizeLimitMB: 500}\n",
        "    - {name: a, pvc: a, cache: {contentSizeLimitMB: 2000}}\n    - {name: b, pvc: b, cache: {persistent: true, contentSizeLimitMB: 0}}\n",
    );
    let objects = compile(&text).expect("compiles");
    assert_eq!(
        limits(pod_spec(cron_job(&objects, "nightly-a-backup"))),
        ("2000", "500")
    );
    // 0 is Kopia's own default for the flag: no hard limit.
    assert_eq!(
        limits(pod_spec(cron_job(&objects, "nightly-b-backup"))),
        ("0", "500")
    );
    // No limit on a 4Gi volume is worth a warning that names the field.
    let warnings = warnings(&text);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("warning[cache-limits-exceed-volume]:"),
        "{warnings:?}"
    );
    assert!(
        warnings[0].contains("field: spec.backups[1].cache.contentSizeLimitMB"),
        "{warnings:?}"
    );
}

#[test]
fn limits_larger_than_the_volume_are_warned_about() {
    let text = plan(
        "",
        "    - {name: a, pvc: a, cache: {capacity: 1Gi, contentSizeLimitMB: 900, metadataSizeLimitMB: 500}}\n",
    );
    let warnings = warnings(&text);
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("warning[cache-limits-exceed-volume]:")
                && w.contains("1400 MiB")
                && w.contains("1024 MiB")
                && w.contains("spec.backups[0].cache.contentSizeLimitMB")),
        "{warnings:?}"
    );
}

#[test]
fn a_claim_name_uses_an_existing_claim_and_generates_none() {
    let objects = compile(&plan(
        "",
        "    - {name: a, pvc: a, cache: {claimName: kopia-cache, contentSizeLimitMB: 3000, metadataSizeLimitMB: 1000}}\n    - {name: b, pvc: b, cache: {claimName: other-cache}}\n",
    ))
    .expect("compiles");
    assert!(
        !objects.iter().any(|o| o["kind"] == "PersistentVolumeClaim"),
        "no cache claim is generated"
    );
    let pod = pod_spec(cron_job(&objects, "nightly-a-backup"));
    let cache = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "cache")
        .expect("cache volume");
    assert_eq!(cache["persistentVolumeClaim"]["claimName"], "kopia-cache");
    assert_eq!(cache["persistentVolumeClaim"]["readOnly"], false);
    assert_eq!(limits(pod), ("3000", "1000"));
    // The claim's size is unknown: without explicit limits Kopia keeps its own.
    let pod = pod_spec(cron_job(&objects, "nightly-b-backup"));
    assert_eq!(limits(pod), ("0", "0"));
    // The mover's group can write the claim.
    assert_eq!(pod["securityContext"]["fsGroup"], 65532);
}

#[test]
fn an_entry_claim_name_wins_over_default_volume_settings_and_the_reverse() {
    let objects = compile(&plan(
        "    cache: {capacity: 2Gi, persistent: true, storageClassName: fast}\n",
        "    - {name: a, pvc: a, cache: {claimName: mine}}\n    - {name: b, pvc: b}\n",
    ))
    .expect("compiles");
    let claims: Vec<&str> = objects
        .iter()
        .filter(|o| o["kind"] == "PersistentVolumeClaim")
        .filter_map(|o| o["metadata"]["name"].as_str())
        .collect();
    assert_eq!(claims, ["nightly-b-backup-cache"]);

    // A default claim, and an entry that describes its own volume.
    let objects = compile(&plan(
        "    cache: {claimName: shared-cache}\n",
        "    - {name: a, pvc: a, cache: {capacity: 3Gi}}\n",
    ))
    .expect("compiles");
    let pod = pod_spec(cron_job(&objects, "nightly-a-backup"));
    let cache = &pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == "cache")
        .expect("cache")["emptyDir"];
    assert_eq!(cache["sizeLimit"], "3Gi");
}

#[test]
fn a_claim_name_excludes_the_fields_of_a_generated_volume() {
    for field in [
        "capacity: 2Gi",
        "storageClassName: fast",
        "accessModes: [ReadWriteOnce]",
        "persistent: true",
    ] {
        let error = compile(&plan(
            "",
            &format!("    - {{name: a, pvc: a, cache: {{claimName: mine, {field}}}}}\n"),
        ))
        .expect_err(field);
        let key = field.split(':').next().expect("key");
        assert!(
            error.contains(&format!("field: spec.backups[0].cache.{key}")),
            "{error}"
        );
        assert!(error.contains("error[field-not-applicable]:"), "{error}");
    }
    let error = compile(&plan(
        "    cache: {claimName: Not_A_Name}\n",
        "    - {name: a, pvc: a}\n",
    ))
    .expect_err("bad claim name");
    assert!(error.contains("error[invalid-name]:"), "{error}");
    assert!(
        error.contains("field: spec.defaults.cache.claimName"),
        "{error}"
    );
}

#[test]
fn two_entries_may_not_share_an_existing_cache_claim() {
    let error = compile(&plan(
        "    cache: {claimName: shared-cache}\n",
        "    - {name: a, pvc: a}\n    - {name: b, pvc: b}\n",
    ))
    .expect_err("shared cache claim");
    assert!(error.contains("error[shared-cache-claim]:"), "{error}");
    assert!(error.contains("`apps/shared-cache`"), "{error}");
    assert!(error.contains("backup `a`"), "{error}");
    assert!(error.contains("backup `b`"), "{error}");

    // In different namespaces they are different claims.
    compile(&plan(
        "    cache: {claimName: shared-cache}\n",
        "    - {name: a, pvc: a}\n    - {name: b, pvc: b, namespace: other}\n",
    ))
    .expect("compiles");
}
