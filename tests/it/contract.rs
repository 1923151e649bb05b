//! Contract tests: the compiled pods run, exactly as Kubernetes would run
//! them (tests/it/support/pod.rs), against the Kopia stand-in
//! (tests/standin/kopia), and the exact sequence of Kopia command lines is
//! checked. `cargo test --test it contract:: -- --nocapture` prints each
//! scenario's `kopia` calls.

use crate::support;
use crate::support::requires::requires;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use support::pod::{Call, Pod, PodResult, Standin, find_object};

const NAMESPACE: &str = "apps";
const PASSWORD: &str = "correct horse battery staple";
/// The additional argument of `web-data`, as the plan writes it (YAML
/// escapes undone): `|`, `=`, quotes, spaces, `$(HOME)` and `$$`.
const DESCRIPTION_ARG: &str = r#"--description=a|b = "c" $(HOME) $$x"#;

const PLAN: &str = r#"apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: contract
  namespace: apps
spec:
  repositories:
    - name: local
      secretName: kopia-local
      filesystem: {claimName: backup-repo, path: /}
    - name: cloud
      secretName: kopia-s3
    - name: strict
      secretName: kopia-s3-typo
      create: Never
  defaults:
    repository: local
    copyMethod: Direct
    schedule: "0 2 * * *"
  backups:
    - name: web-data
      pvc: web-data
      policy: {files: {ignore: ["*.tmp"]}}
      additionalArgs: ["--description=a|b = \"c\" $(HOME) $$x"]
    - name: cloud-data
      pvc: web-data
      repository: cloud
    - name: cloud-cached
      pvc: web-data
      repository: cloud
      cache: {persistent: true}
    - name: strict-data
      pvc: web-data
      repository: strict
    - name: hooked-before
      pvc: web-data
      actions: {beforeSnapshot: "echo preparing; exit 7"}
    - name: hooked-after
      pvc: web-data
      actions: {afterSnapshot: "echo cleaning up; exit 3"}
"#;

/// A volume with a little data: a file, a nested file, a symlink and a
/// file the plan's policy ignores.
fn data_volume(name: &str) -> PathBuf {
    let dir = support::scratch(&format!("contract-data-{name}"));
    std::fs::create_dir_all(dir.join("uploads")).expect("mkdir");
    std::fs::write(dir.join("index.html"), "<h1>hello</h1>\n").expect("write");
    std::fs::write(dir.join("uploads/photo.jpg"), vec![7u8; 4096]).expect("write");
    std::fs::write(dir.join("scratch.tmp"), "ignore me").expect("write");
    std::os::unix::fs::symlink("index.html", dir.join("home.html")).expect("symlink");
    dir
}

/// An empty volume the non-root mover may write to (like an NFS export).
fn writable_volume(name: &str) -> PathBuf {
    let dir = support::scratch(&format!("contract-{name}"));
    support::pod::chmod_path(&dir, 0o777);
    dir
}

struct Fixture {
    objects: Value,
    standin: Standin,
    data: PathBuf,
    repository: PathBuf,
    /// The persistent cache of `cloud-cached`.
    cache: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        Fixture {
            objects: support::compile_json(name, PLAN),
            standin: Standin::new(name),
            data: data_volume(name),
            repository: writable_volume(&format!("repo-{name}")),
            cache: support::scratch(&format!("contract-cache-{name}")),
        }
    }

    /// The pod of `<entry>`'s backup CronJob, with this fixture's Secrets,
    /// volumes and stand-in.
    fn pod(&self, entry: &str) -> Pod {
        self.cron_job_pod(&format!("contract-{entry}-backup"))
    }

    /// The pod of any CronJob of the plan, set up like [`Fixture::pod`].
    fn cron_job_pod(&self, name: &str) -> Pod {
        Pod::from_compiled(&self.objects, "CronJob", NAMESPACE, name)
            .secret("kopia-local", &[("KOPIA_PASSWORD", PASSWORD)])
            .secret(
                "kopia-s3",
                &[
                    ("KOPIA_PASSWORD", PASSWORD),
                    ("KOPIA_REPOSITORY", "s3://backups/team1"),
                    ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
                    ("AWS_SECRET_ACCESS_KEY", "secret-key"),
                ],
            )
            .secret(
                "kopia-s3-typo",
                &[
                    ("KOPIA_PASSWORD", PASSWORD),
                    ("KOPIA_REPOSITORY", "s3://backups/taem1"),
                    ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
                    ("AWS_SECRET_ACCESS_KEY", "secret-key"),
                ],
            )
            .pvc("web-data", &self.data)
            .pvc("backup-repo", &self.repository)
            .pvc("contract-cloud-cached-backup-cache", &self.cache)
            .standin(&self.standin)
            .harness_env("KOPIA_STANDIN_NOW", "2026-11-26T02:00:00Z")
    }
}

fn commands(calls: &[Call]) -> Vec<(String, i32)> {
    calls.iter().map(|c| (c.command(), c.exit)).collect()
}

fn expect_commands(calls: &[Call], expected: &[(&str, i32)]) {
    let expected: Vec<(String, i32)> = expected
        .iter()
        .map(|(c, e)| ((*c).to_owned(), *e))
        .collect();
    assert_eq!(
        commands(calls),
        expected,
        "the kopia calls differ: {calls:#?}"
    );
}

fn the_call<'a>(calls: &'a [Call], command: &str) -> &'a Call {
    calls
        .iter()
        .find(|c| c.command() == command)
        .unwrap_or_else(|| panic!("no `kopia {command}` call in {calls:#?}"))
}

/// The stand-in itself, on the host: reads the repository a pod wrote.
fn host_kopia(fx: &Fixture, args: &[&str]) -> String {
    standin_kopia(&fx.standin, args)
}

fn standin_kopia(standin: &Standin, args: &[&str]) -> String {
    let config = standin.dir.join("host-config/repository.config");
    let out = std::process::Command::new(support::root().join("tests/standin/kopia"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", standin.dir.join("host-home"))
        .env("KOPIA_CONFIG_PATH", &config)
        .env("KOPIA_PASSWORD", PASSWORD)
        .env("KOPIA_STANDIN_STORAGE", standin.storage())
        .output()
        .expect("run the stand-in");
    assert!(
        out.status.success(),
        "kopia {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn connect_host(fx: &Fixture, path: &Path) {
    connect_host_to(&fx.standin, path);
}

fn connect_host_to(standin: &Standin, path: &Path) {
    standin_kopia(
        standin,
        &[
            "repository",
            "connect",
            "filesystem",
            &format!("--path={}", path.display()),
            "--override-username=reader",
            "--override-hostname=host",
        ],
    );
}

#[test]
fn first_backup_creates_the_repository_then_later_runs_only_connect() {
    requires!(Namespaces, Tool("python3"));
    let fx = Fixture::new("first-backup");

    let first = fx.pod("web-data").run();
    fx.standin
        .print_log("first backup (filesystem repository on a PVC)");
    assert_eq!(first.exit_code, 0, "{}", first.logs());
    let calls = fx.standin.calls();
    expect_commands(
        &calls,
        &[
            ("repository connect filesystem", 1),
            ("repository create filesystem", 0),
            ("policy import", 0),
            ("snapshot create", 0),
        ],
    );
    // Connect and create name the same storage and the plan's identity.
    for command in [
        "repository connect filesystem",
        "repository create filesystem",
    ] {
        let call = the_call(&calls, command);
        assert_eq!(
            call.value("--path="),
            Some("/kopiaplan/repository/"),
            "{call:?}"
        );
        assert_eq!(
            call.value("--override-username="),
            Some("web-data"),
            "{call:?}"
        );
        assert_eq!(call.value("--override-hostname="), Some("apps"), "{call:?}");
        assert!(call.has("--no-check-for-updates"), "{call:?}");
    }
    // The policy goes to exactly the target that is snapshotted.
    let import = the_call(&calls, "policy import");
    assert_eq!(
        import.argv.last().map(String::as_str),
        Some("web-data@apps:/data")
    );
    assert_eq!(
        import.value("--from-file="),
        Some("/kopiaplan/policy/policy.json")
    );
    let create = the_call(&calls, "snapshot create");
    assert!(create.has("/data") && create.has("--json"), "{create:?}");

    let result = first.result_line();
    assert_eq!(result["result"], "success", "{}", first.logs());
    assert_eq!(result["identity"], "web-data@apps:/data");
    let id = result["snapshotId"]
        .as_str()
        .expect("a snapshot id")
        .to_owned();
    assert_eq!(id.len(), 32, "{result}");
    assert_eq!(
        result["files"], 2,
        "two files, the *.tmp one ignored: {result}"
    );
    assert_eq!(result["bytes"], 4096 + 15, "{result}");

    // The repository on the PVC holds that snapshot, as the plan's identity.
    connect_host(&fx, &fx.repository);
    let listed: Value =
        serde_json::from_str(&host_kopia(&fx, &["snapshot", "list", "--json", "--all"]))
            .expect("snapshot list --json");
    let snapshots = listed.as_array().expect("a list");
    assert_eq!(snapshots.len(), 1, "{listed:#}");
    assert_eq!(snapshots[0]["id"], id.as_str());
    assert_eq!(snapshots[0]["source"]["userName"], "web-data");
    assert_eq!(snapshots[0]["description"], r#"a|b = "c" $(HOME) $$x"#);

    // A later run, with a fresh (emptyDir) cache: connect, no create.
    fx.standin.clear_log();
    let second = fx.pod("web-data").run();
    fx.standin.print_log("second backup");
    assert_eq!(second.exit_code, 0, "{}", second.logs());
    expect_commands(
        &fx.standin.calls(),
        &[
            ("repository connect filesystem", 0),
            ("policy import", 0),
            ("snapshot create", 0),
        ],
    );
    assert_eq!(second.result_line()["result"], "success");
    assert_ne!(second.result_line()["snapshotId"], id.as_str());
}

#[test]
fn additional_arguments_reach_kopia_exactly_as_written_in_the_plan() {
    requires!(Namespaces, Tool("python3"));
    let fx = Fixture::new("additional-args");
    let result = fx.pod("web-data").run();
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    // Kubernetes would expand `$(HOME)` and turn `$$` into `$` in args: the
    // compiler escapes them, and the runner expands exactly as the kubelet.
    assert_eq!(
        result.argv.last().map(String::as_str),
        Some(DESCRIPTION_ARG)
    );
    let calls = fx.standin.calls();
    let create = the_call(&calls, "snapshot create");
    assert_eq!(
        create
            .argv
            .iter()
            .filter(|a| a.as_str() == DESCRIPTION_ARG)
            .count(),
        1,
        "the argument is split, changed or lost: {create:?}"
    );
    // ...and nowhere else: not on connect or create.
    for call in &calls {
        if call.command() != "snapshot create" {
            assert!(!call.has(DESCRIPTION_ARG), "{call:?}");
        }
    }
    fx.standin.print_log("additional arguments");
}

#[test]
fn s3_repository_from_the_secret_is_created_once_under_its_prefix() {
    requires!(Namespaces, Tool("python3"));
    let fx = Fixture::new("s3");
    let bucket = fx.standin.s3_bucket("s3.amazonaws.com", "backups");

    let first = fx.pod("cloud-data").run();
    fx.standin
        .print_log("S3 repository from KOPIA_REPOSITORY=s3://backups/team1");
    assert_eq!(first.exit_code, 0, "{}", first.logs());
    let calls = fx.standin.calls();
    expect_commands(
        &calls,
        &[
            ("repository connect s3", 1),
            ("repository create s3", 0),
            ("policy import", 0),
            ("snapshot create", 0),
        ],
    );
    for command in ["repository connect s3", "repository create s3"] {
        let call = the_call(&calls, command);
        assert_eq!(call.value("--bucket="), Some("backups"), "{call:?}");
        assert_eq!(call.value("--prefix="), Some("team1/"), "{call:?}");
        // Credentials stay in the environment, never on the command line.
        assert!(
            !call.argv.iter().any(|a| a.contains("secret-key")),
            "{call:?}"
        );
    }
    assert_eq!(first.result_line()["result"], "success");
    assert!(
        bucket.join("team1/kopia.repository").is_file(),
        "the repository is under the prefix"
    );
    // The password is never on a command line, nor persisted next to
    // Kopia's config (KOPIA_PERSIST_CREDENTIALS_ON_CONNECT=false).
    assert!(
        !calls
            .iter()
            .any(|c| c.argv.iter().any(|a| a.contains(PASSWORD)))
    );
    let config = first.volume("config").join("repository.config");
    assert!(config.is_file(), "Kopia's config is on the config volume");
    assert!(
        !first
            .volume("config")
            .join("repository.config.kopia-password")
            .exists()
    );

    fx.standin.clear_log();
    let second = fx.pod("cloud-data").run();
    assert_eq!(second.exit_code, 0, "{}", second.logs());
    expect_commands(
        &fx.standin.calls(),
        &[
            ("repository connect s3", 0),
            ("policy import", 0),
            ("snapshot create", 0),
        ],
    );
}

/// Every regular file below `dir` whose bytes contain one of `needles`.
fn files_containing(dir: &Path, needles: &[&str]) -> Vec<String> {
    tree(dir)
        .into_iter()
        .filter(|(_, content)| needles.iter().any(|n| content.contains(n)))
        .map(|(path, _)| path)
        .collect()
}

#[test]
fn no_credential_is_written_to_a_persistent_cache() {
    requires!(Namespaces, Tool("python3"));
    let fx = Fixture::new("credentials");
    fx.standin.s3_bucket("s3.amazonaws.com", "backups");
    let result = fx.pod("cloud-cached").run();
    fx.standin.print_log("S3 backup with a persistent cache");
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    // The password, also as Kopia's password file holds it (base64).
    let secrets = [
        "secret-key",
        PASSWORD,
        "Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZQ",
    ];
    // Kopia did write the S3 keys into its config, as it does...
    assert_eq!(
        files_containing(&result.volume("config"), &["secret-key"]),
        ["repository.config"]
    );
    // ...in memory, not on the cache volume, which did get Kopia's files.
    let cache = tree(&fx.cache);
    assert!(
        cache.contains_key("cache") && cache.keys().any(|p| p.starts_with("logs/")),
        "{cache:#?}"
    );
    assert_eq!(
        files_containing(&fx.cache, &secrets),
        Vec::<String>::new(),
        "credentials on the persistent cache"
    );
    let pod = find_object(
        &fx.objects,
        "CronJob",
        NAMESPACE,
        "contract-cloud-cached-backup",
    );
    let volumes = &support::pod_spec(pod)["volumes"];
    let config = volumes
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == "config"))
        .expect("a config volume");
    assert_eq!(config["emptyDir"]["medium"], "Memory", "{config}");
}

#[test]
fn a_mistyped_prefix_with_create_never_fails_and_creates_nothing() {
    requires!(Namespaces, Tool("python3"));
    let fx = Fixture::new("typo");
    let bucket = fx.standin.s3_bucket("s3.amazonaws.com", "backups");
    // The real repository exists under team1/.
    assert_eq!(fx.pod("cloud-data").run().exit_code, 0);
    fx.standin.clear_log();

    let result = fx.pod("strict-data").run();
    fx.standin
        .print_log("mistyped prefix (s3://backups/taem1), create: Never");
    assert_ne!(result.exit_code, 0, "{}", result.logs());
    let calls = fx.standin.calls();
    expect_commands(&calls, &[("repository connect s3", 1)]);
    assert_eq!(
        the_call(&calls, "repository connect s3").value("--prefix="),
        Some("taem1/")
    );
    let line = result.result_line();
    assert_eq!(line["result"], "failure", "{}", result.logs());
    assert!(
        line["message"]
            .as_str()
            .unwrap_or("")
            .contains("create: Never"),
        "{line}"
    );
    assert!(
        !bucket.join("taem1").exists(),
        "something was written under the mistyped prefix"
    );
}

#[test]
fn a_failing_before_snapshot_action_fails_the_run_without_a_snapshot() {
    requires!(Namespaces, Tool("python3"));
    let fx = Fixture::new("before-hook");
    let result = fx.pod("hooked-before").run();
    fx.standin.print_log("beforeSnapshot exits 7");
    assert_ne!(result.exit_code, 0, "{}", result.logs());
    let calls = fx.standin.calls();
    assert!(
        !calls.iter().any(|c| c.command() == "snapshot create"),
        "a snapshot was taken: {calls:#?}"
    );
    assert!(result.stdout.contains("preparing") || result.stderr.contains("preparing"));
    let line = result.result_line();
    assert_eq!(line["result"], "failure");
    assert!(
        line["message"]
            .as_str()
            .unwrap_or("")
            .contains("beforeSnapshot"),
        "{line}"
    );
}

#[test]
fn a_failing_after_snapshot_action_warns_but_the_run_succeeds() {
    requires!(Namespaces, Tool("python3"));
    let fx = Fixture::new("after-hook");
    let result = fx.pod("hooked-after").run();
    fx.standin.print_log("afterSnapshot exits 3");
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    expect_commands(
        &fx.standin.calls(),
        &[
            ("repository connect filesystem", 1),
            ("repository create filesystem", 0),
            ("policy import", 0),
            ("snapshot create", 0),
        ],
    );
    assert!(
        result.stderr.contains("afterSnapshot action failed"),
        "{}",
        result.logs()
    );
    assert_eq!(result.result_line()["result"], "success");
}

/// Starts a backup whose `snapshot create` pauses, sends SIGTERM to the
/// container's PID 1 (the script), and waits.
fn interrupted_backup(name: &str) -> (Fixture, PodResult) {
    let fx = Fixture::new(name);
    let mut running = fx
        .pod("web-data")
        .harness_env("KOPIA_STANDIN_PAUSE", "snapshot create")
        .harness_env("KOPIA_STANDIN_PAUSE_SECONDS", "30")
        .timeout(Duration::from_secs(45))
        .start();
    running.wait_for_file(&fx.standin.paused_marker(), Duration::from_secs(30));
    running.terminate();
    let result = running.wait();
    fx.standin
        .print_log(&format!("SIGTERM during snapshot create ({name})"));
    (fx, result)
}

#[test]
fn sigterm_to_the_container_reaches_kopia() {
    requires!(Namespaces, Tool("python3"));
    let (fx, result) = interrupted_backup("sigterm");
    let calls = fx.standin.calls();
    let create = the_call(&calls, "snapshot create");
    assert_eq!(
        create.signal.as_deref(),
        Some("SIGTERM"),
        "kopia never saw the SIGTERM: {calls:#?}\n{}",
        result.logs()
    );
    // The call was logged at all, so the script waited for Kopia to finish
    // (had PID 1 exited first, Kopia would have been killed, unlogged).
    // Kopia cancelled the upload and kept a partial snapshot.
    connect_host(&fx, &fx.repository);
    let listed: Value =
        serde_json::from_str(&host_kopia(&fx, &["snapshot", "list", "--json", "--all"]))
            .expect("JSON");
    assert_eq!(
        listed[0]["incomplete"],
        "canceled",
        "{listed:#}\n{}",
        result.logs()
    );
}

#[test]
fn an_interrupted_backup_is_not_reported_as_a_success() {
    requires!(Namespaces, Tool("python3"));
    let (_fx, result) = interrupted_backup("sigterm-result");
    assert_ne!(result.exit_code, 0, "{}", result.logs());
    assert_ne!(
        result.result_line()["result"],
        "success",
        "{}",
        result.logs()
    );
}

#[test]
fn a_fresh_filesystem_repository_in_a_sub_directory_is_created() {
    requires!(Namespaces, Tool("python3"));
    let plan = PLAN.replace(
        "filesystem: {claimName: backup-repo, path: /}",
        "filesystem: {claimName: backup-repo, path: /repository}",
    );
    let fx = Fixture {
        objects: support::compile_json("subdir", &plan),
        standin: Standin::new("subdir"),
        data: data_volume("subdir"),
        repository: writable_volume("repo-subdir"),
        cache: support::scratch("contract-cache-subdir"),
    };
    let result = fx.pod("web-data").run();
    fx.standin
        .print_log("filesystem repository at /repository on a fresh PVC");
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    assert!(
        fx.repository
            .join("repository/kopia.repository.f")
            .is_file()
    );
}

/// A fresh volume as a storage class provisions it: root's, mode 0755.
fn root_owned_volume(name: &str) -> PathBuf {
    let dir = support::scratch(&format!("contract-{name}"));
    support::pod::chmod_path(&dir, 0o755);
    dir
}

#[test]
fn a_repository_claim_owned_by_root_is_made_writable_for_the_non_root_mover() {
    requires!(Namespaces, Tool("python3"));
    let repository = root_owned_volume("root-repo");
    let fx = Fixture {
        objects: support::compile_json("root-repo", PLAN),
        standin: Standin::new("root-repo"),
        data: data_volume("root-repo"),
        repository: repository.clone(),
        cache: support::scratch("contract-cache-root-repo"),
    };
    let result = fx.pod("web-data").run();
    fx.standin
        .print_log("filesystem repository on a root-owned claim");
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    assert!(repository.join("kopia.repository.f").is_file());
}

#[test]
fn maintenance_can_write_a_repository_claim_it_did_not_create() {
    requires!(Namespaces, Tool("python3"));
    let repository = root_owned_volume("root-maintained");
    let fx = Fixture {
        objects: support::compile_json("root-maintained", PLAN),
        standin: Standin::new("root-maintained"),
        data: data_volume("root-maintained"),
        repository: repository.clone(),
        cache: support::scratch("contract-cache-root-maintained"),
    };
    // Created by root elsewhere (by hand, or by another tool): root's files.
    standin_kopia(
        &fx.standin,
        &[
            "repository",
            "create",
            "filesystem",
            &format!("--path={}", repository.display()),
            "--override-username=admin",
            "--override-hostname=elsewhere",
        ],
    );
    let result = fx.cron_job_pod("contract-local-maintenance-full").run();
    fx.standin
        .print_log("maintenance of a repository claim created by root");
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    assert_eq!(result.result_line()["result"], "success");
    assert!(
        standin_kopia(&fx.standin, &["maintenance", "info"])
            .contains("Owner: maintenance@kopiaplan")
    );
}

#[test]
fn the_pod_environment_is_built_like_the_kubelet_builds_it() {
    requires!(Namespaces, Tool("python3"));
    let fx = Fixture::new("environment");
    let result = fx.pod("cloud-data").run();
    // envFrom: every key of the Secret; env: the declared values win.
    assert_eq!(result.env_value("AWS_ACCESS_KEY_ID"), Some("AKIAEXAMPLE"));
    assert_eq!(
        result.env_value("KOPIA_REPOSITORY"),
        Some("s3://backups/team1")
    );
    // The image's ENV is there unless the pod overrides it.
    assert_eq!(
        result.env_value("KOPIA_CONFIG_PATH"),
        Some("/kopiaplan/config/repository.config")
    );
    assert_eq!(
        result.env_value("RCLONE_CONFIG"),
        Some("/app/rclone/rclone.conf")
    );
    assert_eq!(
        result.env_value("HOSTNAME"),
        Some("contract-cloud-data-backup-29412345-x7k2q")
    );
    assert_eq!(result.argv[0], "/bin/bash");
}

#[test]
fn kubernetes_variable_expansion_rules() {
    use support::pod::expand;
    let lookup = |name: &str| (name == "HOME").then(|| "/home/x".to_owned());
    assert_eq!(expand("$(HOME)/a", lookup), "/home/x/a");
    assert_eq!(expand("$$(HOME)", lookup), "$(HOME)");
    assert_eq!(expand("$$$$x", lookup), "$$x");
    assert_eq!(expand("$(UNDEFINED)", lookup), "$(UNDEFINED)");
    assert_eq!(expand("$(HOME", lookup), "$(HOME");
    assert_eq!(expand("a$b$", lookup), "a$b$");
    assert_eq!(expand("é$(HOME)é", lookup), "é/home/xé");
}

// ---------------------------------------------------------------------------
// Round trips: backups, then restores, restore drills and maintenance of the
// same repository, each pod compiled from one plan.

const ROUND_TRIP_PLAN: &str = r#"apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: rt
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
    - {name: web-data, pvc: web-data}
    - {name: db-data, pvc: db-data}
    - name: tuned
      pvc: web-data
      policyConfig:
        configMapName: kopia-policies
        repositoryConfig: '{"uploadSpeed": 1048576}'
    - name: quiet
      pvc: web-data
      actions: {beforeSnapshot: "exit 7", afterSnapshot: "exit 3"}
      policyConfig: {repositoryConfig: '{"enableActions": false}'}
  restores:
    - {name: tuned-restore, from: tuned, pvc: restored, trigger: {onDemand: true}, policyConfig: {configMapName: kopia-policies}}
    - {name: web-latest, from: web-data, pvc: restored, trigger: {onDemand: true}}
    - {name: web-previous, from: web-data, pvc: restored, previous: 1, trigger: {onDemand: true}}
    - {name: web-as-of, from: web-data, pvc: restored, restoreAsOf: "2026-11-26T08:30:00+05:00", trigger: {onDemand: true}}
    - {name: web-mirror, from: web-data, pvc: restored, enableFileDeletion: true, trigger: {onDemand: true}}
    - {name: web-too-early, from: web-data, pvc: restored, restoreAsOf: "2026-11-01T00:00:00Z", enableFileDeletion: true, trigger: {onDemand: true}}
    - {name: web-too-early-ok, from: web-data, pvc: restored, restoreAsOf: "2026-11-01T00:00:00Z", enableFileDeletion: true, onMissingSnapshot: Succeed, trigger: {onDemand: true}}
    - {name: db-latest, from: db-data, pvc: restored, trigger: {onDemand: true}}
  verify:
    - {from: web-data, filesPercent: 50}
"#;

/// When the restores, drills and maintenance run: after every backup.
const LATER: &str = "2026-11-26T12:00:00Z";

struct RoundTrip {
    objects: Value,
    standin: Standin,
    web: PathBuf,
    db: PathBuf,
    repository: PathBuf,
    name: String,
}

impl RoundTrip {
    fn new(name: &str) -> RoundTrip {
        let web = support::scratch(&format!("contract-rt-web-{name}"));
        write_web_v1(&web);
        let db = support::scratch(&format!("contract-rt-db-{name}"));
        std::fs::write(db.join("data.db"), "rows of the database\n").expect("write");
        RoundTrip {
            objects: support::compile_json(&format!("rt-{name}"), ROUND_TRIP_PLAN),
            standin: Standin::new(&format!("rt-{name}")),
            web,
            db,
            repository: writable_volume(&format!("rt-repo-{name}")),
            name: name.to_owned(),
        }
    }

    /// The pod of a compiled CronJob, at the stand-in time `now`, with
    /// `restored` as the restore destination.
    fn pod(&self, cron_job: &str, now: &str, restored: Option<&Path>) -> Pod {
        let mut pod = Pod::from_compiled(&self.objects, "CronJob", NAMESPACE, cron_job)
            .secret("kopia-local", &[("KOPIA_PASSWORD", PASSWORD)])
            .pvc("web-data", &self.web)
            .pvc("db-data", &self.db)
            .pvc("backup-repo", &self.repository)
            .standin(&self.standin)
            .harness_env("KOPIA_STANDIN_NOW", now);
        if let Some(dir) = restored {
            pod = pod.pvc("restored", dir);
        }
        pod
    }

    /// Backs `entry` up at `now`; returns the snapshot ID.
    fn backup(&self, entry: &str, now: &str) -> String {
        let result = self.pod(&format!("rt-{entry}-backup"), now, None).run();
        assert_eq!(result.exit_code, 0, "{}", result.logs());
        let line = result.result_line();
        assert_eq!(line["result"], "success", "{}", result.logs());
        line["snapshotId"].as_str().expect("snapshot id").to_owned()
    }

    /// Runs the restore `entry` into `into`, with a clean stand-in log.
    fn restore(&self, entry: &str, into: &Path) -> PodResult {
        self.standin.clear_log();
        let result = self
            .pod(&format!("rt-{entry}-restore"), LATER, Some(into))
            .run();
        self.standin.print_log(&format!("restore {entry}"));
        result
    }

    /// A fresh, empty destination volume.
    fn fresh_volume(&self, label: &str) -> PathBuf {
        support::scratch(&format!("contract-rt-{}-{label}", self.name))
    }
}

/// The first version of the web volume: files, a nested file, a symlink.
fn write_web_v1(dir: &Path) {
    std::fs::create_dir_all(dir.join("uploads")).expect("mkdir");
    std::fs::create_dir_all(dir.join("notes")).expect("mkdir");
    std::fs::write(dir.join("index.html"), "<h1>version 1</h1>\n").expect("write");
    std::fs::write(dir.join("uploads/photo.jpg"), vec![7u8; 4096]).expect("write");
    std::fs::write(dir.join("notes/old.txt"), "removed in version 2\n").expect("write");
    std::os::unix::fs::symlink("index.html", dir.join("home.html")).expect("symlink");
}

/// The second version: one file changed, one added, one directory removed.
fn change_web_to_v2(dir: &Path) {
    std::fs::write(dir.join("index.html"), "<h1>version 2, longer</h1>\n").expect("write");
    std::fs::write(dir.join("uploads/new.jpg"), vec![9u8; 100]).expect("write");
    std::fs::remove_dir_all(dir.join("notes")).expect("rm");
}

/// A directory tree as path → content: a file's bytes (lossy text), a
/// symlink's target after `-> `, a directory as `<dir>`.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, found: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let name = path
                .strip_prefix(root)
                .expect("below root")
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("readlink");
                found.insert(name, format!("-> {}", target.display()));
            } else if meta.is_dir() {
                found.insert(name, "<dir>".into());
                walk(root, &path, found);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                found.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(dir, dir, &mut found);
    found
}

/// The `kopia-policies` ConfigMap of `tuned`: a global policy and
/// repository settings (whose `uploadSpeed` the plan's inline one beats).
fn policy_files(keep_daily: u32) -> [(&'static str, String); 2] {
    [
        (
            "global-policy.json",
            format!("{{\n  \"retention\": {{\"keepDaily\": {keep_daily}}}\n}}\n"),
        ),
        (
            "repository.config",
            r#"{"enableActions": true, "uploadSpeed": 5, "downloadSpeed": 2097152}"#.to_owned(),
        ),
    ]
}

fn with_policy_files(pod: Pod, keep_daily: u32) -> Pod {
    let files = policy_files(keep_daily);
    let data: Vec<(&str, &str)> = files.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pod.config_map("kopia-policies", &data)
}

/// The repository's global policy, as Kopia shows it.
fn global_keep_daily(rt: &RoundTrip) -> Value {
    connect_host_to(&rt.standin, &rt.repository);
    let shown: Value = serde_json::from_str(&standin_kopia(
        &rt.standin,
        &["policy", "show", "--global", "--json"],
    ))
    .expect("JSON");
    shown["retention"]["keepDaily"].clone()
}

#[test]
fn policy_config_imports_the_global_policy_first_and_gives_kopia_the_repository_settings() {
    requires!(Namespaces, Tool("python3"));
    let rt = RoundTrip::new("policy-config");
    let result =
        with_policy_files(rt.pod("rt-tuned-backup", "2026-11-26T02:00:00Z", None), 33).run();
    rt.standin.print_log("backup with policyConfig");
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let calls = rt.standin.calls();
    expect_commands(
        &calls,
        &[
            ("repository connect filesystem", 1),
            ("repository create filesystem", 0),
            ("policy import", 0),
            ("policy import", 0),
            ("snapshot create", 0),
        ],
    );
    for command in [
        "repository connect filesystem",
        "repository create filesystem",
    ] {
        let call = the_call(&calls, command);
        assert_eq!(
            call.value("--max-upload-speed="),
            Some("1048576"),
            "{call:?}"
        );
        assert_eq!(
            call.value("--max-download-speed="),
            Some("2097152"),
            "{call:?}"
        );
        assert!(call.has("--enable-actions"), "{call:?}");
    }
    // The global policy first, then exactly the snapshotted source's.
    let imports: Vec<&Call> = calls
        .iter()
        .filter(|c| c.command() == "policy import")
        .collect();
    assert_eq!(
        imports[0].argv[1..],
        [
            "policy",
            "import",
            "--global",
            "--from-file=/kopiaplan/home/global-policy.json"
        ],
        "{:?}",
        imports[0]
    );
    assert_eq!(
        imports[1].argv.last().map(String::as_str),
        Some("tuned@apps:/data")
    );
    assert_eq!(global_keep_daily(&rt), 33);

    // A restore with the same policyConfig reads the repository settings
    // but never imports a global policy, even a different one.
    let into = rt.fresh_volume("policy-config");
    rt.standin.clear_log();
    let result =
        with_policy_files(rt.pod("rt-tuned-restore-restore", LATER, Some(&into)), 99).run();
    rt.standin.print_log("restore with policyConfig");
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let calls = rt.standin.calls();
    expect_commands(
        &calls,
        &[
            ("repository connect filesystem", 0),
            ("snapshot list", 0),
            ("restore", 0),
        ],
    );
    let connect = the_call(&calls, "repository connect filesystem");
    assert_eq!(
        connect.value("--max-download-speed="),
        Some("2097152"),
        "{connect:?}"
    );
    assert_eq!(
        connect.value("--max-upload-speed="),
        Some("5"),
        "{connect:?}"
    );
    assert_eq!(
        global_keep_daily(&rt),
        33,
        "the restore changed the global policy"
    );
}

#[test]
fn repository_settings_with_an_unknown_key_fail_the_run_before_anything_is_written() {
    requires!(Namespaces, Tool("python3"));
    // The ConfigMap was not part of the compiler's input, so the mover checks.
    let rt = RoundTrip::new("bad-settings");
    let result = rt
        .pod("rt-tuned-backup", "2026-11-26T02:00:00Z", None)
        .config_map(
            "kopia-policies",
            &[(
                "repository.config",
                r#"{"caching": {"cacheDirectory": "/x"}}"#,
            )],
        )
        .run();
    rt.standin
        .print_log("repository settings with an unknown key");
    assert_ne!(result.exit_code, 0, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["result"], "failure");
    assert!(
        line["message"]
            .as_str()
            .unwrap_or("")
            .contains("\"caching\""),
        "{line}"
    );
    assert_eq!(rt.standin.calls().len(), 0, "Kopia ran");
}

#[test]
fn enable_actions_false_in_the_repository_settings_skips_the_actions() {
    requires!(Namespaces, Tool("python3"));
    let rt = RoundTrip::new("actions-off");
    let result = rt
        .pod("rt-quiet-backup", "2026-11-26T02:00:00Z", None)
        .run();
    rt.standin.print_log("enableActions: false");
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    assert!(
        result
            .stderr
            .contains("the beforeSnapshot action is skipped")
            && result
                .stderr
                .contains("the afterSnapshot action is skipped"),
        "{}",
        result.logs()
    );
    assert!(!the_call(&rt.standin.calls(), "repository create filesystem").has("--enable-actions"));
    assert_eq!(result.result_line()["result"], "success");
}

#[test]
fn previous_one_restores_the_first_of_two_backups_and_previous_zero_the_second() {
    requires!(Namespaces, Tool("python3"));
    let rt = RoundTrip::new("previous");
    let first = rt.backup("web-data", "2026-11-26T02:00:00Z");
    let version1 = tree(&rt.web);
    change_web_to_v2(&rt.web);
    let second = rt.backup("web-data", "2026-11-26T04:00:00Z");
    let version2 = tree(&rt.web);
    assert_ne!(version1, version2);

    let into = rt.fresh_volume("previous-1");
    let result = rt.restore("web-previous", &into);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    assert_eq!(result.result_line()["snapshotId"], first.as_str());
    assert_eq!(tree(&into), version1, "previous: 1 is the first backup");
    let calls = rt.standin.calls();
    assert_eq!(
        the_call(&calls, "restore").argv[2],
        first,
        "restore the chosen snapshot by ID"
    );

    let into = rt.fresh_volume("previous-0");
    let result = rt.restore("web-latest", &into);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    assert_eq!(result.result_line()["snapshotId"], second.as_str());
    assert_eq!(tree(&into), version2, "previous: 0 is the newest backup");
}

#[test]
fn the_kopia_command_sequence_of_a_restore() {
    requires!(Namespaces, Tool("python3"));
    let rt = RoundTrip::new("sequence");
    let id = rt.backup("web-data", "2026-11-26T02:00:00Z");
    let into = rt.fresh_volume("sequence");
    let result = rt.restore("web-latest", &into);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let argv: Vec<Vec<String>> = rt.standin.calls().into_iter().map(|c| c.argv).collect();
    let expected: Vec<Vec<String>> = [
        vec![
            "--file-log-level=info",
            "repository",
            "connect",
            "filesystem",
            "--path=/kopiaplan/repository/",
            "--override-username=web-data",
            "--override-hostname=apps",
            "--content-cache-size-limit-mb=4915",
            "--metadata-cache-size-limit-mb=1638",
            "--no-check-for-updates",
        ],
        vec![
            "--file-log-level=info",
            "snapshot",
            "list",
            "web-data@apps:/data",
            "--json",
        ],
        vec![
            "--file-log-level=info",
            "restore",
            id.as_str(),
            "/kopiaplan/restore/data",
            "--write-files-atomically",
        ],
    ]
    .iter()
    .map(|call| call.iter().map(|a| (*a).to_owned()).collect())
    .collect();
    assert_eq!(argv, expected, "{}", result.logs());
    assert!(rt.standin.calls().iter().all(|c| c.exit == 0));
}

#[test]
fn restore_as_of_with_an_offset_compares_instants_not_strings() {
    requires!(Namespaces, Tool("python3"));
    let rt = RoundTrip::new("as-of");
    let first = rt.backup("web-data", "2026-11-26T02:00:00Z");
    let version1 = tree(&rt.web);
    change_web_to_v2(&rt.web);
    let second = rt.backup("web-data", "2026-11-26T04:00:00Z");

    // 08:30+05:00 is 03:30Z: between the two snapshots. Compared as
    // strings, the second snapshot's start time sorts before the bound,
    // so a string comparison would restore the wrong one.
    let bound = "2026-11-26T08:30:00+05:00";
    connect_host_to(&rt.standin, &rt.repository);
    let listed: Value = serde_json::from_str(&standin_kopia(
        &rt.standin,
        &["snapshot", "list", "--json", "--all"],
    ))
    .expect("JSON");
    let start_of = |id: &str| {
        listed
            .as_array()
            .expect("a list")
            .iter()
            .find(|s| s["id"] == id)
            .and_then(|s| s["startTime"].as_str())
            .expect("a start time")
            .to_owned()
    };
    assert!(
        start_of(&second).as_str() <= bound,
        "{} sorts after {bound}",
        start_of(&second)
    );

    let into = rt.fresh_volume("as-of");
    let result = rt.restore("web-as-of", &into);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    assert_eq!(
        result.result_line()["snapshotId"],
        first.as_str(),
        "{}",
        result.logs()
    );
    assert_eq!(tree(&into), version1);
}

#[test]
fn file_deletion_without_a_matching_snapshot_leaves_the_volume_untouched() {
    requires!(Namespaces, Tool("python3"));
    let rt = RoundTrip::new("no-match");
    rt.backup("web-data", "2026-11-26T02:00:00Z");
    rt.backup("db-data", "2026-11-26T02:30:00Z");
    let into = rt.fresh_volume("no-match");
    std::fs::write(into.join("keep.txt"), "the destination's own file\n").expect("write");
    std::fs::create_dir_all(into.join("sub")).expect("mkdir");
    std::fs::write(into.join("sub/other"), "x").expect("write");
    let before = tree(&into);
    let identities = serde_json::json!(["db-data@apps:/data", "web-data@apps:/data"]);

    // onMissingSnapshot: Fail (the default)
    let result = rt.restore("web-too-early", &into);
    assert_ne!(result.exit_code, 0, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["result"], "failure", "{line}");
    assert_eq!(line["availableIdentities"], identities, "{line}");
    assert!(
        line["message"]
            .as_str()
            .unwrap_or("")
            .contains("no snapshot of web-data@apps:/data matches"),
        "{line}"
    );
    expect_commands(
        &rt.standin.calls(),
        &[
            ("repository connect filesystem", 0),
            ("snapshot list", 0),
            ("snapshot list", 0),
        ],
    );
    assert_eq!(tree(&into), before, "the volume changed");

    // onMissingSnapshot: Succeed
    let result = rt.restore("web-too-early-ok", &into);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["result"], "no-snapshot", "{line}");
    assert_eq!(line["availableIdentities"], identities, "{line}");
    assert!(!rt.standin.calls().iter().any(|c| c.command() == "restore"));
    assert_eq!(tree(&into), before, "the volume changed");
}

#[test]
fn file_deletion_with_a_matching_snapshot_deletes_extra_files() {
    requires!(Namespaces, Tool("python3"));
    let rt = RoundTrip::new("delete-extra");
    rt.backup("web-data", "2026-11-26T02:00:00Z");
    let snapshot = tree(&rt.web);
    let prepare = |label: &str| {
        let dir = rt.fresh_volume(label);
        std::fs::write(dir.join("index.html"), "a local edit\n").expect("write");
        std::fs::write(dir.join("stale.txt"), "not in the snapshot\n").expect("write");
        std::fs::create_dir_all(dir.join("stale-dir/deep")).expect("mkdir");
        std::fs::write(dir.join("stale-dir/deep/x"), "x").expect("write");
        dir
    };

    // Without enableFileDeletion, extra files stay.
    let overlay = prepare("overlay");
    let result = rt.restore("web-latest", &overlay);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let restored = tree(&overlay);
    assert!(restored.contains_key("stale.txt") && restored.contains_key("stale-dir/deep/x"));
    assert_eq!(restored["index.html"], snapshot["index.html"]);

    // With it, the volume ends up exactly as the snapshot.
    let mirror = prepare("mirror");
    let result = rt.restore("web-mirror", &mirror);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    assert!(the_call(&rt.standin.calls(), "restore").has("--delete-extra"));
    assert_eq!(tree(&mirror), snapshot);
}

#[test]
fn two_backups_sharing_a_repository_each_restore_only_their_own_data() {
    requires!(Namespaces, Tool("python3"));
    let rt = RoundTrip::new("shared");
    let web_id = rt.backup("web-data", "2026-11-26T02:00:00Z");
    let db_id = rt.backup("db-data", "2026-11-26T02:10:00Z");
    assert_ne!(web_id, db_id);

    let web_into = rt.fresh_volume("shared-web");
    let result = rt.restore("web-latest", &web_into);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    assert_eq!(result.result_line()["snapshotId"], web_id.as_str());
    assert_eq!(tree(&web_into), tree(&rt.web));

    let db_into = rt.fresh_volume("shared-db");
    let result = rt.restore("db-latest", &db_into);
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    assert_eq!(result.result_line()["identity"], "db-data@apps:/data");
    assert_eq!(result.result_line()["snapshotId"], db_id.as_str());
    assert_eq!(tree(&db_into), tree(&rt.db));
    let calls = rt.standin.calls();
    assert_eq!(
        the_call(&calls, "snapshot list").argv[3],
        "db-data@apps:/data"
    );
}

#[test]
fn maintenance_claims_ownership_explicitly_and_runs_full_maintenance() {
    requires!(Namespaces, Tool("python3"));
    let rt = RoundTrip::new("maintenance");
    rt.backup("web-data", "2026-11-26T02:00:00Z");
    connect_host_to(&rt.standin, &rt.repository);
    // Kopia makes the creator of a repository its maintenance owner.
    assert!(standin_kopia(&rt.standin, &["maintenance", "info"]).contains("Owner: web-data@apps"));

    rt.standin.clear_log();
    let result = rt.pod("rt-local-maintenance-full", LATER, None).run();
    rt.standin.print_log("maintenance");
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let calls = rt.standin.calls();
    expect_commands(
        &calls,
        &[
            ("repository connect filesystem", 0),
            ("maintenance info", 0),
            ("maintenance set", 0),
            ("maintenance run", 0),
            ("blob stats", 0),
            ("blob stats", 0),
            ("blob stats", 0),
        ],
    );
    let connect = the_call(&calls, "repository connect filesystem");
    assert_eq!(connect.value("--override-username="), Some("maintenance"));
    assert_eq!(connect.value("--override-hostname="), Some("kopiaplan"));
    let set = the_call(&calls, "maintenance set");
    assert_eq!(
        set.argv[1..],
        ["maintenance", "set", "--owner=maintenance@kopiaplan"],
        "{set:?}"
    );
    let run = the_call(&calls, "maintenance run");
    assert_eq!(
        run.argv[1..],
        ["maintenance", "run", "--full", "--safety=full"],
        "{run:?}"
    );
    assert!(
        standin_kopia(&rt.standin, &["maintenance", "info"])
            .contains("Owner: maintenance@kopiaplan")
    );
    let line = result.result_line();
    assert_eq!(line["result"], "success", "{line}");
    assert_eq!(line["operation"], "maintenance");
    // The size as `kopia blob stats` gives it (the stand-in's default).
    assert_eq!(
        (&line["bytes"], &line["blobCount"], &line["indexBlobCount"]),
        (&json!(10240), &json!(10), &json!(2)),
        "{line}"
    );
    assert!(line["warning"].is_null(), "{line}");

    // More index blobs than the threshold: a warning in the result line
    // and the log; maintenance itself succeeded.
    let result = rt
        .pod("rt-local-maintenance-full", LATER, None)
        .harness_env("KOPIA_STANDIN_BLOBS", "5000:900000:1500")
        .run();
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["indexBlobCount"], 1500, "{line}");
    assert_eq!(
        line["warning"],
        "1500 index blobs: more than 1000",
        "{}",
        result.logs()
    );
    assert!(
        result
            .stderr
            .contains("warning: 1500 index blobs (more than 1000)")
    );

    // Statistics Kopia cannot give do not fail maintenance.
    let result = rt
        .pod("rt-local-maintenance-full", LATER, None)
        .harness_env("KOPIA_STANDIN_FAIL", "blob stats=storage unavailable")
        .run();
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["result"], "success", "{line}");
    assert!(line["bytes"].is_null(), "{line}");
    assert!(
        result
            .stderr
            .contains("could not read the repository's blob statistics")
    );
}

#[test]
fn verify_checks_the_newest_snapshot_of_its_source_with_the_files_percentage() {
    requires!(Namespaces, Tool("python3"));
    let rt = RoundTrip::new("verify");
    rt.backup("web-data", "2026-11-26T02:00:00Z");
    change_web_to_v2(&rt.web);
    let newest = rt.backup("web-data", "2026-11-26T04:00:00Z");
    // A newer snapshot of another source in the same repository.
    rt.backup("db-data", "2026-11-26T05:00:00Z");

    rt.standin.clear_log();
    let result = rt.pod("rt-web-data-verify", LATER, None).run();
    rt.standin.print_log("verify");
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let calls = rt.standin.calls();
    expect_commands(
        &calls,
        &[
            ("repository connect filesystem", 0),
            ("snapshot list", 0),
            ("snapshot verify", 0),
        ],
    );
    let verify = the_call(&calls, "snapshot verify");
    assert_eq!(
        verify.argv[1..],
        [
            "snapshot",
            "verify",
            "--verify-files-percent=50",
            newest.as_str()
        ],
        "{verify:?}"
    );
    let line = result.result_line();
    assert_eq!(line["result"], "success", "{line}");
    assert_eq!(line["snapshotId"], newest.as_str());
}

// ---------------------------------------------------------------------------
// The pod runner itself: a hand-written Job probes what the container sees.

const PROBE: &str = r#"
echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"
echo "pid=$BASHPID pwd=$PWD host=$(hostname)"
touch /rootfile 2>/dev/null && echo root=rw || echo root=ro
touch /data/x 2>/dev/null && echo data=rw || echo data=ro
echo "data-file=$(cat /data/file)"
touch /scratch/x && echo "scratch=rw mode=$(stat -c %a /scratch)"
echo "cfg-mode=$(stat -L -c %a /cfg/nested/b) cfg=$(cat /cfg/nested/b) cfg-link=$(readlink /cfg/nested)"
test -e /cfg/a.conf && echo cfg-a=present || echo cfg-a=absent
echo "subpath=$(cat /one.conf)"
echo "clone=$(cat /clone/file)"; echo new > /clone/new
test -d /deep && echo "deep=$(stat -c %a /deep)"
echo "composed=$COMPOSED"
echo "optional=${OPTIONAL_MISSING-unset}"
echo "prefixed=$CM_a_conf"
echo "caps=$(grep CapEff /proc/self/status | cut -f2)"
printf 'probe done' > /dev/termination-log
exit 42
"#;

fn probe_objects() -> Value {
    serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "t"},
         "data": {"a.conf": "alpha", "b.conf": "bravo", "a_conf": "underscore"}},
        {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "probe", "namespace": "t"},
         "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "securityContext": {"runAsUser": 1234, "runAsGroup": 2345, "fsGroup": 3456, "runAsNonRoot": true},
            "containers": [{
                "name": "probe", "image": "example",
                "command": ["/bin/bash", "-c"], "args": ["$(SCRIPT)"],
                "workingDir": "/work-here",
                "envFrom": [{"prefix": "CM_", "configMapRef": {"name": "settings"}}],
                "env": [
                    {"name": "GREETING", "value": "hello"},
                    {"name": "SCRIPT", "value": PROBE},
                    {"name": "COMPOSED", "value": "$(GREETING) $(LATER) $$(GREETING) $(CM_a_conf)"},
                    {"name": "LATER", "value": "too late"},
                    {"name": "OPTIONAL_MISSING", "valueFrom": {"secretKeyRef": {"name": "s", "key": "absent", "optional": true}}}
                ],
                "securityContext": {"readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                                    "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [
                    {"name": "data", "mountPath": "/data", "readOnly": true},
                    {"name": "scratch", "mountPath": "/scratch"},
                    {"name": "cfg", "mountPath": "/cfg"},
                    {"name": "whole", "mountPath": "/one.conf", "subPath": "a.conf"},
                    {"name": "clone", "mountPath": "/clone"},
                    {"name": "scratch", "mountPath": "/deep", "subPath": "made/by/kubelet"}
                ],
                "terminationMessagePath": "/dev/termination-log"
            }],
            "volumes": [
                {"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
                {"name": "scratch", "emptyDir": {}},
                {"name": "cfg", "configMap": {"name": "settings", "defaultMode": 292,
                    "items": [{"key": "b.conf", "path": "nested/b", "mode": 256}]}},
                {"name": "whole", "configMap": {"name": "settings"}},
                {"name": "clone", "ephemeral": {"volumeClaimTemplate": {"spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "dataSource": {"kind": "PersistentVolumeClaim", "name": "data"},
                    "resources": {"requests": {"storage": "1Gi"}}}}}}
            ]
         }}}}
    ]})
}

#[test]
fn the_pod_runner_gives_the_container_the_pods_identity_mounts_and_environment() {
    requires!(Namespaces);
    let data = support::scratch("probe-data");
    std::fs::write(data.join("file"), "original").unwrap();
    let result = Pod::from_compiled(&probe_objects(), "Job", "t", "probe")
        .pvc("data", &data)
        .run();
    let out = &result.stdout;
    let expect = |line: &str| {
        assert!(
            out.lines().any(|l| l == line),
            "no line {line:?} in:\n{}",
            result.logs()
        )
    };
    assert_eq!(result.exit_code, 42, "{}", result.logs());
    expect("uid=1234 gid=2345 groups=2345 3456");
    expect("pid=1 pwd=/work-here host=probe-x7k2q");
    expect("root=ro");
    expect("data=ro");
    expect("data-file=original");
    expect("scratch=rw mode=2777");
    // mode 0400 plus the group read bits fsGroup adds to ConfigMap files
    expect("cfg-mode=440 cfg=bravo cfg-link=..data/nested");
    expect("cfg-a=absent");
    expect("subpath=alpha");
    expect("clone=original");
    expect("deep=2777");
    expect("composed=hello $(LATER) $(GREETING) underscore");
    expect("optional=unset");
    expect("prefixed=underscore");
    expect("caps=0000000000000000");
    assert_eq!(result.termination_file, "probe done");
    // The clone is a copy: writing to it leaves the source alone.
    assert!(!data.join("new").exists());
    assert_eq!(result.argv[0], "/bin/bash");
    assert_eq!(
        result.argv[2], PROBE,
        "args are expanded from the environment"
    );
}

#[test]
fn the_pod_runner_refuses_what_the_kubelet_refuses() {
    let pod = || Pod::from_compiled(&probe_objects(), "Job", "t", "probe");
    let mut objects = probe_objects();
    objects["items"][1]["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "NEEDED", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}));
    let strict = Pod::from_compiled(&objects, "Job", "t", "probe");
    assert_eq!(strict.environment().unwrap_err(), r#"secret "s" not found"#);
    let strict = strict.secret("s", &[("other", "x")]);
    assert_eq!(
        strict.environment().unwrap_err(),
        "couldn't find key k in Secret t/s"
    );
    assert!(pod().secret("s", &[("k", "v")]).environment().is_ok());
}

#[test]
fn the_pod_runner_grants_exactly_the_capabilities_a_privileged_mover_asks_for() {
    requires!(Namespaces);
    let data = support::scratch("probe-root-data");
    std::fs::write(data.join("file"), "original").unwrap();
    let mut objects = probe_objects();
    let spec = &mut objects["items"][1]["spec"]["template"]["spec"];
    spec["securityContext"] =
        serde_json::json!({"runAsUser": 0, "runAsGroup": 0, "runAsNonRoot": false});
    spec["containers"][0]["securityContext"]["capabilities"] =
        serde_json::json!({"drop": ["ALL"], "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"]});
    let result = Pod::from_compiled(&objects, "Job", "t", "probe")
        .pvc("data", &data)
        .run();
    assert!(
        result.stdout.lines().any(|l| l == "uid=0 gid=0 groups=0"),
        "{}",
        result.logs()
    );
    // CAP_CHOWN (0), CAP_DAC_OVERRIDE (1), CAP_FOWNER (3)
    assert!(
        result.stdout.lines().any(|l| l == "caps=000000000000000b"),
        "{}",
        result.logs()
    );
    assert!(
        result.stdout.lines().any(|l| l == "root=ro"),
        "{}",
        result.logs()
    );
}

// ---------------------------------------------------------------------------
// The scripts' shared functions, run by bash directly (no pod, no Kopia):
// the result line, the storage flags and the JSON reader.

/// What a script run by [`bash_with_common`] left behind.
struct ShellRun {
    status: i32,
    stdout: String,
    stderr: String,
    termination_file: String,
}

impl ShellRun {
    /// The run's result lines on stdout.
    fn result_lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|line| line.starts_with("{\"result\""))
            .collect()
    }

    /// The one result line, checked to be the only one on stdout and the
    /// whole termination message.
    fn the_result(&self) -> Value {
        let lines = self.result_lines();
        assert_eq!(lines.len(), 1, "not one result line:\n{}", self.logs());
        assert_eq!(
            self.termination_file,
            format!("{}\n", lines[0]),
            "{}",
            self.logs()
        );
        serde_json::from_str(lines[0]).expect("JSON")
    }

    fn logs(&self) -> String {
        format!(
            "exit {}\n--- stdout ---\n{}--- stderr ---\n{}--- termination file ---\n{}",
            self.status, self.stdout, self.stderr, self.termination_file
        )
    }
}

/// Runs `body` in bash after the rendered common.sh, as an operation's
/// script does, with every setting the compiler sets (empty but for the
/// identity) and the termination message redirected into a scratch dir.
fn bash_with_common(name: &str, body: &str) -> ShellRun {
    use std::os::unix::process::ExitStatusExt;
    let dir = support::scratch(&format!("contract-shell-{name}"));
    let termination = dir.join("termination-log");
    let common = kopiaplan::scripts::render_all()
        .expect("render")
        .into_iter()
        .find(|s| s.name == "common.sh")
        .expect("common.sh")
        .text
        .replace("/dev/termination-log", &termination.display().to_string());
    std::fs::write(dir.join("common.sh"), common).expect("write common.sh");
    let mut command = std::process::Command::new("/bin/bash");
    command
        .arg("-c")
        .arg(format!("OPERATION=test\nsource ./common.sh\n{body}"))
        .current_dir(&dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &dir);
    for setting in kopiaplan::scripts::environment::SETTINGS {
        command.env(setting, "");
    }
    command
        .env("KOPIAPLAN_USERNAME", "web")
        .env("KOPIAPLAN_HOSTNAME", "apps")
        .env("KOPIAPLAN_SOURCE_PATH", "/data");
    let output = command.output().expect("run bash");
    ShellRun {
        status: output
            .status
            .code()
            .unwrap_or_else(|| 128 + output.status.signal().unwrap_or(0)),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        termination_file: std::fs::read_to_string(&termination).unwrap_or_default(),
    }
}

#[test]
fn a_script_reports_exactly_one_result_however_it_ends() {
    // (how the script ends, its exit status, the result, part of the message)
    let cases = [
        ("false", 1, "failure", "stopped at `false` (exit 1)"),
        (
            "no-such-program --flag",
            127,
            "failure",
            "`no-such-program --flag` (exit 127)",
        ),
        ("kill -HUP $$; sleep 5", 129, "failure", "stopped by SIGHUP"),
        (
            "kill -TERM $$; sleep 5",
            143,
            "failure",
            "stopped by SIGTERM",
        ),
        (
            "fail 'the bucket is gone' 3",
            3,
            "failure",
            "the bucket is gone",
        ),
        (
            "found=$(fail 'Kopia said nonsense'); echo \"$found\"",
            1,
            "failure",
            "Kopia said nonsense",
        ),
        ("true", 1, "failure", "stopped at `true` (exit 0)"),
        ("write_result success done", 0, "success", "done"),
        ("write_result success done; exit 0", 0, "success", "done"),
        // A run that reported its result keeps it, whatever comes after.
        ("write_result success done; false", 1, "success", "done"),
        (
            "write_result success done; kill -TERM $$; echo after",
            0,
            "success",
            "done",
        ),
        (
            "write_result failure nothing; exit 1",
            1,
            "failure",
            "nothing",
        ),
    ];
    for (index, (body, status, result, message)) in cases.into_iter().enumerate() {
        let run = bash_with_common(&format!("result-{index}"), body);
        let line = run.the_result();
        assert_eq!(run.status, status, "{body}:\n{}", run.logs());
        assert_eq!(line["result"], result, "{body}:\n{}", run.logs());
        assert_eq!(line["operation"], "test", "{body}");
        assert_eq!(line["identity"], "web@apps:/data", "{body}");
        let text = line["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{body}: {text}");
    }
}

#[test]
fn compile_time_and_run_time_storage_flags_agree() {
    let urls = [
        "s3://acme-backups/kopia",
        "s3://backups/shop/",
        "s3://backups//a///b//",
        "s3://bucket",
        "s3://",
        "s3:bucket/prefix",
        "gcs://acme-homes/kopia",
        "azure://container/some/prefix",
        "b2://acme-backups/postgres",
        "webdav://dav.example/remote.php/kopia",
        "webdav://",
        "sftp://backup@sftp.example:2222/srv/kopia",
        "sftp://sftp.example/srv",
        "sftp://user@host",
        "sftp://a@b@host:1:22/x/y",
        "rclone://remote:bucket/path",
        "gdrive://FOLDER123/ignored",
        "filesystem:///mnt/nas/kopia",
        "filesystem:///kopiaplan/repository/",
        "filesystem://relative path/with spaces",
        "ftp://not-a-backend/x",
    ];
    let mut body = String::new();
    for url in urls {
        body.push_str(&format!(
            "url={}; BACKEND=${{url%%:*}}; rest=${{url#*:}}; rest=${{rest#//}}\n\
             url_storage_flags \"$rest\"\n\
             printf '%s\\037' \"${{STORAGE_ARGS[@]}}\"; echo\n",
            support::pod::shell_words(&[url.to_owned()])
        ));
    }
    body.push_str("write_result success listed\n");
    let run = bash_with_common("storage-flags", &body);
    assert_eq!(run.status, 0, "{}", run.logs());
    let run_time: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .take(urls.len())
        .map(|line| line.split('\x1f').filter(|f| !f.is_empty()).collect())
        .collect();
    for (url, run_time) in urls.iter().zip(run_time) {
        let compile_time = kopiaplan::kopia::backend::storage_flags(url).unwrap_or_default();
        assert_eq!(compile_time, run_time, "{url}");
    }
}

/// Kopia's JSON is read by key wherever the key stands, and a string holding
/// quotes, commas or a key's name does not confuse the reader.
#[test]
fn kopia_json_is_read_by_key_in_any_order_with_escaped_quotes() {
    let listing = [
        // Kopia's order.
        r#"{"id":"k1","source":{"host":"apps","userName":"web","path":"/data"},"description":"","startTime":"2026-11-26T02:00:00.5Z","rootEntry":{"name":"data","summ":{"size":10}}}"#,
        // Reordered, with a description that quotes keys and values.
        r#"{"description":"a \"id\":\"forged\",\"startTime\":\"x\" b, {\"path\":\"/etc\"}","startTime":"2026-11-27T02:00:00Z","source":{"path":"/data","userName":"web","host":"apps"},"id":"k2"}"#,
        // An incomplete one is skipped.
        r#"{"incomplete":"canceled","id":"k3","startTime":"2026-11-28T02:00:00Z","source":{"host":"apps","userName":"web","path":"/data"}}"#,
        // A path with a quote and a backslash, and HTML-escaped characters.
        r#"{"id":"k4","startTime":"2026-11-29T02:00:00Z","source":{"userName":"web","host":"apps","path":"/d\"a\\t\u0026a"}}"#,
    ]
    .join("\n");
    let body = format!(
        "printf '%s\\n' {} >list.json\n\
         snapshot_records list.json\n\
         write_result success read\n",
        support::pod::shell_words(&[listing])
    );
    let run = bash_with_common("json", &body);
    assert_eq!(run.status, 0, "{}", run.logs());
    let records: Vec<&str> = run.stdout.lines().filter(|l| !l.starts_with('{')).collect();
    assert_eq!(
        records,
        [
            "k1\t2026-11-26T02:00:00.5Z\tweb@apps:/data",
            "k2\t2026-11-27T02:00:00Z\tweb@apps:/data",
            "k4\t2026-11-29T02:00:00Z\tweb@apps:/d\"a\\t&a",
        ],
        "{}",
        run.logs()
    );
}

/// The manifest `snapshot create --json` prints is read the same when a
/// plan's `--json-indent` spreads it over lines, as backup.sh joins them.
#[test]
fn an_indented_snapshot_manifest_is_read_too() {
    let manifest = r#"{
  "id": "abc123",
  "source": {
    "host": "apps",
    "userName": "web",
    "path": "/data"
  },
  "description": "say \"size\": 5, \"files\":9",
  "rootEntry": {
    "name": "data",
    "summ": {
      "size": 4096,
      "files": 3
    }
  }
}"#;
    let body = format!(
        "printf '%s\\n' {} | tr -d '\\n' | json_fields id size files incomplete | tr '\\037' '|'\n\
         write_result success read\n",
        support::pod::shell_words(&[manifest.to_owned()])
    );
    let run = bash_with_common("indented", &body);
    assert_eq!(run.status, 0, "{}", run.logs());
    assert_eq!(
        run.stdout.lines().next(),
        Some("abc123|4096|3|"),
        "{}",
        run.logs()
    );
}

/// A signal the script does not pass on to Kopia (the kubelet sends only
/// TERM and KILL, but a person may send another) ends the run with one
/// failure line, and Kopia is stopped too.
#[test]
fn a_mover_ended_by_a_signal_reports_one_failure() {
    let fx = Fixture::new("sighup");
    let mut running = fx
        .pod("web-data")
        .harness_env("KOPIA_STANDIN_PAUSE", "snapshot create")
        .harness_env("KOPIA_STANDIN_PAUSE_SECONDS", "30")
        .timeout(Duration::from_secs(45))
        .start();
    running.wait_for_file(&fx.standin.paused_marker(), Duration::from_secs(30));
    running.signal("HUP");
    let result = running.wait();
    assert_eq!(result.exit_code, 129, "{}", result.logs());
    let lines: Vec<&str> = result
        .stdout
        .lines()
        .filter(|l| l.starts_with("{\"result\""))
        .collect();
    assert_eq!(lines.len(), 1, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["result"], "failure", "{}", result.logs());
    assert_eq!(line["message"], "the mover was stopped by SIGHUP");
    let calls = fx.standin.calls();
    assert_eq!(
        the_call(&calls, "snapshot create").signal.as_deref(),
        Some("SIGTERM"),
        "Kopia was not stopped: {calls:#?}"
    );
}
