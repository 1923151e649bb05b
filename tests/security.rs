//! Least privilege and secret hygiene (issue 16): what the repository
//! Secret may steer, where credentials may appear, what a tenant sees, and
//! what the compiler refuses. The scenarios run compiled pods with the pod
//! harness (tests/support/pod.rs) against the Kopia stand-in; the harness
//! also fails any scenario whose Kopia command lines hold a credential of
//! the pod's Secrets.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;

use regex::Regex;
use serde_json::Value;
use support::pod::{Pod, PodResult, Standin};

const PASSWORD: &str = "correct horse battery staple";
const NOW: &str = "2026-11-26T02:00:00Z";

fn compile(name: &str, plan: &str) -> Value {
    let dir = support::scratch(&format!("security-plan-{name}"));
    let path = dir.join("plan.yaml");
    std::fs::write(&path, plan).expect("write plan");
    let out = support::kopiaplan(&["compile", "--format", "json", path.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "compile failed:\n{}",
        support::stderr(&out)
    );
    serde_json::from_slice(&out.stdout).expect("compile --format json gives JSON")
}

fn result_line(result: &PodResult) -> Value {
    let line = result
        .stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no result line:\n{}", result.logs()));
    serde_json::from_str(line).expect("the result line is JSON")
}

fn data_volume(name: &str) -> PathBuf {
    let dir = support::scratch(&format!("security-data-{name}"));
    std::fs::write(dir.join("index.html"), "<h1>hello</h1>\n").expect("write");
    dir
}

fn writable_volume(name: &str) -> PathBuf {
    let dir = support::scratch(&format!("security-{name}"));
    support::pod::chmod_path(&dir, 0o777);
    dir
}

// ---------------------------------------------------------------------------
// 1. The repository Secret cannot steer the scripts

const ONE_BACKUP: &str = r#"apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: sec
  namespace: apps
spec:
  repositories:
    - name: local
      secretName: kopia-local
      filesystem: {claimName: backup-repo, path: /}
  defaults:
    repository: local
    copyMethod: Direct
    schedule: "0 2 * * *"
  backups:
    - name: web-data
      pvc: web-data
"#;

/// Keys an attacker who can write the repository Secret would add: each
/// would run a command, change the identity or the Kopia command lines, or
/// break the run, if the scripts or the shell read it.
const HOSTILE_KEYS: &[(&str, &str)] = &[
    ("KOPIAPLAN_BEFORE_SNAPSHOT", "echo PWNED-before >&2"),
    ("KOPIAPLAN_AFTER_SNAPSHOT", "echo PWNED-after >&2"),
    ("KOPIAPLAN_ACTION_TIMEOUT", "1"),
    ("KOPIAPLAN_USERNAME", "intruder"),
    ("KOPIAPLAN_HOSTNAME", "elsewhere"),
    ("KOPIAPLAN_SOURCE_PATH", "/etc"),
    ("KOPIAPLAN_PARALLELISM", "64"),
    ("KOPIAPLAN_ENABLE_ACTIONS", "true"),
    ("KOPIAPLAN_UPLOAD_SPEED", "1"),
    ("KOPIAPLAN_DOWNLOAD_SPEED", "1"),
    ("KOPIAPLAN_CREATE", "Never"),
    ("KOPIAPLAN_LOG_LEVEL", "debug"),
    ("KOPIAPLAN_CONTENT_CACHE_MB", "1"),
    ("KOPIAPLAN_GLOBAL_POLICY_FILE", "/kopiaplan/credentials/sftp_key"),
    (
        "KOPIAPLAN_REPOSITORY_CONFIG_FILE",
        "/kopiaplan/credentials/sftp_key",
    ),
    ("KOPIAPLAN_RESULT_FILE", "/kopiaplan/home/result"),
    ("KOPIAPLAN_CUSTOM_CA", "/kopiaplan/credentials/sftp_key"),
    ("KOPIAPLAN_LIST_ALL_HOSTNAMES", "true"),
    // A file the same Secret fills, run by bash before the first line.
    ("SFTP_KEY_FILE", "echo PWNED-startup-file >&2\n"),
    ("BASH_ENV", "/kopiaplan/credentials/sftp_key"),
    ("ENV", "/kopiaplan/credentials/sftp_key"),
    ("SHELLOPTS", "xtrace:noglob"),
    ("BASHOPTS", "failglob"),
    ("PS4", "$(echo PWNED-ps4 >&2)"),
    ("BASH_XTRACEFD", "2"),
    ("POSIXLY_CORRECT", "1"),
    ("PATH", "/kopiaplan/credentials:/bin"),
    ("CDPATH", "/etc"),
    ("GLOBIGNORE", "*"),
    ("TMOUT", "1"),
    ("FUNCNEST", "1"),
    ("TMPDIR", "/nonexistent"),
    ("LD_PRELOAD", "/kopiaplan/credentials/sftp_key"),
    ("HOME", "/kopiaplan/cache"),
    ("KOPIA_CONFIG_PATH", "/kopiaplan/cache/leaked.config"),
];

fn backup_pod(objects: &Value, secret: &[(&str, &str)], data: &PathBuf, repo: &PathBuf) -> Pod {
    Pod::from_compiled(objects, "CronJob", "apps", "sec-web-data-backup")
        .secret("kopia-local", secret)
        .pvc("web-data", data)
        .pvc("backup-repo", repo)
        .harness_env("KOPIA_STANDIN_NOW", NOW)
}

#[test]
fn hostile_keys_in_the_repository_secret_change_nothing() {
    let objects = compile("hostile", ONE_BACKUP);
    let data = data_volume("hostile");
    let run = |label: &str, secret: &[(&str, &str)]| {
        let standin = Standin::new(&format!("security-{label}"));
        let repo = writable_volume(&format!("repo-{label}"));
        let result = backup_pod(&objects, secret, &data, &repo)
            .standin(&standin)
            .run();
        standin.print_log(label);
        let argv: Vec<Vec<String>> = standin.calls().into_iter().map(|c| c.argv).collect();
        (result, argv)
    };
    let (clean, clean_argv) = run("clean", &[("KOPIA_PASSWORD", PASSWORD)]);
    assert_eq!(clean.exit_code, 0, "{}", clean.logs());

    let mut hostile = vec![("KOPIA_PASSWORD", PASSWORD)];
    hostile.extend_from_slice(HOSTILE_KEYS);
    let (result, argv) = run("hostile", &hostile);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let logs = result.logs();
    for marker in ["PWNED", "ld.so", "preloaded"] {
        assert!(!logs.contains(marker), "{marker} in the logs:\n{logs}");
    }
    assert!(
        !logs.lines().any(|l| l.starts_with('+')),
        "bash traced the script:\n{logs}"
    );
    assert_eq!(argv, clean_argv, "the Secret changed Kopia's command lines");
    let line = result_line(&result);
    let clean_line = result_line(&clean);
    assert_eq!(line["result"], "success", "{line}");
    assert_eq!(line["identity"], clean_line["identity"], "{line}");
    assert_eq!(line["identity"], "web-data@apps:/data", "{line}");
    assert!(
        result.termination_file.contains("\"success\""),
        "the result went elsewhere: {:?}",
        result.termination_file
    );
}

/// Every variable a script reads is one the compiler sets in every mover
/// (`scripts::environment::CONTROL` and `SHELL`), a backend key of the
/// repository Secret (`FROM_SECRET`), or the script's own, assigned before
/// it is read.
#[test]
fn the_scripts_read_only_variables_the_compiler_sets_or_backend_keys() {
    use kopiaplan::scripts::environment::{CONTROL, FROM_SECRET, SHELL};
    let scripts = kopiaplan::scripts::render_all().expect("render");
    let common = &scripts
        .iter()
        .find(|s| s.name == "common.sh")
        .expect("common.sh")
        .text;
    let reference = Regex::new(r"\$\{?#?([A-Za-z_][A-Za-z0-9_]*)").expect("regex");
    let assignment =
        Regex::new(r"(?:^|[\s;(!])(?:local |export |readonly )?([A-Za-z_][A-Za-z0-9_]*)(?:\+?=|\[)")
            .expect("regex");
    let declaration = Regex::new(r"(?m)^\s*local ((?:[A-Za-z_][A-Za-z0-9_]* ?)+)$").expect("regex");
    let loop_variable =
        Regex::new(r"(?:for|read -r(?: -a)?) ([A-Za-z_][A-Za-z0-9_ ]*?)(?:;| in|$| <)")
            .expect("regex");
    let known: BTreeSet<&str> = CONTROL
        .iter()
        .copied()
        .chain(SHELL.iter().map(|(name, _)| *name))
        .chain(FROM_SECRET.iter().copied())
        .collect();
    let mut unexplained = BTreeSet::new();
    for script in scripts.iter().filter(|s| s.name != "common.sh") {
        // common.sh is sourced on the script's first line.
        let text = format!("{common}\n{}", script.text);
        let mut assigned: BTreeSet<String> = BTreeSet::new();
        for line in text.lines() {
            let code = line.split(" #").next().unwrap_or(line);
            if code.trim_start().starts_with('#') {
                continue;
            }
            // Reads on this line happen before its assignments take effect
            // (`x=${x:-default}` reads the environment).
            for capture in reference.captures_iter(code) {
                let name = &capture[1];
                if !assigned.contains(name) && !known.contains(name) {
                    unexplained.insert(format!("{}: {name}", script.name));
                }
            }
            for capture in assignment.captures_iter(code) {
                assigned.insert(capture[1].to_owned());
            }
            for capture in declaration.captures_iter(code) {
                assigned.extend(capture[1].split_whitespace().map(str::to_owned));
            }
            for capture in loop_variable.captures_iter(code) {
                assigned.extend(capture[1].split_whitespace().map(str::to_owned));
            }
        }
    }
    // Functions' locals are assigned in the function before they are read,
    // but a function body can come before the lines that assign globals it
    // reads; those globals are listed here, each assigned at the top level.
    for global in ["KOPIAPLAN_OPERATION"] {
        unexplained.retain(|entry| !entry.ends_with(&format!(": {global}")));
    }
    assert!(
        unexplained.is_empty(),
        "the scripts read variables the compiler does not set: {unexplained:#?}"
    );
}

// ---------------------------------------------------------------------------
// 3. No secrets on Kopia's command line

const SFTP_PLAN: &str = r#"apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: sec
  namespace: apps
spec:
  repositories:
    - name: box
      secretName: kopia-sftp
      url: sftp://backup@sftp.example:2222/srv/kopia
  defaults:
    repository: box
    copyMethod: Direct
    schedule: "0 2 * * *"
  backups:
    - name: web-data
      pvc: web-data
"#;

const SFTP_PASSWORD: &str = "sftp pass: w0rd";

#[test]
fn the_sftp_password_reaches_kopia_in_a_token_file_not_on_its_command_line() {
    let objects = compile("sftp", SFTP_PLAN);
    let data = data_volume("sftp");
    let standin = Standin::new("security-sftp");
    let pod = |password: &str| {
        Pod::from_compiled(&objects, "CronJob", "apps", "sec-web-data-backup")
            .secret(
                "kopia-sftp",
                &[
                    ("KOPIA_PASSWORD", PASSWORD),
                    ("SFTP_PASSWORD", password),
                    ("SFTP_KNOWN_HOSTS", "sftp.example ssh-ed25519 AAAAC3Nza\n"),
                ],
            )
            .pvc("web-data", &data)
            .standin(&standin)
            .harness_env("KOPIA_STANDIN_NOW", NOW)
            .harness_env("KOPIA_STANDIN_SFTP_PASSWORD", SFTP_PASSWORD)
    };
    // The harness fails the run if the password is in any Kopia argument.
    let result = pod(SFTP_PASSWORD).run();
    standin.print_log("sftp with a password");
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let commands = standin.commands();
    assert_eq!(
        commands[..2],
        [
            ("repository connect from-config".to_owned(), 1),
            ("repository create from-config".to_owned(), 0),
        ],
        "{commands:?}"
    );
    assert_eq!(result_line(&result)["result"], "success");

    // The password Kopia got is the Secret's: a wrong one fails to connect.
    standin.clear_log();
    let result = pod("not the password").run();
    assert_ne!(result.exit_code, 0, "{}", result.logs());
    assert!(result.stderr.contains("unable to authenticate"), "{}", result.logs());
}

// ---------------------------------------------------------------------------
// 9. Tenants see only their own

const TENANTS: &str = r#"apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: sec
  namespace: apps
spec:
  repositories:
    - name: shared
      secretName: kopia-local
      filesystem: {claimName: backup-repo, path: /}
  defaults:
    repository: shared
    copyMethod: Direct
    schedule: "0 2 * * *"
  backups:
    - name: web-data
      pvc: web-data
    - name: db-data
      pvc: web-data
    - name: their-data
      namespace: other-tenant
      pvc: web-data
  restores:
    - name: web-restore
      from: web-data
      pvc: restored
      restoreAsOf: "2020-01-01T00:00:00Z"
      trigger: {schedule: "0 3 * * *"}
    - name: web-restore-wide
      from: web-data
      pvc: restored
      restoreAsOf: "2020-01-01T00:00:00Z"
      listAllHostnames: true
      trigger: {schedule: "0 3 * * *"}
"#;

#[test]
fn a_failed_restore_lists_only_the_sources_of_its_own_namespace() {
    let objects = compile("tenants", TENANTS);
    let data = data_volume("tenants");
    let repo = writable_volume("repo-tenants");
    let restored = writable_volume("restored-tenants");
    let standin = Standin::new("security-tenants");
    let pod = |namespace: &str, cron_job: &str| {
        Pod::from_compiled(&objects, "CronJob", namespace, cron_job)
            .secret("kopia-local", &[("KOPIA_PASSWORD", PASSWORD)])
            .pvc("web-data", &data)
            .pvc("backup-repo", &repo)
            .pvc("restored", &restored)
            .standin(&standin)
            .harness_env("KOPIA_STANDIN_NOW", NOW)
    };
    for (namespace, entry) in [
        ("apps", "web-data"),
        ("apps", "db-data"),
        ("other-tenant", "their-data"),
    ] {
        let result = pod(namespace, &format!("sec-{entry}-backup")).run();
        assert_eq!(result.exit_code, 0, "{}", result.logs());
    }

    let result = pod("apps", "sec-web-restore-restore").run();
    assert_ne!(result.exit_code, 0, "{}", result.logs());
    let line = result_line(&result);
    assert_eq!(
        line["availableIdentities"],
        serde_json::json!(["db-data@apps:/data", "web-data@apps:/data"]),
        "{line}"
    );
    assert!(
        !result.logs().contains("other-tenant"),
        "another tenant's source is in the log:\n{}",
        result.logs()
    );

    let result = pod("apps", "sec-web-restore-wide-restore").run();
    let line = result_line(&result);
    assert_eq!(
        line["availableIdentities"],
        serde_json::json!([
            "db-data@apps:/data",
            "their-data@other-tenant:/data",
            "web-data@apps:/data"
        ]),
        "{line}"
    );
}
