//! Replicas whose destination reads its credentials from files (an SFTP
//! key and known_hosts, a GCS or Drive key, an rclone config): the
//! destination Secret's files are mounted at a path of their own, and each
//! side of a copy or a seed is opened with its own files only. The compiled
//! shape, then the real Kopia 0.23.1 against real SSH servers on loopback.
//!
//! The real-Kopia cases need root (mount namespaces), `kopia` 0.23.1 and
//! OpenSSH's `sshd` (`.ci/install-tools`).

use crate::real_kopia::{Cluster, NAMESPACE, PASSWORD, plan_with, volume_with};
use crate::repository_life::{ONE_BACKUP, backed_up, cron_job, s3_plan};
use crate::support;
use crate::support::requires::requires;

use serde_json::Value;
use support::kopia::HostKopia;

/// A destination whose credentials are files (an SFTP key, a GCS key, an
/// rclone config) gets them from its own Secret, mounted read-only at a
/// path of its own, beside the repository's: only its backend's keys, and
/// none for a destination whose credentials are variables. No warning.
#[test]
fn a_replicas_destination_mounts_its_own_credential_files() {
    let plan = s3_plan(
        "p",
        "      replicas:\n        - {name: nas, url: \"sftp://backup@nas.example/kopia\", secretName: kopia-nas}\n        - {name: cloud, url: \"gcs://offsite/main\", secretName: kopia-gcs}\n        - {name: plain, url: \"b2://offsite/main\", secretName: kopia-b2}\n",
        "",
    );
    let ran = crate::test::Test::new()
        .args(["compile", "-"])
        .stdin(plan.clone())
        .run();
    assert!(!ran.stderr.contains("warning"), "{}", ran.stderr);
    let objects = support::compile_text(&plan).expect("compiles");
    let volume = |pod: &Value, name: &str| -> Option<Value> {
        pod["volumes"]
            .as_array()?
            .iter()
            .find(|v| v["name"] == name)
            .cloned()
    };
    let mount_path = |pod: &Value, name: &str| -> Option<(String, bool)> {
        pod["containers"][0]["volumeMounts"]
            .as_array()?
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| {
                (
                    m["mountPath"].as_str().unwrap_or_default().to_owned(),
                    m["readOnly"] == true,
                )
            })
    };
    let files = |volume: &Value| -> Vec<(String, String)> {
        volume["secret"]["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| {
                (
                    item["key"].as_str().unwrap_or_default().to_owned(),
                    item["path"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    };
    let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, p)| ((*k).to_owned(), (*p).to_owned()))
            .collect()
    };

    let nas = support::pod_spec(cron_job(&objects, "p-main-replica-nas"));
    let destination = volume(nas, "replica-credentials").expect("the destination's files");
    assert_eq!(destination["secret"]["secretName"], "kopia-nas");
    assert_eq!(destination["secret"]["optional"], true, "{destination}");
    assert_eq!(destination["secret"]["defaultMode"], 0o444, "{destination}");
    assert_eq!(
        files(&destination),
        owned(&[
            ("SFTP_KEY_FILE", "sftp_key"),
            ("SFTP_KNOWN_HOSTS", "known_hosts"),
            ("SFTP_KNOWN_HOSTS_DATA", "known_hosts_data"),
        ])
    );
    assert_eq!(
        mount_path(nas, "replica-credentials"),
        Some(("/kopiaplan/replica-credentials".to_owned(), true))
    );
    // The repository's own files stay where they were, from its Secret.
    let source = volume(nas, "credentials").expect("the repository's files");
    assert_eq!(source["secret"]["secretName"], "kopia");
    assert_eq!(
        mount_path(nas, "credentials"),
        Some(("/kopiaplan/credentials".to_owned(), true))
    );

    let cloud = support::pod_spec(cron_job(&objects, "p-main-replica-cloud"));
    let destination = volume(cloud, "replica-credentials").expect("the GCS key");
    assert_eq!(destination["secret"]["secretName"], "kopia-gcs");
    assert_eq!(
        files(&destination),
        owned(&[("GOOGLE_APPLICATION_CREDENTIALS", "gcs.json")])
    );

    let plain = support::pod_spec(cron_job(&objects, "p-main-replica-plain"));
    assert_eq!(volume(plain, "replica-credentials"), None);
    assert_eq!(mount_path(plain, "replica-credentials"), None);
    // A backup mounts no destination's files.
    let backup = support::pod_spec(cron_job(&objects, "p-web-backup"));
    assert_eq!(volume(backup, "replica-credentials"), None);

    // The mover script points the destination's side at the destination's
    // files, and the repository's side at the repository's.
    let scripts = objects
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["data"]["replica.sh"].is_string())
        .expect("the scripts ConfigMap");
    let replica = scripts["data"]["replica.sh"].as_str().unwrap_or_default();
    let body = |function: &str| -> String {
        let from = replica
            .find(&format!("{function}() {{"))
            .unwrap_or_else(|| panic!("replica.sh has {function}"));
        let rest = &replica[from..];
        rest[..rest.find("\n}\n").unwrap_or(rest.len())].to_owned()
    };
    let destination_side = body("use_destination");
    assert!(
        destination_side.contains("CREDENTIAL_FILES_DIR=\"/kopiaplan/replica-credentials\""),
        "{destination_side}"
    );
    assert!(
        !destination_side.contains("/kopiaplan/credentials"),
        "{destination_side}"
    );
    assert!(
        body("use_repository").contains("CREDENTIAL_FILES_DIR=\"/kopiaplan/credentials\""),
        "{replica}"
    );
    // No variable names one side's file while the other is open.
    let common = scripts["data"]["common.sh"].as_str().unwrap_or_default();
    assert!(!common.contains("export RCLONE_CONFIG"), "{common}");
}

/// The 3-2-1 copy to an SFTP server that only the destination's key opens:
/// the key and known_hosts come from the destination Secret, mounted at
/// their own path. The repository Secret holds an impostor's key and a
/// known_hosts line with another host key for the same server: a copy or
/// seed that read the repository's files would be refused (`key
/// mismatch`). Copied, the destination holds the snapshot; seeded back
/// into a lost repository, backups go on.
#[test]
fn a_replica_to_sftp_authenticates_with_the_destination_secrets_key() {
    requires!(Namespaces, Kopia, Tool("sshd"), Tool("ssh-keygen"));
    let dir = support::scratch("replica-sftp");
    let sshd = support::servers::sshd(&dir.join("sshd"));
    let impostor = support::servers::sshd(&dir.join("impostor"));
    let export = dir.join("export/copy");
    let mut cluster = backed_up(
        "sftp",
        &format!(
            "      replicas:\n        - {{name: offsite, secretName: kopia-offsite, url: \"sftp://root@127.0.0.1:{}{}\", seed: {{token: lost-the-claim}}}}\n",
            sshd.server.port,
            export.display()
        ),
    );
    // The repository's files: wrong for the destination in every way.
    let wrong_hosts = format!("[127.0.0.1]:{} {}\n", sshd.server.port, impostor.host_key);
    let repository_secret = [
        ("KOPIA_PASSWORD", PASSWORD),
        ("SFTP_KEY_FILE", impostor.client_key.as_str()),
        ("SFTP_KNOWN_HOSTS", wrong_hosts.as_str()),
    ];
    let destination_secret = [
        ("KOPIA_PASSWORD", "unused by Blobs"),
        ("SFTP_KEY_FILE", sshd.client_key.as_str()),
        ("SFTP_KNOWN_HOSTS", sshd.known_hosts.as_str()),
    ];
    let result = cluster
        .pod("rk-local-replica-offsite")
        .secret("kopia-local", &repository_secret)
        .secret("kopia-offsite", &destination_secret)
        .run();
    assert_eq!(result.exit_code, 0, "{}", result.logs());
    let line = result.result_line();
    assert_eq!(line["result"], "success", "{}", result.logs());
    assert_eq!(line["mode"], "Blobs", "{line}");
    assert_eq!(line["direction"], "copy", "{line}");
    assert_eq!(line["snapshotCount"], 1, "{line}");
    // The server's directory is the repository, blob for blob.
    let blobs = |dir: &std::path::Path| {
        support::tree::tree(dir)
            .into_iter()
            .filter(|(path, _)| path.extension().is_some_and(|e| e == "f"))
            .count()
    };
    assert!(blobs(&export) > 0, "nothing reached the server");
    assert_eq!(line["blobCount"], blobs(&export) as u64, "{line}");
    let host = HostKopia::filesystem("sftp-copy", &export, PASSWORD);
    assert_eq!(host.snapshots("web-data@apps:/data").len(), 1);

    // Disaster: the repository's claim is new and empty. The seed reads
    // the replica over SFTP, with the destination's key again.
    std::fs::remove_dir_all(cluster.repository()).expect("lose the repository");
    let job =
        support::pod::job_name_starting_with(&cluster.objects, "rk-local-replica-offsite-seed-");
    let repository = cluster.claim("backup-repo");
    let seeded = support::pod::Pod::from_compiled(&cluster.objects, "Job", NAMESPACE, &job)
        .secret("kopia-local", &repository_secret)
        .secret("kopia-offsite", &destination_secret)
        .real_kopia()
        .pvc("backup-repo", &repository)
        .run();
    assert_eq!(seeded.exit_code, 0, "{}", seeded.logs());
    let line = seeded.result_line();
    assert_eq!(line["direction"], "seed", "{line}");
    assert_eq!(line["snapshotCount"], 1, "{line}");
    assert_eq!(cluster.host().snapshots("web-data@apps:/data").len(), 1);
    drop(impostor);
}

/// Both sides on SFTP servers, each of which knows only its own client key
/// and shows its own host key: the copy opens the repository with the
/// repository Secret's files and the destination with the destination
/// Secret's, and so does the seed, the other way round. Either side read
/// with the other's files is refused (`key mismatch`). `Blobs` syncs one
/// repository to two places (one password); `Snapshots` migrates into a
/// repository with the destination's own password.
#[test]
fn a_blobs_replica_between_two_sftp_servers_keeps_each_sides_files_to_itself() {
    requires!(Namespaces, Kopia, Tool("sshd"), Tool("ssh-keygen"));
    between_two_sftp_servers("Blobs", PASSWORD);
}

#[test]
fn a_snapshots_replica_between_two_sftp_servers_keeps_each_sides_files_to_itself() {
    requires!(Namespaces, Kopia, Tool("sshd"), Tool("ssh-keygen"));
    between_two_sftp_servers("Snapshots", "the offsite password");
}

/// Backs up to `home`, copies to `away` in `mode`, loses the repository
/// and seeds it back; `destination_password` opens the copy.
fn between_two_sftp_servers(mode: &str, destination_password: &str) {
    let dir = support::scratch(&format!("replica-sftp-pair-{mode}"));
    let home = support::servers::sshd(&dir.join("home"));
    let away = support::servers::sshd(&dir.join("away"));
    let repository = dir.join("home-export/kopia");
    let copy = dir.join("away-export/copy");
    let url = |server: &support::servers::Sshd, path: &std::path::Path| {
        format!(
            "sftp://root@127.0.0.1:{}{}",
            server.server.port,
            path.display()
        )
    };
    let mut cluster = Cluster::with_plan(
        &format!("sftp-pair-{mode}"),
        &plan_with(
            &format!(
                "    - name: local\n      secretName: kopia-local\n      url: \"{}\"\n      create: IfMissing\n      replicas:\n        - {{name: offsite, secretName: kopia-offsite, url: \"{}\", mode: {mode}, seed: {{token: lost-the-server}}}}\n",
                url(&home, &repository),
                url(&away, &copy)
            ),
            ONE_BACKUP,
        ),
    );
    volume_with(&mut cluster, "web-data", &[("file", "data")]);
    let repository_secret = [
        ("KOPIA_PASSWORD", PASSWORD),
        ("SFTP_KEY_FILE", home.client_key.as_str()),
        ("SFTP_KNOWN_HOSTS", home.known_hosts.as_str()),
    ];
    let destination_secret = [
        ("KOPIA_PASSWORD", destination_password),
        ("SFTP_KEY_FILE", away.client_key.as_str()),
        ("SFTP_KNOWN_HOSTS", away.known_hosts.as_str()),
    ];
    let run = |pod: support::pod::Pod| {
        let result = pod
            .secret("kopia-local", &repository_secret)
            .secret("kopia-offsite", &destination_secret)
            .run();
        assert_eq!(result.exit_code, 0, "{}", result.logs());
        result.result_line()
    };
    run(cluster.pod("rk-web-data-backup"));
    let copied = run(cluster.pod("rk-local-replica-offsite"));
    assert_eq!(copied["mode"], mode, "{copied}");
    assert_eq!(copied["snapshotCount"], 1, "{copied}");
    let host = HostKopia::filesystem(
        &format!("sftp-pair-{mode}-copy"),
        &copy,
        destination_password,
    );
    assert_eq!(host.snapshots("web-data@apps:/data").len(), 1);

    // The home server loses the repository; the seed brings it back.
    std::fs::remove_dir_all(&repository).expect("lose the repository");
    let job =
        support::pod::job_name_starting_with(&cluster.objects, "rk-local-replica-offsite-seed-");
    let seeded = run(
        support::pod::Pod::from_compiled(&cluster.objects, "Job", NAMESPACE, &job).real_kopia(),
    );
    assert_eq!(seeded["direction"], "seed", "{seeded}");
    assert_eq!(seeded["snapshotCount"], 1, "{seeded}");
    let host = HostKopia::filesystem(&format!("sftp-pair-{mode}-seeded"), &repository, PASSWORD);
    assert_eq!(host.snapshots("web-data@apps:/data").len(), 1);
    // Backups go on, on the home server.
    run(cluster.pod("rk-web-data-backup"));
    assert_eq!(host.snapshots("web-data@apps:/data").len(), 2);
}
