//! `kopiaplan diff`: the compiled output against a golden file or a
//! directory written by `compile --output-dir`. Exit 0 when equal, 1 when
//! different or when the input has errors, 2 on usage errors.

use crate::support;

use support::{kopiaplan, kopiaplan_with_stdin, scratch, stderr, stdout};

const GOLDEN: &str = "golden/one-app.yaml";
const EXAMPLE: &str = "examples/one-app.yaml";

/// The documents of a YAML stream, each with its `---` line.
fn documents(stream: &str) -> Vec<String> {
    stream
        .split("---\n")
        .filter(|d| !d.is_empty())
        .map(|d| format!("---\n{d}"))
        .collect()
}

#[test]
fn equal_output_exits_0_and_prints_nothing() {
    let output = kopiaplan(&["diff", EXAMPLE, "--against", GOLDEN]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).is_empty());
    // Every example against its golden file, and all of them against golden/.
    let output = kopiaplan(&["diff", "examples", "--against", "golden"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn reordering_the_golden_file_is_not_a_difference() {
    let golden = std::fs::read_to_string(GOLDEN).expect("golden file");
    let mut reordered = documents(&golden);
    assert!(reordered.len() > 3);
    reordered.reverse();
    let dir = scratch("diff-reordered");
    let file = dir.join("reordered.yaml");
    std::fs::write(&file, reordered.concat()).expect("write");
    assert_ne!(std::fs::read_to_string(&file).expect("read"), golden);
    let output = kopiaplan(&["diff", EXAMPLE, "--against", file.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
}

/// The golden file with the backup CronJob's schedule changed, in a
/// scratch file.
fn golden_with_other_schedule(name: &str) -> String {
    let golden = std::fs::read_to_string(GOLDEN).expect("golden file");
    let changed = golden
        .split("\n---\n")
        .map(|document| {
            if document.contains("kind: CronJob")
                && document.contains("  name: nightly-web-data-backup\n")
            {
                let line = document
                    .lines()
                    .find(|l| l.starts_with("  schedule: "))
                    .expect("the backup CronJob has a schedule");
                document.replace(line, "  schedule: 15 4 * * *")
            } else {
                document.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n---\n");
    assert_ne!(changed, golden, "the backup CronJob was not found");
    let file = scratch(name).join("golden.yaml");
    std::fs::write(&file, changed).expect("write");
    file.to_str().expect("utf-8").to_owned()
}

#[test]
fn a_changed_field_exits_1_and_shows_in_the_diff() {
    let golden = golden_with_other_schedule("diff-changed");
    let output = kopiaplan(&["diff", EXAMPLE, "--against", &golden]);
    assert_eq!(output.status.code(), Some(1));
    let diff = stdout(&output);
    assert!(
        diff.starts_with(
            "--- a/web/CronJob/nightly-web-data-backup\n+++ b/web/CronJob/nightly-web-data-backup\n@@ "
        ),
        "{diff}"
    );
    assert_eq!(
        diff.matches("\n+++ ").count(),
        1,
        "only the CronJob differs: {diff}"
    );
    assert!(diff.contains("\n-  schedule: 15 4 * * *\n"), "{diff}");
    assert!(
        diff.lines()
            .any(|l| l.starts_with("+  schedule: ") && l != "+  schedule: 15 4 * * *"),
        "{diff}"
    );
    assert!(
        !diff.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    assert!(
        stderr(&output).contains("1 object differs from")
            && stderr(&output).contains("1 changed, 0 added, 0 removed"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn added_and_removed_objects_have_their_own_headers() {
    let plan = std::fs::read_to_string(EXAMPLE).expect("example");
    let renamed = plan.replace("- name: web-data", "- name: web-files");
    assert_ne!(plan, renamed);
    // From standard input, every source annotation changes too.
    let output = kopiaplan_with_stdin(&["diff", "-", "--against", GOLDEN], Some(&renamed));
    assert_eq!(output.status.code(), Some(1));
    let diff = stdout(&output);
    assert!(
        diff.contains("--- a/web/CronJob/nightly-web-data-backup\n+++ /dev/null\n"),
        "{diff}"
    );
    assert!(
        diff.contains("--- /dev/null\n+++ b/web/CronJob/nightly-web-files-backup\n"),
        "{diff}"
    );
    assert!(
        stderr(&output).contains("added") && stderr(&output).contains("removed"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn compares_with_an_output_directory_and_a_json_list() {
    let dir = scratch("diff-against-dir");
    let rendered = dir.join("rendered");
    let list = dir.join("list.json");
    let output = kopiaplan(&[
        "compile",
        "examples",
        "--output-dir",
        rendered.to_str().expect("utf-8"),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json = kopiaplan(&["compile", EXAMPLE, "--format", "json"]);
    std::fs::write(&list, stdout(&json)).expect("write");
    let equal = kopiaplan(&[
        "diff",
        "examples",
        "--against",
        rendered.to_str().expect("utf-8"),
    ]);
    assert_eq!(equal.status.code(), Some(0), "{}", stdout(&equal));
    let equal = kopiaplan(&["diff", EXAMPLE, "--against", list.to_str().expect("utf-8")]);
    assert_eq!(equal.status.code(), Some(0), "{}", stdout(&equal));

    // A file removed from the directory is an added object.
    let cron_job = rendered.join("web/cronjob-nightly-web-data-backup.yaml");
    std::fs::remove_file(&cron_job).expect("remove");
    let different = kopiaplan(&[
        "diff",
        "examples",
        "--against",
        rendered.to_str().expect("utf-8"),
    ]);
    assert_eq!(different.status.code(), Some(1));
    assert!(
        stdout(&different)
            .starts_with("--- /dev/null\n+++ b/web/CronJob/nightly-web-data-backup\n"),
        "{}",
        stdout(&different)
    );
}

#[test]
fn colour_follows_the_color_flag() {
    let golden = golden_with_other_schedule("diff-colour");
    let coloured = kopiaplan(&["diff", EXAMPLE, "--against", &golden, "--color", "always"]);
    assert_eq!(coloured.status.code(), Some(1));
    let text = stdout(&coloured);
    assert!(
        text.contains("\x1b[31m-  schedule: 15 4 * * *\x1b[0m\n"),
        "{text}"
    );
    assert!(text.contains("\x1b[32m+  schedule: "), "{text}");
    assert!(text.starts_with("\x1b[1m--- a/web/CronJob/"), "{text}");
    let plain = kopiaplan(&["diff", EXAMPLE, "--against", &golden, "--color", "never"]);
    assert_eq!(plain.status.code(), Some(1));
    assert!(!stdout(&plain).contains('\x1b'));
}

#[test]
fn bad_input_exits_1_with_diagnostics_and_no_diff() {
    let plan = std::fs::read_to_string(EXAMPLE)
        .expect("example")
        .replace("schedule:", "schedul:");
    let output = kopiaplan_with_stdin(&["diff", "-", "--against", GOLDEN], Some(&plan));
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    let text = stderr(&output);
    assert!(text.contains("error[unknown-field]:"), "{text}");
    assert!(text.contains("`schedul`"), "{text}");
}

#[test]
fn a_broken_golden_file_is_reported_with_its_position() {
    let dir = scratch("diff-broken-golden");
    let golden = dir.join("golden.yaml");
    std::fs::write(
        &golden,
        "kind: ConfigMap\nmetadata: {name: a}\n---\nkind: [\n",
    )
    .expect("write");
    let output = kopiaplan(&[
        "diff",
        EXAMPLE,
        "--against",
        golden.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).is_empty());
    let text = stderr(&output);
    assert!(text.contains("error[invalid-yaml]:"), "{text}");
    assert!(text.contains("golden.yaml:"), "{text}");
    let missing = kopiaplan(&["diff", EXAMPLE, "--against", "no/such/dir"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("error[previous-output-unreadable]:"),
        "{}",
        stderr(&missing)
    );
    assert!(
        stderr(&missing).contains("cannot read the previous output no/such/dir"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(kopiaplan(&["diff", EXAMPLE]).status.code(), Some(2));
    assert_eq!(
        kopiaplan(&["diff", EXAMPLE, "--against", GOLDEN, "--color", "sometimes"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        kopiaplan(&["diff", "--against", GOLDEN]).status.code(),
        Some(2)
    );
}

// ------------------------------------------------------- diff --guard --

/// A plan for the guard: two backups in one repository (`logs` with a
/// persistent cache), its maintenance, and a manual restore of `web-data`.
const GUARDED: &str = "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: nightly
  namespace: web
spec:
  repositories:
    - name: main
      secretName: kopia-s3
      url: s3://acme-backups/kopia
  defaults:
    repository: main
    copyMethod: Direct
    retain: {daily: 14, weekly: 4}
  backups:
    - name: web-data
      pvc: web-data
    - name: logs
      pvc: logs
      cache: {persistent: true, capacity: 2Gi}
  restores:
    - name: web-data-back
      from: web-data
      pvc: web-data-scratch
      trigger: {manual: incident-1}
";

/// Compiles `before` into a previous output, then runs `diff --guard`
/// with `after` against it.
#[track_caller]
fn guard(name: &str, before: &str, after: &str) -> std::process::Output {
    let dir = scratch(name);
    let previous = dir.join("previous.yaml");
    std::fs::write(dir.join("before.yaml"), before).expect("write");
    let output = kopiaplan(&[
        "compile",
        dir.join("before.yaml").to_str().expect("utf-8"),
        "-o",
        previous.to_str().expect("utf-8"),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    std::fs::write(dir.join("after.yaml"), after).expect("write");
    kopiaplan(&[
        "diff",
        dir.join("after.yaml").to_str().expect("utf-8"),
        "--against",
        previous.to_str().expect("utf-8"),
        "--guard",
    ])
}

#[track_caller]
fn edited(from: &str, to: &str) -> String {
    assert!(GUARDED.contains(from), "{from:?} is not in the plan");
    GUARDED.replacen(from, to, 1)
}

#[test]
fn the_guard_stops_each_dangerous_change_with_exit_4() {
    // Each case: the edit, one change it must report, and how many changes
    // in all (a restore of a changed backup changes its manual Job too).
    let cases = [
        (
            "identity",
            edited(
                "      pvc: web-data\n",
                "      pvc: web-data\n      username: other\n",
            ),
            "error[identity-changes]: `backup/web-data` of plan `nightly` changes its Kopia source from web-data@web:/data to other@web:/data",
            2,
        ),
        (
            "repository",
            edited(
                "url: s3://acme-backups/kopia",
                "url: s3://acme-backups/other",
            ),
            "error[repository-changes]: `backup/web-data` of plan `nightly` moves from repository s3://acme-backups/kopia to s3://acme-backups/other",
            3,
        ),
        (
            "retention",
            edited("daily: 14", "daily: 7"),
            "error[retention-decreases]: `backup/logs` of plan `nightly` keeps fewer snapshots (keepDaily: 14 becomes keepDaily: 7)",
            2,
        ),
        (
            "retention-left-out",
            edited("retain: {daily: 14, weekly: 4}", "retain: {daily: 14}"),
            "(keepWeekly: 4 becomes keepWeekly: inherited)",
            2,
        ),
        (
            "removed",
            edited(
                "    - name: logs\n      pvc: logs\n",
                "    - name: logs-new\n      pvc: logs\n",
            ),
            "error[backup-removed]: `backup/logs` of plan `nightly` is removed",
            1,
        ),
        (
            "manual-job",
            edited(
                "      pvc: web-data-scratch\n",
                "      pvc: web-data-scratch\n      previous: 1\n",
            ),
            "error[manual-job-changes]: `restore/web-data-back` of plan `nightly` changes the pod template of its Job",
            1,
        ),
        (
            "owner",
            edited(
                "      url: s3://acme-backups/kopia\n",
                "      url: s3://acme-backups/kopia\n      maintenance: {owner: maintenance@cluster-b}\n",
            ),
            "error[maintenance-owner-changes]: `maintenance/main-full` of plan `nightly` changes the maintenance owner from maintenance@kopiaplan to maintenance@cluster-b",
            1,
        ),
        (
            "creation",
            edited(
                "      url: s3://acme-backups/kopia\n",
                "      url: s3://acme-backups/kopia\n      creation: {hash: BLAKE3-256}\n",
            ),
            "error[creation-options-change]: `backup/web-data` of plan `nightly` changes the options its repository is created with from Kopia's defaults to --block-hash=BLAKE3-256: they apply only when a backup creates the repository",
            2,
        ),
        (
            "claim",
            edited("capacity: 2Gi}", "capacity: 2Gi, storageClassName: fast}"),
            "error[claim-changes]: `backup/logs` of plan `nightly` changes the spec of its PersistentVolumeClaim `nightly-logs-backup-cache`",
            1,
        ),
    ];
    for (name, after, expected, count) in cases {
        let output = guard(&format!("guard-{name}"), GUARDED, &after);
        let errors = stderr(&output);
        assert_eq!(output.status.code(), Some(4), "{name}: {errors}");
        assert!(
            errors.contains(expected),
            "{name}: no {expected:?} in\n{errors}"
        );
        assert!(
            errors.contains(&format!(
                "guard: {count} dangerous change(s) not acknowledged"
            )),
            "{name}: {count} change(s) expected: {errors}"
        );
        // The diff itself is still shown.
        assert!(!stdout(&output).is_empty(), "{name}: no diff");
    }
}

#[test]
fn safe_changes_pass_the_guard() {
    let output = guard(
        "guard-safe",
        GUARDED,
        &edited("daily: 14, weekly: 4", "daily: 30, weekly: 4")
            .replacen(
                "      pvc: logs\n",
                "      pvc: logs\n      schedule: \"0 4 * * *\"\n",
                1,
            )
            // A claim may grow.
            .replacen("capacity: 2Gi}", "capacity: 4Gi}", 1),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stdout(&output).is_empty(), "the outputs differ");
    assert!(stderr(&output).contains("guard: 0 dangerous change(s) not acknowledged"));
}

#[test]
fn the_acknowledgement_the_guard_prints_lets_exactly_that_change_pass() {
    let after = edited("daily: 14", "daily: 7");
    let output = guard("guard-ack-1", GUARDED, &after);
    let errors = stderr(&output);
    let item = errors
        .lines()
        .filter_map(|line| line.split("of plan `nightly`: - ").nth(1))
        .collect::<Vec<_>>();
    assert_eq!(item.len(), 2, "one item per backup: {errors}");
    // Pasted as printed, they let the change pass.
    let acknowledged = format!(
        "{after}  acknowledge:\n    - {}\n    - {}\n",
        item[0], item[1]
    );
    let output = guard("guard-ack-2", GUARDED, &acknowledged);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("0 dangerous change(s) not acknowledged, 2 acknowledged"));
    // The same items do not let a deeper cut pass.
    let deeper = acknowledged.replacen("daily: 7, weekly", "daily: 3, weekly", 1);
    assert_ne!(deeper, acknowledged);
    let output = guard("guard-ack-3", GUARDED, &deeper);
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
    assert!(stderr(&output).contains("keepDaily: 14 becomes keepDaily: 3"));
    assert!(stderr(&output).contains("warning[unmatched-acknowledgement]"));
}

#[test]
fn an_acknowledgement_that_matches_nothing_is_a_warning() {
    let after =
        format!("{GUARDED}  acknowledge:\n    - {{change: backup-removed, entry: backup/logs}}\n");
    let output = guard("guard-unmatched", GUARDED, &after);
    let errors = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{errors}");
    assert!(
        errors.contains("warning[unmatched-acknowledgement]: the acknowledged change {change: backup-removed, entry: backup/logs} of plan `nightly` matches no change"),
        "{errors}"
    );
    assert!(errors.contains("after.yaml:27:"), "{errors}");
}
