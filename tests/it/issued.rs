//! The lock-file rule for manual Jobs: with the previous output at hand
//! (`compile --previous`, or the `--output-dir` being replaced), a Job it
//! issued for a token is written again exactly as it was, whatever else
//! changed; only a new token gives a new Job. `diff` compares what such a
//! compile writes.

use crate::support;

use support::{kopiaplan, scratch, stderr, stdout};

use serde_json::Value;

/// A plan with a manual restore (token `incident-1`) and a manual backup
/// (token `2026-12-01`).
const PLAN: &str = "\
apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: shop
  namespace: shop
spec:
  repositories:
    - name: main
      secretName: kopia-s3
      url: s3://acme-backups/shop
  defaults:
    repository: main
    copyMethod: Direct
  backups:
    - name: orders
      pvc: orders
    - name: orders-once
      pvc: orders
      username: orders-once
      trigger: {manual: \"2026-12-01\"}
  restores:
    - name: orders-back
      from: orders
      pvc: orders-scratch
      trigger: {manual: incident-1}
";

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

fn objects(text: &str) -> Vec<Value> {
    let value: Value = serde_json::from_str(text).expect("a JSON List");
    value["items"].as_array().expect("items").clone()
}

fn named<'a>(objects: &'a [Value], kind: &str, prefix: &str) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|o| {
            o["kind"] == kind
                && o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(prefix))
        })
        .collect()
}

fn image(workload: &Value) -> String {
    let spec = if workload["kind"] == "CronJob" {
        &workload["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    } else {
        &workload["spec"]["template"]["spec"]
    };
    spec["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn an_image_bump_keeps_the_issued_jobs_and_updates_the_rest() {
    let dir = scratch("issued-image");
    let before = write(&dir, "before.yaml", PLAN);
    let previous = dir.join("previous.json");
    let output = kopiaplan(&[
        "compile",
        &before,
        "--format",
        "json",
        "-o",
        previous.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let first = objects(&std::fs::read_to_string(&previous).expect("read"));

    let bumped = PLAN.replacen(
        "spec:\n",
        "spec:\n  kopia: {image: \"docker.io/kopia/kopia:0.23.2\"}\n",
        1,
    );
    let after = write(&dir, "after.yaml", &bumped);
    let output = kopiaplan(&[
        "compile",
        &after,
        "--format",
        "json",
        "--previous",
        previous.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let second = objects(&stdout(&output));
    let warnings = stderr(&output);

    // Both manual Jobs are exactly as issued, with the old image; each is
    // named in a warning.
    for prefix in ["shop-orders-back-restore-", "shop-orders-once-backup-"] {
        let old = named(&first, "Job", prefix);
        let new = named(&second, "Job", prefix);
        assert_eq!(old.len(), 1, "{prefix}");
        assert_eq!(old, new, "{prefix}: the issued Job is kept verbatim");
        let name = new[0]["metadata"]["name"].as_str().expect("name");
        assert!(
            warnings.contains(&format!("warning[issued-job-kept]: the Job `shop/{name}`")),
            "{warnings}"
        );
    }
    // The scheduled backup takes the new image.
    let cron_job = named(&second, "CronJob", "shop-orders-backup");
    assert_eq!(image(cron_job[0]), "docker.io/kopia/kopia:0.23.2");

    // Without the previous output the Jobs would have changed.
    let output = kopiaplan(&["compile", &after, "--format", "json"]);
    let fresh = objects(&stdout(&output));
    assert_ne!(
        named(&fresh, "Job", "shop-orders-back-restore-"),
        named(&first, "Job", "shop-orders-back-restore-")
    );
    assert!(!stderr(&output).contains("issued-job-kept"));

    // A new token is a new Job, with the new image, and no warning for it.
    let retoken = bumped.replacen("manual: incident-1", "manual: incident-2", 1);
    let retokened = write(&dir, "retoken.yaml", &retoken);
    let output = kopiaplan(&[
        "compile",
        &retokened,
        "--format",
        "json",
        "--previous",
        previous.to_str().expect("utf-8"),
    ]);
    let third = objects(&stdout(&output));
    let restore = named(&third, "Job", "shop-orders-back-restore-");
    assert_ne!(
        restore[0]["metadata"]["name"],
        named(&first, "Job", "shop-orders-back-restore-")[0]["metadata"]["name"]
    );
    assert_eq!(image(restore[0]), "docker.io/kopia/kopia:0.23.2");
    assert!(
        !stderr(&output).contains("shop-orders-back-restore-"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_output_directory_being_replaced_is_the_previous_output() {
    let dir = scratch("issued-output-dir");
    let out = dir.join("rendered");
    let out = out.to_str().expect("utf-8");
    let before = write(&dir, "before.yaml", PLAN);
    let output = kopiaplan(&["compile", &before, "--output-dir", out]);
    assert!(output.status.success(), "{}", stderr(&output));
    let job_file = std::fs::read_dir(dir.join("rendered/shop"))
        .expect("the namespace directory")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("job-shop-orders-back-restore-"))
        })
        .expect("the restore's Job file");
    let issued = std::fs::read_to_string(&job_file).expect("read");

    // An edit to the restore itself keeps its Job as issued.
    let edited = PLAN.replacen(
        "      pvc: orders-scratch\n",
        "      pvc: orders-scratch\n      previous: 1\n",
        1,
    );
    let after = write(&dir, "after.yaml", &edited);
    let output = kopiaplan(&["compile", &after, "--output-dir", out]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("warning[issued-job-kept]"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read_to_string(&job_file).expect("read"), issued);

    // `diff` against that directory compares what such a compile writes:
    // nothing differs, and the kept Job is named.
    let output = kopiaplan(&["diff", &after, "--against", out]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("warning[issued-job-kept]"));
}
