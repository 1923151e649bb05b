//! One backup-and-restore round trip per storage backend, with the compiled
//! pods running the real Kopia 0.23.1 (tests/it/support/pod.rs) against a real
//! server on loopback (tests/it/support/servers.rs): S3 (gofakes3, plain and
//! behind TLS with a private CA), Azure Blob (Azurite), GCS
//! (fake-gcs-server), SFTP (OpenSSH), WebDAV (`rclone serve webdav`) and
//! the rclone backend (rclone with a config file from the Secret).
//!
//! Each test checks that the restored tree equals the original (contents,
//! modes, mtimes, symlinks) and that the repository really landed in the
//! server's storage, where the plan said. B2 and Google Drive have no local
//! server and stay on the stand-in (tests/it/contract.rs).
//!
//! Needs root (mount namespaces), Kopia 0.23.1 and the servers:
//! `.ci/install-tools` installs them all.

use crate::support;
use crate::support::requires::requires;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::pod::{Pod, PodResult};
use support::servers::{self, Tls};
use support::tree::{owned_by_the_application, tree, write};

const NAMESPACE: &str = "apps";
const PASSWORD: &str = "correct horse battery staple";
const SECRET: &str = "kopia-storage";
/// Azurite's well-known development account.
pub(crate) const AZURITE_ACCOUNT: &str = "devstoreaccount1";
pub(crate) const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A plan with one repository (the YAML lines after `- name: remote`), one
/// backup of `web-data` and an on-demand restore of its latest snapshot into
/// `restored`.
fn plan(repository: &str) -> String {
    format!(
        r#"apiVersion: kopiaplan.dev/v1alpha1
kind: BackupPlan
metadata:
  name: rs
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
    schedule: "0 2 * * *"
  backups:
    - name: web-data
      pvc: web-data
  restores:
    - name: latest
      from: web-data
      pvc: restored
      trigger: {{onDemand: true}}
"#
    )
}

/// A compiled plan, its claims, its Secret and what else its pods need.
struct Cluster {
    objects: Value,
    data: PathBuf,
    restored: PathBuf,
    secret: Vec<(String, String)>,
    config_maps: Vec<(String, String, String)>,
    host_aliases: Vec<(String, String)>,
}

impl Cluster {
    /// `repository`: the repository's YAML lines; `secret`: the Secret's
    /// keys besides KOPIA_PASSWORD.
    fn new(name: &str, repository: &str, secret: &[(&str, &str)]) -> Cluster {
        let data = support::scratch(&format!("storage-{name}-web-data"));
        let restored = support::scratch(&format!("storage-{name}-restored"));
        let mut all = vec![("KOPIA_PASSWORD".to_owned(), PASSWORD.to_owned())];
        all.extend(
            secret
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        Cluster {
            objects: support::compile_json(name, &plan(repository)),
            data,
            restored,
            secret: all,
            config_maps: Vec::new(),
            host_aliases: Vec::new(),
        }
    }

    /// A ConfigMap key (the custom CA's).
    fn config_map(mut self, name: &str, key: &str, value: &str) -> Cluster {
        self.config_maps
            .push((name.to_owned(), key.to_owned(), value.to_owned()));
        self
    }

    fn host_alias(mut self, ip: &str, name: &str) -> Cluster {
        self.host_aliases.push((ip.to_owned(), name.to_owned()));
        self
    }

    fn run(&self, cron_job: &str) -> PodResult {
        let secret: Vec<(&str, &str)> = self
            .secret
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut pod = Pod::from_compiled(&self.objects, "CronJob", NAMESPACE, cron_job)
            .secret(SECRET, &secret)
            .pvc("web-data", &self.data)
            .pvc("restored", &self.restored)
            .real_kopia()
            .timeout(Duration::from_secs(180));
        for (name, key, value) in &self.config_maps {
            pod = pod.config_map(name, &[(key, value)]);
        }
        for (ip, name) in &self.host_aliases {
            pod = pod.host_alias(ip, name);
        }
        pod.run()
    }

    fn run_ok(&self, cron_job: &str) -> PodResult {
        let result = self.run(cron_job);
        assert_eq!(result.exit_code, 0, "{cron_job} failed:\n{}", result.logs());
        let line = result.result_line();
        assert_eq!(line["result"], "success", "{}", result.logs());
        result
    }

    /// Backs up the first version of the volume, restores the latest
    /// snapshot into the empty claim, and checks that the restored tree is
    /// the original. Returns the backup's termination message.
    fn round_trip(&self) -> Value {
        first_version(&self.data);
        let original = tree(&self.data);
        let backup = self.run_ok("rs-web-data-backup");
        let line = backup.result_line();
        assert!(
            line["snapshotId"].as_str().is_some_and(|id| !id.is_empty()),
            "the backup names its snapshot:\n{}",
            backup.logs()
        );
        let restore = self.run_ok("rs-latest-restore");
        assert_eq!(
            restore.result_line()["snapshotId"],
            line["snapshotId"],
            "the restore took the backup's snapshot"
        );
        let got = tree(&self.restored);
        for (path, node) in &original {
            assert_eq!(got.get(path), Some(node), "{} differs", path.display());
        }
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            original.keys().collect::<Vec<_>>(),
            "the restored tree has other entries"
        );
        line
    }

    /// A backup that must fail: the termination message says so.
    fn backup_fails(&self) -> PodResult {
        first_version(&self.data);
        let result = self.run("rs-web-data-backup");
        assert_ne!(
            result.exit_code,
            0,
            "the backup succeeded:\n{}",
            result.logs()
        );
        assert_eq!(
            result.result_line()["result"],
            "failure",
            "{}",
            result.logs()
        );
        result
    }
}

/// An application's volume: files of several modes and sizes (one large
/// enough to be split into several chunks), a nested directory, a
/// symlink; owned by the mover's user, as the application wrote it.
fn first_version(dir: &Path) {
    if dir.join("index.html").exists() {
        return;
    }
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
    let big: Vec<u8> = (0..3_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write(&dir.join("media/big.bin"), &big, 0o640, 1_700_000_300);
    std::os::unix::fs::symlink("index.html", dir.join("home.html")).expect("symlink");
    owned_by_the_application(dir);
}

/// Kopia's blobs: the repository's format blob and at least one pack blob
/// (`p...`) and index blob (`x...`), all below `prefix` and none elsewhere.
/// Sharded stores (SFTP, WebDAV, rclone) put a blob `p0123...` at
/// `p01/23/...`: the first path segment below the prefix names its kind.
fn assert_repository_blobs(objects: &[String], prefix: &str) {
    assert!(
        objects.iter().all(|o| o.starts_with(prefix)),
        "objects outside the prefix {prefix:?}: {objects:#?}"
    );
    let first: Vec<&str> = objects
        .iter()
        .map(|o| o[prefix.len()..].split('/').next().expect("segment"))
        .collect();
    assert!(
        first.contains(&"kopia.repository") || first.contains(&"kopia.repository.f"),
        "no kopia.repository under {prefix:?}: {objects:#?}"
    );
    for (kind, what) in [('p', "pack"), ('x', "index")] {
        assert!(
            first.iter().any(|n| n.starts_with(kind)),
            "no {what} blob under {prefix:?}: {objects:#?}"
        );
    }
}

#[test]
fn s3_with_a_prefix() {
    requires!(Namespaces, Kopia, Tool("gofakes3"), Tool("curl"));
    let dir = support::scratch("storage-s3");
    let server = servers::s3(&dir, "backups");
    let endpoint = format!("http://{}", server.address());
    let cluster = Cluster::new(
        "s3",
        "      url: s3://backups//team/web/",
        &[
            ("AWS_ACCESS_KEY_ID", "test-access"),
            ("AWS_SECRET_ACCESS_KEY", "test-secret"),
            ("AWS_S3_ENDPOINT", &endpoint),
        ],
    );
    cluster.round_trip();
    assert_repository_blobs(&servers::s3_objects(&server, "backups"), "team/web/");
}

#[test]
fn s3_over_tls_needs_the_custom_ca() {
    requires!(
        Namespaces,
        Kopia,
        Tool("gofakes3"),
        Tool("socat"),
        Tool("openssl"),
        Tool("curl")
    );
    let dir = support::scratch("storage-s3-tls");
    let tls = Tls::new(&dir.join("tls"), &[]);
    let plain = servers::s3(&dir, "secure");
    let server = servers::tls_proxy(&dir, plain.port, &tls);
    let secret = [
        ("AWS_ACCESS_KEY_ID", "test-access"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_S3_ENDPOINT", &format!("https://{}", server.address())),
    ];

    // Without the CA, Kopia does not trust the server: the run fails and
    // the bucket stays empty.
    let untrusted = Cluster::new("s3-no-ca", "      url: s3://secure/kopia", &secret);
    let failed = untrusted.backup_fails();
    assert!(
        failed
            .logs()
            .contains("certificate signed by unknown authority"),
        "the failure is the certificate's:\n{}",
        failed.logs()
    );
    assert_eq!(servers::s3_objects(&plain, "secure"), Vec::<String>::new());

    let trusted = Cluster::new(
        "s3-ca",
        "      url: s3://secure/kopia\n      customCA: {configMapName: ca-bundle, key: ca.crt}",
        &secret,
    )
    .config_map("ca-bundle", "ca.crt", &tls.ca_pem);
    trusted.round_trip();
    assert_repository_blobs(&servers::s3_objects(&plain, "secure"), "kopia/");
}

#[test]
fn sftp_with_a_key_and_known_hosts() {
    requires!(Namespaces, Kopia, Tool("sshd"), Tool("ssh-keygen"));
    let dir = support::scratch("storage-sftp");
    let sshd = servers::sshd(&dir.join("sshd"));
    let repository = dir.join("export/kopia");
    let url = format!(
        "      url: sftp://root@127.0.0.1:{}{}",
        sshd.server.port,
        repository.display()
    );

    // A known_hosts entry with another key for the same address: Kopia
    // refuses the server, and nothing is written.
    let other = servers::sshd(&dir.join("impostor"));
    let wrong_hosts = format!("[127.0.0.1]:{} {}\n", sshd.server.port, other.host_key);
    let refused = Cluster::new(
        "sftp-wrong-host",
        &url,
        &[
            ("SFTP_KEY_FILE", &sshd.client_key),
            ("SFTP_KNOWN_HOSTS", &wrong_hosts),
        ],
    );
    let failed = refused.backup_fails();
    assert!(
        failed.logs().contains("key mismatch"),
        "the failure is the host key's:\n{}",
        failed.logs()
    );
    assert!(
        servers::files_below(&dir.join("export")).is_empty(),
        "a refused server was written to"
    );
    drop(other);

    let cluster = Cluster::new(
        "sftp",
        &url,
        &[
            ("SFTP_KEY_FILE", &sshd.client_key),
            ("SFTP_KNOWN_HOSTS", &sshd.known_hosts),
        ],
    );
    cluster.round_trip();
    assert_repository_blobs(&servers::files_below(&repository), "");
}

#[test]
fn webdav_over_https() {
    requires!(Namespaces, Kopia, Tool("rclone"), Tool("openssl"));
    let dir = support::scratch("storage-webdav");
    let tls = Tls::new(&dir.join("tls"), &[]);
    let root = dir.join("dav");
    // Kopia makes the directories below its URL, not the URL's own: like a
    // bucket, the collection must exist.
    std::fs::create_dir_all(root.join("backups/kopia")).expect("collection");
    let server = servers::webdav(&dir, &root, "mover", "dav-secret", Some(&tls));
    let repository = format!(
        "      url: webdav://{}/backups/kopia\n      customCA: {{configMapName: ca-bundle, key: ca.crt}}",
        server.address()
    );

    // A wrong password: the server refuses, the run fails, nothing is written.
    let refused = Cluster::new(
        "webdav-wrong-password",
        &repository,
        &[("WEBDAV_USERNAME", "mover"), ("WEBDAV_PASSWORD", "guess")],
    )
    .config_map("ca-bundle", "ca.crt", &tls.ca_pem);
    let failed = refused.backup_fails();
    assert!(
        failed.logs().contains(": 401"),
        "the failure is the password's:\n{}",
        failed.logs()
    );
    assert_eq!(servers::files_below(&root), Vec::<String>::new());

    let cluster = Cluster::new(
        "webdav",
        &repository,
        &[
            ("WEBDAV_USERNAME", "mover"),
            ("WEBDAV_PASSWORD", "dav-secret"),
        ],
    )
    .config_map("ca-bundle", "ca.crt", &tls.ca_pem);
    cluster.round_trip();
    assert_repository_blobs(&servers::files_below(&root), "backups/kopia/");
}

#[test]
fn rclone_with_a_config_file() {
    requires!(Namespaces, Kopia, Tool("rclone"), Tool("openssl"));
    let dir = support::scratch("storage-rclone");
    let root = dir.join("dav");
    let server = servers::webdav(&dir, &root, "mover", "dav-secret", None);
    // The remote Kopia's rclone talks to: the WebDAV server above.
    let config = format!(
        "[offsite]\ntype = webdav\nurl = http://{}/\nvendor = other\nuser = mover\npass = {}\n",
        server.address(),
        servers::rclone_obscure("dav-secret")
    );
    let cluster = Cluster::new(
        "rclone",
        "      url: rclone://offsite:vault/kopia",
        &[("RCLONE_CONFIG", &config)],
    );
    cluster.round_trip();
    assert_repository_blobs(&servers::files_below(&root), "vault/kopia/");
}

#[test]
fn gcs_through_the_storage_emulator_host() {
    requires!(Namespaces, Kopia, Tool("fake-gcs-server"));
    let dir = support::scratch("storage-gcs");
    let server = servers::gcs(&dir, "backups");
    let cluster = Cluster::new(
        "gcs",
        "      url: gcs://backups/cluster-a",
        &[("STORAGE_EMULATOR_HOST", &server.address())],
    );
    cluster.round_trip();
    let mut objects = gcs_objects(&server.address(), "backups");
    objects.sort();
    assert_repository_blobs(&objects, "cluster-a/");
}

/// The object names fake-gcs-server lists in `bucket`, through its JSON API.
pub(crate) fn gcs_objects(address: &str, bucket: &str) -> Vec<String> {
    let out = Command::new(servers::require_binary("curl", "curl (Debian)"))
        .args(["-sSf"])
        .arg(format!(
            "http://{address}/storage/v1/b/{bucket}/o?maxResults=10000"
        ))
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    list["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["name"].as_str().expect("name").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn azure_blob_on_azurite() {
    requires!(Namespaces, Kopia, Tool("azurite-blob"), Tool("openssl"));
    let dir = support::scratch("storage-azure");
    // Kopia reaches Azure at https://<account>.<storage domain>/ and has no
    // flag for plain HTTP: Azurite serves HTTPS with a private CA, and the
    // pod resolves the account's host name as a cluster's DNS would.
    let domain = "blob.azurite.test";
    let host = format!("{AZURITE_ACCOUNT}.{domain}");
    let tls = Tls::new(&dir.join("tls"), &[&host]);
    let server = servers::azurite(&dir, &tls);
    create_azure_container(&tls, &host, server.port, "backups");
    let repository = "      url: azure://backups/cluster-a\n      customCA: {configMapName: ca-bundle, key: ca.crt}";
    let suffix = format!("azurite.test:{}", server.port);

    // Another account key: Azurite refuses the signature, the run fails and
    // the container stays empty.
    let wrong_key = format!("{}==", "A".repeat(86));
    let refused = Cluster::new(
        "azure-wrong-key",
        repository,
        &[
            ("AZURE_STORAGE_ACCOUNT", AZURITE_ACCOUNT),
            ("AZURE_STORAGE_KEY", &wrong_key),
            ("AZURE_ENDPOINT_SUFFIX", &suffix),
        ],
    )
    .config_map("ca-bundle", "ca.crt", &tls.ca_pem)
    .host_alias("127.0.0.1", &host);
    let failed = refused.backup_fails();
    assert!(
        failed.logs().contains("AuthorizationFailure"),
        "the failure is the key's:\n{}",
        failed.logs()
    );
    assert_eq!(
        azure_blobs(&tls, &host, server.port, "backups"),
        Vec::<String>::new()
    );

    let cluster = Cluster::new(
        "azure",
        repository,
        &[
            ("AZURE_STORAGE_ACCOUNT", AZURITE_ACCOUNT),
            ("AZURE_STORAGE_KEY", AZURITE_KEY),
            ("AZURE_ENDPOINT_SUFFIX", &suffix),
        ],
    )
    .config_map("ca-bundle", "ca.crt", &tls.ca_pem)
    .host_alias("127.0.0.1", &host);
    cluster.round_trip();
    let objects = azure_blobs(&tls, &host, server.port, "backups");
    assert_repository_blobs(&objects, "cluster-a/");
}

/// Signs an Azure Blob request with the account key (Shared Key) and runs
/// it with curl; returns the response body.
fn azure_request(
    tls: &Tls,
    host: &str,
    port: u16,
    verb: &str,
    path: &str,
    query: &[(&str, &str)],
) -> String {
    let script = r#"
set -euo pipefail
date=$(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S GMT')
version=2021-08-06
resource="/$ACCOUNT$REQ_PATH"
for pair in $QUERY; do resource+=$'\n'"${pair%%=*}:${pair#*=}"; done
# Content-Length is signed empty when it is 0.
sign="$VERB"$'\n\n\n\n\n\n\n\n\n\n\n\n'"x-ms-date:$date"$'\n'"x-ms-version:$version"$'\n'"$resource"
hexkey=$(printf '%s' "$KEY" | base64 -d | od -An -vtx1 | tr -d ' \n')
signature=$(printf '%s' "$sign" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | base64 -w0)
url="https://$HOST:$PORT$REQ_PATH?$(printf '%s' "$QUERY" | tr ' ' '&')"
curl -sSf --cacert "$CA" --resolve "$HOST:$PORT:127.0.0.1" -X "$VERB" \
  -H "x-ms-date: $date" -H "x-ms-version: $version" -H "Content-Length: 0" \
  -H "Authorization: SharedKey $ACCOUNT:$signature" "$url"
"#;
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let out = Command::new("/bin/bash")
        .arg("-c")
        .arg(script)
        .env("ACCOUNT", AZURITE_ACCOUNT)
        .env("KEY", AZURITE_KEY)
        .env("HOST", host)
        .env("PORT", port.to_string())
        .env("VERB", verb)
        .env("REQ_PATH", path)
        .env("QUERY", query.join(" "))
        .env("CA", tls.cert.with_file_name("ca.pem"))
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "Azure {verb} {path} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn create_azure_container(tls: &Tls, host: &str, port: u16, container: &str) {
    azure_request(
        tls,
        host,
        port,
        "PUT",
        &format!("/{container}"),
        &[("restype", "container")],
    );
}

/// The blob names of a container, listed through Azurite's API.
pub(crate) fn azure_blobs(tls: &Tls, host: &str, port: u16, container: &str) -> Vec<String> {
    let xml = azure_request(
        tls,
        host,
        port,
        "GET",
        &format!("/{container}"),
        &[("comp", "list"), ("restype", "container")],
    );
    let mut names: Vec<String> = xml
        .split("<Name>")
        .skip(1)
        .map(|s| s.split("</Name>").next().expect("name").to_owned())
        .collect();
    names.sort();
    names
}
