//! VolSync's repository layout, backend by backend: a repository already
//! where VolSync's Kopia mover put it is *connected to* by the compiled
//! VolSync objects, and never created again somewhere else
//! (reference/volsync-kopia/mover-script.md §2: GCS, B2 and Azure at the
//! root of the bucket or container whatever path `KOPIA_REPOSITORY` has,
//! S3 under the URL's prefix, `repositoryPVC` in `repository/`, a
//! `moverVolumes` PVC at its root).
//!
//! GCS (fake-gcs-server), Azure (Azurite), S3 (gofakes3) and the
//! filesystem cases run the real Kopia 0.23.1 in the pod harness. GCS, S3
//! and the filesystem repositories are seeded by Kopia on the host with
//! VolSync's own `repository create` command line and a snapshot of the
//! source, and the pod's snapshot must land beside it. Azure is seeded by
//! a backup pod writing to the container's root (only the pod resolves
//! Azurite's account host name). B2 has no local server: it runs against
//! the stand-in (tests/standin/kopia), whose log shows that
//! `repository create` never runs.

use crate::real_storage::{
    AZURITE_ACCOUNT, AZURITE_KEY, azure_blobs, create_azure_container, gcs_objects,
};
use crate::support;
use crate::support::kopia::HostKopia;
use crate::support::requires::requires;
use crate::test::{Plan, env};

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use support::pod::{Pod, PodResult, Standin};
use support::servers::{self, Tls};
use support::tree::{owned_by_the_application, write};

const NAMESPACE: &str = "apps";
const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "kopia-storage";

/// A ReplicationSource `web-data` in `apps` (Kopia identity
/// `web-data@apps:/data`) writing to the Secret `kopia-storage`, with
/// `extra` lines added to its `spec.kopia`.
fn replication_source(extra: &str) -> String {
    format!(
        "apiVersion: volsync.backube/v1alpha1
kind: ReplicationSource
metadata:
  name: web-data
  namespace: apps
spec:
  sourcePVC: web-data
  trigger:
    schedule: \"0 2 * * *\"
  kopia:
    repository: {SECRET}
    copyMethod: Direct
{extra}"
    )
}

/// A native plan whose backup `web-data` in `apps` (the same identity)
/// writes to `url`: how the tests put a repository at VolSync's location
/// before the VolSync objects run.
fn seed_plan(repository: &str) -> String {
    format!(
        "apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: seed
  namespace: apps
spec:
  repositories:
    - name: remote
      secretName: {SECRET}
      create: IfMissing
{repository}
  defaults:
    repository: remote
    copyMethod: Direct
    schedule: \"0 2 * * *\"
  backups:
    - name: web-data
      pvc: web-data
"
    )
}

/// The volume backed up: one file, owned by the application's user.
fn data_volume(name: &str) -> PathBuf {
    let dir = support::scratch(&format!("layout-{name}-data"));
    write(
        &dir.join("index.html"),
        b"<h1>v1</h1>\n",
        0o644,
        1_700_000_000,
    );
    owned_by_the_application(&dir);
    dir
}

/// What a backup pod needs besides its compiled objects.
#[derive(Default)]
struct Extras {
    config_maps: Vec<(String, String, String)>,
    host_aliases: Vec<(String, String)>,
    claims: Vec<(String, PathBuf)>,
}

/// Runs `cron_job` of `objects` with the Secret's keys (plus the password)
/// and the real Kopia.
fn run_backup(
    objects: &Value,
    cron_job: &str,
    data: &Path,
    secret: &[(&str, &str)],
    extras: &Extras,
) -> PodResult {
    let mut keys = vec![("KOPIA_PASSWORD", PASSWORD)];
    keys.extend_from_slice(secret);
    let mut pod = Pod::from_compiled(objects, "CronJob", NAMESPACE, cron_job)
        .secret(SECRET, &keys)
        .pvc("web-data", data)
        .real_kopia()
        .timeout(Duration::from_secs(180));
    for (name, key, value) in &extras.config_maps {
        pod = pod.config_map(name, &[(key, value)]);
    }
    for (ip, name) in &extras.host_aliases {
        pod = pod.host_alias(ip, name);
    }
    for (claim, dir) in &extras.claims {
        pod = pod.pvc(claim, dir);
    }
    pod.run()
}

/// The run succeeded by connecting to the repository that was there; it
/// never reached `repository create`.
#[track_caller]
fn connected_not_created(result: &PodResult) {
    let logs = result.logs();
    assert_eq!(result.exit_code, 0, "the backup failed:\n{logs}");
    assert_eq!(result.result_line()["result"], "success", "{logs}");
    assert!(
        logs.contains("connected to the existing repository"),
        "no connect:\n{logs}"
    );
    assert!(
        !logs.contains("creating one"),
        "a repository was created:\n{logs}"
    );
}

/// Seeds a repository with the native plan `repository`, then runs the
/// ReplicationSource with `kopia_extra` and `secret`: the result of its
/// backup, which must have connected.
fn seeded_then_volsync(
    name: &str,
    repository: &str,
    kopia_extra: &str,
    secret: &[(&str, &str)],
    extras: &Extras,
) -> PodResult {
    let data = data_volume(name);
    let seed = support::compile_json(&format!("layout-{name}-seed"), &seed_plan(repository));
    let seeded = run_backup(&seed, "seed-web-data-backup", &data, secret, extras);
    assert_eq!(seeded.exit_code, 0, "the seed failed:\n{}", seeded.logs());
    let volsync = support::compile_json(
        &format!("layout-{name}-volsync"),
        &replication_source(kopia_extra),
    );
    let result = run_backup(&volsync, "volsync-web-data-backup", &data, secret, extras);
    connected_not_created(&result);
    result
}

#[test]
fn gcs_a_volsync_repository_at_the_bucket_root_is_connected_not_created() {
    requires!(Namespaces, Kopia, Tool("fake-gcs-server"), Tool("curl"));
    let dir = support::scratch("layout-gcs");
    let server = servers::gcs(&dir, "backups");
    let emulator = server.address();
    // The repository as VolSync's mover created it: `repository create gcs
    // --bucket=$KOPIA_GCS_BUCKET`, no prefix, with one snapshot of the source.
    let host = HostKopia::create(
        "layout-gcs",
        PASSWORD,
        &["gcs", "--bucket=backups"],
        &[("STORAGE_EMULATOR_HOST", &emulator)],
    );
    seed_snapshot(&host, "gcs");
    // VolSync's Secret: the URL has a path, which VolSync's mover ignored.
    let secret = [
        ("KOPIA_REPOSITORY", "gcs://backups/cluster-a"),
        ("KOPIA_GCS_BUCKET", "backups"),
        ("STORAGE_EMULATOR_HOST", emulator.as_str()),
    ];
    let objects = support::compile_json("layout-gcs", &replication_source(""));
    let result = run_backup(
        &objects,
        "volsync-web-data-backup",
        &data_volume("gcs"),
        &secret,
        &Extras::default(),
    );
    connected_not_created(&result);
    assert!(
        result
            .logs()
            .contains("at the root of the gcs bucket backups, where VolSync's mover put it"),
        "the log says where the repository is:\n{}",
        result.logs()
    );
    // The pod's snapshot is in VolSync's repository, beside the seeded one.
    assert_eq!(host.snapshots("web-data@apps:/data").len(), 2);
    let objects = gcs_objects(&server.address(), "backups");
    assert!(
        objects.iter().all(|o| !o.starts_with("cluster-a/")),
        "a second repository under the URL's path: {objects:#?}"
    );
}

#[test]
fn azure_a_volsync_repository_at_the_container_root_is_connected_not_created() {
    requires!(
        Namespaces,
        Kopia,
        Tool("azurite-blob"),
        Tool("openssl"),
        Tool("curl")
    );
    let dir = support::scratch("layout-azure");
    let domain = "blob.azurite.test";
    let host = format!("{AZURITE_ACCOUNT}.{domain}");
    let tls = Tls::new(&dir.join("tls"), &[&host]);
    let server = servers::azurite(&dir, &tls);
    create_azure_container(&tls, &host, server.port, "backups");
    let suffix = format!("azurite.test:{}", server.port);
    // VolSync's key names for the account, and its container key.
    let secret = [
        ("KOPIA_REPOSITORY", "azure://backups/cluster-a"),
        ("KOPIA_AZURE_CONTAINER", "backups"),
        ("KOPIA_AZURE_STORAGE_ACCOUNT", AZURITE_ACCOUNT),
        ("KOPIA_AZURE_STORAGE_KEY", AZURITE_KEY),
        ("AZURE_ENDPOINT_SUFFIX", suffix.as_str()),
    ];
    let extras = Extras {
        config_maps: vec![("ca-bundle".into(), "ca.crt".into(), tls.ca_pem.clone())],
        host_aliases: vec![("127.0.0.1".into(), host.clone())],
        ..Extras::default()
    };
    let ca = "    customCA: {configMapName: ca-bundle, key: ca.crt}\n";
    seeded_then_volsync(
        "azure",
        "      url: azure://backups\n      customCA: {configMapName: ca-bundle, key: ca.crt}",
        ca,
        &secret,
        &extras,
    );
    let blobs = azure_blobs(&tls, &host, server.port, "backups");
    assert!(
        blobs.iter().all(|b| !b.starts_with("cluster-a/")),
        "a second repository under the URL's path: {blobs:#?}"
    );
    assert!(blobs.iter().any(|b| b == "kopia.repository"), "{blobs:#?}");
}

#[test]
fn s3_a_volsync_repository_under_the_url_prefix_is_connected_not_created() {
    requires!(Namespaces, Kopia, Tool("gofakes3"), Tool("curl"));
    let dir = support::scratch("layout-s3");
    let server = servers::s3(&dir, "backups");
    let endpoint = format!("http://{}", server.address());
    let keys = [
        ("AWS_ACCESS_KEY_ID", "test-access"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
    ];
    // VolSync's S3 prefix: the URL's path, with one trailing slash.
    let host = HostKopia::create(
        "layout-s3",
        PASSWORD,
        &[
            "s3",
            "--bucket=backups",
            "--prefix=team1/",
            &format!("--endpoint={}", server.address()),
            "--disable-tls",
        ],
        &keys,
    );
    seed_snapshot(&host, "s3");
    let mut secret = vec![
        ("KOPIA_REPOSITORY", "s3://backups/team1"),
        ("AWS_S3_ENDPOINT", endpoint.as_str()),
    ];
    secret.extend_from_slice(&keys);
    let objects = support::compile_json("layout-s3", &replication_source(""));
    let result = run_backup(
        &objects,
        "volsync-web-data-backup",
        &data_volume("s3"),
        &secret,
        &Extras::default(),
    );
    connected_not_created(&result);
    assert_eq!(host.snapshots("web-data@apps:/data").len(), 2);
    let objects = servers::s3_objects(&server, "backups");
    assert!(
        objects.iter().all(|o| o.starts_with("team1/")),
        "{objects:#?}"
    );
}

/// One snapshot of `web-data@apps:/data`, as VolSync's mover took it.
fn seed_snapshot(host: &HostKopia, name: &str) {
    host.ok(&[
        "repository",
        "set-client",
        "--username=web-data",
        "--hostname=apps",
    ]);
    let data = support::scratch(&format!("layout-{name}-seed-data"));
    std::fs::write(data.join("seed.txt"), "seeded by VolSync\n").expect("write");
    host.ok(&[
        "snapshot",
        "create",
        data.to_str().expect("utf-8"),
        "--override-source=/data",
    ]);
}

/// A filesystem repository made by Kopia on the host at `path` (where
/// VolSync's mover made it) with one snapshot of `web-data@apps:/data`,
/// then handed to the mover's user.
fn filesystem_repository_with_a_snapshot(name: &str, claim: &Path, path: &Path) -> HostKopia {
    let host = HostKopia::create_filesystem(name, path, PASSWORD);
    seed_snapshot(&host, name);
    owned_by_the_application(claim);
    host
}

#[test]
fn repository_pvc_a_volsync_repository_in_its_subdirectory_is_connected_not_created() {
    requires!(Namespaces, Kopia);
    let claim = support::scratch("layout-repository-pvc-claim");
    let host = filesystem_repository_with_a_snapshot(
        "layout-repository-pvc",
        &claim,
        &claim.join("repository"),
    );
    let objects = support::compile_json(
        "layout-repository-pvc",
        &replication_source("    repositoryPVC: kopia-repo\n"),
    );
    let extras = Extras {
        claims: vec![("kopia-repo".into(), claim.clone())],
        ..Extras::default()
    };
    let result = run_backup(
        &objects,
        "volsync-web-data-backup",
        &data_volume("repository-pvc"),
        &[],
        &extras,
    );
    connected_not_created(&result);
    // The pod's snapshot is in the same repository as the seeded one.
    assert_eq!(host.snapshots("web-data@apps:/data").len(), 2);
}

#[test]
fn filesystem_a_volsync_repository_at_the_mover_volume_root_is_connected_not_created() {
    requires!(Namespaces, Kopia);
    let claim = support::scratch("layout-filesystem-claim");
    let host = filesystem_repository_with_a_snapshot("layout-filesystem", &claim, &claim);
    // Later VolSync: the first PVC of moverVolumes is the repository,
    // KOPIA_REPOSITORY=filesystem:///mnt/<mountPath>, at the volume's root.
    let objects = support::compile_json(
        "layout-filesystem",
        &replication_source(
            "    moverVolumes:\n      - mountPath: repo\n        volumeSource:\n          persistentVolumeClaim: {claimName: kopia-repo}\n",
        ),
    );
    let extras = Extras {
        claims: vec![("kopia-repo".into(), claim.clone())],
        ..Extras::default()
    };
    let result = run_backup(
        &objects,
        "volsync-web-data-backup",
        &data_volume("filesystem"),
        &[],
        &extras,
    );
    connected_not_created(&result);
    assert_eq!(host.snapshots("web-data@apps:/data").len(), 2);
}

/// B2 has no local server: the stand-in keeps the bucket in a directory
/// and logs every Kopia call.
#[test]
fn b2_a_volsync_repository_at_the_bucket_root_is_connected_not_created_on_the_standin() {
    requires!(Namespaces, Tool("python3"));
    let standin = Standin::new("layout-b2");
    let data = data_volume("b2");
    let secret = [
        ("KOPIA_PASSWORD", PASSWORD),
        ("KOPIA_REPOSITORY", "b2://backups/cluster-a"),
        ("KOPIA_B2_BUCKET", "backups"),
        ("B2_ACCOUNT_ID", "key-id"),
        ("B2_APPLICATION_KEY", "application-key"),
    ];
    let pod = |objects: &Value, cron_job: &str| {
        Pod::from_compiled(objects, "CronJob", NAMESPACE, cron_job)
            .secret(SECRET, &secret)
            .pvc("web-data", &data)
            .standin(&standin)
            .harness_env("KOPIA_STANDIN_NOW", "2026-11-26T02:00:00Z")
            .run()
    };
    // An existing bucket (the stand-in keeps it in a directory).
    let bucket = standin.storage().join("b2").join("backups");
    std::fs::create_dir_all(&bucket).expect("bucket dir");
    for dir in [standin.storage().join("b2"), bucket.clone()] {
        support::pod::chmod_path(&dir, 0o777);
    }
    // The repository where VolSync's mover created it: the bucket's root.
    let seed = support::compile_json("layout-b2-seed", &seed_plan("      url: b2://backups"));
    let seeded = pod(&seed, "seed-web-data-backup");
    assert_eq!(seeded.exit_code, 0, "{}", seeded.logs());
    assert!(
        standin
            .calls()
            .iter()
            .any(|c| c.command() == "repository create b2"),
        "the seed created the repository"
    );
    standin.clear_log();

    let objects = support::compile_json("layout-b2-volsync", &replication_source(""));
    let result = pod(&objects, "volsync-web-data-backup");
    standin.print_log("VolSync's b2 layout");
    connected_not_created(&result);
    let calls = standin.calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.command().starts_with("repository create")),
        "{calls:#?}"
    );
    let connect = calls
        .iter()
        .find(|c| c.command() == "repository connect b2")
        .expect("a connect");
    assert!(connect.has("--bucket=backups"), "{:?}", connect.argv);
    assert!(
        connect.value("--prefix=").is_none(),
        "VolSync's b2 repository has no prefix: {:?}",
        connect.argv
    );
}

/// With the Secret in the input, the compile says where the repository is
/// and how to choose a prefix; the mover learns the layout; and `convert`
/// writes it down, so that its plan compiles to the same mover.
#[test]
fn the_ignored_path_is_a_warning_and_convert_keeps_the_layout() {
    let secret = "---
apiVersion: v1
kind: Secret
metadata: {name: kopia-storage, namespace: apps}
stringData:
  KOPIA_PASSWORD: x
  KOPIA_REPOSITORY: gcs://backups/cluster-a
  KOPIA_GCS_BUCKET: backups
";
    let input = format!("{}{secret}", replication_source(""));
    let ran = crate::test::Test::new()
        .file("volsync.yaml", input.clone())
        .args(["compile", "{dir}/volsync.yaml"])
        .stderr_has("warning[url-path-ignored]: the repository is at the root of `backups`, not under `cluster-a/`")
        .stderr_has("set the repository's `layout: Url`")
        .run();
    let _ = ran;
    let objects = Plan::text(input.clone()).objects();
    let cron = objects.named("CronJob", "volsync-web-data-backup");
    assert_eq!(env(cron, "KOPIAPLAN_LAYOUT"), "VolSync");
    crate::test::Test::new()
        .file("volsync.yaml", input.clone())
        .args(["explain", "{dir}/volsync.yaml"])
        .stdout_has("KOPIA_REPOSITORY of Secret kopia-storage, where VolSync's mover put it")
        .run();

    let converted = crate::test::Test::new()
        .file("volsync.yaml", replication_source(""))
        .args(["convert", "{dir}/volsync.yaml"])
        .stdout_has("    layout: VolSync\n")
        .run();
    let plan: String = converted
        .stdout
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n");
    let objects = Plan::text(plan).objects();
    let cron = objects.named("CronJob", "volsync-web-data-backup");
    assert_eq!(env(cron, "KOPIAPLAN_LAYOUT"), "VolSync");

    // Native plans keep the URL's path; VolSync's layout written in a plan
    // drops it for GCS at compile time, with the same warning.
    let native = Plan::nightly().replace(
        "      secretName: kopia-config\n",
        "      secretName: kopia-config\n      url: gcs://backups/cluster-a\n",
    );
    let cron = native.objects();
    let cron = cron.named("CronJob", "nightly-web-data-backup");
    assert_eq!(env(cron, "KOPIAPLAN_LAYOUT"), "Url");
    assert_eq!(
        env(cron, "KOPIAPLAN_STORAGE_FLAGS"),
        "--bucket=backups\n--prefix=cluster-a/"
    );
    let volsync_layout = native.replace(
        "      url: gcs://backups/cluster-a\n",
        "      url: gcs://backups/cluster-a\n      layout: VolSync\n",
    );
    let objects = volsync_layout.objects();
    let cron = objects.named("CronJob", "nightly-web-data-backup");
    assert_eq!(env(cron, "KOPIAPLAN_STORAGE_FLAGS"), "--bucket=backups");
}

/// VolSync's mover chose the backend by the Secret's keys, first match
/// wins: `KOPIA_GCS_BUCKET` comes before `KOPIA_B2_BUCKET` and before any
/// scheme but `s3` and `filesystem`, so a Secret with it and a `b2://`
/// URL connected to GCS. The mover does the same, and says so.
#[test]
fn the_secrets_keys_choose_the_backend_in_volsyncs_order() {
    requires!(Namespaces, Tool("python3"));
    let standin = Standin::new("layout-order");
    let bucket = standin.storage().join("gcs").join("from-key");
    std::fs::create_dir_all(&bucket).expect("bucket dir");
    for dir in [standin.storage().join("gcs"), bucket] {
        support::pod::chmod_path(&dir, 0o777);
    }
    let objects = support::compile_json("layout-order", &replication_source(""));
    let result = Pod::from_compiled(&objects, "CronJob", NAMESPACE, "volsync-web-data-backup")
        .secret(
            SECRET,
            &[
                ("KOPIA_PASSWORD", PASSWORD),
                ("KOPIA_REPOSITORY", "b2://other-bucket/backups"),
                ("KOPIA_GCS_BUCKET", "from-key"),
                ("KOPIA_B2_BUCKET", "other-bucket"),
            ],
        )
        .pvc("web-data", data_volume("order"))
        .standin(&standin)
        .harness_env("KOPIA_STANDIN_NOW", "2026-11-26T02:00:00Z")
        .run();
    standin.print_log("KOPIA_GCS_BUCKET before a b2 URL");
    assert!(
        result
            .logs()
            .contains("the repository Secret's keys select the gcs backend"),
        "{}",
        result.logs()
    );
    let calls = standin.calls();
    let connect = calls
        .iter()
        .find(|c| c.command().starts_with("repository connect"))
        .expect("a connect");
    assert_eq!(
        connect.command(),
        "repository connect gcs",
        "{:?}",
        connect.argv
    );
    assert!(connect.has("--bucket=from-key"), "{:?}", connect.argv);
    assert!(connect.value("--prefix=").is_none(), "{:?}", connect.argv);
}
