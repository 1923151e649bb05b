//! Contract tests: the compiled pods run, exactly as Kubernetes would run
//! them (tests/support/pod.rs), against the Kopia stand-in
//! (tests/standin/kopia), and the exact sequence of Kopia command lines is
//! checked. `cargo test --test contract -- --nocapture` prints each
//! scenario's `kopia` calls.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::pod::{Call, Pod, PodResult, Standin};

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

/// Compiles a plan with the real binary, as a user would.
fn compile(name: &str, plan: &str) -> Value {
    let dir = support::scratch(&format!("contract-plan-{name}"));
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
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        Fixture {
            objects: compile(name, PLAN),
            standin: Standin::new(name),
            data: data_volume(name),
            repository: writable_volume(&format!("repo-{name}")),
        }
    }

    /// The pod of `<entry>`'s backup CronJob, with this fixture's Secrets,
    /// volumes and stand-in.
    fn pod(&self, entry: &str) -> Pod {
        Pod::from_compiled(
            &self.objects,
            "CronJob",
            NAMESPACE,
            &format!("contract-{entry}-backup"),
        )
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
        .standin(&self.standin)
        .harness_env("KOPIA_STANDIN_NOW", "2026-11-26T02:00:00Z")
    }
}

/// The termination message must be exactly one JSON line.
fn result_line(result: &PodResult) -> Value {
    let text = result.termination_file.trim_end_matches('\n');
    assert!(
        !text.is_empty() && !text.contains('\n'),
        "the termination message is not one line:\n{}",
        result.logs()
    );
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", result.logs()))
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
    let config = fx.standin.dir.join("host-config/repository.config");
    let out = std::process::Command::new(support::root().join("tests/standin/kopia"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", fx.standin.dir.join("host-home"))
        .env("KOPIA_CONFIG_PATH", &config)
        .env("KOPIA_PASSWORD", PASSWORD)
        .env("KOPIA_STANDIN_STORAGE", fx.standin.storage())
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
    host_kopia(
        fx,
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

    let result = result_line(&first);
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
    assert_eq!(result_line(&second)["result"], "success");
    assert_ne!(result_line(&second)["snapshotId"], id.as_str());
}

#[test]
fn additional_arguments_reach_kopia_exactly_as_written_in_the_plan() {
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
    assert_eq!(result_line(&first)["result"], "success");
    assert!(
        bucket.join("team1/kopia.repository").is_file(),
        "the repository is under the prefix"
    );
    // The password is never on a command line, nor persisted on the cache
    // volume (KOPIA_PERSIST_CREDENTIALS_ON_CONNECT=false); Kopia's config is.
    assert!(
        !calls
            .iter()
            .any(|c| c.argv.iter().any(|a| a.contains(PASSWORD)))
    );
    let config = first.volume("cache").join("config/repository.config");
    assert!(config.is_file(), "Kopia's config is on the cache volume");
    assert!(
        !first
            .volume("cache")
            .join("config/repository.config.kopia-password")
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

#[test]
fn a_mistyped_prefix_with_create_never_fails_and_creates_nothing() {
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
    let line = result_line(&result);
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
    let line = result_line(&result);
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
    assert_eq!(result_line(&result)["result"], "success");
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
    let (_fx, result) = interrupted_backup("sigterm-result");
    assert_ne!(result.exit_code, 0, "{}", result.logs());
    assert_ne!(
        result_line(&result)["result"],
        "success",
        "{}",
        result.logs()
    );
}

#[test]
fn a_fresh_filesystem_repository_in_a_sub_directory_is_created() {
    let plan = PLAN.replace(
        "filesystem: {claimName: backup-repo, path: /}",
        "filesystem: {claimName: backup-repo, path: /repository}",
    );
    let fx = Fixture {
        objects: compile("subdir", &plan),
        standin: Standin::new("subdir"),
        data: data_volume("subdir"),
        repository: writable_volume("repo-subdir"),
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

#[test]
fn the_pod_environment_is_built_like_the_kubelet_builds_it() {
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
        Some("/kopiaplan/cache/config/repository.config")
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
