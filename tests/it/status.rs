//! `kopiaplan status` on `kubectl get cronjobs,jobs,pods -o json` fixtures
//! (tests/fixtures/status: the compiled objects of examples/monitoring.yaml
//! as the API server returns them, with statuses, Jobs and mover pods whose
//! termination messages hold result lines), and through a kubectl on PATH.

use serde_json::Value;

use crate::support;
use crate::test::Test;

const NOW: &str = "2026-12-10T12:00:00Z";

/// `kopiaplan status --from tests/fixtures/status/<fixture>.json --now NOW`.
fn status_of(fixture: &str) -> Test {
    Test::new().args([
        "status",
        "--from",
        &format!("tests/fixtures/status/{fixture}.json"),
        "--now",
        NOW,
    ])
}

#[test]
fn one_line_per_entry_with_its_state_and_a_non_zero_exit_for_stale_and_failed() {
    let ran = status_of("shop").status(3).stdout_lacks("\x1b[").run();
    let lines: Vec<Vec<&str>> = ran
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let state = |entry: &str, component: &str| -> &str {
        lines
            .iter()
            .find(|l| l[1] == entry && l[2] == component)
            .unwrap_or_else(|| panic!("no line for {component} {entry}:\n{}", ran.stdout))[3]
    };
    assert_eq!(lines.len(), 7, "{}", ran.stdout);
    assert_eq!(state("archive", "backup"), "OK");
    assert_eq!(state("orders-db", "backup"), "STALE");
    assert_eq!(state("legacy", "backup"), "PAUSED");
    assert_eq!(state("migration", "backup"), "FAILED");
    assert_eq!(state("main", "maintenance"), "OK");
    assert_eq!(state("archive", "verify"), "RUNNING");
    assert_eq!(state("orders-drill", "restore"), "OK");
    // The archive's line: last success, age against its threshold, the
    // result line's snapshot, size and duration, the next Sunday 03:00
    // in Berlin.
    let archive = ran
        .stdout
        .lines()
        .find(|l| l.starts_with("shop       archive       backup"))
        .expect("archive line");
    for part in [
        "2026-12-06T02:14:00Z",
        "4d 9h/8d 2h",
        "success",
        "k5f0c1d2e3a4b5c6d7e8f9a0b1c2d3e4",
        "50.0 MiB",
        "13m 59s",
        "2026-12-13T02:00:00Z",
    ] {
        assert!(archive.contains(part), "{part} not in {archive}");
    }
}

#[test]
fn all_ok_exits_zero() {
    status_of("healthy")
        .stdout_has("PAUSED")
        .stdout_lacks("STALE")
        .run();
}

#[test]
fn the_same_entry_ages_into_stale() {
    // The weekly archive is stale once 8d 2h have passed since Sunday.
    Test::new()
        .args([
            "status",
            "--from",
            "tests/fixtures/status/healthy.json",
            "--now",
            "2026-12-14T04:15:00Z",
        ])
        .status(3)
        .stdout_has("STALE")
        .run();
}

#[test]
fn json_has_every_field_of_every_entry() {
    let ran = status_of("shop").args(["--format", "json"]).status(3).run();
    let entries: Vec<Value> = serde_json::from_str(&ran.stdout).expect("JSON");
    let orders = entries
        .iter()
        .find(|e| e["entry"] == "orders-db")
        .expect("orders-db");
    assert_eq!(orders["state"], "STALE");
    assert_eq!(orders["thresholdSeconds"], 15 * 60 + 3600 + 86_400);
    assert_eq!(orders["lastSuccess"], "2026-12-08T09:07:41Z");
    assert_eq!(orders["ageSeconds"], 2 * 86_400 + 2 * 3600 + 52 * 60 + 19);
    let migration = entries
        .iter()
        .find(|e| e["entry"] == "migration")
        .expect("migration");
    assert_eq!(migration["state"], "FAILED");
    assert_eq!(migration["lastResult"], "failure");
    assert_eq!(
        migration["message"],
        "kopia snapshot create failed (exit 1)"
    );
    assert_eq!(migration["thresholdSeconds"], Value::Null);
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    status_of("shop")
        .args(["--color", "always"])
        .status(3)
        .stdout_has("\x1b[1;31mFAILED")
        .stdout_has("\x1b[32mOK")
        .run();
}

#[test]
fn input_that_is_not_kubectl_json_is_an_error() {
    Test::new()
        .file("notes.txt", "not JSON\n")
        .args(["status", "--from", "{dir}/notes.txt"])
        .status(1)
        .stderr_has("error[cluster-state-unreadable]")
        .stderr_has("the input is not JSON")
        .run();
    Test::new()
        .file("object.json", "{\"apiVersion\": \"v1\"}\n")
        .args(["status", "--from", "{dir}/object.json"])
        .status(1)
        .stderr_has("no `items`")
        .run();
}

#[test]
fn without_from_it_asks_kubectl_for_kopiaplans_objects() {
    let dir = support::scratch("kubectl");
    let args_file = dir.join("args");
    let kubectl = dir.join("kubectl");
    std::fs::write(
        &kubectl,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\ncat '{}'\n",
            args_file.display(),
            support::root()
                .join("tests/fixtures/status/healthy.json")
                .display()
        ),
    )
    .expect("write kubectl");
    support::pod::chmod_path(&kubectl, 0o755);
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = support::run(
        std::process::Command::new(env!("CARGO_BIN_EXE_kopiaplan"))
            .args(["status", "-n", "shop", "--now", NOW])
            .env("PATH", &path),
        None,
    );
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        support::stderr(&output)
    );
    assert!(support::stdout(&output).contains("archive"));
    let args = std::fs::read_to_string(&args_file).expect("kubectl ran");
    assert_eq!(
        args.lines().collect::<Vec<_>>(),
        [
            "get",
            "cronjobs,jobs,pods",
            "-l",
            "app.kubernetes.io/managed-by=kopiaplan",
            "-o",
            "json",
            "--namespace",
            "shop"
        ]
    );
    // A kubectl that fails: its message, exit 1, nothing on stdout.
    std::fs::write(
        &kubectl,
        "#!/bin/sh\necho 'error: You must be logged in to the server (Unauthorized)' >&2\nexit 1\n",
    )
    .expect("write kubectl");
    let output = support::run(
        std::process::Command::new(env!("CARGO_BIN_EXE_kopiaplan"))
            .args(["status"])
            .env("PATH", &path),
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(support::stdout(&output).is_empty());
    assert!(
        support::stderr(&output).contains("Unauthorized"),
        "{}",
        support::stderr(&output)
    );
}

#[test]
fn the_readme_shows_what_status_prints() {
    let ran = status_of("shop").status(3).run();
    let readme = std::fs::read_to_string(support::root().join("README.md")).expect("README.md");
    assert!(
        readme.contains(&ran.stdout),
        "README.md's `kopiaplan status` example is not what it prints:\n{}",
        ran.stdout
    );
}

/// A maintenance result line that warns about its index blobs: the size is
/// the repository's, and the warning follows the table (and is in the
/// JSON).
#[test]
fn a_maintenance_warning_about_index_blobs_is_shown() {
    let warned = support::cluster_state_with_maintenance_fields(
        r#""bytes":5368709120,"blobCount":5000,"indexBlobCount":1500,"warning":"1500 index blobs: more than 1000","#,
    );
    let ran = Test::new()
        .file("cluster.json", warned.clone())
        .args(["status", "--from", "{dir}/cluster.json", "--now", NOW])
        .stdout_has("warning: maintenance shop/main: 1500 index blobs: more than 1000\n")
        .run();
    let line = ran
        .stdout
        .lines()
        .find(|l| l.contains(" maintenance "))
        .expect("the maintenance line");
    assert!(line.contains("5.0 GiB"), "{line}");
    let ran = Test::new()
        .file("cluster.json", warned)
        .args([
            "status",
            "--from",
            "{dir}/cluster.json",
            "--now",
            NOW,
            "--format",
            "json",
        ])
        .run();
    let entries: Value = serde_json::from_str(&ran.stdout).expect("json");
    let maintenance = entries
        .as_array()
        .and_then(|a| a.iter().find(|e| e["component"] == "maintenance"))
        .expect("the maintenance entry");
    assert_eq!(maintenance["warning"], "1500 index blobs: more than 1000");
}
