//! Least privilege and secret hygiene (issue 16): what the repository
//! Secret may steer, where credentials may appear, what a tenant sees, and
//! what the compiler refuses. The scenarios run compiled pods with the pod
//! harness (tests/it/support/pod.rs) against the Kopia stand-in; the harness
//! also fails any scenario whose Kopia command lines hold a credential of
//! the pod's Secrets.

use crate::support;
use crate::support::requires::requires;

use std::collections::BTreeSet;
use std::path::PathBuf;

use regex::Regex;
use serde_json::Value;
use support::pod::{Pod, PodResult, Standin};

const PASSWORD: &str = "correct horse battery staple";
const NOW: &str = "2026-11-26T02:00:00Z";

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
    (
        "KOPIAPLAN_GLOBAL_POLICY_FILE",
        "/kopiaplan/credentials/sftp_key",
    ),
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
    // bash never imports IFS; kopiaplan leaves it unset in `env`.
    ("IFS", "/"),
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
    requires!(Namespaces, Tool("python3"));
    let objects = support::compile_json("hostile", ONE_BACKUP);
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
/// (`scripts::environment::SETTINGS`, `KOPIA_PATHS` and `SHELL`), a backend key of the
/// repository Secret (`kopia::backend::secret_keys`), or the script's own, assigned before
/// it is read.
#[test]
fn the_scripts_read_only_variables_the_compiler_sets_or_backend_keys() {
    use kopiaplan::scripts::environment::{KOPIA_PATHS, SETTINGS, SHELL};
    let backend_keys = kopiaplan::kopia::backend::secret_keys();
    let scripts = kopiaplan::scripts::render_all().expect("render");
    let common = &scripts
        .iter()
        .find(|s| s.name == "common.sh")
        .expect("common.sh")
        .text;
    let reference = Regex::new(r"\$\{?#?([A-Za-z_][A-Za-z0-9_]*)").expect("regex");
    let assignment = Regex::new(
        r"(?:^|[\s;(!])(?:local |export |readonly )?([A-Za-z_][A-Za-z0-9_]*)(?:\+?=|\[)",
    )
    .expect("regex");
    let declaration = Regex::new(r"(?m)^\s*local ((?:[A-Za-z_][A-Za-z0-9_]* ?)+)$").expect("regex");
    // `exec {name}>&1` assigns a new file descriptor's number to `name`.
    let descriptor = Regex::new(r"\{([A-Za-z_][A-Za-z0-9_]*)\}[<>]").expect("regex");
    let loop_variable =
        Regex::new(r"(?:for|read -r(?: -a)?) ([A-Za-z_][A-Za-z0-9_ ]*?)(?:;| in|$| <)")
            .expect("regex");
    let known: BTreeSet<&str> = SETTINGS
        .iter()
        .chain(KOPIA_PATHS)
        .copied()
        .chain(SHELL.iter().map(|(name, _)| *name))
        .chain(backend_keys.iter().copied())
        // Bash's own: it ignores them in the environment.
        .chain(["BASHPID", "BASH_COMMAND"])
        // The emitter sets both from the repository Secret by key
        // (`secretKeyRef`): every mover's password, and the new one of a
        // password change.
        .chain(["KOPIA_PASSWORD", "KOPIA_NEW_PASSWORD"])
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
            for capture in descriptor.captures_iter(code) {
                assigned.insert(capture[1].to_owned());
            }
            for capture in loop_variable.captures_iter(code) {
                assigned.extend(capture[1].split_whitespace().map(str::to_owned));
            }
        }
    }
    // Functions' locals are assigned in the function before they are read,
    // but a function body can come before the line that assigns a global it
    // reads: each operation's script sets OPERATION at the top
    // level, before any function runs.
    let global = "OPERATION";
    unexplained.retain(|entry| !entry.ends_with(&format!(": {global}")));
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
    requires!(Namespaces, Tool("python3"));
    let objects = support::compile_json("sftp", SFTP_PLAN);
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
    assert!(
        result.stderr.contains("unable to authenticate"),
        "{}",
        result.logs()
    );
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
    requires!(Namespaces, Tool("python3"));
    let objects = support::compile_json("tenants", TENANTS);
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

// ---------------------------------------------------------------------------
// Compile-time refusals: every diagnostic with its position and field path

/// `kopiaplan compile` of `plan` (plus `extra` documents): exit code,
/// standard output and the JSON diagnostics.
fn compile_diagnostics(name: &str, plan: &str) -> (i32, String, Vec<Value>) {
    let dir = support::scratch(&format!("security-diag-{name}"));
    let path = dir.join("plan.yaml");
    std::fs::write(&path, plan).expect("write plan");
    let out = support::kopiaplan(&[
        "compile",
        "--diagnostics",
        "json",
        path.to_str().expect("utf-8"),
    ]);
    let diagnostics = support::stderr(&out)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect();
    (
        out.status.code().unwrap_or(-1),
        support::stdout(&out),
        diagnostics,
    )
}

/// The one diagnostic at `field`, checked for severity, line and column.
fn diagnostic_at<'a>(
    diagnostics: &'a [Value],
    field: &str,
    severity: &str,
    line: u64,
    column: u64,
) -> &'a Value {
    let found: Vec<&Value> = diagnostics
        .iter()
        .filter(|d| d["fieldPath"] == field)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one diagnostic at {field}: {diagnostics:#?}"
    );
    let d = found[0];
    assert_eq!(d["severity"], severity, "{d}");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(line), Some(column)),
        "{d}"
    );
    assert!(
        d["file"].as_str().is_some_and(|f| f.ends_with("plan.yaml")),
        "{d}"
    );
    d
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

const HEADER: &str = "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: sec
  namespace: apps
spec:
";

// 2. No credentials in URLs

#[test]
fn credentials_in_repository_urls_are_compile_errors_that_name_the_secret_keys() {
    let plan = format!(
        "{HEADER}  repositories:
    - name: s3
      secretName: kopia-s3
      url: s3://AKIAEXAMPLE:s3cr3t-key@bucket/p
    - name: sftp
      secretName: kopia-sftp
      url: sftp://backup:pa55word@host/p
    - name: azure
      secretName: kopia-azure
      url: azure://container/p?sv=2024&sig=s1gnature
    - name: gcs
      secretName: kopia-gcs
      url: gcs://token@bucket/p
    - name: fine
      secretName: kopia-fine
      url: sftp://backup@host:2222/p
    - name: volsync-style
      secretName: kopia-volsync
  defaults:
    repository: fine
  backups:
    - {{name: a, pvc: a, repository: s3}}
    - {{name: b, pvc: b, repository: sftp}}
    - {{name: c, pvc: c, repository: azure}}
    - {{name: d, pvc: d, repository: gcs}}
    - {{name: e, pvc: e, repository: fine}}
    - {{name: f, pvc: f, repository: volsync-style}}
---
apiVersion: v1
kind: Secret
metadata: {{name: kopia-volsync, namespace: apps}}
stringData:
  KOPIA_PASSWORD: x
  KOPIA_REPOSITORY: webdav://dav-user:dav-pa55@dav.example/kopia
"
    );
    let (code, stdout, diagnostics) = compile_diagnostics("urls", &plan);
    assert_eq!(code, 1, "{diagnostics:#?}");
    assert!(stdout.is_empty(), "partial output: {stdout}");
    let s3 = diagnostic_at(&diagnostics, "spec.repositories[0].url", "error", 10, 12);
    assert_eq!(s3["code"], "credential-in-url", "{s3}");
    assert!(text(&s3["message"]).contains("password"), "{s3}");
    assert!(
        text(&s3["help"]).contains("`AWS_SECRET_ACCESS_KEY`"),
        "{s3}"
    );
    assert!(text(&s3["help"]).contains("kopia-s3"), "{s3}");
    let sftp = diagnostic_at(&diagnostics, "spec.repositories[1].url", "error", 13, 12);
    assert_eq!(sftp["code"], "credential-in-url", "{sftp}");
    assert!(text(&sftp["help"]).contains("`SFTP_PASSWORD`"), "{sftp}");
    let azure = diagnostic_at(&diagnostics, "spec.repositories[2].url", "error", 16, 12);
    assert_eq!(azure["code"], "credential-in-url", "{azure}");
    assert!(text(&azure["message"]).contains("query"), "{azure}");
    assert!(
        text(&azure["help"]).contains("`AZURE_STORAGE_SAS_TOKEN`"),
        "{azure}"
    );
    let gcs = diagnostic_at(&diagnostics, "spec.repositories[3].url", "error", 19, 12);
    assert_eq!(gcs["code"], "credential-in-url", "{gcs}");
    assert!(text(&gcs["message"]).contains("user part"), "{gcs}");
    // A URL from a Secret of the input (VolSync's way) is checked too, at
    // its key.
    let secret = diagnostic_at(&diagnostics, "stringData.KOPIA_REPOSITORY", "error", 40, 21);
    assert_eq!(secret["code"], "credential-in-url", "{secret}");
    assert!(
        text(&secret["help"]).contains("`WEBDAV_PASSWORD`"),
        "{secret}"
    );
    let about_urls = diagnostics
        .iter()
        .filter(|d| {
            text(&d["fieldPath"]).ends_with("url")
                || text(&d["fieldPath"]).ends_with("KOPIA_REPOSITORY")
        })
        .count();
    assert_eq!(
        about_urls, 5,
        "sftp://user@host:port is fine: {diagnostics:#?}"
    );
    // No diagnostic repeats the credential.
    for d in &diagnostics {
        for secret in ["s3cr3t-key", "pa55word", "s1gnature", "dav-pa55"] {
            assert!(!d.to_string().contains(secret), "{d}");
        }
    }
}

// 5. Nothing outside the restricted profile without saying so

#[test]
fn security_context_settings_outside_the_restricted_profile_need_privileged() {
    let plan = format!(
        "{HEADER}  repositories:
    - {{name: r, secretName: kopia, url: s3://bucket/p}}
  defaults:
    copyMethod: Direct
  backups:
    - name: a
      pvc: a
      mover:
        securityContext:
          seccompProfile: {{type: Unconfined}}
          appArmorProfile: {{type: Unconfined}}
          seLinuxOptions: {{type: spc_t}}
          sysctls: [{{name: kernel.msgmax, value: \"65536\"}}, {{name: net.ipv4.tcp_syncookies, value: \"1\"}}]
    - name: b
      pvc: b
      mover:
        privileged: true
        securityContext:
          seccompProfile: {{type: Unconfined}}
          seLinuxOptions: {{type: spc_t}}
    - name: c
      pvc: c
      mover:
        securityContext:
          seccompProfile: {{type: Localhost, localhostProfile: kopia.json}}
          seLinuxOptions: {{type: container_t, level: \"s0:c1,c2\"}}
"
    );
    let (code, stdout, diagnostics) = compile_diagnostics("restricted", &plan);
    assert_eq!(code, 1, "{diagnostics:#?}");
    assert!(stdout.is_empty());
    let at = "spec.backups[0].mover.securityContext";
    for (field, line, column, says) in [
        ("seccompProfile", 16, 27, "Unconfined"),
        ("appArmorProfile", 17, 28, "Unconfined"),
        ("seLinuxOptions", 18, 27, "spc_t"),
        ("sysctls", 19, 20, "kernel.msgmax"),
    ] {
        let d = diagnostic_at(
            &diagnostics,
            &format!("{at}.{field}"),
            "error",
            line,
            column,
        );
        assert_eq!(d["code"], "outside-restricted-profile", "{d}");
        assert!(text(&d["message"]).contains(says), "{d}");
        assert!(text(&d["help"]).contains("privileged: true"), "{d}");
    }
    // With privileged: true they are warnings.
    let at = "spec.backups[1].mover.securityContext";
    diagnostic_at(
        &diagnostics,
        &format!("{at}.seccompProfile"),
        "warning",
        25,
        27,
    );
    diagnostic_at(
        &diagnostics,
        &format!("{at}.seLinuxOptions"),
        "warning",
        26,
        27,
    );
    assert!(
        !diagnostics
            .iter()
            .any(|d| text(&d["fieldPath"]).starts_with("spec.backups[2]")),
        "a Localhost profile and container_t are within the profile: {diagnostics:#?}"
    );
    assert_eq!(diagnostics.len(), 6, "{diagnostics:#?}");
}

/// Capabilities, privilege escalation and hostPath volumes cannot even be
/// written: a pod security context has no such fields, and mover volumes
/// are Secrets, NFS exports and claims.
#[test]
fn capabilities_privilege_escalation_and_host_paths_cannot_be_written() {
    for (name, mover, field) in [
        (
            "capabilities",
            "securityContext: {capabilities: {add: [SYS_ADMIN]}}",
            "spec.backups[0].mover.securityContext.capabilities",
        ),
        (
            "escalation",
            "securityContext: {allowPrivilegeEscalation: true}",
            "spec.backups[0].mover.securityContext.allowPrivilegeEscalation",
        ),
        (
            "hostpath",
            "volumes: [{mountPath: host, volumeSource: {hostPath: {path: /}}}]",
            "spec.backups[0].mover.volumes[0].volumeSource.hostPath",
        ),
    ] {
        let plan = format!(
            "{HEADER}  repositories:
    - {{name: r, secretName: kopia, url: s3://bucket/p}}
  backups:
    - {{name: a, pvc: a, mover: {{privileged: true, {mover}}}}}
"
        );
        let (code, stdout, diagnostics) = compile_diagnostics(name, &plan);
        assert_eq!(code, 1, "{name}: {diagnostics:#?}");
        assert!(stdout.is_empty());
        assert!(
            diagnostics
                .iter()
                .any(|d| d["fieldPath"] == field && d["severity"] == "error"),
            "{name}: {diagnostics:#?}"
        );
    }
}

// 6. No back door for hooks

#[test]
fn force_enable_actions_and_policy_actions_without_enable_actions_are_refused() {
    let plan = format!(
        "{HEADER}  repositories:
    - {{name: r, secretName: kopia, url: s3://bucket/p}}
  defaults:
    policy: {{actions: {{beforeSnapshotRoot: {{path: /bin/sh, args: [-c, id]}}}}}}
  backups:
    - name: a
      pvc: a
      additionalArgs: [--force-enable-actions]
      policyConfig: {{repositoryConfig: '{{\"enableActions\": false}}'}}
    - name: b
      pvc: b
      policy: {{actions: {{afterSnapshotRoot: {{path: /bin/true}}}}}}
      policyConfig: {{repositoryConfig: '{{\"enableActions\": true}}'}}
"
    );
    let (code, stdout, diagnostics) = compile_diagnostics("actions", &plan);
    assert_eq!(code, 1, "{diagnostics:#?}");
    assert!(stdout.is_empty());
    let force = diagnostic_at(
        &diagnostics,
        "spec.backups[0].additionalArgs[0]",
        "error",
        14,
        24,
    );
    assert_eq!(force["code"], "invalid-additional-argument", "{force}");
    assert!(
        text(&force["message"]).contains("--force-enable-actions"),
        "{force}"
    );
    assert!(text(&force["message"]).contains("not enabled"), "{force}");
    // The defaults' policy.actions reach `a`, whose actions are disabled.
    let actions = diagnostic_at(
        &diagnostics,
        "spec.defaults.policy.actions",
        "error",
        10,
        14,
    );
    assert_eq!(actions["code"], "actions-not-enabled", "{actions}");
    assert!(text(&actions["message"]).contains("`a`"), "{actions}");
    assert!(
        text(&actions["help"]).contains("enableActions"),
        "{actions}"
    );
    // `b` enables Kopia's actions on purpose: its policy actions are fine.
    let about_actions = diagnostics
        .iter()
        .filter(|d| {
            d["code"] == "actions-not-enabled" || d["code"] == "invalid-additional-argument"
        })
        .count();
    assert_eq!(about_actions, 2, "{diagnostics:#?}");
}

// ---------------------------------------------------------------------------
// 8. Nothing about the compiling machine in the output

#[test]
fn source_annotations_name_the_input_relative_to_the_working_directory() {
    let absolute = support::root().join("examples/one-app.yaml");
    let by_absolute = support::kopiaplan(&["compile", absolute.to_str().expect("utf-8")]);
    let by_relative = support::kopiaplan(&["compile", "examples/one-app.yaml"]);
    assert!(
        by_absolute.status.success(),
        "{}",
        support::stderr(&by_absolute)
    );
    let text = support::stdout(&by_absolute);
    assert!(
        text.contains("kopiaplan.dev/source: examples/one-app.yaml:"),
        "{text}"
    );
    assert!(!text.contains(&support::root().display().to_string()));
    assert_eq!(text, support::stdout(&by_relative));
}

#[test]
fn input_secrets_are_left_out_unless_asked_for_and_written_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let input = "examples/volsync-migration.yaml";
    let plain = support::stdout(&support::kopiaplan(&["compile", input]));
    assert!(
        !plain.contains("kind: Secret"),
        "an input Secret was copied"
    );
    assert!(plain.contains("kind: CronJob"));

    let dir = support::scratch("security-output-modes");
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("written")
            .permissions()
            .mode()
            & 0o777
    };
    let with_secret = dir.join("with-secret.yaml");
    let out = support::kopiaplan(&[
        "compile",
        input,
        "--include-inputs",
        "-o",
        with_secret.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    assert!(
        std::fs::read_to_string(&with_secret)
            .expect("read")
            .contains("kind: Secret")
    );
    assert_eq!(mode(&with_secret), 0o600);
    // Replacing a file that was readable by others narrows it too.
    std::fs::write(&with_secret, "").expect("write");
    std::fs::set_permissions(&with_secret, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = support::kopiaplan(&[
        "compile",
        input,
        "--include-inputs",
        "-o",
        with_secret.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success());
    assert_eq!(mode(&with_secret), 0o600);

    let without = dir.join("without.yaml");
    let out = support::kopiaplan(&["compile", input, "-o", without.to_str().expect("utf-8")]);
    assert!(out.status.success());
    assert_ne!(
        mode(&without),
        0o600,
        "a file without a Secret keeps the umask's mode"
    );

    let rendered = dir.join("rendered");
    let out = support::kopiaplan(&[
        "compile",
        input,
        "--include-inputs",
        "--output-dir",
        rendered.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let mut secrets = 0;
    for namespace in std::fs::read_dir(&rendered).expect("dir").flatten() {
        if !namespace.path().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(namespace.path()).expect("dir").flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if name.starts_with("secret-") {
                secrets += 1;
                assert_eq!(mode(&file.path()), 0o600, "{name}");
            } else {
                assert_ne!(mode(&file.path()), 0o600, "{name}");
            }
        }
    }
    assert!(secrets > 0, "no Secret was written with --include-inputs");
}

// ---------------------------------------------------------------------------
// 4. Launchers that can only launch what they were compiled to launch

fn items(objects: &Value) -> &Vec<Value> {
    objects["items"].as_array().expect("a List")
}

#[test]
fn every_launcher_has_an_admission_policy_for_exactly_its_mover_job_and_snapshot() {
    let out = support::kopiaplan(&["compile", "--format", "json", "examples/snapshot-copy.yaml"]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let objects: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let launchers: Vec<&Value> = items(&objects)
        .iter()
        .filter(|o| o["kind"] == "Role")
        .collect();
    assert!(!launchers.is_empty());
    for role in launchers {
        let namespace = text(&role["metadata"]["namespace"]);
        let launcher = text(&role["metadata"]["name"]);
        let username = format!("system:serviceaccount:{namespace}:{launcher}");
        let policies: Vec<&Value> = items(&objects)
            .iter()
            .filter(|o| {
                o["kind"] == "ValidatingAdmissionPolicy"
                    && o["spec"]["matchConditions"][0]["expression"]
                        .as_str()
                        .is_some_and(|e| e.ends_with(&format!("== \"{username}\"")))
            })
            .collect();
        assert_eq!(policies.len(), 1, "one policy for {username}");
        let policy = policies[0];
        assert_eq!(policy["apiVersion"], "admissionregistration.k8s.io/v1");
        assert!(policy["metadata"]["namespace"].is_null(), "cluster-scoped");
        assert_eq!(policy["spec"]["failurePolicy"], "Fail");
        let name = text(&policy["metadata"]["name"]);
        let binding = items(&objects)
            .iter()
            .find(|o| {
                o["kind"] == "ValidatingAdmissionPolicyBinding" && o["spec"]["policyName"] == name
            })
            .unwrap_or_else(|| panic!("no binding of {name}"));
        assert_eq!(
            binding["spec"]["validationActions"],
            serde_json::json!(["Deny"])
        );
        // What the launcher creates is what the policy admits.
        let manifests = items(&objects)
            .iter()
            .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == launcher)
            .expect("the launcher's manifests");
        let job: Value =
            serde_json::from_str(text(&manifests["data"]["mover-job.json"])).expect("JSON");
        let snapshot: Value =
            serde_json::from_str(text(&manifests["data"]["volumesnapshot.json"])).expect("JSON");
        let expressions: String = policy["spec"]["validations"]
            .as_array()
            .expect("validations")
            .iter()
            .map(|v| text(&v["expression"]).to_owned() + "\n")
            .collect();
        let pod = &job["spec"]["template"]["spec"];
        for must in [
            format!(
                "object.metadata.name == \"{}\"",
                text(&job["metadata"]["name"])
            ),
            format!(
                "variables.pod.serviceAccountName == \"{}\"",
                text(&pod["serviceAccountName"])
            ),
            format!(
                "variables.container.image == \"{}\"",
                text(&pod["containers"][0]["image"])
            ),
            format!(
                "object.metadata.name == \"{}\"",
                text(&snapshot["metadata"]["name"])
            ),
            format!(
                "object.spec.source.persistentVolumeClaimName == \"{}\"",
                text(&snapshot["spec"]["source"]["persistentVolumeClaimName"])
            ),
            "\"KOPIAPLAN_BEFORE_SNAPSHOT=\"".to_owned(),
        ] {
            assert!(
                expressions.contains(&must),
                "{name} lacks {must}:\n{expressions}"
            );
        }
    }
}

#[test]
fn the_admission_policy_can_be_turned_off_for_clusters_before_1_30() {
    let plan =
        std::fs::read_to_string(support::root().join("examples/snapshot-copy.yaml")).expect("read");
    let off = plan.replacen(
        "  launcher:\n",
        "  launcher:\n    admissionPolicy: false\n",
        1,
    );
    assert_ne!(off, plan);
    let dir = support::scratch("security-no-admission-policy");
    let path = dir.join("plan.yaml");
    std::fs::write(&path, off).expect("write");
    let out = support::kopiaplan(&["compile", path.to_str().expect("utf-8")]);
    assert!(out.status.success(), "{}", support::stderr(&out));
    let text = support::stdout(&out);
    assert!(text.contains("kind: Role"), "the launchers are still there");
    assert!(!text.contains("ValidatingAdmissionPolicy"), "{text}");
}

// ---------------------------------------------------------------------------
// 7. Bounded by default

#[test]
fn movers_and_launchers_get_requests_and_a_memory_limit_unless_the_plan_sets_them() {
    let plan = format!(
        "{HEADER}  launcher:
    resources: {{limits: {{memory: 64Mi}}}}
  repositories:
    - {{name: r, secretName: kopia, url: s3://bucket/p}}
  defaults:
    copyMethod: Direct
    cache: {{capacity: 8Gi}}
  backups:
    - {{name: plain, pvc: a}}
    - {{name: small-cache, pvc: a, cache: {{capacity: 1Gi}}}}
    - name: own
      pvc: a
      mover: {{resources: {{requests: {{memory: 1Gi}}, limits: {{memory: 8Gi}}}}}}
    - {{name: snap, pvc: a, copyMethod: Snapshot, capacity: 1Gi}}
"
    );
    let objects = support::compile_json("resources", &plan);
    let cron_job = |name: &str| -> &Value {
        items(&objects)
            .iter()
            .find(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no CronJob {name}"))
    };
    let resources = |name: &str| {
        cron_job(name)["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["resources"].clone()
    };
    // 8Gi of cache: a metadata cache limit of 1638 MiB, so 2048 + 409 MiB.
    assert_eq!(
        resources("sec-plain-backup"),
        serde_json::json!({"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2457Mi"}})
    );
    assert_eq!(
        resources("sec-small-cache-backup")["limits"]["memory"],
        "2099Mi",
        "sized from the cache"
    );
    assert_eq!(
        resources("sec-own-backup"),
        serde_json::json!({"requests": {"memory": "1Gi"}, "limits": {"memory": "8Gi"}})
    );
    // The launcher's containers: the plan's resources.
    let launcher = &cron_job("sec-snap-backup")["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let containers = launcher["initContainers"]
        .as_array()
        .expect("steps")
        .iter()
        .chain(launcher["containers"].as_array().expect("main"));
    for container in containers {
        assert_eq!(
            container["resources"],
            serde_json::json!({"limits": {"memory": "64Mi"}})
        );
    }
    // And the default ones when the plan names none.
    let objects = support::compile_json(
        "resources-default",
        &plan.replace("  launcher:\n    resources: {limits: {memory: 64Mi}}\n", ""),
    );
    let launcher = items(&objects)
        .iter()
        .find(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == "sec-snap-backup")
        .expect("launcher");
    assert_eq!(
        launcher["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["resources"],
        serde_json::json!({"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}})
    );
}

#[test]
fn a_volsync_repository_secret_with_a_credential_in_its_url_is_an_error_at_the_key() {
    let input = "apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata: {name: web, namespace: shop}
spec:
  sourcePVC: web
  trigger: {schedule: \"0 2 * * *\"}
  kopia: {repository: kopia-repo, copyMethod: Direct}
---
apiVersion: v1
kind: Secret
metadata: {name: kopia-repo, namespace: shop}
stringData:
  KOPIA_PASSWORD: x
  KOPIA_REPOSITORY: azure://container/p?sig=s1gnature
";
    let (code, stdout, diagnostics) = compile_diagnostics("volsync-url", input);
    assert_eq!(code, 1, "{diagnostics:#?}");
    assert!(stdout.is_empty());
    let d = diagnostic_at(&diagnostics, "stringData.KOPIA_REPOSITORY", "error", 14, 21);
    assert_eq!(d["code"], "credential-in-url", "{d}");
    assert!(text(&d["help"]).contains("AZURE_STORAGE_SAS_TOKEN"), "{d}");
}

/// A Secret kopiaplan never saw: the mover refuses the URL before Kopia
/// runs, so the credential never reaches a command line.
#[test]
fn the_mover_refuses_a_repository_url_with_a_credential_from_an_unseen_secret() {
    requires!(Namespaces, Tool("python3"));
    let plan = ONE_BACKUP.replace("      filesystem: {claimName: backup-repo, path: /}\n", "");
    let objects = support::compile_json("runtime-url", &plan);
    let data = data_volume("runtime-url");
    for (label, url) in [
        ("password", "s3://AKIAEXAMPLE:s3cr3t@bucket/p"),
        ("query", "azure://container/p?sig=s1gnature"),
    ] {
        let standin = Standin::new(&format!("security-runtime-url-{label}"));
        let result = Pod::from_compiled(&objects, "CronJob", "apps", "sec-web-data-backup")
            .secret(
                "kopia-local",
                &[("KOPIA_PASSWORD", PASSWORD), ("KOPIA_REPOSITORY", url)],
            )
            .pvc("web-data", &data)
            .standin(&standin)
            .harness_env("KOPIA_STANDIN_NOW", NOW)
            .run();
        assert_ne!(result.exit_code, 0, "{}", result.logs());
        assert!(
            standin.calls().is_empty(),
            "Kopia ran: {:?}",
            standin.calls()
        );
        let line = result_line(&result);
        assert!(
            text(&line["message"]).contains("repository Secret"),
            "{line}"
        );
        assert!(!result.logs().contains("s3cr3t") && !result.logs().contains("s1gnature"));
    }
}
