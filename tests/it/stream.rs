//! Stream sources, stream restores and restore checks (issue 19): the
//! plan's command runs in a second container of the mover pod, beside
//! Kopia's. The pods run with both containers at once
//! (`Pod::run_together`), the real Kopia 0.23.1 and a filesystem
//! repository on a claim; the host's `kopia` then looks at what they left.

use crate::support;
use crate::support::requires::requires;
use crate::test::{Plan, env};

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use support::kopia::HostKopia;
use support::pod::{Pod, PodResult, RunningTogether};

const NAMESPACE: &str = "apps";
const PASSWORD: &str = "correct horse battery staple";
/// The password of the database a stream restore loads into, from the
/// `load-credentials` Secret its `envFrom` names.
const LOAD_PASSWORD: &str = "database password";
/// Rows the test dump writes: a few megabytes, more than a pipe buffers.
const ROWS: usize = 200_000;
/// A label with characters a shell or Kubernetes would like to expand, as
/// the plan writes it in the dump container's `env`...
const LABEL: &str = "it's $(HOME) \"quoted\" $$";
/// ...and as the dump sees it: Kubernetes' rules for a container's `env`
/// (`$$` is `$`; `$(HOME)` names no earlier variable and stays).
const LABEL_SEEN: &str = "it's $(HOME) \"quoted\" $";

/// The dump: `ROWS` numbered lines carrying the label from the dump
/// container's environment, then `exit EXIT`.
fn dump_command(exit: u8) -> String {
    format!(
        r#"["sh", "-c", "awk 'BEGIN {{ for (i = 0; i < {ROWS}; i++) printf \"%d row %s\\n\", i, ENVIRON[\"DUMP_LABEL\"] }}'; exit {exit}"]"#
    )
}

/// What the dump writes.
fn dump_bytes() -> Vec<u8> {
    let mut bytes = Vec::new();
    for i in 0..ROWS {
        bytes.extend_from_slice(format!("{i} row {LABEL_SEEN}\n").as_bytes());
    }
    bytes
}

fn plan(entries: &str) -> String {
    format!(
        r#"apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: st
  namespace: apps
spec:
  repositories:
    - name: local
      secretName: kopia-local
      filesystem: {{claimName: backup-repo, path: /repository}}
  defaults:
    repository: local
    schedule: "0 2 * * *"
{entries}"#
    )
}

/// A stream backup `db` whose dump exits `exit`.
fn stream_backup(exit: u8) -> String {
    format!(
        r#"  backups:
    - name: db
      stream:
        image: registry.example/postgres:17
        command: {}
        env: [{{name: DUMP_LABEL, value: {}}}]
        fileName: dump.sql
"#,
        dump_command(exit),
        serde_json::to_string(LABEL).expect("JSON"),
    )
}

struct Cluster {
    name: String,
    objects: Value,
    repository_claim: PathBuf,
    /// Other claims the pods may mount: name and host directory.
    claims: Vec<(String, PathBuf)>,
}

impl Cluster {
    fn new(name: &str, entries: &str) -> Cluster {
        Cluster::with_plan(name, &plan(entries))
    }

    /// A cluster for a whole plan of `plan`'s shape.
    fn with_plan(name: &str, text: &str) -> Cluster {
        let repository_claim = support::scratch(&format!("stream-{name}-repo"));
        support::pod::chmod_path(&repository_claim, 0o777);
        Cluster {
            name: name.to_owned(),
            objects: support::compile_json(name, text),
            repository_claim,
            claims: Vec::new(),
        }
    }

    /// Adds a claim `name` backed by `dir`.
    fn claim(mut self, name: &str, dir: &std::path::Path) -> Cluster {
        self.claims.push((name.to_owned(), dir.to_owned()));
        self
    }

    /// Runs every container of a CronJob's pod together.
    fn run(&self, cron_job: &str) -> BTreeMap<String, PodResult> {
        self.start(cron_job).wait().into_iter().collect()
    }

    /// Runs every container of a Job's pod together.
    fn run_job(&self, job: &str) -> BTreeMap<String, PodResult> {
        self.start_workload("Job", job).wait().into_iter().collect()
    }

    /// Starts every container of a CronJob's pod together, and leaves them
    /// running.
    fn start(&self, cron_job: &str) -> RunningTogether {
        self.start_workload("CronJob", cron_job)
    }

    fn start_workload(&self, kind: &str, name: &str) -> RunningTogether {
        let mut pod = Pod::from_compiled(&self.objects, kind, NAMESPACE, name)
            .secret("kopia-local", &[("KOPIA_PASSWORD", PASSWORD)])
            .secret("load-credentials", &[("PGPASSWORD", LOAD_PASSWORD)])
            .pvc("backup-repo", &self.repository_claim);
        for (name, dir) in &self.claims {
            pod = pod.pvc(name, dir);
        }
        pod.real_kopia()
            .timeout(Duration::from_secs(120))
            .start_together()
    }

    fn host(&self) -> HostKopia {
        HostKopia::filesystem(
            &self.name,
            &self.repository_claim.join("repository"),
            PASSWORD,
        )
    }
}

fn logs(results: &BTreeMap<String, PodResult>) -> String {
    results
        .iter()
        .map(|(name, result)| format!("=== container {name} ===\n{}\n", result.logs()))
        .collect()
}

#[test]
fn a_stream_backup_round_trips_through_real_kopia_into_a_command() {
    requires!(Namespaces, Kopia);
    let cluster = Cluster::new(
        "round-trip",
        &format!(
            r#"{}  restores:
    - name: load
      from: db
      trigger: {{onDemand: true}}
      stream:
        image: registry.example/postgres:17
        command: ["sh", "-c", "cat > /tmp/restored"]
"#,
            stream_backup(0)
        ),
    );

    let backup = cluster.run("st-db-backup");
    assert_eq!(backup["kopia"].exit_code, 0, "{}", logs(&backup));
    assert_eq!(backup["dump"].exit_code, 0, "{}", logs(&backup));
    let line = backup["kopia"].result_line();
    assert_eq!(line["result"], "success", "{}", logs(&backup));

    // The repository holds one snapshot of the stream's own source, whose
    // one file is the dump, byte for byte.
    let host = cluster.host();
    let snapshots = host.snapshots("db@apps:/stream/dump.sql");
    assert_eq!(snapshots.len(), 1, "{snapshots:#?}");
    assert_eq!(line["snapshotId"], snapshots[0]["id"]);
    let root = snapshots[0]["rootEntry"]["obj"]
        .as_str()
        .expect("root object");
    let stored = host.run(&["show", &format!("{root}/dump.sql")]);
    assert!(stored.status.success(), "kopia show failed");
    assert!(
        stored.stdout == dump_bytes(),
        "the snapshot's file is not the dump ({} bytes, expected {})",
        stored.stdout.len(),
        dump_bytes().len()
    );

    // The restore feeds that file to the command, which keeps it.
    let restore = cluster.run("st-load-restore");
    assert_eq!(restore["kopia"].exit_code, 0, "{}", logs(&restore));
    assert_eq!(restore["load"].exit_code, 0, "{}", logs(&restore));
    let line = restore["kopia"].result_line();
    assert_eq!(line["result"], "success", "{}", logs(&restore));
    assert_eq!(line["commandExitCode"], 0);
    assert_eq!(line["snapshotId"], snapshots[0]["id"]);
    let restored = std::fs::read(restore["load"].volume("side-tmp").join("restored"))
        .expect("the command wrote /tmp/restored");
    assert!(
        restored == dump_bytes(),
        "the command read other bytes than the dump ({} bytes, expected {})",
        restored.len(),
        dump_bytes().len()
    );
}

#[test]
fn a_stream_restore_fails_when_its_command_or_kopia_fails_and_its_command_gets_its_environment() {
    requires!(Namespaces, Kopia);
    // `load` keeps what it reads and what its environment holds; `refuse`
    // reads it all and exits 4; `wrong-file` asks for a file the snapshot
    // does not hold.
    let restore = |name: &str, extra: &str, command: &str| {
        format!(
            r#"    - name: {name}
      from: db
      trigger: {{onDemand: true}}
      stream:
        image: registry.example/postgres:17
        command: ["sh", "-c", {command:?}]
{extra}"#
        )
    };
    let cluster = Cluster::new(
        "restore-failures",
        &format!(
            "{}  restores:\n{}{}{}{}",
            stream_backup(0),
            restore(
                "load",
                "        env: [{name: DB, value: orders}, {name: TARGET_LABEL, value: staging $(DB)}]\n        envFrom: [{secretRef: {name: load-credentials}}]\n",
                r#"printf '%s|%s' "$TARGET_LABEL" "$PGPASSWORD" > /tmp/env; cat > /tmp/restored"#,
            ),
            restore("refuse", "", "cat > /dev/null; exit 4"),
            restore("older", "      previous: 1\n", "cat > /tmp/restored"),
            restore(
                "wrong-file",
                "        fileName: other.sql\n",
                "cat > /tmp/restored"
            ),
        ),
    );

    let backup = cluster.run("st-db-backup");
    assert_eq!(backup["kopia"].exit_code, 0, "{}", logs(&backup));

    // There is no snapshot before the only one: Kopia's container fails
    // and lets the command's container go without running the command.
    let older = cluster.run("st-older-restore");
    assert_eq!(older["kopia"].exit_code, 1, "{}", logs(&older));
    let line = older["kopia"].result_line();
    assert_eq!(line["result"], "failure", "{}", logs(&older));
    assert!(
        line["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("no snapshot of db@apps:/stream/dump.sql matches"),
        "{line}"
    );
    assert_eq!(older["load"].exit_code, 1, "{}", logs(&older));
    assert!(
        !older["load"].volume("side-tmp").join("restored").exists(),
        "the command did not run"
    );

    // The command exits 4: the run fails and says so.
    let refused = cluster.run("st-refuse-restore");
    assert_eq!(refused["load"].exit_code, 4, "{}", logs(&refused));
    assert_eq!(refused["kopia"].exit_code, 1, "{}", logs(&refused));
    let line = refused["kopia"].result_line();
    assert_eq!(line["result"], "failure", "{}", logs(&refused));
    assert_eq!(line["commandExitCode"], 4, "{line}");
    assert_eq!(line["kopiaShowExitCode"], 0, "{line}");

    // `kopia show` finds no such file in the snapshot: the run fails, even
    // though the command, fed nothing, exits 0.
    let wrong = cluster.run("st-wrong-file-restore");
    assert_eq!(wrong["load"].exit_code, 0, "{}", logs(&wrong));
    assert_eq!(wrong["kopia"].exit_code, 1, "{}", logs(&wrong));
    let line = wrong["kopia"].result_line();
    assert_eq!(line["result"], "failure", "{}", logs(&wrong));
    assert_ne!(line["kopiaShowExitCode"], 0, "{line}");
    assert_eq!(line["commandExitCode"], 0, "{line}");
    assert!(
        line["message"]
            .as_str()
            .unwrap_or_default()
            .contains("other.sql"),
        "{line}"
    );

    // The restore's `env` (expanded as a container's) and `envFrom` reach
    // its command, and only its command: Kopia's container never sees the
    // database's password.
    let load = cluster.run("st-load-restore");
    assert_eq!(load["kopia"].exit_code, 0, "{}", logs(&load));
    assert_eq!(load["kopia"].result_line()["result"], "success");
    let seen = std::fs::read_to_string(load["load"].volume("side-tmp").join("env"))
        .expect("the command wrote /tmp/env");
    assert_eq!(seen, format!("staging orders|{LOAD_PASSWORD}"));
    assert_eq!(load["kopia"].env_value("PGPASSWORD"), None);
    assert_eq!(load["load"].env_value("KOPIA_PASSWORD"), None);
    let restored = std::fs::read(load["load"].volume("side-tmp").join("restored"))
        .expect("the command wrote /tmp/restored");
    assert!(
        restored == dump_bytes(),
        "the command read other bytes than the dump"
    );
}

#[test]
fn a_dump_that_fails_leaves_no_snapshot_and_the_result_says_so() {
    requires!(Namespaces, Kopia);
    let cluster = Cluster::new("failed-dump", &stream_backup(3));

    let backup = cluster.run("st-db-backup");
    assert_eq!(backup["dump"].exit_code, 3, "{}", logs(&backup));
    assert_eq!(backup["kopia"].exit_code, 1, "{}", logs(&backup));
    let line = backup["kopia"].result_line();
    assert_eq!(line["result"], "failure", "{}", logs(&backup));
    assert_eq!(line["dumpExitCode"], 3, "{line}");
    assert_eq!(line["snapshotDeleted"], true, "{line}");
    assert!(
        !line["snapshotId"].as_str().unwrap_or_default().is_empty(),
        "the deleted snapshot is named: {line}"
    );
    assert_eq!(
        cluster.host().snapshots("db@apps:/stream/dump.sql").len(),
        0,
        "the snapshot of the failed dump is gone"
    );
}

#[test]
fn a_dump_container_killed_outright_leaves_no_snapshot_and_the_result_says_so() {
    requires!(Namespaces, Kopia);
    // The dump writes its rows, says so in its /tmp, and would go on for
    // ten minutes: the container is killed first, as an OOM kill or a
    // container kill ends it, and side.sh never writes its exit status.
    // Kopia's end of the pipe sees the end of a dump that looks complete.
    let cluster = Cluster::new(
        "killed-dump",
        &stream_backup(0).replace("exit 0\"]", ": > /tmp/halfway; sleep 600\"]"),
    );
    let pod = cluster.start("st-db-backup");
    let halfway = pod.volume("side-tmp").join("halfway");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !halfway.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the dump did not get half way"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    pod.container("dump").signal("KILL");
    let backup: BTreeMap<String, PodResult> = pod.wait().into_iter().collect();

    assert_eq!(backup["dump"].exit_code, 128 + 9, "{}", logs(&backup));
    assert_eq!(backup["kopia"].exit_code, 1, "{}", logs(&backup));
    let line = backup["kopia"].result_line();
    assert_eq!(line["result"], "failure", "{}", logs(&backup));
    assert_eq!(line["dumpKilled"], true, "{line}");
    assert_eq!(line["dumpExitCode"], Value::Null, "{line}");
    assert_eq!(line["snapshotDeleted"], true, "{line}");
    assert!(
        !line["snapshotId"].as_str().unwrap_or_default().is_empty(),
        "Kopia saved the truncated dump, and the result names what was deleted: {line}"
    );
    assert!(
        line["message"]
            .as_str()
            .unwrap_or_default()
            .contains("was killed before its command exited"),
        "{line}"
    );
    assert_eq!(
        cluster.host().snapshots("db@apps:/stream/dump.sql").len(),
        0,
        "the snapshot of the killed dump is gone"
    );
}

#[test]
fn a_dump_container_killed_before_it_opens_the_pipe_does_not_leave_kopia_waiting() {
    requires!(Namespaces, Kopia);
    // The dump container is killed while it waits for Kopia's `ready`:
    // nothing will ever open the pipe's other end.
    let cluster = Cluster::new("killed-early", &stream_backup(0));
    let pod = cluster.start("st-db-backup");
    let stream = pod.volume("stream");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !stream.join("alive").exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the dump container did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !stream.join("ready").exists(),
        "Kopia's container was ready before the kill"
    );
    pod.container("dump").signal("KILL");
    let started = std::time::Instant::now();
    let backup: BTreeMap<String, PodResult> = pod.wait().into_iter().collect();

    assert_eq!(backup["dump"].exit_code, 128 + 9, "{}", logs(&backup));
    assert_eq!(backup["kopia"].exit_code, 1, "{}", logs(&backup));
    let line = backup["kopia"].result_line();
    assert_eq!(line["result"], "failure", "{}", logs(&backup));
    assert_eq!(line["dumpKilled"], true, "{line}");
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "Kopia's container noticed within seconds, not at the Job's deadline"
    );
    assert_eq!(
        cluster.host().snapshots("db@apps:/stream/dump.sql").len(),
        0,
        "no snapshot of the killed dump remains"
    );
}

#[test]
fn a_restore_check_reads_the_restored_snapshot_and_reports_its_verdict() {
    requires!(Namespaces, Kopia);
    // The check passes when the dump is complete and the volume it reads is
    // read-only; the second check looks for a row the dump never wrote.
    let cluster = Cluster::new(
        "restore-check",
        &format!(
            r#"{}  verify:
    - name: good
      from: db
      restoreCheck:
        image: registry.example/postgres:17
        command: ["sh", "-c", "test \"$(wc -l < dump.sql)\" -eq {ROWS} && ! touch probe 2>/dev/null"]
        capacity: 1Gi
    - name: bad
      from: db
      restoreCheck:
        image: registry.example/postgres:17
        command: ["sh", "-c", "grep -q '^{ROWS} row' dump.sql"]
        capacity: 1Gi
"#,
            stream_backup(0)
        ),
    );
    let backup = cluster.run("st-db-backup");
    assert_eq!(backup["kopia"].exit_code, 0, "{}", logs(&backup));

    let good = cluster.run("st-good-verify");
    assert_eq!(good["check"].exit_code, 0, "{}", logs(&good));
    assert_eq!(good["kopia"].exit_code, 0, "{}", logs(&good));
    let line = good["kopia"].result_line();
    assert_eq!(line["result"], "success", "{}", logs(&good));
    assert_eq!(line["checkPassed"], true, "{line}");

    let bad = cluster.run("st-bad-verify");
    assert_eq!(bad["check"].exit_code, 1, "{}", logs(&bad));
    assert_eq!(bad["kopia"].exit_code, 1, "{}", logs(&bad));
    let line = bad["kopia"].result_line();
    assert_eq!(line["result"], "failure", "{}", logs(&bad));
    assert_eq!(line["checkPassed"], false, "{line}");
    assert_eq!(line["checkExitCode"], 1, "{line}");
}

#[test]
fn a_restore_check_of_a_volume_backup_checks_the_newest_snapshot_read_only_and_reports_failures() {
    requires!(Namespaces, Kopia);
    let data = support::scratch("restore-check-volume-data");
    support::pod::chmod_path(&data, 0o755);
    let write = |name: &str, text: &str| {
        let path = data.join(name);
        std::fs::write(&path, text).expect("write data");
        support::pod::chmod_path(&path, 0o644);
    };
    // `good` passes on the second backup's files only, and only when it
    // cannot write where it reads; `bad` looks for a file no backup holds.
    let cluster = Cluster::new(
        "restore-check-volume",
        r#"  backups:
    - name: web
      pvc: web-data
      copyMethod: Direct
  verify:
    - name: good
      from: web
      restoreCheck:
        image: registry.example/checker:1
        command: ["sh", "-c", "test \"$(cat index.html)\" = second && test -f added.txt && ! touch probe 2>/dev/null && ! touch /data/probe 2>/dev/null"]
        capacity: 1Gi
    - name: bad
      from: web
      restoreCheck:
        image: registry.example/checker:1
        command: ["sh", "-c", "test -f missing.txt"]
        capacity: 1Gi
"#,
    )
    .claim("web-data", &data);

    write("index.html", "first");
    let first = cluster.run("st-web-backup");
    assert_eq!(first["kopia"].exit_code, 0, "{}", logs(&first));
    write("index.html", "second");
    write("added.txt", "new in the second backup");
    let second = cluster.run("st-web-backup");
    assert_eq!(second["kopia"].exit_code, 0, "{}", logs(&second));
    let identity = second["kopia"].result_line()["identity"]
        .as_str()
        .expect("identity")
        .to_owned();
    let newest = second["kopia"].result_line()["snapshotId"].clone();
    assert_eq!(cluster.host().snapshots(&identity).len(), 2);

    let good = cluster.run("st-good-verify");
    assert_eq!(good["check"].exit_code, 0, "{}", logs(&good));
    assert_eq!(good["kopia"].exit_code, 0, "{}", logs(&good));
    let line = good["kopia"].result_line();
    assert_eq!(line["result"], "success", "{}", logs(&good));
    assert_eq!(line["checkPassed"], true, "{line}");
    assert_eq!(
        line["snapshotId"], newest,
        "the drill restores the newest snapshot"
    );
    assert_eq!(
        std::fs::read_to_string(data.join("index.html")).expect("live data"),
        "second",
        "the live volume is untouched"
    );

    let bad = cluster.run("st-bad-verify");
    assert_eq!(bad["check"].exit_code, 1, "{}", logs(&bad));
    assert_eq!(bad["kopia"].exit_code, 1, "{}", logs(&bad));
    let line = bad["kopia"].result_line();
    assert_eq!(line["result"], "failure", "{}", logs(&bad));
    assert_eq!(line["checkPassed"], false, "{line}");
    assert_eq!(line["checkExitCode"], 1, "{line}");

    // Bit rot in the file contents' packs (`p` blobs): `kopia snapshot
    // verify` with no files downloaded still passes, `kopia restore` into
    // the scratch volume fails, and the check never runs.
    let mut corrupted = 0;
    let repository = cluster.repository_claim.join("repository");
    for entry in walk(&repository) {
        // Blobs are sharded: `p29/24f/eb58….f` is the pack `p2924feeb58…`.
        let relative = entry
            .strip_prefix(&repository)
            .expect("under the repository");
        if relative.to_string_lossy().starts_with('p') {
            let mut bytes = std::fs::read(&entry).expect("read pack");
            for byte in bytes.iter_mut().skip(64) {
                *byte ^= 0x5a;
            }
            std::fs::write(&entry, bytes).expect("write pack");
            corrupted += 1;
        }
    }
    assert!(corrupted > 0, "the repository holds no pack to corrupt");
    let broken = cluster.run("st-good-verify");
    assert_eq!(broken["kopia"].exit_code, 1, "{}", logs(&broken));
    let line = broken["kopia"].result_line();
    assert_eq!(line["result"], "failure", "{}", logs(&broken));
    let message = line["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("kopia restore of snapshot") && message.contains("the check did not run"),
        "{line}"
    );
    assert_eq!(broken["check"].exit_code, 1, "{}", logs(&broken));
    assert!(
        broken["check"]
            .stderr
            .contains("Kopia's container ended before it was ready; the command did not run"),
        "{}",
        logs(&broken)
    );
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

// What the compiler makes of a stream entry, and what it refuses.

/// `nightly` with a stream backup `db` (line 13) and what `extra` adds
/// to the backup (`      key: value` lines).
fn nightly_stream(extra: &str) -> Plan {
    Plan::nightly_with_backups(&format!(
        "    - name: db
      stream:
        image: registry.example/postgres:17
        command: [pg_dumpall, -h, orders-db]
        envFrom: [{{secretRef: {{name: db-credentials}}}}]
        fileName: dump.sql
{extra}"
    ))
}

fn containers(workload: &Value) -> &Vec<Value> {
    support::pod_spec(workload)["containers"]
        .as_array()
        .expect("containers")
}

#[test]
fn a_stream_backup_is_a_dump_container_beside_kopia_without_the_repository_secret() {
    let objects = nightly_stream("").objects();
    let cron_job = objects.named("CronJob", "nightly-db-backup");
    let containers = containers(cron_job);
    let names: Vec<&str> = containers
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["kopia", "dump"]);
    assert_eq!(env(cron_job, "KOPIAPLAN_STREAM_FILE"), "dump.sql");
    assert_eq!(env(cron_job, "KOPIAPLAN_SOURCE_PATH"), "/stream/dump.sql");

    let dump = &containers[1];
    assert_eq!(dump["image"], "registry.example/postgres:17");
    assert_eq!(
        dump["command"],
        serde_json::json!(["/bin/sh", "/kopiaplan/scripts/side.sh", "dump"])
    );
    assert_eq!(
        dump["args"],
        serde_json::json!(["pg_dumpall", "-h", "orders-db"])
    );
    // The plan's credentials only: never the repository's Secret.
    assert_eq!(
        dump["envFrom"],
        serde_json::json!([{"secretRef": {"name": "db-credentials"}}])
    );
    assert!(dump.get("env").is_none(), "{dump:#}");
    assert_eq!(dump["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(dump["securityContext"]["allowPrivilegeEscalation"], false);
    let mounts: Vec<&str> = dump["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .map(|m| m["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(mounts, ["stream", "scripts", "side-tmp"]);

    // No volume is read: there is no data volume at all.
    let volumes = support::pod_spec(cron_job)["volumes"]
        .as_array()
        .expect("volumes");
    assert!(volumes.iter().all(|v| v["name"] != "data"), "{volumes:#?}");
    assert!(
        containers[0]["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .any(|m| m["name"] == "stream" && m["mountPath"] == "/kopiaplan/stream"),
        "Kopia's container shares the stream emptyDir"
    );
}

#[test]
fn a_restore_check_reads_a_scratch_volume_and_never_mounts_the_live_claim() {
    let objects = Plan::nightly()
        .then(
            "  verify:
    - from: web-data
      restoreCheck:
        image: registry.example/checker:1
        command: [sh, -c, 'test -f index.html']
        capacity: 3Gi
",
        )
        .objects();
    let cron_job = objects.named("CronJob", "nightly-web-data-verify");
    assert_eq!(env(cron_job, "KOPIAPLAN_RESTORE_CHECK"), "true");
    let spec = support::pod_spec(cron_job);
    let volumes = spec["volumes"].as_array().expect("volumes");
    assert!(
        volumes
            .iter()
            .all(|v| v.get("persistentVolumeClaim").is_none() && v.get("ephemeral").is_none()),
        "a drill mounts no claim: {volumes:#?}"
    );
    let scratch = volumes
        .iter()
        .find(|v| v["name"] == "scratch")
        .expect("the scratch volume");
    assert_eq!(scratch["emptyDir"]["sizeLimit"], "3Gi");
    let check = &containers(cron_job)[1];
    assert_eq!(check["name"], "check");
    let data = check["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["mountPath"] == "/data")
        .expect("the check's /data");
    assert_eq!(data["name"], "scratch");
    assert_eq!(data["readOnly"], true);
    assert_eq!(data["subPath"], "data");
}

#[test]
fn a_stream_restore_feeds_a_command_and_creates_no_claim() {
    let objects = nightly_stream("")
        .then(
            "  restores:
    - name: load
      from: db
      trigger: {manual: one}
      stream:
        image: registry.example/postgres:17
        command: [psql, -h, staging]
",
        )
        .objects();
    assert!(objects.of_kind("PersistentVolumeClaim").is_empty());
    let job = objects.of_kind("Job")[0];
    assert_eq!(env(job, "KOPIAPLAN_STREAM_FILE"), "dump.sql");
    assert_eq!(env(job, "KOPIAPLAN_SOURCE_PATH"), "/stream/dump.sql");
    let load = &containers(job)[1];
    assert_eq!(load["name"], "load");
    assert_eq!(load["args"], serde_json::json!(["psql", "-h", "staging"]));
}

#[test]
fn stream_entries_refuse_what_does_not_apply_to_them() {
    Plan::nightly_with_backups(
        "    - name: db
      pvc: db-data
      stream: {image: pg, command: [pg_dumpall], fileName: dump.sql}
",
    )
    .errors()
    .has("error[conflicting-fields]: the backup `db` names both `pvc` and `stream`")
    .has("field: spec.backups[0].stream");
    Plan::nightly_with_backups("    - name: db\n      schedule: \"@daily\"\n")
        .errors()
        .has("error[missing-setting]: the backup `db` names nothing to back up")
        .has("plan.yaml:13");
    nightly_stream("      copyMethod: Snapshot\n      sourcePath: sub\n")
        .errors()
        .has("error[field-not-applicable]: `copyMethod` is about a volume")
        .has("field: spec.backups[0].copyMethod")
        .has("field: spec.backups[0].sourcePath");
    nightly_stream("")
        .replace("fileName: dump.sql", "fileName: ../dump.sql")
        .errors()
        .has("error[invalid-path]")
        .has("field: spec.backups[0].stream.fileName");
    nightly_stream("")
        .replace("command: [pg_dumpall, -h, orders-db]", "command: []")
        .errors()
        .has("error[missing-setting]: `command` is empty")
        .has("field: spec.backups[0].stream.command");
    Plan::nightly()
        .then(
            "  restores:
    - name: load
      from: web-data
      pvc: web-data
      trigger: {manual: one}
      stream: {image: pg, command: [psql]}
",
        )
        .errors()
        .has("error[field-not-applicable]: the backup `web-data` backs up a volume")
        .has("error[field-not-applicable]: `pvc` is about a volume");
    Plan::nightly()
        .then(
            "  restores:
    - name: load
      sourceIdentity: {sourceName: db}
      trigger: {manual: one}
      stream: {image: pg, command: [psql]}
",
        )
        .errors()
        .has("error[missing-setting]: the stream restore `load` does not say which file");
    Plan::nightly()
        .then(
            "  verify:
    - from: web-data
      restoreCheck: {image: checker, command: ['true'], capacity: lots}
",
        )
        .errors()
        .has("error[invalid-quantity]")
        .has("field: spec.verify[0].restoreCheck.capacity");
}

#[test]
fn hooks_on_a_stream_backup_are_refused_with_where_to_put_the_step_instead() {
    // Workload hooks wait for a volume's copy to be cut; a stream's dump is
    // its own consistent copy, so they are refused, not ignored.
    nightly_stream(
        "      hooks:
        workload: {selector: {app: orders-db}}
        before: {command: [sh, -c, 'psql -c CHECKPOINT']}
",
    )
    .errors()
    .has("error[field-not-applicable]: `hooks` is about a volume, and this entry streams through a command")
    .has("plan.yaml:19")
    .has("field: spec.backups[0].hooks")
    .has("the dump is the copy")
    .has("run what must come first in the dump's own command");
}

#[test]
fn explain_shows_a_stream_backups_stable_identity() {
    let dir = support::scratch("stream-explain");
    let plan = dir.join("plan.yaml");
    std::fs::write(&plan, nightly_stream("").to_string()).expect("write plan");
    let output = support::kopiaplan(&["explain", plan.to_str().expect("path")]);
    let text = support::stdout(&output);
    assert!(output.status.success(), "{}", support::stderr(&output));
    assert!(
        text.contains("identity     db@apps:/stream/dump.sql"),
        "{text}"
    );
    assert!(text.contains("copy method  Stream"), "{text}");
}

#[test]
fn a_stream_backup_gets_the_schedule_retention_and_alerts_a_volume_backup_gets() {
    let objects = nightly_stream("      schedule: \"H 2 * * *\"\n      retain: {daily: 7}\n")
        .replace(
            "spec:\n",
            "spec:\n  monitoring:\n    prometheusRule: {labels: {release: prom}}\n",
        )
        .objects();
    let cron_job = objects.named("CronJob", "nightly-db-backup");
    let schedule = cron_job["spec"]["schedule"].as_str().expect("schedule");
    let minute: u32 = schedule
        .split(' ')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("`H` is replaced by a minute: {schedule}"));
    assert!(minute < 60 && schedule.ends_with(" 2 * * *"), "{schedule}");
    // Kopia's policy for exactly the stream's source.
    let policy = objects.named("ConfigMap", "nightly-db-backup-policy");
    let document: Value =
        serde_json::from_str(policy["data"]["policy.json"].as_str().expect("policy.json"))
            .expect("JSON");
    assert_eq!(
        document["db@apps:/stream/dump.sql"]["retention"]["keepDaily"],
        7
    );
    let rules = objects.of_kind("PrometheusRule");
    let alerts: Vec<&Value> = rules
        .iter()
        .flat_map(|r| r["spec"]["groups"][0]["rules"].as_array().expect("rules"))
        .filter(|r| r["alert"].is_string())
        .collect();
    assert!(
        alerts.iter().any(|a| a["labels"]["kopiaplan_entry"] == "db"
            && a["labels"]["kopiaplan_component"] == "backup"),
        "{alerts:#?}"
    );
}

#[test]
fn the_dump_container_is_let_go_when_kopias_container_fails_first() {
    requires!(Namespaces, Kopia);
    // No repository, and this plan may not create one: Kopia's container
    // fails before the pipe exists, and the dump never runs.
    let cluster = Cluster::new("kopia-first", &stream_backup(0));
    let cluster = Cluster {
        objects: support::compile_json(
            "kopia-first-never",
            &plan(&stream_backup(0)).replace(
                "      filesystem: {claimName: backup-repo, path: /repository}\n",
                "      filesystem: {claimName: backup-repo, path: /repository}\n      create: Never\n",
            ),
        ),
        ..cluster
    };
    let backup = cluster.run("st-db-backup");
    assert_eq!(backup["kopia"].exit_code, 1, "{}", logs(&backup));
    assert_eq!(backup["kopia"].result_line()["result"], "failure");
    assert_eq!(backup["dump"].exit_code, 1, "{}", logs(&backup));
    assert!(
        backup["dump"]
            .stderr
            .contains("Kopia's container ended before it was ready; the command did not run"),
        "{}",
        logs(&backup)
    );
}

// Everything else works as for volume backups: metrics, status, manual
// runs, the guard.

#[test]
fn a_stream_backup_pushes_its_metrics_to_a_real_pushgateway() {
    requires!(Namespaces, Kopia, Tool("pushgateway"), Tool("curl"));
    let dir = support::scratch("stream-pushgateway");
    let server = support::servers::pushgateway(&dir);
    let pushing = |entries: &str| {
        plan(entries).replace(
            "spec:\n",
            &format!(
                "spec:\n  monitoring:\n    pushgateway: {{url: \"http://{}\"}}\n",
                server.address()
            ),
        )
    };
    let metrics = || {
        let output = support::run(
            std::process::Command::new("curl")
                .arg("-sSf")
                .arg(format!("http://{}/metrics", server.address())),
            None,
        );
        support::stdout(&output)
    };
    let gauge = |metrics: &str, name: &str| -> Option<f64> {
        metrics
            .lines()
            .find(|line| {
                line.starts_with(&format!("{name}{{"))
                    && line.contains("kopiaplan_entry=\"db\"")
                    && line.contains("kopiaplan_component=\"backup\"")
            })
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|value| value.parse().ok())
    };

    let good = Cluster::with_plan("pushed", &pushing(&stream_backup(0)));
    let backup = good.run("st-db-backup");
    assert_eq!(backup["kopia"].exit_code, 0, "{}", logs(&backup));
    let line = backup["kopia"].result_line();
    let pushed = metrics();
    assert_eq!(
        gauge(&pushed, "kopiaplan_last_run_success"),
        Some(1.0),
        "{pushed}"
    );
    assert_eq!(
        gauge(&pushed, "kopiaplan_last_snapshot_bytes"),
        Some(dump_bytes().len() as f64),
        "{pushed}"
    );
    assert_eq!(
        gauge(&pushed, "kopiaplan_last_snapshot_files"),
        line["files"].as_f64()
    );

    // A failed dump is a failed run: the success gauge drops, the last
    // snapshot's stay.
    let failed = Cluster {
        repository_claim: good.repository_claim.clone(),
        ..Cluster::with_plan("pushed-failed", &pushing(&stream_backup(3)))
    };
    let backup = failed.run("st-db-backup");
    assert_eq!(backup["kopia"].exit_code, 1, "{}", logs(&backup));
    let pushed = metrics();
    assert_eq!(
        gauge(&pushed, "kopiaplan_last_run_success"),
        Some(0.0),
        "{pushed}"
    );
    assert_eq!(
        gauge(&pushed, "kopiaplan_last_snapshot_bytes"),
        Some(dump_bytes().len() as f64),
        "{pushed}"
    );
}

#[test]
fn a_stream_backup_can_be_run_by_hand_like_any_backup() {
    requires!(Namespaces, Kopia);
    let cluster = Cluster::new(
        "manual",
        &stream_backup(0).replace(
            "    - name: db\n",
            "    - name: db\n      trigger: {manual: one}\n",
        ),
    );
    let jobs = support::pod::items(&cluster.objects)
        .iter()
        .filter(|o| o["kind"] == "Job")
        .collect::<Vec<_>>();
    assert_eq!(jobs.len(), 1, "one manual Job");
    let job = jobs[0]["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_owned();
    assert!(job.starts_with("st-db-backup-"), "{job}");
    let names: Vec<&str> = containers(jobs[0])
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["kopia", "dump"]);

    let run = cluster.run_job(&job);
    assert_eq!(run["kopia"].exit_code, 0, "{}", logs(&run));
    assert_eq!(run["kopia"].result_line()["result"], "success");
    assert_eq!(
        cluster.host().snapshots("db@apps:/stream/dump.sql").len(),
        1
    );
}

#[test]
fn kopiaplan_status_shows_a_stream_backup_with_kopias_result_not_the_dumps_log() {
    let objects = nightly_stream("").objects();
    let cron_job = objects.named("CronJob", "nightly-db-backup").clone();
    let labels = cron_job["metadata"]["labels"].clone();
    let job_name = "nightly-db-backup-29417880";
    let job = serde_json::json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name,
            "namespace": "apps",
            "labels": labels,
            "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                "name": "nightly-db-backup", "uid": "00000000-0000-4000-8000-000000000001",
                "controller": true}],
            "creationTimestamp": "2026-12-10T02:00:00Z"
        },
        "status": {
            "startTime": "2026-12-10T02:00:00Z",
            "failed": 1,
            "conditions": [{"type": "Failed", "status": "True"}]
        }
    });
    let kopia_line = r#"{"result":"failure","operation":"backup","identity":"db@apps:/stream/dump.sql","durationSeconds":12,"dumpExitCode":3,"dumpKilled":false,"snapshotId":"k1","snapshotDeleted":true,"message":"the dump container exited 3; its snapshot k1 was deleted: true"}"#;
    // The kubelet lists container statuses by name: `dump` first. A failed
    // dump's message is its log's tail (FallbackToLogsOnError), here a
    // tool's JSON log line that happens to have a `result`.
    let terminated = |name: &str, code: i32, message: &str| {
        serde_json::json!({
            "name": name, "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": code, "message": message,
                "startedAt": "2026-12-10T02:00:01Z", "finishedAt": "2026-12-10T02:00:13Z"}}
        })
    };
    let pod = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("{job_name}-7xq2m"),
            "namespace": "apps",
            "labels": labels,
            "creationTimestamp": "2026-12-10T02:00:01Z"
        },
        "spec": support::pod_spec(&cron_job),
        "status": {"phase": "Failed", "containerStatuses": [
            terminated("dump", 3, "{\"level\":\"error\",\"result\":\"aborted\"}"),
            terminated("kopia", 1, kopia_line),
        ]}
    });
    let mut listed = cron_job.clone();
    listed["status"] = serde_json::json!({"lastScheduleTime": "2026-12-10T02:00:00Z"});
    let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [listed, job, pod]});
    let dir = support::scratch("stream-status");
    let file = dir.join("cluster.json");
    std::fs::write(&file, list.to_string()).expect("write");
    let output = support::kopiaplan(&[
        "status",
        "--from",
        file.to_str().expect("path"),
        "--now",
        "2026-12-10T12:00:00Z",
        "--format",
        "json",
    ]);
    let text = support::stdout(&output);
    let entries: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}{}", support::stderr(&output)));
    let db = entries
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["entry"] == "db" && e["component"] == "backup")
        .unwrap_or_else(|| panic!("no line for the stream backup: {text}"));
    assert_eq!(db["state"], "FAILED", "{db:#}");
    assert_eq!(db["lastResult"], "failure", "{db:#}");
    assert!(
        db["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with("the dump container exited 3"),
        "{db:#}"
    );
}

#[test]
fn the_guard_stops_a_stream_backup_whose_identity_changes() {
    let dir = support::scratch("stream-guard");
    let before = dir.join("before.yaml");
    let previous = dir.join("previous.yaml");
    let after = dir.join("after.yaml");
    std::fs::write(&before, nightly_stream("").to_string()).expect("write");
    let output = support::kopiaplan(&[
        "compile",
        before.to_str().expect("path"),
        "-o",
        previous.to_str().expect("path"),
    ]);
    assert!(output.status.success(), "{}", support::stderr(&output));
    let guard = |plan: Plan| {
        std::fs::write(&after, plan.to_string()).expect("write");
        support::kopiaplan(&[
            "diff",
            after.to_str().expect("path"),
            "--against",
            previous.to_str().expect("path"),
            "--guard",
        ])
    };

    // A new file name is a new Kopia source: its history starts over.
    let renamed = guard(nightly_stream("").replace("fileName: dump.sql", "fileName: orders.sql"));
    assert_eq!(
        renamed.status.code(),
        Some(4),
        "{}",
        support::stderr(&renamed)
    );
    assert!(
        support::stderr(&renamed).contains(
            "error[identity-changes]: `backup/db` of plan `nightly` changes its Kopia source from db@apps:/stream/dump.sql to db@apps:/stream/orders.sql"
        ),
        "{}",
        support::stderr(&renamed)
    );
    // A new dump command keeps the source.
    let same = guard(nightly_stream("").replace(
        "command: [pg_dumpall, -h, orders-db]",
        "command: [pg_dumpall, -h, orders-db-2]",
    ));
    assert!(
        !support::stderr(&same).contains("identity-changes"),
        "{}",
        support::stderr(&same)
    );
}

/// The stock PostgreSQL image's `PGDATA`, where its docs mount the volume.
const STOCK_PGDATA: &str = "/var/lib/postgresql/data";

/// `path` with `$PGDATA` as the stock image sets it and `..` resolved.
fn stock_path(path: &str) -> String {
    let expanded = path.trim_matches('"').replace("$PGDATA", STOCK_PGDATA);
    let mut parts: Vec<&str> = Vec::new();
    for part in expanded.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            parts.pop();
        } else {
            parts.push(part);
        }
    }
    format!("/{}", parts.join("/"))
}

#[test]
fn the_direct_postgres_dump_example_writes_into_the_volume_the_stock_image_mounts() {
    let text = std::fs::read_to_string(support::root().join("examples/workload-hooks.yaml"))
        .expect("read the example");
    let plan: Value = serde_saphyr::from_str(&text).expect("the example is YAML");
    let entry = plan["spec"]["backups"]
        .as_array()
        .expect("backups")
        .iter()
        .find(|b| b["name"] == "orders-dump")
        .expect("the orders-dump entry");
    let source_path = entry["sourcePath"].as_str().expect("sourcePath");
    let script = |hook: &str| {
        entry["hooks"][hook]["command"][2]
            .as_str()
            .unwrap_or_else(|| panic!("{hook} is sh -c SCRIPT"))
            .to_owned()
    };
    // The file the dump is redirected into, and the one `after` removes.
    let before = script("before");
    let written = stock_path(
        before
            .rsplit_once('>')
            .map(|(_, target)| target.trim())
            .expect("the dump is redirected into a file"),
    );
    let volume_part = format!("{STOCK_PGDATA}/{source_path}/");
    assert!(
        written.starts_with(&volume_part),
        "with the stock image the dump lands at {written}, outside {volume_part} (the volume's `sourcePath` the mover backs up)"
    );
    let after = script("after");
    let removed = stock_path(after.rsplit(' ').next().expect("rm's operand"));
    assert_eq!(removed, written, "`after` removes the dump `before` wrote");
}
