//! Round trips with the real Kopia 0.23.1. The compiled pods run exactly as
//! Kubernetes would run them (tests/support/pod.rs), with the real binary
//! at `/usr/bin/kopia`, against a filesystem repository on a claim; the
//! host's own `kopia` then inspects what they left, as a person would.
//!
//! Needs root (mount namespaces) and `kopia` 0.23.1 (`.ci/install-tools`).

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use support::kopia::HostKopia;
use support::pod::{Pod, PodResult};

const NAMESPACE: &str = "apps";
const PASSWORD: &str = "correct horse battery staple";

/// A plan around one filesystem repository on the claim `backup-repo`.
fn plan(entries: &str) -> String {
    format!(
        r#"apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: rk
  namespace: apps
spec:
  repositories:
    - name: local
      secretName: kopia-local
      filesystem: {{claimName: backup-repo, path: /repository}}
  defaults:
    repository: local
    copyMethod: Direct
    schedule: "0 2 * * *"
{entries}"#
    )
}

/// Compiles a plan with the real binary, as a user would.
fn compile(name: &str, plan: &str) -> Value {
    let dir = support::scratch(&format!("real-plan-{name}"));
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

/// One namespace's worth of claims and Secrets, and the compiled plan.
struct Cluster {
    name: String,
    objects: Value,
    claims: BTreeMap<String, PathBuf>,
    password: String,
}

impl Cluster {
    fn new(name: &str, entries: &str) -> Cluster {
        let mut cluster = Cluster {
            name: name.to_owned(),
            objects: compile(name, &plan(entries)),
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
    fn claim(&mut self, claim: &str) -> PathBuf {
        if let Some(dir) = self.claims.get(claim) {
            return dir.clone();
        }
        let dir = support::scratch(&format!("real-{}-{claim}", self.name));
        self.claims.insert(claim.to_owned(), dir.clone());
        dir
    }

    fn repository(&self) -> PathBuf {
        self.claims["backup-repo"].join("repository")
    }

    /// The pod of one of the plan's CronJobs, with every claim and the
    /// repository Secret, running the real Kopia.
    fn pod(&self, cron_job: &str) -> Pod {
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
    fn run_ok(&self, cron_job: &str) -> PodResult {
        let result = self.pod(cron_job).run();
        assert_eq!(result.exit_code, 0, "{cron_job} failed:\n{}", result.logs());
        result
    }

    /// Kopia on the host, connected read-only to the repository.
    fn host(&self) -> HostKopia {
        HostKopia::filesystem(&self.name, &self.repository(), PASSWORD)
    }
}

/// The termination message: exactly one JSON line.
fn result_line(result: &PodResult) -> Value {
    let text = result.termination_file.trim_end_matches('\n');
    assert!(
        !text.is_empty() && !text.contains('\n'),
        "the termination message is not one line:\n{}",
        result.logs()
    );
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", result.logs()))
}

/// What a restore must reproduce of one entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    File {
        content: Vec<u8>,
        mode: u32,
        mtime: (i64, i64),
    },
    /// Kopia restores a directory's mtime as the newest mtime inside it
    /// (repofs.go: `DirSummary.MaxModTime`), not as it was: only its mode
    /// is the original's.
    Directory {
        mode: u32,
    },
    Symlink {
        target: PathBuf,
    },
}

/// Every entry below `root` (not `root` itself), by relative path.
fn tree(root: &Path) -> BTreeMap<PathBuf, Node> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Node>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for path in entries {
            let meta = std::fs::symlink_metadata(&path).expect("metadata");
            let relative = path.strip_prefix(root).expect("below root").to_path_buf();
            let mode = meta.permissions().mode() & 0o7777;
            let mtime = (meta.mtime(), meta.mtime_nsec());
            let node = if meta.file_type().is_symlink() {
                Node::Symlink {
                    target: std::fs::read_link(&path).expect("link"),
                }
            } else if meta.is_dir() {
                walk(root, &path, out);
                Node::Directory { mode }
            } else {
                Node::File {
                    content: std::fs::read(&path).expect("read"),
                    mode,
                    mtime,
                }
            };
            out.insert(relative, node);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn set_mtime(path: &Path, seconds: u64) {
    let time = SystemTime::UNIX_EPOCH + Duration::new(seconds, 123_456_789);
    std::fs::File::options()
        .write(true)
        .open(path)
        .or_else(|_| std::fs::File::open(path))
        .expect("open")
        .set_modified(time)
        .expect("set mtime");
}

fn write(path: &Path, content: &[u8], mode: u32, mtime: u64) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    std::fs::write(path, content).expect("write");
    support::pod::chmod_path(path, mode);
    set_mtime(path, mtime);
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
    write(&dir.join("private/key"), b"v1 secret", 0o600, 1_700_000_200);
    let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    write(&dir.join("media/big.bin"), &big, 0o640, 1_700_000_300);
    std::os::unix::fs::symlink("index.html", dir.join("home.html")).expect("symlink");
    owned_by_the_application(dir);
}

/// The application wrote its volume as the mover's user (65532): a
/// read-only source is not given the pod's fsGroup, so that is what lets
/// the non-root mover read a 0600 file.
fn owned_by_the_application(dir: &Path) {
    for path in std::iter::once(dir.to_path_buf()).chain(tree(dir).into_keys().map(|p| dir.join(p)))
    {
        std::os::unix::fs::lchown(&path, Some(65532), Some(65532)).expect("chown");
    }
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
    let line = result_line(&result);
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
