//! Round trips with the real Kopia 0.23.1. The compiled pods run exactly as
//! Kubernetes would run them (tests/it/support/pod.rs), with the real binary
//! at `/usr/bin/kopia`, against a filesystem repository on a claim; the
//! host's own `kopia` then inspects what they left, as a person would.
//!
//! Needs root (mount namespaces) and `kopia` 0.23.1 (`.ci/install-tools`).

use crate::support;
use crate::support::requires::requires;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::kopia::HostKopia;
use support::pod::{Pod, PodResult};
use support::tree::{Node, owned_by_the_application, tree, write};

pub(crate) const NAMESPACE: &str = "apps";
pub(crate) const PASSWORD: &str = "correct horse battery staple";

/// A plan around one filesystem repository on the claim `backup-repo`.
fn plan(entries: &str) -> String {
    plan_with(
        "    - name: local\n      secretName: kopia-local\n      filesystem: {claimName: backup-repo, path: /repository}\n",
        entries,
    )
}

pub(crate) fn plan_with(repositories: &str, entries: &str) -> String {
    format!(
        r#"apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: rk
  namespace: apps
spec:
  repositories:
{repositories}  defaults:
    repository: local
    copyMethod: Direct
    schedule: "0 2 * * *"
{entries}"#
    )
}

/// One namespace's worth of claims and Secrets, and the compiled plan.
pub(crate) struct Cluster {
    pub(crate) name: String,
    pub(crate) objects: Value,
    claims: BTreeMap<String, PathBuf>,
    pub(crate) password: String,
}

impl Cluster {
    fn new(name: &str, entries: &str) -> Cluster {
        Cluster::with_plan(name, &plan(entries))
    }

    pub(crate) fn with_plan(name: &str, plan: &str) -> Cluster {
        let mut cluster = Cluster {
            name: name.to_owned(),
            objects: support::compile_json(name, plan),
            claims: BTreeMap::new(),
            password: PASSWORD.to_owned(),
        };
        // The repository's claim: an empty export the non-root mover may
        // write, like a fresh NFS volume.
        let repo = cluster.claim("backup-repo");
        support::pod::chmod_path(&repo, 0o777);
        cluster
    }

    /// The host directory behind a claim, made on first use.
    pub(crate) fn claim(&mut self, claim: &str) -> PathBuf {
        if let Some(dir) = self.claims.get(claim) {
            return dir.clone();
        }
        let dir = support::scratch(&format!("real-{}-{claim}", self.name));
        self.claims.insert(claim.to_owned(), dir.clone());
        dir
    }

    pub(crate) fn repository(&self) -> PathBuf {
        self.claims["backup-repo"].join("repository")
    }

    /// The pod of one of the plan's CronJobs, with every claim and the
    /// repository Secret, running the real Kopia.
    pub(crate) fn pod(&self, cron_job: &str) -> Pod {
        let mut pod = Pod::from_compiled(&self.objects, "CronJob", NAMESPACE, cron_job)
            .secret("kopia-local", &[("KOPIA_PASSWORD", &self.password)])
            .real_kopia()
            .timeout(Duration::from_secs(120));
        for (claim, dir) in &self.claims {
            pod = pod.pvc(claim, dir);
        }
        pod
    }

    /// Runs a CronJob's pod; it must succeed.
    pub(crate) fn run_ok(&self, cron_job: &str) -> PodResult {
        let result = self.pod(cron_job).run();
        assert_eq!(result.exit_code, 0, "{cron_job} failed:\n{}", result.logs());
        result
    }

    /// Kopia on the host, connected read-only to the repository.
    pub(crate) fn host(&self) -> HostKopia {
        HostKopia::filesystem(&self.name, &self.repository(), PASSWORD)
    }
}

/// The first version of an application's volume: files of several modes
/// and sizes, a nested directory, a symlink.
fn first_version(dir: &Path) {
    write(
        &dir.join("index.html"),
        b"<h1>v1</h1>\n",
        0o644,
        1_700_000_000,
    );
    write(
        &dir.join("bin/run.sh"),
        b"#!/bin/sh\necho v1\n",
        0o755,
        1_700_000_100,
    );
    write(&dir.join("bin/env"), b"MODE=one\n", 0o640, 1_700_000_150);
    write(&dir.join("private/key"), b"v1 secret", 0o600, 1_700_000_200);
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    write(&dir.join("media/big.bin"), &big, 0o640, 1_700_000_300);
    std::os::unix::fs::symlink("index.html", dir.join("home.html")).expect("symlink");
    owned_by_the_application(dir);
}

/// The second version: contents, modes and the symlink change, a file
/// comes and one goes.
fn second_version(dir: &Path) {
    write(
        &dir.join("index.html"),
        b"<h1>v2</h1>\n",
        0o644,
        1_700_100_000,
    );
    support::pod::chmod_path(&dir.join("bin/run.sh"), 0o700);
    std::fs::remove_file(dir.join("private/key")).expect("rm");
    write(&dir.join("new.txt"), b"added in v2", 0o644, 1_700_100_100);
    std::fs::remove_file(dir.join("home.html")).expect("rm link");
    std::os::unix::fs::symlink("new.txt", dir.join("home.html")).expect("symlink");
    owned_by_the_application(dir);
}

#[test]
fn a_restore_of_the_previous_snapshot_gives_back_the_first_version_exactly() {
    requires!(Namespaces, Kopia);
    let mut cluster = Cluster::new(
        "round-trip",
        r#"  backups:
    - name: web-data
      pvc: web-data
  restores:
    - name: previous
      from: web-data
      pvc: restored
      previous: 1
      trigger: {onDemand: true}
"#,
    );
    let data = cluster.claim("web-data");
    first_version(&data);
    let restored = cluster.claim("restored");

    cluster.run_ok("rk-web-data-backup");
    // As the volume was after the first run (fsGroup applied).
    let version_one = tree(&data);
    second_version(&data);
    cluster.run_ok("rk-web-data-backup");
    assert_ne!(tree(&data), version_one, "the second version differs");

    let result = cluster.run_ok("rk-previous-restore");
    let line = result.result_line();
    assert_eq!(line["result"], "success", "{}", result.logs());

    let snapshots = cluster.host().snapshots("web-data@apps:/data");
    assert_eq!(snapshots.len(), 2, "{snapshots:#?}");
    assert_eq!(
        line["snapshotId"], snapshots[0]["id"],
        "the restore took the snapshot before the newest"
    );
    let got = tree(&restored);
    for (path, node) in &version_one {
        assert_eq!(got.get(path), Some(node), "{} differs", path.display());
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        version_one.keys().collect::<Vec<_>>(),
        "the restored tree has other entries"
    );
}

impl Cluster {
    /// Compiles another version of the plan, as a user editing it would:
    /// the claims and the repository stay.
    fn recompile(&mut self, entries: &str) {
        self.objects = support::compile_json(&self.name, &plan(entries));
    }

    /// Runs a CronJob's pod that must fail; returns what it did.
    pub(crate) fn run_failing(&self, cron_job: &str) -> PodResult {
        let result = self.pod(cron_job).run();
        assert_ne!(
            result.exit_code,
            0,
            "{cron_job} succeeded:\n{}",
            result.logs()
        );
        result
    }
}

/// A volume with one file, owned by the application.
pub(crate) fn volume_with(cluster: &mut Cluster, claim: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = cluster.claim(claim);
    for (name, content) in files {
        write(&dir.join(name), content.as_bytes(), 0o644, 1_700_000_000);
    }
    owned_by_the_application(&dir);
    dir
}

/// The start time of a snapshot, as an instant.
fn start_time(snapshot: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(snapshot["startTime"].as_str().expect("startTime"))
        .expect("an RFC 3339 start time")
}

#[test]
fn restore_as_of_with_an_offset_picks_the_snapshot_taken_before_that_instant() {
    requires!(Namespaces, Kopia);
    let backup = "  backups:\n    - {name: web-data, pvc: web-data}\n";
    let mut cluster = Cluster::new("as-of", backup);
    let data = volume_with(&mut cluster, "web-data", &[("page", "one")]);
    cluster.run_ok("rk-web-data-backup");
    let first = cluster.host().snapshots("web-data@apps:/data")[0].clone();
    // The bound is one second after the first snapshot started, so the
    // second must start at least two seconds after it.
    let bound = start_time(&first) + chrono::Duration::seconds(1);
    while chrono::Utc::now() < bound + chrono::Duration::seconds(1) {
        std::thread::sleep(Duration::from_millis(100));
    }
    write(&data.join("page"), b"two", 0o644, 1_700_000_500);
    cluster.run_ok("rk-web-data-backup");

    let five_hours_east = chrono::FixedOffset::east_opt(5 * 3600).expect("offset");
    let as_of = bound
        .with_timezone(&five_hours_east)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    assert!(as_of.ends_with("+05:00"), "{as_of}");
    cluster.recompile(&format!(
        "{backup}  restores:\n    - {{name: as-of, from: web-data, pvc: restored, restoreAsOf: \"{as_of}\", trigger: {{onDemand: true}}}}\n"
    ));
    let restored = cluster.claim("restored");
    let result = cluster.run_ok("rk-as-of-restore");
    assert_eq!(
        result.result_line()["snapshotId"],
        first["id"],
        "{}",
        result.logs()
    );
    assert_eq!(
        std::fs::read_to_string(restored.join("page")).expect("page"),
        "one"
    );
}

#[test]
fn file_deletion_happens_only_when_a_snapshot_was_chosen() {
    requires!(Namespaces, Kopia);
    let backups =
        "  backups:\n    - {name: web-data, pvc: web-data}\n    - {name: other-app, pvc: other}\n";
    let restore = |name: &str, extra: &str| {
        format!(
            "    - {{name: {name}, from: web-data, pvc: restored, enableFileDeletion: true, trigger: {{onDemand: true}}{extra}}}\n"
        )
    };
    let mut cluster = Cluster::new(
        "deletion",
        &format!(
            "{backups}  restores:\n{}{}",
            restore("with-snapshot", ""),
            // Before any snapshot existed: nothing matches.
            restore("too-early", ", restoreAsOf: \"2020-01-01T00:00:00+05:00\"")
        ),
    );
    volume_with(&mut cluster, "web-data", &[("kept", "from the snapshot")]);
    volume_with(&mut cluster, "other", &[("theirs", "other data")]);
    cluster.run_ok("rk-web-data-backup");
    cluster.run_ok("rk-other-app-backup");
    let restored = volume_with(
        &mut cluster,
        "restored",
        &[("extra", "not in any snapshot")],
    );
    // As the kubelet leaves the volume when it applies the pod's fsGroup
    // (group read and write): the mover itself must change nothing.
    let before: BTreeMap<PathBuf, Node> = tree(&restored)
        .into_iter()
        .map(|(path, node)| match node {
            Node::File {
                content,
                mode,
                mtime,
            } => (
                path,
                Node::File {
                    content,
                    mode: mode | 0o060,
                    mtime,
                },
            ),
            other => (path, other),
        })
        .collect();

    let result = cluster.run_failing("rk-too-early-restore");
    assert_eq!(
        tree(&restored),
        before,
        "the volume changed:\n{}",
        result.logs()
    );
    let line = result.result_line();
    assert_eq!(line["result"], "failure", "{}", result.logs());
    let mut available: Vec<&str> = line["availableIdentities"]
        .as_array()
        .expect("availableIdentities")
        .iter()
        .map(|v| v.as_str().expect("a string"))
        .collect();
    available.sort();
    assert_eq!(available, ["other-app@apps:/data", "web-data@apps:/data"]);
    for identity in available {
        assert!(
            result.stderr.contains(&format!("available: {identity}")),
            "the log does not list {identity}:\n{}",
            result.logs()
        );
    }

    cluster.run_ok("rk-with-snapshot-restore");
    assert!(!restored.join("extra").exists(), "the extra file was kept");
    assert_eq!(
        std::fs::read_to_string(restored.join("kept")).expect("kept"),
        "from the snapshot"
    );
}

#[test]
fn only_if_empty_restores_into_an_empty_volume_and_leaves_one_with_data_alone() {
    requires!(Namespaces, Kopia);
    let entries = "  backups:\n    - {name: web-data, pvc: web-data}\n  restores:\n    \
                   - {name: seed, from: web-data, pvc: restored, onlyIfEmpty: true, \
                   enableFileDeletion: true, trigger: {onDemand: true}}\n";
    let mut cluster = Cluster::new("only-if-empty", entries);
    volume_with(&mut cluster, "web-data", &[("page", "from the backup")]);
    cluster.run_ok("rk-web-data-backup");

    // A fresh volume (mkfs leaves `lost+found`): restored.
    let fresh = cluster.claim("restored");
    std::fs::create_dir(fresh.join("lost+found")).expect("lost+found");
    owned_by_the_application(&fresh);
    let result = cluster.run_ok("rk-seed-restore");
    assert_eq!(
        result.result_line()["result"],
        "success",
        "{}",
        result.logs()
    );
    let connected = "Connected to repository";
    assert!(result.stderr.contains(connected), "{}", result.logs());
    assert_eq!(
        std::fs::read_to_string(fresh.join("page")).expect("page"),
        "from the backup"
    );

    // The application has written since: nothing changes, even with file
    // deletion on, and the run says what it found.
    write(&fresh.join("page"), b"the app's own", 0o664, 1_700_000_900);
    write(&fresh.join("new"), b"new data", 0o664, 1_700_000_900);
    let before = tree(&fresh);
    let result = cluster.run_ok("rk-seed-restore");
    assert_eq!(
        tree(&fresh),
        before,
        "the volume changed:\n{}",
        result.logs()
    );
    let line = result.result_line();
    assert_eq!(line["result"], "not-empty", "{}", result.logs());
    assert_eq!(line["found"], serde_json::json!(["new", "page"]));
    assert_eq!(line["foundCount"], 2);
    assert!(result.stderr.contains("found: page"), "{}", result.logs());
    assert!(
        !result.stderr.contains(connected),
        "the repository is not opened:\n{}",
        result.logs()
    );
}

#[test]
fn two_sources_in_one_repository_each_restore_only_their_own() {
    requires!(Namespaces, Kopia);
    let mut cluster = Cluster::new(
        "two-sources",
        r#"  backups:
    - {name: web-data, pvc: web-data}
    - {name: db-data, pvc: db-data}
  restores:
    - {name: web-back, from: web-data, pvc: web-restored, trigger: {onDemand: true}}
    - {name: db-back, from: db-data, pvc: db-restored, trigger: {onDemand: true}}
"#,
    );
    let web = volume_with(
        &mut cluster,
        "web-data",
        &[("index.html", "web"), ("shared-name", "web's")],
    );
    let db = volume_with(
        &mut cluster,
        "db-data",
        &[("table", "db"), ("shared-name", "db's")],
    );
    cluster.run_ok("rk-web-data-backup");
    cluster.run_ok("rk-db-data-backup");
    let web_restored = cluster.claim("web-restored");
    let db_restored = cluster.claim("db-restored");
    cluster.run_ok("rk-web-back-restore");
    cluster.run_ok("rk-db-back-restore");
    assert_eq!(tree(&web_restored), tree(&web));
    assert_eq!(tree(&db_restored), tree(&db));
    let sources = cluster.host().ok(&["snapshot", "list", "--all"]);
    assert!(
        sources.contains("web-data@apps:/data") && sources.contains("db-data@apps:/data"),
        "{sources}"
    );
}

#[test]
fn retention_latest_two_keeps_two_snapshots_of_three() {
    requires!(Namespaces, Kopia);
    let mut cluster = Cluster::new(
        "retention",
        "  backups:\n    - {name: web-data, pvc: web-data, retain: {latest: 2}}\n",
    );
    let data = volume_with(&mut cluster, "web-data", &[("file", "0")]);
    let mut ids = Vec::new();
    for round in 1..=3 {
        // Each snapshot differs, so none is the same as the one before.
        write(
            &data.join("file"),
            round.to_string().as_bytes(),
            0o644,
            1_700_000_000 + round,
        );
        let result = cluster.run_ok("rk-web-data-backup");
        ids.push(result.result_line()["snapshotId"].clone());
    }
    let kept: Vec<Value> = cluster
        .host()
        .snapshots("web-data@apps:/data")
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(
        kept,
        ids[1..],
        "the oldest snapshot is pruned, the two newest kept"
    );
}

#[test]
fn the_plan_policy_and_the_global_policy_file_are_the_effective_policy() {
    requires!(Namespaces, Kopia);
    let mut cluster = Cluster::new(
        "policy",
        r#"  backups:
    - name: web-data
      pvc: web-data
      retain: {daily: 9, weekly: 3}
      policy:
        files: {ignore: ["*.tmp"]}
        compression: {compressorName: zstd}
      policyConfig:
        configMapName: kopia-policies
"#,
    );
    volume_with(
        &mut cluster,
        "web-data",
        &[("keep.txt", "kept"), ("skip.tmp", "ignored")],
    );
    let global =
        r#"{"retention": {"keepMonthly": 5}, "files": {"ignoreDotFiles": [".cache-marker"]}}"#;
    let pod = cluster
        .pod("rk-web-data-backup")
        .config_map("kopia-policies", &[("global-policy.json", global)]);
    let result = pod.run();
    assert_eq!(result.exit_code, 0, "{}", result.logs());

    let host = cluster.host();
    let effective = host.json(&["policy", "show", "web-data@apps:/data"]);
    assert_eq!(effective["retention"]["keepDaily"], 9, "{effective:#}");
    assert_eq!(effective["retention"]["keepWeekly"], 3, "{effective:#}");
    assert_eq!(
        effective["compression"]["compressorName"], "zstd",
        "{effective:#}"
    );
    assert_eq!(
        effective["files"]["ignore"],
        serde_json::json!(["*.tmp"]),
        "{effective:#}"
    );
    // From the global policy: what the source's own policy does not set.
    assert_eq!(effective["retention"]["keepMonthly"], 5, "{effective:#}");
    assert_eq!(
        effective["files"]["ignoreDotFiles"],
        serde_json::json!([".cache-marker"]),
        "{effective:#}"
    );
    let global_policy = host.json(&["policy", "show", "--global"]);
    assert_eq!(
        global_policy["retention"]["keepMonthly"], 5,
        "{global_policy:#}"
    );
    // The ignored file really is not in the snapshot.
    let listing = host.ok(&[
        "ls",
        "-r",
        result.result_line()["snapshotId"].as_str().expect("id"),
    ]);
    assert!(
        listing.contains("keep.txt") && !listing.contains("skip.tmp"),
        "{listing}"
    );
}

/// A global policy file in VolSync's format (`keepYearly`, `compressor`,
/// `interval`), its ConfigMap in the input: translated at compile time, and
/// Kopia really holds the translated values as the repository's global
/// policy after a backup.
#[test]
fn a_global_policy_in_volsyncs_format_becomes_kopias_global_policy() {
    requires!(Namespaces, Kopia);
    let global = r#"{"retention": {"keepDaily": 4, "keepYearly": 2}, "compression": {"compressor": "zstd"}, "scheduling": {"interval": "12h"}}"#;
    let mut cluster = Cluster::new(
        "volsync-policy",
        &format!(
            r#"  backups:
    - name: web-data
      pvc: web-data
      policyConfig:
        configMapName: volsync-policies
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: volsync-policies, namespace: apps}}
data:
  global-policy.json: '{global}'
"#
        ),
    );
    volume_with(&mut cluster, "web-data", &[("keep.txt", "kept")]);
    let pod = cluster
        .pod("rk-web-data-backup")
        .config_map("volsync-policies", &[("global-policy.json", global)]);
    let result = pod.run();
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let global_policy = cluster.host().json(&["policy", "show", "--global"]);
    assert_eq!(
        global_policy["retention"]["keepAnnual"], 2,
        "{global_policy:#}"
    );
    assert_eq!(
        global_policy["retention"]["keepDaily"], 4,
        "{global_policy:#}"
    );
    assert_eq!(
        global_policy["compression"]["compressorName"], "zstd",
        "{global_policy:#}"
    );
    assert_eq!(
        global_policy["scheduling"]["intervalSeconds"], 43200,
        "{global_policy:#}"
    );
}

#[test]
fn every_policy_config_map_in_the_golden_files_is_accepted_by_kopia_policy_import() {
    requires!(Namespaces, Kopia);
    let scratch = support::scratch("real-golden-policies");
    let repository = scratch.join("repository");
    let host = HostKopia::create_filesystem("golden-policies", &repository, PASSWORD);
    let mut imported = 0;
    for golden in std::fs::read_dir(support::root().join("golden")).expect("golden/") {
        let path = golden.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read golden");
        for document in text.split("\n---\n") {
            let Ok(object) = serde_saphyr::from_str::<Value>(document) else {
                continue;
            };
            let Some(policy) = object["data"]["policy.json"].as_str() else {
                continue;
            };
            let file = scratch.join(format!("policy-{imported}.json"));
            std::fs::write(&file, policy).expect("write policy");
            let out = host.run(&[
                "policy",
                "import",
                &format!("--from-file={}", file.display()),
            ]);
            assert!(
                out.status.success(),
                "kopia refused the policy of {} in {}:\n{}\n{policy}",
                object["metadata"]["name"],
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            imported += 1;
        }
    }
    assert!(
        imported >= 10,
        "only {imported} policy ConfigMaps found in golden/"
    );
}

#[test]
fn the_result_line_reports_the_snapshot_kopia_recorded() {
    requires!(Namespaces, Kopia);
    let mut cluster = Cluster::new(
        "result",
        "  backups:\n    - {name: web-data, pvc: web-data}\n",
    );
    let data = cluster.claim("web-data");
    first_version(&data);
    let result = cluster.run_ok("rk-web-data-backup");
    let line = result.result_line();
    let snapshots = cluster.host().snapshots("web-data@apps:/data");
    assert_eq!(snapshots.len(), 1, "{snapshots:#?}");
    let recorded = &snapshots[0];
    assert_eq!(line["result"], "success");
    assert_eq!(line["identity"], "web-data@apps:/data");
    assert_eq!(line["snapshotId"], recorded["id"], "{}", result.logs());
    assert_eq!(
        line["bytes"], recorded["rootEntry"]["summ"]["size"],
        "{recorded:#}"
    );
    assert_eq!(
        line["files"], recorded["rootEntry"]["summ"]["files"],
        "{recorded:#}"
    );
    assert_eq!(line["files"], 5, "index.html, run.sh, env, key and big.bin");
    assert_eq!(line["emptySource"], false);
}

#[test]
fn maintenance_claims_the_repository_and_runs_full_maintenance() {
    requires!(Namespaces, Kopia);
    let mut cluster = Cluster::new(
        "maintenance",
        "  backups:\n    - {name: web-data, pvc: web-data}\n",
    );
    volume_with(&mut cluster, "web-data", &[("file", "data")]);
    cluster.run_ok("rk-web-data-backup");
    // Kopia makes the repository's creator its maintenance owner.
    let before = cluster.host().json(&["maintenance", "info"]);
    assert_eq!(before["owner"], "web-data@apps", "{before:#}");

    let result = cluster.run_ok("rk-local-maintenance-full");
    assert_eq!(
        result.result_line()["result"],
        "success",
        "{}",
        result.logs()
    );
    let after = cluster.host().json(&["maintenance", "info"]);
    assert_eq!(after["owner"], "maintenance@kopiaplan", "{after:#}");
    // The result line reports the repository's size as the storage holds
    // it: every file of the filesystem repository is a blob, and index
    // blobs are the ones named `x…`.
    let line = result.result_line();
    let (mut bytes, mut blobs, mut index_blobs) = (0, 0, 0);
    let repository = cluster.repository();
    for (path, node) in tree(&repository) {
        if let Node::File { content, .. } = node {
            // A blob's ID is its path, shards joined, without `.f`.
            let relative = path.strip_prefix(&repository).unwrap_or(&path);
            let id: String = relative
                .iter()
                .map(|part| part.to_string_lossy().into_owned())
                .collect();
            let Some(id) = id.strip_suffix(".f") else {
                continue;
            };
            bytes += content.len() as u64;
            blobs += 1;
            index_blobs += u64::from(id.starts_with('x'));
        }
    }
    assert!(
        index_blobs > 0 && blobs > index_blobs,
        "{blobs} {index_blobs}"
    );
    assert_eq!(line["bytes"], bytes, "{}", result.logs());
    assert_eq!(line["blobCount"], blobs, "{}", result.logs());
    assert_eq!(line["indexBlobCount"], index_blobs, "{}", result.logs());
    assert!(line["warning"].is_null(), "a small repository: {line}");
    // Snapshot garbage collection runs only in full maintenance.
    let newest_gc = |info: &Value| {
        info["schedule"]["runs"]["snapshot-gc"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|run| run["success"] == true)
            .filter_map(|run| run["start"].as_str().map(str::to_owned))
            .max()
    };
    assert!(
        newest_gc(&after) > newest_gc(&before),
        "no new successful full maintenance run:\n{after:#}"
    );
}

/// The largest data pack blob of a filesystem repository.
fn largest_pack(repository: &Path) -> PathBuf {
    let mut packs: Vec<(u64, PathBuf)> = Vec::new();
    let mut stack = vec![repository.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read repository") {
            let path = entry.expect("entry").path();
            let relative = path.strip_prefix(repository).expect("below");
            if path.is_dir() {
                stack.push(path);
            } else if relative.to_string_lossy().starts_with('p') {
                packs.push((std::fs::metadata(&path).expect("metadata").len(), path));
            }
        }
    }
    packs.sort();
    packs.pop().expect("a pack blob").1
}

#[test]
fn verify_passes_on_a_good_repository_and_fails_on_a_damaged_or_missing_pack() {
    requires!(Namespaces, Kopia);
    let mut cluster = Cluster::new(
        "verify",
        "  backups:\n    - {name: web-data, pvc: web-data}\n  verify:\n    - {from: web-data, filesPercent: 100}\n",
    );
    let data = cluster.claim("web-data");
    first_version(&data);
    cluster.run_ok("rk-web-data-backup");
    let verify = "rk-web-data-verify";
    let good = cluster.run_ok(verify);
    assert_eq!(good.result_line()["result"], "success", "{}", good.logs());

    let pack = largest_pack(&cluster.repository());
    let original = std::fs::read(&pack).expect("read pack");
    let mut damaged = original.clone();
    let middle = damaged.len() / 2;
    for byte in &mut damaged[middle..middle + 64] {
        *byte ^= 0xff;
    }
    std::fs::write(&pack, &damaged).expect("damage pack");
    let result = cluster.run_failing(verify);
    assert_eq!(
        result.result_line()["result"],
        "failure",
        "{}",
        result.logs()
    );

    std::fs::write(&pack, &original).expect("repair pack");
    cluster.run_ok(verify);

    std::fs::remove_file(&pack).expect("delete pack");
    let result = cluster.run_failing(verify);
    assert_eq!(
        result.result_line()["result"],
        "failure",
        "{}",
        result.logs()
    );
}

#[test]
fn a_wrong_password_fails_the_backup_and_changes_nothing() {
    requires!(Namespaces, Kopia);
    let mut cluster = Cluster::new(
        "password",
        "  backups:\n    - {name: web-data, pvc: web-data}\n",
    );
    volume_with(&mut cluster, "web-data", &[("file", "data")]);
    cluster.run_ok("rk-web-data-backup");
    let before = tree(&cluster.claims["backup-repo"]);

    cluster.password = "Tr0ub4dor&3".to_owned();
    let result = cluster.run_failing("rk-web-data-backup");
    assert_eq!(
        result.result_line()["result"],
        "failure",
        "{}",
        result.logs()
    );
    assert!(
        !result.stderr.contains("creating one"),
        "a wrong password led to creating a repository:\n{}",
        result.logs()
    );
    assert_eq!(
        tree(&cluster.claims["backup-repo"]),
        before,
        "the repository changed"
    );
    assert_eq!(cluster.host().snapshots("web-data@apps:/data").len(), 1);
}

#[test]
fn a_mistyped_path_with_create_never_fails_and_creates_nothing() {
    requires!(Namespaces, Kopia);
    let mut cluster = Cluster::with_plan(
        "typo",
        &plan_with(
            "    - name: local\n      secretName: kopia-local\n      filesystem: {claimName: backup-repo, path: /repositry}\n      create: Never\n",
            "  backups:\n    - {name: web-data, pvc: web-data}\n",
        ),
    );
    volume_with(&mut cluster, "web-data", &[("file", "data")]);
    let before = tree(&cluster.claims["backup-repo"]);
    let result = cluster.run_failing("rk-web-data-backup");
    assert_eq!(
        result.result_line()["result"],
        "failure",
        "{}",
        result.logs()
    );
    assert_eq!(
        tree(&cluster.claims["backup-repo"]),
        before,
        "something was created on the repository's claim:\n{}",
        result.logs()
    );
}

/// Writes `len` random bytes: nothing for Kopia to compress or
/// deduplicate, so a large file takes real time to back up.
fn random_file(path: &Path, len: u64) {
    use std::io::Read;
    let mut source = std::fs::File::open("/dev/urandom")
        .expect("urandom")
        .take(len);
    let mut file = std::fs::File::create(path).expect("create");
    std::io::copy(&mut source, &mut file).expect("write random data");
}

/// The host PIDs of the processes below `pid` whose command line holds
/// every word of `words`.
fn descendants_running(pid: u32, words: &[&str]) -> Vec<u32> {
    let mut parents = vec![pid];
    let mut found = Vec::new();
    while let Some(parent) = parents.pop() {
        let children = std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
            .unwrap_or_default();
        for child in children
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
        {
            let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if words.iter().all(|w| args.iter().any(|a| a == w)) {
                found.push(child);
            }
            parents.push(child);
        }
    }
    found
}

#[test]
fn sigterm_during_a_large_backup_fails_and_a_restore_then_takes_the_last_complete_snapshot() {
    requires!(Namespaces, Kopia);
    let mut cluster = Cluster::new(
        "sigterm",
        r#"  backups:
    - {name: web-data, pvc: web-data, parallelism: 1, additionalArgs: ["--checkpoint-interval=1s"]}
  restores:
    - {name: latest, from: web-data, pvc: restored, trigger: {onDemand: true}}
"#,
    );
    let data = volume_with(&mut cluster, "web-data", &[("page", "complete")]);
    let complete = cluster.run_ok("rk-web-data-backup").result_line()["snapshotId"].clone();

    for index in 0..4 {
        random_file(&data.join(format!("part-{index}.bin")), 256 << 20);
    }
    owned_by_the_application(&data);
    let running = cluster
        .pod("rk-web-data-backup")
        .timeout(Duration::from_secs(300))
        .start();
    let started = std::time::Instant::now();
    let pid1 = running.pid1();
    // Stopped once Kopia has saved a checkpoint (every second here, as an
    // incomplete snapshot): well inside the upload of 1 GiB.
    let host = cluster.host();
    while !host
        .snapshots("web-data@apps:/data")
        .iter()
        .any(|s| s.get("incomplete").is_some())
    {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "kopia snapshot create saved no checkpoint"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !descendants_running(pid1, &["snapshot", "create"]).is_empty(),
        "the backup ended before it could be stopped"
    );
    running.terminate();
    let result = running.wait();
    assert_ne!(result.exit_code, 0, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["result"], "failure", "{}", result.logs());
    assert!(line.get("snapshotId").is_none(), "{line}");

    // Kopia kept what it had uploaded as an incomplete snapshot, and lists
    // it: a restore must not take it for the newest.
    let listed = host.snapshots("web-data@apps:/data");
    assert!(
        listed.iter().any(|s| s.get("incomplete").is_some()),
        "Kopia kept no incomplete snapshot: {listed:#?}"
    );
    let finished: Vec<&Value> = listed
        .iter()
        .filter(|s| s.get("incomplete").is_none())
        .collect();
    assert_eq!(finished.len(), 1, "{listed:#?}");
    assert_eq!(finished[0]["id"], complete);
    let restored = cluster.claim("restored");
    let result = cluster.run_ok("rk-latest-restore");
    assert_eq!(
        result.result_line()["snapshotId"],
        complete,
        "{}",
        result.logs()
    );
    assert_eq!(
        tree(&restored).into_keys().collect::<Vec<_>>(),
        [PathBuf::from("page")],
        "the restore holds more than the complete snapshot"
    );
}
